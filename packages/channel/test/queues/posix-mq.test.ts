import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixMessageQueue } from '../../src/index';
import type { PosixMessage } from '../../src/index';
import { asNobody, mqName, pkgDir, rejected, sleep, thrown, trackName } from './helpers';

function make(options: { maxMessages?: number; messageSize?: number; mode?: number } = {}) {
  return PosixMessageQueue.create(mqName(), { maxMessages: 4, messageSize: 64, ...options });
}

const text = (m: PosixMessage | undefined) => m?.data.toString();

describe('create, open, unlink', () => {
  it('creates with mode 0o600 and the capacity asked for; open finds the same queue', () => {
    const name = mqName();
    using q = PosixMessageQueue.create(name, { maxMessages: 3, messageSize: 100, exclusive: true });
    expect(q.created).toBe(true);
    expect(q.name).toBe(name);
    expect(q.stat()).toEqual({ mode: 0o600, uid: process.getuid!(), gid: process.getgid!() });
    expect([q.maxMessages, q.messageSize]).toEqual([3, 100]);
    expect(q.attributes()).toEqual({
      nonBlocking: false,
      maxMessages: 3,
      messageSize: 100,
      currentMessages: 0,
    });
    using again = PosixMessageQueue.create(name, { maxMessages: 9, messageSize: 9 });
    expect(again.created).toBe(false);
    expect([again.maxMessages, again.messageSize]).toEqual([3, 100]);
    using opened = PosixMessageQueue.open(name, { access: 'write' });
    expect(opened.access).toBe('write');
    opened.send('through another descriptor');
    expect(text(q.receive())).toBe('through another descriptor');
  });

  it('EEXIST with exclusive, ENOENT for a missing name, both with the name', () => {
    const name = mqName();
    using _q = PosixMessageQueue.create(name);
    const exists = thrown(() => PosixMessageQueue.create(name, { exclusive: true }));
    expect(exists).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'mq_open', ipcName: name });
    expect(exists.message).toBe(`EEXIST: file already exists, mq_open '${name}'`);
    PosixMessageQueue.unlink(name);
    expect(thrown(() => PosixMessageQueue.open(name))).toMatchObject({
      code: 'ENOENT',
      syscall: 'mq_open',
      ipcName: name,
    });
    expect(thrown(() => PosixMessageQueue.unlink(name))).toMatchObject({
      code: 'ENOENT',
      syscall: 'mq_unlink',
    });
  });

  it('defaults to the system capacity, and fills in the half not given', () => {
    const limits = PosixMessageQueue.limits();
    const read = (f: string) => Number(readFileSync(`/proc/sys/fs/mqueue/${f}`, 'utf8'));
    expect(limits).toEqual({
      queuesMax: read('queues_max'),
      msgMax: read('msg_max'),
      msgsizeMax: read('msgsize_max'),
      msgDefault: read('msg_default'),
      msgsizeDefault: read('msgsize_default'),
      priorityMax: 32767,
    });
    using plain = PosixMessageQueue.create(mqName());
    expect([plain.maxMessages, plain.messageSize]).toEqual([
      limits.msgDefault,
      limits.msgsizeDefault,
    ]);
    using half = PosixMessageQueue.create(mqName(), { messageSize: 16 });
    expect([half.maxMessages, half.messageSize]).toEqual([limits.msgDefault, 16]);
  });

  it('applies the mode exactly, whatever the umask', async () => {
    const name = mqName();
    const code = `
      import { PosixMessageQueue } from '@shmkit/channel';
      const q = PosixMessageQueue.create(${JSON.stringify(name)}, { mode: 0o666 });
      console.log(process.umask().toString(8), q.stat().mode.toString(8));
    `;
    const r = await runNode(code, {
      cwd: pkgDir,
      wrapper: ['sh', '-c', 'umask 077; exec "$0" "$@"'],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('77 666\n');
  });

  it('validates names like POSIX shared memory names, before any call', () => {
    const bad = ['q', '/', '/a/b', '//a', '/.', '/..', '/a\0b', `/${'x'.repeat(256)}`];
    for (const name of bad) {
      expect(thrown(() => PosixMessageQueue.create(name)).code, JSON.stringify(name)).toBe(
        'ERR_INVALID_ARG_VALUE',
      );
    }
    expect(thrown(() => PosixMessageQueue.open(42 as unknown as string)).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    // The kernel takes a full NAME_MAX (255) bytes after the '/'.
    const base = mqName();
    const longest = trackName(base + 'q'.repeat(256 - base.length));
    using q = PosixMessageQueue.create(longest, { exclusive: true });
    expect(q.name.length).toBe(256);
  });

  it('rejects bad options with Node codes', () => {
    const name = mqName();
    const cases: [object, string][] = [
      [{ maxMessages: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ maxMessages: 65537 }, 'ERR_OUT_OF_RANGE'],
      [{ maxMessages: NaN }, 'ERR_OUT_OF_RANGE'],
      [{ maxMessages: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ maxMessages: '4' }, 'ERR_INVALID_ARG_TYPE'],
      [{ messageSize: 16 * 1024 * 1024 + 1 }, 'ERR_OUT_OF_RANGE'],
      [{ messageSize: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ messageSize: Infinity }, 'ERR_OUT_OF_RANGE'],
      [{ mode: 0o1000 }, 'ERR_OUT_OF_RANGE'],
      [{ exclusive: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ access: 'rw' }, 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [options, code] of cases) {
      expect(
        thrown(() => PosixMessageQueue.create(name, options)).code,
        JSON.stringify(options),
      ).toBe(code);
    }
    expect(thrown(() => PosixMessageQueue.create(name, 7 as unknown as object)).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => PosixMessageQueue.open(name)).code).toBe('ENOENT');
  });
});

describe('sending and receiving', () => {
  it('receives the highest priority first, oldest first within one', () => {
    using q = make({ maxMessages: 5 });
    q.send('a1', { priority: 1 });
    q.send('b9', { priority: 9 });
    q.send('c1', { priority: 1 });
    q.send('top', { priority: PosixMessageQueue.PRIORITY_MAX });
    q.send('zero');
    const got = [q.receive(), q.receive(), q.receive(), q.receive(), q.receive()];
    expect(got.map((m) => [text(m), m.priority])).toEqual([
      ['top', 32767],
      ['b9', 9],
      ['a1', 1],
      ['c1', 1],
      ['zero', 0],
    ]);
    for (const priority of [32768, -1, 1.5, NaN]) {
      expect(thrown(() => q.send('x', { priority })).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(thrown(() => q.send('x', { priority: 1n as unknown as number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('takes strings, every kind of view, ArrayBuffers and empty messages', () => {
    using q = make();
    const bytes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    q.send('héllo');
    q.send(bytes.subarray(2, 5));
    q.send(new DataView(bytes.buffer, 6, 2));
    q.send(new Uint16Array([0x0201]).buffer);
    expect(q.receive().data.toString()).toBe('héllo');
    expect([...q.receive().data]).toEqual([2, 3, 4]);
    expect([...q.receive().data]).toEqual([6, 7]);
    expect([...q.receive().data]).toEqual([1, 2]);
    q.send(new Uint8Array(0));
    expect(q.receive().data.length).toBe(0);
    for (const data of [42, null, undefined, {}, [1, 2]]) {
      expect(thrown(() => q.send(data as unknown as string)).code).toBe('ERR_INVALID_ARG_TYPE');
    }
  });

  it('EMSGSIZE for a message longer than messageSize, before the call', () => {
    using q = make({ messageSize: 16 });
    q.send(Buffer.alloc(16, 1));
    const e = thrown(() => q.send(Buffer.alloc(17)));
    expect(e).toMatchObject({ code: 'EMSGSIZE', errno: -90, syscall: 'mq_send', ipcName: q.name });
    expect(e.message).toContain("this queue's messageSize is 16");
    expect(thrown(() => q.trySend('x'.repeat(17))).code).toBe('EMSGSIZE');
    expect(q.attributes().currentMessages).toBe(1);
  });

  it('try forms never wait: undefined when empty, false when full', () => {
    using q = make({ maxMessages: 2 });
    expect(q.tryReceive()).toBeUndefined();
    expect(q.trySend('1')).toBe(true);
    expect(q.trySend('2', { priority: 3 })).toBe(true);
    expect(q.trySend('3')).toBe(false);
    expect(text(q.tryReceive())).toBe('2');
    expect(text(q.tryReceive())).toBe('1');
    expect(q.tryReceive()).toBeUndefined();
  });

  it('O_NONBLOCK (setAttributes) changes nothing for shmkit calls', () => {
    using q = make({ maxMessages: 1 });
    expect(q.setAttributes({ nonBlocking: true }).nonBlocking).toBe(false);
    expect(q.attributes().nonBlocking).toBe(true);
    expect(q.tryReceive()).toBeUndefined();
    expect(thrown(() => q.receive({ timeout: 10 })).code).toBe('ETIMEDOUT');
    q.send('one');
    expect(q.trySend('two')).toBe(false);
    expect(q.setAttributes({ nonBlocking: false }).nonBlocking).toBe(true);
    expect(thrown(() => q.send('two', { timeout: 0 })).code).toBe('ETIMEDOUT');
    expect(text(q.receive({ timeout: 0 }))).toBe('one');
    expect(thrown(() => q.setAttributes({} as { nonBlocking: boolean })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('timeouts: ETIMEDOUT with the name; 0 tries once; bad ones are refused', () => {
    using q = make({ maxMessages: 1 });
    const started = Date.now();
    const e = thrown(() => q.receive({ timeout: 30 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(e).toMatchObject({
      code: 'ETIMEDOUT',
      errno: -110,
      syscall: 'mq_timedreceive',
      ipcName: q.name,
    });
    expect(e.message).toBe(
      `ETIMEDOUT: connection timed out, mq_timedreceive '${q.name}' (no message came within 30 ms)`,
    );
    expect(thrown(() => q.receive({ timeout: 0 })).code).toBe('ETIMEDOUT');
    q.send('x', { timeout: 0 });
    expect(thrown(() => q.send('y', { timeout: 5.5 }))).toMatchObject({
      code: 'ETIMEDOUT',
      syscall: 'mq_timedsend',
    });
    for (const timeout of [NaN, -1, -Infinity]) {
      expect(thrown(() => q.receive({ timeout })).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(thrown(() => q.receive({ timeout: '5' as unknown as number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    // Huge timeouts mean "forever", not "at once".
    expect(text(q.receive({ timeout: 1e33 }))).toBe('x');
    q.send('y', { timeout: Infinity });
    expect(text(q.receive({ timeout: Number.MAX_VALUE }))).toBe('y');
  });

  it('EBADF, with a hint, for a direction the descriptor was not opened for', () => {
    using q = make();
    using reader = PosixMessageQueue.open(q.name, { access: 'read' });
    using writer = PosixMessageQueue.open(q.name, { access: 'write' });
    const e = thrown(() => reader.send('x'));
    expect(e).toMatchObject({ code: 'EBADF', syscall: 'mq_send', ipcName: q.name });
    expect(e.message).toContain("opened with access 'read'");
    expect(thrown(() => writer.tryReceive())).toMatchObject({
      code: 'EBADF',
      syscall: 'mq_receive',
    });
    writer.send('w');
    expect(text(reader.receive())).toBe('w');
  });

  it('reads options once, before acting; a getter that closes the queue gets ERR_SHMKIT_CLOSED', () => {
    using q = make();
    let reads = 0;
    const options = {
      get priority() {
        reads += 1;
        return 2;
      },
      get timeout() {
        reads += 1;
        return 100;
      },
    };
    q.send('x', options);
    expect(reads).toBe(2);
    expect(q.receive().priority).toBe(2);
    const closing = {
      get priority() {
        q.close();
        return 1;
      },
    };
    expect(thrown(() => q.send('x', closing)).code).toBe('ERR_SHMKIT_CLOSED');
  });

  it('close: idempotent; every later call throws ERR_SHMKIT_CLOSED; the queue stays', () => {
    const q = make();
    q.send('kept');
    q.close();
    q.close();
    expect(q.closed).toBe(true);
    for (const call of [
      () => q.send('x'),
      () => q.tryReceive(),
      () => q.attributes(),
      () => q.stat(),
    ]) {
      expect(thrown(call).code).toBe('ERR_SHMKIT_CLOSED');
    }
    using again = PosixMessageQueue.open(q.name);
    expect(text(again.receive())).toBe('kept');
    q[Symbol.dispose]();
  });
});

describe('async forms', () => {
  it('receiveAsync waits for a message from another process', async () => {
    using q = make();
    const pending = q.receiveAsync({ timeout: 20_000 });
    const code = `
      import { PosixMessageQueue } from '@shmkit/channel';
      const q = PosixMessageQueue.open(${JSON.stringify(q.name)}, { access: 'write' });
      q.send('from a child', { priority: 5 });
    `;
    const r = await runNode(code, { cwd: pkgDir });
    expect(r.stderr).toBe('');
    const m = await pending;
    expect([text(m), m.priority]).toEqual(['from a child', 5]);
  });

  it('sendAsync waits while the queue is full (backpressure), and sends a copy', async () => {
    using q = make({ maxMessages: 1 });
    q.send('first');
    const data = Buffer.from('second');
    let sent = false;
    const pending = q.sendAsync(data, { priority: 1 }).then(() => {
      sent = true;
    });
    data.write('XXXXXX');
    await sleep(30);
    expect(sent).toBe(false);
    expect(text(q.receive())).toBe('first');
    await pending;
    expect(sent).toBe(true);
    expect(text(q.receive())).toBe('second');
  });

  it('async timeouts reject with ETIMEDOUT; 0 tries once', async () => {
    using q = make({ maxMessages: 1 });
    expect(await rejected(q.receiveAsync({ timeout: 20 }))).toMatchObject({
      code: 'ETIMEDOUT',
      syscall: 'mq_timedreceive',
      ipcName: q.name,
    });
    expect((await rejected(q.receiveAsync({ timeout: 0 }))).code).toBe('ETIMEDOUT');
    await q.sendAsync('x', { timeout: 0 });
    expect(await rejected(q.sendAsync('y', { timeout: 15 }))).toMatchObject({
      code: 'ETIMEDOUT',
      syscall: 'mq_timedsend',
    });
    for (const timeout of [NaN, -5]) {
      expect((await rejected(q.receiveAsync({ timeout }))).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect((await rejected(q.receiveAsync({ signal: {} as AbortSignal }))).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    const later = q.receiveAsync({ timeout: 1e33 });
    expect(text(await later)).toBe('x');
  });

  it('takes timeouts of any size in every form; refuses bad ones and misplaced options by code', async () => {
    using q = make({ maxMessages: 1 });
    for (const timeout of [NaN, -1, -Infinity]) {
      expect(thrown(() => q.send('x', { timeout })).code).toBe('ERR_OUT_OF_RANGE');
      expect(thrown(() => q.receive({ timeout })).code).toBe('ERR_OUT_OF_RANGE');
      expect((await rejected(q.sendAsync('x', { timeout }))).code).toBe('ERR_OUT_OF_RANGE');
      expect((await rejected(q.receiveAsync({ timeout }))).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(q.attributes().currentMessages).toBe(0);
    // Huge timeouts mean forever (not "at once", not an overflow): a message
    // or room that comes later ends the wait.
    for (const timeout of [1e33, Number.MAX_VALUE, Infinity, 2 ** 53, 2 ** 31 + 1]) {
      const got = q.receiveAsync({ timeout });
      setTimeout(() => q.send(String(timeout)), 20);
      expect(text(await got)).toBe(String(timeout));
      q.send('full');
      const sent = q.sendAsync('more', { timeout });
      setTimeout(() => q.receive(), 20);
      await sent;
      expect(text(q.receive())).toBe('more');
    }
    // A fraction of a millisecond is a real, short timeout.
    expect((await rejected(q.receiveAsync({ timeout: 0.5 }))).code).toBe('ETIMEDOUT');
    expect((await rejected(q.receiveAsync({ ref: 'no' as unknown as boolean }))).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    const signal = new AbortController().signal;
    const sync = q.receive as (options: object) => unknown;
    expect(thrown(() => sync.call(q, { signal })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => sync.call(q, { ref: false })).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('an aborted receive takes nothing: the message stays for the next receiver', async () => {
    using q = make();
    const before = new AbortController();
    before.abort(new Error('not now'));
    const early = await rejected(q.receiveAsync({ signal: before.signal }));
    expect([early.name, early.code]).toEqual(['AbortError', 'ABORT_ERR']);
    expect((early.cause as Error).message).toBe('not now');
    const controller = new AbortController();
    const pending = q.receiveAsync({ signal: controller.signal });
    await sleep(10);
    controller.abort();
    expect((await rejected(pending)).name).toBe('AbortError');
    q.send('still here');
    expect(text(q.tryReceive())).toBe('still here');
    const full = make({ maxMessages: 1 });
    full.send('occupies');
    const sender = new AbortController();
    const blocked = full.sendAsync('never sent', { signal: sender.signal });
    sender.abort();
    expect((await rejected(blocked)).name).toBe('AbortError');
    expect(text(full.receive())).toBe('occupies');
    expect(full.tryReceive()).toBeUndefined();
    full.close();
  });

  it('abort racing a message: every message is delivered exactly once (2000 tries)', async () => {
    using q = make({ maxMessages: 10 });
    let delivered = 0;
    let left = 0;
    for (let i = 0; i < 2000; i++) {
      const controller = new AbortController();
      const pending = q.receiveAsync({ signal: controller.signal });
      const order = i % 3;
      if (order === 0) {
        q.send(String(i));
        controller.abort();
      } else if (order === 1) {
        controller.abort();
        q.send(String(i));
      } else {
        // The readiness wait wakes on its own thread while the abort timer
        // runs: either may come first.
        setImmediate(() => q.send(String(i)));
        setTimeout(() => controller.abort(), i % 2);
      }
      try {
        const m = await pending;
        expect(text(m)).toBe(String(i));
        delivered += 1;
      } catch (error) {
        expect((error as Error).name).toBe('AbortError');
        await sleep(0);
        const m = q.tryReceive();
        expect(text(m)).toBe(String(i));
        left += 1;
      }
      expect(q.tryReceive()).toBeUndefined();
    }
    expect(delivered + left).toBe(2000);
    // Both outcomes happen, so both paths were tried.
    expect(delivered).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
    // A generous bound for a loaded machine: each try starts a wait.
  }, 120_000);

  it('close() settles pending async calls with ERR_SHMKIT_CLOSED', async () => {
    const q = make({ maxMessages: 1 });
    const receiving = q.receiveAsync();
    const other = PosixMessageQueue.open(q.name);
    other.send('fills it');
    const otherReceive = other.receiveAsync({ timeout: 20_000 });
    expect(text(await otherReceive)).toBe('fills it');
    other.send('fills it again');
    const sending = other.sendAsync('waits');
    other.close();
    q.close();
    expect((await rejected(receiving)).code).toBe('ERR_SHMKIT_CLOSED');
    expect((await rejected(sending)).code).toBe('ERR_SHMKIT_CLOSED');
    expect((await rejected(q.receiveAsync())).code).toBe('ERR_SHMKIT_CLOSED');
  });

  it('an unlinked queue keeps serving the waits of those who hold it', async () => {
    using q = make();
    using writer = PosixMessageQueue.open(q.name);
    const pending = q.receiveAsync({ timeout: 20_000 });
    q.unlink();
    expect(thrown(() => PosixMessageQueue.open(q.name)).code).toBe('ENOENT');
    writer.send('after unlink');
    expect(text(await pending)).toBe('after unlink');
  });

  it('300 pending receives leave the libuv pool free; each gets one message', async () => {
    using q = make({ maxMessages: 10 });
    const pending = Array.from({ length: 300 }, () => q.receiveAsync({ timeout: 60_000 }));
    // fs work still runs while they wait.
    const file = await readFile('/proc/self/status', 'utf8');
    expect(file).toContain('Threads:');
    const got = new Set<string>();
    for (let i = 0; i < 300; i++) await q.sendAsync(String(i));
    for (const m of await Promise.all(pending)) got.add(text(m)!);
    expect(got.size).toBe(300);
  });
});

describe('permissions and limits as an unprivileged user', () => {
  it('EACCES for a queue whose mode denies us; the access asked for decides', async () => {
    using q = make({ mode: 0o622 });
    const code = `
      import { PosixMessageQueue } from '@shmkit/channel';
      const name = ${JSON.stringify(q.name)};
      const out = {};
      try { PosixMessageQueue.open(name); } catch (e) { out.readwrite = [e.code, e.syscall, e.ipcName]; }
      try { PosixMessageQueue.open(name, { access: 'read' }); } catch (e) { out.read = e.code; }
      const w = PosixMessageQueue.open(name, { access: 'write' });
      w.send('from nobody');
      try { PosixMessageQueue.unlink(name); } catch (e) { out.unlink = e.code; }
      console.log(JSON.stringify(out));
    `;
    const r = await runNode(code, { cwd: pkgDir, wrapper: asNobody });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      readwrite: ['EACCES', 'mq_open', q.name],
      read: 'EACCES',
      unlink: 'EACCES',
    });
    expect(text(q.receive())).toBe('from nobody');
  });

  it('EINVAL with the limits in the hint for a capacity above fs.mqueue.msg_max', async () => {
    const name = mqName();
    const { msgMax } = PosixMessageQueue.limits();
    const code = `
      import { PosixMessageQueue } from '@shmkit/channel';
      try { PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: ${msgMax + 1} }); }
      catch (e) { console.log(e.code, e.syscall, e.hint.includes('fs.mqueue.msg_max')); }
    `;
    const r = await runNode(code, { cwd: pkgDir, wrapper: asNobody });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('EINVAL mq_open true\n');
  });

  it('EMFILE when RLIMIT_MSGQUEUE has no room for the queue', async () => {
    const name = mqName();
    const code = `
      import { PosixMessageQueue } from '@shmkit/channel';
      try { PosixMessageQueue.create(${JSON.stringify(name)}, { maxMessages: 10, messageSize: 8192 }); }
      catch (e) { console.log(e.code, e.hint.includes('RLIMIT_MSGQUEUE')); }
    `;
    const r = await runNode(code, {
      cwd: pkgDir,
      wrapper: ['prlimit', '--msgqueue=1024:1024', '--', ...asNobody],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('EMFILE true\n');
  });
});
