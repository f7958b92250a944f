// Wake and abort racing on the wait engine: thousands of tries per
// primitive, each with the wake coming from a worker thread on the other
// CPU at about the moment the main thread aborts one of two waiters. A wake
// taken by the aborted waiter must reach the other one; a lost wake shows
// as the other waiter never settling. Each primitive runs in its own child
// process, on every backend, so a crash fails one test.
import { expect, it } from 'vitest';
import { runNode } from '@shmkit/testing';
import { pkgDir } from '../helpers';

/** Tries per primitive: thousands on the default backend, fewer on the fallbacks. */
const ROUNDS: Record<string, number> = { io_uring: 2000, futex_waitv: 500, pool: 500 };

/**
 * The harness: `setup` builds the primitive in a SharedArrayBuffer, the
 * worker runs `wake` when told, and the main thread runs `waiter(signal)`
 * twice per round (one with an AbortSignal it aborts as the wake comes).
 */
function script(kind: string, rounds: number): string {
  return `
import { Worker } from 'node:worker_threads';
import * as sync from '@shmkit/sync';
import { native } from '@shmkit/core/internal';
const { Mutex, PthreadMutex, SharedEvent, futex } = sync;
const KIND = ${JSON.stringify(kind)};
const ROUNDS = ${rounds};
const sab = new SharedArrayBuffer(256);
// The handshake: READY (the worker prepared round n: holds the lock), GO
// (main has both waiters parked), WOKE (the worker woke), DONE (main saw
// the round through). STOP in GO ends the worker.
const control = new Int32Array(sab, 0, 4);
const [READY, GO, WOKE, DONE] = [0, 1, 2, 3];
const STOP = 0x7fffffff;
const memory = new Int32Array(sab, 64, 48);

const workerCode = \`
const { workerData } = require('node:worker_threads');
const sync = require('@shmkit/sync');
const { sab, kind } = workerData;
const control = new Int32Array(sab, 0, 4);
const memory = new Int32Array(sab, 64, 48);
const [READY, GO, WOKE, DONE] = [0, 1, 2, 3];
const until = (i, n) => { for (let v; (v = Atomics.load(control, i)) < n; ) Atomics.wait(control, i, v); };
const prim = kind === 'mutex' ? sync.Mutex.attach(memory, 0)
  : kind === 'pthread' ? sync.PthreadMutex.attach(memory, 0)
  : kind.startsWith('event') ? sync.SharedEvent.attach(memory, 0) : null;
const locks = kind === 'mutex' || kind === 'pthread';
let guard = locks ? prim.lock() : null;
for (let round = 1; ; round++) {
  Atomics.store(control, READY, round); Atomics.notify(control, READY);
  until(GO, round);
  if (Atomics.load(control, GO) === 0x7fffffff) break;
  if (kind === 'futex') { Atomics.store(memory, 0, round); sync.futex.wake(memory, 0, 1); }
  else if (kind.startsWith('event')) prim.set();
  else guard.unlock();
  Atomics.store(control, WOKE, round); Atomics.notify(control, WOKE);
  until(DONE, round);
  if (locks) guard = prim.lock();
}
\`;

let prim;
if (KIND === 'mutex') prim = Mutex.init(memory, 0);
else if (KIND === 'pthread') prim = PthreadMutex.init(memory, 0);
else if (KIND === 'event-auto') prim = SharedEvent.init(memory, 0, { mode: 'auto' });
else if (KIND === 'event-manual') prim = SharedEvent.init(memory, 0, { mode: 'manual' });

// One waiter: resolves true when it got the wake (or the lock), false if aborted.
async function waiter(signal, round) {
  try {
    if (KIND === 'futex') {
      for (;;) {
        if (Atomics.load(memory, 0) === round) return true;
        await futex.waitAsync(memory, 0, round - 1, { signal });
      }
    }
    if (KIND.startsWith('event')) return await prim.waitAsync({ signal });
    const guard = await prim.lockAsync({ signal });
    guard.unlock();
    return true;
  } catch (error) {
    if (error.name !== 'AbortError') throw error;
    return false;
  }
}

const reach = async (i, n) => { for (let v; (v = Atomics.load(control, i)) < n; ) await Atomics.waitAsync(control, i, v).value; };
const within = (promise, ms) => Promise.race([promise, new Promise((r) => setTimeout(() => r('stuck'), ms))]);

const worker = new Worker(workerCode, { eval: true, execArgv: [], workerData: { sab, kind: KIND } });
let lost = 0, aborted = 0, tookIt = 0;
for (let round = 1; round <= ROUNDS; round++) {
  await reach(READY, round);
  if (KIND === 'event-manual') prim.reset();
  const controller = new AbortController();
  const first = waiter(controller.signal, round);
  const second = waiter(undefined, round);
  Atomics.store(control, GO, round); Atomics.notify(control, GO);
  // A random delay about as long as the worker takes to wake up and act,
  // so the abort lands before, during or after the wake: spinning keeps
  // this thread from seeing a completion first (the race is then between
  // the kernel's wake and the engine's cancel); every other round lets the
  // loop turn, so a waiter may also be woken before its abort.
  const abortAt = performance.now() + Math.random() * 0.3;
  while (performance.now() < abortAt);
  if (round % 2 === 0) await new Promise((r) => setTimeout(r, 0));
  controller.abort();
  const a = await first;
  if (a) tookIt++; else aborted++;
  // The aborted waiter must not have swallowed the wake: the second one
  // gets it. If the first took it, an auto event or a futex needs another.
  if (a && (KIND === 'event-auto' || KIND === 'futex')) {
    await reach(WOKE, round);
    if (KIND === 'futex') futex.wake(memory, 0); else prim.set();
  }
  const b = await within(second, 5000);
  if (b !== true) { lost++; process.stdout.write('lost in round ' + round + ' (' + b + ')\\n'); break; }
  await reach(WOKE, round);
  Atomics.store(control, DONE, round); Atomics.notify(control, DONE);
}
Atomics.store(control, GO, STOP); Atomics.notify(control, GO);
await worker.terminate();
console.log(JSON.stringify({ lost, aborted, tookIt, backend: native.waitInfo().backend, pending: native.waitInfo().pending }));
`;
}

/** The race for each primitive on `backend`, one test each. */
export function raceTests(backend: string): void {
  for (const kind of ['futex', 'event-auto', 'event-manual', 'mutex', 'pthread']) {
    it(`never lose a wake: ${kind} on ${backend}`, async () => {
      const rounds = ROUNDS[backend] ?? 500;
      const result = await runNode(script(kind, rounds), {
        cwd: pkgDir,
        env: backend === 'io_uring' ? {} : { SHMKIT_WAIT_BACKEND: backend },
        timeout: 120_000,
      });
      expect(result.signal).toBeNull();
      expect(result.stderr).toBe('');
      const last = result.stdout.trim().split('\n').at(-1) ?? '';
      const summary = JSON.parse(last) as {
        lost: number;
        aborted: number;
        tookIt: number;
        backend: string;
        pending: number;
      };
      expect(summary).toMatchObject({ lost: 0, backend, pending: 0 });
      expect(summary.aborted + summary.tookIt).toBe(rounds);
      // Both sides of the race were hit: the first waiter aborted (and its
      // wake, when the kernel gave it one, passed on) and woken first.
      expect(summary.aborted).toBeGreaterThan(0);
      expect(summary.tookIt).toBeGreaterThan(0);
    }, 150_000);
  }
}
