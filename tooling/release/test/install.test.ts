import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consumerProject,
  installedShmkit,
  releaseTarballs,
  repoRoot,
  sh,
  tarball,
} from './helpers';

const triple = readFileSync(join(repoRoot, '.host-platform'), 'utf8').trim();
const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('release tarballs', () => {
  let dir: string;
  beforeAll(() => {
    dir = releaseTarballs();
  });

  it('exist for every library and the host platform package', () => {
    for (const name of [
      'core',
      'sysv-shm',
      'posix-shm',
      'mmap',
      'mlock',
      'sync',
      'channel',
      'cli',
      `core-${triple}`,
    ]) {
      expect(existsSync(tarball(dir, `@shmkit/${name}`))).toBe(true);
    }
  });

  it('hold only what ships: no sources, tests or native binary in @shmkit/core', () => {
    const list = sh('tar', ['-tzf', tarball(dir, '@shmkit/core')], dir)
      .split('\n')
      .filter(Boolean);
    expect(list).toContain('package/dist/index.js');
    expect(list).toContain('package/dist/index.mjs');
    expect(list).toContain('package/dist/index.d.ts');
    expect(list.some((f) => f.includes('/src/') || f.includes('/test/') || f.endsWith('.rs'))).toBe(
      false,
    );
    expect(list.some((f) => f.endsWith('.node'))).toBe(false);
    const pkg = JSON.parse(
      sh('tar', ['-xzOf', tarball(dir, '@shmkit/core'), 'package/package.json'], dir),
    ) as {
      optionalDependencies: Record<string, string>;
      version: string;
    };
    expect(pkg.optionalDependencies[`@shmkit/core-${triple}`]).toBe(pkg.version);
    const platform = sh('tar', ['-tzf', tarball(dir, `@shmkit/core-${triple}`)], dir);
    expect(platform).toContain(`package/core.${triple}.node`);
  });

  describe('a project that installs only @shmkit/mmap', () => {
    let project: string;
    beforeAll(() => {
      project = consumerProject([
        tarball(dir, `@shmkit/core-${triple}`),
        tarball(dir, '@shmkit/core'),
        tarball(dir, '@shmkit/mmap'),
      ]);
      cleanup.push(project);
    });

    it('gets mmap, core and the platform binary, nothing else', () => {
      expect(installedShmkit(project)).toEqual(['core', `core-${triple}`, 'mmap']);
    });

    const script = (imp: string) => `${imp}
      const file = process.argv[2];
      const m = mapFile(file, { size: 8192 });
      m.uint8Array().set(Buffer.from('hello from a mapping'));
      m.sync();
      m.close();
      console.log(require_('node:fs').readFileSync(file, 'utf8').slice(0, 20));`;

    it('maps a file from ESM', () => {
      const file = join(project, 'esm.bin');
      writeFileSync(
        join(project, 'esm.mjs'),
        script(
          `import { mapFile } from '@shmkit/mmap'; import * as fs from 'node:fs'; const require_ = () => fs;`,
        ),
      );
      expect(sh(process.execPath, ['esm.mjs', file], project).trim()).toBe('hello from a mapping');
    });

    it('maps a file from CommonJS', () => {
      const file = join(project, 'cjs.bin');
      writeFileSync(
        join(project, 'cjs.cjs'),
        script(`const { mapFile } = require('@shmkit/mmap'); const require_ = require;`),
      );
      expect(sh(process.execPath, ['cjs.cjs', file], project).trim()).toBe('hello from a mapping');
    });
  });

  describe('a project with @shmkit/sync and @shmkit/posix-shm', () => {
    let project: string;
    beforeAll(() => {
      project = consumerProject([
        tarball(dir, `@shmkit/core-${triple}`),
        tarball(dir, '@shmkit/core'),
        tarball(dir, '@shmkit/posix-shm'),
        tarball(dir, '@shmkit/sync'),
      ]);
      cleanup.push(project);
    });

    it('installs only what it asked for', () => {
      expect(installedShmkit(project)).toEqual(['core', `core-${triple}`, 'posix-shm', 'sync']);
    });

    it('two processes share a counter under a mutex', async () => {
      const name = `/shmkit-release-${process.pid}`;
      writeFileSync(
        join(project, 'count.mjs'),
        `import { PosixShm } from '@shmkit/posix-shm';
         import { Mutex } from '@shmkit/sync';
         const [name, role] = process.argv.slice(2);
         const shm = role === 'init' ? PosixShm.create(name, { size: 4096 }) : PosixShm.open(name);
         const map = shm.map();
         const mutex = role === 'init' ? Mutex.init(map, 0) : Mutex.attach(map, 0);
         const counter = map.int32Array(64, 1);
         if (role === 'worker') {
           for (let i = 0; i < 20000; i++) {
             const guard = mutex.lock();
             try {
               counter[0] = counter[0] + 1;
             } finally {
               guard.unlock();
             }
           }
         }
         console.log(counter[0]);
         map.close();
         shm.close();`,
      );
      try {
        sh(process.execPath, ['count.mjs', name, 'init'], project);
        const workers = [0, 1].map(
          () =>
            new Promise<number | null>((resolve) =>
              spawn(process.execPath, ['count.mjs', name, 'worker'], {
                cwd: project,
                stdio: 'ignore',
              }).on('exit', resolve),
            ),
        );
        expect(await Promise.all(workers)).toEqual([0, 0]);
        const total = sh(process.execPath, ['count.mjs', name, 'read'], project);
        expect(Number(total.trim())).toBe(40000);
      } finally {
        rmSync(`/dev/shm${name}`, { force: true });
      }
    });
  });
});

