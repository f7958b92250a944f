import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '../src/index';
import { runNode, uniqueName } from '@shmkit/testing';
import { name, pkgDir } from './helpers';

describe('across processes', () => {
  it('Atomics on a POSIX object: 3 node processes x 100,000 increments, exact total', async () => {
    const n = name('shmkit-pshm-atomics');
    using shm = PosixShm.create(n, { size: 4096, exclusive: true });
    using map = shm.map();
    const counter = map.int32Array(0, 1);
    const child = `
      import { PosixShm } from '@shmkit/posix-shm';
      const shm = PosixShm.open(${JSON.stringify(n)});
      const map = shm.map();
      const words = map.int32Array();
      for (let i = 0; i < 100000; i++) Atomics.add(words, 0, 1);
      map.close();
      shm.close();
      console.log('done');
    `;
    const results = await Promise.all([1, 2, 3].map(() => runNode(child, { cwd: pkgDir })));
    for (const r of results) expect(r.stderr + r.stdout).toBe('done\n');
    expect(Atomics.load(counter, 0)).toBe(300_000);
  });

  it('10,000 create/map/close/unlink cycles leave nothing behind and do not grow RSS', async () => {
    const prefix = uniqueName('shmkit-pshm-cycle');
    const child = `
      import { PosixShm } from '@shmkit/posix-shm';
      import { readFileSync, readdirSync } from 'node:fs';
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const tick = () => new Promise((r) => setImmediate(r));
      async function cycles(from, to) {
        for (let i = from; i < to; i++) {
          const name = '/${prefix}-' + (i % 7);
          const shm = PosixShm.create(name, { size: 65536, exclusive: true });
          const map = shm.map();
          map.int32Array()[i % 1000] = i;
          map.close();
          shm.close();
          shm.unlink();
          // Let finalizers and the GC run now and then, as a real program would.
          if (i % 500 === 0) { await tick(); globalThis.gc(); }
        }
      }
      await cycles(0, 1000);
      await tick(); globalThis.gc();
      const before = rss();
      const fdsBefore = readdirSync('/proc/self/fd').length;
      await cycles(1000, 10000);
      await tick(); globalThis.gc();
      const after = rss();
      const fds = readdirSync('/proc/self/fd').length - fdsBefore;
      console.log(JSON.stringify({ before, after, fds }));
    `;
    const r = await runNode(child, { cwd: pkgDir, nodeArgs: ['--expose-gc'] });
    expect(r.stderr).toBe('');
    const { before, after, fds } = JSON.parse(r.stdout) as {
      before: number;
      after: number;
      fds: number;
    };
    expect(fds).toBeLessThanOrEqual(0);
    console.log(`RSS after 1,000 cycles ${before} B, after 10,000 ${after} B`);
    // 9,000 leaked 64 KiB mappings would be ~560 MiB; leaked handles several MiB.
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(prefix))).toEqual([]);
  });
});
