// The wait engine at its edges: workers terminated mid-wait, thousands of
// pending waits, timeouts of every size, one listener per AbortSignal,
// memory closed under a wait, garbage in a shared word, unref'd waits.
// Every scenario runs in a child process: a hang or a crash fails one test.
import { describe, expect, it } from 'vitest';
import { runNode } from '@shmkit/testing';
import { pkgDir } from './helpers';

/** Runs `body` (ESM, top-level await) with the package imported; returns its last stdout line parsed. */
async function inChild<T>(body: string, env: NodeJS.ProcessEnv = {}, timeout = 60_000): Promise<T> {
  const result = await runNode(
    `import { Worker } from 'node:worker_threads';
    import { readdirSync } from 'node:fs';
    import { mapAnonymous } from '@shmkit/core';
    import { native } from '@shmkit/core/internal';
    import * as sync from '@shmkit/sync';
    const { Mutex, PthreadMutex, SharedEvent, Semaphore, NamedSemaphore, SysvSemaphoreSet, futex } = sync;
    const threads = () => readdirSync('/proc/self/task').length;
    const out = (value) => process.stdout.write(JSON.stringify(value) + '\\n');
    ${body}`,
    { cwd: pkgDir, env, timeout },
  );
  expect(result.signal).toBeNull();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? 'null') as T;
}

/** Worker code (CommonJS) that blocks in one kind of sync wait on `workerData.sab`. */
const blockedWorker = `
const { workerData, parentPort } = require('node:worker_threads');
const sync = require('@shmkit/sync');
const { kind, sab, semName, sysvId } = workerData;
const words = new Int32Array(sab);
parentPort.postMessage('blocking');
if (kind === 'futex') sync.futex.wait(words, 0, 0);
if (kind === 'event') sync.SharedEvent.attach(words, 0).wait();
if (kind === 'mutex') sync.Mutex.attach(words, 16).lock();
if (kind === 'pthread') sync.PthreadMutex.attach(words, 64).lock();
if (kind === 'named-semaphore') sync.NamedSemaphore.open(semName).wait();
if (kind === 'sysv-semaphore') sync.SysvSemaphoreSet.fromId(sysvId).wait(0);
`;

const SYNC_KINDS = ['futex', 'event', 'mutex', 'pthread', 'named-semaphore', 'sysv-semaphore'];

/** Sets up memory where every kind of wait blocks, held by the main thread. */
const blockingSetup = `
const sab = new SharedArrayBuffer(4096);
const words = new Int32Array(sab);
SharedEvent.init(words, 0);
const mutex = Mutex.init(words, 16);
const held = mutex.lock();
const pthread = PthreadMutex.init(words, 64);
const pthreadHeld = pthread.lock();
const semName = '/shmkit-engine-' + process.pid;
const named = NamedSemaphore.create(semName, { value: 0, exclusive: true });
const sysv = SysvSemaphoreSet.create({ count: 1 });
const cleanup = () => { named.close(); NamedSemaphore.unlink(semName); sysv.remove(); };
const start = (kind) => new Promise((resolve, reject) => {
  const worker = new Worker(${JSON.stringify(blockedWorker)}, { eval: true, execArgv: [], workerData: { kind, sab, semName, sysvId: sysv.id } });
  worker.once('message', () => setTimeout(() => resolve(worker), 100));
  worker.once('error', reject);
});
`;

