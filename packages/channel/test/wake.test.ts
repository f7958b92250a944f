// No wake-up is ever lost: thousands of sleeps racing with publishes, in
// real processes, sync and async. A lost wake-up would show as a sleep that
// ran out its 200 ms slice although the message (or room) was there:
// `missedWakeups`, which must stay 0.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Channel } from '../src/index';
import { channelName, expectClean, lastJson, startNode } from './helpers';

const peer = join(__dirname, 'peers', 'pingpong.mjs');

interface Stats {
  sleeps: number;
  missedWakeups: number;
}

describe('wake-ups', () => {
  for (const mode of ['sync', 'async'] as const) {
    it(`request/response, ${mode}: 5,000 round trips, each sleeping on both sides`, async () => {
      const requests = channelName();
      const responses = channelName();
      using _a = Channel.create(requests, { capacity: 4096, exclusive: true });
      using _b = Channel.create(responses, { capacity: 4096, exclusive: true });
      const count = 5_000;
      const echo = startNode(peer, ['echo', requests, responses, count, mode]);
      await echo.line(/ready/);
      const ping = startNode(peer, ['ping', requests, responses, count, mode]);
      const pinged = lastJson<{ bad: number; rx: Stats }>(expectClean(await ping.result));
      const echoed = lastJson<{ rx: Stats }>(expectClean(await echo.result));
      expect(pinged.bad).toBe(0);
      expect(pinged.rx.missedWakeups).toBe(0);
      expect(echoed.rx.missedWakeups).toBe(0);
      // The race was really run: most waits went to sleep in the kernel.
      expect(pinged.rx.sleeps + echoed.rx.sleeps).toBeGreaterThan(count);
    }, 120_000);

    it(`backpressure, ${mode}: 20,000 messages when two fit, both sides waiting all the time`, async () => {
      const name = channelName();
      using _c = Channel.create(name, { capacity: 4096, exclusive: true });
      const count = 20_000;
      const drain = startNode(peer, ['drain', name, count, mode]);
      await drain.line(/ready/);
      const flood = startNode(peer, ['flood', name, count, mode]);
      const sent = lastJson<{ tx: Stats }>(expectClean(await flood.result));
      const got = lastJson<{ bad: number; rx: Stats }>(expectClean(await drain.result));
      expect(got.bad).toBe(0);
      expect(sent.tx.missedWakeups).toBe(0);
      expect(got.rx.missedWakeups).toBe(0);
      expect(sent.tx.sleeps + got.rx.sleeps).toBeGreaterThan(1000);
    }, 120_000);
  }
});
