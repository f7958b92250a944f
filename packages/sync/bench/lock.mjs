// Micro-benchmark (not a test): uncontended lock+unlock cost from JS, next to
// a bare native call. Usage: node bench/lock.mjs
import { mapAnonymous } from '@shmkit/core';
import { native } from '@shmkit/core/internal';
import { Mutex, PthreadMutex, SharedEvent } from '@shmkit/sync';

const N = 5_000_000;
function time(label, fn) {
  for (let r = 0; r < 3; r++) {
    const start = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - start) / N;
    if (r === 2) console.log(`${label.padEnd(34)} ${ns.toFixed(1)} ns/op`);
  }
}
const mapping = mapAnonymous(4096);
const mutex = Mutex.init(mapping, 0);
const event = SharedEvent.init(mapping, 16, { mode: 'manual', set: true });
const word = mapping.int32Array(0, 1);
const pmutex = PthreadMutex.init(mapping, 64);
time('native noop', () => {
  for (let i = 0; i < N; i++) native.noop();
});
time('Atomics CAS pair', () => {
  for (let i = 0; i < N; i++) {
    Atomics.compareExchange(word, 0, 0, 7);
    Atomics.compareExchange(word, 0, 7, 0);
  }
});
time('mutex.lock(); mutex.unlock()', () => {
  for (let i = 0; i < N; i++) {
    mutex.lock();
    mutex.unlock();
  }
});
time('guard = lock(); guard.unlock()', () => {
  for (let i = 0; i < N; i++) {
    const g = mutex.lock();
    g.unlock();
  }
});
time('tryLock()+unlock()', () => {
  for (let i = 0; i < N; i++) {
    mutex.tryLock();
    mutex.unlock();
  }
});
time('PthreadMutex lock()+unlock()', () => {
  for (let i = 0; i < N; i++) {
    pmutex.lock();
    pmutex.unlock();
  }
});
time('event.wait() when set', () => {
  for (let i = 0; i < N; i++) event.wait();
});
