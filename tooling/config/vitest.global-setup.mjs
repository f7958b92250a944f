// Runs once per vitest run. It installs the Debian packages tests rely on
// (debian-packages.mjs) when they are missing. Some tests start children as
// an unprivileged user (setpriv --reuid=65534) to check that permissions are
// enforced; such
// a child must still be able to load the workspace's packages. A checkout in
// a private temporary folder (mktemp -d makes it 0700) would stop it at the
// first directory, so when running as root, make every ancestor of the
// workspace searchable (o+x, never o+r).
import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian-packages.mjs';

export default function setup() {
  if (process.getuid?.() !== 0) return;
  ensureDebianPackages();
  let dir = join(dirname(fileURLToPath(import.meta.url)), '../..');
  for (;;) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}
