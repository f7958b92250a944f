// Every object name a test makes is tracked here and unlinked after the
// test, whether it passed or not.
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { uniqueName } from '@shmkit/testing';
import { PosixShm } from '../src/index';

/** The package directory: children resolve '@shmkit/posix-shm' from here. */
export const pkgDir = join(__dirname, '..');

const created: string[] = [];

/** Remembers `name` for unlinking after the current test; returns it. */
export function track(name: string): string {
  created.push(name);
  return name;
}

/** A new object name, `/` + a unique name starting with `prefix`, unlinked after the test. */
export function name(prefix = 'shmkit-pshm'): string {
  return track(`/${uniqueName(prefix)}`);
}

afterEach(() => {
  for (const n of created.splice(0)) {
    try {
      PosixShm.unlink(n);
    } catch {
      // already removed by the test
    }
  }
});
