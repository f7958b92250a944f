import { existsSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { NamedSemaphore } from '../src/index';
import { compileC, run, runNode, spawnNode, uniqueName, waitForLine } from '@shmkit/testing';
import { pkgDir } from './helpers/sem-shm';

const names: string[] = [];
const opened: NamedSemaphore[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  for (const name of names.splice(0)) {
    try {
      NamedSemaphore.unlink(name);
    } catch {
      // already unlinked by the test
    }
  }
});

function newName(): string {
  const name = `/${uniqueName('shmkit-sem')}`;
  names.push(name);
  return name;
}

function track(sem: NamedSemaphore): NamedSemaphore {
  opened.push(sem);
  return sem;
}

const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

const cProgram = `#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
  sem_t *sem = sem_open(argv[1], 0);
  if (sem == SEM_FAILED) { perror("sem_open"); return 2; }
  if (strcmp(argv[2], "post") == 0) return sem_post(sem) == 0 ? 0 : 3;
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_sec += 10;
  printf("waiting\\n"); fflush(stdout);
  if (sem_timedwait(sem, &ts) != 0) { perror("sem_timedwait"); return 4; }
  printf("ok\\n");
  sem_close(sem);
  return 0;
}`;

describe('NamedSemaphore', () => {
  it('creates, opens, counts and unlinks', () => {
    const name = newName();
    const a = track(NamedSemaphore.create(name, { value: 2, mode: 0o640, exclusive: true }));
    expect(a.name).toBe(name);
    const file = `/dev/shm/sem.${name.slice(1)}`;
    expect(statSync(file).mode & 0o777).toBe(0o640);
    const b = track(NamedSemaphore.open(name));
    expect(b.tryWait()).toBe(true);
    expect(a.value).toBe(1);
    expect(a.wait({ timeout: 0, spin: 10 })).toBe(true);
    expect(b.wait({ timeout: 20 })).toBe(false);
    a.post();
    expect(b.wait()).toBe(true);
    // Non-exclusive create of an existing name opens it, ignoring value.
    expect(track(NamedSemaphore.create(name, { value: 9 })).value).toBe(0);
    a.unlink();
    expect(existsSync(file)).toBe(false);
    // Still usable by those who have it open.
    b.post();
    expect(a.value).toBe(1);
  });

  it('works with using and close', () => {
    const name = newName();
    let kept: NamedSemaphore;
    {
      using sem = NamedSemaphore.create(name);
      kept = sem;
      expect(sem.closed).toBe(false);
    }
    expect(kept.closed).toBe(true);
    kept.close();
    expect(() => kept.post()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    expect(() => kept.value).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    return expect(kept.waitAsync()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
  });

  it('a C program posting wakes our async waiter', async () => {
    const bin = compileC(cProgram, ['-lpthread']);
    const name = newName();
    const sem = track(NamedSemaphore.create(name));
    const pending = sem.waitAsync({ timeout: 10_000 });
    const result = await run(bin, [name, 'post']);
    expect(result.code).toBe(0);
    await expect(pending).resolves.toBe(true);
  });

  it('our post wakes a C program waiting', async () => {
    const bin = compileC(cProgram, ['-lpthread']);
    const name = newName();
    const sem = track(NamedSemaphore.create(name));
    const child = run(bin, [name, 'wait'], { timeout: 20_000 });
    // Give it time to block, then post.
    setTimeout(() => sem.post(), 100);
    const result = await child;
    expect(result.stdout).toContain('ok');
    expect(result.code).toBe(0);
    expect(sem.value).toBe(0);
  });

  it('wakes a node process waiting synchronously', async () => {
    const name = newName();
    const sem = track(NamedSemaphore.create(name));
    const child = spawnNode(
      `import { NamedSemaphore } from '@shmkit/sync';
const sem = NamedSemaphore.open(${JSON.stringify(name)});
console.log('ready');
console.log('got', sem.wait({ timeout: 10000 }));`,
      { cwd: pkgDir },
    );
    try {
      await waitForLine(child, /ready/);
      sem.post();
      await waitForLine(child, /got true/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a worker terminated during an async wait neither crashes nor keeps a unit', async () => {
    const name = newName();
    const result = await runNode(
      `import { Worker } from 'node:worker_threads';
import { NamedSemaphore } from '@shmkit/sync';
const sem = NamedSemaphore.create(${JSON.stringify(name)});
const source = (wait) => \`
  const { parentPort } = require('node:worker_threads');
  const { NamedSemaphore } = require('@shmkit/sync');
  const sem = NamedSemaphore.open(${JSON.stringify(name)});
  \${wait}.then((v) => parentPort.postMessage('took ' + v));
  parentPort.postMessage('waiting');\`;
for (const wait of ['sem.waitAsync()', 'sem.waitAsync({ signal: new AbortController().signal })']) {
  const worker = new Worker(source(wait), { eval: true, execArgv: [] });
  await new Promise((r) => worker.once('message', r));
  await worker.terminate();
  sem.post();
  await new Promise((r) => setTimeout(r, 300));
  console.log(sem.value);
  sem.tryWait();
}
// The sync form, meant for workers: woken by the main thread.
const worker = new Worker(\`
  const { parentPort } = require('node:worker_threads');
  const { NamedSemaphore } = require('@shmkit/sync');
  const sem = NamedSemaphore.open(${JSON.stringify(name)});
  parentPort.postMessage('waiting');
  parentPort.postMessage('sync ' + sem.wait({ timeout: 10000 }));\`, { eval: true, execArgv: [] });
await new Promise((r) => worker.once('message', r));
sem.post();
console.log(await new Promise((r) => worker.once('message', r)));
await worker.terminate();`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['1', '1', 'sync true']);
  });

  it('an AbortSignal cancels a pending wait', async () => {
    const sem = track(NamedSemaphore.create(newName()));
    const ac = new AbortController();
    const pending = sem.waitAsync({ signal: ac.signal, timeout: 10_000 });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    sem.post();
    await new Promise((r) => setTimeout(r, 150));
    expect(sem.value).toBe(1);
    // Closing while a wait is pending is safe: sem_close waits for the thread.
    expect(sem.tryWait()).toBe(true);
    const late = sem.waitAsync({ timeout: 10_000 });
    const other = track(NamedSemaphore.open(sem.name));
    sem.close();
    await new Promise((r) => setTimeout(r, 20));
    other.post();
    await expect(late).resolves.toBe(true);
  });

  it('times out with false within slack', async () => {
    const sem = track(NamedSemaphore.create(newName()));
    const start = performance.now();
    await expect(sem.waitAsync({ timeout: 80 })).resolves.toBe(false);
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(75);
    expect(elapsed).toBeLessThan(2000);
  });

  it('reports ENOENT, EEXIST and bad names by code', () => {
    const name = newName();
    expect(() => NamedSemaphore.open(name)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'sem_open', ipcName: name }),
    );
    expect(() => NamedSemaphore.unlink(name)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'sem_unlink' }),
    );
    track(NamedSemaphore.create(name));
    expect(() => NamedSemaphore.create(name, { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    for (const bad of ['noslash', '/', '/a/b', '//a', '/nul\0']) {
      expect(() => NamedSemaphore.open(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' }),
      );
    }
    expect(() => NamedSemaphore.create(`/${'x'.repeat(252)}`)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'RangeError' }),
    );
    expect(() => NamedSemaphore.open(42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => NamedSemaphore.create(newName(), { value: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => NamedSemaphore.create(newName(), { value: 2 ** 31 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => NamedSemaphore.create(newName(), { mode: 0o10000 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => NamedSemaphore.create(newName(), { exclusive: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('the longest valid name works', () => {
    const name = `/${'n'.repeat(251 - 20)}${uniqueName('').slice(0, 20).padEnd(20, 'z')}`;
    names.push(name);
    const sem = track(NamedSemaphore.create(name, { exclusive: true }));
    expect(sem.value).toBe(0);
  });

  it('reports EACCES to an unprivileged process', async () => {
    const name = newName();
    track(NamedSemaphore.create(name, { mode: 0o600 }));
    const result = await runNode(
      `import { NamedSemaphore } from '@shmkit/sync';
try { NamedSemaphore.open(${JSON.stringify(name)}); console.log('opened'); }
catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall })); }`,
      { cwd: pkgDir, wrapper: nobody },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ code: 'EACCES', syscall: 'sem_open' });
  });
});
