// Call overhead: the floor of a native call (shmkit's addon against a C
// addon compiled here), and the Atomics fast path a mutex builds on.
import { createRequire } from 'node:module';
import { mapAnonymous } from '@shmkit/core';
import { native } from '@shmkit/core/internal';
import { compileAddon } from '../c/cc.js';
import { NOOP_ADDON } from '../c/sources.js';
import { timeBatches, type BatchOptions } from '../harness.js';
import type { BenchCase, Context, Outcome } from '../registry.js';

const require = createRequire(import.meta.url);

function batchOptions(ctx: Context): BatchOptions {
  return { opsPerBatch: ctx.scale.opsPerBatch, batches: ctx.scale.batches, warmupBatches: 3 };
}

function measured(ctx: Context, batch: (n: number) => void): Outcome {
  const s = timeBatches(batch, batchOptions(ctx));
  return { kind: 'measured', value: s.median, samples: s.count };
}

export const callCases: BenchCase[] = [
  {
    id: 'call.c-addon-noop',
    group: 'call',
    title: 'C Node-API addon noop (floor)',
    unit: 'ns',
    run: async (ctx) => {
      const addon = require(compileAddon(NOOP_ADDON)) as { noop(): undefined };
      const noop = addon.noop;
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) noop();
      });
    },
  },
  {
    id: 'call.c-addon-noop-args',
    group: 'call',
    title: 'C addon noop + napi_get_cb_info(8 args) + napi_get_undefined',
    unit: 'ns',
    baseline: 'call.c-addon-noop',
    run: async (ctx) => {
      const addon = require(compileAddon(NOOP_ADDON)) as { noopArgs(): undefined };
      const noop = addon.noopArgs;
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) noop();
      });
    },
  },
  {
    id: 'call.shmkit-noop',
    group: 'call',
    title: 'shmkit Node-API noop (`native.noop()`)',
    unit: 'ns',
    baseline: 'call.c-addon-noop',
    run: async (ctx) => {
      const noop = native.noop;
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) noop();
      });
    },
  },
  {
    id: 'call.atomics-mapped',
    group: 'call',
    title: 'Atomics compareExchange + store on mapped memory',
    unit: 'ns',
    baseline: 'call.atomics-sab',
    run: async (ctx) => {
      using m = mapAnonymous(4096, { shared: true });
      const w = m.int32Array();
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) {
          if (Atomics.compareExchange(w, 0, 0, 1) !== 0) throw new Error('word was not free');
          Atomics.store(w, 0, 0);
        }
      });
    },
  },
  {
    id: 'call.atomics-sab',
    group: 'call',
    title: 'Atomics compareExchange + store on a SharedArrayBuffer',
    unit: 'ns',
    run: async (ctx) => {
      const w = new Int32Array(new SharedArrayBuffer(64));
      return measured(ctx, (n) => {
        for (let i = 0; i < n; i++) {
          if (Atomics.compareExchange(w, 0, 0, 1) !== 0) throw new Error('word was not free');
          Atomics.store(w, 0, 0);
        }
      });
    },
  },
];
