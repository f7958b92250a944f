#!/usr/bin/env node
// Runs cargo (or `napi build`) for packages/core with the right crate source.
//
// crates.io is used where it is reachable. Where it is not (machines that
// only reach npm and Debian), the build switches to Debian's packaged crate
// sources in /usr/share/cargo/registry, installing librust-libc-dev with apt
// when running as root and the crate is missing. Cargo.lock pins versions
// that exist in both places, so the lock file serves either source.
//
// Usage: node tooling/scripts/cargo.mjs <cargo args...>
//        node tooling/scripts/cargo.mjs --napi <napi build args...>
// SHMKIT_CARGO_SOURCE=crates-io|debian skips the probe (optional).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const coreDir = resolve(here, '../../packages/core');
const manifest = join(coreDir, 'Cargo.toml');
const debianRegistry = '/usr/share/cargo/registry';
const debianCrates = ['librust-libc-dev'];

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: coreDir, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function cratesIoReachable() {
  // `cargo metadata` resolves the lock against the index: it succeeds offline
  // only when the registry cache already has our crates, and fails within a
  // second when the index host cannot be resolved.
  const probe = spawnSync(
    'cargo',
    ['metadata', '--locked', '--format-version', '1', '--manifest-path', manifest],
    {
      cwd: coreDir,
      stdio: 'ignore',
      timeout: 120_000,
      env: { ...process.env, CARGO_NET_RETRY: '0', CARGO_HTTP_TIMEOUT: '15' },
    },
  );
  return probe.status === 0;
}

function haveDebianCrates() {
  return (
    existsSync(debianRegistry) && readdirSync(debianRegistry).some((d) => d.startsWith('libc-0.2.'))
  );
}

function installDebianCrates() {
  if (haveDebianCrates()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `crates.io is unreachable and ${debianRegistry} has no libc crate. ` +
        `Install it with: sudo apt-get install ${debianCrates.join(' ')}`,
    );
  }
  console.error(`[shmkit] crates.io unreachable: installing ${debianCrates.join(' ')} with apt`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let status = run('apt-get', ['install', '-y', '-qq', ...debianCrates], { env });
  if (status !== 0) {
    run('apt-get', ['update', '-qq'], { env });
    status = run('apt-get', ['install', '-y', '-qq', ...debianCrates], { env });
  }
  if (status !== 0 || !haveDebianCrates()) {
    throw new Error(`apt-get could not install ${debianCrates.join(' ')}`);
  }
}

function debianConfigFile() {
  const dir = join(coreDir, 'target');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'shmkit-debian-source.toml');
  writeFileSync(
    file,
    [
      '# Written by tooling/scripts/cargo.mjs: use Debian-packaged crate sources.',
      '[source.crates-io]',
      'replace-with = "debian-packages"',
      '[source.debian-packages]',
      `directory = "${debianRegistry}"`,
      '[net]',
      'offline = true',
      '',
    ].join('\n'),
  );
  return file;
}

/** The `--config` arguments that select the crate source. */
export function cargoSourceArgs() {
  let source = process.env.SHMKIT_CARGO_SOURCE;
  if (!source) source = cratesIoReachable() ? 'crates-io' : 'debian';
  if (source === 'crates-io') return [];
  if (source !== 'debian')
    throw new Error(`SHMKIT_CARGO_SOURCE must be crates-io or debian, not ${source}`);
  installDebianCrates();
  return ['--config', debianConfigFile()];
}

/**
 * cargo test, its output shown as usual and also kept, with the exit
 * status, in SHMKIT_TEST_RESULTS for CI's closing line (test-summary.mjs).
 */
function testWithReport(command) {
  // Through a shell so both streams keep their order in one capture.
  const result = spawnSync(
    'bash',
    ['-o', 'pipefail', '-c', '"$@" 2>&1 | tee /dev/stderr', 'cargo', ...command],
    {
      cwd: coreDir,
      stdio: ['inherit', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    },
  );
  const status = result.status ?? 1;
  const pkg = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8'));
  const report = join(
    process.env.SHMKIT_TEST_RESULTS,
    `cargo-${pkg.name.replace(/\//g, '__')}.json`,
  );
  writeFileSync(
    report,
    JSON.stringify({ status, signal: result.signal, output: result.stdout ?? '' }),
  );
  return status;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const config = cargoSourceArgs();
  let status;
  if (args[0] === '--napi') {
    const napi = join(coreDir, 'node_modules', '.bin', 'napi');
    status = run(napi, [
      ...args.slice(1),
      '--manifest-path',
      manifest,
      '--',
      '--locked',
      ...config,
    ]);
  } else if (args[0] === 'test' && process.env.SHMKIT_TEST_RESULTS) {
    status = testWithReport(['cargo', ...args, '--manifest-path', manifest, '--locked', ...config]);
  } else {
    status = run('cargo', [...args, '--manifest-path', manifest, '--locked', ...config]);
  }
  process.exit(status);
}
