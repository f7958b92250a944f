// Per-call cost of the uncontended sync fast paths, through the adapter.
import { mapAnonymous } from '@shmkit/core';
import { timeBatches } from '../harness.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { slotBytes } from '../sync/adapter.js';
import { tag } from './sync-common.js';

function measured(ctx: Context, batch: (n: number) => void): Outcome {
  const s = timeBatches(batch, { opsPerBatch: ctx.scale.opsPerBatch, batches: ctx.scale.batches, warmupBatches: 3 });
  return tag(ctx.sync, { kind: 'measured', value: s.median, samples: s.count });
}

export const syncCallCases: BenchCase[] = [
  {
    id: 'sync.mutex-uncontended',
    group: 'call',
    title: 'mutex lock + unlock, uncontended',
    unit: 'ns',
    baseline: 'call.atomics-mapped',
    run: async (ctx) => {
      using m = mapAnonymous(slotBytes(ctx.sync.sizes.mutex), { shared: true });
      const mutex = ctx.sync.mutex({ mapping: m, offset: 0, init: true });
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) {
          mutex.lock();
          mutex.unlock();
        }
      });
    },
  },
  {
    id: 'sync.semaphore-post-trywait',
    group: 'call',
    title: 'semaphore post + tryWait',
    unit: 'ns',
    baseline: 'call.atomics-mapped',
    run: async (ctx) => {
      using m = mapAnonymous(slotBytes(ctx.sync.sizes.semaphore), { shared: true });
      const sem = ctx.sync.semaphore({ mapping: m, offset: 0, init: true }, 0);
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) {
          sem.post();
          if (!sem.tryWait()) throw new Error('tryWait failed after post');
        }
      });
    },
  },
];
