// The native core's layers depend one way: bind/ on napi/, model/ and os/;
// napi/ (a generic Node-API layer) on none of them; model/ and os/ (plain
// Rust, unit tested by cargo) on nothing of Node.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function rustFiles(dir: string): Array<{ file: string; text: string }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.rs'))
    .map((name) => ({ file: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}

/** The crate modules a file's paths name: `crate::os::mman` -> 'os'. */
function usedLayers(text: string): Set<string> {
  const code = text.replace(/\/\/.*$/gm, '');
  return new Set([...code.matchAll(/\bcrate::([a-z_]+)/g)].map((m) => m[1]!));
}

describe('native layers', () => {
  it.each([
    ['napi', ['os', 'model', 'bind']],
    ['model', ['napi', 'bind', 'os']],
    ['os', ['napi', 'bind', 'model']],
  ])('%s/ uses none of %s', (layer, forbidden) => {
    const files = rustFiles(join(src, layer));
    expect(files.length).toBeGreaterThan(0);
    const offending = files.flatMap(({ file, text }) =>
      [...usedLayers(text)]
        .filter((used) => forbidden.includes(used))
        .map((used) => `${file}: crate::${used}`),
    );
    expect(offending).toEqual([]);
  });

  it('only napi/ declares Node-API functions', () => {
    const outside = rustFiles(src)
      .filter(({ file }) => !file.startsWith(join(src, 'napi')))
      .filter(({ text }) => /\bnapi_[a-z_]+\s*\(/.test(text.replace(/\/\/.*$/gm, '')))
      .map(({ file }) => file);
    expect(outside).toEqual([]);
  });
});
