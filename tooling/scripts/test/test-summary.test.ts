// The counting behind CI's closing line, fed with what real vitest and
// cargo runs print: passing, failing, crashing and silent suites.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exec } from '../readme/process.mjs';
import {
  countCargo,
  countSuite,
  countVitest,
  expectedSuites,
  reportName,
  summarize,
} from '../test-results/count.mjs';

const repoRoot = resolve(import.meta.dirname, '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'shmkit-count-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const vitestBin = createRequire(join(repoRoot, 'tooling/scripts/package.json')).resolve(
  'vitest/vitest.mjs',
);

let fixtures = 0;
/** Runs real vitest over `files` with the JSON reporter into `<dir>/report.json`; the dir. */
async function vitestRun(files: Record<string, string>): Promise<string> {
  const dir = join(scratch, `vitest-${++fixtures}`);
  mkdirSync(dir);
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code);
  const out = join(dir, 'report.json');
  await exec(
    process.execPath,
    [
      vitestBin,
      'run',
      '--root',
      dir,
      '--globals',
      '--pool',
      'forks',
      '--reporter',
      'json',
      '--outputFile',
      out,
    ],
    { cwd: dir, env: { ...process.env, SHMKIT_TEST_RESULTS: '' } },
  );
  return dir;
}

/** The report of {@link vitestRun}; these fixtures always write one. */
async function vitestReport(files: Record<string, string>): Promise<unknown> {
  return JSON.parse(readFileSync(join(await vitestRun(files), 'report.json'), 'utf8')) as unknown;
}

describe('vitest reports', () => {
  it('count passed and failed tests', async () => {
    const report = await vitestReport({
      'a.test.js': `test('one', () => {}); test('two', () => {}); test('three', () => { throw new Error('no') });`,
    });
    expect(countVitest(report)).toMatchObject({ passed: 2, failed: 1 });
  });

  it('count a file that fails to load as a failure, not as zero tests', async () => {
    const report = await vitestReport({
      'ok.test.js': `test('fine', () => {});`,
      'broken.test.js': `throw new Error('cannot even load');\ntest('never', () => {});`,
    });
    const counts = countVitest(report);
    expect(counts).toMatchObject({ passed: 1, failed: 1 });
    expect(counts.notes.join('\n')).toContain('broken.test.js');
  });

  it('count a test process that dies mid-run as a failure', async () => {
    const dir = await vitestRun({
      'ok.test.js': `test('fine', () => {});`,
      'dies.test.js': `test('kills its own process', () => { process.kill(process.pid, 'SIGKILL'); });`,
    });
    // Whether vitest reports the dead worker or writes no report, the count says failed.
    const counts = countSuite(dir, { runner: 'vitest', package: 'fixture', file: 'report.json' });
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    expect(counts.passed).toBeLessThanOrEqual(1);
  });

  it('count a run with no test at all as a failure', () => {
    expect(
      countVitest({ numPassedTests: 0, numFailedTests: 0, success: true, testResults: [] }),
    ).toMatchObject({ passed: 0, failed: 1, notes: ['ran no test'] });
  });

  it('count a reported failure without a failing test (an unhandled error) as one', () => {
    expect(
      countVitest({ numPassedTests: 3, numFailedTests: 0, success: false, testResults: [] }),
    ).toMatchObject({ passed: 3, failed: 1 });
  });
});

const CRATE = `[package]
name = "fixture"
version = "0.1.0"
edition = "2021"

[lib]
path = "lib.rs"
`;

async function cargoRun(lib: string): Promise<{ output: string; status: number | null }> {
  const dir = join(scratch, `cargo-${++fixtures}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'Cargo.toml'), CRATE);
  writeFileSync(join(dir, 'lib.rs'), lib);
  // What tooling/scripts/cargo.mjs keeps: both streams, in order.
  const r = await exec('bash', ['-c', 'cargo test --offline 2>&1'], {
    cwd: dir,
    env: { ...process.env, CARGO_TARGET_DIR: join(scratch, 'cargo-target') },
  });
  return { output: r.stdout, status: r.status };
}

describe('cargo test output', () => {
  it('counts every test binary, doc-tests included', async () => {
    const { output, status } = await cargoRun(
      `/// \`\`\`\n/// assert_eq!(fixture::two(), 2);\n/// \`\`\`\npub fn two() -> u32 { 2 }\n#[cfg(test)] mod t { #[test] fn a() {} #[test] fn b() { assert_eq!(super::two(), 2) } }\n`,
    );
    expect(status).toBe(0);
    expect(countCargo(output, status)).toMatchObject({ passed: 3, failed: 0 });
  });

  it('counts failing tests', async () => {
    const { output, status } = await cargoRun(
      `#[cfg(test)] mod t { #[test] fn a() {} #[test] fn b() { panic!("no") } }\n`,
    );
    expect(status).not.toBe(0);
    expect(countCargo(output, status)).toMatchObject({ passed: 1, failed: 1 });
  });

  it('counts a test binary killed by a signal as failed, never as passed', async () => {
    const { output, status } = await cargoRun(
      `#[cfg(test)] mod t { #[test] fn a() {} #[test] fn dies() { std::process::abort() } }\n`,
    );
    expect(status).not.toBe(0);
    expect(output).toMatch(/SIGABRT|signal: 6/);
    const counts = countCargo(output, status);
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    expect(counts.passed).toBeLessThanOrEqual(1);
  });

  it('counts a build that fails before any test as a failure', async () => {
    const { output, status } = await cargoRun(`pub fn broken() -> u32 { "not a number" }\n`);
    expect(status).not.toBe(0);
    expect(countCargo(output, status)).toMatchObject({ passed: 0, failed: 1 });
  });
});

