// The primitives and Mapping.protect(): protecting other pages of the
// mapping leaves a primitive alone, protecting its own page makes it throw
// ERR_SHMKIT_PROTECTED (never "closed", never a crash), and once the page
// is read+write again it works as before. A guard whose unlock failed
// still holds the lock, so the unlock can be tried again.
import { mapAnonymous, pageSize } from '@shmkit/core';
import { describe, expect, it } from 'vitest';
import { Mutex, PthreadMutex, SharedEvent } from '../src/index';

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(expect.objectContaining({ code }));
}

describe('primitives and Mapping.protect', () => {
  it('protecting another page of the mapping leaves them working', () => {
    const ps = pageSize();
    using mapping = mapAnonymous(2 * ps);
    const mutex = Mutex.init(mapping, 4);
    const event = SharedEvent.init(mapping, 64);
    const pthread = PthreadMutex.init(mapping, 128);
    mapping.protect('read', { offset: ps });
    {
      using guard = mutex.lock();
      expect(mutex.state).toBe('locked');
      expect(guard.held).toBe(true);
    }
    expect(mutex.state).toBe('unlocked');
    event.set();
    expect(event.isSet).toBe(true);
    expect(event.tryWait()).toBe(true);
    pthread.lock().unlock();
    mapping.protect('read-write', { offset: ps });
  });

  it('protecting their own page makes them throw ERR_SHMKIT_PROTECTED until it is read+write again', () => {
    const ps = pageSize();
    using mapping = mapAnonymous(2 * ps);
    const mutex = Mutex.init(mapping, 0);
    const event = SharedEvent.init(mapping, 64);
    const pthread = PthreadMutex.init(mapping, 128);
    for (const protection of ['read', 'none'] as const) {
      mapping.protect(protection, { length: ps });
      expectCode(() => mutex.tryLock(), 'ERR_SHMKIT_PROTECTED');
      expectCode(() => mutex.lock(), 'ERR_SHMKIT_PROTECTED');
      expectCode(() => mutex.state, 'ERR_SHMKIT_PROTECTED');
      expectCode(() => event.set(), 'ERR_SHMKIT_PROTECTED');
      expectCode(() => event.wait({ timeout: 0 }), 'ERR_SHMKIT_PROTECTED');
      expectCode(() => pthread.tryLock(), 'ERR_SHMKIT_PROTECTED');
      mapping.protect('read-write', { length: ps });
      const guard = mutex.tryLock();
      expect(guard?.held).toBe(true);
      guard?.unlock();
      event.set();
      expect(event.wait({ timeout: 0 })).toBe(true);
      pthread.lock().unlock();
    }
    mapping.close();
    expectCode(() => mutex.tryLock(), 'ERR_SHMKIT_CLOSED');
    expectCode(() => event.set(), 'ERR_SHMKIT_CLOSED');
  });

  it('a guard whose unlock failed still holds the lock, and unlocks once it can', () => {
    const ps = pageSize();
    using mapping = mapAnonymous(ps);
    const mutex = Mutex.init(mapping, 0);
    const guard = mutex.lock();
    mapping.protect('read');
    expectCode(() => guard.unlock(), 'ERR_SHMKIT_PROTECTED');
    expect(guard.held).toBe(true);
    mapping.protect('read-write');
    expect(Mutex.attach(mapping, 0).state).toBe('locked');
    guard.unlock();
    expect(guard.held).toBe(false);
    expect(mutex.state).toBe('unlocked');
    guard.unlock(); // a no-op the second time
  });

  it('an event wait that ended while its page was protected leaves the waiter count', async () => {
    using mapping = mapAnonymous(pageSize());
    const event = SharedEvent.init(mapping, 0, { mode: 'auto' });
    const waiting = event.waitAsync({ timeout: 10_000 }).then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await new Promise((r) => setTimeout(r, 20));
    mapping.protect('read');
    expect(await waiting).toBe('ERR_SHMKIT_PROTECTED');
    mapping.protect('read-write');
    event.set(); // the first call after the restore takes the count back
    expect(mapping.int32Array(0, 4)[1]).toBe(0); // the waiters word
    expect(event.tryWait()).toBe(true);
  });

  it('a lockAsync pending across a protect() and its undoing gets the lock', async () => {
    using mapping = mapAnonymous(pageSize());
    const mutex = Mutex.init(mapping, 0);
    const held = mutex.lock();
    const waiting = mutex.lockAsync({ timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    mapping.protect('read');
    mapping.protect('read-write');
    held.unlock();
    const guard = await waiting;
    expect(guard.held).toBe(true);
    expect(mutex.owner).not.toBe(0);
    guard.unlock();
    expect(mutex.state).toBe('unlocked');
  });
});
