// The kernel queues' async waits on every backend of the wait engine:
// io_uring (the default here), futex_waitv and the thread pool, forced with
// SHMKIT_WAIT_BACKEND in a child process (the backend is chosen once per
// process). On the two fallbacks a POSIX queue's readiness wait is a poll on
// a pool thread; System V waits are pool jobs everywhere.
import { runNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixMessageQueue, SysvMessageQueue } from '../../src/index';
import { mqName, pkgDir, track } from './helpers';

const BACKENDS = ['io_uring', 'futex_waitv', 'pool'] as const;
type Backend = (typeof BACKENDS)[number];

/** Rounds per race: thousands on the default backend, fewer on the fallbacks. */
const ROUNDS: Record<Backend, number> = { io_uring: 2000, futex_waitv: 600, pool: 600 };

/** Runs `body` (an ES module) in a child on `backend`; its last stdout line is JSON. */
async function onBackend<T>(backend: Backend, body: string): Promise<T & { backend: string }> {
  const r = await runNode(
    `
      import { native } from '@shmkit/core/internal';
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const out = (result) => console.log(JSON.stringify({ ...result, backend: native.waitInfo().backend }));
      const later = (f, ms) => new Promise((resolve) => {
        const run = () => { f(); resolve(); };
        if (ms === undefined) setImmediate(run); else setTimeout(run, ms);
      });
      ${body}
    `,
    {
      cwd: pkgDir,
      env: backend === 'io_uring' ? {} : { SHMKIT_WAIT_BACKEND: backend },
      timeout: 150_000,
    },
  );
  expect(r.stderr).toBe('');
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as T & { backend: string };
  expect(result.backend).toBe(backend);
  return result;
}

/**
 * One race round, in the child: `start(signal)` begins the wait, `act` is
 * what it waits for (a message, or room), and the abort lands before, with
 * or after it: in the same turn of the loop either way round; from a timer
 * while the wake travels from the kernel or a pool thread; or after a short
 * random spin, when the kernel or a pool thread may have finished the wait
 * but the event loop has not seen it yet.
 */
const raceRound = `
  async function round(i, start, act) {
    const controller = new AbortController();
    const pending = start(controller.signal);
    const abort = () => controller.abort();
    let acted;
    const order = i % 4;
    if (order === 0) { acted = later(act); void later(abort); }
    else if (order === 1) { void later(abort); acted = later(act); }
    else if (order === 2) { acted = later(act); void later(abort, i % 3); }
    else {
      acted = later(() => {
        act();
        const abortAt = performance.now() + Math.random() * 0.3;
        while (performance.now() < abortAt);
        abort();
      });
    }
    try {
      await pending;
      await acted;
      return true;
    } catch (error) {
      if (error.name !== 'AbortError') throw error;
      await acted;
      return false;
    }
  }
`;

interface RaceResult {
  got: number;
  aborted: number;
  wrong: number;
  pending: number;
}

function expectBothSides(result: RaceResult, rounds: number): void {
  expect(result).toMatchObject({ wrong: 0, pending: 0 });
  expect(result.got + result.aborted).toBe(rounds);
  // Both sides of the race were hit.
  expect(result.got).toBeGreaterThan(0);
  expect(result.aborted).toBeGreaterThan(0);
}