describe('the summary', () => {
  it('expects a report from every workspace package whose test script runs vitest or cargo', () => {
    const suites = expectedSuites(repoRoot);
    expect(suites).toEqual(
      expect.arrayContaining([
        { runner: 'cargo', package: '@shmkit/core', file: 'cargo-@shmkit__core.json' },
        { runner: 'vitest', package: '@shmkit/core', file: 'vitest-@shmkit__core.json' },
        { runner: 'vitest', package: '@shmkit/sync', file: 'vitest-@shmkit__sync.json' },
        { runner: 'vitest', package: '@shmkit/scripts', file: 'vitest-@shmkit__scripts.json' },
      ]),
    );
    // Packages without tests (the config, the test helpers) are not expected.
    expect(suites.map((s) => s.package)).not.toContain('@shmkit/config');
  });

  it('sums the reports, counts a missing or unreadable one as failed, and ends with the closing line', () => {
    const dir = join(scratch, 'results');
    mkdirSync(dir);
    const suites = [
      { runner: 'vitest', package: 'a', file: reportName('vitest', 'a') },
      { runner: 'vitest', package: '@x/b', file: reportName('vitest', '@x/b') },
      { runner: 'cargo', package: 'c', file: reportName('cargo', 'c') },
      { runner: 'vitest', package: 'd', file: reportName('vitest', 'd') },
    ] as const;
    writeFileSync(
      join(dir, suites[0].file),
      JSON.stringify({ numPassedTests: 5, numFailedTests: 0, success: true, testResults: [] }),
    );
    writeFileSync(
      join(dir, suites[2].file),
      JSON.stringify({
        status: 0,
        output:
          'running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n',
      }),
    );
    writeFileSync(join(dir, suites[3].file), '{ truncated');
    expect(countSuite(dir, suites[1])).toMatchObject({ failed: 1 });
    const all = summarize(
      dir,
      [...suites],
      [
        { name: 'pnpm test', status: 1, onlyIfUnexplained: true },
        { name: 'bench:smoke', status: 0, counts: true },
      ],
    );
    expect(all.closing).toBe('8 passed, 2 failed');
    expect(all.lines).toContain('vitest @x/b: 0 passed, 1 failed');
    expect(all.lines.join('\n')).toMatch(/unreadable report/);
  });

  it('counts a failing command that no suite explains (lint, typecheck) as one failure', () => {
    const dir = join(scratch, 'lint');
    mkdirSync(dir);
    const suite = { runner: 'vitest', package: 'a', file: reportName('vitest', 'a') } as const;
    writeFileSync(
      join(dir, suite.file),
      JSON.stringify({ numPassedTests: 4, numFailedTests: 0, success: true }),
    );
    expect(
      summarize(dir, [suite], [{ name: 'pnpm test', status: 1, onlyIfUnexplained: true }]).closing,
    ).toBe('4 passed, 1 failed');
    expect(
      summarize(dir, [suite], [{ name: 'pnpm test', status: 0, onlyIfUnexplained: true }]).closing,
    ).toBe('4 passed, 0 failed');
  });

  it('the CLI prints the closing line last, alone, and exits 1 on failure', async () => {
    const dir = join(scratch, 'cli');
    mkdirSync(dir);
    const cli = join(repoRoot, 'tooling/scripts/test-summary.mjs');
    const r = await exec(process.execPath, [
      cli,
      dir,
      '--test-exit',
      '0',
      '--check',
      'bench:smoke=0',
    ]);
    const lines = r.stdout.trimEnd().split('\n');
    // Nothing reported at all: every expected suite counts as one failure.
    const expected = expectedSuites(repoRoot).length;
    expect(lines.at(-1)).toBe(`1 passed, ${expected} failed`);
    expect(r.status).toBe(1);
  });
});
