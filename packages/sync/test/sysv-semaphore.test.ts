import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SysvSemaphoreSet } from '../src/index';
import { compileC, run, runNode, spawnNode, uniqueKey, waitForLine } from '@shmkit/testing';
import { pkgDir } from './helpers/sem-shm';

const sets: SysvSemaphoreSet[] = [];
afterEach(() => {
  for (const set of sets.splice(0)) {
    try {
      set.remove();
    } catch {
      // already removed by the test
    }
  }
});

function make(count: number, options: { key?: number; mode?: number } = {}): SysvSemaphoreSet {
  const set = SysvSemaphoreSet.create({
    key: options.key ?? uniqueKey(),
    count,
    mode: options.mode,
    exclusive: true,
  });
  sets.push(set);
  return set;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

describe('SysvSemaphoreSet', () => {
  it('creates, opens by key and id, and exposes semctl', () => {
    const key = uniqueKey();
    const set = make(3, { key, mode: 0o640 });
    expect(set.count).toBe(3);
    expect(SysvSemaphoreSet.open({ key }).id).toBe(set.id);
    expect(SysvSemaphoreSet.fromId(set.id).count).toBe(3);
    // Non-exclusive create of an existing key opens it.
    expect(SysvSemaphoreSet.create({ key, count: 1 }).id).toBe(set.id);
    expect(set.getAll()).toEqual([0, 0, 0]);
    set.setAll([1, 2, 3]);
    set.set(2, 7);
    expect(set.get(2)).toBe(7);
    expect(set.getAll()).toEqual([1, 2, 7]);
    const stat = set.stat();
    expect(stat).toMatchObject({
      key,
      count: 3,
      mode: 0o640,
      uid: process.getuid!(),
      cuid: process.getuid!(),
    });
    expect(stat.otime).toBeNull();
    expect(stat.ctime).toBeInstanceOf(Date);
    set.post(0);
    expect(set.stat().otime).toBeInstanceOf(Date);
    expect(set.lastPid(0)).toBe(process.pid);
    set.setPermissions({ mode: 0o600 });
    expect(set.stat().mode).toBe(0o600);
    expect(set.waitingCount(0)).toBe(0);
    expect(set.zeroWaitingCount(0)).toBe(0);
    const priv = SysvSemaphoreSet.create({ count: 1 });
    sets.push(priv);
    expect(priv.id).not.toBe(set.id);
    expect(priv.stat().key).toBe(SysvSemaphoreSet.IPC_PRIVATE);
  });

  it('applies multi-op arrays atomically', () => {
    const set = make(2);
    set.setAll([1, 0]);
    expect(
      set.tryOp([
        { index: 0, op: -1 },
        { index: 1, op: -1 },
      ]),
    ).toBe(false);
    expect(set.getAll()).toEqual([1, 0]);
    expect(
      set.op([
        { index: 0, op: -1 },
        { index: 1, op: 2 },
      ]),
    ).toBe(true);
    expect(set.getAll()).toEqual([0, 2]);
    expect(set.tryWait(1, { count: 2 })).toBe(true);
    expect(set.tryWait(1)).toBe(false);
    set.post(1, { count: 3 });
    expect(set.wait(1, { count: 3, timeout: 100 })).toBe(true);
    expect(set.wait(1, { timeout: 30 })).toBe(false);
    expect(set.op([{ index: 0, op: 0 }], { timeout: 0 })).toBe(true);
  });

  it('waits asynchronously, for units and for zero', async () => {
    const set = make(2);
    const unit = set.waitAsync(0, { timeout: 10_000 });
    await until(() => set.waitingCount(0) === 1);
    set.post(0);
    await expect(unit).resolves.toBe(true);
    set.set(1, 1);
    const zero = set.waitForZeroAsync(1, { timeout: 10_000 });
    await until(() => set.zeroWaitingCount(1) === 1);
    expect(set.waitForZero(1, { timeout: 10 })).toBe(false);
    set.set(1, 0);
    await expect(zero).resolves.toBe(true);
    const start = performance.now();
    await expect(set.waitAsync(0, { timeout: 80 })).resolves.toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(75);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('an AbortSignal cancels a pending op and no unit is lost', async () => {
    const set = make(1);
    const ac = new AbortController();
    const pending = set.waitAsync(0, { signal: ac.signal, undo: true });
    await until(() => set.waitingCount(0) === 1);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await until(() => set.waitingCount(0) === 0);
    set.post(0);
    expect(set.get(0)).toBe(1);

    const rounds = 40;
    set.set(0, 0);
    let taken = 0;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < rounds; i++) {
      const c = new AbortController();
      waits.push(
        set.waitAsync(0, { signal: c.signal }).then(
          (ok) => void (ok && taken++),
          (e: Error) => expect(e.name).toBe('AbortError'),
        ),
      );
      setTimeout(
        () => {
          set.post(0);
          c.abort();
        },
        5 + (i % 5),
      );
    }
    await Promise.all(waits);
    await until(() => set.waitingCount(0) === 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(taken + set.get(0)).toBe(rounds);
  });

  for (const form of ['wait', 'waitAsync'] as const) {
    it(`SEM_UNDO gives the unit back when the holder (${form}) is killed -9`, async () => {
      const key = uniqueKey();
      const set = make(1, { key });
      // The async form starts at 0 so the unit is taken by its waiting thread.
      set.set(0, form === 'wait' ? 1 : 0);
      const child = spawnNode(
        `import { SysvSemaphoreSet } from '@shmkit/sync';
const set = SysvSemaphoreSet.open({ key: ${key} });
${form === 'wait' ? 'set.wait(0, { undo: true });' : 'await set.waitAsync(0, { undo: true, timeout: 10000 });'}
console.log('holding');
setInterval(() => {}, 1000);`,
        { cwd: pkgDir },
      );
      try {
        if (form === 'waitAsync') {
          await until(() => set.waitingCount(0) === 1);
          set.post(0);
        }
        await waitForLine(child, /holding/);
        expect(set.get(0)).toBe(0);
        child.kill('SIGKILL');
        await expect(set.waitAsync(0, { timeout: 5000 })).resolves.toBe(true);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  it('without SEM_UNDO the unit stays taken after kill -9', async () => {
    const key = uniqueKey();
    const set = make(1, { key });
    set.set(0, 1);
    const result = await runNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
SysvSemaphoreSet.open({ key: ${key} }).wait(0);
process.kill(process.pid, 'SIGKILL');`,
      { cwd: pkgDir },
    );
    expect(result.signal).toBe('SIGKILL');
    expect(set.get(0)).toBe(0);
  });

  it('is shared with a C program', async () => {
    const bin = compileC(
      `#include <sys/sem.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
  key_t key = (key_t)strtoul(argv[1], 0, 10);
  int id = semget(key, 0, 0);
  if (id < 0) { perror("semget"); return 2; }
  struct sembuf take = { 0, -1, SEM_UNDO };
  struct timespec ts = { 10, 0 };
  if (semtimedop(id, &take, 1, &ts) != 0) { perror("semtimedop"); return 3; }
  printf("%d\\n", semctl(id, 0, GETVAL));
  struct sembuf give[2] = { { 1, 1, 0 }, { 0, 1, SEM_UNDO } };
  if (semop(id, give, 2) != 0) { perror("semop"); return 4; }
  return 0;
}`,
    );
    const key = uniqueKey();
    const set = make(2, { key });
    const child = run(bin, [String(key)], { timeout: 20_000 });
    await until(() => set.waitingCount(0) === 1);
    set.post(0);
    await expect(set.waitAsync(1, { timeout: 10_000 })).resolves.toBe(true);
    const result = await child;
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('0');
    expect(set.getAll()).toEqual([1, 0]);
  });

  it('reports ENOENT, EEXIST, EAGAIN, ERANGE, EINVAL and EIDRM by code', async () => {
    const key = uniqueKey();
    expect(() => SysvSemaphoreSet.open({ key })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'semget', key }),
    );
    const set = make(2, { key });
    expect(() => SysvSemaphoreSet.create({ key, count: 2, exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(() => set.op([{ index: 0, op: -1, noWait: true }])).toThrow(
      expect.objectContaining({ code: 'EAGAIN', syscall: 'semop', id: set.id }),
    );
    await expect(
      set.opAsync([{ index: 0, op: -1, noWait: true }], { timeout: 1000 }),
    ).rejects.toMatchObject({
      code: 'EAGAIN',
    });
    set.set(0, 32767);
    expect(() => set.post(0)).toThrow(expect.objectContaining({ code: 'ERANGE' }));
    const semopm = Number(readFileSync('/proc/sys/kernel/sem', 'utf8').trim().split(/\s+/)[2]);
    const tooMany = Array.from({ length: semopm + 1 }, () => ({ index: 1, op: 0 }));
    expect(() => set.op(tooMany)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    const semmsl = Number(readFileSync('/proc/sys/kernel/sem', 'utf8').trim().split(/\s+/)[0]);
    expect(() => SysvSemaphoreSet.create({ count: semmsl + 1 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => SysvSemaphoreSet.create({ key, count: 3 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    set.set(0, 0);
    const waiter = set.waitAsync(1);
    const syncWaiter = spawnNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
const set = SysvSemaphoreSet.fromId(${set.id});
try { set.wait(1); } catch (e) { console.log('sync', e.code); }`,
      { cwd: pkgDir },
    );
    await until(() => set.waitingCount(1) === 2);
    set.remove();
    await expect(waiter).rejects.toMatchObject({ code: 'EIDRM' });
    await waitForLine(syncWaiter, /sync EIDRM/);
    expect(() => set.get(0)).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'semctl' }),
    );
    expect(() => set.post(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => set.remove()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => SysvSemaphoreSet.fromId(set.id)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('reports EACCES to an unprivileged process', async () => {
    const key = uniqueKey();
    make(1, { key, mode: 0o600 });
    const result = await runNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
try { SysvSemaphoreSet.open({ key: ${key} }); console.log('opened'); }
catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall })); }`,
      { cwd: pkgDir, wrapper: nobody },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ code: 'EACCES', syscall: 'semget' });
  });

  it('reports EPERM when a non-owner changes or removes a set', async () => {
    const key = uniqueKey();
    const set = make(1, { key, mode: 0o666 });
    const result = await runNode(
      `import { SysvSemaphoreSet } from '@shmkit/sync';
const set = SysvSemaphoreSet.open({ key: ${key} });
set.post(0);
const codes = [];
try { set.setPermissions({ mode: 0o600 }); } catch (e) { codes.push(e.code); }
try { set.remove(); } catch (e) { codes.push(e.code); }
console.log(JSON.stringify(codes));`,
      { cwd: pkgDir, wrapper: nobody },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(['EPERM', 'EPERM']);
    expect(set.get(0)).toBe(1);
    expect(set.lastPid(0)).not.toBe(process.pid);
  });

  it('rejects bad arguments by code', async () => {
    const set = make(2);
    const bad: [() => unknown, string][] = [
      [() => set.get(2), 'ERR_OUT_OF_RANGE'],
      [() => set.get(-1), 'ERR_OUT_OF_RANGE'],
      [() => set.set(0, 32768), 'ERR_OUT_OF_RANGE'],
      [() => set.setAll([1]), 'ERR_INVALID_ARG_VALUE'],
      [() => set.setAll([1, -1]), 'ERR_OUT_OF_RANGE'],
      [() => set.setAll('1,2' as never), 'ERR_INVALID_ARG_TYPE'],
      [() => set.op([]), 'ERR_INVALID_ARG_VALUE'],
      [() => set.op({} as never), 'ERR_INVALID_ARG_TYPE'],
      [() => set.op([null as never]), 'ERR_INVALID_ARG_TYPE'],
      // A hole is no op at all (not a zero-filled "wait for zero" on semaphore 0).
      // eslint-disable-next-line no-sparse-arrays
      [() => set.tryOp([, { index: 1, op: 1 }] as never), 'ERR_INVALID_ARG_TYPE'],
      // eslint-disable-next-line no-sparse-arrays
      [() => set.op([, { index: 1, op: 1 }] as never, { timeout: 0 }), 'ERR_INVALID_ARG_TYPE'],
      // eslint-disable-next-line no-sparse-arrays
      [() => set.setAll([, 7] as never), 'ERR_INVALID_ARG_TYPE'],
      [() => set.op([{ index: 0, op: 40000 }]), 'ERR_OUT_OF_RANGE'],
      [() => set.op([{ index: 5, op: 1 }]), 'ERR_OUT_OF_RANGE'],
      [() => set.op([{ index: 0, op: 1, undo: 'yes' as never }]), 'ERR_INVALID_ARG_TYPE'],
      [() => set.op([{ index: 0, op: 1 }], { timeout: -5 }), 'ERR_OUT_OF_RANGE'],
      [() => set.op([{ index: 0, op: 1 }], { spin: 5 } as never), 'ERR_INVALID_ARG_VALUE'],
      [() => set.post(0, { count: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvSemaphoreSet.create({ count: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvSemaphoreSet.create({ count: 1, key: 2 ** 32 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvSemaphoreSet.create({ count: 1, mode: 0o1000 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvSemaphoreSet.create(undefined as never), 'ERR_INVALID_ARG_TYPE'],
      [() => SysvSemaphoreSet.open({ key: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvSemaphoreSet.fromId(-1), 'ERR_OUT_OF_RANGE'],
      [() => set.setPermissions({ mode: 0o1000 }), 'ERR_OUT_OF_RANGE'],
    ];
    for (const [call, code] of bad) expect(call).toThrow(expect.objectContaining({ code }));
    // Nothing the refused calls carried was applied.
    expect(set.getAll()).toEqual([0, 0]);
    // eslint-disable-next-line no-sparse-arrays
    await expect(set.opAsync([, { index: 1, op: 1 }] as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(set.waitAsync(9)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(
      set.opAsync([{ index: 0, op: -1 }], { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
