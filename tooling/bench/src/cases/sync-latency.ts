// Round trips between two node processes through sync events placed in a
// shared file mapping: parked (blocking) and spin-then-park.
import type { Mapping } from '@shmkit/core';
import { nowNs } from '../harness.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { summarize } from '../stats.js';
import { slotBytes, type BenchEvent, type SyncAdapter } from '../sync/adapter.js';
import { loadSyncAdapter, type AdapterKind } from '../sync/index.js';
import { referenceAdapter } from '../sync/reference.js';
import { pendingWithout, tag } from './sync-common.js';

/** Spin iterations for the spin-then-park rows: enough to cover a sub-microsecond reply. */
export const SPIN = 5_000;

interface PingPongArgs {
  path: string;
  size: number;
  spin: number;
  trips: number;
  adapter: AdapterKind;
}

function events(
  sync: SyncAdapter,
  mapping: Mapping,
  init: boolean,
  spin: number,
): { ping: BenchEvent; pong: BenchEvent } {
  const slot = slotBytes(sync.sizes.event);
  return {
    ping: sync.event({ mapping, offset: 0, init }, { spin }),
    pong: sync.event({ mapping, offset: slot, init }, { spin }),
  };
}

/** Two node processes bounce two events; `kind` tells the peer which adapter `sync` is. */
async function pingPong(
  ctx: Context,
  sync: SyncAdapter,
  kind: AdapterKind,
  spin: number,
  samples: number,
  batch: number,
): Promise<Outcome> {
  const path = sharedPath('pingpong');
  const size = 4096;
  const mapping = mapShared(path, size, true);
  // A fresh node peer needs a few thousand round trips before its latency settles.
  const warmup = ctx.scale.smoke ? 20 : Math.max(Math.ceil(3_000 / batch), Math.floor(samples / 2));
  const { ping, pong } = events(sync, mapping, true, spin);
  const args: PingPongArgs = { path, size, spin, trips: (warmup + samples) * batch, adapter: kind };
  const child = spawnPeer('sync-pingpong', args);
  try {
    await waitForLine(child, /^ready$/);
    for (let i = 0; i < warmup * batch; i++) {
      ping.set();
      pong.wait();
    }
    const out = new Float64Array(samples);
    for (let i = 0; i < samples; i++) {
      const t0 = nowNs();
      for (let j = 0; j < batch; j++) {
        ping.set();
        pong.wait();
      }
      out[i] = (nowNs() - t0) / batch;
    }
    const code = await waitForExit(child);
    if (code !== 0) throw new Error(`ping-pong peer exited with ${String(code)}`);
    const s = summarize(out);
    return tag(sync, {
      kind: 'measured',
      value: s.median,
      p99: s.p99,
      samples: s.count,
      ...(batch > 1 ? { note: `each sample is the mean of ${batch} round trips` } : {}),
    });
  } finally {
    await reap([child]);
    mapping.close();
    unlinkShared(path);
  }
}

export const syncLatencyCases: BenchCase[] = [
  {
    id: 'rtt.node-c-futex',
    group: 'latency',
    interleave: true,
    title: 'node + minimal C futex addon (floor for blocking node round trips)',
    unit: 'ns',
    p99: true,
    bound: 'floor',
    run: async (ctx) => {
      const out = await pingPong(ctx, referenceAdapter, 'reference', 0, ctx.scale.roundTrips, 1);
      return out.kind === 'measured'
        ? {
            ...out,
            provisional: false,
            note: 'not shmkit: Atomics + the futex syscall from a 40-line C addon, node processes like the rows it frames',
          }
        : out;
    },
  },
  {
    id: 'sync.rtt-blocking',
    group: 'latency',
    interleave: true,
    title: 'shmkit blocking ping-pong (event, parks at once)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) =>
      ctx.sync.parks
        ? pingPong(ctx, ctx.sync, 'default', 0, ctx.scale.roundTrips, 1)
        : pendingWithout(ctx.sync, 'a blocking wait'),
  },
  {
    id: 'sync.rtt-spin',
    group: 'latency',
    interleave: true,
    title: `shmkit spin-then-park ping-pong (spin ${SPIN})`,
    unit: 'ns',
    p99: true,
    baseline: 'rtt.c-spin',
    run: async (ctx) =>
      pingPong(
        ctx,
        ctx.sync,
        'default',
        SPIN,
        Math.max(100, Math.floor(ctx.scale.roundTrips / 5)),
        100,
      ),
  },
];

export const syncLatencyPeers: Record<string, (args: unknown) => Promise<void>> = {
  'sync-pingpong': async (args) => {
    const { path, size, spin, trips, adapter } = args as PingPongArgs;
    const sync = loadSyncAdapter(adapter);
    const mapping = mapShared(path, size, false);
    const { ping, pong } = events(sync, mapping, false, spin);
    process.stdout.write('ready\n');
    for (let i = 0; i < trips; i++) {
      ping.wait();
      pong.set();
    }
    mapping.close();
  },
};
