// Request/response round trips of 8 bytes through two @shmkit/channel
// rings (one each way) between two node processes: spinning on both sides
// (copying, and zero-copy for comparison), blocking sync waits, and
// receiveAsync on both sides (sleeping as the sync row does, and with the
// adaptive event-loop turns of its defaults).
import { Channel, type Receiver, type Sender } from '@shmkit/channel';
import { SPIN_TRIPS_PER_SAMPLE, timeEach, timeSpinningTrips } from '../harness.js';
import { reap, spawnPeer, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';

type Mode = 'spin' | 'spin-zero-copy' | 'sync' | 'async' | 'async-adaptive';

/** Re-checks before sleeping: a few microseconds, enough to cover a sub-microsecond reply. */
const SPIN = 5_000;

interface EchoArgs {
  requests: string;
  responses: string;
  mode: Mode;
}

let pairs = 0;

/** The two channels of a request/response pair, removed by `close`. */
function makePair(): { requests: string; responses: string; close(): void } {
  pairs += 1;
  const base = `/shmkit-bench-${process.pid}-rtt-${pairs}`;
  const requests = Channel.create(`${base}-req`, { capacity: 4096, exclusive: true });
  const responses = Channel.create(`${base}-res`, { capacity: 4096, exclusive: true });
  return {
    requests: requests.name,
    responses: responses.name,
    close() {
      for (const c of [requests, responses]) {
        c.close();
        Channel.unlink(c.name);
      }
    },
  };
}

async function roundTrips(ctx: Context, mode: Mode): Promise<Outcome> {
  const pair = makePair();
  const echo = spawnPeer('channel-echo', {
    requests: pair.requests,
    responses: pair.responses,
    mode,
  } satisfies EchoArgs);
  const requests = Channel.open(pair.requests);
  const responses = Channel.open<Buffer>(pair.responses);
  try {
    await waitForLine(echo, /^ready$/);
    const tx = requests.sender();
    const rx = responses.receiver();
    const message = Buffer.alloc(8, 1);
    const spinning = mode === 'spin' || mode === 'spin-zero-copy';
    const spin = spinning ? SPIN : 0;
    const out = tx.memory;
    const trip =
      mode === 'spin-zero-copy'
        ? (): void => {
            // The same 8 bytes written into and read from the rings in place.
            out.set(message, tx.reserveOffset(8));
            tx.commit();
            if (rx.peekOffset({ spin }) < 0) throw new Error('no response');
            rx.release();
          }
        : (): void => {
            tx.send(message);
            if (rx.receive({ spin }) === undefined) throw new Error('no response');
          };
    if (spinning) {
      const s = timeSpinningTrips(trip, ctx.scale.smoke);
      return {
        kind: 'measured',
        value: s.median,
        p99: s.p99,
        samples: s.count,
        note: `spin ${SPIN} on both sides; each sample is the mean of ${SPIN_TRIPS_PER_SAMPLE} round trips`,
      };
    }
    // 'async' sleeps as 'sync' does (spin: 0: one event-loop turn, then the
    // futex), so the two compare the waits themselves; 'async-adaptive' is
    // receiveAsync() as it comes, re-checking once per turn while recent
    // waits were short.
    const asyncOptions = mode === 'async' ? { spin: 0 } : undefined;
    const op =
      mode === 'sync'
        ? trip
        : async (): Promise<void> => {
            tx.send(message);
            if ((await rx.receiveAsync(asyncOptions)) === undefined) throw new Error('no response');
          };
    const s = await timeEach(op, ctx.scale.roundTrips, ctx.scale.smoke ? 50 : 3_000);
    return { kind: 'measured', value: s.median, p99: s.p99, samples: s.count };
  } finally {
    await reap([echo]);
    requests.close();
    responses.close();
    pair.close();
  }
}

export const channelLatencyCases: BenchCase[] = [
  {
    id: 'rtt.channel-spin',
    group: 'latency',
    interleave: true,
    title: 'channel 8 B request/response, spinning on both sides',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-spin',
    run: (ctx) => roundTrips(ctx, 'spin'),
  },
  {
    id: 'rtt.channel-spin-zc',
    group: 'latency',
    interleave: true,
    title: 'channel 8 B request/response, spinning, zero-copy (reserve/commit, peek/release)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.channel-spin',
    run: (ctx) => roundTrips(ctx, 'spin-zero-copy'),
  },
  {
    id: 'rtt.channel-sync',
    group: 'latency',
    interleave: true,
    title: 'channel 8 B request/response, sync blocking waits',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.uds',
    run: (ctx) => roundTrips(ctx, 'sync'),
  },
  {
    id: 'rtt.channel-async',
    group: 'latency',
    interleave: true,
    title: 'channel 8 B request/response, receiveAsync({ spin: 0 }) on both sides',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.channel-sync',
    run: (ctx) => roundTrips(ctx, 'async'),
  },
  {
    id: 'rtt.channel-async-adaptive',
    group: 'latency',
    interleave: true,
    title: 'channel 8 B request/response, receiveAsync() on both sides (adaptive event-loop turns)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.channel-async',
    run: (ctx) => roundTrips(ctx, 'async-adaptive'),
  },
];

export const channelLatencyPeers: Record<string, (args: unknown) => Promise<void>> = {
  'channel-echo': async (args) => {
    const { requests, responses, mode } = args as EchoArgs;
    const input = Channel.open<Buffer>(requests);
    const output = Channel.open(responses);
    const rx: Receiver<Buffer> = input.receiver();
    const tx: Sender<unknown> = output.sender();
    process.stdout.write('ready\n');
    const spin = mode === 'spin' || mode === 'spin-zero-copy' ? SPIN : 0;
    // Until the pinger closes its sender (the channel ends) or the process is killed.
    try {
      if (mode === 'spin-zero-copy') {
        const from = rx.memory;
        const to = tx.memory;
        for (;;) {
          const at = rx.peekOffset({ spin });
          if (at < 0) continue;
          const length = rx.peekedLength;
          to.set(from.subarray(at, at + length), tx.reserveOffset(length));
          rx.release();
          tx.commit();
        }
      } else if (mode === 'async' || mode === 'async-adaptive') {
        const options = mode === 'async' ? { spin: 0 } : undefined;
        for (;;) {
          const m = await rx.receiveAsync(options);
          if (m !== undefined) tx.send(m);
        }
      } else {
        for (;;) {
          const m = rx.receive({ spin });
          if (m !== undefined) tx.send(m);
        }
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_SHMKIT_CHANNEL_ENDED') throw error;
    }
    input.close();
    output.close();
  },
};
