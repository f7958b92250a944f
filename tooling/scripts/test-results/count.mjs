// Counting what every test runner of `pnpm test` did, for CI's closing line.
//
// The rule that keeps the count honest: a suite counts only by what it
// reported. A suite that was expected but left no report (it crashed, was
// never started because an earlier one failed, or printed nothing), a
// report that cannot be read, or a runner that failed without naming a
// failing test, each count as failed: never as zero tests passed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The environment variable that asks runners to leave their reports in a folder. */
export const RESULTS_ENV = 'SHMKIT_TEST_RESULTS';

/** A report's file name for a package: `vitest-@shmkit__core.json`. */
export function reportName(runner, packageName) {
  return `${runner}-${packageName.replace(/\//g, '__')}.json`;
}

/**
 * The suites `pnpm test` runs: every workspace package whose `test` script
 * runs vitest, and cargo test where it runs tooling/scripts/cargo.mjs test.
 * `[{ runner: 'vitest' | 'cargo', package, file }]`.
 */
export function expectedSuites(root) {
  const workspace = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [...workspace.matchAll(/^\s*-\s*['"]?([\w./-]+)\/\*['"]?\s*$/gm)].map((m) => m[1]);
  const suites = [];
  for (const base of globs) {
    if (!existsSync(join(root, base))) continue;
    for (const dir of readdirSync(join(root, base)).sort()) {
      const manifest = join(root, base, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
      const test = pkg.scripts?.test;
      if (typeof test !== 'string') continue;
      if (/cargo\.mjs\s+test\b/.test(test) || /\btest:rust\b/.test(test)) {
        suites.push({ runner: 'cargo', package: pkg.name, file: reportName('cargo', pkg.name) });
      }
      if (/\bvitest\b/.test(test)) {
        suites.push({ runner: 'vitest', package: pkg.name, file: reportName('vitest', pkg.name) });
      }
    }
  }
  return suites;
}

/** `{ passed, failed, skipped, notes }` from vitest's JSON reporter output. */
export function countVitest(report) {
  const notes = [];
  const passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that could not even load has no failed test, only a failed suite.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed').length;
    if (file.status === 'failed' && failedTests === 0) {
      failed += 1;
      notes.push(
        `${file.name}: ${String(file.message || 'failed without a failing test').split('\n')[0]}`,
      );
    }
  }
  if (report.success === false && failed === 0) {
    failed += 1;
    notes.push('vitest reported failure (an unhandled error?) without a failing test');
  }
  if (passed + failed === 0) {
    failed += 1;
    notes.push('ran no test');
  }
  return { passed, failed, skipped, notes };
}

/**
 * `{ passed, failed, skipped, notes }` from the text cargo test printed and
 * its exit status. Each test binary prints `running N tests`, a line per
 * test and `test result: ...`; one that dies on the way (a signal) prints no
 * result, and its tests that did not report ok count as failed.
 */
export function countCargo(output, status) {
  const notes = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const sections = output.split(/^running (\d+) tests?$/m);
  // sections: [before, n1, body1, n2, body2, ...]
  for (let i = 1; i < sections.length; i += 2) {
    const expected = Number(sections[i]);
    const body = sections[i + 1] ?? '';
    const result = /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored/m.exec(
      body,
    );
    if (result) {
      passed += Number(result[1]);
      failed += Number(result[2]);
      skipped += Number(result[3]);
    } else {
      const ok = (body.match(/^test \S+ \.\.\. ok$/gm) ?? []).length;
      passed += ok;
      failed += Math.max(1, expected - ok);
      notes.push(`a test binary stopped after ${ok} of ${expected} tests without a result line`);
    }
  }
  if (sections.length === 1) {
    failed += 1;
    notes.push('cargo test ran no test binary (build failure?)');
  } else if (status !== 0 && failed === 0) {
    failed += 1;
    notes.push(`cargo test exited ${status} without a failing test`);
  }
  return { passed, failed, skipped, notes };
}

/** Reads one expected suite's report from `dir`. */
export function countSuite(dir, suite) {
  const path = join(dir, suite.file);
  if (!existsSync(path)) {
    return { passed: 0, failed: 1, skipped: 0, notes: ['left no report (crashed, or never ran)'] };
  }
  try {
    const report = JSON.parse(readFileSync(path, 'utf8'));
    if (suite.runner === 'vitest') return countVitest(report);
    return countCargo(String(report.output ?? ''), report.status);
  } catch (error) {
    return { passed: 0, failed: 1, skipped: 0, notes: [`unreadable report: ${error.message}`] };
  }
}

/**
 * The whole count: every expected suite, plus `checks` (`[{ name, status }]`:
 * commands that pass or fail as one, such as `pnpm test` itself, whose own
 * failure (typecheck, lint) is one more failure when no suite explains it).
 */
export function summarize(dir, suites, checks = []) {
  const lines = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const suite of suites) {
    const c = countSuite(dir, suite);
    passed += c.passed;
    failed += c.failed;
    skipped += c.skipped;
    const extra = c.skipped ? `, ${c.skipped} skipped` : '';
    lines.push(`${suite.runner} ${suite.package}: ${c.passed} passed, ${c.failed} failed${extra}`);
    for (const note of c.notes) lines.push(`  ${note}`);
  }
  for (const check of checks) {
    if (check.status === 0) {
      lines.push(`${check.name}: ok`);
      if (check.counts) passed += 1;
    } else if (check.onlyIfUnexplained && failed > 0) {
      lines.push(`${check.name}: exited ${check.status} (the failures above)`);
    } else {
      lines.push(`${check.name}: exited ${check.status}`);
      failed += 1;
    }
  }
  return { passed, failed, skipped, lines, closing: `${passed} passed, ${failed} failed` };
}
