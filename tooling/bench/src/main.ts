// `pnpm bench` entry point: runs the registered cases, prints a table,
// writes JSON results and (full, unfiltered runs) docs/benchmarks.md with
// SVG charts.
//
//   node dist/main.js [--smoke] [--filter a,b] [--list] [--no-report]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cases } from './cases/index.js';
import { formatNs, formatRatio, formatValue } from './format.js';
import { describeMachine } from './machine.js';
import { renderMarkdown } from './report/markdown.js';
import { barChart } from './report/svg.js';
import {
  FULL,
  GROUPS,
  SMOKE,
  type BenchCase,
  type Context,
  type GroupId,
  type Outcome,
  type Row,
} from './registry.js';
import { loadSyncAdapter } from './sync/index.js';
import { judgeTargets } from './targets.js';
import { runInterleaved, runMicroGroup } from './micro.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const { values: opts } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    filter: { type: 'string' },
    list: { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    passes: { type: 'string' },
  },
  allowPositionals: false,
});

/** The selected cases plus the baselines they are compared to, in registry order. */
function select(filter: string | undefined): BenchCase[] {
  if (filter === undefined || filter === '') return cases;
  const words = filter
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const chosen = new Set(cases.filter((c) => words.some((w) => c.id.includes(w))).map((c) => c.id));
  for (const c of cases) if (chosen.has(c.id) && c.baseline !== undefined) chosen.add(c.baseline);
  return cases.filter((c) => chosen.has(c.id));
}

function printTable(rows: Row[]): void {
  const lines: string[][] = [['case', 'median', 'p99', 'ratio', 'vs', 'note']];
  for (const r of rows) {
    lines.push([
      r.id,
      r.status === 'pending'
        ? 'pending'
        : r.status === 'failed'
          ? 'FAILED'
          : formatValue(r.value, r.unit),
      r.p99 === undefined ? '' : formatNs(r.p99),
      formatRatio(r.ratio),
      r.baseline ?? '',
      (r.status === 'provisional' ? '[provisional] ' : '') + (r.note ?? ''),
    ]);
  }
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  for (const l of lines) {
    const text = l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
    process.stdout.write(`${text.length > 200 ? `${text.slice(0, 197)}...` : text}\n`);
  }
}

/** Formats the report the way the repo's prettier config would, so `format:check` stays clean. */
async function formatMarkdown(md: string, path: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(path)) ?? {};
    return await prettier.format(md, { ...config, parser: 'markdown', filepath: path });
  } catch {
    return md; // prettier missing: the report is still valid Markdown
  }
}

