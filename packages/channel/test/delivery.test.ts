// Exact delivery between real processes: every message once, in order per
// sender, contents intact, with random sizes that cross the ring's end.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Channel } from '../src/index';
import { channelName, expectClean, lastJson, startNode } from './helpers';

const peer = join(__dirname, 'peers', 'stream.mjs');
const run = (args: (string | number)[]) => startNode(peer, args);

describe('exact delivery across processes', () => {
  it('spsc: 1,000,000 messages of 8..300 bytes through a 64 KiB ring, every API mixed', async () => {
    const name = channelName();
    using channel = Channel.create(name, { capacity: 65536, exclusive: true });
    const count = 1_000_000;
    const receiver = run(['recv', name, count, 1, 'mixed', 11]);
    await receiver.line(/ready/);
    const sender = run(['send', name, count, 11, 300, 'mixed']);
    expect(expectClean(await sender.result)).toBe(`sent ${count}\n`);
    const result = lastJson(expectClean(await receiver.result));
    expect(result).toEqual({ received: count, bad: 0, next: [count] });
    expect(channel.inspect().ended).toBe(true);
  }, 120_000);

  it('spsc through for await, the sender waiting with sendAsync', async () => {
    const name = channelName();
    using _channel = Channel.create(name, { capacity: 16384, exclusive: true });
    const count = 200_000;
    const receiver = run(['recv', name, count, 1, 'iterate', 5]);
    await receiver.line(/ready/);
    const sender = run(['send', name, count, 5, 300, 'async']);
    expectClean(await sender.result);
    expect(lastJson(expectClean(await receiver.result))).toEqual({
      received: count,
      bad: 0,
      next: [count],
    });
  }, 120_000);

  it('mpsc: 4 sending processes, 250,000 messages each, in order per sender', async () => {
    const name = channelName();
    using channel = Channel.create(name, {
      kind: 'mpsc',
      senders: 4,
      capacity: 16384,
      exclusive: true,
    });
    const per = 250_000;
    const receiver = run(['recv', name, 4 * per, 4, 'mixed', '1,2,3,4']);
    await receiver.line(/ready/);
    // Each sender writes its id into its messages (ids, not slots: a sender
    // that finishes early frees its slot for a later one).
    const senders = [0, 1, 2, 3].map((id) => run(['send', name, per, `id:${id}`, 300, 'mixed']));
    for (const s of senders) expectClean(await s.result);
    const result = lastJson(expectClean(await receiver.result));
    expect(result).toEqual({ received: 4 * per, bad: 0, next: [per, per, per, per] });
    expect(channel.inspect().senders.map((s) => s.lastExit)).toEqual([
      'closed',
      'closed',
      'closed',
      'closed',
    ]);
  }, 120_000);
});

describe('broadcast across processes', () => {
  it('every receiver gets every message once, in order, or counts exactly what it missed', async () => {
    const name = channelName();
    using _channel = Channel.create(name, {
      kind: 'broadcast',
      capacity: 16384,
      receivers: 4,
      exclusive: true,
    });
    const count = 300_000;
    const peer = join(__dirname, 'peers', 'broadcast.mjs');
    const receivers = [
      startNode(peer, ['recv', name, 0, 0, 'receive']),
      startNode(peer, ['recv', name, 0, 0, 'iterate']),
      startNode(peer, ['recv', name, 2000, 2, 'receive']), // slow: lapped
    ];
    for (const r of receivers) await r.line(/ready/);
    const sender = startNode(peer, ['send', name, count]);
    expect(expectClean(await sender.result)).toBe(`sent ${count}\n`);
    for (const [k, r] of receivers.entries()) {
      const got = lastJson<{
        received: number;
        missed: number;
        last: number;
        bad: number;
        lappedTotal: number;
      }>(expectClean(await r.result));
      expect(got.bad, `receiver ${k}`).toBe(0);
      expect(got.last, `receiver ${k}`).toBe(count - 1);
      expect(got.received + got.missed, `receiver ${k}`).toBe(count);
      expect(got.lappedTotal, `receiver ${k}`).toBe(got.missed);
      if (k === 2) expect(got.missed).toBeGreaterThan(0);
    }
  }, 120_000);
});
