// The API in one process: every form of sending and receiving, codecs,
// zero-copy, ends, and every documented argument and state error.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '@shmkit/posix-shm';
import { Channel, ChannelErrorCode, type Receiver, type Sender } from '../src/index';
import { channelName } from './helpers';

function pair(options: Parameters<typeof Channel.create>[1] = {}) {
  const channel = Channel.create(channelName(), { capacity: 4096, exclusive: true, ...options });
  return {
    channel,
    tx: channel.sender() as Sender<unknown>,
    rx: channel.receiver() as Receiver<unknown>,
  };
}

describe('create, open, unlink', () => {
  it('creates with safe defaults and opens by name from the header', () => {
    const name = channelName();
    using channel = Channel.create(name);
    expect(channel.kind).toBe('spsc');
    expect(channel.capacity).toBe(1 << 20);
    expect(channel.maxMessageBytes).toBe((1 << 19) - 8);
    expect(channel.codec).toBe('bytes');
    expect(channel.created).toBe(true);
    using shm = PosixShm.open(name);
    expect(shm.stat().mode).toBe(0o600);
    expect(shm.size).toBe(channel.byteLength);
    using again = Channel.open(name);
    expect([again.kind, again.capacity, again.created]).toEqual(['spsc', 1 << 20, false]);
  });

  it('rounds the capacity up to a power of two from 4 KiB', () => {
    using a = Channel.create(channelName(), { capacity: 5000 });
    using b = Channel.create(channelName(), { capacity: 1 });
    expect([a.capacity, b.capacity]).toEqual([8192, 4096]);
  });

  it('exclusive: EEXIST; otherwise opens the same shape, refuses another (ERR_SHMKIT_CHANNEL_MISMATCH)', () => {
    const name = channelName();
    using first = Channel.create(name, { kind: 'mpsc', senders: 3, capacity: 8192 });
    expect(() => Channel.create(name, { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'link' }),
    );
    using second = Channel.create(name, { kind: 'mpsc', senders: 3, capacity: 8192 });
    expect(second.created).toBe(false);
    expect(second.senderSlots).toBe(3);
    expect(() => Channel.create(name, { kind: 'spsc' })).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.MISMATCH }),
    );
    expect(first.closed).toBe(false);
  });

  it('unlink removes a channel and refuses anything else', () => {
    const name = channelName();
    Channel.create(name).close();
    Channel.unlink(name);
    expect(() => Channel.open(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const other = channelName();
    using shm = PosixShm.create(other, { size: 4096 });
    shm.map().uint8Array().set(Buffer.from('not a channel'));
    expect(() => Channel.unlink(other)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(PosixShm.open(other).size).toBe(4096);
    // The magic alone, or a header of version 0, is not a channel either.
    const squatters: [string, Uint8Array][] = [
      ['magic only', Buffer.from('shmkchan')],
      ['version 0', Buffer.concat([Buffer.from('shmkchan'), Buffer.alloc(56)])],
    ];
    for (const [what, bytes] of squatters) {
      const squat = channelName();
      using squatter = PosixShm.create(squat, { size: 64 });
      squatter.map().uint8Array().set(bytes);
      expect(() => Channel.unlink(squat), what).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
      PosixShm.unlink(squat);
    }
    // A damaged channel (its cursors scribbled over) can still be removed.
    const damaged = channelName();
    Channel.create(damaged, { capacity: 4096, exclusive: true }).close();
    using shm2 = PosixShm.open(damaged);
    shm2.map().int32Array().fill(-1, 96, 1024);
    Channel.unlink(damaged);
    expect(() => PosixShm.open(damaged)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('open refuses what is not a channel with coded errors', () => {
    const zero = channelName();
    PosixShm.create(zero, { size: 4096 }).close();
    expect(() => Channel.open(zero)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.NOT_INITIALIZED }),
    );
    const garbage = channelName();
    using shm = PosixShm.create(garbage, { size: 8192 });
    using map = shm.map();
    map.uint8Array().fill(0x5a);
    expect(() => Channel.open(garbage)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.CORRUPT }),
    );
    const small = channelName();
    PosixShm.create(small, { size: 100 }).close();
    expect(() => Channel.open(small)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.CORRUPT }),
    );
    const empty = channelName();
    using e = PosixShm.create(empty, { size: 1 });
    e.resize(0);
    expect(() => Channel.open(empty)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.NOT_INITIALIZED }),
    );
  });

  it('open refuses a newer format (ERR_SHMKIT_CHANNEL_VERSION) and a truncated object (CORRUPT)', () => {
    const name = channelName();
    Channel.create(name, { capacity: 4096 }).close();
    {
      using shm = PosixShm.open(name);
      using map = shm.map({ length: 4096 });
      map.int32Array(0, 4)[2] = 2;
    }
    expect(() => Channel.open(name)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.VERSION }),
    );
    const cut = channelName();
    Channel.create(cut, { capacity: 65536 }).close();
    using shm = PosixShm.open(cut);
    shm.resize(8192);
    expect(() => Channel.open(cut)).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.CORRUPT }),
    );
  });

  it('validates every argument before acting', async () => {
    const name = channelName();
    expect(() => Channel.create(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    for (const bad of ['x', '/', '/a/b', '/..', `/${'a'.repeat(255)}`, '/sem.x'])
      expect(() => Channel.create(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
    expect(() => Channel.open('/a/b')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { kind: 'fifo' as 'spsc' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { codec: 'xml' as 'json' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { capacity: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, { capacity: 2 ** 31 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, { capacity: 1.5 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, { kind: 'mpsc', senders: 65 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, { kind: 'broadcast', receivers: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, { senders: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { receivers: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { mode: 0o10000 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Channel.create(name, 'x' as unknown as object)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    // Nothing was created by any of these.
    expect(() => PosixShm.open(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));

    // Getters are read once: a getter that changes its answer cannot split the check from the use.
    let reads = 0;
    const sneaky = {
      get capacity() {
        reads++;
        return reads === 1 ? 4096 : 2 ** 40;
      },
    };
    using channel = Channel.create(name, sneaky);
    expect([reads, channel.capacity]).toEqual([1, 4096]);
    using tx = channel.sender();
    using rx = channel.receiver();
    expect(() => tx.send('text' as unknown as Buffer)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => tx.send(Buffer.alloc(channel.maxMessageBytes + 1))).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => tx.reserve(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tx.reserve(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tx.reserve('8' as unknown as number)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => tx.send(Buffer.alloc(1), { timeout: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => tx.send(Buffer.alloc(1), { spin: 'yes' as unknown as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => rx.receive({ signal: new AbortController().signal } as object)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => channel.sender({ batch: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    // Checked before acting, even when a message is there: nothing is consumed.
    tx.send(Buffer.from('kept'));
    tx.flush();
    expect(() => rx.receive({ timeout: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => rx.peekOffset({ spin: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => tx.reserveOffset(8, { timeout: NaN })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    await expect(rx.receiveAsync({ signal: 'no' as unknown as AbortSignal })).rejects.toMatchObject(
      {
        code: 'ERR_INVALID_ARG_TYPE',
      },
    );
    expect(String(rx.receive({ timeout: 0 }))).toBe('kept');
    expect(() => channel.receiver({ start: 'end' as 'next' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});

describe('sending and receiving', () => {
  it('bytes: any ArrayBufferView or ArrayBuffer in, Buffers out, in order', () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    tx.send(Buffer.from('one'));
    tx.send(new Uint16Array([0x6f77, 0x6f]));
    tx.send(new TextEncoder().encode('three').buffer);
    tx.send(new DataView(new Uint8Array([102, 111, 117, 114]).buffer));
    tx.send(new Uint8Array(0));
    const got = [1, 2, 3, 4, 5].map(() => rx.receive({ timeout: 0 }));
    expect(got.every((b) => Buffer.isBuffer(b))).toBe(true);
    expect(got.map((b) => (b as Buffer).toString('latin1').replace(/\0/g, ''))).toEqual([
      'one',
      'woo',
      'three',
      'four',
      '',
    ]);
    expect(rx.tryReceive()).toBeUndefined();
    expect(rx.receive({ timeout: 5 })).toBeUndefined();
  });

  it('string, json and v8 codecs, from the channel or per end', () => {
    const s = Channel.create(channelName(), { codec: 'string', capacity: 4096 });
    using _s = s;
    const stx = s.sender();
    const srx = s.receiver();
    stx.send('héllo wörld ✓');
    stx.send('x'.repeat(1000));
    expect(srx.receive()).toBe('héllo wörld ✓');
    expect(srx.receive()).toBe('x'.repeat(1000));
    expect(() => stx.send(Buffer.from('x') as unknown as string)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );

    const j = Channel.create<{ n: number; list: string[] }>(channelName(), {
      codec: 'json',
      capacity: 4096,
    });
    using _j = j;
    const jtx = j.sender();
    const jrx = j.receiver();
    jtx.send({ n: 1, list: ['a', 'b'] });
    jtx.send(null as unknown as { n: number; list: string[] });
    expect(jrx.receive()).toEqual({ n: 1, list: ['a', 'b'] });
    expect(jrx.receive()).toBeNull();
    expect(() => jtx.send(undefined as unknown as { n: number; list: string[] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );

    const v = Channel.create(channelName(), { capacity: 65536 });
    using _v = v;
    const vtx = v.sender({ codec: 'v8' });
    const vrx = v.receiver({ codec: 'v8' });
    const value = {
      when: new Date(0),
      map: new Map([[1, 'a']]),
      big: 10n ** 20n,
      bytes: new Uint8Array([1, 2]),
    };
    vtx.send(value);
    expect(vrx.receive()).toEqual(value);
    expect(() => vtx.send(undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    vtx.send('text');
    expect(vrx.receive()).toBe('text');
  });

  it('a message that does not decode is consumed and reported (ERR_SHMKIT_CHANNEL_DECODE)', () => {
    const channel = Channel.create(channelName(), { capacity: 4096 });
    using _ = channel;
    const tx = channel.sender();
    const rx = channel.receiver({ codec: 'json' });
    tx.send(Buffer.from('{not json'));
    tx.send(Buffer.from('[1]'));
    expect(() => rx.receive()).toThrow(expect.objectContaining({ code: ChannelErrorCode.DECODE }));
    expect(rx.receive()).toEqual([1]);
  });

  it('v8 garbage is ERR_SHMKIT_CHANNEL_DECODE; null cannot travel through an object-mode Readable', async () => {
    const channel = Channel.create(channelName(), { capacity: 4096 });
    using _ = channel;
    const tx = channel.sender();
    const rx = channel.receiver({ codec: 'v8' });
    tx.send(Buffer.from([0xff, 0x0f, 0x99, 0x01, 0x02]));
    tx.send(new Uint8Array(0));
    expect(() => rx.receive()).toThrow(expect.objectContaining({ code: ChannelErrorCode.DECODE }));
    expect(() => rx.receive()).toThrow(expect.objectContaining({ code: ChannelErrorCode.DECODE }));
    rx.close();
    const jrx = channel.receiver({ codec: 'json' });
    tx.send(Buffer.from('null'));
    const stream = jrx.readable();
    const failed = once(stream, 'error');
    stream.resume();
    const [error] = (await failed) as [{ code?: string }];
    expect(error.code).toBe('ERR_STREAM_NULL_VALUES');
    expect(jrx.closed).toBe(true);
  });

  it('messages of random sizes cross the ring end as one contiguous view each', () => {
    const { channel, tx, rx } = pair({ capacity: 4096 });
    using _ = channel;
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const queue: [number, number][] = [];
    const drain = (): void => {
      tx.flush();
      for (const [length, fill] of queue.splice(0)) {
        const view = rx.peek({ timeout: 0 })!;
        expect(view.length).toBe(length);
        expect(view.every((b) => b === fill)).toBe(true);
        rx.release();
      }
    };
    let wrapped = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = random(channel.maxMessageBytes + 1);
      const message = Buffer.alloc(length, i & 0xff);
      if (!tx.trySend(message)) {
        drain();
        expect(tx.trySend(message)).toBe(true);
      }
      queue.push([length, i & 0xff]);
      if (random(4) === 0) drain();
      if (channel.inspect().senders[0]!.tail % 4096 < 600) wrapped++;
    }
    drain();
    expect(wrapped).toBeGreaterThan(100);
  });

  it('zero-copy: reserve/commit with a shorter length, peek/release, offsets, cancel', () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    const view = tx.reserve(100)!;
    expect(view.length).toBe(100);
    view.set(Buffer.from('hello'));
    expect(() => tx.send(Buffer.from('x'))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    expect(() => tx.reserve(1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    tx.commit(5);
    expect(() => tx.commit()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => (tx.reserve(10), tx.commit(11))).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    tx.cancel();
    const at = tx.reserveOffset(3);
    tx.memory.set([1, 2, 3], at);
    tx.commit();
    tx.flush();
    expect(Buffer.from(rx.peek()!).toString()).toBe('hello');
    expect(Buffer.from(rx.peek()!).toString()).toBe('hello'); // the same until released
    expect(rx.release()).toBe(true);
    expect(() => rx.release()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    const off = rx.peekOffset();
    expect([...rx.memory.subarray(off, off + rx.peekedLength)]).toEqual([1, 2, 3]);
    rx.release();
    expect(rx.tryPeek()).toBeUndefined();
    expect(rx.tryPeekOffset()).toBe(-1);
    expect(rx.peekOffset({ timeout: 1 })).toBe(-1);
  });

  it('backpressure in one process: try forms say full, timeouts return false/undefined', () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    let n = 0;
    while (tx.trySend(Buffer.alloc(100))) n++;
    expect(n).toBe(Math.floor(4096 / 112));
    expect(tx.send(Buffer.alloc(100), { timeout: 5 })).toBe(false);
    expect(tx.tryReserve(100)).toBeUndefined();
    expect(tx.tryReserveOffset(100)).toBe(-1);
    expect(tx.reserveOffset(100, { timeout: 0 })).toBe(-1);
    for (let i = 0; i < 5; i++) expect(rx.receive()).toHaveLength(100);
    // Releases are published in batches, and at the latest before any wait of
    // an end in this thread: the sender's wait publishes the receiver's head.
    expect(tx.send(Buffer.alloc(100), { timeout: 50 })).toBe(true);
  });

  it('async forms: resolve when data arrives, time out with undefined, abort with AbortError', async () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    const later = rx.receiveAsync();
    const again = rx.receiveAsync();
    setTimeout(() => {
      tx.send(Buffer.from('a'));
      tx.send(Buffer.from('b'));
    }, 10);
    expect([(await later)?.toString(), (await again)?.toString()]).toEqual(['a', 'b']);
    expect(await rx.receiveAsync({ timeout: 5 })).toBeUndefined();
    const controller = new AbortController();
    const aborted = rx.receiveAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 5);
    await expect(aborted).rejects.toMatchObject({
      name: 'AbortError',
      code: 'ABORT_ERR',
      cause: new Error('stop'),
    });
    await expect(rx.receiveAsync({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORT_ERR',
    });
    // Sender side: fill, then wait asynchronously for room.
    while (tx.trySend(Buffer.alloc(5))) {
      /* fill */
    }
    const sending = tx.sendAsync(Buffer.from('after'));
    expect(() => tx.send(Buffer.from('x'))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    expect(await tx.sendAsync(Buffer.alloc(1), { timeout: 5 })).toBe(false);
    let got = 0;
    for (;;) {
      const m = await rx.receiveAsync({ timeout: 5000 });
      if (m === undefined) break;
      got++;
      if (String(m) === 'after') break;
    }
    expect(await sending).toBe(true);
    expect(got).toBeGreaterThan(1);
    const view = await tx.reserveAsync(4);
    view!.set([1, 2, 3, 4]);
    tx.commit();
    expect([...(await rx.peekAsync())!]).toEqual([1, 2, 3, 4]);
    rx.release();
  });

  it('async sends keep call order while they wait, and a sync send works right after an await', async () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    while (tx.trySend(Buffer.alloc(1000))) {
      /* fill */
    }
    const big = tx.sendAsync(Buffer.alloc(1000, 1)); // waits for room
    const small = tx.sendAsync(Buffer.alloc(8, 2)); // would fit sooner: must still come second
    const order: number[] = [];
    for (;;) {
      const m = (await rx.receiveAsync({ timeout: 5000 })) as Buffer;
      if (m[0] !== 0) order.push(m[0]!);
      if (order.length === 2) break;
    }
    expect(order).toEqual([1, 2]);
    expect([await big, await small]).toEqual([true, true]);
    await tx.sendAsync(Buffer.from('x'));
    expect(tx.send(Buffer.from('y'))).toBe(true);
    expect([String(rx.receive()), String(rx.receive())]).toEqual(['x', 'y']);
  });

  it('an async call waiting its turn still honours its own timeout and signal', async () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    const first = rx.receiveAsync(); // no timeout: waits for a message
    expect(await rx.receiveAsync({ timeout: 20 })).toBeUndefined(); // queued behind it, gives up
    const controller = new AbortController();
    const aborted = rx.receiveAsync({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });
    tx.send(Buffer.from('for the first'));
    expect(String(await first)).toBe('for the first');
    while (tx.trySend(Buffer.alloc(1000))) {
      /* fill */
    }
    const waiting = tx.sendAsync(Buffer.alloc(1000));
    expect(await tx.sendAsync(Buffer.alloc(1), { timeout: 20 })).toBe(false);
    while ((await rx.receiveAsync({ timeout: 1000 })) !== undefined) {
      /* drain */
    }
    expect(await waiting).toBe(true);
  });

  it('a sender close() lets the receiver drain, then ends iteration; the end is reported by code', async () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    tx.send(Buffer.from('1'));
    tx.send(Buffer.from('2'));
    tx.close();
    tx.close(); // twice is fine
    expect(() => tx.send(Buffer.from('3'))).toThrow(
      expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }),
    );
    const got: string[] = [];
    for await (const m of rx) got.push(String(m));
    expect(got).toEqual(['1', '2']);
    expect(() => rx.receive()).toThrow(expect.objectContaining({ code: ChannelErrorCode.ENDED }));
    expect(() => rx.tryReceive()).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.ENDED }),
    );
    await expect(rx.receiveAsync()).rejects.toMatchObject({ code: ChannelErrorCode.ENDED });
    // A new sender revives the channel, like a FIFO opened again.
    const next = channel.sender();
    next.send(Buffer.from('4'));
    expect(String(rx.receive())).toBe('4');
  });

  it('ends hold slots: a second spsc sender or receiver is ERR_SHMKIT_CHANNEL_BUSY until the first closes', () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    expect(() => channel.sender()).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.BUSY }),
    );
    expect(() => channel.receiver()).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.BUSY }),
    );
    tx.close();
    rx.close();
    channel.sender().close();
    channel.receiver().close();
    using m = Channel.create(channelName(), { kind: 'mpsc', senders: 2, capacity: 4096 });
    m.sender();
    m.sender();
    expect(() => m.sender()).toThrow(expect.objectContaining({ code: ChannelErrorCode.BUSY }));
  });

  it('closing the channel closes its ends; pending async waits reject with ERR_SHMKIT_CLOSED', async () => {
    const { channel, tx, rx } = pair();
    const waiting = rx.receiveAsync();
    channel.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
    expect([tx.closed, rx.closed, channel.closed]).toEqual([true, true, true]);
    expect(() => rx.receive()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    expect(() => channel.sender()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    channel.close();
  });

  it('a sender waits for room only while a receiver may come: a closed receiver gives ERR_SHMKIT_CHANNEL_NO_RECEIVER', () => {
    const { channel, tx, rx } = pair();
    using _ = channel;
    rx.close();
    while (tx.trySend(Buffer.alloc(1000))) {
      /* fill */
    }
    expect(() => tx.send(Buffer.alloc(1000), { timeout: 1000 })).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.NO_RECEIVER }),
    );
    // Before any receiver ever attached, it just waits (here: times out).
    using fresh = Channel.create(channelName(), { capacity: 4096 });
    using ftx = fresh.sender();
    while (ftx.trySend(Buffer.alloc(1000))) {
      /* fill */
    }
    expect(ftx.send(Buffer.alloc(1000), { timeout: 20 })).toBe(false);
  });

  it('streams: a Writable and a Readable with backpressure (object mode for codecs)', async () => {
    const { pipeline } = await import('node:stream/promises');
    const { Readable, Writable } = await import('node:stream');
    const channel = Channel.create(channelName(), { codec: 'json', capacity: 4096 });
    using _ = channel;
    const items = Array.from({ length: 2000 }, (_v, i) => ({ i, text: 'x'.repeat(i % 50) }));
    const got: unknown[] = [];
    await Promise.all([
      pipeline(Readable.from(items), channel.sender().writable()),
      pipeline(
        channel.receiver().readable(),
        new Writable({
          objectMode: true,
          write(chunk, _e, cb) {
            got.push(chunk);
            cb();
          },
        }),
      ),
    ]);
    expect(got).toEqual(items);
  });
});

describe('broadcast', () => {
  it('every receiver gets every message; a lapped one learns how many it missed', () => {
    const channel = Channel.create(channelName(), {
      kind: 'broadcast',
      capacity: 4096,
      receivers: 4,
    });
    using _ = channel;
    const tx = channel.sender();
    const fast = channel.receiver();
    const slow = channel.receiver();
    const lapped: number[] = [];
    slow.on('lapped', (e: { missed: number }) => lapped.push(e.missed));
    const total = 1000;
    for (let i = 0; i < total; i++) {
      expect(tx.trySend(Buffer.from(String(i).padStart(24, '0')))).toBe(true); // never waits
      if (i % 10 === 9) tx.flush();
      if (i % 10 === 9)
        for (let k = 0; k < 10; k++) expect(Number(fast.receive({ timeout: 0 }))).toBe(i - 9 + k);
    }
    tx.flush();
    const seen: number[] = [];
    for (;;) {
      const m = slow.tryReceive();
      if (m === undefined) break;
      seen.push(Number(m));
    }
    expect(seen.at(-1)).toBe(total - 1);
    expect(seen.length + slow.missed).toBe(total);
    expect(lapped.reduce((a, b) => a + b, 0)).toBe(slow.missed);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1]! + 1);
    // A late receiver starts with the next message, or the oldest one kept.
    const late = channel.receiver();
    const oldest = channel.receiver({ start: 'oldest' });
    expect(() => channel.receiver()).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.BUSY }),
    );
    expect(late.tryReceive()).toBeUndefined();
    const kept: number[] = [];
    for (let m = oldest.tryReceive(); m !== undefined; m = oldest.tryReceive())
      kept.push(Number(m));
    expect(kept[0]).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(4096 / 32 / 2);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_v, k) => kept[0]! + k));
    expect(kept.at(-1)).toBe(total - 1);
  });
});
