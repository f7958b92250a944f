#!/usr/bin/env node
// Writes .host-platform (git-ignored) at the workspace root: turbo hashes it
// into the native build's cache key, so a cached addon is never restored on
// a machine of another platform or libc.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const report = process.report?.getReport();
const libc =
  process.platform === 'linux' ? (report?.header?.glibcVersionRuntime ? 'gnu' : 'musl') : '';
const triple = [process.platform, process.arch, libc].filter(Boolean).join('-');
writeFileSync(join(root, '.host-platform'), `${triple}\n`);