/**
 * Runs a command without blocking this worker's event loop (an npm install
 * can take a minute under load, longer than vitest waits for its worker).
 */
function shAsync(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${stdout}\n${stderr}`)),
    );
  });
}

describe('the shmkit command from its tarball', () => {
  let project: string;
  beforeAll(async () => {
    const dir = releaseTarballs();
    project = mkdtempSync(join(tmpdir(), 'shmkit-consumer-cli-'));
    cleanup.push(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    // What `npx @shmkit/cli` installs: the CLI and the libraries it uses.
    const tarballs = [
      'core-' + triple,
      'core',
      'posix-shm',
      'sysv-shm',
      'sync',
      'channel',
      'cli',
    ].map((name) => tarball(dir, `@shmkit/${name}`));
    await shAsync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs],
      project,
    );
  }, 300_000);

  it('runs as `shmkit` from node_modules/.bin and lists what another program made', async () => {
    const shmkit = (...args: string[]) =>
      shAsync('npx', ['--no-install', 'shmkit', ...args], project);
    expect((await shmkit('--version')).trim()).toMatch(/^\d+\.\d+\.\d+/);
    const name = `/shmkit-release-cli-${process.pid}`;
    // An empty spsc channel header (LAYOUT.md: magic, version 1, kind 1,
    // 2^12-byte ring, 1 ring, 1 receiver slot, 4096-byte header, codec 0).
    const header = Buffer.alloc(8192);
    header.write('shmkchan', 'latin1');
    [1, 1, 12, 1, 1, 4096, 0].forEach((word, i) => header.writeUInt32LE(word, 8 + 4 * i));
    writeFileSync(`/dev/shm${name}`, header);
    try {
      const json = JSON.parse(await shmkit('ls', '--json', '--type', 'posix-shm')) as {
        schema: number;
        objects: Array<{ name: string; size: number; content: Record<string, unknown> | null }>;
      };
      expect(json.schema).toBe(1);
      const listed = json.objects.find((o) => o.name === name);
      expect(listed?.size).toBe(8192);
      // The published CLI carries the channel recogniser (and @shmkit/channel with it).
      expect(listed?.content).toMatchObject({ kind: 'channel', status: 'ok', channelKind: 'spsc' });
      expect(await shmkit('rm', name)).toBe(`removed posix-shm ${name}\n`);
      expect(existsSync(`/dev/shm${name}`)).toBe(false);
    } finally {
      rmSync(`/dev/shm${name}`, { force: true });
    }
  });
});

describe('changesets', () => {
  it('bumps the fixed group together (in a temporary copy)', () => {
    const copy = mkdtempSync(join(tmpdir(), 'shmkit-changeset-'));
    cleanup.push(copy);
    sh('git', ['clone', '-q', '--no-hardlinks', repoRoot, copy], repoRoot);
    sh('ln', ['-s', join(repoRoot, 'node_modules'), join(copy, 'node_modules')], copy);
    const before = JSON.parse(readFileSync(join(copy, 'packages/mmap/package.json'), 'utf8')) as {
      version: string;
    };
    writeFileSync(
      join(copy, '.changeset/sample-fix.md'),
      `---\n'@shmkit/mmap': patch\n---\n\nA sample fix.\n`,
    );
    sh(process.execPath, [join(repoRoot, 'node_modules/@changesets/cli/bin.js'), 'version'], copy);
    // Pending changesets in the repo may raise the bump above a patch; what
    // matters is that every library moves, to one version, past the old one.
    const versions = ['core', 'sysv-shm', 'posix-shm', 'mmap', 'mlock', 'sync', 'channel'].map(
      (name) =>
        (
          JSON.parse(readFileSync(join(copy, `packages/${name}/package.json`), 'utf8')) as {
            version: string;
          }
        ).version,
    );
    expect(new Set(versions).size).toBe(1);
    const newer = (a: string, b: string) => {
      const [x, y] = [a, b].map((v) => v.split('.').map(Number));
      for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return x![i]! > y![i]!;
      return false;
    };
    expect(newer(versions[0]!, before.version)).toBe(true);
    expect(readFileSync(join(copy, 'packages/mmap/CHANGELOG.md'), 'utf8')).toContain(
      'A sample fix.',
    );
    expect(existsSync(join(copy, '.changeset/sample-fix.md'))).toBe(false);
  });
});
