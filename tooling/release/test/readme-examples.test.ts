// Every README's code blocks, run the way tooling/scripts/README.md says:
// install lines checked against the imports, JS run as written and TS
// compiled strictly and run, from a project outside the repository that
// installs only what the install lines list; shell commands run in the
// README's folder. New READMEs are picked up by themselves.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findReadmes } from '@shmkit/scripts/readme/blocks.mjs';
import { tarballsIn } from '@shmkit/scripts/readme/consumer.mjs';
import { ReadmeExamples } from '@shmkit/scripts/readme/examples.mjs';
import { isolationPrefix } from '@shmkit/scripts/readme/run.mjs';
import { releaseTarballs, repoRoot } from './helpers';

const readmes = findReadmes(repoRoot);

it('finds the READMEs of the root, every package, app and tool', () => {
  expect(readmes).toEqual(
    expect.arrayContaining([
      'README.md',
      'packages/core/README.md',
      'packages/sync/README.md',
      'apps/mmap-file/README.md',
      'tooling/bench/README.md',
    ]),
  );
});

const examples = new Map(readmes.map((path) => [path, new ReadmeExamples(repoRoot, path)]));
/** A README whose project could not be installed fails its own tests, not the others'. */
const unprepared = new Map<string, unknown>();

// Installing each README's project and compiling its TypeScript are
// independent: two at a time (CI has two cores). Blocks then run one by one.
beforeAll(async () => {
  const tarballs = tarballsIn(releaseTarballs());
  const queue = [...examples.values()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const readme = next;
      await readme.prepare(tarballs).catch((error: unknown) => unprepared.set(readme.path, error));
    }
  };
  await Promise.all([worker(), worker()]);
});
afterAll(() => examples.forEach((readme) => readme.dispose()));

describe.each(readmes)('%s', (path) => {
  const readme = examples.get(path)!;

  it('has install lines that list every package its examples import', () => {
    expect(readme.problems).toEqual([]);
  });

  for (const block of readme.blocks) {
    const what = block.install
      ? 'install line'
      : block.run
        ? `${block.lang}, run`
        : `${block.lang}, checked (norun)`;
    it(`line ${block.line}: ${what}`, async () => {
      if (unprepared.has(path)) throw unprepared.get(path);
      const result = await readme.run(block);
      if (!result.ok) expect.fail(result.message);
    });
  }
});

describe('the runner itself (on a README written to fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shmkit-readme-selftest-'));
  writeFileSync(
    join(dir, 'README.md'),
    [
      '# broken on purpose',
      '',
      '```sh',
      'npm i @shmkit/posix-shm',
      '```',
      '',
      '```js',
      "import { PosixShm } from '@shmkit/posix-shm';",
      "PosixShm.create('/shmkit-readme-selftest', { size: 4096 }).close(); // never unlinked",
      '```',
      '',
      '```js',
      "import { mapAnonymous } from '@shmkit/core'; // not in the install line",
      'mapAnonymous(4096).close();',
      '```',
      '',
      '```ts',
      'const data = new Int32Array(4);',
      'data[0] += 1; // noUncheckedIndexedAccess',
      '```',
      '',
      '```ts norun',
      "const n: number = 'compiled even when not run';",
      '```',
      '',
      '```sh',
      'exit 3',
      '```',
      '',
      '```sh',
      'test -f node_modules/@shmkit/posix-shm/package.json && test ! -e node_modules/@shmkit/core',
      '```',
      '',
    ].join('\n'),
  );
  // A published package: its commands run in the outside project.
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: '@shmkit/selftest', version: '1.0.0' }),
  );
  const readme = new ReadmeExamples(dir, 'README.md');
  beforeAll(() => readme.prepare(tarballsIn(releaseTarballs())));
  afterAll(() => {
    readme.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const block = (line: number) => {
    const found = readme.blocks.find((b) => b.line === line);
    if (!found) throw new Error(`no block at line ${line}`);
    return found;
  };

  it('reports an import that no install line lists', () => {
    expect(readme.problems).toEqual([
      'README.md:12: imports @shmkit/core, which no install line of this README lists',
    ]);
  });

  it('fails an example that leaves a POSIX object behind, without leaving it on this machine', async () => {
    const result = await readme.run(block(7));
    expect(result.ok).toBe(false);
    expect(result.message).toContain('left behind');
    expect(result.message).toContain('shmkit-readme-selftest');
    if (isolationPrefix()) expect(existsSync('/dev/shm/shmkit-readme-selftest')).toBe(false);
    else rmSync('/dev/shm/shmkit-readme-selftest', { force: true });
  });

  it('fails an import of a package the project does not install (pnpm is strict)', async () => {
    const result = await readme.run(block(12));
    expect(result.ok).toBe(false);
    expect(result.message).toContain("Cannot find package '@shmkit/core'");
  });

  it('fails TypeScript that the strict settings reject, pointing at the README line', async () => {
    const result = await readme.run(block(17));
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/README\.md:19:1: error TS2532: Object is possibly 'undefined'/);
    const norun = await readme.run(block(22));
    expect(norun.ok).toBe(false);
    expect(norun.message).toMatch(/README\.md:23:\d+: error TS2322/);
  });

  it("runs a published package's commands in the outside project, which has only what it installs", async () => {
    expect(readme.published).toBe(true);
    const result = await readme.run(block(30));
    if (!result.ok) expect.fail(result.message);
  });

  it('fails a shell block that exits non-zero', async () => {
    const result = await readme.run(block(26));
    expect(result.ok).toBe(false);
    expect(result.message).toContain('exited with 3');
  });
});
