// Shrinking a POSIX shared memory object under every kind of holder of its
// memory in this process: each must make resize() refuse with
// ERR_SHMKIT_BUSY (a touch past the new end would be SIGBUS), for exactly
// as long as the memory is really mapped, and the mapping must stay
// touchable throughout.
import { afterAll, describe, expect, it } from 'vitest';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

const HELPERS = String.raw`
/** Fails the attempt (with an uncoded error) unless fn throws 'code' (or returns, for 'ok'). */
async function expectCode(what, fn, code) {
  const got = await codeOf(fn);
  if (got !== code) throw new Error(what + ': expected ' + code + ', got ' + got);
}
function object(tag) {
  const name = unique(tag);
  const shm = PosixShm.create(name, { size: 4 * PAGE, exclusive: true });
  return { name, shm, done() { try { shm.close(); } catch {} try { PosixShm.unlink(name); } catch {} } };
}
`;

const holders: Attempt[] = [
  {
    name: 'a live map() of the object',
    run: `const o = object('map'); try {
  const m = o.shm.map();
  await expectCode('shrink', () => o.shm.resize(PAGE), 'ERR_SHMKIT_BUSY');
  await expectCode('grow', () => o.shm.resize(8 * PAGE), 'ok');
  await expectCode('shrink to the mapped end', () => o.shm.resize(4 * PAGE), 'ok');
  touch(m.buffer); m.close();
  await expectCode('after close', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a map() of only the last page',
    run: `const o = object('tail'); try {
  const m = o.shm.map({ offset: 3 * PAGE });
  await expectCode('shrink below its start', () => o.shm.resize(2 * PAGE), 'ERR_SHMKIT_BUSY');
  await expectCode('shrink inside it', () => o.shm.resize(3 * PAGE + 1), 'ERR_SHMKIT_BUSY');
  touch(m.buffer); m.close();
  await expectCode('after close', () => o.shm.resize(PAGE), 'ok');
} finally { o.done(); }`,
  },
  {
    name: "mapFile('/dev/shm/NAME') of the same object",
    run: `const o = object('mapfile'); try {
  const m = mapFile('/dev/shm' + o.name);
  await expectCode('shrink', () => o.shm.resize(0), 'ERR_SHMKIT_BUSY');
  touch(m.buffer); m.close();
  await expectCode('after close', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a mapping made by another PosixShm handle of the same name',
    run: `const o = object('other'); const other = PosixShm.open(o.name); try {
  const m = other.map(); other.close();
  await expectCode('shrink', () => o.shm.resize(0), 'ERR_SHMKIT_BUSY');
  touch(m.buffer); m.close();
  await expectCode('after close', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a mapping in a worker thread',
    run: `const o = object('worker'); try {
  const w = new wt.Worker("import { PosixShm } from '@shmkit/posix-shm'; import { parentPort, workerData } from 'node:worker_threads'; const shm = PosixShm.open(workerData); const m = shm.map(); shm.close(); parentPort.postMessage('mapped'); parentPort.once('message', () => { new Uint8Array(m.buffer)[0] = 1; m.close(); parentPort.postMessage('closed'); });", { eval: true, workerData: o.name });
  const next = () => new Promise((r) => w.once('message', r));
  await next();
  await expectCode('shrink while the worker maps it', () => o.shm.resize(0), 'ERR_SHMKIT_BUSY');
  w.postMessage('close'); await next();
  await expectCode('after the worker closed it', () => o.shm.resize(0), 'ok');
  await w.terminate();
} finally { o.done(); }`,
  },
  {
    name: 'a worker that exits without closing its mapping',
    run: `const o = object('exit'); try {
  const w = new wt.Worker("import { PosixShm } from '@shmkit/posix-shm'; import { workerData } from 'node:worker_threads'; const m = PosixShm.open(workerData).map(); new Uint8Array(m.buffer)[0] = 1;", { eval: true, workerData: o.name });
  await new Promise((r) => w.once('exit', r));
  // The worker's env is gone, and with it every reference to the memory.
  for (let i = 0; i < 20 && await codeOf(() => o.shm.resize(0)) === 'ERR_SHMKIT_BUSY'; i++) await sleep(50);
  await expectCode('after the worker exited', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a view that outlives its collected Mapping',
    run: `const o = object('view'); try {
  let view = new Uint8Array(o.shm.map().buffer);
  globalThis.gc(); await sleep(10); globalThis.gc();
  await expectCode('shrink under the view', () => o.shm.resize(0), 'ERR_SHMKIT_BUSY');
  view[4 * PAGE - 1] = 1;
  view = null;
  for (let i = 0; i < 20 && await codeOf(() => o.shm.resize(0)) === 'ERR_SHMKIT_BUSY'; i++) { globalThis.gc(); await sleep(20); }
  await expectCode('once the view is collected too', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a window that outlives its collected Mapping',
    run: `const o = object('window'); try {
  let w = o.shm.map().window(3 * PAGE, PAGE);
  globalThis.gc(); await sleep(10); globalThis.gc();
  await expectCode('shrink under the window', () => o.shm.resize(PAGE), 'ERR_SHMKIT_BUSY');
  touch(w);
  w = null;
  for (let i = 0; i < 20 && await codeOf(() => o.shm.resize(PAGE)) === 'ERR_SHMKIT_BUSY'; i++) { globalThis.gc(); await sleep(20); }
  await expectCode('once the window is collected too', () => o.shm.resize(PAGE), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a closed Mapping with a Semaphore.waitAsync pending: counted for exactly as long as its memory stays mapped',
    run: `const o = object('sem'); try {
  const m = o.shm.map();
  const sem = sync.Semaphore.init(m, 0, 0);
  const pending = sem.waitAsync({ timeout: 400 });
  await sleep(20);
  m.close();
  // The wait engine ends waits on closed memory; until it lets the memory
  // go, the registry still counts it. Either way, never SIGBUS.
  const during = await codeOf(() => o.shm.resize(0));
  if (during !== 'ok' && during !== 'ERR_SHMKIT_BUSY') throw new Error('during: ' + during);
  const ended = await codeOf(() => pending);
  sem.close();
  for (let i = 0; i < 20 && await codeOf(() => o.shm.resize(0)) === 'ERR_SHMKIT_BUSY'; i++) await sleep(20);
  await expectCode('after the wait ended', () => o.shm.resize(0), 'ok');
  return { during, ended };
} finally { o.done(); }`,
  },
  {
    name: 'a closed Mapping whose memory a held PthreadMutex keeps',
    run: `const o = object('pmutex'); try {
  const m = o.shm.map();
  const mutex = sync.PthreadMutex.init(m, 0);
  const guard = mutex.lock();
  m.close();
  await expectCode('shrink while held', () => o.shm.resize(0), 'ERR_SHMKIT_BUSY');
  guard.unlock();
  await expectCode('after unlock', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    name: 'a pending syncAsync racing close',
    run: `const o = object('msync'); try {
  const m = o.shm.map(); touch(m.buffer);
  const pending = m.syncAsync();
  m.close();
  const during = await codeOf(() => o.shm.resize(0));
  if (during !== 'ok' && during !== 'ERR_SHMKIT_BUSY') throw new Error('got ' + during);
  await pending;
  await expectCode('after msync', () => o.shm.resize(0), 'ok');
} finally { o.done(); }`,
  },
  {
    // glibc keeps the semaphore '/x' in /dev/shm/sem.x: PosixShm refuses
    // those names, so no shmkit call can shrink one under its semaphore.
    name: "a NamedSemaphore's file cannot be opened, so not shrunk, through PosixShm",
    run: `const name = unique('nsem'); const sem = sync.NamedSemaphore.create(name, { value: 1, exclusive: true });
try {
  await expectCode('open', () => PosixShm.open('/sem.' + name.slice(1)), 'ERR_INVALID_ARG_VALUE');
  await expectCode('create', () => PosixShm.create('/sem.' + name.slice(1), { size: PAGE }), 'ERR_INVALID_ARG_VALUE');
  await expectCode('the semaphore still works', () => { sem.post(); if (!sem.tryWait()) throw new Error('no post'); }, 'ok');
} finally { sem.close(); sync.NamedSemaphore.unlink(name); }`,
  },
  {
    name: 'an mlock on a mapping does not keep it (the lock ends with the mapping)',
    run: `const o = object('mlock'); try {
  const m = o.shm.map();
  const code = await codeOf(() => mlock.lock(m));
  m.close();
  await expectCode('after close', () => o.shm.resize(0), 'ok');
  return code;
} finally { o.done(); }`,
  },
];

describe('resize under every kind of mapping holder', () => {
  it.each(holders.map((h) => [h.name, h] as const))('%s', async (_name, holder) => {
    expect(
      await failures([{ ...holder, expect: holder.expect ?? 'ok' }], { prelude: HELPERS }),
    ).toEqual([]);
  });

  it('a mapping and a shrink racing across threads never meet past the end (4,000 rounds)', async () => {
    const found = await failures(
      [
        {
          name: 'race',
          run: `const o = object('race'); try {
  const w = new wt.Worker(\`
    import { PosixShm } from '@shmkit/posix-shm';
    import { parentPort, workerData } from 'node:worker_threads';
    const shm = PosixShm.open(workerData.name);
    let mapped = 0, refused = 0;
    for (let i = 0; i < 4000; i++) {
      let m;
      try { m = shm.map(); } catch (e) { if (typeof e.code !== 'string') throw e; refused++; continue; }
      const b = new Uint8Array(m.buffer); b[0] = 1; b[b.length - 1] = 1;
      m.close(); mapped++;
    }
    parentPort.postMessage({ mapped, refused });\`, { eval: true, workerData: { name: o.name } });
  let busy = 0, resized = 0, stop = false;
  const done = new Promise((resolve, reject) => { w.once('message', (r) => { stop = true; resolve(r); }); w.once('error', (e) => { stop = true; reject(e); }); });
  while (!stop) {
    const size = (1 + (resized + busy) % 4) * PAGE;
    const code = await codeOf(() => o.shm.resize(size));
    if (code === 'ok') resized++; else if (code === 'ERR_SHMKIT_BUSY') busy++; else throw new Error('resize: ' + code);
    if ((resized + busy) % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  const result = await done;
  await w.terminate();
  // Both sides must really have met: refusals and resizes, maps that worked.
  if (busy === 0 || resized === 0 || result.mapped === 0) throw new Error('no race: ' + JSON.stringify({ ...result, resized, busy }));
  return { ...result, resized, busy };
} finally { o.done(); }`,
          expect: 'ok',
        },
      ],
      { prelude: HELPERS, attemptTimeout: 120_000 },
    );
    expect(found).toEqual([]);
  });
});
