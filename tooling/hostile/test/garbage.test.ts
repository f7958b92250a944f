// Hostile peers: garbage in every shared word of every primitive that lives
// in shared memory, written before the calls (every pattern a word can
// hold: 0, -1, INT_MIN, INT_MAX, flag bits, our own thread id, a dead
// thread's id, random bytes) and while they run (a C program rewriting the
// bytes as fast as it can). Every call must end with a correct result or a
// coded error, within its timeout: never a signal, a hang or a busy loop.
//
// These primitives' waits belong to the wait engine (see the report): a
// failure here that comes from inside a wait is the wait engine's to fix,
// and the test stays as its specification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileC } from '@shmkit/testing';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

/** Rewrites `length` bytes at `offset` of a file with garbage until `ms` pass. */
const SCRIBBLER = String.raw`
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
static uint64_t now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000ull + t.tv_nsec / 1000000; }
int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) return 3;
  long offset = atol(argv[2]), length = atol(argv[3]), ms = atol(argv[4]);
  volatile uint32_t *words = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (words == MAP_FAILED) return 4;
  static const uint32_t patterns[] = { 0, 0xffffffffu, 0x80000000u, 0x7fffffffu, 0x40000000u, 0xc0000000u, 1, 2, 3, 128, 129 };
  uint64_t end = now_ms() + ms, x = 88172645463325252ull;
  while (now_ms() < end) {
    for (long i = offset / 4; i < (offset + length) / 4; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      words[i] = (x & 1) ? patterns[(x >> 8) % (sizeof patterns / sizeof *patterns)] : (uint32_t)(x >> 16);
    }
  }
  return 0;
}
`;

const HELPERS = String.raw`
const OFFSET = 64;
function sharedObject() {
  const name = unique('garbage'); const shm = PosixShm.create(name, { size: PAGE, exclusive: true }); const m = shm.map();
  return { name, shm, m, words: new Int32Array(m.buffer), done() { try { m.close(); } catch {} shm.close(); PosixShm.unlink(name); } };
}
const deadTid = (() => { const r = cp.spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']); return Number(r.stdout); })();
const PATTERNS = [0, -1, -2147483648, 2147483647, 0x40000000, -1073741824, 1, 2, 3, 128, 129, deadTid, deadTid | 0x80000000, process.pid, process.pid | 0x40000000];
/** Runs every op once against each static pattern, then all of them while the scribbler rewrites the words. */
async function hostile(o, words, ops) {
  const codes = {};
  const note = (c) => { codes[c] = (codes[c] ?? 0) + 1; };
  for (const p of PATTERNS) {
    for (const [name, op] of Object.entries(ops)) {
      for (let i = 0; i < words; i++) Atomics.store(o.words, OFFSET / 4 + i, p);
      note(name + ':' + await codeOf(op));
    }
  }
  for (let i = 0; i < words; i++) Atomics.store(o.words, OFFSET / 4 + i, 0);
  const peer = cp.spawn(process.env.SCRIBBLER, ['/dev/shm' + o.name, String(OFFSET), String(words * 4), '1500']);
  const exited = new Promise((r) => peer.once('exit', r));
  let running = true; exited.then(() => (running = false));
  const t0 = performance.now();
  while (running) {
    for (const [name, op] of Object.entries(ops)) note(name + ':' + await codeOf(op));
    await new Promise((r) => setImmediate(r));
  }
  if (performance.now() - t0 > 10000) throw new Error('the calls took ' + (performance.now() - t0) + ' ms against a 1.5 s scribbler');
  return codes;
}
/** A wait with a timeout must end near it, not loop on garbage. */
async function bounded(ms, fn) {
  const t0 = performance.now();
  try { return await fn(); } finally { const took = performance.now() - t0; if (took > ms * 20 + 2000) throw new Error('a ' + ms + ' ms wait took ' + took + ' ms'); }
}
`;

