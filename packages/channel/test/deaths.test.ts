// Ends killed with SIGKILL: a sender between reserve() and commit(), an
// mpsc sender among live ones, a receiver holding a message, a broadcast
// sender. Nothing wedges; every death is noticed and reported.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Channel, ChannelErrorCode, type SenderDiedEvent } from '../src/index';
import { channelName, exited, lastJson, startNode } from './helpers';

const peer = join(__dirname, 'peers', 'dying.mjs');

/** A generous bound that only catches a hang; the detection itself takes about 0.2-0.4 s. */
const HANG = 5000;

describe('deaths', () => {
  it('spsc: a sender killed between reserve() and commit() is reported; its committed messages are delivered', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using rx = channel.receiver();
    const died: SenderDiedEvent[] = [];
    rx.on('sender-died', (e: SenderDiedEvent) => died.push(e));
    const sender = startNode(peer, ['reserve', name, 50]);
    await sender.line(/reserved/);
    for (let i = 0; i < 50; i++)
      expect((await rx.receiveAsync({ timeout: 5000 }))!.readUInt32LE(4)).toBe(i);
    sender.proc.kill('SIGKILL');
    await exited(sender.proc);
    const killed = performance.now();
    await expect(rx.receiveAsync()).rejects.toMatchObject({
      code: ChannelErrorCode.PEER_DIED,
      tid: sender.proc.pid,
    });
    const noticed = performance.now() - killed;
    console.log(`dead sender noticed after ${noticed.toFixed(0)} ms`);
    expect(noticed).toBeLessThan(HANG);
    expect(died).toEqual([{ slot: 0, tid: sender.proc.pid }]);
    expect(() => rx.tryReceive()).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.PEER_DIED }),
    );
    // The slot is free again: a new sender continues, the half-made message never appears.
    using tx = channel.sender();
    tx.send(Buffer.from('after'));
    expect(String(await rx.receiveAsync({ timeout: 5000 }))).toBe('after');
    expect(channel.inspect().senders[0]).toMatchObject({ deaths: 1, lastDead: sender.proc.pid });
  });

  it('spsc: a new sender takes over the slot of a dead one at once', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using rx = channel.receiver();
    const sender = startNode(peer, ['reserve', name, 3]);
    await sender.line(/reserved/);
    sender.proc.kill('SIGKILL');
    await exited(sender.proc);
    using tx = channel.sender(); // reclaims the dead sender's slot
    tx.send(Buffer.from('next'));
    const got: string[] = [];
    for (let i = 0; i < 4; i++)
      got.push(String((await rx.receiveAsync({ timeout: 5000 }))!.subarray(0, 4)));
    expect(got.slice(3)).toEqual(['next']);
  });

  it('mpsc: one of three senders is killed mid-message; the others go on and the channel ends normally', async () => {
    const name = channelName();
    using channel = Channel.create(name, {
      kind: 'mpsc',
      senders: 3,
      capacity: 4096,
      exclusive: true,
    });
    using rx = channel.receiver();
    const died: SenderDiedEvent[] = [];
    rx.on('sender-died', (e: SenderDiedEvent) => died.push(e));
    const victim = startNode(peer, ['reserve', name, 100]);
    await victim.line(/reserved/);
    const live = [startNode(peer, ['send', name, 2000]), startNode(peer, ['send', name, 2000])];
    const counts = new Map<number, number>();
    // The death may be noticed only after the last message was taken (a
    // sweep runs when the receiver is about to sleep): short waits, so that
    // the condition is checked again while nothing comes.
    const take = async (until: () => boolean): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!until()) {
        const m = await rx.receiveAsync({ timeout: 250 });
        if (m === undefined) {
          if (Date.now() > deadline) throw new Error('nothing for 20 s');
          continue;
        }
        const slot = m.readUInt32LE(0);
        expect(m.readUInt32LE(4)).toBe(counts.get(slot) ?? 0);
        counts.set(slot, (counts.get(slot) ?? 0) + 1);
      }
    };
    while (channel.inspect().senders.filter((s) => s.owner !== 0).length < 3)
      await new Promise((r) => setTimeout(r, 10));
    victim.proc.kill('SIGKILL');
    await exited(victim.proc);
    await take(() => died.length > 0 && [...counts.values()].reduce((a, b) => a + b, 0) === 4100);
    expect(died).toEqual([{ slot: expect.any(Number), tid: victim.proc.pid }]);
    expect(counts.get(died[0]!.slot)).toBe(100);
    for (const s of live) s.proc.stdin!.end('close\n');
    for (const s of live) expect((await s.result).code).toBe(0);
    const rest: unknown[] = [];
    for await (const m of rx) rest.push(m);
    expect(rest).toEqual([]);
    expect(channel.inspect().lastExit).toBe('closed');
  });

  it('a receiver killed while holding a message: a sender waiting for room gets ERR_SHMKIT_CHANNEL_PEER_DIED', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    const holder = startNode(peer, ['hold', name]);
    await holder.line(/ready/);
    using tx = channel.sender();
    tx.send(Buffer.from('held'));
    tx.flush();
    await holder.line(/holding/);
    while (tx.trySend(Buffer.alloc(500))) {
      /* fill */
    }
    const waiting = tx.sendAsync(Buffer.alloc(500));
    await new Promise((r) => setTimeout(r, 50));
    holder.proc.kill('SIGKILL');
    await exited(holder.proc);
    const killed = performance.now();
    await expect(waiting).rejects.toMatchObject({
      code: ChannelErrorCode.PEER_DIED,
      tid: holder.proc.pid,
    });
    expect(performance.now() - killed).toBeLessThan(HANG);
    // A new receiver continues after the last message released: the held one comes again.
    using rx = channel.receiver();
    expect(String(rx.receive({ timeout: 1000 }))).toBe('held');
  });

  it('the same from a sync send() in another process', async () => {
    const name = channelName();
    using _channel = Channel.create(name, { capacity: 4096, exclusive: true });
    const holder = startNode(peer, ['hold', name]);
    await holder.line(/ready/);
    const blocker = startNode(peer, ['block', name]);
    await blocker.line(/full/);
    await holder.line(/holding/);
    await new Promise((r) => setTimeout(r, 50));
    holder.proc.kill('SIGKILL');
    const out = lastJson<{ code: string; tid: number; ms: number }>((await blocker.result).stdout);
    expect(out).toMatchObject({ code: ChannelErrorCode.PEER_DIED, tid: holder.proc.pid });
    expect(out.ms).toBeLessThan(20_000);
  });

  it('broadcast: receivers drain what the dead sender published, then get ERR_SHMKIT_CHANNEL_PEER_DIED', async () => {
    const name = channelName();
    using channel = Channel.create(name, { kind: 'broadcast', capacity: 4096, exclusive: true });
    using a = channel.receiver();
    using b = channel.receiver();
    const sender = startNode(peer, ['reserve', name, 20]);
    await sender.line(/reserved/);
    sender.proc.kill('SIGKILL');
    await exited(sender.proc);
    for (const rx of [a, b]) {
      const got: number[] = [];
      await expect(
        (async () => {
          for await (const m of rx) got.push(m.readUInt32LE(4));
        })(),
      ).rejects.toMatchObject({ code: ChannelErrorCode.PEER_DIED });
      expect(got).toEqual(Array.from({ length: 20 }, (_v, i) => i));
    }
  });
});
