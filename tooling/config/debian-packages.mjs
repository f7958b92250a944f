// Debian packages the test suites rely on beyond Node, npm, Rust and a C
// compiler: peers to test interop against and tools to drive the CLIs with.
// The vitest global setup installs the missing ones (as root, with apt), so
// `pnpm test` works on a fresh machine. Add a package here, not in a test.
import { spawnSync } from 'node:child_process';

export const TEST_DEBIAN_PACKAGES = [
  // Python's System V IPC module (sysv_ipc), for interop tests.
  'python3-sysv-ipc',
  // A terminal multiplexer, to drive full-screen commands through a pty.
  'tmux',
];

function installed(name) {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return query.status === 0 && query.stdout.includes('install ok installed');
}

function apt(args) {
  return spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  }).status;
}

/**
 * Installs whichever of `names` is missing. Only as root on a Debian-like
 * system: elsewhere, tests that need a package fail with its name, which is
 * better than a silent skip.
 */
export function ensureDebianPackages(names = TEST_DEBIAN_PACKAGES) {
  if (process.getuid?.() !== 0) return;
  if (spawnSync('dpkg-query', ['--version']).status !== 0) return;
  const missing = names.filter((name) => !installed(name));
  if (missing.length === 0) return;
  console.error(`[shmkit] installing test dependencies with apt: ${missing.join(' ')}`);
  const install = ['install', '-y', '-qq', '--no-install-recommends', ...missing];
  if (apt(install) !== 0 && (apt(['update', '-qq']) !== 0 || apt(install) !== 0)) {
    throw new Error(`apt-get could not install ${missing.join(' ')}`);
  }
}