const primitives: Attempt[] = [
  {
    name: 'Mutex (its lock word)',
    run: `const o = sharedObject(); try {
  const mutex = sync.Mutex.init(o.m, OFFSET);
  return await hostile(o, 1, {
    tryLock: () => mutex.tryLock()?.unlock(),
    lock: () => bounded(20, () => mutex.lock({ timeout: 20 }).unlock()),
    lockAsync: () => bounded(20, async () => (await mutex.lockAsync({ timeout: 20 })).unlock()),
    unlock: () => mutex.unlock(),
    state: () => mutex.state,
    owner: () => mutex.owner,
    markConsistent: () => mutex.markConsistent(),
    attach: () => sync.Mutex.attach(o.m, OFFSET),
  });
} finally { o.done(); }`,
  },
  {
    name: 'PthreadMutex (all its bytes)',
    run: `const o = sharedObject(); try {
  const mutex = sync.PthreadMutex.init(o.m, OFFSET);
  return await hostile(o, sync.PthreadMutex.byteLength / 4, {
    tryLock: () => mutex.tryLock()?.unlock(),
    lock: () => bounded(20, () => mutex.lock({ timeout: 20 }).unlock()),
    lockAsync: () => bounded(20, async () => (await mutex.lockAsync({ timeout: 20 })).unlock()),
    unlock: () => mutex.unlock(),
    markConsistent: () => mutex.markConsistent(),
    attach: () => sync.PthreadMutex.attach(o.m, OFFSET),
  });
} finally { o.done(); }`,
  },
  {
    name: 'SharedEvent (state, waiters and kind words)',
    run: `const o = sharedObject(); try {
  const event = sync.SharedEvent.init(o.m, OFFSET);
  return await hostile(o, 4, {
    set: () => event.set(),
    reset: () => event.reset(),
    isSet: () => event.isSet,
    tryWait: () => event.tryWait(),
    wait: () => bounded(20, () => event.wait({ timeout: 20 })),
    waitAsync: () => bounded(20, () => event.waitAsync({ timeout: 20 })),
    attach: () => sync.SharedEvent.attach(o.m, OFFSET),
  });
} finally { o.done(); }`,
  },
  {
    name: 'Semaphore (the sem_t: value, waiters and private words)',
    run: `const o = sharedObject(); try {
  const sem = sync.Semaphore.init(o.m, OFFSET, 1);
  return await hostile(o, sync.Semaphore.byteLength / 4, {
    post: () => sem.post(),
    tryWait: () => sem.tryWait(),
    value: () => sem.value,
    wait: () => bounded(20, () => sem.wait({ timeout: 20 })),
    waitAsync: () => bounded(20, () => sem.waitAsync({ timeout: 20 })),
    attach: () => sync.Semaphore.attach(o.m, OFFSET),
  });
} finally { o.done(); }`,
  },
  {
    name: 'futex words',
    run: `const o = sharedObject(); try {
  const w = new Int32Array(o.m.buffer, OFFSET, 1);
  return await hostile(o, 1, {
    wait: () => bounded(5, () => sync.futexWait(w, 0, 0, 5)),
    waitAsync: () => bounded(5, () => sync.futexWaitAsync(w, 0, 0, 5)),
    wake: () => sync.futexWake(w, 0, 1),
  });
} finally { o.done(); }`,
  },
  {
    name: "NamedSemaphore (its file's bytes, rewritten by a peer)",
    run: `const name = unique('gsem'); const sem = sync.NamedSemaphore.create(name, { value: 1, exclusive: true });
const file = '/dev/shm/sem.' + name.slice(1);
try {
  const codes = {};
  const ops = { post: () => sem.post(), tryWait: () => sem.tryWait(), value: () => sem.value, wait: () => bounded(20, () => sem.wait({ timeout: 20 })), waitAsync: () => bounded(20, () => sem.waitAsync({ timeout: 20 })), open: () => sync.NamedSemaphore.open(name).close() };
  for (const bytes of [Buffer.alloc(32, 0xff), Buffer.alloc(32, 0), Buffer.from(Array.from({ length: 32 }, (_, i) => i * 37))]) {
    fs.writeFileSync(file, bytes);
    for (const [n, op] of Object.entries(ops)) codes[n + ':' + await codeOf(op)] = 1;
  }
  const peer = cp.spawn(process.env.SCRIBBLER, [file, '0', '32', '1500']);
  let running = true; peer.once('exit', () => (running = false));
  while (running) { for (const [n, op] of Object.entries(ops)) codes[n + ':' + await codeOf(op)] = 1; await new Promise((r) => setImmediate(r)); }
  return codes;
} finally { sem.close(); sync.NamedSemaphore.unlink(name); }`,
  },
  {
    name: 'SysvSemaphoreSet (extreme values, and the set removed by ipcrm during a wait)',
    run: `const set = sync.SysvSemaphoreSet.create({ count: 2 });
try {
  const codes = {};
  for (const v of [0, 1, 32767]) {
    set.set(0, v);
    for (const [n, op] of Object.entries({ wait: () => bounded(20, () => set.wait(0, { timeout: 20 })), post: () => set.post(0), opAsync: () => bounded(20, () => set.opAsync([{ index: 0, op: -1 }, { index: 1, op: 1 }], { timeout: 20 })), get: () => set.getAll() })) codes[n + ':' + await codeOf(op)] = 1;
  }
  const pending = set.opAsync([{ index: 0, op: -30000 }], { timeout: 5000 });
  await sleep(20);
  cp.execFileSync('ipcrm', ['-s', String(set.id)]);
  codes['removed while waiting:' + await codeOf(() => pending)] = 1;
  codes['after removal:' + await codeOf(() => set.post(0))] = 1;
  return codes;
} finally { try { set.remove(); } catch {} }`,
  },
];

