// C peers built on c/shmkit_channel.h (compiled here with cc) exchange
// messages with node both ways, through the layout LAYOUT.md documents.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileC } from '@shmkit/testing';
import { Channel } from '../src/index';
import { channelName, expectClean, lastJson, startNode, startProgram } from './helpers';

const stream = join(__dirname, 'peers', 'stream.mjs');
// The header is included by path: inline it so the compile cache sees its changes.
const source = readFileSync(join(__dirname, 'c', 'peer.c'), 'utf8').replace(
  '#include "../../c/shmkit_channel.h"',
  readFileSync(join(__dirname, '..', 'c', 'shmkit_channel.h'), 'utf8'),
);
const peer = compileC(source);

describe('C peers', () => {
  it('a C sender to a node receiver: 200,000 messages across the ring end, then the end', async () => {
    const name = channelName();
    using _channel = Channel.create(name, { capacity: 16384, exclusive: true });
    const count = 200_000;
    const receiver = startNode(stream, ['recv', name, 'all', 1, 'mixed', 9]);
    await receiver.line(/ready/);
    const sender = startProgram(peer, ['send', name, count, 9]);
    expect(expectClean(await sender.result)).toBe(`sent ${count}\n`);
    expect(lastJson(expectClean(await receiver.result))).toEqual({
      received: count,
      bad: 0,
      next: [count],
    });
  });

  it('a node sender to a C receiver, which sees the end when node closes', async () => {
    const name = channelName();
    using _channel = Channel.create(name, { capacity: 16384, exclusive: true });
    const count = 200_000;
    const receiver = startProgram(peer, ['recv', name, 'all', 1, 3]);
    await receiver.line(/ready/);
    const sender = startNode(stream, ['send', name, count, 3, 300, 'mixed']);
    expectClean(await sender.result);
    expect(lastJson(expectClean(await receiver.result))).toEqual({
      received: count,
      bad: 0,
      end: 'ended',
      next: [count],
    });
  });

  it('mpsc: C and node senders together, to a node receiver and to a C receiver', async () => {
    for (const receiving of ['node', 'c'] as const) {
      const name = channelName();
      using channel = Channel.create(name, {
        kind: 'mpsc',
        senders: 4,
        capacity: 8192,
        exclusive: true,
      });
      // The test holds a fourth sender slot until every peer is done: the
      // peers start at their own pace, and a channel whose senders have all
      // closed ends (as a FIFO does), which a slow start could otherwise
      // make happen between two of them.
      using holder = channel.sender();
      const per = 50_000;
      const receiver =
        receiving === 'node'
          ? startNode(stream, ['recv', name, 3 * per, 3, 'mixed', '1,2,3'])
          : startProgram(peer, ['recv', name, 3 * per, 3, '1,2,3']);
      await receiver.line(/ready/);
      // Explicit ids: a sender that finishes early frees its slot for the next.
      const senders = [
        startProgram(peer, ['send', name, per, 'id:0']),
        startNode(stream, ['send', name, per, 'id:1', 300, 'mixed']),
        startProgram(peer, ['send', name, per, 'id:2']),
      ];
      for (const s of senders) expectClean(await s.result);
      holder.close();
      const got = lastJson<{ received: number; bad: number; next: number[] }>(
        expectClean(await receiver.result),
      );
      expect(got, receiving).toMatchObject({ received: 3 * per, bad: 0, next: [per, per, per] });
    }
  });
});
