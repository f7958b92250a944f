// Shared memory for cross-process tests: a file in /dev/shm, mapped in every
// process through the core's generic mapFd (the posix-shm and mmap packages
// are separate), removed after each test.
import type { ChildProcess } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Mapping } from '@shmkit/core';
import { adoptMapping, native } from '@shmkit/core/internal';
import { uniqueName } from '@shmkit/testing';
import { expect } from 'vitest';

/** The package directory: children resolve '@shmkit/sync' from here. */
export const pkgDir = join(__dirname, '..');

export interface SharedFile {
  path: string;
  size: number;
  mapping: Mapping;
}

const open: SharedFile[] = [];

/** A zero-filled shared file of `size` bytes, mapped in this process. */
export function sharedFile(size = 4096): SharedFile {
  const path = join('/dev/shm', uniqueName('shmkit-sync'));
  const fd = openSync(path, 'wx+', 0o600);
  try {
    ftruncateSync(fd, size);
    const mapping = adoptMapping(native.mapFd(fd, 0, size, {}), { kind: 'file' });
    const file = { path, size, mapping };
    open.push(file);
    return file;
  } finally {
    closeSync(fd);
  }
}

/** Unmaps and deletes every shared file made by {@link sharedFile} (afterEach). */
export function removeSharedFiles(): void {
  for (const file of open.splice(0)) {
    file.mapping.close();
    rmSync(file.path, { force: true });
  }
}

const children: ChildProcess[] = [];

/** Has `child` killed (SIGKILL) by {@link cleanUp} after the test, pass or fail. */
export function killAfterTest<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}

/** afterEach of suites that spawn children: kills them, then removes the shared files. */
export function cleanUp(): void {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  removeSharedFiles();
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve()
      : child.once('exit', () => resolve()),
  );
}

/** Expects `fn` to throw an error whose `code` is `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(expect.objectContaining({ code }));
}

/**
 * The preamble of a child script: maps the shared file (path and size come
 * from process.argv) as `mapping`, and imports the package.
 */
export const childPrelude = `
import { openSync, closeSync } from 'node:fs';
import { adoptMapping, native } from '@shmkit/core/internal';
import * as shmkitSync from '@shmkit/sync';
const { Mutex, SharedEvent, futex } = shmkitSync;
const [path, size] = [process.argv[1], Number(process.argv[2])];
const fd = openSync(path, 'r+');
const mapping = adoptMapping(native.mapFd(fd, 0, size, {}), { kind: 'file' });
closeSync(fd);
const say = (line) => process.stdout.write(line + '\\n');
`;

/** Arguments for a child script made with {@link childPrelude}. */
export function childArgs(file: SharedFile, ...rest: (string | number)[]): string[] {
  return [file.path, String(file.size), ...rest.map(String)];
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every few ms until it holds (or throws after `timeout`). */
export async function until(
  check: () => boolean,
  timeout = 10_000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
