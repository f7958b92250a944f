// What a bench run writes: the JSON results of every run, and for a
// complete full run the committed report (docs/benchmarks.md) with its
// SVG charts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Machine } from '../machine.js';
import { GROUPS, type GroupId, type Row, type Scale } from '../registry.js';
import type { TargetResult } from '../targets.js';
import { renderMarkdown } from './markdown.js';
import { barChart } from './svg.js';

/** Everything one run measured, as the JSON results and the report hold it. */
export interface RunRecord {
  machine: Machine;
  scale: Scale;
  syncAdapter: string;
  durationMs: number;
  rows: Row[];
  targets: TargetResult[];
}

/** Writes bench-results/<name>.json and says where. */
export function writeResults(repoRoot: string, name: string, run: RunRecord): void {
  const resultsDir = join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, `${name}.json`);
  const { machine, scale, syncAdapter, durationMs, rows, targets } = run;
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ machine, scale, syncAdapter, durationMs, rows, targets }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${relative(process.cwd(), jsonPath)}\n`);
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

/** Groups whose rows measure different things (per wait, for all waits): one chart would mislead. */
const UNCHARTED: ReadonlySet<GroupId> = new Set(['pending']);

/** One SVG chart per group and unit, in docs/benchmarks/; their paths by group. */
function writeCharts(chartDir: string, rows: Row[]): Partial<Record<GroupId, string[]>> {
  mkdirSync(chartDir, { recursive: true });
  const charts: Partial<Record<GroupId, string[]>> = {};
  for (const group of Object.keys(GROUPS) as GroupId[]) {
    if (UNCHARTED.has(group)) continue;
    for (const unit of ['ns', 'GB/s'] as const) {
      const groupRows = rows.filter((r) => r.group === group && r.unit === unit);
      if (groupRows.length === 0) continue;
      const file = `${group}${unit === 'ns' ? '' : '-throughput'}.svg`;
      const title = unit === 'ns' ? GROUPS[group] : `${GROUPS[group]}: throughput`;
      writeFileSync(join(chartDir, file), barChart(title, groupRows, unit));
      (charts[group] ??= []).push(`benchmarks/${file}`);
    }
  }
  return charts;
}

/** Replaces docs/benchmarks.md and its charts with this run's. */
export async function writeReport(repoRoot: string, run: RunRecord): Promise<void> {
  const docs = join(repoRoot, 'docs');
  const charts = writeCharts(join(docs, 'benchmarks'), run.rows);
  const mdPath = join(docs, 'benchmarks.md');
  const md = renderMarkdown({ ...run, charts });
  writeFileSync(mdPath, await formatMarkdown(md, mdPath));
  process.stdout.write(`report: ${relative(process.cwd(), join(docs, 'benchmarks.md'))}\n`);
}
