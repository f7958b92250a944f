#!/usr/bin/env node
// Runs turbo for the root scripts (`pnpm build`, `pnpm test`...) without the
// dependency check pnpm would otherwise repeat in every task.
//
// A root script runs under pnpm, which hands its children
// pnpm_config_verify_deps_before_run=false. turbo then starts one
// `pnpm run <task>` per package, in parallel, and those nested pnpm read the
// string "false" as true (pnpm/pnpm#12019): each re-checks the workspace and
// may rewrite node_modules/.pnpm-workspace-state-v1.json while another one
// reads it ("Unexpected end of JSON input at loadWorkspaceState"). Without
// the variable, the nested runs use the workspace's setting (no check), and
// `pnpm install` stays the one place that verifies dependencies.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const env = { ...process.env };
delete env.pnpm_config_verify_deps_before_run;
delete env.npm_config_verify_deps_before_run;
const turbo = join(
  dirname(createRequire(join(root, 'package.json')).resolve('turbo/package.json')),
  'bin/turbo',
);
const result = spawnSync(turbo, process.argv.slice(2), { cwd: root, env, stdio: 'inherit' });
if (result.error) throw result.error;
process.exitCode = result.status ?? 1;
