// Huge, NaN, negative, fractional, -0, bigint, string and object "numbers"
// for every numeric argument of every public call. Each must be taken (as
// the number it is) or refused with a coded error before any system call;
// none may crash, hang, or be silently truncated into something else.
//
// Waits are given a peer that wakes them after ~100 ms (a timer for async
// waits, a worker thread for sync ones), so a timeout of Infinity, 2^53 or
// 1e33 must end woken, never hang, and a tiny one must end at once.
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot } from '@shmkit/testing';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

const VALUES: Record<string, string> = {
  NaN: 'NaN',
  Infinity: 'Infinity',
  '-Infinity': '-Infinity',
  '-1': '-1',
  '-0': '-0',
  '0.5': '0.5',
  'Number.MIN_VALUE': 'Number.MIN_VALUE',
  '2^31': '2 ** 31',
  '2^32': '2 ** 32',
  '1e21': '1e21',
  '1e22': '1e22',
  '1e33': '1e33',
  '2^53': '2 ** 53',
  '2^64': '2 ** 64',
  '-(2^63)': '-(2 ** 63)',
  '1n': '1n',
  '-1n': '-1n',
  '2n ** 64n': '2n ** 64n',
  "'1'": "'1'",
  "'0x10'": "'0x10'",
  true: 'true',
  null: 'null',
  '{ valueOf }': '({ valueOf() { return 1; } })',
  '[]': '[]',
};

interface NumberSite {
  name: string;
  /**
   * For waits with a peer: true (as a JS expression over the result `r`)
   * when the wait was woken. Huge timeouts must end woken.
   */
  woken?: string;
  setup?: string;
  /** The call with $N where the value goes. */
  call: string;
  cleanup?: string;
}

/** Wakes waits after ~100 ms from another thread: WAKE(kind) in setup. */
const WAKER = String.raw`
function wakeLater(script, data) {
  // The attempt may be over by then (the wait refused its timeout): a
  // waker that finds nothing to wake does nothing.
  const w = new wt.Worker("import { workerData } from 'node:worker_threads'; import * as sync from '@shmkit/sync'; import { PosixShm } from '@shmkit/posix-shm'; setTimeout(async () => { try { " + script + " } catch {} }, 100);", { eval: true, workerData: data });
  w.unref();
  return w;
}
function later(fn) { setTimeout(() => { try { fn(); } catch {} }, 100); }
function sharedObject() {
  const name = unique('num'); const shm = PosixShm.create(name, { size: PAGE, exclusive: true }); const m = shm.map();
  return { name, shm, m, done() { m.close(); shm.close(); PosixShm.unlink(name); } };
}
`;

