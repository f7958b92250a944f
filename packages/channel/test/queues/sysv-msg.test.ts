import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { native } from '@shmkit/core/internal';
import { runNode, spawnNode, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { SysvMessageQueue } from '../../src/index';
import type { SysvMessage } from '../../src/index';
import {
  asNobody,
  blockedIn,
  collect,
  pkgDir,
  rejected,
  sleep,
  thrown,
  track,
  until,
} from './helpers';

const text = (m: SysvMessage<number | bigint> | undefined) => m?.data.toString();

function make(options: { key?: number; mode?: number } = {}): SysvMessageQueue {
  return track(SysvMessageQueue.create(options));
}

describe('create, open, stat, remove', () => {
  it('creates a private queue with mode 0o600; stat reports every field', () => {
    const q = make();
    const st = q.stat();
    const limits = SysvMessageQueue.limits();
    expect(st).toMatchObject({
      id: q.id,
      key: 0,
      mode: 0o600,
      uid: process.getuid!(),
      gid: process.getgid!(),
      cuid: process.getuid!(),
      cgid: process.getgid!(),
      messages: 0,
      bytes: 0,
      maxBytes: limits.msgmnb,
      lspid: 0,
      lrpid: 0,
      stime: null,
      rtime: null,
    });
    expect(st.ctime).toBeInstanceOf(Date);
    q.send('abc', { type: 2 });
    q.send('de');
    const after = q.stat();
    expect([after.messages, after.bytes, after.lspid]).toEqual([2, 5, process.pid]);
    expect(after.stime).toBeInstanceOf(Date);
    q.receive();
    expect(q.stat()).toMatchObject({ messages: 1, bytes: 2, lrpid: process.pid });
  });

  it('keys: EEXIST with exclusive, open by key, ENOENT once removed, with the key', () => {
    const key = uniqueKey();
    const q = make({ key, mode: 0o640 });
    expect(q.key).toBe(key);
    expect(q.stat().mode).toBe(0o640);
    const e = thrown(() => SysvMessageQueue.create({ key, exclusive: true }));
    const hex = `0x${key.toString(16).padStart(8, '0')}`;
    expect(e).toMatchObject({ code: 'EEXIST', syscall: 'msgget', key });
    expect(e.message).toBe(`EEXIST: file already exists, msgget key ${hex}`);
    expect(SysvMessageQueue.create({ key }).id).toBe(q.id);
    expect(SysvMessageQueue.open({ key }).id).toBe(q.id);
    expect(SysvMessageQueue.fromId(q.id).key).toBe(key);
    q.remove();
    expect(thrown(() => SysvMessageQueue.open({ key }))).toMatchObject({ code: 'ENOENT', key });
    expect(thrown(() => SysvMessageQueue.fromId(q.id))).toMatchObject({ code: 'EINVAL', id: q.id });
    expect(thrown(() => q.send('x'))).toMatchObject({
      code: 'EINVAL',
      syscall: 'msgsnd',
      id: q.id,
    });
  });

  it('rejects bad keys, ids and options before any call', () => {
    const cases: [() => unknown, string][] = [
      [() => SysvMessageQueue.create({ key: -1 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvMessageQueue.create({ key: 2 ** 32 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvMessageQueue.create({ key: 1.5 }), 'ERR_OUT_OF_RANGE'],
      [() => SysvMessageQueue.create({ key: '1' as unknown as number }), 'ERR_INVALID_ARG_TYPE'],
      [() => SysvMessageQueue.create({ mode: 0o1000 }), 'ERR_OUT_OF_RANGE'],
      [
        () => SysvMessageQueue.create({ exclusive: 'yes' as unknown as boolean }),
        'ERR_INVALID_ARG_TYPE',
      ],
      [() => SysvMessageQueue.open({ key: 0 }), 'ERR_INVALID_ARG_VALUE'],
      [
        () => SysvMessageQueue.open(undefined as unknown as { key: number }),
        'ERR_INVALID_ARG_TYPE',
      ],
      [
        () => SysvMessageQueue.open({ key: 5, access: 'toString' as 'read' }),
        'ERR_INVALID_ARG_VALUE',
      ],
      [() => SysvMessageQueue.fromId(-1), 'ERR_OUT_OF_RANGE'],
      [() => SysvMessageQueue.fromId(NaN), 'ERR_OUT_OF_RANGE'],
    ];
    for (const [call, code] of cases) expect(thrown(call).code, String(call)).toBe(code);
  });

  it('limits come from IPC_INFO and match the sysctls', () => {
    const read = (f: string) => Number(readFileSync(`/proc/sys/kernel/${f}`, 'utf8'));
    expect(SysvMessageQueue.limits()).toEqual({
      msgmax: read('msgmax'),
      msgmnb: read('msgmnb'),
      msgmni: read('msgmni'),
    });
  });

  it('set changes mode and maxBytes, keeping what is left out', () => {
    const q = make();
    q.set({ mode: 0o644 });
    q.set({ maxBytes: 100 });
    expect(q.stat()).toMatchObject({ mode: 0o644, maxBytes: 100, uid: process.getuid!() });
    for (const options of [{ mode: 0o1000 }, { maxBytes: -1 }, { uid: 2 ** 32 }]) {
      expect(thrown(() => q.set(options)).code).toBe('ERR_OUT_OF_RANGE');
    }
  });
});

describe('message types', () => {
  it('0 takes the first, a positive type exactly that one, a negative the lowest up to it', () => {
    const q = make();
    for (const [type, body] of [
      [3, 'c1'],
      [1, 'a1'],
      [2, 'b1'],
      [1, 'a2'],
      [3, 'c2'],
    ] as const) {
      q.send(body, { type });
    }
    expect([q.receive({ type: 2 })].map((m) => [m.type, text(m)])).toEqual([[2, 'b1']]);
    expect(q.tryReceive({ type: 2 })).toBeUndefined();
    expect(text(q.receive({ type: 3, except: true }))).toBe('a1');
    expect(text(q.receive({ type: -3 }))).toBe('a2');
    expect(q.receive()).toMatchObject({ type: 3 });
    expect(q.tryReceive({ type: -2 })).toBeUndefined();
    expect(text(q.receive({ type: 0 }))).toBe('c2');
    expect(q.tryReceive()).toBeUndefined();
  });

  it('types beyond 2^53 travel as bigints, exactly', () => {
    const q = make();
    const big = 2n ** 62n + 7n;
    q.send('big', { type: big });
    q.send('small', { type: 5n });
    expect(q.receive({ type: big, bigint: true })).toEqual({ type: big, data: Buffer.from('big') });
    expect(q.receive()).toEqual({ type: 5, data: Buffer.from('small') });
  });

  it('refuses types the kernel would, and MSG_EXCEPT without a positive type', () => {
    const q = make();
    for (const type of [0, -1, 1.5, 2 ** 53, NaN]) {
      expect(thrown(() => q.send('x', { type })).code, String(type)).toBe('ERR_OUT_OF_RANGE');
    }
    for (const type of [0n, 2n ** 63n]) {
      expect(thrown(() => q.send('x', { type })).code).toBe('ERR_INVALID_ARG_VALUE');
    }
    expect(thrown(() => q.send('x', { type: '1' as unknown as number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => q.tryReceive({ type: -(2 ** 53) })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => q.tryReceive({ except: true })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => q.tryReceive({ type: -2, except: true })).code).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(q.stat().messages).toBe(0);
  });
});

describe('sizes', () => {
  it('E2BIG leaves a longer message queued; truncate cuts it', () => {
    const q = make();
    q.send('0123456789', { type: 4 });
    const e = thrown(() => q.receive({ maxSize: 4 }));
    expect(e).toMatchObject({ code: 'E2BIG', syscall: 'msgrcv', id: q.id });
    expect(e.message).toContain('truncate: true');
    expect(q.stat().messages).toBe(1);
    expect(q.receive({ maxSize: 4, truncate: true })).toEqual({
      type: 4,
      data: Buffer.from('0123'),
    });
    expect(q.stat().messages).toBe(0);
    q.send(Buffer.alloc(0));
    expect(q.receive({ maxSize: 0 }).data.length).toBe(0);
    for (const maxSize of [-1, 2 ** 31, 0.5]) {
      expect(thrown(() => q.tryReceive({ maxSize })).code).toBe('ERR_OUT_OF_RANGE');
    }
    // A huge maxSize is only address space until a message fills it.
    q.send('fits');
    expect(text(q.receive({ maxSize: 2 ** 31 - 1 }))).toBe('fits');
  });

  it('EMSGSIZE before the call for a message above kernel.msgmax', () => {
    const q = make();
    const { msgmax } = SysvMessageQueue.limits();
    q.send(Buffer.alloc(msgmax));
    const e = thrown(() => q.send(Buffer.alloc(msgmax + 1)));
    expect(e).toMatchObject({ code: 'EMSGSIZE', errno: -90, syscall: 'msgsnd', id: q.id });
    expect(e.message).toContain(`at most ${msgmax} bytes (kernel.msgmax)`);
    expect(q.receive().data.length).toBe(msgmax);
  });

  it('EMSGSIZE, not a hang, for a message the queue could never hold', async () => {
    const q = make();
    q.set({ maxBytes: 16 });
    q.send(Buffer.alloc(10));
    const e = thrown(() => q.send(Buffer.alloc(20)));
    expect(e).toMatchObject({ code: 'EMSGSIZE', id: q.id });
    expect(e.message).toContain('at most 16');
    expect((await rejected(q.sendAsync(Buffer.alloc(20)))).code).toBe('EMSGSIZE');
    // Not "full, try later": it never fits.
    expect(thrown(() => q.trySend(Buffer.alloc(20))).code).toBe('EMSGSIZE');
    expect(q.trySend(Buffer.alloc(6))).toBe(true);
    expect(q.trySend(Buffer.alloc(1))).toBe(false);
  });
});

describe('waits', () => {
  it('try forms never wait; timeouts throw ETIMEDOUT with the id; bad ones are refused', () => {
    const q = make();
    q.set({ maxBytes: 8 });
    expect(q.tryReceive()).toBeUndefined();
    expect(q.trySend('12345678')).toBe(true);
    expect(q.trySend('9')).toBe(false);
    const started = Date.now();
    const e = thrown(() => q.send('9', { timeout: 30 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(e).toMatchObject({ code: 'ETIMEDOUT', errno: -110, syscall: 'msgsnd', id: q.id });
    expect(e.message).toBe(
      `ETIMEDOUT: connection timed out, msgsnd id ${q.id} (no room came within 30 ms)`,
    );
    expect(thrown(() => q.receive({ type: 7, timeout: 0 })).code).toBe('ETIMEDOUT');
    expect(text(q.receive({ timeout: 1e33 }))).toBe('12345678');
    for (const timeout of [NaN, -1])
      expect(thrown(() => q.receive({ timeout })).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('a blocked send waits for room (backpressure) and goes as soon as there is some', async () => {
    const q = make();
    q.set({ maxBytes: 10 });
    q.send('0123456789');
    let sent = false;
    const pending = q.sendAsync('next', { type: 2 }).then(() => {
      sent = true;
    });
    await sleep(30);
    expect(sent).toBe(false);
    expect(text(q.receive())).toBe('0123456789');
    await pending;
    expect(q.receive()).toEqual({ type: 2, data: Buffer.from('next') });
  });

  it('async receive waits for a message from another process, by type', async () => {
    const q = make();
    const pending = q.receiveAsync({ type: 9, timeout: 20_000 });
    const code = `
      import { SysvMessageQueue } from '@shmkit/channel';
      const q = SysvMessageQueue.fromId(${q.id});
      q.send('other type', { type: 8 });
      q.send('for you', { type: 9 });
    `;
    const r = await runNode(code, { cwd: pkgDir });
    expect(r.stderr).toBe('');
    expect(await pending).toEqual({ type: 9, data: Buffer.from('for you') });
    expect(q.stat().messages).toBe(1);
  });

  it('async timeouts reject with ETIMEDOUT; an abort rejects with AbortError and takes nothing', async () => {
    const q = make();
    expect(await rejected(q.receiveAsync({ timeout: 20 }))).toMatchObject({
      code: 'ETIMEDOUT',
      syscall: 'msgrcv',
      id: q.id,
    });
    expect((await rejected(q.receiveAsync({ timeout: 0 }))).code).toBe('ETIMEDOUT');
    const aborted = new AbortController();
    aborted.abort();
    expect((await rejected(q.receiveAsync({ signal: aborted.signal }))).name).toBe('AbortError');
    const controller = new AbortController();
    const pending = q.receiveAsync({ signal: controller.signal });
    await sleep(10);
    controller.abort();
    expect((await rejected(pending)).name).toBe('AbortError');
    q.send('kept');
    await sleep(20);
    expect(text(q.tryReceive())).toBe('kept');
  });

  it('takes timeouts of any size in every form; refuses bad ones and misplaced options by code', async () => {
    const q = make();
    q.set({ maxBytes: 4 });
    for (const timeout of [NaN, -1, -Infinity]) {
      expect(thrown(() => q.send('x', { timeout })).code).toBe('ERR_OUT_OF_RANGE');
      expect(thrown(() => q.receive({ timeout })).code).toBe('ERR_OUT_OF_RANGE');
      expect((await rejected(q.sendAsync('x', { timeout }))).code).toBe('ERR_OUT_OF_RANGE');
      expect((await rejected(q.receiveAsync({ timeout }))).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(q.stat().messages).toBe(0);
    for (const timeout of [1e33, Number.MAX_VALUE, Infinity, 2 ** 53, 2 ** 31 + 1]) {
      const got = q.receiveAsync({ timeout, type: 2 });
      setTimeout(() => q.send('yes', { type: 2 }), 20);
      expect(await got).toEqual({ type: 2, data: Buffer.from('yes') });
      q.send('full');
      const sent = q.sendAsync('more', { timeout });
      setTimeout(() => q.receive(), 20);
      await sent;
      expect(text(q.receive())).toBe('more');
      q.send('now', { timeout });
      expect(text(q.receive({ timeout }))).toBe('now');
    }
    expect((await rejected(q.receiveAsync({ timeout: 0.5 }))).code).toBe('ETIMEDOUT');
    expect((await rejected(q.sendAsync('x', { ref: 1 as unknown as boolean }))).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    const sync = q.receive as (options: object) => unknown;
    const signal = new AbortController().signal;
    expect(thrown(() => sync.call(q, { signal })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => sync.call(q, { ref: true })).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('300 pending receives wait on a bounded pool and each gets one message', async () => {
    const q = make();
    const pending = Array.from({ length: 300 }, () => q.receiveAsync({ timeout: 60_000 }));
    // fs work still runs while they wait: they are not on libuv's pool.
    const file = await readFile('/proc/self/status', 'utf8');
    expect(file).toContain('Threads:');
    expect(native.waitInfo().poolThreads).toBeLessThanOrEqual(64);
    for (let i = 0; i < 300; i++) q.send(String(i));
    const got = new Set((await Promise.all(pending)).map((m) => text(m)));
    expect(got.size).toBe(300);
    expect(q.tryReceive()).toBeUndefined();
  }, 60_000);

  it('a message with no text is delivered whole, and put back when its wait is aborted', async () => {
    const q = make();
    const got = q.receiveAsync({ type: 4 });
    setTimeout(() => q.send(Buffer.alloc(0), { type: 4 }), 20);
    expect(await got).toEqual({ type: 4, data: Buffer.alloc(0) });
    // Abort as the probe takes it: whichever wins, it ends up received once
    // or back in the queue, never lost.
    let received = 0;
    let back = 0;
    for (let i = 0; i < 300; i++) {
      const controller = new AbortController();
      const pending = q.receiveAsync({ type: 5, signal: controller.signal });
      q.send(Buffer.alloc(0), { type: 5 });
      if (i % 2 === 0) {
        await new Promise((r) => setTimeout(r, i % 3));
      } else {
        // Spin while a pool thread may be taking it, then abort.
        const abortAt = performance.now() + Math.random() * 0.3;
        while (performance.now() < abortAt);
      }
      controller.abort();
      try {
        expect((await pending).type).toBe(5);
        received += 1;
      } catch (error) {
        expect((error as Error).name).toBe('AbortError');
        expect(q.receive({ type: 5, timeout: 10_000 }).data.length).toBe(0);
        back += 1;
      }
      expect(q.tryReceive()).toBeUndefined();
    }
    expect(received + back).toBe(300);
  }, 60_000);

  it('abort racing a message: every message is delivered exactly once (1000 tries)', async () => {
    const q = make();
    let delivered = 0;
    let left = 0;
    const later = (f: () => void, ms?: number) =>
      new Promise<void>((resolve) => {
        const run = () => {
          f();
          resolve();
        };
        if (ms === undefined) setImmediate(run);
        else setTimeout(run, ms);
      });
    for (let i = 0; i < 1000; i++) {
      const controller = new AbortController();
      const pending = q.receiveAsync({ signal: controller.signal });
      const send = () => q.send(String(i));
      const abort = () => controller.abort();
      let sent: Promise<void>;
      const order = i % 3;
      if (order === 0) {
        sent = later(send);
        void later(abort);
      } else if (order === 1) {
        void later(abort);
        sent = later(send);
      } else {
        // The wait notices the message on a pool thread while the abort
        // timer runs: either may come first.
        sent = later(send);
        void later(abort, i % 2);
      }
      try {
        expect(text(await pending)).toBe(String(i));
        delivered += 1;
      } catch (error) {
        expect((error as Error).name).toBe('AbortError');
        await sent;
        expect(text(q.receive({ timeout: 10_000 }))).toBe(String(i));
        left += 1;
      }
      expect(q.tryReceive()).toBeUndefined();
    }
    expect(delivered + left).toBe(1000);
    // Both outcomes happen, so both paths were tried.
    expect(left).toBeGreaterThan(0);
    expect(delivered).toBeGreaterThan(0);
    // A generous bound for a loaded machine: each try starts a wait.
  }, 120_000);

  it('removal under pending waits settles them with EIDRM, here and in other processes', async () => {
    const q = make();
    q.set({ maxBytes: 1 });
    q.send('x');
    const pending = [
      q.receiveAsync({ type: 5 }),
      q.sendAsync('y'),
      q.receiveAsync({ timeout: 60_000, type: 5 }),
    ];
    const outcomes = pending.map((p) => rejected(p));
    const child = `
      import { SysvMessageQueue } from '@shmkit/channel';
      const q = SysvMessageQueue.fromId(${q.id});
      try { q.receive({ type: 5 }); } catch (e) { console.log(e.code + ' ' + e.syscall); }
    `;
    const timedChild = child.replace('{ type: 5 }', '{ type: 5, timeout: 60000 }');
    const blocking = spawnNode(child, { cwd: pkgDir });
    const polling = spawnNode(timedChild, { cwd: pkgDir });
    const outputs = [blocking, polling].map((c) => collect(c));
    // Remove the queue only once both really wait: one asleep in msgrcv,
    // the other between tries.
    await until(() => blockedIn(blocking.pid!, ['msgrcv']));
    await until(() => blockedIn(polling.pid!, ['nanosleep', 'clock_nanosleep']));
    q.remove();
    for (const result of await Promise.all(outputs)) {
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('EIDRM msgrcv\n');
    }
    for (const outcome of outcomes) {
      const e = await outcome;
      expect(e).toMatchObject({ code: 'EIDRM', id: q.id });
      expect(e.message).toContain('removed while this call waited');
    }
  });

  it('reads options once; getters cannot change a call under way', () => {
    const q = make();
    let reads = 0;
    const options = {
      get type() {
        reads += 1;
        return reads === 1 ? 3 : 4;
      },
    };
    q.send('x', options);
    expect(reads).toBe(1);
    expect(q.receive({ type: 3 }).type).toBe(3);
  });
});

describe('permissions as an unprivileged user', () => {
  it('EACCES for what the mode denies; EPERM for changes only the owner may make', async () => {
    const key = uniqueKey();
    const q = make({ key, mode: 0o622 });
    const code = `
      import { SysvMessageQueue } from '@shmkit/channel';
      const out = {};
      try { SysvMessageQueue.open({ key: ${key} }); } catch (e) { out.open = [e.code, e.syscall, e.key]; }
      const w = SysvMessageQueue.open({ key: ${key}, access: 'write' });
      w.send('from nobody', { type: 6 });
      try { w.tryReceive(); } catch (e) { out.receive = e.code; }
      // A partial set reads the queue first (EACCES: not readable); a full
      // one goes straight to IPC_SET (EPERM: not the owner).
      try { w.set({ mode: 0o666 }); } catch (e) { out.partialSet = e.code; }
      try { w.set({ uid: 65534, gid: 65534, mode: 0o666, maxBytes: 100 }); } catch (e) { out.set = e.code; }
      try { w.remove(); } catch (e) { out.remove = e.code; }
      console.log(JSON.stringify(out));
    `;
    const r = await runNode(code, { cwd: pkgDir, wrapper: asNobody });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      open: ['EACCES', 'msgget', key],
      receive: 'EACCES',
      partialSet: 'EACCES',
      set: 'EPERM',
      remove: 'EPERM',
    });
    expect(q.receive()).toEqual({ type: 6, data: Buffer.from('from nobody') });
  });
});
