// Bulk transfer through shared memory: a ring of SLOTS chunks in a shared
// file mapping, two sync events (data ready / space free) and head/tail
// counters. The producer copies each chunk in; the consumer checksums it in
// place (zero copy) and frees the slot.
import type { Mapping } from '@shmkit/core';
import { sampleSum } from '../checksum.js';
import { nowNs, sleepSync } from '../harness.js';
import { CHUNK, expectedSum, makePatterns, SLOTS } from '../patterns.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { summarize } from '../stats.js';
import { slotBytes, type BenchEvent, type SyncAdapter } from '../sync/adapter.js';
import { loadSyncAdapter } from '../sync/index.js';
import { tag } from './sync-common.js';

/** Spin before parking: a chunk takes ~100 µs to copy, so most waits end while spinning. */
const RING_SPIN = Number(process.env.RING_SPIN ?? 2_000);
const HEADER = 4096;
/** Bytes of the ring's shared file: the header, then the slots. */
export const RING_BYTES = HEADER + SLOTS * CHUNK;
const SIZE = RING_BYTES;

interface Ring {
  data: BenchEvent;
  space: BenchEvent;
  /** Int32 words of the header: [HEAD] chunks produced, [TAIL] chunks consumed, [GO] start flag. */
  ctl: Int32Array;
  slot(k: number): Int32Array;
}
const HEAD = 256 / 4;
const TAIL = 512 / 4;
const GO = 768 / 4;

function ring(sync: SyncAdapter, mapping: Mapping, init: boolean): Ring {
  const e = slotBytes(sync.sizes.event);
  if (2 * e > 1024) throw new Error('events too large for the ring header');
  const ctl = new Int32Array(mapping.buffer, 0, HEADER / 4);
  return {
    data: sync.event({ mapping, offset: 1024, init }, { spin: RING_SPIN }),
    space: sync.event({ mapping, offset: 1024 + e, init }, { spin: RING_SPIN }),
    ctl,
    slot: (k) => new Int32Array(mapping.buffer, HEADER + (k % SLOTS) * CHUNK, CHUNK / 4),
  };
}

async function transfer(ctx: Context, total: number, expected: number): Promise<number> {
  const path = sharedPath('ring');
  const mapping = mapShared(path, SIZE, true);
  const r = ring(ctx.sync, mapping, true);
  const child = spawnPeer('ring-produce', { path, total });
  try {
    await waitForLine(child, /^ready$/);
    const slots = Array.from({ length: SLOTS }, (_, k) => r.slot(k));
    const chunks = total / CHUNK;
    let sum = 0;
    const t0 = nowNs();
    Atomics.store(r.ctl, GO, 1);
    for (let k = 0; k < chunks; k++) {
      while (Atomics.load(r.ctl, HEAD) <= k) r.data.wait();
      sum = (sum + sampleSum(slots[k % SLOTS] as Int32Array)) | 0;
      Atomics.store(r.ctl, TAIL, k + 1);
      r.space.set();
    }
    const t = nowNs() - t0;
    if (sum !== expected) throw new Error(`ring checksum ${sum}, expected ${expected}`);
    const code = await waitForExit(child);
    if (code !== 0) throw new Error(`ring producer exited with ${String(code)}`);
    return total / t;
  } finally {
    await reap([child]);
    mapping.close();
    unlinkShared(path);
  }
}

export const syncBulkCases: BenchCase[] = [
  {
    id: 'sync.bulk-ring',
    group: 'bulk',
    title: `shared-memory ring (${SLOTS} x 1 MiB) + sync events, checksummed`,
    unit: 'GB/s',
    baseline: 'bulk.copy-alone',
    interleave: true,
    run: async (ctx): Promise<Outcome> => {
      const total = ctx.scale.bulkBytes;
      const expected = expectedSum(makePatterns(), total);
      const rates: number[] = [];
      for (let rep = 0; rep < ctx.scale.bulkRepeats + 1; rep++) {
        const rate = await transfer(ctx, total, expected);
        if (rep > 0) rates.push(rate);
      }
      const s = summarize(rates);
      return tag(ctx.sync, { kind: 'measured', value: s.median, samples: s.count });
    },
  },
];

/** Where the producer copies to: the ring's slots as bytes. */
function producerSlots(mapping: Mapping): Uint8Array[] {
  return Array.from(
    { length: SLOTS },
    (_, k) => new Uint8Array(mapping.buffer, HEADER + k * CHUNK, CHUNK),
  );
}

/** Args of the ring's producer and of the copy-alone ceiling. */
export interface ProducerArgs {
  path: string;
  total: number;
}

export const syncBulkPeers: Record<string, (args: unknown) => Promise<void>> = {
  'ring-produce': async (args) => {
    const { path, total } = args as ProducerArgs;
    const patterns = makePatterns();
    const mapping = mapShared(path, SIZE, false);
    const r = ring(loadSyncAdapter(), mapping, false);
    const bytes = producerSlots(mapping);
    process.stdout.write('ready\n');
    while (Atomics.load(r.ctl, GO) === 0) sleepSync(0.05);
    const chunks = total / CHUNK;
    for (let k = 0; k < chunks; k++) {
      while (k - Atomics.load(r.ctl, TAIL) >= SLOTS) r.space.wait();
      (bytes[k % SLOTS] as Uint8Array).set(patterns[k % patterns.length] as Buffer);
      Atomics.store(r.ctl, HEAD, k + 1);
      r.data.set();
    }
    mapping.close();
  },
  // The ceiling of the ring: the producer's copies, the same chunks into
  // the same slots of the same kind of mapping, with nobody to wait for.
  'ring-copy-alone': async (args) => {
    const { path, total } = args as ProducerArgs;
    const patterns = makePatterns();
    const mapping = mapShared(path, SIZE, false);
    const bytes = producerSlots(mapping);
    const chunks = total / CHUNK;
    const t0 = nowNs();
    for (let k = 0; k < chunks; k++)
      (bytes[k % SLOTS] as Uint8Array).set(patterns[k % patterns.length] as Buffer);
    const ns = nowNs() - t0;
    process.stdout.write(`${JSON.stringify({ ns })}\n`);
    mapping.close();
  },
};
