// Runs a group's micro cases interleaved: after a warm-up, round r times one
// batch of every case (starting at a rotating position), so slow phases of a
// shared machine spread over all of them instead of landing on one.
import { nowNs } from './harness.js';
import type { BenchCase, Context, Micro, Outcome } from './registry.js';
import { summarize } from './stats.js';

const WARMUP_BATCHES = 3;

export function runMicroGroup(group: BenchCase[], ctx: Context): Map<string, Outcome | Error> {
  const results = new Map<string, Outcome | Error>();
  const live: { c: BenchCase; m: Micro; samples: number[] }[] = [];
  try {
    for (const c of group) {
      try {
        const m = c.micro?.(ctx);
        if (m === undefined) continue;
        for (let i = 0; i < WARMUP_BATCHES; i++) m.batch(m.opsPerBatch);
        live.push({ c, m, samples: [] });
      } catch (error) {
        results.set(c.id, error instanceof Error ? error : new Error(String(error)));
      }
    }
    for (let round = 0; round < ctx.scale.batches; round++) {
      for (let k = 0; k < live.length; k++) {
        const entry = live[(round + k) % live.length];
        if (entry === undefined || results.has(entry.c.id)) continue;
        try {
          const t0 = nowNs();
          entry.m.batch(entry.m.opsPerBatch);
          entry.samples.push((nowNs() - t0) / entry.m.opsPerBatch);
        } catch (error) {
          results.set(entry.c.id, error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
    for (const { c, m, samples } of live) {
      if (results.has(c.id)) continue;
      const s = summarize(samples);
      results.set(c.id, {
        kind: 'measured',
        value: s.median,
        samples: s.count,
        ...(m.provisional === true ? { provisional: true } : {}),
        ...(m.note === undefined ? {} : { note: m.note }),
      });
    }
  } finally {
    for (const { m } of live) m.dispose?.();
  }
  return results;
}
