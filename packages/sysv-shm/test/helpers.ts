// Every segment a test makes is tracked here and removed after the test,
// whether it passed or not.
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { isSystemError, SysvSegment } from '../src/index';

const made = new Set<number>();

/** Remembers `id` (or a segment) for removal after the current test. */
export function track<T extends SysvSegment | number>(segment: T): T {
  made.add(typeof segment === 'number' ? segment : segment.id);
  return segment;
}

export function removeTracked(): void {
  for (const id of made) {
    try {
      SysvSegment.fromId(id).remove();
    } catch (error) {
      if (!isSystemError(error) || !['EINVAL', 'EIDRM'].includes(error.code)) throw error;
    }
  }
  made.clear();
}

afterEach(removeTracked);

// vitest provides __dirname for test files (import.meta would not typecheck
// under this package's CommonJS settings).
export const pkgDir = join(__dirname, '..');

/** Expects `fn` to throw an error with `code` (and optionally more fields); returns it. */
export function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}
