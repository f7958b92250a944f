// 1, 2 and 4 processes incrementing a shared counter under one mutex for a
// fixed time: aggregate cost per locked increment, and fairness (the least
// busy process's share of the most busy one's).
import { nowNs, sleepSync } from '../harness.js';
import { reap, spawnPeer, waitForExit } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { slotBytes } from '../sync/adapter.js';
import { loadSyncAdapter } from '../sync/index.js';
import { pendingWithout, tag } from './sync-common.js';

const SIZE = 8192;
/** Byte offsets after the mutex slot: control words, the counter, per-process counts. */
const CTL = 4096;
const READY = CTL / 4;
const GO = READY + 16;
const STOP = GO + 16;
const COUNTER = (CTL + 256) / 8; // Float64 index, written only under the mutex
const COUNTS = (CTL + 512) / 8; // Float64 index, one per process

interface ContendArgs {
  path: string;
  index: number;
}

async function contend(ctx: Context, processes: number): Promise<Outcome> {
  if (slotBytes(ctx.sync.sizes.mutex) > CTL) throw new Error('mutex too large for the layout');
  const path = sharedPath('contention');
  const mapping = mapShared(path, SIZE, true);
  ctx.sync.mutex({ mapping, offset: 0, init: true });
  const words = new Int32Array(mapping.buffer);
  const f64 = new Float64Array(mapping.buffer);
  const children = Array.from({ length: processes }, (_, index) =>
    spawnPeer('contend', { path, index } satisfies ContendArgs, {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  try {
    const deadline = Date.now() + 30_000;
    while (Atomics.load(words, READY) < processes) {
      if (Date.now() > deadline) throw new Error('contention peers did not start');
      await new Promise((r) => setTimeout(r, 5));
    }
    const t0 = nowNs();
    Atomics.store(words, GO, 1);
    await new Promise((r) => setTimeout(r, ctx.scale.contentionMs));
    Atomics.store(words, STOP, 1);
    const codes = await Promise.all(children.map(waitForExit));
    const t = nowNs() - t0;
    if (codes.some((c) => c !== 0))
      throw new Error(`contention peers exited with ${codes.join(',')}`);
    const counts = Array.from({ length: processes }, (_, i) => f64[COUNTS + i] as number);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total !== f64[COUNTER])
      throw new Error(`lost updates: counter ${String(f64[COUNTER])}, increments ${total}`);
    const fairness = Math.min(...counts) / Math.max(...counts);
    return tag(ctx.sync, {
      kind: 'measured',
      value: t / total,
      samples: 1,
      note: `${(total / (t / 1e9) / 1e6).toFixed(2)} M increments/s, fairness min/max ${fairness.toFixed(2)}`,
      extra: { incrementsPerSecond: total / (t / 1e9), fairness, processes },
    });
  } finally {
    await reap(children);
    mapping.close();
    unlinkShared(path);
  }
}

function contentionCase(processes: number): BenchCase {
  return {
    id: `sync.contention-${processes}`,
    group: 'contention',
    title: `${processes} process${processes > 1 ? 'es' : ''}: lock, increment, unlock (ns per increment, all processes)`,
    unit: 'ns',
    ...(processes > 1 ? { baseline: 'sync.contention-1' } : {}),
    run: async (ctx) =>
      ctx.sync.parks
        ? contend(ctx, processes)
        : pendingWithout(ctx.sync, 'a contended mutex must park'),
  };
}

export const syncContentionCases: BenchCase[] = [
  contentionCase(1),
  contentionCase(2),
  contentionCase(4),
];

export const syncContentionPeers: Record<string, (args: unknown) => Promise<void>> = {
  contend: async (args) => {
    const { path, index } = args as ContendArgs;
    const mapping = mapShared(path, SIZE, false);
    const mutex = loadSyncAdapter().mutex({ mapping, offset: 0, init: false });
    const words = new Int32Array(mapping.buffer);
    const f64 = new Float64Array(mapping.buffer);
    Atomics.add(words, READY, 1);
    while (Atomics.load(words, GO) === 0) sleepSync(0.05);
    let mine = 0;
    while (Atomics.load(words, STOP) === 0) {
      mutex.lock();
      f64[COUNTER] = (f64[COUNTER] as number) + 1;
      mutex.unlock();
      mine++;
    }
    f64[COUNTS + index] = mine;
    mapping.close();
  },
};
