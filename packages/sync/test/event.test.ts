import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { spawnNode } from '@shmkit/testing';
import { mapAnonymous } from '@shmkit/core';
import { SharedEvent } from '../src/index';
import {
  childArgs,
  childPrelude,
  cleanUp,
  expectCode,
  killAfterTest,
  pkgDir,
  sharedFile,
  sleep,
  until,
  type SharedFile,
} from './helpers';

afterEach(cleanUp);

/** A child that waits on the event at offset 0 (sync or async) and prints the outcome. */
function waiter(
  file: SharedFile,
  how: 'sync' | 'async',
  timeout: number,
): { child: ChildProcess; output: () => string } {
  const child = spawnNode(
    `${childPrelude}
    const event = SharedEvent.attach(mapping, 0);
    say('waiting');
    const result = ${how === 'sync' ? 'event.wait' : 'await event.waitAsync'}({ timeout: ${timeout} });
    say(result ? 'woken' : 'timed-out');`,
    { cwd: pkgDir, args: childArgs(file) },
  );
  killAfterTest(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

const waitersWord = (file: SharedFile): number => Atomics.load(file.mapping.int32Array(0, 4), 1);

describe('SharedEvent', () => {
  it('has a documented layout and reads its mode on attach', () => {
    const file = sharedFile();
    expect(SharedEvent.byteLength).toBe(16);
    expect(SharedEvent.alignment).toBe(4);
    const manual = SharedEvent.init(file.mapping, 32, { set: true });
    expect(manual.mode).toBe('manual');
    expect(Array.from(file.mapping.int32Array(32, 4))).toEqual([1, 0, 1, 0]);
    const auto = SharedEvent.init(file.mapping, 48, { mode: 'auto' });
    expect(Array.from(file.mapping.int32Array(48, 4))).toEqual([0, 0, 2, 0]);
    expect(SharedEvent.attach(file.mapping, 48).mode).toBe('auto');
    expect(SharedEvent.attach(file.mapping, 32).isSet).toBe(true);
    expect(auto.isSet).toBe(false);
  });

  it('manual events stay set until reset; auto events let one wait through per set', () => {
    const file = sharedFile();
    const manual = SharedEvent.init(file.mapping, 0);
    expect(manual.tryWait()).toBe(false);
    expect(manual.wait({ timeout: 10 })).toBe(false);
    manual.set();
    expect(manual.tryWait()).toBe(true);
    expect(manual.wait()).toBe(true);
    expect(manual.wait({ spin: true })).toBe(true);
    manual.reset();
    expect(manual.tryWait()).toBe(false);
    const auto = SharedEvent.init(file.mapping, 16, { mode: 'auto' });
    auto.set();
    auto.set();
    expect(auto.tryWait()).toBe(true);
    expect(auto.tryWait()).toBe(false);
    auto.set();
    expect(auto.wait({ timeout: 1000 })).toBe(true);
    expect(auto.wait({ timeout: 5, spin: 500 })).toBe(false);
  });

  it('a manual event wakes every waiter, in other processes and here', async () => {
    const file = sharedFile();
    const event = SharedEvent.init(file.mapping, 0, { mode: 'manual' });
    const waiters = [
      waiter(file, 'sync', 20_000),
      waiter(file, 'async', 20_000),
      waiter(file, 'sync', 20_000),
    ];
    const local = event.waitAsync({ timeout: 20_000 });
    await until(() => waitersWord(file) === 4, 10_000, '4 waiters');
    await sleep(50);
    event.set();
    await expect(local).resolves.toBe(true);
    await until(() => waiters.every((w) => w.output().includes('woken')), 10_000, 'every waiter');
    expect(waiters.map((w) => w.output())).toEqual(Array(3).fill('waiting\nwoken\n'));
    await until(() => waitersWord(file) === 0, 10_000, 'waiters to leave');
  });

  it('an auto event wakes exactly one waiter per set', async () => {
    const file = sharedFile();
    const event = SharedEvent.init(file.mapping, 0, { mode: 'auto' });
    const waiters = [
      waiter(file, 'sync', 20_000),
      waiter(file, 'async', 20_000),
      waiter(file, 'sync', 20_000),
    ];
    await until(() => waitersWord(file) === 3, 10_000, '3 waiters');
    await sleep(50);
    const woken = () => waiters.filter((w) => w.output().includes('woken')).length;
    for (let round = 1; round <= 3; round++) {
      event.set();
      await until(() => woken() === round, 10_000, `waiter ${round}`);
      await sleep(200);
      expect(woken()).toBe(round);
      expect(event.isSet).toBe(false);
    }
  });

  it('waitAsync times out, is aborted by a signal, and passes on a wake it no longer needs', async () => {
    const file = sharedFile();
    const event = SharedEvent.init(file.mapping, 0, { mode: 'auto' });
    const start = performance.now();
    await expect(event.waitAsync({ timeout: 40 })).resolves.toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(39);
    expect(performance.now() - start).toBeLessThan(3000);
    const controller = new AbortController();
    const aborted = event.waitAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(event.waitAsync({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(waitersWord(file)).toBe(0);
    // Two waiters; one aborts just as the set arrives: the other still passes.
    const c2 = new AbortController();
    const first = event.waitAsync({ signal: c2.signal }).catch((e: Error) => e.name);
    const second = event.waitAsync({ timeout: 10_000 });
    await until(() => waitersWord(file) === 2, 10_000, '2 waiters');
    await sleep(30);
    event.set();
    c2.abort();
    const outcomes = await Promise.all([first, second]);
    // The aborted waiter rejected before it could take the set; the wake it
    // had consumed in the kernel went on to the other waiter.
    expect(outcomes).toEqual(['AbortError', true]);
  });

  it('rejects bad arguments by code', async () => {
    const file = sharedFile();
    expectCode(() => SharedEvent.attach(file.mapping, 0), 'ERR_SHMKIT_NOT_INITIALIZED');
    expectCode(
      () => SharedEvent.init(file.mapping, 0, { mode: 'once' as never }),
      'ERR_INVALID_ARG_VALUE',
    );
    expectCode(
      () => SharedEvent.init(file.mapping, 0, { set: 1 as never }),
      'ERR_INVALID_ARG_VALUE',
    );
    expectCode(() => SharedEvent.init(file.mapping, 0, 'auto' as never), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => SharedEvent.init(file.mapping, 6), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => SharedEvent.init(file.mapping, 4088), 'ERR_OUT_OF_RANGE');
    const event = SharedEvent.init(file.mapping, 0);
    expectCode(() => event.wait({ timeout: -5 }), 'ERR_OUT_OF_RANGE');
    expectCode(() => event.wait({ spin: {} as never }), 'ERR_INVALID_ARG_TYPE');
    await expect(event.waitAsync({ signal: 1 as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    const mapping = mapAnonymous(4096);
    const closing = SharedEvent.init(mapping, 0);
    mapping.close();
    expectCode(() => closing.set(), 'ERR_SHMKIT_CLOSED');
    expectCode(() => closing.wait(), 'ERR_SHMKIT_CLOSED');
    await expect(closing.waitAsync()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
  });
});