describe.each(BACKENDS)('on %s', (backend) => {
  const rounds = ROUNDS[backend];

  it('POSIX: abort racing a message or room, every message exactly once', async () => {
    const name = mqName();
    const full = mqName();
    const result = await onBackend<{ receive: RaceResult; send: RaceResult }>(
      backend,
      `
      ${raceRound}
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 4, messageSize: 16, exclusive: true });
      const f = PosixMessageQueue.create(${JSON.stringify(full)}, { maxMessages: 1, messageSize: 16, exclusive: true });
      const receive = { got: 0, aborted: 0, wrong: 0 };
      for (let i = 0; i < ${rounds}; i++) {
        let message;
        const got = await round(i, (signal) => q.receiveAsync({ signal }).then((m) => { message = m; }), () => q.send(String(i)));
        // Received it, or left it for the next receiver: never both, never neither.
        const rest = q.tryReceive();
        if (got) { if (message.data.toString() !== String(i) || rest !== undefined) receive.wrong++; else receive.got++; }
        else if (rest?.data.toString() !== String(i)) receive.wrong++; else receive.aborted++;
      }
      const send = { got: 0, aborted: 0, wrong: 0 };
      for (let i = 0; i < ${rounds}; i++) {
        f.send('filler');
        const sent = await round(i, (signal) => f.sendAsync(String(i), { signal }), () => f.receive());
        // Sent (once), or not at all.
        const rest = f.tryReceive();
        if (f.tryReceive() !== undefined) send.wrong++;
        else if (sent) { if (rest?.data.toString() !== String(i)) send.wrong++; else send.got++; }
        else if (rest !== undefined) send.wrong++; else send.aborted++;
      }
      const pending = native.waitInfo().pending;
      q.close(); f.close(); q.unlink(); f.unlink();
      out({ receive: { ...receive, pending }, send: { ...send, pending } });
    `,
    );
    expectBothSides(result.receive, rounds);
    expectBothSides(result.send, rounds);
  }, 300_000);

  it('System V: abort racing a message or room, every message exactly once', async () => {
    const q = track(SysvMessageQueue.create());
    const full = track(SysvMessageQueue.create());
    const result = await onBackend<{ receive: RaceResult; send: RaceResult }>(
      backend,
      `
      ${raceRound}
      const q = SysvMessageQueue.fromId(${q.id});
      const f = SysvMessageQueue.fromId(${full.id});
      f.set({ maxBytes: 8 });
      const receive = { got: 0, aborted: 0, wrong: 0 };
      for (let i = 0; i < ${rounds}; i++) {
        let message;
        const got = await round(i, (signal) => q.receiveAsync({ type: 7, signal }).then((m) => { message = m; }), () => q.send(String(i), { type: 7 }));
        const rest = q.tryReceive();
        if (got) { if (message.data.toString() !== String(i) || rest !== undefined) receive.wrong++; else receive.got++; }
        else if (rest?.data.toString() !== String(i)) receive.wrong++; else receive.aborted++;
      }
      const send = { got: 0, aborted: 0, wrong: 0 };
      for (let i = 0; i < ${rounds}; i++) {
        f.send('filler!!');
        const sent = await round(i, (signal) => f.sendAsync(String(i), { signal }), () => f.receive());
        const rest = f.tryReceive();
        if (f.tryReceive() !== undefined) send.wrong++;
        else if (sent) { if (rest?.data.toString() !== String(i)) send.wrong++; else send.got++; }
        else if (rest !== undefined) send.wrong++; else send.aborted++;
      }
      const pending = native.waitInfo().pending;
      out({ receive: { ...receive, pending }, send: { ...send, pending } });
    `,
    );
    expectBothSides(result.receive, rounds);
    expectBothSides(result.send, rounds);
  }, 300_000);

  it('close() rejects pending waits with ERR_SHMKIT_CLOSED; the descriptor number serves again', async () => {
    const name = mqName();
    const full = mqName();
    const again = mqName();
    const result = await onBackend<{
      errors: unknown[];
      reused: boolean;
      got: string;
      pending: number;
    }>(
      backend,
      `
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 1, messageSize: 16 });
      const f = PosixMessageQueue.create(${JSON.stringify(full)}, { maxMessages: 1, messageSize: 16 });
      f.send('full');
      const waits = [q.receiveAsync(), q.receiveAsync({ timeout: 60_000 }), f.sendAsync('more')];
      await new Promise((r) => setTimeout(r, 20));
      const fds = [q.fd, f.fd];
      q.close();
      f.close();
      const errors = (await Promise.allSettled(waits)).map((r) => [r.reason?.code, r.reason?.message]);
      // A queue opened now may get a closed queue's number: the old waits
      // (on a pool thread, a poll of that number) must not touch it.
      const n = PosixMessageQueue.create(${JSON.stringify(again)}, { maxMessages: 1, messageSize: 16 });
      const reused = fds.includes(n.fd);
      const next = n.receiveAsync({ timeout: 20_000 });
      setTimeout(() => n.send('fresh'), 20);
      const got = (await next).data.toString();
      const pending = native.waitInfo().pending;
      n.close();
      for (const name of [${JSON.stringify(name)}, ${JSON.stringify(full)}, ${JSON.stringify(again)}]) PosixMessageQueue.unlink(name);
      out({ errors, reused, got, pending });
    `,
    );
    const closed = ['ERR_SHMKIT_CLOSED', 'PosixMessageQueue is closed'];
    expect(result).toMatchObject({ errors: [closed, closed, closed], got: 'fresh', pending: 0 });
    expect(result.reused).toBe(true);
  });

  it('terminating workers with sync and async waits pending leaves no thread and takes no message', async () => {
    const q = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 8 });
    const full = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 8 });
    full.send('x');
    const s = track(SysvMessageQueue.create());
    const sFull = track(SysvMessageQueue.create());
    sFull.set({ maxBytes: 1 });
    sFull.send('x');
    const result = await onBackend<{ threadsLeft: number; terminateMs: number[] }>(
      backend,
      `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      const threads = () => readdirSync('/proc/self/task').length;
      const before = threads();
      const terminateMs = [];
      // Even rounds wait async (many waits), odd ones block in a sync call.
      const syncCalls = ['q.receive()', 's.receive()', "full.send('y')", "sFull.send('y')", 's.receive({ type: 3, timeout: 1e9 })'];
      for (let round = 0; round < 2 * syncCalls.length; round++) {
        const sync = round % 2 === 1;
        const which = syncCalls[(round - 1) / 2];
        const w = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { PosixMessageQueue, SysvMessageQueue } = require('@shmkit/channel');
          const q = PosixMessageQueue.open(${JSON.stringify(q.name)});
          const full = PosixMessageQueue.open(${JSON.stringify(full.name)});
          const s = SysvMessageQueue.fromId(${s.id});
          const sFull = SysvMessageQueue.fromId(${sFull.id});
          const signal = new AbortController().signal;
          const none = () => {};
          if (\${sync}) {
            parentPort.postMessage('waiting');
            \${which};
          } else {
            for (let i = 0; i < 20; i++) {
              q.receiveAsync().catch(none); q.receiveAsync({ signal }).catch(none);
              s.receiveAsync().catch(none); s.receiveAsync({ type: 3, timeout: 1e9, signal }).catch(none);
            }
            full.sendAsync('y').catch(none); sFull.sendAsync('y').catch(none);
            parentPort.postMessage('waiting');
          }
        \`, { eval: true, execArgv: [] });
        await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, 50));
        const t0 = performance.now();
        await w.terminate();
        terminateMs.push(Math.round(performance.now() - t0));
      }
      let after = threads();
      // Idle pool threads retire after 5 s; 30 s only catches a leak.
      for (let i = 0; i < 300 && after > before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = threads();
      }
      out({ threadsLeft: after - before, terminateMs });
    `,
    );
    expect(result.threadsLeft).toBeLessThanOrEqual(0);
    // A generous bound that only catches a hang.
    for (const ms of result.terminateMs) expect(ms).toBeLessThan(20_000);
    // Nothing was taken or sent by the waits that died with their workers.
    expect(q.tryReceive()).toBeUndefined();
    expect(full.receive().data.toString()).toBe('x');
    expect(full.tryReceive()).toBeUndefined();
    expect(s.tryReceive()).toBeUndefined();
    expect(sFull.receive().data.toString()).toBe('x');
    expect(sFull.tryReceive()).toBeUndefined();
    for (const queue of [q, full]) {
      queue.unlink();
      queue.close();
    }
  }, 120_000);
});
