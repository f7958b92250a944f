// The published types, as a TypeScript user meets them: every library's
// tarball installed outside the repository with npm and with pnpm, and a
// consumer of every package compiled with the strictest settings and
// skipLibCheck off, under every module resolution TypeScript offers for
// Node. Then arethetypeswrong on every tarball.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerProject, tarballsIn } from '@shmkit/scripts/readme/consumer.mjs';
import { exec } from '@shmkit/scripts/readme/process.mjs';
import { releaseTarballs, repoRoot } from './helpers';

const LIBRARIES = [
  '@shmkit/core',
  '@shmkit/mlock',
  '@shmkit/mmap',
  '@shmkit/posix-shm',
  '@shmkit/sync',
  '@shmkit/sysv-shm',
];

// Touches each package's main types, so a broken declaration anywhere on
// the way (a class, an option bag, an error type) fails the compile.
const CONSUMER = `import * as core from '@shmkit/core';
import * as mlock from '@shmkit/mlock';
import * as mmap from '@shmkit/mmap';
import * as posixShm from '@shmkit/posix-shm';
import * as sync from '@shmkit/sync';
import * as sysvShm from '@shmkit/sysv-shm';

export function consume(): number {
  const memory: core.Mapping = core.mapAnonymous(core.pageSize(), { shared: true });
  const words: Int32Array = memory.int32Array(0, 4);
  const mutex: sync.Mutex = sync.Mutex.init(memory, 0);
  const guard: sync.MutexGuard = mutex.lock({ timeout: 10 });
  const died: boolean = guard.ownerDied;
  guard.unlock();
  const event: sync.SharedEvent = sync.SharedEvent.init(memory, 16, { mode: 'auto' });
  const waited: Promise<boolean> = event.waitAsync({ timeout: 1, signal: AbortSignal.timeout(5) });
  const held: mlock.MemoryLock = mlock.lock(memory, { onFault: true });
  held.unlock();
  const file: core.Mapping = mmap.mapFile('/tmp/x', { size: 4096, readOnly: false });
  const options: posixShm.CreateOptions = { size: 4096, mode: 0o600, exclusive: true };
  const shm: posixShm.PosixShm = posixShm.PosixShm.create('/x', options);
  const segment: sysvShm.SysvSegment = sysvShm.SysvSegment.create({ size: 4096 });
  const attachment: sysvShm.SysvAttachment = segment.attach({ readOnly: true });
  try {
    attachment.read(0, 4);
  } catch (error) {
    if (sysvShm.isSystemError(error) && error.code === 'EACCES') return error.errno;
    if (posixShm.isSystemError(error) || mlock.isSystemError(error) || sync.isSystemError(error)) {
      const system: core.SystemError = error;
      return system.errno;
    }
  }
  void waited;
  file.close();
  shm.close();
  return words.length + Number(died);
}

export const packages = { core, mlock, mmap, posixShm, sync, sysvShm };
`;

const STRICT = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  skipLibCheck: false,
  noEmit: true,
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
  typeRoots: [join(repoRoot, 'node_modules/@types')],
};

/** Every way a Node project resolves modules: [name, file, module, moduleResolution]. */
const RESOLUTIONS = [
  ['node10 (CommonJS)', 'consumer.ts', 'CommonJS', 'Node10'],
  ['node16, from CommonJS', 'consumer.cts', 'Node16', 'Node16'],
  ['node16, from ESM', 'consumer.mts', 'Node16', 'Node16'],
  ['bundler', 'consumer.ts', 'Preserve', 'Bundler'],
] as const;

