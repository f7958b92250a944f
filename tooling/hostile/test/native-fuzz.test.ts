// Fuzzing the argument decoders (napi/args.rs) through every native export,
// as a caller of `@shmkit/core/internal` could: random argument vectors of
// every JS type, handles of every kind (live, closed, of the wrong kind),
// detached buffers, Proxies and objects with throwing getters. Every call
// must return or throw a coded error. The sequence is seeded, so a failure
// names the function and the last arguments it was given (printed on the
// child's stderr before each call) and can be replayed.
//
// Functions that change or remove system-wide objects (System V removes and
// sets, unlinks, creates) are fuzzed without small non-negative integers,
// which could be the id of someone else's segment, and with names under the
// suite's prefix only.
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot } from '@shmkit/testing';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

const FUZZ = String.raw`
function rng(seed) { let s = seed >>> 0; return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
const thrower = { get shared() { throw Object.assign(new Error('getter'), { code: 'USER_THROWN' }); }, get offset() { throw Object.assign(new Error('getter'), { code: 'USER_THROWN' }); } };
const trap = new Proxy({}, { get(_t, k) { return k === 'then' ? undefined : 1; }, has() { return true; } });
const detached = (() => { const m = mapAnonymous(PAGE); const b = m.buffer; m.close(); return b; })();
function handles() {
  const m = mapAnonymous(4 * PAGE);
  const closed = mapAnonymous(PAGE); const closedHandle = internal.mappingHandle(closed); closed.close();
  const name = unique('fuzz');
  const shm = native.posixShmOpen(name, true, true, false, 0o600);
  native.posixShmResize(shm.handle, PAGE);
  const closedShm = native.posixShmOpen(unique('fuzzc'), true, true, false, 0o600); native.posixShmClose(closedShm.handle);
  const sem = native.semInit(internal.mappingHandle(m), 0, 1000);
  const lock = (() => { try { return native.mlockLockMapping(internal.mappingHandle(m), 0, PAGE, true); } catch { return undefined; } })();
  new Int32Array(m.buffer)[64] = 0x7eadbeef;
  return { list: [internal.mappingHandle(m), closedHandle, shm.handle, closedShm.handle, sem, lock?.handle ?? lock, native.waitGroup()], mapping: m };
}
const POOL_SAFE = (pathy) => [undefined, null, true, false, -1, -0, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, -(2 ** 63), 1e300, -1n, 2n ** 64n, 2n ** 63n, -(2n ** 63n),
  // Paths only inside /dev/shm or the attempt's own directory; POSIX names under the prefix.
  '', 'x', pathy ? '/dev/shm/' + PREFIX + '-fuzzpath' : '/' + PREFIX + '-fuzzname', '/' + PREFIX + '-a/b', '\u0000', 'a'.repeat(300), Symbol('s'), () => {}, {}, [], [1, 2], thrower, trap,
  'none', 'read', 'read-write', 'dontneed', 'willneed', 'hugepage',
  new ArrayBuffer(8), detached, new Int32Array(4), new Int8Array(3), new BigInt64Array(2), new DataView(new ArrayBuffer(8)), Buffer.alloc(4), new SharedArrayBuffer(8), new Date(0), /x/, new Error('e')];
const POOL_FULL = (pathy) => [...POOL_SAFE(pathy), 0, 1, 2, 3, 4, 7, 8, 16, 64, 256, PAGE, PAGE - 1, 4 * PAGE, 0o600, 0o7777, 255, 0n, 1n, BigInt(PAGE)];
/**
 * Outcome-guided fuzzing: a vector whose outcome (error code and the start
 * of its message, digits left out) was never seen joins the corpus, and new
 * vectors are mostly mutations of corpus entries. Getting past one check
 * changes the message, so the fuzzer works its way to the later arguments
 * without knowing any signature.
 */
function fuzz(fnName, seed, calls, safe, extra = []) {
  const fn = native[fnName];
  const random = rng(seed);
  const pathy = /mmapMapFile|fifo|Ftok/.test(fnName);
  let base = safe ? POOL_SAFE(pathy) : POOL_FULL(pathy);
  // Sizes that would really reserve gigabytes of /dev/shm, unless it is the
  // battery's own small tmpfs (where they fail at once with ENOSPC).
  if (!process.env.SHMKIT_HOSTILE_SMALL_SHM && /posixShmResize|mmapMapFile/.test(fnName)) {
    base = base.filter((v) => !((typeof v === 'number' || typeof v === 'bigint') && Number(v) > 2 ** 26));
  }
  // -0 is id 0: someone else's System V queue, maybe.
  if (/^msg/.test(fnName)) base = base.filter((v) => !Object.is(v, -0));
  base = [...base, ...extra];
  const mappings = [];
  let pool;
  const refresh = () => { const h = handles(); mappings.push(h.mapping); pool = [...base, ...h.list.filter((x) => x !== undefined)]; };
  refresh();
  const pick = () => pool[Math.floor(random() * pool.length)];
  const show = (v) => { try { return typeof v === 'bigint' ? v + 'n' : typeof v === 'symbol' ? 'Symbol' : typeof v === 'function' ? 'fn' : v instanceof ArrayBuffer ? 'ArrayBuffer(' + v.byteLength + ')' : ArrayBuffer.isView(v) ? v.constructor.name : (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null) ? 'handle' : JSON.stringify(v)?.slice(0, 40) ?? String(v); } catch { return typeof v; } };
  const corpus = [];
  const seen = new Set();
  const codes = {};
  const pending = [];
  for (let i = 0; i < calls; i++) {
    if (i % 150 === 149) refresh();
    let args;
    if (corpus.length === 0 || random() < 0.2) {
      args = Array.from({ length: Math.floor(random() * 7) }, pick);
    } else {
      args = [...corpus[Math.floor(random() * corpus.length)]];
      const r = random();
      if (r < 0.15 && args.length < 7) args.push(pick());
      else if (r < 0.25 && args.length > 0) args.pop();
      else { const n = 1 + Math.floor(random() * 2); for (let k = 0; k < n && args.length > 0; k++) args[Math.floor(random() * args.length)] = pick(); }
    }
    fs.writeSync(2, fnName + '(' + args.map(show).join(', ') + ')\n');
    let key;
    try {
      const r = fn(...args);
      if (r instanceof Promise) pending.push(r.then(() => 'ok', (e) => { if (typeof e?.code !== 'string') throw new Error(fnName + ' rejected uncoded: ' + e); }));
      key = 'ok';
    } catch (e) {
      if (typeof e?.code !== 'string') throw new Error(fnName + '(' + args.map(show).join(', ') + ') threw uncoded ' + e?.constructor?.name + ': ' + e?.message);
      key = e.code + ':' + String(e.message).replace(/[0-9]+/g, '#').slice(0, 70);
    }
    const code = key.split(':')[0];
    codes[code] = (codes[code] ?? 0) + 1;
    if (!seen.has(key)) { seen.add(key); corpus.push(args); }
  }
  return { codes, outcomes: seen.size, pending, mappings };
}
/**
 * What the message queue exports get besides the pool: POSIX queue handles
 * (open, and closed; the open one, where the system lets it be sized so, holds 1000
 * of its 2000 messages, so no fuzzed send or receive can block for good)
 * and the id of a System V queue that was removed (a live one could make a
 * receive block for good). Names are unlinked at once or at cleanup.
 */
function queueValues(fnName) {
  const none = { values: [], cleanup: () => {} };
  if (/^mq/.test(fnName)) {
    const open = (capacity) => { const name = unique('fuzzmq'); const o = native.mqOpen(name, 2 | 4 | 8, 0o600, capacity, 8); native.mqUnlink(name); return o.handle; };
    const values = [];
    // Only where a queue may hold 2000 messages (CAP_SYS_RESOURCE, or a
    // raised fs.mqueue.msg_max): a smaller one could run dry and a fuzzed
    // receive with an endless timeout would then wait for good.
    let live;
    try {
      live = open(2000);
    } catch (e) {
      if (e?.code !== 'EINVAL') throw e;
    }
    if (live !== undefined) {
      for (let i = 0; i < 1000; i++) native.mqSend(live, Buffer.of(i & 255), 0, 0);
      values.push(live);
    }
    const closed = open(1);
    native.mqClose(closed);
    values.push(closed);
    return { values, cleanup: () => { try { native.mqUnlink('/' + PREFIX + '-fuzzname'); } catch (e) { if (typeof e?.code !== 'string') throw e; } } };
  }
  if (/^msg/.test(fnName)) {
    const id = native.msgGet(0, true, true, 0o600, 2);
    native.msgRemove(id);
    return { ...none, values: [id] };
  }
  return none;
}
`;

