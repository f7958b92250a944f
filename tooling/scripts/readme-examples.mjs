#!/usr/bin/env node
// Runs the code blocks of READMEs the way CI does (tooling/scripts/README.md
// has the convention).
//
//   node tooling/scripts/readme-examples.mjs                      every README
//   node tooling/scripts/readme-examples.mjs packages/sync/README.md
//   node tooling/scripts/readme-examples.mjs --tarballs DIR ...   reuse `pnpm release --dry-run --out DIR`
//
// Without --tarballs it packs the release tarballs first (pnpm release
// --dry-run into a temporary folder). Exits 1 if any block failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findReadmes } from './readme/blocks.mjs';
import { sh, tarballsIn } from './readme/consumer.mjs';
import { ReadmeExamples } from './readme/examples.mjs';
import { isolationPrefix } from './readme/run.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values, positionals } = parseArgs({
  options: { tarballs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help) {
  console.log('usage: readme-examples.mjs [--tarballs DIR] [README.md...]');
  process.exit(0);
}

const readmes = positionals.length
  ? positionals.map((p) => relative(root, resolve(p)))
  : findReadmes(root);

let tarballDir = values.tarballs && resolve(values.tarballs);
let packed;
if (!tarballDir) {
  packed = mkdtempSync(join(tmpdir(), 'shmkit-tarballs-'));
  console.log(`packing the release tarballs into ${packed} ...`);
  sh(
    process.execPath,
    [join(root, 'tooling/scripts/release.mjs'), '--dry-run', '--out', packed],
    root,
  );
  tarballDir = packed;
}
const tarballs = tarballsIn(tarballDir);
console.log(
  isolationPrefix()
    ? 'each example runs with its own IPC namespace and /dev/shm'
    : 'no namespaces here: each example runs twice and the names it uses must be gone',
);

let passed = 0;
let failed = 0;
for (const path of readmes) {
  const readme = new ReadmeExamples(root, path);
  for (const problem of readme.problems) {
    console.log(`FAIL ${problem}`);
    failed += 1;
  }
  try {
    await readme.prepare(tarballs);
  } catch (error) {
    console.log(`FAIL ${path}: ${error.message}`);
    failed += readme.blocks.length || 1;
    continue;
  }
  for (const block of readme.blocks) {
    const result = await readme.run(block);
    const label = `${path}:${block.line} ${block.lang}${block.run ? '' : ' norun'}`;
    if (result.ok) {
      passed += 1;
      console.log(`ok   ${label}`);
    } else {
      failed += 1;
      console.log(`FAIL ${result.message}`);
    }
  }
  readme.dispose();
}
if (packed) rmSync(packed, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
