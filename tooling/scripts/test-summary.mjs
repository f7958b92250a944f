#!/usr/bin/env node
// CI's closing line: sums what every test runner of `pnpm test` reported
// into its results folder and prints one line `N passed, N failed` last.
//
//   node tooling/scripts/test-summary.mjs <results-dir> [--test-exit N] [--check NAME=STATUS]...
//
// --test-exit is `pnpm test`'s own exit status: a failure no suite explains
// (typecheck, lint) counts as one failed. Each --check is one more command
// that passes or fails as a whole (the bench smoke run). Exits 1 when
// anything failed. See count.mjs for how a missing report counts.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedSuites, summarize } from './test-results/count.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'test-exit': { type: 'string' },
    check: { type: 'string', multiple: true },
  },
});
if (positionals.length !== 1) {
  console.error('usage: test-summary.mjs <results-dir> [--test-exit N] [--check NAME=STATUS]...');
  process.exit(2);
}

const checks = [];
if (values['test-exit'] !== undefined) {
  checks.push({ name: 'pnpm test', status: Number(values['test-exit']), onlyIfUnexplained: true });
}
for (const check of values.check ?? []) {
  const at = check.lastIndexOf('=');
  checks.push({ name: check.slice(0, at), status: Number(check.slice(at + 1)), counts: true });
}

const summary = summarize(resolve(positionals[0]), expectedSuites(root), checks);
console.log('\nTest summary:');
for (const line of summary.lines) console.log(`  ${line}`);
console.log(summary.closing);
process.exitCode = summary.failed === 0 ? 0 : 1;
