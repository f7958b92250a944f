import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { inject } from 'vitest';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);

export function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The folder of release tarballs the global setup packed. */
export function releaseTarballs(): string {
  return inject('tarballs');
}

/** The tarball of `name` (e.g. '@shmkit/mmap') in `dir`. */
export function tarball(dir: string, name: string): string {
  const prefix = name.replace('@', '').replace('/', '-') + '-';
  const file = readdirSync(dir).find(
    (f) => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length)),
  );
  if (!file) throw new Error(`no tarball for ${name} in ${dir}: ${readdirSync(dir).join(', ')}`);
  return join(dir, file);
}

/** A new npm project outside the repository with only `tarballs` installed. */
export function consumerProject(tarballs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'shmkit-consumer-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], dir);
  return dir;
}

/** The installed @shmkit packages of a consumer project. */
export function installedShmkit(dir: string): string[] {
  return readdirSync(join(dir, 'node_modules/@shmkit')).sort();
}
