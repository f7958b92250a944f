import { describe, expect, it } from 'vitest';
import { runNode, runNodeCjs } from '@shmkit/testing';

const pkgDir = new URL('..', import.meta.url).pathname;

// Each check maps, writes, reads back and closes, so "loads" means "works".
const body = `
  const m = mapAnonymous(pageSize());
  m.uint8Array()[1] = 42;
  const ok = m.read(1, 1)[0] === 42;
  m.close();
  console.log(JSON.stringify({ ok, page: pageSize(), closed: m.closed }));
`;

describe('loading the addon', () => {
  it('works through ESM import', async () => {
    const r = await runNode(`import { mapAnonymous, pageSize } from '@shmkit/core'; ${body}`, {
      cwd: pkgDir,
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, page: 4096, closed: true });
  });

  it('works through CJS require', async () => {
    const r = await runNodeCjs(
      `const { mapAnonymous, pageSize } = require('@shmkit/core'); ${body}`,
      { cwd: pkgDir },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, page: 4096, closed: true });
  });

  it('ESM and CJS share one module instance', async () => {
    const r = await runNode(
      `import { createRequire } from 'node:module';
       import { Mapping } from '@shmkit/core';
       const req = createRequire(process.cwd() + '/');
       console.log(req('@shmkit/core').Mapping === Mapping);`,
      { cwd: pkgDir },
    );
    expect(r.stdout.trim()).toBe('true');
  });

  it('works in worker threads, through both module systems', async () => {
    const r = await runNode(
      `import { Worker } from 'node:worker_threads';
       const run = (file) => new Promise((resolve, reject) => {
         const w = new Worker(new URL(file, 'file://' + process.cwd() + '/test/fixtures/'), { execArgv: [] });
         w.on('message', resolve);
         w.on('error', reject);
       });
       console.log(JSON.stringify([await run('worker-esm.mjs'), await run('worker-cjs.cjs')]));`,
      { cwd: pkgDir },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([4096 + 7, 8192]);
  });

  it('explains what it tried when the binary is missing', async () => {
    const r = await runNodeCjs(
      `try { require('./dist/loader.js') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`,
      { cwd: pkgDir, env: { SHMKIT_NATIVE_LIBRARY_PATH: '/nonexistent/core.node' } },
    );
    // The override fails, then the local binary loads: no error at all.
    expect(r.stdout).toBe('');
    const missing = await runNodeCjs(
      `const fs = require('node:fs'); const path = require('node:path');
       const dir = fs.mkdtempSync('/tmp/shmkit-loader-');
       // The loader and the modules it needs, without the binary beside them.
       fs.cpSync('dist', dir + '/dist', { recursive: true, filter: (f) => !f.endsWith('.map') });
       try { require(dir + '/dist/loader.js') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }
       fs.rmSync(dir, { recursive: true });`,
      { cwd: pkgDir },
    );
    const err = JSON.parse(missing.stdout) as { code: string; message: string };
    expect(err.code).toBe('ERR_SHMKIT_NATIVE_LOAD');
    expect(err.message).toMatch(/core\.linux-x64-(gnu|musl)\.node: file not found/);
    expect(err.message).toMatch(/@shmkit\/core-linux-x64-(gnu|musl): Cannot find module/);
  });
});
