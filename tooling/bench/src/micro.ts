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

/**
 * Runs `group` (cases with `run`) in `ctx.scale.passes` passes, round-robin
 * from a rotating start, each pass with its share of the round trips. A row's
 * value and p99 are the medians over its passes.
 */
export async function runInterleaved(
  group: BenchCase[],
  ctx: Context,
): Promise<Map<string, Outcome | Error>> {
  const passes = Math.max(1, ctx.scale.passes);
  const passCtx: Context = {
    ...ctx,
    scale: { ...ctx.scale, roundTrips: Math.max(1, Math.ceil(ctx.scale.roundTrips / passes)) },
  };
  const outcomes = new Map<string, Outcome[]>();
  const results = new Map<string, Outcome | Error>();
  for (let pass = 0; pass < passes; pass++) {
    for (let k = 0; k < group.length; k++) {
      const c = group[(pass + k) % group.length];
      if (c?.run === undefined || results.has(c.id)) continue;
      try {
        const out = await c.run(passCtx);
        if (out.kind === 'pending') results.set(c.id, out);
        else outcomes.set(c.id, [...(outcomes.get(c.id) ?? []), out]);
      } catch (error) {
        results.set(c.id, error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
  for (const [id, outs] of outcomes) {
    if (results.has(id)) continue;
    const first = outs[0];
    if (first === undefined || first.kind !== 'measured') continue;
    const measured = outs.filter(
      (o): o is Extract<Outcome, { kind: 'measured' }> => o.kind === 'measured',
    );
    const p99s = measured.map((o) => o.p99).filter((p): p is number => p !== undefined);
    const extra = medianExtras(measured.map((o) => o.extra));
    results.set(id, {
      ...first,
      value: summarize(measured.map((o) => o.value)).median,
      ...(p99s.length > 0 ? { p99: summarize(p99s).median } : {}),
      ...(extra === undefined ? {} : { extra }),
      samples: measured.reduce((n, o) => n + o.samples, 0),
      provisional: measured.some((o) => o.provisional === true),
    });
  }
  return results;
}

/** Each extra figure's median over the passes that reported it. */
function medianExtras(
  extras: (Record<string, number> | undefined)[],
): Record<string, number> | undefined {
  const keys = new Set(extras.flatMap((e) => (e === undefined ? [] : Object.keys(e))));
  if (keys.size === 0) return undefined;
  const out: Record<string, number> = {};
  for (const key of keys) {
    const values = extras.map((e) => e?.[key]).filter((v): v is number => v !== undefined);
    out[key] = summarize(values).median;
  }
  return out;
}
