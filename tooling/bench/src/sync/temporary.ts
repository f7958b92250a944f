// A stand-in for @shmkit/sync while it is being written: plain JS Atomics on
// the mapped memory. It cannot park across processes (Atomics.wait is
// in-process only and refuses non-shared ArrayBuffers), so its waits spin
// and then poll with short sleeps. Rows that depend on parking are reported
// as pending when this adapter is in use; the rest are marked provisional.
import { sleepSync } from '../harness.js';
import type {
  BenchEvent,
  BenchMutex,
  BenchSemaphore,
  Placement,
  SyncAdapter,
  WaitTuning,
} from './adapter.js';

function word(at: Placement): { words: Int32Array; index: number } {
  if (at.offset % 4 !== 0) throw new RangeError(`offset ${at.offset} is not 4-byte aligned`);
  return { words: new Int32Array(at.mapping.buffer), index: at.offset / 4 };
}

/** Waits while `words[index]` passes `busy`, spinning `spin` times, then polling every ~20 µs. */
function await_(test: () => boolean, spin: number): void {
  for (let i = 0; i < spin; i++) if (test()) return;
  while (!test()) sleepSync(0.02);
}

const SPIN_LOCK = 1000;

export const temporaryAdapter: SyncAdapter = {
  name: 'temporary Atomics adapter',
  provisional: true,
  parks: false,
  sizes: { mutex: 4, semaphore: 4, event: 4 },

  mutex(at: Placement): BenchMutex {
    const { words, index } = word(at);
    if (at.init) Atomics.store(words, index, 0);
    return {
      lock() {
        if (Atomics.compareExchange(words, index, 0, 1) === 0) return;
        await_(() => Atomics.compareExchange(words, index, 0, 1) === 0, SPIN_LOCK);
      },
      unlock() {
        Atomics.store(words, index, 0);
      },
    };
  },

  semaphore(at: Placement, initial: number): BenchSemaphore {
    const { words, index } = word(at);
    if (at.init) Atomics.store(words, index, initial);
    return {
      post() {
        Atomics.add(words, index, 1);
      },
      tryWait() {
        for (;;) {
          const v = Atomics.load(words, index);
          if (v <= 0) return false;
          if (Atomics.compareExchange(words, index, v, v - 1) === v) return true;
        }
      },
    };
  },

  event(at: Placement, tuning: WaitTuning): BenchEvent {
    const { words, index } = word(at);
    if (at.init) Atomics.store(words, index, 0);
    return {
      set() {
        Atomics.store(words, index, 1);
      },
      wait() {
        await_(
          () =>
            Atomics.load(words, index) === 1 && Atomics.compareExchange(words, index, 1, 0) === 1,
          tuning.spin,
        );
      },
    };
  },
};
