// Projects outside the repository that install shmkit the way a user does:
// from the release tarballs, with npm or pnpm, and nothing else of ours.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from './process.mjs';

/** Runs a command synchronously; throws with its output when it fails. Returns stdout. */
export function sh(cmd, args, cwd, env = {}) {
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', ...env },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${result.status ?? result.signal}) in ${cwd}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** `{ packageName: tarballPath }` for every tarball in `dir` (read from each one's package.json). */
export function tarballsIn(dir) {
  const map = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
    const path = join(dir, file);
    const { name } = JSON.parse(sh('tar', ['-xzOf', path, 'package/package.json'], dir));
    map[name] = path;
  }
  return map;
}

/**
 * A new project in the system's temporary directory that depends on exactly
 * `packages` (names of tarballs in `tarballs`), installed with `manager`
 * ('npm' or 'pnpm'). Every @shmkit package a tarball depends on resolves to
 * its tarball too, never to a registry; platform packages without a tarball
 * (other CPUs and libcs) are dropped. pnpm is strict: an import of a
 * package the project does not list fails, as it would for a user.
 */
export async function consumerProject(packages, tarballs, manager, { type = 'module' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `shmkit-consumer-${manager}-`));
  const file = (name) => {
    const path = tarballs[name];
    if (!path) throw new Error(`no tarball for ${name} (have ${Object.keys(tarballs).join(', ')})`);
    return `file:${path}`;
  };
  const overrides = Object.fromEntries(Object.keys(tarballs).map((name) => [name, file(name)]));
  const pkg = {
    name: 'shmkit-consumer',
    version: '1.0.0',
    private: true,
    type,
    dependencies: Object.fromEntries(packages.map((name) => [name, file(name)])),
  };
  if (manager === 'pnpm') {
    for (const target of [
      'linux-x64-gnu',
      'linux-arm64-gnu',
      'linux-x64-musl',
      'linux-arm64-musl',
    ]) {
      overrides[`@shmkit/core-${target}`] ??= '-';
    }
    pkg.pnpm = { overrides };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    // CI=true makes pnpm insist on a lock file; a fresh project has none.
    await check(
      'pnpm',
      ['install', '--no-frozen-lockfile', '--ignore-workspace', '--reporter=silent'],
      {
        cwd: dir,
      },
    );
  } else if (manager === 'npm') {
    pkg.overrides = overrides;
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    await check('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  } else {
    throw new Error(`unknown package manager ${manager}`);
  }
  return dir;
}