/** Exports that change or remove what other processes may own. */
const DESTRUCTIVE =
  /Remove|Set|Lock$|Unlink|sysvSemOp|fifoCreate|posixShmOpen|semOpen|mmapMapFile|sysvShmGet|sysvSemGet|mqOpen|msgSend|msgReceive/;
/**
 * mlockall(MCL_CURRENT) in a child that has mapped 4 GiB would lock (so
 * populate) all of it: these two get fixed hostile arguments instead.
 */
const FIXED = ['mlockLockAll', 'mlockUnlockAll', 'errorsSetup', 'msgGet'];
const EXPORTS = [
  'pageSize',
  'maxBufferLength',
  'noop',
  'mapAnonymous',
  'mapFd',
  'mappingClose',
  'mappingRead',
  'mappingReadInto',
  'mappingResidency',
  'mappingWindow',
  'mappingSync',
  'mappingSyncAsync',
  'mappingProtect',
  'mappingAdvise',
  'mappingTruncated',
  'mappingKeepTruncationFatal',
  'busFaults',
  'sysvFtok',
  'sysvShmGet',
  'sysvShmAttach',
  'sysvShmStat',
  'sysvShmSet',
  'sysvShmLock',
  'sysvShmRemove',
  'posixShmOpen',
  'posixShmResize',
  'posixShmStat',
  'posixShmMap',
  'posixShmClose',
  'posixShmUnlink',
  'posixShmCreateUnnamed',
  'posixShmPublish',
  'mmapMapFile',
  'mlockLockMapping',
  'mlockLockBytes',
  'mlockUnlock',
  'mlockIsLocked',
  'mlockLockAll',
  'mlockUnlockAll',
  'mlockLimits',
  'mlockStatus',
  'syncPthreadMutexLayout',
  'syncPthreadMutexInit',
  'syncPthreadMutexLock',
  'syncPthreadMutexTryLock',
  'syncPthreadMutexUnlock',
  'syncPthreadMutexConsistent',
  'syncPthreadMutexCheck',
  'syncPthreadMutexUnlockHeld',
  'syncGettid',
  'syncThreadAlive',
  'syncAddressOf',
  'syncFutexWake',
  'waitFutex',
  'waitFutexAsync',
  'waitFdAsync',
  'waitGroup',
  'waitAbort',
  'waitInfo',
  'semLayout',
  'semInit',
  'semAttach',
  'semOpen',
  'semClose',
  'semUnlink',
  'semPost',
  'semTryWait',
  'semWait',
  'semWaitAsync',
  'semValue',
  'semDestroy',
  'sysvSemGet',
  'sysvSemOp',
  'sysvSemOpAsync',
  'sysvSemGetValue',
  'sysvSemSetValue',
  'sysvSemLastPid',
  'sysvSemWaitingCount',
  'sysvSemZeroWaitingCount',
  'sysvSemGetAll',
  'sysvSemSetAll',
  'sysvSemStat',
  'sysvSemSetPermissions',
  'sysvSemRemove',
  'fifoCreate',
  'fifoOpen',
  'fifoPipeBuf',
  'usersUserName',
  'usersGroupName',
  'mqOpen',
  'mqClose',
  'mqUnlink',
  'mqGetAttr',
  'mqSetAttr',
  'mqStat',
  'mqSend',
  'mqReceive',
  'mqWaitAsync',
  'mqLimits',
  'msgGet',
  'msgSend',
  'msgReceive',
  'msgSendAsync',
  'msgReceiveAsync',
  'msgStat',
  'msgSet',
  'msgRemove',
  'msgLimits',
  'errorsErrno',
  'errorsSetup',
];

