import { describe, expect, it } from 'vitest';
import { runNode } from '@shmkit/testing';

const pkgDir = new URL('..', import.meta.url).pathname;

describe('map/close cycles', () => {
  it('100,000 cycles reuse addresses without aborting or growing RSS', async () => {
    const r = await runNode(
      `import { mapAnonymous } from '@shmkit/core';
       import { readFileSync } from 'node:fs';
       const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
       // Node runs Node-API finalizers from setImmediate: yield now and then,
       // as any real program does, so collected mappings are finalized.
       const tick = () => new Promise((r) => setImmediate(r));
       const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await tick(); } };
       const cycle = async (n, seen) => {
         for (let i = 0; i < n; i++) {
           if (i % 5000 === 0) await tick();
           const m = mapAnonymous(65536);
           const v = m.uint8Array();
           v[0] = 1; v[65535] = 2;
           seen?.add(m.address);
           m.close();
         }
       };
       await cycle(10000);
       await settle();
       const before = rss();
       const seen = new Set();
       await cycle(100000, seen);
       await settle();
       const after = rss();
       console.log(JSON.stringify({ distinct: seen.size, growth: after - before }));`,
      { cwd: pkgDir, nodeArgs: ['--expose-gc'], timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { distinct, growth } = JSON.parse(r.stdout) as { distinct: number; growth: number };
    // The kernel hands the same few addresses back: proof that stale
    // buffers pointing at reused addresses were detached, not left live.
    expect(distinct).toBeLessThan(1000);
    expect(growth).toBeLessThan(16 * 1024 * 1024);
  }, 120_000);
});