const sites: Record<string, NumberSite[]> = {
  '@shmkit/core': [
    { name: 'mapAnonymous(size)', call: 'mapAnonymous($N).close()' },
    {
      name: 'mapping.read(offset)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'm.read($N)',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.read(0, length)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'm.read(0, $N)',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.window(offset)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'touch(m.window($N))',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.window(0, length)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'touch(m.window(0, $N))',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.sync({ offset })',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'm.sync({ offset: $N })',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.sync({ length })',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'm.sync({ length: $N })',
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.protect({ offset })',
      setup: 'const m = mapAnonymous(2 * PAGE);',
      call: "m.protect('read', { offset: $N }); m.protect('read-write'); touchMapping(m)",
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.protect({ length })',
      setup: 'const m = mapAnonymous(2 * PAGE);',
      call: "m.protect('none', { length: $N }); touchMapping(m)",
      cleanup: 'm.close()',
    },
    {
      name: 'mapping.advise({ offset, length })',
      setup: 'const m = mapAnonymous(2 * PAGE);',
      call: "m.advise('dontneed', { offset: $N, length: $N }); touchMapping(m)",
      cleanup: 'm.close()',
    },
  ],
  '@shmkit/posix-shm': [
    {
      name: 'PosixShm.create({ size })',
      setup: "const name = unique('n');",
      call: 'PosixShm.create(name, { size: $N, exclusive: true }).close()',
      cleanup: 'PosixShm.unlink(name)',
    },
    {
      name: 'PosixShm.create({ mode })',
      setup: "const name = unique('n');",
      call: 'PosixShm.create(name, { size: PAGE, mode: $N, exclusive: true }).close()',
      cleanup: 'PosixShm.unlink(name)',
    },
    {
      name: 'shm.map({ offset })',
      setup: 'const o = sharedObject();',
      call: 'touchMapping(o.shm.map({ offset: $N }))',
      cleanup: 'o.done()',
    },
    {
      name: 'shm.map({ length })',
      setup: 'const o = sharedObject();',
      call: 'touchMapping(o.shm.map({ length: $N }))',
      cleanup: 'o.done()',
    },
    {
      name: 'shm.resize(size)',
      setup: 'const o = sharedObject(); o.m.close();',
      call: 'o.shm.resize($N)',
      cleanup: 'o.shm.close(); PosixShm.unlink(o.name)',
    },
  ],
  '@shmkit/mmap': [
    { name: 'mapFile(fd)', call: 'mapFile($N).close()' },
    {
      name: 'mapFile({ offset })',
      setup: "const f = path.join(tmpDir(), 'f'); fs.writeFileSync(f, Buffer.alloc(2 * PAGE));",
      call: 'touchMapping(mapFile(f, { offset: $N }))',
    },
    {
      name: 'mapFile({ length })',
      setup: "const f = path.join(tmpDir(), 'f'); fs.writeFileSync(f, Buffer.alloc(2 * PAGE));",
      call: 'touchMapping(mapFile(f, { length: $N }))',
    },
    {
      name: 'mapFile({ size })',
      setup: "const f = path.join(tmpDir(), 'f');",
      call: 'touchMapping(mapFile(f, { size: $N, length: PAGE, reserve: false }))',
    },
    {
      name: 'mapFile({ mode })',
      setup: "const f = path.join(tmpDir(), 'f');",
      call: 'touchMapping(mapFile(f, { size: PAGE, mode: $N }))',
    },
  ],
  '@shmkit/sysv-shm': [
    { name: 'ftok(path, projId)', call: "ftok('/tmp', $N)" },
    { name: 'SysvSegment.create({ size })', call: 'SysvSegment.create({ size: $N }).remove()' },
    {
      name: 'SysvSegment.create({ key })',
      call: 'SysvSegment.create({ key: $N, size: PAGE, exclusive: true }).remove()',
    },
    {
      name: 'SysvSegment.create({ mode })',
      call: 'SysvSegment.create({ size: PAGE, mode: $N }).remove()',
    },
    { name: 'SysvSegment.open({ key })', call: 'SysvSegment.open({ key: $N })' },
    { name: 'SysvSegment.fromId(id)', call: 'SysvSegment.fromId($N).stat()' },
    {
      name: 'segment.set({ mode })',
      setup: 'const s = SysvSegment.create({ size: PAGE });',
      call: 's.set({ mode: $N })',
      cleanup: 's.remove()',
    },
    {
      name: 'segment.set({ uid })',
      setup: 'const s = SysvSegment.create({ size: PAGE });',
      call: 's.set({ uid: $N })',
      cleanup: 's.remove()',
    },
    { name: 'formatKey(key)', call: 'sysv.formatKey($N)' },
  ],
  '@shmkit/sync': [
    {
      name: 'Mutex.init(memory, offset)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'sync.Mutex.init(m, $N).tryLock()?.unlock()',
      cleanup: 'm.close()',
    },
    {
      name: 'mutex.lock({ timeout })',
      setup: 'const m = mapAnonymous(PAGE); const mutex = sync.Mutex.init(m, 0);',
      call: 'mutex.lock({ timeout: $N }).unlock()',
      cleanup: 'm.close()',
    },
    {
      name: 'mutex.lock({ spin })',
      setup: 'const m = mapAnonymous(PAGE); const mutex = sync.Mutex.init(m, 0);',
      call: 'mutex.lock({ spin: $N }).unlock()',
      cleanup: 'm.close()',
    },
    {
      name: 'futexWait(timeout) woken by a worker',
      setup:
        "const o = sharedObject(); const words = new Int32Array(o.m.buffer); wakeLater('const m = PosixShm.open(workerData).map(); const w = new Int32Array(m.buffer); Atomics.store(w, 0, 1); sync.futexWake(w, 0); m.close();', o.name);",
      call: 'return sync.futexWait(words, 0, 0, $N)',
      woken: "r === 'ok'",
      cleanup: 'o.done()',
    },
    {
      name: 'futexWaitAsync(timeout) woken by a timer',
      setup:
        'const m = mapAnonymous(PAGE); const words = new Int32Array(m.buffer); later(() => { Atomics.store(words, 0, 1); sync.futexWake(words, 0); });',
      call: 'return await sync.futexWaitAsync(words, 0, 0, $N)',
      woken: "r === 'ok'",
      cleanup: 'm.close()',
    },
    {
      name: 'futexWait(index)',
      setup: 'const m = mapAnonymous(PAGE); const words = new Int32Array(m.buffer);',
      call: 'sync.futexWait(words, $N, 1, 10)',
      cleanup: 'm.close()',
    },
    {
      name: 'futexWait(value)',
      setup: 'const m = mapAnonymous(PAGE); const words = new Int32Array(m.buffer);',
      call: 'sync.futexWait(words, 0, $N, 10)',
      cleanup: 'm.close()',
    },
    {
      name: 'futexWake(count)',
      setup: 'const m = mapAnonymous(PAGE); const words = new Int32Array(m.buffer);',
      call: 'return sync.futexWake(words, 0, $N)',
      cleanup: 'm.close()',
    },
    {
      name: 'Semaphore.init(value)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'sync.Semaphore.init(m, 0, $N).tryWait()',
      cleanup: 'm.close()',
    },
    {
      name: 'Semaphore.init(offset)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'sync.Semaphore.init(m, $N, 1).tryWait()',
      cleanup: 'm.close()',
    },
    {
      name: 'semaphore.waitAsync({ timeout }) posted by a timer',
      setup:
        'const m = mapAnonymous(PAGE); const sem = sync.Semaphore.init(m, 0, 0); later(() => sem.post());',
      call: 'return await sem.waitAsync({ timeout: $N })',
      woken: 'r === true',
      cleanup: 'm.close()',
    },
    {
      name: 'semaphore.wait({ timeout }) posted by a worker',
      setup:
        "const o = sharedObject(); const sem = sync.Semaphore.init(o.m, 0, 0); wakeLater('const m = PosixShm.open(workerData).map(); sync.Semaphore.attach(m, 0).post(); m.close();', o.name);",
      call: 'return sem.wait({ timeout: $N })',
      woken: 'r === true',
      cleanup: 'o.done()',
    },
    {
      name: 'SharedEvent.init(offset)',
      setup: 'const m = mapAnonymous(PAGE);',
      call: 'sync.SharedEvent.init(m, $N).set()',
      cleanup: 'm.close()',
    },
    {
      name: 'event.waitAsync({ timeout }) set by a timer',
      setup:
        'const m = mapAnonymous(PAGE); const e = sync.SharedEvent.init(m, 0); later(() => e.set());',
      call: 'return await e.waitAsync({ timeout: $N })',
      woken: 'r === true',
      cleanup: 'm.close()',
    },
    {
      name: 'NamedSemaphore.create({ value })',
      setup: "const name = unique('ns');",
      call: 'sync.NamedSemaphore.create(name, { value: $N }).close()',
      cleanup: 'sync.NamedSemaphore.unlink(name)',
    },
    {
      name: 'NamedSemaphore.create({ mode })',
      setup: "const name = unique('ns');",
      call: 'sync.NamedSemaphore.create(name, { mode: $N }).close()',
      cleanup: 'sync.NamedSemaphore.unlink(name)',
    },
    {
      name: 'SysvSemaphoreSet.create({ count })',
      call: 'sync.SysvSemaphoreSet.create({ count: $N }).remove()',
    },
    {
      name: 'set.set(index, value)',
      setup: 'const s = sync.SysvSemaphoreSet.create({ count: 2 });',
      call: 's.set(0, $N)',
      cleanup: 's.remove()',
    },
    {
      name: 'set.get(index)',
      setup: 'const s = sync.SysvSemaphoreSet.create({ count: 2 });',
      call: 'return s.get($N)',
      cleanup: 's.remove()',
    },
    {
      name: 'set.op([{ index, op }])',
      setup: 'const s = sync.SysvSemaphoreSet.create({ count: 2 }); s.set(0, 5);',
      call: 'return s.op([{ index: 0, op: $N }], { timeout: 10 })',
      cleanup: 's.remove()',
    },
    {
      name: 'set.opAsync({ timeout }) posted by a timer',
      setup: 'const s = sync.SysvSemaphoreSet.create({ count: 1 }); later(() => s.post(0));',
      call: 'return await s.opAsync([{ index: 0, op: -1 }], { timeout: $N })',
      woken: 'r === true',
      cleanup: 's.remove()',
    },
    {
      name: 'Fifo.openReader({ recordSize })',
      setup: "const f = path.join(tmpDir(), 'p'); sync.Fifo.create(f);",
      call: '(await sync.Fifo.openReader(f, { recordSize: $N })).close()',
    },
    {
      name: 'reader.wait({ timeout }) fed by a timer',
      setup:
        "const f = path.join(tmpDir(), 'p'); sync.Fifo.create(f); const r = await sync.Fifo.openReader(f); const w = await sync.Fifo.openWriter(f); later(() => w.notify());",
      call: 'return (await r.wait({ timeout: $N })).length',
      woken: 'r === 4',
      cleanup: 'r.close(); w.close()',
    },
    {
      name: 'Fifo.openWriter({ timeout })',
      setup:
        "const f = path.join(tmpDir(), 'p'); sync.Fifo.create(f); later(() => sync.Fifo.openReader(f).then((r) => setTimeout(() => r.close(), 200), () => {}));",
      call: '(await sync.Fifo.openWriter(f, { timeout: $N })).close()',
    },
  ],
  '@shmkit/mlock': [
    {
      name: 'mlock.lock({ offset })',
      setup: 'const m = mapAnonymous(2 * PAGE);',
      call: 'mlock.lock(m, { offset: $N }).unlock()',
      cleanup: 'm.close()',
    },
    {
      name: 'mlock.lock({ length })',
      setup: 'const m = mapAnonymous(2 * PAGE);',
      call: 'mlock.lock(m, { length: $N }).unlock()',
      cleanup: 'm.close()',
    },
    { name: 'canLock(bytes)', call: 'return mlock.canLock($N)' },
  ],
};

