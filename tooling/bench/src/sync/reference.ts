// A reference SyncAdapter: JS Atomics on the fast paths and a minimal C
// futex addon (compiled by the bench) to park. It is NOT @shmkit/sync; it
// shows what a straightforward native futex from Node costs, so the
// @shmkit/sync rows have a same-run reference, and it exercises the
// blocking cases before the real library is plugged in.
import { createRequire } from 'node:module';
import { compileAddon } from '../c/cc.js';
import { FUTEX_ADDON } from '../c/sources.js';
import type {
  BenchEvent,
  BenchMutex,
  BenchSemaphore,
  Placement,
  SyncAdapter,
  WaitTuning,
} from './adapter.js';

interface FutexAddon {
  futexWait(words: Int32Array, index: number, expected: number): number;
  futexWake(words: Int32Array, index: number, count: number): number;
}

let addon: FutexAddon | undefined;
function futex(): FutexAddon {
  addon ??= createRequire(import.meta.url)(compileAddon(FUTEX_ADDON)) as FutexAddon;
  return addon;
}

function word(at: Placement): { words: Int32Array; index: number } {
  if (at.offset % 4 !== 0) throw new RangeError(`offset ${at.offset} is not 4-byte aligned`);
  return { words: new Int32Array(at.mapping.buffer), index: at.offset / 4 };
}

const SPIN_LOCK = 100;

export const referenceAdapter: SyncAdapter = {
  name: 'reference adapter (Atomics + a minimal C futex addon)',
  provisional: true,
  parks: true,
  sizes: { mutex: 4, semaphore: 4, event: 4 },

  // The classic three-state futex mutex: 0 free, 1 locked, 2 locked with waiters.
  mutex(at: Placement): BenchMutex {
    const { words, index } = word(at);
    const f = futex();
    if (at.init) Atomics.store(words, index, 0);
    return {
      lock() {
        let c = Atomics.compareExchange(words, index, 0, 1);
        if (c === 0) return;
        for (let i = 0; i < SPIN_LOCK && c !== 0; i++)
          c = Atomics.compareExchange(words, index, 0, 1);
        if (c === 0) return;
        if (c !== 2) c = Atomics.exchange(words, index, 2);
        while (c !== 0) {
          f.futexWait(words, index, 2);
          c = Atomics.exchange(words, index, 2);
        }
      },
      unlock() {
        if (Atomics.sub(words, index, 1) !== 1) {
          Atomics.store(words, index, 0);
          f.futexWake(words, index, 1);
        }
      },
    };
  },

  semaphore(at: Placement, initial: number): BenchSemaphore {
    const { words, index } = word(at);
    if (at.init) Atomics.store(words, index, initial);
    return {
      post() {
        Atomics.add(words, index, 1); // tryWait never parks, so there is nobody to wake
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

  // Auto-reset event for one waiter: 0 unset, 1 set, 2 unset with a parked waiter.
  event(at: Placement, tuning: WaitTuning): BenchEvent {
    const { words, index } = word(at);
    const f = futex();
    if (at.init) Atomics.store(words, index, 0);
    return {
      set() {
        if (Atomics.exchange(words, index, 1) === 2) f.futexWake(words, index, 1);
      },
      wait() {
        // Spin on plain loads (no cache-line ping-pong), claim with one CAS.
        for (let i = 0; i < tuning.spin; i++) {
          if (Atomics.load(words, index) === 1 && Atomics.compareExchange(words, index, 1, 0) === 1)
            return;
        }
        for (;;) {
          if (Atomics.compareExchange(words, index, 1, 0) === 1) return;
          Atomics.compareExchange(words, index, 0, 2);
          f.futexWait(words, index, 2);
        }
      },
    };
  },
};
