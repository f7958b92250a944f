// Misuse from JS and from other processes, each in a child process so that a
// crash fails the test instead of the runner.
import { runNode, spawnNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixMessageQueue, SysvMessageQueue } from '../../src/index';
import { collect, mqName, pkgDir, sleep, track } from './helpers';

async function child(code: string): Promise<unknown> {
  const r = await runNode(code, { cwd: pkgDir, timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('garbage at the native boundary', () => {
  it('wrong handles, forged objects, detached buffers and wild numbers give coded errors', async () => {
    const name = mqName();
    const out = await child(`
      import { native } from '@shmkit/core/internal';
      const codes = [];
      const attempt = (f) => {
        try { const r = f(); codes.push(r instanceof Promise ? 'promise' : 'ok:' + typeof r); }
        catch (e) { codes.push(e.code); }
      };
      const opened = native.mqOpen(${JSON.stringify(name)}, 2 | 4 | 8, 0o600, 2, 8);
      const q = opened.handle;
      const [mapping] = native.mapAnonymous(4096, true);
      const id = native.msgGet(0, true, true, 0o600, 2);
      attempt(() => native.mqSend(mapping, Buffer.from('x'), 0, 0));
      attempt(() => native.mqSend({}, Buffer.from('x'), 0, 0));
      attempt(() => native.mqSend(q, 'not bytes', 0, 0));
      attempt(() => native.mqSend(q, Buffer.from('x'), 2 ** 40, 0));
      attempt(() => native.mqSend(q, Buffer.from('x'), 0, NaN));
      attempt(() => native.mqSend(q, Buffer.from('x'), 0, -1));
      attempt(() => native.mqReceive(q, -Infinity));
      attempt(() => native.mqOpen('/x', 3, 0o600, undefined, undefined));
      attempt(() => native.mqOpen('/x', 16, 0o600, undefined, undefined));
      attempt(() => native.mqOpen('/x', 6, 0o600, 0, 8));
      attempt(() => native.mqOpen('/x', 6, 0o600, 2, 2 ** 30));
      attempt(() => native.mqWaitAsync(mapping, false, 10, 0, 0));
      attempt(() => native.mqWaitAsync(q, 'yes', 10, 0, 0));
      attempt(() => native.mqWaitAsync(q, false, NaN, 0, 0));
      attempt(() => native.mqWaitAsync(q, false, 10, -1, 0));
      attempt(() => native.mqWaitAsync(q, false, 10, {}, 0));
      attempt(() => native.msgSend(id, 0, Buffer.from('x'), 0));
      attempt(() => native.msgSend(id, 2n ** 64n, Buffer.from('x'), 0));
      attempt(() => native.msgSend(-1, 1, Buffer.from('x'), 0));
      attempt(() => native.msgSend(2 ** 31, 1, Buffer.from('x'), 0));
      attempt(() => native.msgReceive(id, 0, 8, undefined, 0));
      attempt(() => native.msgReceive(id, 0, 0, -1, 0));
      attempt(() => native.msgReceive(id, -(2n ** 63n), 0, undefined, 0));
      attempt(() => native.msgReceiveAsync(id, 0, 0, 10, {}, 0));
      attempt(() => native.msgReceiveAsync(id, 0, 8, 10, 0, 0));
      attempt(() => native.msgSendAsync(id, 1, Buffer.from('x'), -5, 0, 0));
      attempt(() => native.msgSendAsync(id, 1, 42, 10, 0, 0));
      attempt(() => native.msgSet(id, -1, undefined, undefined, undefined));
      // A detached buffer is an empty message, as for fs.writeSync.
      const data = new Uint8Array(4);
      structuredClone(data.buffer, { transfer: [data.buffer] });
      attempt(() => native.mqSend(q, data, 0, 0));
      const empty = native.mqReceive(q, 0);
      codes.push(empty.data.length);
      attempt(() => native.msgSend(id, 1, data, 0));
      codes.push(native.msgReceive(id, 0, 0, undefined, 0).data.length);
      native.mqClose(q);
      attempt(() => native.mqSend(q, Buffer.from('x'), 0, 0));
      attempt(() => native.mqWaitAsync(q, false, 10, 0, 0));
      native.mqUnlink(${JSON.stringify(name)});
      native.msgRemove(id);
      attempt(() => native.msgRemove(id));
      // Async calls on a queue that is gone reject; they never throw.
      const gone = await Promise.allSettled([
        native.msgReceiveAsync(id, 0, 0, 10, 0, 0),
        native.msgSendAsync(id, 1, Buffer.from('x'), 10, 0, 0),
      ]);
      codes.push(...gone.map((r) => r.reason?.code));
      console.log(JSON.stringify(codes));
    `);
    expect(out).toEqual([
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ok:boolean',
      0,
      'ok:boolean',
      0,
      'ERR_SHMKIT_CLOSED',
      'ERR_SHMKIT_CLOSED',
      'EINVAL',
      'EINVAL',
      'EINVAL',
    ]);
  });

  it('one AbortSignal given to many waits of both kinds aborts them all, with one listener', async () => {
    const name = mqName();
    const fullName = mqName();
    const out = await child(`
      import { getEventListeners } from 'node:events';
      import { native } from '@shmkit/core/internal';
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 1, messageSize: 8 });
      const full = PosixMessageQueue.create(${JSON.stringify(fullName)}, { maxMessages: 1, messageSize: 8 });
      const s = SysvMessageQueue.create();
      const sFull = SysvMessageQueue.create();
      full.send('x');
      sFull.set({ maxBytes: 1 });
      sFull.send('y');
      const controller = new AbortController();
      const { signal } = controller;
      const waits = [];
      for (let i = 0; i < 50; i++) waits.push(q.receiveAsync({ signal }), s.receiveAsync({ signal }));
      waits.push(full.sendAsync('z', { signal }), sFull.sendAsync('z', { signal }));
      const listeners = getEventListeners(signal, 'abort').length;
      const pending = native.waitInfo().pending;
      setTimeout(() => controller.abort(new Error('enough')), 20);
      const results = await Promise.allSettled(waits);
      const names = new Set(results.map((r) => r.reason?.name + ':' + r.reason?.cause?.message));
      // Nothing was sent or taken by the aborted waits.
      const left = [full.tryReceive()?.data.toString(), full.tryReceive(), sFull.tryReceive()?.data.toString(), sFull.tryReceive(), q.tryReceive(), s.tryReceive()];
      s.remove();
      sFull.remove();
      q.unlink();
      full.unlink();
      console.log(JSON.stringify({ listeners, pending, names: [...names], left, after: native.waitInfo().pending }));
    `);
    expect(out).toEqual({
      listeners: 1,
      pending: 102,
      names: ['AbortError:enough'],
      left: ['x', null, 'y', null, null, null],
      after: 0,
    });
  });

  it('getters that throw or tear the queue down mid-call leave coded errors, not crashes', async () => {
    const name = mqName();
    const out = await child(`
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const codes = [];
      const attempt = async (f) => {
        try { await f(); codes.push('ok'); } catch (e) { codes.push(e.code ?? e.message); }
      };
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 1, messageSize: 8 });
      const s = SysvMessageQueue.create();
      await attempt(() => q.send('x', { get priority() { throw new Error('getter threw'); } }));
      await attempt(() => q.receiveAsync({ get timeout() { q.close(); return 10; } }));
      const r = PosixMessageQueue.open(${JSON.stringify(name)});
      await attempt(() => r.sendAsync('x', { get signal() { r.unlink(); return undefined; } }));
      codes.push(r.tryReceive().data.toString());
      await attempt(() => s.send('x', { get type() { s.remove(); return 1; } }));
      await attempt(() => s.receiveAsync({ get type() { return 7; }, get timeout() { return Number.MAX_VALUE; }, signal: AbortSignal.timeout(20) }));
      r.close();
      console.log(JSON.stringify(codes));
    `);
    expect(out).toEqual(['getter threw', 'ERR_SHMKIT_CLOSED', 'ok', 'x', 'EINVAL', 'EINVAL']);
  });
});

describe('ends of life', () => {
  it('terminating a worker with pending waits frees their threads and swallows no message', async () => {
    const q = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 8 });
    const full = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 8 });
    full.send('x');
    const s = track(SysvMessageQueue.create());
    const out = (await child(`
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      import { SysvMessageQueue } from '@shmkit/channel';
      const threads = () => readdirSync('/proc/self/task').length;
      const before = threads();
      for (let round = 0; round < 5; round++) {
        const w = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { PosixMessageQueue, SysvMessageQueue } = require('@shmkit/channel');
          const q = PosixMessageQueue.open(${JSON.stringify(q.name)});
          const full = PosixMessageQueue.open(${JSON.stringify(full.name)});
          const s = SysvMessageQueue.fromId(${s.id});
          const signal = new AbortController().signal;
          q.receiveAsync(); q.receiveAsync({ signal }); full.sendAsync('y');
          s.receiveAsync(); s.receiveAsync({ type: 3, timeout: 1e9, signal }); s.sendAsync('z', { type: 9, timeout: 0 }).catch(() => {});
          parentPort.postMessage('waiting');
        \`, { eval: true, execArgv: [] });
        await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, 50));
        await w.terminate();
      }
      let after = threads();
      // Idle pool threads retire after 5 s; 30 s only catches a leak.
      for (let i = 0; i < 1500 && after > before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = threads();
      }
      const s = SysvMessageQueue.fromId(${s.id});
      s.send('after the workers');
      await new Promise((resolve) => setTimeout(resolve, 50));
      console.log(JSON.stringify({ threadsLeft: after - before, kept: s.stat().messages }));
    `)) as { threadsLeft: number; kept: number };
    expect(out.threadsLeft).toBeLessThanOrEqual(0);
    expect(s.receive({ timeout: 0 }).data.toString()).toBe('after the workers');
    expect(out.kept).toBe(1);
    expect(q.attributes().currentMessages).toBe(0);
    expect(full.receive().data.toString()).toBe('x');
    expect(full.tryReceive()).toBeUndefined();
    q.close();
    full.close();
  });

  it('waits with ref: false let a process end by itself; default ones keep it alive', async () => {
    const name = mqName();
    const fullName = mqName();
    const s = track(SysvMessageQueue.create());
    const sFull = track(SysvMessageQueue.create());
    sFull.set({ maxBytes: 1 });
    sFull.send('x');
    const setup = `
      import { native } from '@shmkit/core/internal';
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 1, messageSize: 8 });
      const full = PosixMessageQueue.create(${JSON.stringify(fullName)}, { maxMessages: 1, messageSize: 8 });
      if (full.attributes().currentMessages === 0) full.send('x');
      const s = SysvMessageQueue.fromId(${s.id});
      const sFull = SysvMessageQueue.fromId(${sFull.id});
      process.on('exit', () => console.log('exit', native.waitInfo().pending, native.waitInfo().referenced));
    `;
    // Unreferenced waits of every kind, one with a timeout far away: the
    // event loop has nothing else to do, so the process ends at once.
    const unref = await runNode(
      `${setup}
      const none = () => {};
      q.receiveAsync({ ref: false }).catch(none);
      full.sendAsync('y', { ref: false, timeout: 3_600_000 }).catch(none);
      s.receiveAsync({ ref: false }).catch(none);
      sFull.sendAsync('y', { ref: false }).catch(none);
      `,
      { cwd: pkgDir, timeout: 60_000 },
    );
    expect(unref.stderr).toBe('');
    expect([unref.code, unref.stdout]).toEqual([0, 'exit 4 0\n']);
    // One referenced wait among them keeps it alive until its message comes.
    const child = spawnNode(
      `${setup}
      q.receiveAsync({ ref: false });
      s.receiveAsync({ ref: false, type: 9 });
      const m = await s.receiveAsync({ type: 8 });
      console.log('got', m.data.toString());
      `,
      { cwd: pkgDir },
    );
    const output = collect(child);
    await sleep(500);
    expect(child.exitCode).toBeNull();
    s.send('late', { type: 8 });
    const done = await output;
    expect(done.stderr).toBe('');
    expect([done.code, done.stdout]).toEqual([0, 'got late\nexit 2 0\n']);
    // Nothing the exited processes had pending took or sent anything.
    expect(s.tryReceive()).toBeUndefined();
    expect(sFull.receive().data.toString()).toBe('x');
    expect(sFull.tryReceive()).toBeUndefined();
    PosixMessageQueue.unlink(fullName);
  });

  it('a process with async waits pending exits when it calls process.exit', async () => {
    const name = mqName();
    const s = track(SysvMessageQueue.create());
    const started = Date.now();
    const out = await child(`
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const q = PosixMessageQueue.create(${JSON.stringify(name)});
      const s = SysvMessageQueue.fromId(${s.id});
      q.receiveAsync(); s.receiveAsync();
      setTimeout(() => { console.log('true'); process.exit(0); }, 50);
    `);
    expect(out).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
    // Nothing pending in the dead process consumed this.
    s.send('later');
    expect(s.tryReceive()?.data.toString()).toBe('later');
  });

  it('another process lowering maxBytes under a waiting sync send gets it EMSGSIZE, not its timeout', async () => {
    const s = track(SysvMessageQueue.create());
    s.set({ maxBytes: 8 });
    s.send('12345678');
    const child = spawnNode(
      `import { SysvMessageQueue } from '@shmkit/channel';
      const s = SysvMessageQueue.fromId(${s.id});
      console.log('waiting');
      const started = Date.now();
      try { s.send('abcd', { timeout: 30_000 }); console.log('sent'); }
      catch (e) { console.log(e.code, Date.now() - started < 20_000, /lowered/.test(e.message)); }
      `,
      { cwd: pkgDir },
    );
    const output = collect(child);
    await new Promise<void>((resolve) =>
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('waiting')) resolve();
      }),
    );
    // Past the first tries: the send is in its sleeps between them.
    await sleep(300);
    s.set({ maxBytes: 2 });
    const done = await output;
    expect(done.stderr).toBe('');
    expect([done.code, done.stdout]).toEqual([0, 'waiting\nEMSGSIZE true true\n']);
    expect(s.receive().data.toString()).toBe('12345678');
  });

  it('another process filling a queue makes our async sends wait, then time out', async () => {
    const s = track(SysvMessageQueue.create());
    s.set({ maxBytes: 4 });
    const q = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 8 });
    const out = await child(`
      import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
      const s = SysvMessageQueue.fromId(${s.id});
      const q = PosixMessageQueue.open(${JSON.stringify(q.name)});
      s.send('1234'); q.send('full');
      const results = await Promise.allSettled([
        s.sendAsync('5', { timeout: 200 }),
        q.sendAsync('5', { timeout: 200 }),
      ]);
      console.log(JSON.stringify(results.map((r) => r.reason?.code)));
    `);
    expect(out).toEqual(['ETIMEDOUT', 'ETIMEDOUT']);
    expect(s.receive().data.toString()).toBe('1234');
    expect(q.receive().data.toString()).toBe('full');
    q.unlink();
    q.close();
  });
});
