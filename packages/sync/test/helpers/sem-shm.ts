// Shared memory for cross-process semaphore tests: a file in /dev/shm that
// every process (node or C) maps itself. posix-shm/mmap live in other
// packages, so this uses core's generic mapFd directly.
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Mapping } from '@shmkit/core';
import { adoptMapping, native } from '@shmkit/core/internal';
import { uniqueName } from '@shmkit/testing';

/** The package directory: children run here so `@shmkit/sync` resolves. */
export const pkgDir = join(__dirname, '..', '..');

export interface ShmFile {
  path: string;
  size: number;
  /** Maps the whole file (MAP_SHARED) in this process. */
  map(): Mapping;
  /** Closes every mapping made by map() and removes the file. */
  cleanup(): void;
}

/** Creates a zero-filled file of `size` bytes in /dev/shm. */
export function shmFile(size = 4096): ShmFile {
  const path = join('/dev/shm', uniqueName('shmkit-sem'));
  const fd = openSync(path, 'wx+', 0o600);
  const maps: Mapping[] = [];
  try {
    ftruncateSync(fd, size);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  return {
    path,
    size,
    map() {
      const m = adoptMapping(native.mapFd(fd, 0, size, {}), { kind: 'file' });
      maps.push(m);
      return m;
    },
    cleanup() {
      for (const m of maps) m.close();
      closeSync(fd);
      rmSync(path, { force: true });
    },
  };
}

/** ES module source a child runs to map the same file: defines `mapping`. */
export function childMapSource(path: string, size: number): string {
  return `
import { openSync } from 'node:fs';
import { adoptMapping, native } from '@shmkit/core/internal';
const fd = openSync(${JSON.stringify(path)}, 'r+');
const mapping = adoptMapping(native.mapFd(fd, 0, ${size}, {}), { kind: 'file' });
`;
}
