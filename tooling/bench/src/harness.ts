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

/** Round trips per sample of {@link timeSpinningTrips}. */
export const SPIN_TRIPS_PER_SAMPLE = 100;
/**
 * How long spinning round trips run untimed first. A spinning round trip
 * costs about a microsecond, so a count-based warm-up of a few thousand
 * ends before V8 has optimised the loops of both processes: they take tens
 * of thousands of calls, and the timed trips would then measure the tiers
 * on the way.
 */
const SPIN_WARMUP_MS = 300;
/** Timed batches per pass: 10,000 round trips, some 10-30 ms. */
const SPIN_SAMPLES = 100;

/**
 * Spinning round trips between two processes (each `trip()` one): warmed
 * up for SPIN_WARMUP_MS, then timed in batches, since a clock read costs
 * about as much as a round trip. Each sample is the mean of a batch.
 */
export function timeSpinningTrips(trip: () => void, smoke: boolean): Summary {
  const until = nowNs() + (smoke ? 0 : SPIN_WARMUP_MS * 1e6);
  do for (let i = 0; i < SPIN_TRIPS_PER_SAMPLE; i++) trip();
  while (nowNs() < until);
  return timeBatches(
    (n) => {
      for (let j = 0; j < n; j++) trip();
    },
    { opsPerBatch: SPIN_TRIPS_PER_SAMPLE, batches: smoke ? 20 : SPIN_SAMPLES, warmupBatches: 0 },
  );
}
