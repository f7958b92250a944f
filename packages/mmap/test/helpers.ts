// Temporary files for one test file, removed afterwards even on failure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, uniqueName, type RunResult } from '@shmkit/testing';
import { afterAll } from 'vitest';

export const pkgDir = join(__dirname, '..');

export function tempDir(): {
  file: (contents?: string | Uint8Array) => string;
  path: (name?: string) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'shmkit-mmap-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  afterAll(remove);
  // Also when the file fails before its hooks run (an import error).
  process.once('exit', remove);
  const path = (name = uniqueName('f')) => join(dir, name);
  return {
    path,
    file(contents) {
      const p = path();
      writeFileSync(p, contents ?? '');
      return p;
    },
  };
}

/** Expects `fn` to throw an error with `code` (and, optionally, of class `type`). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * Runs `script` (an ES module) in a node child inside a private mount
 * namespace with a `size` tmpfs mounted at `mountPoint`, a directory that
 * must exist; the script gets it as `process.argv[1]`.
 */
export function runOnSmallTmpfs(
  script: string,
  mountPoint: string,
  size: string,
): Promise<RunResult> {
  return run(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${size} tmpfs "$2" && exec "$0" --input-type=module -e "$1" "$2"`,
      process.execPath,
      script,
      mountPoint,
    ],
    { cwd: pkgDir },
  );
}
