// Spinning waits and the small-message copy path. A message or room that
// another process makes while a wait spins must be taken without a single
// sleep in the kernel. Small 'bytes' messages are copied into a
// shared slab: each must stay a Buffer of its own, whatever the ring does
// after it was received.
import { once } from 'node:events';
import assert from 'node:assert';
import { inspect, isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ADAPTIVE_SPIN_MS, AdaptiveSpin } from '../src/adaptive-spin';
import { Channel, inspectChannel } from '../src/index';
import { channelName, expectClean, lastJson, startCode } from './helpers';

/** Re-checks enough to cover a child's 50 ms delay many times over (each is a few ns). */
const LONG_SPIN = 100_000_000;

describe('spinning waits between processes', () => {
  it('a spinning receive takes a message sent 50 ms later without sleeping', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using rx = channel.receiver();
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const channel = Channel.open(process.argv.at(-1));
       const tx = channel.sender();
       console.log('ready');
       await new Promise((r) => setTimeout(r, 50));
       tx.send(Buffer.from('late'));
       tx.close();
       channel.close();`,
      [name],
    );
    await child.line(/ready/);
    const message = rx.receive({ spin: LONG_SPIN, timeout: 30_000 });
    expectClean(await child.result);
    expect(message?.toString()).toBe('late');
    expect(rx.stats).toMatchObject({ sleeps: 0, spun: 1 });
  }, 60_000);

  it('a spinning send waits for room a receiver frees 50 ms later, without sleeping', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    // Two messages of 2000 bytes fill the 4 KiB ring.
    tx.send(Buffer.alloc(2000, 1));
    tx.send(Buffer.alloc(2000, 2));
    expect(tx.trySend(Buffer.alloc(2000, 3))).toBe(false);
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const channel = Channel.open(process.argv.at(-1));
       const rx = channel.receiver();
       console.log('ready');
       await new Promise((r) => setTimeout(r, 50));
       const first = rx.receive({ timeout: 10_000 });
       rx.close();
       channel.close();
       console.log(JSON.stringify({ first: first?.[0] }));`,
      [name],
    );
    await child.line(/ready/);
    expect(tx.send(Buffer.alloc(2000, 3), { spin: LONG_SPIN, timeout: 30_000 })).toBe(true);
    const out = lastJson<{ first: number }>(expectClean(await child.result));
    expect(out.first).toBe(1);
    expect(tx.stats).toMatchObject({ sleeps: 0, spun: 1 });
  }, 60_000);

  it('a spinning receiver gets a message its sender would still be batching', async () => {
    // The sender sends one message (far from a full batch) and then computes
    // for 2 s without waiting or yielding: before the spinning hint, nothing
    // published it until the computation ended.
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using rx = channel.receiver();
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const channel = Channel.open(process.argv.at(-1));
       const tx = channel.sender();
       console.log('ready');
       await new Promise((r) => setTimeout(r, 100));
       const sent = Date.now();
       tx.send(Buffer.from('now'));
       const unpublished = tx.unpublished;
       while (Date.now() - sent < 2000);
       const busyEnd = Date.now();
       tx.close();
       channel.close();
       console.log(JSON.stringify({ sent, busyEnd, unpublished }));`,
      [name],
    );
    await child.line(/ready/);
    const message = rx.receive({ spin: LONG_SPIN, timeout: 30_000 });
    const received = Date.now();
    const out = lastJson<{ sent: number; busyEnd: number; unpublished: number }>(
      expectClean(await child.result),
    );
    expect(message?.toString()).toBe('now');
    // Published by the send itself, and taken long before the sender was free.
    expect(out.unpublished).toBe(0);
    expect(rx.stats.sleeps).toBe(0);
    expect(received).toBeLessThan(out.busyEnd - 1000);
  }, 60_000);

  it('the spinning hint is up only while a receive spins, and a new receiver clears a stale one', () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    const hint = (): number => new Int32Array(tx.memory.buffer, tx.memory.byteOffset, 128)[65]!;
    {
      using rx = channel.receiver();
      tx.send(Buffer.from('a'));
      expect(rx.receive({ spin: 1000, timeout: 0 })?.toString()).toBe('a');
      expect(rx.receive({ spin: 1000, timeout: 0 })).toBeUndefined();
      expect(hint()).toBe(0);
    }
    // What a receiver killed in the middle of a spin leaves behind.
    new Int32Array(tx.memory.buffer, tx.memory.byteOffset, 128)[65] = 1;
    expect(channel.inspect().receiverSpinning).toBe(true);
    using rx = channel.receiver();
    expect(hint()).toBe(0);
    expect(channel.inspect().receiverSpinning).toBe(false);
    tx.send(Buffer.from('b'));
    expect(rx.receive({ timeout: 0 })?.toString()).toBe('b');
  });

  it('inspectChannel shows the hint of a receiver spinning in another process', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const channel = Channel.open(process.argv.at(-1));
       const rx = channel.receiver();
       console.log('ready');
       const message = rx.receive({ spin: ${LONG_SPIN}, timeout: 30_000 });
       console.log(JSON.stringify({ message: message?.toString(), sleeps: rx.stats.sleeps }));
       rx.close();
       channel.close();`,
      [name],
    );
    await child.line(/ready/);
    const deadline = Date.now() + 20_000;
    while (!inspectChannel(name).receiverSpinning && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
    expect(inspectChannel(name).receiverSpinning).toBe(true);
    tx.send(Buffer.from('seen'));
    const out = lastJson<{ message: string; sleeps: number }>(expectClean(await child.result));
    expect(out).toEqual({ message: 'seen', sleeps: 0 });
    expect(inspectChannel(name).receiverSpinning).toBe(false);
  }, 60_000);

  /**
   * A sender in another process sends `count` messages, one every
   * `intervalMs` (a busy wait: no timer is that fine), starting once the
   * receiver waits; the receiver takes them with `options`. Its wait stats.
   */
  async function streamThrough(
    count: number,
    intervalMs: number,
    options: { spin?: false | 0 },
  ): Promise<{ sleeps: number; spun: number }> {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 65536, exclusive: true });
    using rx = channel.receiver();
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const [name, count, interval] = process.argv.slice(-3);
       const channel = Channel.open(name);
       const tx = channel.sender({ batch: 1 });
       console.log('ready');
       // No message may be there ahead of the receiver.
       while (!channel.inspect().receiverWaiting);
       for (let i = 0; i < Number(count); i++) {
         const until = performance.now() + Number(interval);
         while (performance.now() < until);
         tx.send(Buffer.from([i & 255]));
       }
       tx.close();
       channel.close();`,
      [name, String(count), String(intervalMs)],
    );
    await child.line(/ready/);
    for (let i = 0; i < count; i++)
      expect(rx.receive({ ...options, timeout: 20_000 })?.[0]).toBe(i & 255);
    expectClean(await child.result);
    return rx.stats;
  }

  it('spin: false and spin: 0 never spin, and neither does a receive whose messages are far apart', async () => {
    expect((await streamThrough(1000, 0.03, { spin: false })).spun).toBe(0);
    expect((await streamThrough(1000, 0.03, { spin: 0 })).spun).toBe(0);
    // 2 ms apart, far above the 0.25 ms it would spin: every wait sleeps.
    const sparse = await streamThrough(50, 2, {});
    expect(sparse.spun).toBe(0);
    expect(sparse.sleeps).toBeGreaterThanOrEqual(45);
  }, 60_000);

  it('spin: true is accepted and still sleeps when nothing comes', () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using _tx = channel.sender();
    using rx = channel.receiver();
    expect(rx.receive({ spin: true, timeout: 30 })).toBeUndefined();
    expect(rx.stats.sleeps).toBeGreaterThan(0);
  });
});

describe('the adaptive spin of a receive without spin', () => {
  it('spins only while recent waits were short, for about twice as long as they took', () => {
    const spin = new AdaptiveSpin();
    expect(spin.budget()).toBe(0); // nothing learnt: sleep at once
    spin.waited(0.04);
    expect(spin.budget()).toBeCloseTo(0.08);
    for (let i = 0; i < 20; i++) spin.waited(0.2);
    expect(spin.budget()).toBe(ADAPTIVE_SPIN_MS); // capped
    for (let i = 0; i < 20; i++) spin.waited(2); // messages far apart now
    expect(spin.budget()).toBe(0);
    for (let i = 0; i < 20; i++) spin.waited(0.01); // and close together again
    expect(spin.budget()).toBeGreaterThan(0);
    expect(spin.budget()).toBeLessThan(0.05);
    // A wait that ran out of time (a pause, or a poll with timeout 0): stop
    // spinning at once; one short wait brings it back.
    spin.missed();
    expect(spin.budget()).toBe(0);
    spin.missed();
    expect(spin.budget()).toBe(0);
    spin.waited(0.01);
    expect(spin.budget()).toBeGreaterThan(0);
  });
});

describe('small messages copied into a slab', () => {
  it('every size around the small-message limit arrives intact, as its own Buffer', () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 65536, exclusive: true });
    using tx = channel.sender();
    using rx = channel.receiver();
    const sizes = [0, 1, 7, 8, 9, 63, 64, 65, 120, 127, 128, 129, 136, 255, 4096];
    const got: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      tx.send(Buffer.alloc(size, i + 1));
      got.push(rx.receive({ timeout: 0 })!);
    }
    for (const [i, size] of sizes.entries()) {
      const m = got[i]!;
      expect(Buffer.isBuffer(m)).toBe(true);
      expect(m.length).toBe(size);
      expect(m.every((b) => b === i + 1)).toBe(true);
    }
    // Writing into one received message leaves its neighbours alone.
    got[7]!.fill(0xee);
    expect(got[6]!.every((b) => b === 7)).toBe(true);
    expect(got[8]!.every((b) => b === 9)).toBe(true);
  });

  it('a small message is a Buffer to everything that asks', () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    using rx = channel.receiver();
    tx.send(Buffer.from('abcdefgh'));
    const m = rx.receive({ timeout: 0 })!;
    expect(m.length).toBe(8);
    expect(m.constructor).toBe(Buffer);
    expect(m instanceof Buffer).toBe(true);
    expect(Object.prototype.toString.call(m)).toBe('[object Uint8Array]');
    expect(m.toString()).toBe('abcdefgh');
    expect(m.equals(Buffer.from('abcdefgh'))).toBe(true);
    // Deep equality compares prototypes: a look-alike class would fail here.
    expect(Object.getPrototypeOf(m)).toBe(Buffer.prototype);
    expect(isDeepStrictEqual(m, Buffer.from('abcdefgh'))).toBe(true);
    expect(() => assert.deepStrictEqual(m, Buffer.from('abcdefgh'))).not.toThrow();
    expect(inspect(m)).toBe('<Buffer 61 62 63 64 65 66 67 68>');
    expect(JSON.stringify(m)).toBe(JSON.stringify(Buffer.from('abcdefgh')));
    // node:v8 asks for the constructor: a Buffer comes back, not a Uint8Array.
    const copy = deserialize(serialize(m)) as unknown;
    expect(Buffer.isBuffer(copy)).toBe(true);
    expect(String(copy)).toBe('abcdefgh');
    for (const part of [m.subarray(2, 5), m.slice(2, 5), Buffer.concat([m.subarray(2, 5)])]) {
      expect(part.constructor).toBe(Buffer);
      expect(part.toString()).toBe('cde');
    }
    expect(m.readUInt32LE(0)).toBe(0x64636261);
  });

  it('a transfer list never detaches a small message’s pool, as for pooled Node Buffers', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    using rx = channel.receiver();
    tx.send(Buffer.from('first'));
    tx.send(Buffer.from('second'));
    const first = rx.receive({ timeout: 0 })!;
    const second = rx.receive({ timeout: 0 })!;
    expect(second.buffer).toBe(first.buffer);
    const { port1, port2 } = new MessageChannel();
    try {
      const arrived = once(port2, 'message') as Promise<[Uint8Array]>;
      let refused: unknown;
      try {
        port1.postMessage(first, [first.buffer as ArrayBuffer]);
      } catch (error) {
        refused = error;
      }
      if (refused === undefined) {
        // Node 20: the untransferable pool is copied.
        const [copy] = await arrived;
        expect(Buffer.from(copy).toString()).toBe('first');
      } else {
        // Node 21 and later refuse an untransferable buffer in a transfer list.
        expect((refused as Error).name).toBe('DataCloneError');
      }
    } finally {
      port1.close();
    }
    // Nothing was detached: neither the message nor its neighbour in the pool.
    expect([first.toString(), second.toString()]).toEqual(['first', 'second']);
  });

  it('a receiver whose pool was detached anyway starts a new one', async () => {
    // %ArrayBufferDetach detaches even an untransferable buffer: the worst
    // any code in the process could do to the pool.
    const child = startCode(
      `import { Channel } from '@shmkit/channel';
       const name = process.argv.at(-1);
       const channel = Channel.create(name, { capacity: 4096, exclusive: true });
       const tx = channel.sender(), rx = channel.receiver();
       tx.send(Buffer.from('first'));
       const first = rx.receive({ timeout: 0 });
       %ArrayBufferDetach(first.buffer);
       let intact = 0;
       for (let i = 0; i < 300; i++) {
         const message = Buffer.alloc(64, i & 0xff);
         message.writeUInt32LE(i, 0);
         tx.send(message);
         const got = rx.receive({ timeout: 0 });
         if (got.length === 64 && got.readUInt32LE(0) === i && got[63] === (i & 0xff)) intact++;
         if (i % 50 === 0) %ArrayBufferDetach(got.buffer);
       }
       channel.close();
       Channel.unlink(name);
       console.log(JSON.stringify({ detached: first.length, intact }));`,
      [channelName()],
      60_000,
      ['--allow-natives-syntax'],
    );
    expect(lastJson(expectClean(await child.result))).toEqual({ detached: 0, intact: 300 });
  });

  it('messages kept while the ring wraps many times and the slab is replaced stay unchanged', () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    using rx = channel.receiver();
    // 5,000 x ~100 bytes: the 4 KiB ring wraps over a hundred times and
    // dozens of 8 KiB slabs fill up; every message is held to the end.
    const kept: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const size = 90 + (i % 39);
      const message = Buffer.alloc(size, i & 0xff);
      message.writeUInt32LE(i, 0);
      tx.send(message);
      tx.flush();
      kept.push(rx.receive({ timeout: 0 })!);
    }
    for (let i = 0; i < kept.length; i++) {
      const m = kept[i]!;
      expect(m.length).toBe(90 + (i % 39));
      expect(m.readUInt32LE(0)).toBe(i);
      expect(m.subarray(4).every((b) => b === (i & 0xff))).toBe(true);
    }
  });
});