async function main(): Promise<void> {
  const selected = select(opts.filter);
  if (opts.list) {
    for (const c of cases) process.stdout.write(`${c.id.padEnd(30)} ${c.title}\n`);
    return;
  }
  if (selected.length === 0)
    throw new Error(`--filter ${String(opts.filter)} matches no case (see --list)`);
  const base = opts.smoke ? SMOKE : FULL;
  const scale =
    opts.passes === undefined
      ? base
      : { ...base, passes: Math.max(1, Number.parseInt(opts.passes, 10) || 1) };
  const machine = describeMachine();
  const sync = loadSyncAdapter();
  const tmpDir = mkdtempSync(join(tmpdir(), 'shmkit-bench-'));
  const cleanup = (): void => rmSync(tmpDir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const ctx: Context = { scale, tmpDir, sync, log: (m) => process.stderr.write(`  ${m}\n`) };
  process.stderr.write(
    `shmkit bench (${opts.smoke ? 'smoke' : 'full'}): ${selected.length} cases, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, sync: ${sync.name}\n`,
  );
  const started = Date.now();
  const rows: Row[] = [];
  const microResults = new Map<string, Outcome | Error>();
  try {
    for (const c of selected) {
      const t0 = Date.now();
      const row: Row = { id: c.id, group: c.group, title: c.title, unit: c.unit, status: 'failed' };
      if (c.baseline !== undefined) row.baseline = c.baseline;
      try {
        let out: Outcome;
        if (c.micro !== undefined) {
          if (!microResults.has(c.id)) {
            const group = selected.filter((x) => x.group === c.group && x.micro !== undefined);
            for (const [id, r] of runMicroGroup(group, ctx)) microResults.set(id, r);
          }
          const r = microResults.get(c.id);
          if (r === undefined || r instanceof Error) throw r ?? new Error('micro case did not run');
          out = r;
        } else if (c.interleave === true) {
          if (!microResults.has(c.id)) {
            const group = selected.filter((x) => x.group === c.group && x.interleave === true);
            for (const [id, r] of await runInterleaved(group, ctx)) microResults.set(id, r);
          }
          const r = microResults.get(c.id);
          if (r === undefined || r instanceof Error)
            throw r ?? new Error('interleaved case did not run');
          out = r;
        } else if (c.run !== undefined) {
          out = await c.run(ctx);
        } else {
          throw new Error('case has neither run nor micro');
        }
        if (out.kind === 'pending') {
          row.status = 'pending';
          row.note = out.reason;
        } else {
          row.status = out.provisional === true ? 'provisional' : 'measured';
          row.value = out.value;
          if (c.p99 === true && out.p99 !== undefined) row.p99 = out.p99;
          row.samples = out.samples;
          if (out.note !== undefined) row.note = out.note;
          if (out.extra !== undefined) row.extra = out.extra;
        }
      } catch (error) {
        row.note = error instanceof Error ? error.message : String(error);
      }
      rows.push(row);
      const shown = row.value === undefined ? row.status : formatValue(row.value, row.unit);
      process.stderr.write(
        `  ${c.id.padEnd(30)} ${shown.padStart(12)}  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
    }
  } finally {
    cleanup();
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of rows) {
    const base = r.baseline === undefined ? undefined : byId.get(r.baseline);
    if (r.value !== undefined && base?.value !== undefined) r.ratio = r.value / base.value;
  }
  const targets = judgeTargets(byId);
  const durationMs = Date.now() - started;

  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write('\nTargets:\n');
  for (const t of targets) {
    process.stdout.write(
      `  ${t.status.padEnd(12)} ${t.target}${t.ratio === undefined ? '' : `: ${formatRatio(t.ratio)}`} ${t.measured}\n`,
    );
  }
  process.stdout.write(`\n${rows.length} cases in ${(durationMs / 1000).toFixed(1)} s\n`);

  const resultsDir = join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(
    resultsDir,
    opts.smoke ? 'smoke.json' : opts.filter === undefined ? 'latest.json' : 'filtered.json',
  );
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ machine, scale, syncAdapter: sync.name, durationMs, rows, targets }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${relative(process.cwd(), jsonPath)}\n`);

  // Only a complete full run may replace the committed report.
  const complete = opts.filter === undefined && !opts.smoke && !opts['no-report'];
  if (complete) {
    const docs = join(repoRoot, 'docs');
    const chartDir = join(docs, 'benchmarks');
    mkdirSync(chartDir, { recursive: true });
    const charts: Partial<Record<GroupId, string[]>> = {};
    for (const group of Object.keys(GROUPS) as GroupId[]) {
      for (const unit of ['ns', 'GB/s'] as const) {
        const groupRows = rows.filter((r) => r.group === group && r.unit === unit);
        if (groupRows.length === 0) continue;
        const file = `${group}${unit === 'ns' ? '' : '-throughput'}.svg`;
        const title = unit === 'ns' ? GROUPS[group] : `${GROUPS[group]}: throughput`;
        writeFileSync(join(chartDir, file), barChart(title, groupRows, unit));
        (charts[group] ??= []).push(`benchmarks/${file}`);
      }
    }
    const mdPath = join(docs, 'benchmarks.md');
    const md = renderMarkdown({
      machine,
      scale,
      rows,
      targets,
      syncAdapter: sync.name,
      charts,
      durationMs,
    });
    writeFileSync(mdPath, await formatMarkdown(md, mdPath));
    process.stdout.write(`report: ${relative(process.cwd(), join(docs, 'benchmarks.md'))}\n`);
  }
  if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
