// Shared vitest settings for every shmkit package.
// `forks` runs each test file in its own child process, so a crash in native
// code fails one file instead of the whole run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * With SHMKIT_TEST_RESULTS=<dir> (CI sets it), each suite also leaves a JSON
 * report there, which tooling/scripts/test-summary.mjs counts for CI's
 * closing line.
 */
function reportSettings() {
  const dir = process.env.SHMKIT_TEST_RESULTS;
  if (!dir) return {};
  const { name } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
  return {
    reporters: ['default', 'json'],
    outputFile: { json: join(dir, `vitest-${name.replace(/\//g, '__')}.json`) },
  };
}

export function shmkitVitestConfig(overrides = {}) {
  return defineConfig({
    test: {
      pool: 'forks',
      include: ['test/**/*.test.ts'],
      globalSetup: [fileURLToPath(new URL('./vitest.global-setup.mjs', import.meta.url))],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // Cross-process tests start children and compile C; two cores are all
      // CI has, so files run one or two at a time.
      poolOptions: { forks: { maxForks: 2, minForks: 1 } },
      // Workspace packages are imported from their built CommonJS: let Node
      // load it, or vite-node transforms it as source and loses its exports.
      server: { deps: { external: [/\/packages\/[^/]+\/dist\//] } },
      ...reportSettings(),
      ...overrides,
    },
  });
}
