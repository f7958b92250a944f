#!/usr/bin/env node
// `pnpm demo`: a short tour. First the core (one mapping, zero-copy views,
// safe close), then every demo app under apps/ that has a `demo` script.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function banner(title) {
  console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 66 - title.length))}`);
}

banner('@shmkit/core: one mapping, zero-copy views, safe close');
const require = createRequire(join(root, 'packages/core/package.json'));
const { mapAnonymous, pageSize } = require('@shmkit/core');
const mapping = mapAnonymous(pageSize());
const words = mapping.int32Array();
Atomics.store(words, 0, 41);
Atomics.add(words, 0, 1);
console.log(
  `mapped ${mapping.byteLength} bytes at 0x${mapping.address.toString(16)}; word 0 = ${Atomics.load(words, 0)}`,
);
mapping.close();
console.log(`after close(): the old view has length ${words.length}; touching it cannot crash`);

const appsDir = join(root, 'apps');
const apps = existsSync(appsDir) ? readdirSync(appsDir).sort() : [];
let failed = 0;
for (const app of apps) {
  const pkgPath = join(appsDir, app, 'package.json');
  if (!existsSync(pkgPath)) continue;
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  if (!pkg.scripts?.demo) continue;
  banner(`${pkg.name}: ${pkg.description ?? ''}`.trim());
  const result = spawnSync('npm', ['run', '--silent', 'demo'], {
    cwd: join(appsDir, app),
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed += 1;
    console.error(`demo of ${pkg.name} failed with exit code ${result.status}`);
  }
}
process.exit(failed ? 1 : 0);
