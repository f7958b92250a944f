// Per-call cost of the uncontended sync fast paths, through the adapter
// (micro cases, interleaved with the call-overhead group).
import { mapAnonymous } from '@shmkit/core';
import type { BenchCase, Context, Micro } from '../registry.js';
import { slotBytes } from '../sync/adapter.js';

function micro(ctx: Context, batch: (n: number) => void, dispose: () => void): Micro {
  return {
    opsPerBatch: ctx.scale.opsPerBatch,
    batch,
    dispose,
    ...(ctx.sync.provisional
      ? { provisional: true, note: `${ctx.sync.name}, not @shmkit/sync` }
      : {}),
  };
}

export const syncCallCases: BenchCase[] = [
  {
    id: 'sync.mutex-uncontended',
    group: 'call',
    title: 'mutex lock + unlock, uncontended',
    unit: 'ns',
    baseline: 'call.atomics-mapped',
    micro: (ctx) => {
      const m = mapAnonymous(slotBytes(ctx.sync.sizes.mutex), { shared: true });
      const mutex = ctx.sync.mutex({ mapping: m, offset: 0, init: true });
      return micro(
        ctx,
        (n) => {
          for (let i = 0; i < n; i++) {
            mutex.lock();
            mutex.unlock();
          }
        },
        () => m.close(),
      );
    },
  },
  {
    id: 'sync.semaphore-post-trywait',
    group: 'call',
    title: 'semaphore post + tryWait',
    unit: 'ns',
    baseline: 'call.atomics-mapped',
    micro: (ctx) => {
      const m = mapAnonymous(slotBytes(ctx.sync.sizes.semaphore), { shared: true });
      const sem = ctx.sync.semaphore({ mapping: m, offset: 0, init: true }, 0);
      return micro(
        ctx,
        (n) => {
          for (let i = 0; i < n; i++) {
            sem.post();
            if (!sem.tryWait()) throw new Error('tryWait failed after post');
          }
        },
        () => m.close(),
      );
    },
  },
];
