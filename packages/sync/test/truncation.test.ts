// A file holding a primitive, truncated under it by another process. For
// plain mappings shmkit catches the SIGBUS and maps zero pages (see
// @shmkit/mmap), but a lock or semaphore over private zeros would go on
// working unshared: two processes could both hold one lock. So a truncation
// under a primitive stays fatal, as it was without shmkit. Each case runs
// in a node child, so the SIGBUS ends the child, not vitest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runNode } from '@shmkit/testing';
import { afterAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'shmkit-sync-truncation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const primitives = {
  Mutex: `const p = Mutex.init(m, 4096); log('locked'); p.lock();`,
  SharedEvent: `const p = SharedEvent.init(m, 4096); log('set'); p.set();`,
  Semaphore: `const p = Semaphore.init(m, 4096, 1); log('waited'); p.tryWait();`,
};

describe('a truncation under a primitive', () => {
  for (const [name, use] of Object.entries(primitives)) {
    it(`${name}: stays fatal (SIGBUS) instead of working on private zero pages`, async () => {
      const path = join(dir, name);
      const result = await runNode(
        `import { closeSync, ftruncateSync, openSync, truncateSync } from 'node:fs';
         import { adoptMapping, native } from '@shmkit/core/internal';
         import { Mutex, SharedEvent, Semaphore } from '@shmkit/sync';
         const [path] = process.argv.slice(1);
         const log = (what) => console.log(what);
         const fd = openSync(path, 'w+');
         ftruncateSync(fd, 8192);
         const map = () => adoptMapping(native.mapFd(fd, 0, 8192, { shared: true }), { kind: 'file' });
         const m = map();
         // Another mapping of the same file, with no primitive in it.
         const plain = map();
         closeSync(fd);
         truncateSync(path, 4096);
         console.log('plain reads ' + plain.uint8Array()[4096] + ', truncated ' + plain.truncated);
         ${use}
         console.log('survived');`,
        { cwd: pkgDir, args: [path] },
      );
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).toBe('plain reads 0, truncated true');
      expect(lines).not.toContain('survived');
      expect(result.signal).toBe('SIGBUS');
    });
  }
});