describe('the wait engine', () => {
  it('terminates a worker blocked in each kind of sync wait', async () => {
    const times = await inChild<Record<string, number>>(`
      ${blockingSetup}
      const times = {};
      for (const kind of ${JSON.stringify(SYNC_KINDS)}) {
        const worker = await start(kind);
        const t = performance.now();
        // (the times are printed for the log; only a hang fails the test)
        const done = await Promise.race([worker.terminate().then(() => 'terminated'), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
        times[kind] = done === 'terminated' ? Math.round(performance.now() - t) : -1;
      }
      cleanup();
      out(times);`);
    for (const kind of SYNC_KINDS) expect(times[kind], kind).toBeGreaterThanOrEqual(0);
  });

  for (const kind of SYNC_KINDS) {
    it(`lets a process exit with a worker blocked in a sync ${kind} wait`, async () => {
      const result = await runNode(
        `import { Worker } from 'node:worker_threads';
        import * as sync from '@shmkit/sync';
        const { Mutex, PthreadMutex, SharedEvent, NamedSemaphore, SysvSemaphoreSet } = sync;
        ${blockingSetup}
        await start(${JSON.stringify(kind)});
        cleanup();
        console.log('exiting');
        process.exit(0);`,
        { cwd: pkgDir, timeout: 20_000 },
      );
      expect(result.signal).toBeNull();
      expect(result.stderr).toBe('');
      expect([result.code, result.stdout.trim()]).toEqual([0, 'exiting']);
    });
  }

  for (const backend of ['io_uring', 'futex_waitv']) {
    it(`leaves no native threads behind when 15 workers end with async waits pending (${backend})`, async () => {
      const counts = await inChild<{
        before: number;
        during: number;
        after: number;
        pending: number;
      }>(
        `
        const workerCode = \`
          const { workerData, parentPort } = require('node:worker_threads');
          const sync = require('@shmkit/sync');
          const { mapAnonymous } = require('@shmkit/core');
          const words = new Int32Array(workerData.sab);
          const m = mapAnonymous(4096);
          const sem = sync.Semaphore.init(m, 0, 0);
          const event = sync.SharedEvent.attach(words, 0);
          const mutex = sync.Mutex.attach(words, 16);
          const none = () => {};
          sync.futex.waitAsync(words, 8, 0).then(none, none);
          event.waitAsync().then(none, none);
          mutex.lockAsync().then(none, none);
          sem.waitAsync().then(none, none);
          parentPort.postMessage('waiting');
        \`;
        const sab = new SharedArrayBuffer(4096);
        const words = new Int32Array(sab);
        SharedEvent.init(words, 0);
        const held = Mutex.init(words, 16).lock();
        const before = threads();
        const workers = [];
        for (let i = 0; i < 15; i++) {
          const worker = new Worker(workerCode, { eval: true, execArgv: [], workerData: { sab } });
          await new Promise((r) => worker.once('message', r));
          workers.push(worker);
        }
        const during = threads() - workers.length;
        await Promise.all(workers.map((w) => w.terminate()));
        // Idle helper threads (futex_waitv) retire within seconds.
        let after = threads();
        for (let i = 0; i < 100 && after > before; i++) { await new Promise((r) => setTimeout(r, 100)); after = threads(); }
        held.unlock();
        out({ before, during, after, pending: native.waitInfo().pending });`,
        backend === 'io_uring' ? {} : { SHMKIT_WAIT_BACKEND: backend },
      );
      expect(counts.after).toBeLessThanOrEqual(counts.before);
      expect(counts.pending).toBe(0);
    });
  }

  for (const backend of ['io_uring', 'futex_waitv']) {
    it(`settles 10,000 pending async waits exactly once on one set() (${backend})`, async () => {
      const summary = await inChild<{
        resolved: number;
        extra: number;
        threads: number;
        waitvThreads: number;
        pending: number;
      }>(
        `
        const m = mapAnonymous(4096);
        const event = SharedEvent.init(m, 0);
        const before = threads();
        let resolved = 0, extra = 0;
        const seen = new Uint8Array(10_000);
        const waits = [];
        for (let i = 0; i < 10_000; i++) {
          waits.push(event.waitAsync().then((set) => { if (!set) return; if (seen[i]++) extra++; else resolved++; }));
        }
        await new Promise((r) => setTimeout(r, 200));
        const during = threads() - before;
        const waitvThreads = native.waitInfo().waitvThreads;
        event.set();
        await Promise.all(waits);
        out({ resolved, extra, threads: during, waitvThreads, pending: native.waitInfo().pending });`,
        backend === 'io_uring' ? {} : { SHMKIT_WAIT_BACKEND: backend },
      );
      expect(summary).toMatchObject({ resolved: 10_000, extra: 0, pending: 0 });
      expect(summary.threads).toBeLessThanOrEqual(100);
      expect(summary.waitvThreads).toBeLessThanOrEqual(100);
      // io_uring needs no thread at all for them.
      if (backend === 'io_uring') expect(summary.threads).toBeLessThanOrEqual(2);
    });
  }

  it('takes timeouts of any size on every kind of wait', async () => {
    const results = await inChild<Record<string, unknown>>(`
      ${blockingSetup}
      const m = mapAnonymous(4096);
      const sem = Semaphore.init(m, 0, 0);
      const event = SharedEvent.attach(words, 0);
      const attach = (t) => ({
        futex: () => futex.wait(words, 512, 0, { timeout: t }),
        futexAsync: () => futex.waitAsync(words, 512, 0, { timeout: t }),
        event: () => event.wait({ timeout: t }),
        eventAsync: () => event.waitAsync({ timeout: t }),
        semaphore: () => sem.wait({ timeout: t }),
        semaphoreAsync: () => sem.waitAsync({ timeout: t }),
        named: () => named.wait({ timeout: t }),
        namedAsync: () => named.waitAsync({ timeout: t }),
        sysv: () => sysv.wait(0, { timeout: t }),
        sysvAsync: () => sysv.waitAsync(0, { timeout: t }),
        // This thread holds both mutexes: its own lockAsync waits behind itself.
        mutexAsync: () => mutex.lockAsync({ timeout: t }),
        pthreadAsync: () => pthread.lockAsync({ timeout: t }),
      });
      const results = {};
      const settle = async (wait) => { try { return String(await wait()); } catch (e) { return e.code; } };
      // Zero and fractions time out at once or soon; never early, never an error.
      for (const t of [0, -0, 0.4, 1.5]) {
        for (const [name, wait] of Object.entries(attach(t))) {
          const t0 = performance.now();
          const value = await settle(wait);
          results[name + '@' + t] = [value, performance.now() - t0 >= t];
        }
      }
      // Huge ones are practically forever: still pending after 60 ms, then aborted.
      for (const t of [2 ** 31, 2 ** 53, 1e22, 1e33, Infinity]) {
        for (const name of ['futexAsync', 'eventAsync', 'semaphoreAsync', 'namedAsync', 'sysvAsync', 'mutexAsync']) {
          const controller = new AbortController();
          const a = attach(t);
          const waiting = (name === 'futexAsync' ? futex.waitAsync(words, 512, 0, { timeout: t, signal: controller.signal })
            : name === 'eventAsync' ? event.waitAsync({ timeout: t, signal: controller.signal })
            : name === 'semaphoreAsync' ? sem.waitAsync({ timeout: t, signal: controller.signal })
            : name === 'namedAsync' ? named.waitAsync({ timeout: t, signal: controller.signal })
            : name === 'sysvAsync' ? sysv.waitAsync(0, { timeout: t, signal: controller.signal })
            : mutex.lockAsync({ timeout: t, signal: controller.signal })).then((v) => 'settled ' + v, (e) => e.name);
          const early = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('pending'), 60))]);
          controller.abort();
          results[name + '@' + t] = [early, await waiting];
        }
      }
      // Refused before waiting: negative and NaN.
      for (const t of [-1, NaN]) {
        for (const [name, wait] of Object.entries(attach(t))) results[name + '@' + t] = await settle(wait);
      }
      held.unlock();
      pthreadHeld.unlock();
      cleanup();
      out(results);`);
    for (const t of ['0', '0', '0.4', '1.5']) {
      for (const name of ['futex', 'futexAsync'])
        expect(results[`${name}@${t}`]).toEqual(['timed-out', true]);
      for (const name of [
        'event',
        'eventAsync',
        'semaphore',
        'semaphoreAsync',
        'named',
        'namedAsync',
        'sysv',
        'sysvAsync',
      ])
        expect(results[`${name}@${t}`], `${name}@${t}`).toEqual(['false', true]);
      for (const name of ['mutexAsync', 'pthreadAsync'])
        expect(results[`${name}@${t}`], `${name}@${t}`).toEqual(['ETIMEDOUT', true]);
    }
    for (const t of [2 ** 31, 2 ** 53, 1e22, 1e33, Infinity]) {
      for (const name of [
        'futexAsync',
        'eventAsync',
        'semaphoreAsync',
        'namedAsync',
        'sysvAsync',
        'mutexAsync',
      ])
        expect(results[`${name}@${t}`], `${name}@${t}`).toEqual(['pending', 'AbortError']);
    }
    for (const t of ['-1', 'NaN']) {
      for (const name of [
        'futex',
        'futexAsync',
        'event',
        'eventAsync',
        'semaphore',
        'semaphoreAsync',
        'named',
        'namedAsync',
        'sysv',
        'sysvAsync',
        'mutexAsync',
        'pthreadAsync',
      ])
        expect(results[`${name}@${t}`], `${name}@${t}`).toBe('ERR_OUT_OF_RANGE');
    }
  });

  it('adds one abort listener per signal however many waits share it', async () => {
    const summary = await inChild<{ warnings: string[]; rejected: number }>(`
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      const m = mapAnonymous(4096);
      const event = SharedEvent.init(m, 0);
      const sem = Semaphore.init(m, 16, 0);
      const controller = new AbortController();
      const waits = [];
      for (let i = 0; i < 50; i++) {
        waits.push(event.waitAsync({ signal: controller.signal }));
        waits.push(futex.waitAsync(m.int32Array(64, 1), 0, 0, { signal: controller.signal }));
        waits.push(sem.waitAsync({ signal: controller.signal }));
      }
      await new Promise((r) => setTimeout(r, 50));
      controller.abort(new Error('shutting down'));
      const outcomes = await Promise.allSettled(waits);
      const rejected = outcomes.filter((o) => o.status === 'rejected' && o.reason.name === 'AbortError' && o.reason.code === 'ABORT_ERR' && o.reason.cause?.message === 'shutting down').length;
      await new Promise((r) => setTimeout(r, 50));
      out({ warnings, rejected });`);
    expect(summary).toEqual({ warnings: [], rejected: 150 });
  });

  it('rejects a wait whose Mapping is closed or protected meanwhile, by code', async () => {
    const codes = await inChild<string[]>(`
      const codes = [];
      const settle = (p) => p.then((v) => 'resolved ' + v, (e) => e.code);
      let m = mapAnonymous(4096);
      let pending = settle(SharedEvent.init(m, 0).waitAsync());
      const mutex = Mutex.init(m, 16); const held = mutex.lock();
      let locking = settle(mutex.lockAsync());
      const sem = Semaphore.init(m, 64, 0);
      let taking = settle(sem.waitAsync());
      let raw = settle(futex.waitAsync(m.int32Array(128, 1), 0, 0));
      await new Promise((r) => setTimeout(r, 20));
      m.close();
      codes.push(await pending, await locking, await taking, await raw);
      // protect() takes the buffer away; the event, set through a second
      // mapping of the same file, wakes and finds it gone.
      const { openSync, closeSync, ftruncateSync, rmSync } = await import('node:fs');
      const { adoptMapping } = await import('@shmkit/core/internal');
      const path = '/dev/shm/shmkit-engine-protect-' + process.pid;
      const fd = openSync(path, 'w+', 0o600);
      ftruncateSync(fd, 4096);
      const a = adoptMapping(native.mapFd(fd, 0, 4096, {}), { kind: 'file' });
      const b = adoptMapping(native.mapFd(fd, 0, 4096, {}), { kind: 'file' });
      closeSync(fd);
      const event = SharedEvent.init(a, 0);
      pending = settle(event.waitAsync());
      await new Promise((r) => setTimeout(r, 20));
      a.protect('none');
      SharedEvent.attach(b, 0).set();
      codes.push(await pending);
      a.close(); b.close(); rmSync(path);
      out(codes);`);
    expect(codes).toEqual([
      'ERR_SHMKIT_CLOSED',
      'ERR_SHMKIT_CLOSED',
      'ERR_SHMKIT_CLOSED',
      'ERR_SHMKIT_CLOSED',
      'ERR_SHMKIT_PROTECTED',
    ]);
  });

  it('refuses a SharedEvent whose state word holds garbage, without spinning', async () => {
    const summary = await inChild<{ sync: string; async: string; cpuMs: number }>(`
      const m = mapAnonymous(4096);
      const event = SharedEvent.init(m, 0);
      m.int32Array(0, 1)[0] = 2; // a peer scribbled over the state
      const cpu = process.cpuUsage();
      let syncCode, asyncCode;
      try { event.wait({ timeout: 300 }); syncCode = "returned"; } catch (e) { syncCode = e.code; }
      asyncCode = await event.waitAsync({ timeout: 300 }).then(() => "resolved", (e) => e.code);
      const used = process.cpuUsage(cpu);
      out({ sync: syncCode, async: asyncCode, cpuMs: (used.user + used.system) / 1000 });`);
    expect(summary.sync).toBe('ERR_SHMKIT_CORRUPT');
    expect(summary.async).toBe('ERR_SHMKIT_CORRUPT');
    // A busy loop would burn the whole 600 ms.
    expect(summary.cpuMs).toBeLessThan(300);
  });

  it('lets the process exit while only unreferenced waits pend', async () => {
    const result = await runNode(
      `import { mapAnonymous } from '@shmkit/core';
      import { SharedEvent, futex } from '@shmkit/sync';
      const m = mapAnonymous(4096);
      SharedEvent.init(m, 0).waitAsync({ ref: false }).then(() => console.log('woken'));
      futex.waitAsync(m.int32Array(64, 1), 0, 0, { ref: false, timeout: 60_000 });
      console.log('waiting');`,
      { cwd: pkgDir, timeout: 10_000 },
    );
    expect([result.code, result.signal, result.stdout.trim()]).toEqual([0, null, 'waiting']);
    const referenced = await runNode(
      `import { mapAnonymous } from '@shmkit/core';
      import { SharedEvent } from '@shmkit/sync';
      const m = mapAnonymous(4096);
      const event = SharedEvent.init(m, 0);
      event.waitAsync().then((set) => console.log('set', set));
      setTimeout(() => event.set(), 300);`,
      { cwd: pkgDir, timeout: 10_000 },
    );
    expect([referenced.code, referenced.stdout.trim()]).toEqual([0, 'set true']);
  });

  it('wakes nobody for a count of 0', async () => {
    const summary = await inChild<{ woken: number; still: string }>(`
      const words = new Int32Array(new SharedArrayBuffer(16));
      const pending = futex.waitAsync(words, 0, 0, { timeout: 300 });
      await new Promise((r) => setTimeout(r, 30));
      const woken = futex.wake(words, 0, 0);
      out({ woken, still: await pending });`);
    expect(summary).toEqual({ woken: 0, still: 'timed-out' });
  });
});
