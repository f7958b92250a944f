// @shmkit/core's layout() places this package's primitives by their static
// byteLength and alignment, and they work at the offsets it gives.
import { layout, mapAnonymous } from '@shmkit/core';
import { describe, expect, it } from 'vitest';
import { Mutex, PthreadMutex, Semaphore, SharedEvent } from '../src/index';

describe('layout() with the sync primitives', () => {
  it('places Mutex, SharedEvent, Semaphore and PthreadMutex where each can be initialised and used', async () => {
    const shared = layout({
      flag: 'uint8',
      lock: Mutex,
      ready: SharedEvent,
      items: Semaphore,
      pthread: PthreadMutex,
      count: 'int32',
      samples: ['float64', 16],
    });
    expect(shared.offsets.lock % Mutex.alignment).toBe(0);
    expect(shared.offsets.items % Semaphore.alignment).toBe(0);
    expect(shared.offsets.pthread % PthreadMutex.alignment).toBe(0);
    expect(shared.fields.pthread.byteLength).toBe(PthreadMutex.byteLength);
    expect(shared.byteLength % shared.alignment).toBe(0);

    using memory = mapAnonymous(shared.byteLength);
    const mutex = Mutex.init(memory, shared.offsets.lock);
    const ready = SharedEvent.init(memory, shared.offsets.ready, { mode: 'manual' });
    using items = Semaphore.init(memory, shared.offsets.items, 0);
    const pthread = PthreadMutex.init(memory, shared.offsets.pthread);
    const count = shared.view(memory, 'count');
    {
      using guard = mutex.lock();
      count[0] = 41;
      expect(guard.held).toBe(true);
    }
    {
      using guard = pthread.lock();
      count[0]! += 1;
      expect(guard.held).toBe(true);
    }
    items.post();
    ready.set();
    expect(items.tryWait()).toBe(true);
    expect(await ready.waitAsync({ timeout: 1000 })).toBe(true);
    expect(count[0]).toBe(42);
    shared.view(memory, 'samples').fill(1.5);
    expect(memory.float64Array(shared.offsets.samples, 16).every((x) => x === 1.5)).toBe(true);
  });
});
