#!/usr/bin/env node
// `pnpm release`: builds everything, packages the native core the napi-rs
// way, then publishes every library.
//
//   pnpm release              publish (CI with NPM_TOKEN and all platform binaries)
//   pnpm release --dry-run    build and pack tarballs into release/ (or --out DIR)
//                             for every library and this host's platform package
//
// The native core ships as @shmkit/core plus one package per platform
// (@shmkit/core-linux-x64-gnu...). `napi create-npm-dirs` writes those
// packages under packages/core/npm/, `napi artifacts` moves each built
// core.<triple>.node into its package, and `napi prepublish` publishes them
// and points @shmkit/core's optionalDependencies at them. A dry run on one
// machine has only the host's binary, so it validates and packs that one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const coreDir = join(root, 'packages/core');
const argv = process.argv.slice(2);
const dryRun = argv.includes('--dry-run');
const outIndex = argv.indexOf('--out');
const outDir = resolve(outIndex >= 0 ? argv[outIndex + 1] : join(root, 'release'));

function sh(cmd, args, cwd = root) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.status})`);
}

const napi = join(coreDir, 'node_modules/.bin/napi');
const corePkgPath = join(coreDir, 'package.json');
const corePkgText = readFileSync(corePkgPath, 'utf8');
const corePkg = JSON.parse(corePkgText);

function hostTriple() {
  const report = process.report?.getReport();
  const libc = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
  return `${process.platform}-${process.arch}-${libc}`;
}

/** The platform packages napi-rs names after each target in the napi config. */
function platformPackages() {
  return readdirSync(join(coreDir, 'npm')).map((dir) => ({
    dir: join(coreDir, 'npm', dir),
    name: `${corePkg.napi.packageName}-${dir}`,
    triple: dir,
  }));
}

sh(process.execPath, [
  join(root, 'tooling/scripts/turbo.mjs'),
  'run',
  'build',
  '--filter=./packages/*',
]);
rmSync(join(coreDir, 'npm'), { recursive: true, force: true });
sh(napi, ['create-npm-dirs'], coreDir);

if (!dryRun) {
  sh(napi, ['artifacts', '--output-dir', '.'], coreDir);
  // Publishes every platform package that has its binary and writes the
  // optionalDependencies into @shmkit/core, then changesets publishes the
  // libraries (pnpm turns workspace:^ into real versions).
  sh(napi, ['prepublish', '-t', 'npm'], coreDir);
  sh('pnpm', ['changeset', 'publish']);
  process.exit(0);
}

const host = hostTriple();
const hostTarget = corePkg.napi.targets.find((t) => {
  const [arch, , , abi] = t.split('-');
  const nodeArch = { x86_64: 'x64', aarch64: 'arm64' }[arch];
  return `linux-${nodeArch}-${abi}` === host;
});
if (!hostTarget) throw new Error(`no napi target for this host (${host})`);

// Validate the host's platform package the way a real prepublish would.
const scratch = mkdtempSync(join(tmpdir(), 'shmkit-release-'));
const hostConfig = join(scratch, 'napi.json');
writeFileSync(hostConfig, JSON.stringify({ ...corePkg.napi, targets: [hostTarget] }));
sh(napi, ['artifacts', '--output-dir', '.', '-c', hostConfig], coreDir);
sh(
  napi,
  ['prepublish', '--dry-run', '--skip-optional-publish', '-c', hostConfig, '-t', 'npm'],
  coreDir,
);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const optionalDependencies = Object.fromEntries(
  platformPackages().map((p) => [p.name, corePkg.version]),
);
try {
  // What napi prepublish would write into @shmkit/core before publishing.
  writeFileSync(corePkgPath, `${JSON.stringify({ ...corePkg, optionalDependencies }, null, 2)}\n`);
  sh('pnpm', ['-r', '--filter=./packages/*', 'pack', '--pack-destination', outDir]);
} finally {
  writeFileSync(corePkgPath, corePkgText);
  rmSync(scratch, { recursive: true, force: true });
}
sh('npm', ['pack', '--pack-destination', outDir], join(coreDir, 'npm', host));
console.log(`\nTarballs in ${outDir}:`);
for (const file of readdirSync(outDir).sort()) console.log(`  ${file}`);
