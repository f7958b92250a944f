// Shared memory two node processes can both map: a file in /dev/shm mapped
// MAP_SHARED through @shmkit/core. (An anonymous shared mapping would not
// survive spawn/exec, only fork.)
import { closeSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Mapping } from '@shmkit/core';
import { adoptMapping, native } from '@shmkit/core/internal';

const SHM_DIR = '/dev/shm';

let counter = 0;

/** A fresh path for a shared file; the creator unlinks it. */
export function sharedPath(tag: string): string {
  counter += 1;
  return join(SHM_DIR, `shmkit-bench-${process.pid}-${counter}-${tag}`);
}

/** Maps `size` bytes of the file at `path`, creating and sizing it if `create`. */
export function mapShared(path: string, size: number, create: boolean): Mapping {
  const fd = openSync(path, create ? 'w+' : 'r+', 0o600);
  try {
    if (create) ftruncateSync(fd, size);
    return adoptMapping(native.mapFd(fd, 0, size, { shared: true }), { kind: 'file' });
  } finally {
    closeSync(fd);
  }
}

/** Removes a shared file, ignoring one that is already gone. */
export function unlinkShared(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
