// Timing loops shared by the case modules. Two shapes cover everything:
// batches of a cheap operation (ns per op, median over batches) and one
// sample per operation (latency distributions with a p99).
import { summarize, type Summary } from './stats.js';

/** Monotonic time in nanoseconds, as a float (exact below 2^53 ns, about 104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export interface BatchOptions {
  /** Operations per timed batch. */
  opsPerBatch: number;
  /** Timed batches; the median over them is the result. */
  batches: number;
  /** Untimed batches first, so the JIT and caches settle. */
  warmupBatches: number;
}

/**
 * Times `batch(n)` (which must perform n operations) and returns nanoseconds
 * per operation for each timed batch.
 */
export function timeBatches(batch: (n: number) => void, options: BatchOptions): Summary {
  for (let i = 0; i < options.warmupBatches; i++) batch(options.opsPerBatch);
  const samples: number[] = [];
  for (let i = 0; i < options.batches; i++) {
    const t0 = nowNs();
    batch(options.opsPerBatch);
    samples.push((nowNs() - t0) / options.opsPerBatch);
  }
  return summarize(samples);
}

/** Like {@link timeBatches} for operations that complete asynchronously. */
export async function timeBatchesAsync(
  batch: (n: number) => Promise<void>,
  options: BatchOptions,
): Promise<Summary> {
  for (let i = 0; i < options.warmupBatches; i++) await batch(options.opsPerBatch);
  const samples: number[] = [];
  for (let i = 0; i < options.batches; i++) {
    const t0 = nowNs();
    await batch(options.opsPerBatch);
    samples.push((nowNs() - t0) / options.opsPerBatch);
  }
  return summarize(samples);
}

/** Times each of `count` calls of `op` after `warmup` untimed calls (ns). */
export async function timeEach(
  op: () => Promise<void> | void,
  count: number,
  warmup: number,
): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await op();
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = nowNs();
    await op();
    samples[i] = nowNs() - t0;
  }
  return summarize(samples);
}

/** Runs `once()` `repeats` times after `warmup` untimed runs; returns the samples (ns). */
export async function timeRuns(
  once: () => Promise<void> | void,
  repeats: number,
  warmup: number,
): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = nowNs();
    await once();
    samples.push(nowNs() - t0);
  }
  return summarize(samples);
}

/** Blocks the calling thread for about `ms` milliseconds without spinning. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
const sleeper = new Int32Array(new SharedArrayBuffer(4));
