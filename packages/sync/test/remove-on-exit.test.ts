// `removeOnExit` for named semaphores, System V semaphore sets and FIFOs,
// with real node processes that exit or are killed by signals.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode, spawnNode, uniqueKey, uniqueName, waitForLine } from '@shmkit/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Fifo, NamedSemaphore, SysvSemaphoreSet } from '../src/index';
import { pkgDir } from './helpers/sem-shm';

const dir = mkdtempSync(join(tmpdir(), 'shmkit-fifo-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names: string[] = [];
const sets: number[] = [];
afterEach(() => {
  for (const name of names.splice(0)) {
    try {
      NamedSemaphore.unlink(name);
    } catch {
      // removed, as it should be
    }
  }
  for (const id of sets.splice(0)) {
    try {
      SysvSemaphoreSet.fromId(id).remove();
    } catch {
      // removed, as it should be
    }
  }
});

function semName(): string {
  const name = `/${uniqueName('shmkit-sem-exit')}`;
  names.push(name);
  return name;
}

const semFile = (name: string) => `/dev/shm/sem.${name.slice(1)}`;

function setPresent(id: number): boolean {
  return readFileSync('/proc/sysvipc/sem', 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[1] === String(id));
}

function child(body: string): ChildProcess {
  return spawnNode(
    `import { Fifo, NamedSemaphore, SysvSemaphoreSet } from '@shmkit/sync';\n${body}`,
    { cwd: pkgDir },
  );
}

async function exited(proc: ChildProcess): Promise<[number | null, string | null]> {
  if (proc.exitCode !== null || proc.signalCode !== null) return [proc.exitCode, proc.signalCode];
  return (await once(proc, 'exit')) as [number | null, string | null];
}

describe('NamedSemaphore.create({ removeOnExit })', () => {
  it('true: unlinked when the process exits', async () => {
    const name = semName();
    const result = await runNode(
      `import { NamedSemaphore } from '@shmkit/sync';
       const sem = NamedSemaphore.create(${JSON.stringify(name)}, { value: 1, removeOnExit: true });
       console.log(sem.value, process.listenerCount('SIGINT'));`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe('1 0\n');
    expect(existsSync(semFile(name))).toBe(false);
  });

  it("'signals': SIGINT unlinks it and the process dies of SIGINT", async () => {
    const name = semName();
    const proc = child(`
      NamedSemaphore.create(${JSON.stringify(name)}, { removeOnExit: 'signals' });
      console.log('ready');
      setInterval(() => {}, 1000);
    `);
    await waitForLine(proc, /ready/);
    expect(existsSync(semFile(name))).toBe(true);
    proc.kill('SIGINT');
    expect(await exited(proc)).toEqual([null, 'SIGINT']);
    expect(existsSync(semFile(name))).toBe(false);
  });

  it('never unlinks a semaphore the call only opened', async () => {
    const name = semName();
    using mine = NamedSemaphore.create(name, { value: 3, exclusive: true });
    const result = await runNode(
      `import { NamedSemaphore } from '@shmkit/sync';
       const sem = NamedSemaphore.create(${JSON.stringify(name)}, { removeOnExit: 'signals' });
       console.log(sem.value, process.listenerCount('SIGTERM'));`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe('3 0\n');
    expect(mine.value).toBe(3);
    expect(existsSync(semFile(name))).toBe(true);
  });

  it('keeps exclusive: EEXIST with the hint for shmkit rm', () => {
    const name = semName();
    using mine = NamedSemaphore.create(name, { exclusive: true });
    expect(() => NamedSemaphore.create(name, { exclusive: true, removeOnExit: true })).toThrow(
      expect.objectContaining({
        code: 'EEXIST',
        syscall: 'sem_open',
        hint: expect.stringContaining(`npx @shmkit/cli rm --type posix-sem ${name}`),
      }),
    );
    expect(mine.closed).toBe(false);
  });

  it('rejects a bad removeOnExit with ERR_INVALID_ARG_VALUE before sem_open', () => {
    const name = semName();
    expect(() => NamedSemaphore.create(name, { removeOnExit: 0 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(existsSync(semFile(name))).toBe(false);
  });
});

describe('SysvSemaphoreSet.create({ removeOnExit })', () => {
  it("'signals': SIGTERM removes the set, then the process dies of SIGTERM", async () => {
    const key = uniqueKey();
    const proc = child(`
      const set = SysvSemaphoreSet.create({ key: ${key}, count: 2, removeOnExit: 'signals' });
      console.log('ready', set.id);
      setInterval(() => {}, 1000);
    `);
    const match = await waitForLine(proc, /ready (\d+)/);
    const id = Number(match[1]);
    sets.push(id);
    expect(setPresent(id)).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited(proc)).toEqual([null, 'SIGTERM']);
    expect(setPresent(id)).toBe(false);
  });

  it('true: an IPC_PRIVATE set is removed at exit', async () => {
    const result = await runNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
       const set = SysvSemaphoreSet.create({ count: 1, removeOnExit: true });
       set.post(0);
       console.log(set.id, set.count);`,
      { cwd: pkgDir },
    );
    const [id, count] = result.stdout.trim().split(' ').map(Number) as [number, number];
    sets.push(id);
    expect(count).toBe(1);
    expect(setPresent(id)).toBe(false);
  });

  it('never removes a set the call only opened, and keeps its size', async () => {
    const key = uniqueKey();
    const mine = SysvSemaphoreSet.create({ key, count: 3, exclusive: true });
    sets.push(mine.id);
    const result = await runNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
       const set = SysvSemaphoreSet.create({ key: ${key}, count: 1, removeOnExit: true });
       console.log(set.id, set.count);`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe(`${mine.id} 3\n`);
    expect(setPresent(mine.id)).toBe(true);
  });

  it('EEXIST carries the hint for shmkit rm', () => {
    const key = uniqueKey();
    const mine = SysvSemaphoreSet.create({ key, count: 1, exclusive: true });
    sets.push(mine.id);
    expect(() => SysvSemaphoreSet.create({ key, count: 1, exclusive: true })).toThrow(
      expect.objectContaining({
        code: 'EEXIST',
        syscall: 'semget',
        hint: expect.stringContaining(
          `npx @shmkit/cli rm --type sysv-sem 0x${key.toString(16).padStart(8, '0')}`,
        ),
      }),
    );
  });

  it('rejects a bad removeOnExit with ERR_INVALID_ARG_VALUE', () => {
    expect(() => SysvSemaphoreSet.create({ count: 1, removeOnExit: 'exit' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});

describe('Fifo.create({ removeOnExit })', () => {
  it('true: unlinked at exit, by the path resolved at create time', async () => {
    const path = join(dir, uniqueName('fifo'));
    const result = await runNode(
      `import { Fifo } from ${JSON.stringify(join(pkgDir, 'dist/index.mjs'))};
       console.log(Fifo.create('./' + ${JSON.stringify(path.split('/').pop())}, { removeOnExit: true }));
       process.chdir('/');`,
      { cwd: dir },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('true\n');
    expect(existsSync(path)).toBe(false);
  });

  it("'signals': SIGINT unlinks it; a FIFO that `reuse` accepted is left", async () => {
    const kept = join(dir, uniqueName('kept'));
    Fifo.create(kept);
    const made = join(dir, uniqueName('made'));
    const proc = child(`
      console.log(Fifo.create(${JSON.stringify(kept)}, { reuse: true, removeOnExit: 'signals' }));
      console.log(Fifo.create(${JSON.stringify(made)}, { removeOnExit: 'signals' }));
      console.log('ready');
      setInterval(() => {}, 1000);
    `);
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForLine(proc, /ready/);
    proc.kill('SIGINT');
    expect(await exited(proc)).toEqual([null, 'SIGINT']);
    expect(output).toBe('false\ntrue\nready\n');
    expect(existsSync(made)).toBe(false);
    expect(existsSync(kept)).toBe(true);
    Fifo.unlink(kept);
  });

  it('EEXIST carries the hint for shmkit inspect and rm', () => {
    const path = join(dir, uniqueName('taken'));
    Fifo.create(path);
    expect(() => Fifo.create(path)).toThrow(
      expect.objectContaining({
        code: 'EEXIST',
        syscall: 'mkfifo',
        path,
        hint: expect.stringContaining(`npx @shmkit/cli rm ${path}`),
      }),
    );
    Fifo.unlink(path);
  });

  it('rejects a bad removeOnExit with ERR_INVALID_ARG_VALUE before mkfifo', () => {
    const path = join(dir, uniqueName('never'));
    expect(() => Fifo.create(path, { removeOnExit: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(existsSync(path)).toBe(false);
  });
});