async function tsc(
  project: string,
  tsconfig: string,
): Promise<{ status: number | null; output: string }> {
  const bin = join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = await exec(process.execPath, [bin, '-p', tsconfig, '--pretty', 'false'], {
    cwd: project,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `jobs` two at a time (CI has two cores); results in order. */
async function twoAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) results[i] = await jobs[i]!();
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/**
 * The libraries among the tarballs: the six above and any package added
 * since, whose types are then compiled through a namespace import.
 */
function libraries(tarballs: Record<string, string>): string[] {
  return Object.keys(tarballs)
    .filter((name) => !/^@shmkit\/core-linux-/.test(name))
    .sort();
}

function consumerSource(all: string[]): string {
  const extra = all.filter((name) => !LIBRARIES.includes(name));
  const imports = extra.map((name, i) => `import * as extra${i} from '${name}';`).join('\n');
  const uses = extra.map((_, i) => `extra${i}`).join(', ');
  return `${CONSUMER}${imports}\nexport const added = [${uses}];\n`;
}

describe.each(['npm', 'pnpm'] as const)('types installed with %s', (manager) => {
  let project: string;
  let results: { status: number | null; output: string }[];
  let broken: { status: number | null; output: string };
  beforeAll(async () => {
    const tarballs = tarballsIn(releaseTarballs());
    const all = libraries(tarballs);
    project = await consumerProject(all, tarballs, manager);
    for (const file of ['consumer.ts', 'consumer.cts', 'consumer.mts'])
      writeFileSync(join(project, file), consumerSource(all));
    const configs = RESOLUTIONS.map(([, file, module, moduleResolution]) => {
      const tsconfig = `tsconfig.${moduleResolution}.${file}.json`;
      writeFileSync(
        join(project, tsconfig),
        JSON.stringify({ compilerOptions: { ...STRICT, module, moduleResolution }, files: [file] }),
      );
      return tsconfig;
    });
    writeFileSync(
      join(project, 'broken.ts'),
      `import { mapAnonymous } from '@shmkit/core';\nexport const n: string = mapAnonymous(1).byteLength;\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.broken.json'),
      JSON.stringify({
        compilerOptions: { ...STRICT, module: 'Preserve', moduleResolution: 'Bundler' },
        files: ['broken.ts'],
      }),
    );
    const all_ = await twoAtATime(
      [...configs, 'tsconfig.broken.json'].map((c) => () => tsc(project, c)),
    );
    broken = all_.pop()!;
    results = all_;
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it.each(RESOLUTIONS.map((r, i) => [r[0], i] as const))(
    'a strict consumer of every package compiles under %s, skipLibCheck off',
    (_name, i) => {
      expect(results[i]!.output).toBe('');
      expect(results[i]!.status).toBe(0);
    },
  );

  it('the same compile fails on a type error (the check can fail)', () => {
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain("Type 'number' is not assignable to type 'string'");
  });
});

describe('arethetypeswrong', () => {
  const attw = join(repoRoot, 'tooling/release/node_modules/.bin/attw');

  it('finds no problem in any tarball, under any module resolution', async () => {
    const tarballs = tarballsIn(releaseTarballs());
    expect(Object.keys(tarballs)).toEqual(expect.arrayContaining(LIBRARIES));
    // Two at a time: each run loads a TypeScript compiler, and CI has two cores.
    const entries = Object.entries(tarballs);
    const results = new Map<string, Awaited<ReturnType<typeof exec>>>();
    const worker = async () => {
      for (let next = entries.shift(); next; next = entries.shift())
        results.set(next[0], await exec(attw, ['--format', 'json', next[1]]));
    };
    await Promise.all([worker(), worker()]);
    for (const [name, result] of results) {
      const report = JSON.parse(result.stdout) as {
        analysis: { types: unknown; entrypoints?: Record<string, unknown> };
        problems?: Record<string, unknown[]>;
      };
      expect({ name, problems: report.problems ?? {} }).toEqual({ name, problems: {} });
      expect({ name, status: result.status }).toEqual({ name, status: 0 });
      // The platform packages hold only the binary; every library has types.
      if (LIBRARIES.includes(name)) {
        expect(report.analysis.types).toEqual({ kind: 'included' });
        expect(Object.keys(report.analysis.entrypoints ?? {})).toContain('.');
      } else {
        expect(name).toMatch(/^@shmkit\/core-linux-/);
      }
    }
  });
});
