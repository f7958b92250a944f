// `removeOnExit`: real node processes create objects, then exit, throw or
// are killed with SIGINT/SIGTERM; this process checks /dev/shm afterwards.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { runNode, spawnNode, waitForLine } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '../src/index';
import { name, pkgDir } from './helpers';

const file = (n: string) => `/dev/shm${n}`;

function child(body: string): ChildProcess {
  return spawnNode(`import { PosixShm } from '@shmkit/posix-shm';\n${body}`, { cwd: pkgDir });
}

async function exited(proc: ChildProcess): Promise<[number | null, string | null]> {
  if (proc.exitCode !== null || proc.signalCode !== null) return [proc.exitCode, proc.signalCode];
  return (await once(proc, 'exit')) as [number | null, string | null];
}

describe('PosixShm.create({ removeOnExit })', () => {
  it('true: the object is gone once the process exits', async () => {
    const n = name();
    const result = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: true });
       shm.map().int32Array()[0] = 1;
       console.log(process.listenerCount('SIGINT'), shm.created);`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0 true\n');
    expect(existsSync(file(n))).toBe(false);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    "'signals': %s removes the object and the process still dies of it",
    async (signal) => {
      const n = name();
      const proc = child(`
        PosixShm.create(${JSON.stringify(n)}, { size: 1 << 20, exclusive: true, removeOnExit: 'signals' });
        console.log('ready');
        setInterval(() => {}, 1000);
      `);
      await waitForLine(proc, /ready/);
      expect(existsSync(file(n))).toBe(true);
      proc.kill(signal);
      expect(await exited(proc)).toEqual([null, signal]);
      expect(existsSync(file(n))).toBe(false);
    },
  );

  it("'signals' with the program's own SIGTERM handler: removed when that handler exits", async () => {
    const n = name();
    const proc = child(`
      PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: 'signals' });
      process.on('SIGTERM', () => {
        console.log('shutting down');
        setTimeout(() => process.exit(0), 20);
      });
      console.log('ready');
      setInterval(() => {}, 1000);
    `);
    await waitForLine(proc, /ready/);
    proc.kill('SIGTERM');
    await waitForLine(proc, /shutting down/);
    expect(await exited(proc)).toEqual([0, null]);
    expect(existsSync(file(n))).toBe(false);
  });

  it('true leaves the object when the process is killed (no handler was installed)', async () => {
    const n = name();
    const proc = child(`
      PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: true });
      console.log('ready', process.listenerCount('SIGINT'));
      setInterval(() => {}, 1000);
    `);
    await waitForLine(proc, /ready 0/);
    proc.kill('SIGINT');
    expect(await exited(proc)).toEqual([null, 'SIGINT']);
    expect(existsSync(file(n))).toBe(true);
  });

  it('never removes an object the call only opened', async () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 4096, exclusive: true });
    const result = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: 'signals' });
       console.log(shm.created, process.listenerCount('SIGINT'));`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe('false 0\n');
    expect(existsSync(file(n))).toBe(true);
    expect(shm.created).toBe(true);
  });

  it('leaves alone an object that someone else re-created under the name', async () => {
    const n = name();
    const result = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: true });
       PosixShm.unlink(${JSON.stringify(n)});
       // another program's object, same name, different inode
       PosixShm.create(${JSON.stringify(n)}, { size: 8192, exclusive: true }).close();`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    using again = PosixShm.open(n);
    expect(again.size).toBe(8192);
  });

  it('publish: false registers the removal when publish() gives the object its name', async () => {
    const n = name();
    const result = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create(${JSON.stringify(n)}, { size: 4096, publish: false, removeOnExit: 'signals' });
       const before = process.listenerCount('SIGTERM');
       shm.publish();
       console.log(before, process.listenerCount('SIGTERM'), shm.published);`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0 1 true\n');
    expect(existsSync(file(n))).toBe(false);
  });

  it('unlink() cancels the removal and its signal handlers', async () => {
    const n = name();
    const result = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create(${JSON.stringify(n)}, { size: 4096, removeOnExit: 'signals' });
       const before = process.listenerCount('SIGTERM');
       shm.unlink();
       console.log(before, process.listenerCount('SIGTERM'));
       PosixShm.create(${JSON.stringify(n)}, { size: 4096, exclusive: true }).close();`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe('1 0\n');
    expect(existsSync(file(n))).toBe(true);
  });

  it.each([['yes'], [1], [null]])(
    'rejects removeOnExit %j with ERR_INVALID_ARG_VALUE before creating',
    (value) => {
      const n = name();
      expect(() => PosixShm.create(n, { size: 4096, removeOnExit: value as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
      expect(existsSync(file(n))).toBe(false);
    },
  );
});

describe('EEXIST hint', () => {
  it('points at shmkit ls and rm', () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 4096, exclusive: true });
    expect(() => PosixShm.create(n, { size: 4096, exclusive: true })).toThrow(
      expect.objectContaining({
        code: 'EEXIST',
        syscall: 'shm_open',
        ipcName: n,
        hint: expect.stringContaining(`npx @shmkit/cli rm --type posix-shm ${n}`),
        message: expect.stringContaining('`npx @shmkit/cli ls` lists it'),
      }),
    );
    expect(shm.created).toBe(true);
  });
});
