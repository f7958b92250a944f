// Call overhead: the floor of a native call (shmkit's addon against a C
// addon compiled here), and the Atomics fast path a mutex builds on. All are
// micro cases: the runner interleaves their batches.
//
// Each case spells out its own timing loop on purpose: one shared loop
// helper would give V8 a single call site that sees every callee, turn it
// polymorphic, and charge the difference to whichever case runs later.
import { createRequire } from 'node:module';
import { mapAnonymous } from '@shmkit/core';
import { native } from '@shmkit/core/internal';
import { compileAddon } from '../c/cc.js';
import { NOOP_ADDON } from '../c/sources.js';
import type { BenchCase } from '../registry.js';

const require = createRequire(import.meta.url);

interface NoopAddon {
  noop(): undefined;
  noopArgs(): undefined;
}

function addon(): NoopAddon {
  return require(compileAddon(NOOP_ADDON)) as NoopAddon;
}

export const callCases: BenchCase[] = [
  {
    id: 'call.c-addon-noop',
    group: 'call',
    title: 'C Node-API addon noop (floor)',
    unit: 'ns',
    bound: 'floor',
    micro: (ctx) => {
      const noop = addon().noop;
      return {
        opsPerBatch: ctx.scale.opsPerBatch,
        batch: (n) => {
          for (let i = 0; i < n; i++) noop();
        },
      };
    },
  },
  {
    id: 'call.c-addon-noop-args',
    group: 'call',
    title: 'C addon noop + napi_get_cb_info(8 args) + napi_get_undefined',
    unit: 'ns',
    baseline: 'call.c-addon-noop',
    micro: (ctx) => {
      const noop = addon().noopArgs;
      return {
        opsPerBatch: ctx.scale.opsPerBatch,
        batch: (n) => {
          for (let i = 0; i < n; i++) noop();
        },
      };
    },
  },
  {
    id: 'call.shmkit-noop',
    group: 'call',
    title: 'shmkit Node-API noop (`native.noop()`)',
    unit: 'ns',
    baseline: 'call.c-addon-noop',
    micro: (ctx) => {
      const noop = native.noop;
      return {
        opsPerBatch: ctx.scale.opsPerBatch,
        batch: (n) => {
          for (let i = 0; i < n; i++) noop();
        },
      };
    },
  },
  {
    id: 'call.atomics-mapped',
    group: 'call',
    title: 'Atomics compareExchange + store on mapped memory',
    unit: 'ns',
    baseline: 'call.atomics-sab',
    micro: (ctx) => {
      const m = mapAnonymous(4096, { shared: true });
      const w = m.int32Array();
      return {
        opsPerBatch: ctx.scale.opsPerBatch,
        batch: (n) => {
          for (let i = 0; i < n; i++) {
            if (Atomics.compareExchange(w, 0, 0, 1) !== 0) throw new Error('word was not free');
            Atomics.store(w, 0, 0);
          }
        },
        dispose: () => m.close(),
      };
    },
  },
  {
    id: 'call.atomics-sab',
    group: 'call',
    title: 'Atomics compareExchange + store on a SharedArrayBuffer',
    unit: 'ns',
    micro: (ctx) => {
      const w = new Int32Array(new SharedArrayBuffer(64));
      return {
        opsPerBatch: ctx.scale.opsPerBatch,
        batch: (n) => {
          for (let i = 0; i < n; i++) {
            if (Atomics.compareExchange(w, 0, 0, 1) !== 0) throw new Error('word was not free');
            Atomics.store(w, 0, 0);
          }
        },
      };
    },
  },
];