/** Timeouts no wait may cut short: the peer's wake must end them. */
const HUGE = new Set(['Infinity', '2^31', '2^32', '1e21', '1e22', '1e33', '2^53', '2^64']);

function attempts(list: NumberSite[]): Attempt[] {
  return list.flatMap((site) =>
    Object.entries(VALUES).map(([label, value]) => {
      const call = site.call.replaceAll('$N', value);
      const body =
        site.woken !== undefined && HUGE.has(label)
          ? `let result;
try { result = await (async () => { ${call}; })(); } catch (e) { if (e?.code === 'ETIMEDOUT') throw new Error('a timeout of ${label} timed out early: ' + e.message); throw e; }
if (!((r) => ${site.woken})(result)) throw new Error('a timeout of ${label} ended the wait early with ' + String(result));
return result;`
          : `${call};`;
      return {
        name: `${site.name} with ${label}`,
        run: `${site.setup ?? ''}
try { ${body} } finally { try { ${site.cleanup ?? ''} } catch {} }`,
      };
    }),
  );
}

/**
 * POSIX objects reserve their pages: a 2^32-byte object really takes 4 GiB
 * of memory. Their battery gets a private 64 MiB tmpfs over /dev/shm (a
 * mount namespace), where such sizes fail at once with ENOSPC; without the
 * privilege for that, the sizes that would really allocate are left out.
 */
const SMALL_SHM = [
  'unshare',
  '-m',
  '--propagation',
  'private',
  '--',
  'sh',
  '-c',
  'mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm && exec "$0" "$@"',
];
const ALLOCATING =
  /^PosixShm\.create\(\{ size \}\) with 2\^3[12]$|^shm\.resize\(size\) with 2\^3[12]$/;

describe('every numeric argument of every call', () => {
  it.each(Object.entries(sites))('%s', async (pkg, list) => {
    const shm = pkg === '@shmkit/posix-shm';
    const battery = attempts(list).filter((a) => !shm || isRoot || !ALLOCATING.test(a.name));
    const options = {
      prelude: WAKER,
      attemptTimeout: 15_000,
      ...(shm && isRoot ? { wrapper: SMALL_SHM } : {}),
    };
    expect(await failures(battery, options)).toEqual([]);
  });
});
