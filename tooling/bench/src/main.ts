// `pnpm bench` entry point: runs the registered cases, prints a table,
// writes JSON results and (full, unfiltered runs) docs/benchmarks.md with
// SVG charts.
//
//   node dist/main.js [--smoke] [--filter a,b] [--list] [--no-report] [--passes N] [--help]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cases } from './cases/index.js';
import { describeMachine } from './machine.js';
import { FULL, SMOKE, type Scale } from './registry.js';
import { printSummary } from './report/console.js';
import { writeReport, writeResults } from './report/files.js';
import { addRatios, runCases, select } from './run-cases.js';
import { loadSyncAdapter } from './sync/index.js';
import { judgeTargets } from './targets.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const USAGE = `usage: pnpm bench [options]   (or: node tooling/bench/dist/main.js [options])

  --smoke          a few iterations of every case: checks that each runs (its figures mean nothing)
  --filter a,b     only the cases whose id contains one of the words, and their baselines;
                   writes bench-results/filtered.json, not the docs
  --list           the ids and titles of every case, then exit
  --no-report      do not write docs/benchmarks.md (a full run writes it by default)
  --passes N       passes of the interleaved groups (a full run: 5)
  -h, --help       this text
`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        smoke: { type: 'boolean', default: false },
        filter: { type: 'string' },
        list: { type: 'boolean', default: false },
        'no-report': { type: 'boolean', default: false },
        passes: { type: 'string' },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const opts = parseOptions();

/** Iterations and passes: smoke or full, with `--passes` overriding the passes. */
function scaleOf(): Scale {
  const base = opts.smoke ? SMOKE : FULL;
  if (opts.passes === undefined) return base;
  return { ...base, passes: Math.max(1, Number.parseInt(opts.passes, 10) || 1) };
}

/** A scratch folder for the cases, removed at the end or on Ctrl-C. */
function scratchFolder(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shmkit-bench-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    remove();
    process.exit(130);
  });
  return { dir, remove };
}

/** Which JSON file a run writes: only a full unfiltered run is "latest". */
function resultsName(): string {
  if (opts.smoke) return 'smoke';
  return opts.filter === undefined ? 'latest' : 'filtered';
}

async function main(): Promise<void> {
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  const selected = select(cases, opts.filter);
  if (opts.list) {
    for (const c of cases) process.stdout.write(`${c.id.padEnd(30)} ${c.title}\n`);
    return;
  }
  if (selected.length === 0)
    throw new Error(`--filter ${String(opts.filter)} matches no case (see --list)`);
  const scale = scaleOf();
  const machine = describeMachine();
  const sync = loadSyncAdapter();
  const scratch = scratchFolder();
  const ctx = {
    scale,
    tmpDir: scratch.dir,
    sync,
    log: (m: string) => process.stderr.write(`  ${m}\n`),
  };
  process.stderr.write(
    `shmkit bench (${opts.smoke ? 'smoke' : 'full'}): ${selected.length} cases, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, sync: ${sync.name}\n`,
  );
  const started = Date.now();
  let rows;
  try {
    rows = await runCases(selected, ctx);
  } finally {
    scratch.remove();
  }
  const targets = judgeTargets(addRatios(rows));
  const durationMs = Date.now() - started;
  printSummary(rows, targets, durationMs);

  const run = { machine, scale, syncAdapter: sync.name, durationMs, rows, targets };
  writeResults(repoRoot, resultsName(), run);
  // Only a complete full run may replace the committed report.
  if (opts.filter === undefined && !opts.smoke && !opts['no-report'])
    await writeReport(repoRoot, run);
  if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
