// The README code-block convention (tooling/scripts/README.md), as parsed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exampleBlocks,
  findReadmes,
  importedPackages,
  installedPackages,
  readReadme,
} from '../readme/blocks.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'shmkit-readme-blocks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('exampleBlocks', () => {
  it('takes js, ts and sh blocks with their line, and leaves other languages out', () => {
    const md = [
      '# t', // 1
      '```js', // 2
      'console.log(1)',
      '```',
      '```c', // 5
      'int x;',
      '```',
      '```',
      'plain text',
      '```',
      '- a list item', // 11
      '',
      '  ```ts norun', // 13: fenced inside a list item
      '  const x: number = 1;',
      '  ```',
      '~~~bash', // 16
      'echo hi',
      '~~~',
    ].join('\n');
    expect(exampleBlocks(md)).toEqual([
      { kind: 'js', lang: 'js', run: true, code: 'console.log(1)\n', line: 2 },
      { kind: 'ts', lang: 'ts', run: false, code: 'const x: number = 1;\n', line: 13 },
      { kind: 'sh', lang: 'bash', run: true, code: 'echo hi\n', line: 16 },
    ]);
  });

  it('refuses a flag other than norun, so a typo cannot silently skip a block', () => {
    expect(() => exampleBlocks('```js no-run\nx\n```\n')).toThrow(
      "line 1: unknown code block flag no-run (the only flag is 'norun')",
    );
  });
});

describe('install lines and imports', () => {
  it('reads the packages of npm, pnpm and yarn install lines, without versions or flags', () => {
    expect(installedPackages('npm i @shmkit/sync @shmkit/core   # comment\n')).toEqual([
      '@shmkit/sync',
      '@shmkit/core',
    ]);
    expect(installedPackages('pnpm add -D @shmkit/mmap@^1.2.0\nyarn add left-pad@1\n')).toEqual([
      '@shmkit/mmap',
      'left-pad',
    ]);
    expect(installedPackages('pnpm build\nnode dist/main.js\n')).toBeUndefined();
    expect(() => installedPackages('npm i @shmkit/core\nnode x.mjs\n')).toThrow(/block of its own/);
  });

  it('finds every package an example imports, node: builtins and relative paths left out', () => {
    const code = `import { a } from '@shmkit/core';
import type { B } from '@shmkit/sync/internal';
import 'side-effect';
const { c } = require("lodash/fp");
const d = await import('@scope/pkg');
import { readFileSync } from 'node:fs';
import x from './local.js';`;
    expect(importedPackages(code)).toEqual([
      '@scope/pkg',
      '@shmkit/core',
      '@shmkit/sync',
      'lodash',
      'side-effect',
    ]);
  });

  it('reports, per README, every import that its install lines do not list', () => {
    const dir = join(scratch, 'readme');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'README.md'),
      "```sh\nnpm i @shmkit/sync\n```\n\n```ts\nimport { Mutex } from '@shmkit/sync';\nimport { mapAnonymous } from '@shmkit/core';\n```\n",
    );
    const info = readReadme(dir, 'README.md');
    expect(info.installs).toEqual(['@shmkit/sync']);
    expect(info.problems).toEqual([
      'README.md:5: imports @shmkit/core, which no install line of this README lists',
    ]);
  });
});

describe('findReadmes', () => {
  it('finds a new README anywhere in the tree by itself, but none in build output', () => {
    const root = join(scratch, 'tree');
    for (const dir of ['packages/new', 'packages/new/node_modules/x', 'apps/a/dist', 'tooling/t'])
      mkdirSync(join(root, dir), { recursive: true });
    for (const file of [
      'README.md',
      'packages/new/README.md',
      'packages/new/node_modules/x/README.md',
      'apps/a/dist/README.md',
      'tooling/t/README.md',
    ])
      writeFileSync(join(root, file), '# x\n');
    expect(findReadmes(root)).toEqual([
      'README.md',
      'packages/new/README.md',
      'tooling/t/README.md',
    ]);
  });
});
