import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { runNode, spawnNode, waitForLine } from '@shmkit/testing';
import { native } from '@shmkit/core/internal';
import { futex, futexWait, futexWaitAsync, futexWake } from '../src/index';
import {
  childArgs,
  childPrelude,
  expectCode,
  pkgDir,
  removeSharedFiles,
  sharedFile,
  sleep,
  until,
} from './helpers';

afterEach(removeSharedFiles);

describe('futex', () => {
  it('reports not-equal and timed-out, and wake counts nobody when nobody waits', () => {
    const words = sharedFile().mapping.int32Array(0, 4);
    words[1] = 5;
    expect(futexWait(words, 1, 4)).toBe('not-equal');
    const start = performance.now();
    expect(futexWait(words, 1, 5, 30)).toBe('timed-out');
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(29);
    expect(elapsed).toBeLessThan(2000);
    expect(futexWait(words, 1, 5, { timeout: 0 })).toBe('timed-out');
    expect(futexWake(words, 1)).toBe(0);
    expect(futex.wake).toBe(futexWake);
  });

  it('wakes a waiter in another process (sync and async waits)', async () => {
    const file = sharedFile();
    const words = file.mapping.int32Array(0, 4);
    const child = spawnNode(
      `${childPrelude}
      const w = mapping.int32Array(0, 4);
      say('waiting');
      const sync = futex.wait(w, 2, 0, 10000);
      say('sync ' + sync + ' ' + w[2]);
      const asyncResult = await futex.waitAsync(w, 3, 0, { timeout: 10000 });
      say('async ' + asyncResult + ' ' + w[3]);`,
      { cwd: pkgDir, args: childArgs(file) },
    );
    try {
      await waitForLine(child, /waiting/);
      // Wake until the child is actually asleep in the kernel.
      Atomics.store(words, 2, 1);
      await until(() => futexWake(words, 2, 1) === 1 || words[2] === 1, 10_000, 'sync waiter');
      await waitForLine(child, /sync (ok|not-equal) 1/);
      await sleep(20);
      Atomics.store(words, 3, 7);
      futexWake(words, 3);
      await waitForLine(child, /async (ok|not-equal) 7/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('waitAsync resolves when woken, times out, and spins', async () => {
    const words = sharedFile().mapping.int32Array(0, 4);
    const pending = futexWaitAsync(words, 0, 0);
    await until(() => futexWake(words, 0, 1) === 1, 10_000, 'async waiter');
    await expect(pending).resolves.toBe('ok');
    const start = performance.now();
    await expect(futexWaitAsync(words, 0, 0, { timeout: 40 })).resolves.toBe('timed-out');
    expect(performance.now() - start).toBeGreaterThanOrEqual(39);
    expect(performance.now() - start).toBeLessThan(3000);
    await expect(futexWaitAsync(words, 0, 9)).resolves.toBe('not-equal');
    await expect(futexWaitAsync(words, 0, 0, { timeout: 0, spin: 1000 })).resolves.toBe(
      'timed-out',
    );
    expect(futexWait(words, 0, 0, { timeout: 1, spin: true })).toBe('timed-out');
  });

  it('an AbortSignal cancels a pending wait with AbortError', async () => {
    const words = sharedFile().mapping.int32Array(0, 4);
    const controller = new AbortController();
    const pending = futexWaitAsync(words, 0, 0, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(
      futexWaitAsync(words, 0, 0, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    // This machine's kernel has io_uring futex waits: no thread per wait.
    expect(native.waitInfo().backend).toBe('io_uring');
  });

  for (const backend of ['futex_waitv', 'pool']) {
    it(`cancels on the ${backend} backend too`, async () => {
      const file = sharedFile();
      const result = await runNode(
        `${childPrelude}
        const w = mapping.int32Array(0, 4);
        const controller = new AbortController();
        const other = futex.waitAsync(w, 0, 0, { timeout: 5000 });
        const pending = futex.waitAsync(w, 0, 0, { signal: controller.signal });
        setTimeout(() => controller.abort(), 30);
        try { await pending; say('resolved'); } catch (e) { say('rejected ' + e.name); }
        say('backend ' + native.waitInfo().backend);
        Atomics.store(w, 0, 1); futex.wake(w, 0);
        say('other ' + await other);`,
        { cwd: pkgDir, args: childArgs(file), env: { SHMKIT_WAIT_BACKEND: backend } },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('rejected AbortError');
      expect(result.stdout).toContain(`backend ${backend}`);
      expect(result.stdout).toMatch(/other (ok|not-equal)/);
    });
  }

  it('256 pending waits leave fs.promises.readFile responsive', async () => {
    const words = sharedFile().mapping.int32Array(0, 4);
    const controller = new AbortController();
    const waits = Array.from({ length: 256 }, () =>
      futexWaitAsync(words, 0, 0, { signal: controller.signal }).catch((e: Error) => e.name),
    );
    await sleep(100);
    const start = performance.now();
    const reads = await Promise.all(Array.from({ length: 8 }, () => readFile(__filename)));
    const elapsed = performance.now() - start;
    expect(reads[0]!.length).toBeGreaterThan(0);
    // The pool has 4 threads: were the waits on it, readFile would never finish.
    expect(elapsed).toBeLessThan(5000);
    Atomics.store(words, 0, 1);
    futexWake(words, 0);
    const outcomes = await Promise.all(waits);
    expect(outcomes.every((o) => o === 'ok' || o === 'not-equal')).toBe(true);
    controller.abort();
  });

  it('rejects bad arguments by code', async () => {
    const words = sharedFile().mapping.int32Array(0, 4);
    expectCode(
      () => futexWait(new Uint32Array(4) as unknown as Int32Array, 0, 0),
      'ERR_INVALID_ARG_TYPE',
    );
    expectCode(() => futexWait(words, 4, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => futexWait(words, -1, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => futexWait(words, 0.5, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => futexWait(words, 0, 2 ** 32), 'ERR_OUT_OF_RANGE');
    expectCode(() => futexWait(words, 0, '0' as unknown as number), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => futexWait(words, 0, 0, -1), 'ERR_OUT_OF_RANGE');
    expectCode(
      () => futexWait(words, 0, 0, { spin: 'yes' as unknown as boolean }),
      'ERR_INVALID_ARG_TYPE',
    );
    expectCode(() => futexWait(words, 0, 0, { spin: -1 }), 'ERR_OUT_OF_RANGE');
    expectCode(
      () => futexWait(words, 0, 0, { signal: new AbortController().signal } as never),
      'ERR_INVALID_ARG_VALUE',
    );
    expectCode(() => futexWait(new Int32Array(0), 0, 0), 'ERR_OUT_OF_RANGE');
    expectCode(() => futexWake(words, 0, -1), 'ERR_OUT_OF_RANGE');
    await expect(futexWaitAsync(words, 0, 0, { signal: {} as AbortSignal })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(futexWaitAsync(words, 9, 0)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});
