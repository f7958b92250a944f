// Runs the selected cases one after another and turns each outcome into a
// row of the report. Micro cases of one group are measured together (and
// interleaved cases of one group alternate), so their first row runs the
// whole group and the others read its results.
import { beatsBound, boundWarning } from './bounds.js';
import { formatValue } from './format.js';
import { runInterleaved, runMicroGroup } from './micro.js';
import type { BenchCase, Context, GroupId, Outcome, Row } from './registry.js';

/** The selected cases plus the baselines they are compared to, in registry order. */
export function select(all: BenchCase[], filter: string | undefined): BenchCase[] {
  if (filter === undefined || filter === '') return all;
  const words = filter
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const chosen = new Set(all.filter((c) => words.some((w) => c.id.includes(w))).map((c) => c.id));
  for (const c of all) if (chosen.has(c.id) && c.baseline !== undefined) chosen.add(c.baseline);
  return all.filter((c) => chosen.has(c.id));
}

/** The group whose interleaved passes case `c` joins, if it is interleaved. */
function interleaveSet(c: BenchCase): GroupId | undefined {
  if (c.interleave === undefined || c.interleave === false) return undefined;
  return c.interleave === true ? c.group : c.interleave;
}

/** Results of the cases measured as a group, by case id. */
type GroupResults = Map<string, Outcome | Error>;

/** The outcome of case `c`, measuring its whole group first where it has one. */
async function outcomeOf(
  c: BenchCase,
  selected: BenchCase[],
  ctx: Context,
  grouped: GroupResults,
): Promise<Outcome> {
  if (c.micro !== undefined || interleaveSet(c) !== undefined) {
    if (!grouped.has(c.id)) {
      const together = (x: BenchCase) =>
        c.micro !== undefined
          ? x.micro !== undefined && x.group === c.group
          : interleaveSet(x) === interleaveSet(c);
      const group = selected.filter(together);
      const results =
        c.micro !== undefined ? runMicroGroup(group, ctx) : await runInterleaved(group, ctx);
      for (const [id, r] of results) grouped.set(id, r);
    }
    const r = grouped.get(c.id);
    const kind = c.micro !== undefined ? 'micro' : 'interleaved';
    if (r === undefined || r instanceof Error) throw r ?? new Error(`${kind} case did not run`);
    return r;
  }
  if (c.run !== undefined) return c.run(ctx);
  throw new Error('case has neither run nor micro');
}

/** A row for case `c`: its measurement, why it is pending, or why it failed. */
function rowOf(c: BenchCase, outcome: Outcome | Error): Row {
  const row: Row = { id: c.id, group: c.group, title: c.title, unit: c.unit, status: 'failed' };
  if (c.baseline !== undefined) row.baseline = c.baseline;
  if (c.bound !== undefined) row.bound = c.bound;
  if (outcome instanceof Error) {
    row.note = outcome.message;
  } else if (outcome.kind === 'pending') {
    row.status = 'pending';
    row.note = outcome.reason;
  } else {
    row.status = outcome.provisional === true ? 'provisional' : 'measured';
    row.value = outcome.value;
    if (c.p99 === true && outcome.p99 !== undefined) row.p99 = outcome.p99;
    row.samples = outcome.samples;
    if (outcome.note !== undefined) row.note = outcome.note;
    if (outcome.extra !== undefined) {
      row.extra = outcome.extra;
      const words = c.describe?.(outcome.extra);
      if (words !== undefined) row.note = row.note === undefined ? words : `${row.note}; ${words}`;
    }
  }
  return row;
}

/** Runs every selected case, logging each as it finishes, and returns their rows. */
export async function runCases(selected: BenchCase[], ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const grouped: GroupResults = new Map();
  for (const c of selected) {
    const t0 = Date.now();
    let outcome: Outcome | Error;
    try {
      outcome = await outcomeOf(c, selected, ctx, grouped);
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error));
    }
    const row = rowOf(c, outcome);
    rows.push(row);
    const shown = row.value === undefined ? row.status : formatValue(row.value, row.unit);
    process.stderr.write(
      `  ${c.id.padEnd(30)} ${shown.padStart(12)}  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
    );
  }
  return rows;
}

/**
 * Sets each row's ratio to its baseline, where both were measured. A row
 * that beats its floor or ceiling gets a note saying the bound is wrong.
 */
export function addRatios(rows: Row[]): Map<string, Row> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of rows) {
    const base = r.baseline === undefined ? undefined : byId.get(r.baseline);
    if (r.value === undefined || base?.value === undefined) continue;
    r.ratio = r.value / base.value;
    if (base.bound !== undefined && beatsBound(base.bound, r.ratio)) {
      const warning = boundWarning(base.bound, r.ratio);
      r.note = r.note === undefined ? warning : `${warning}; ${r.note}`;
    }
  }
  return byId;
}
