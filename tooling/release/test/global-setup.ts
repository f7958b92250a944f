// Packs the release tarballs once for every test file of this package
// (`pnpm release --dry-run`), or reuses SHMKIT_TARBALLS=<dir> from an earlier
// dry run while developing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { sh } from '@shmkit/scripts/readme/consumer.mjs';

const repoRoot = resolve(import.meta.dirname, '../../..');

declare module 'vitest' {
  export interface ProvidedContext {
    tarballs: string;
  }
}

export default function setup(project: TestProject): () => void {
  const reuse = process.env.SHMKIT_TARBALLS;
  if (reuse) {
    project.provide('tarballs', resolve(reuse));
    return () => {};
  }
  const out = mkdtempSync(join(tmpdir(), 'shmkit-tarballs-'));
  const started = Date.now();
  sh(
    process.execPath,
    [join(repoRoot, 'tooling/scripts/release.mjs'), '--dry-run', '--out', out],
    repoRoot,
  );
  console.log(
    `[release-checks] packed the tarballs in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  project.provide('tarballs', out);
  return () => rmSync(out, { recursive: true, force: true });
}