/** A wait on garbage must sleep, not spin: its CPU time stays well under its wall time. */
const SPIN_CHECK = String.raw`
async function sleepsNotSpins(label, fn) {
  const t0 = performance.now(); const c0 = process.cpuUsage();
  const code = await codeOf(fn);
  const wall = performance.now() - t0; const cpu = process.cpuUsage(c0); const cpuMs = (cpu.user + cpu.system) / 1000;
  if (wall > 100 && cpuMs > wall * 0.5) throw new Error(label + ' spun: ' + cpuMs.toFixed(0) + ' ms of CPU in ' + wall.toFixed(0) + ' ms (' + code + ')');
  return code;
}
`;

const spinning: Attempt[] = [
  [
    'SharedEvent.wait',
    'const e = sync.SharedEvent.init(o.m, OFFSET); const op = () => e.wait({ timeout: 300 });',
    4,
  ],
  [
    'SharedEvent.waitAsync',
    'const e = sync.SharedEvent.init(o.m, OFFSET); const op = () => e.waitAsync({ timeout: 300 });',
    4,
  ],
  [
    'Mutex.lock',
    'const mu = sync.Mutex.init(o.m, OFFSET); const op = () => mu.lock({ timeout: 300 }).unlock();',
    1,
  ],
  [
    'Mutex.lockAsync',
    'const mu = sync.Mutex.init(o.m, OFFSET); const op = async () => (await mu.lockAsync({ timeout: 300 })).unlock();',
    1,
  ],
  [
    'PthreadMutex.lock',
    'const mu = sync.PthreadMutex.init(o.m, OFFSET); const op = () => mu.lock({ timeout: 300 }).unlock();',
    10,
  ],
  [
    'Semaphore.wait',
    'const s = sync.Semaphore.init(o.m, OFFSET, 0); const op = () => s.wait({ timeout: 300 });',
    8,
  ],
  [
    'Semaphore.waitAsync',
    'const s = sync.Semaphore.init(o.m, OFFSET, 0); const op = () => s.waitAsync({ timeout: 300 });',
    8,
  ],
].map(([name, setup, words]) => ({
  name: `${name} on garbage sleeps, never spins`,
  run: `const o = sharedObject(); try { ${setup}
  const codes = {};
  for (const p of PATTERNS) { for (let i = 0; i < ${words}; i++) Atomics.store(o.words, OFFSET / 4 + i, p); codes[await sleepsNotSpins('${name} on ' + p, op)] = 1; }
  return codes;
} finally { o.done(); }`,
  expect: 'ok',
}));

describe('hostile peers scribbling over shared words', () => {
  it.each(spinning.map((p) => [p.name, p] as const))('%s', async (_name, attempt) => {
    expect(
      await failures([attempt], { prelude: HELPERS + SPIN_CHECK, attemptTimeout: 60_000 }),
    ).toEqual([]);
  });

  let scribbler: string;
  beforeAll(() => {
    scribbler = compileC(SCRIBBLER);
  });

  it.each(primitives.map((p) => [p.name, p] as const))('%s', async (_name, attempt) => {
    expect(
      await failures([{ ...attempt, expect: 'ok' }], {
        prelude: HELPERS,
        env: { SCRIBBLER: scribbler },
        attemptTimeout: 60_000,
      }),
    ).toEqual([]);
  });
});
