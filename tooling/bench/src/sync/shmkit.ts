// The real @shmkit/sync behind the bench's SyncAdapter.
import { Mutex, Semaphore, SharedEvent } from '@shmkit/sync';
import type { SyncAdapter } from './adapter.js';

export const shmkitAdapter: SyncAdapter = {
  name: '@shmkit/sync',
  provisional: false,
  parks: true,
  sizes: {
    mutex: Mutex.byteLength,
    semaphore: Semaphore.byteLength,
    event: SharedEvent.byteLength,
  },
  mutex: ({ mapping, offset, init }) => {
    const m = init ? Mutex.init(mapping, offset) : Mutex.attach(mapping, offset);
    return {
      lock: () => {
        m.lock(); // the guard it returns is not needed here
      },
      unlock: () => m.unlock(),
    };
  },
  semaphore: ({ mapping, offset, init }, initial) => {
    const s = init ? Semaphore.init(mapping, offset, initial) : Semaphore.attach(mapping, offset);
    return { post: () => s.post(), tryWait: () => s.tryWait() };
  },
  event: ({ mapping, offset, init }, { spin }) => {
    const e = init
      ? SharedEvent.init(mapping, offset, { mode: 'auto' })
      : SharedEvent.attach(mapping, offset);
    const options = { spin }; // allocated once, not per wait
    return {
      set: () => e.set(),
      wait: () => {
        e.wait(options);
      },
    };
  },
};