describe('every native export fuzzed with hostile arguments', () => {
  it('the list covers every export of the addon', async () => {
    const found = await failures([
      {
        name: 'exports',
        run: `const missing = Object.keys(native).filter((k) => !${JSON.stringify(EXPORTS)}.includes(k)); if (missing.length) throw new Error('not fuzzed: ' + missing.join(', '));`,
        expect: 'ok',
      },
    ]);
    expect(found).toEqual([]);
  });

  const attempts: Attempt[] = EXPORTS.filter((name) => !FIXED.includes(name)).map((name, i) => ({
    name,
    run: `if (typeof native.${name} !== 'function') return 'absent';
process.chdir(tmpDir());
const queues = queueValues(${JSON.stringify(name)});
const { codes, outcomes, pending, mappings } = fuzz(${JSON.stringify(name)}, ${1000 + i}, 1500, ${DESTRUCTIVE.test(name)}, queues.values);
await Promise.race([Promise.all(pending), sleep(5000)]);
for (const m of mappings) { try { touchMapping(m); m.close(); } catch (e) { if (typeof e?.code !== 'string') throw e; } }
queues.cleanup();
return { outcomes, codes };`,
    expect: 'ok',
  }));
  attempts.push({
    name: 'mlockLockAll / mlockUnlockAll with hostile arguments',
    run: `const values = [undefined, null, 0, 1, 'yes', {}, [], NaN, 1n, Symbol('s'), thrower, trap];
const codes = [];
for (const a of values) for (const b of values) {
  // Never two truthy booleans: only MCL_ONFAULT-free, harmless combinations reach the kernel.
  codes.push(await codeOf(() => native.mlockLockAll(a, b, a)));
  native.mlockUnlockAll();
}
codes.push(await codeOf(() => native.mlockUnlockAll(thrower, trap, 1n)));
return [...new Set(codes)];`,
    expect: 'ok',
  });
  attempts.push({
    name: 'msgGet with hostile arguments (every queue it makes, IPC_PRIVATE only, removed at once)',
    run: `const keys = [-0, 0, 0.5, NaN, -1, 2 ** 32, '1', {}, thrower, trap, 1n, undefined, null];
const flags = [true, false, undefined, 1, thrower];
const modes = [0o600, 0o1000, -1, NaN, '6', undefined, trap];
const accesses = [0, 1, 2, 3, -1, undefined, 'rw'];
const codes = new Set();
for (const key of keys) for (const create of flags) for (const exclusive of flags) for (const mode of modes) for (const access of accesses) {
  try {
    const id = native.msgGet(key, create, exclusive, mode, access);
    // Only IPC_PRIVATE gets this far: a queue of our own.
    native.msgRemove(id);
    codes.add('ok');
  } catch (e) {
    if (typeof e?.code !== 'string') throw e;
    codes.add(e.code);
  }
}
return [...codes];`,
    expect: 'ok',
  });
  it('errorsSetup with hostile hooks: errors may turn strange, never the process', async () => {
    const hooks = [
      [
        'describe and finish that throw',
        '() => { throw Object.assign(new Error("hook"), { code: "USER_THROWN" }); }',
        '() => { throw Object.assign(new Error("hook"), { code: "USER_THROWN" }); }',
        '[]',
      ],
      ['hooks that return garbage', '() => 42', '() => undefined', '[[NaN, [1, 2]], "x", null]'],
      [
        'hooks that re-enter native code',
        '(v) => { try { victim.close(); native.mapAnonymous(-1); } catch {} return String(v); }',
        '(e) => { try { native.mappingRead(internal.mappingHandle(victim), -1); } catch {} return e; }',
        'Array.from(new Map([[2, ["ENOENT", "x"]]]))',
      ],
      [
        'a Proxy for the error table',
        '(v) => "v"',
        '(e) => e',
        'new Proxy([], { get() { throw new Error("trap"); } })',
      ],
    ];
    const found = await failures(
      hooks.map(([name, describe, finish, table]) => ({
        name: name!,
        run: `const victim = mapAnonymous(PAGE);
const outcomes = [];
const attempt = (fn) => { try { fn(); outcomes.push('ok'); } catch (e) { outcomes.push(String(e?.code ?? typeof e)); } };
attempt(() => native.errorsSetup(${describe}, ${finish}, ${table}));
for (const trigger of [() => native.mapAnonymous('x'), () => native.mapAnonymous(-1), () => mapAnonymous(2 ** 60), () => PosixShm.open('/' + PREFIX + '-missing'), () => victim.read(-1), () => victim.window(4), () => mapFile('/nonexistent/x')]) attempt(trigger);
try { touchMapping(victim); victim.close(); } catch {}
return outcomes;`,
        expect: 'ok',
      })),
    );
    expect(found).toEqual([]);
  });

  it.each([0, 1, 2, 3].map((part) => [part] as const))('part %i of 4', async (part) => {
    const slice = attempts.filter((_, i) => i % 4 === part);
    // Resizes and creates land in a private 64 MiB tmpfs over /dev/shm (a
    // mount namespace) where that is allowed: nothing the fuzzer makes there
    // can take real memory from the machine.
    const small = isRoot
      ? {
          wrapper: [
            'unshare',
            '-m',
            '--propagation',
            'private',
            '--',
            'sh',
            '-c',
            'mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm && exec "$0" "$@"',
          ],
          env: { SHMKIT_HOSTILE_SMALL_SHM: '1' },
        }
      : {};
    expect(await failures(slice, { prelude: FUZZ, attemptTimeout: 60_000, ...small })).toEqual([]);
  });
});
