// Threads and teardown: workers terminated in the middle of mapping,
// windowing, protecting and msync-ing (their finalizers then run while the
// env goes away), a process exiting with work pending on the thread pool,
// and mappings or handles posted to another thread.
import { afterAll, describe, expect, it } from 'vitest';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

const BUSY_WORKER = String.raw`
import { mapAnonymous } from '@shmkit/core';
import { PosixShm } from '@shmkit/posix-shm';
import { workerData } from 'node:worker_threads';
const shm = PosixShm.open(workerData);
for (let i = 0; ; i++) {
  const m = i % 2 ? mapAnonymous(64 << 10) : shm.map();
  const w = m.window(8, 4096); new Uint8Array(w)[0] = i;
  if (i % 3 === 0) { m.protect('read', { offset: 4096, length: 4096 }); m.protect('read-write'); }
  m.syncAsync().catch(() => {});
  if (i % 5 !== 0) m.close();
}
`;

const attempts: Attempt[] = [
  {
    name: '200 workers terminated at random points of map/window/protect/syncAsync loops',
    run: `const name = unique('term'); const shm = PosixShm.create(name, { size: 64 << 10, exclusive: true });
try {
  for (let i = 0; i < 200; i++) {
    const w = new wt.Worker(${JSON.stringify(BUSY_WORKER)}, { eval: true, workerData: name });
    await sleep(Math.floor(Math.random() * 15));
    await w.terminate();
  }
} finally { shm.close(); PosixShm.unlink(name); }
globalThis.gc(); await sleep(50);
return 'ok';`,
    expect: 'ok',
  },
  {
    name: 'a worker that ends with windows and mappings it never closed',
    run: `for (let i = 0; i < 20; i++) {
  const w = new wt.Worker("import { mapAnonymous } from '@shmkit/core'; const keep = []; for (let i = 0; i < 50; i++) { const m = mapAnonymous(8192); keep.push(m.window(0, 8), m.window(8, 8)); if (i % 2) keep.push(m); }", { eval: true });
  await new Promise((r) => w.once('exit', r));
}
return 'ok';`,
    expect: 'ok',
  },
  {
    name: 'the process exits with msync pending and windows alive',
    run: `const r = cp.spawnSync(process.execPath, ['--input-type=module', '-e', "import { mapAnonymous } from '@shmkit/core'; const ms = []; for (let i = 0; i < 20; i++) { const m = mapAnonymous(1 << 20); new Uint8Array(m.buffer).fill(1); m.window(0, 8); m.syncAsync(); ms.push(m); } setImmediate(() => process.exit(0));"], { cwd: process.cwd(), encoding: 'utf8' });
if (r.signal || r.status !== 0) throw new Error('exit: ' + (r.signal ?? r.status) + ' ' + r.stderr);
return 'ok';`,
    expect: 'ok',
  },
  {
    name: 'posting a Mapping, its buffer, a window and its native handle to a worker',
    run: `const m = mapAnonymous(PAGE); const port = new wt.MessageChannel();
const results = [];
// Node refuses to clone a native handle with a DOMException (DataCloneError);
// external buffers are copied, never transferred.
const outcome = async (fn) => { try { return await codeOf(fn); } catch (e) { if (e?.name === 'DataCloneError') return e.name; throw e; } };
for (const value of [m, m.buffer, m.window(0, 8), internal.mappingHandle(m)]) {
  results.push(await outcome(() => port.port1.postMessage(value)));
  results.push(await outcome(() => structuredClone(value)));
  results.push(await outcome(() => structuredClone(value, { transfer: value instanceof ArrayBuffer ? [value] : [] })));
}
const copy = structuredClone(m.buffer, { transfer: [m.buffer] });
new Uint8Array(copy)[0] = 9;
if (new Uint8Array(m.buffer)[0] === 9 || m.buffer.byteLength !== PAGE) throw new Error('the mapping buffer was transferred, not copied');
port.port1.close();
touch(m.buffer); m.close();
return results;`,
  },
];

describe('workers and teardown', () => {
  it.each(attempts.map((a) => [a.name, a] as const))('%s', async (_name, attempt) => {
    expect(await failures([attempt], { attemptTimeout: 120_000 })).toEqual([]);
  });
});
