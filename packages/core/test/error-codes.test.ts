// error-codes.json is the one list of shmkit's own codes: the Rust enum,
// the TypeScript constants and the README table are generated from it and
// must be fresh, and no source file throws a code the table lacks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/index';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const generator = join(root, 'tooling/scripts/error-codes.mjs');
const table = JSON.parse(readFileSync(join(root, 'packages/core/error-codes.json'), 'utf8')) as {
  codes: Array<{ code: string }>;
};
const codes = table.codes.map((c) => c.code);

/** Source files of every package and app (no tests, no build output). */
function sources(dir: string, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', 'target', 'test', 'npm', 'release'].includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, found);
    else if (/\.(ts|mts|rs)$/.test(name) && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

const generated = new Set(['packages/core/src/error-codes.ts', 'packages/core/src/bind/codes.rs']);
const files = [...sources(join(root, 'packages')), ...sources(join(root, 'apps'))]
  .map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }))
  .filter(({ path }) => !generated.has(path));

describe('the error-code table', () => {
  it('every generated file is fresh', async () => {
    const r = await run(process.execPath, [generator, '--check']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the exported constants are the table', () => {
    expect(Object.values(ErrorCodes).sort()).toEqual([...codes].sort());
  });

  it('no source file uses a shmkit code the table lacks', () => {
    const unknown = files.flatMap(({ path, text }) =>
      [...text.matchAll(/ERR_SHMKIT_[A-Z0-9_]+/g)]
        .map((m) => m[0])
        .filter((code) => !codes.includes(code))
        .map((code) => `${path}: ${code}`),
    );
    expect(unknown).toEqual([]);
  });

  it('native code throws codes only through the generated enum', () => {
    const literals = files
      .filter(({ path }) => path.endsWith('.rs'))
      .filter(({ text }) => /"ERR_SHMKIT_/.test(text))
      .map(({ path }) => path);
    expect(literals).toEqual([]);
  });

  it('every code in the table is thrown somewhere', () => {
    const camel = (code: string) =>
      code
        .slice('ERR_SHMKIT_'.length)
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
    const unused = codes.filter(
      (code) =>
        !files.some(
          ({ path, text }) =>
            (path.endsWith('.ts') && new RegExp(`['"]${code}['"]`).test(text)) ||
            (path.endsWith('.rs') && text.includes(`Code::${camel(code)}`)),
        ),
    );
    expect(unused).toEqual([]);
  });
});
