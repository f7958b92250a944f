// The kernel message queues of @shmkit/channel between two node processes,
// 64-byte messages: POSIX (mq_send/mq_receive) and System V (msgsnd/msgrcv).
// Round trips sit with the other transports of the latency group, each
// async one (receiveAsync on both sides, through the wait engine) against
// its sync twin; the one-way message rate is the reference the
// shared-memory channel rows compare to.
import type { ChildProcess } from 'node:child_process';
import { PosixMessageQueue, SysvMessageQueue } from '@shmkit/channel';
import { nowNs, timeEach } from '../harness.js';
import { reap, spawnPeer, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { summarize, type Summary } from '../stats.js';

const SIZE = 64;

let queues = 0;

/** A queue name unique to this run and pass. */
function queueName(tag: string): string {
  queues += 1;
  return `/shmkit-bench-${process.pid}-${queues}-${tag}`;
}

function outcome(s: Summary, note?: string): Outcome {
  return {
    kind: 'measured',
    value: s.median,
    p99: s.p99,
    samples: s.count,
    ...(note === undefined ? {} : { note }),
  };
}

function trips(ctx: Context): { count: number; warmup: number } {
  // As for the other round trips: a fresh node peer needs a few thousand
  // before its latency settles.
  return { count: ctx.scale.roundTrips, warmup: ctx.scale.smoke ? 50 : 3_000 };
}

/** Messages timed by a rate row: a few batches, so the median means something. */
function rateBatches(ctx: Context): { batches: number; perBatch: number } {
  return ctx.scale.smoke ? { batches: 3, perBatch: 2_000 } : { batches: 11, perBatch: 50_000 };
}

interface EchoArgs {
  /** POSIX: names; System V: ids. */
  up: string | number;
  down: string | number;
  async: boolean;
}

interface SenderArgs {
  queue: string | number;
  total: number;
}

/** Receives `batches` batches of `perBatch` messages: ns per message of each. */
function timeStream(receive: () => void, batches: number, perBatch: number): Summary {
  for (let i = 0; i < perBatch; i++) receive(); // warm-up
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = nowNs();
    for (let i = 0; i < perBatch; i++) receive();
    samples.push((nowNs() - t0) / perBatch);
  }
  return summarize(samples);
}

/** What a round trip needs of a queue: both kinds have these. */
interface Pingable {
  send(data: Buffer): unknown;
  receive(): unknown;
  receiveAsync(): Promise<unknown>;
}

/** Once the echo peer is ready: `up.send` then a receive from `down`, timed one by one. */
async function timeRoundTrips(
  ctx: Context,
  child: ChildProcess,
  up: Pingable,
  down: Pingable,
  async: boolean,
): Promise<Outcome> {
  await waitForLine(child, /^ready$/);
  const ping = Buffer.alloc(SIZE, 7);
  const trip = async
    ? async () => {
        up.send(ping);
        await down.receiveAsync();
      }
    : () => {
        up.send(ping);
        down.receive();
      };
  const { count, warmup } = trips(ctx);
  return outcome(await timeEach(trip, count, warmup));
}

async function posixRoundTrip(ctx: Context, async: boolean): Promise<Outcome> {
  const up = PosixMessageQueue.create(queueName('up'), { messageSize: SIZE, exclusive: true });
  const down = PosixMessageQueue.create(queueName('down'), { messageSize: SIZE, exclusive: true });
  const child = spawnPeer('mq-echo', { up: up.name, down: down.name, async } satisfies EchoArgs);
  try {
    return await timeRoundTrips(ctx, child, up, down, async);
  } finally {
    await reap([child]);
    for (const q of [up, down]) {
      q.unlink();
      q.close();
    }
  }
}

async function sysvRoundTrip(ctx: Context, async: boolean): Promise<Outcome> {
  const up = SysvMessageQueue.create();
  const down = SysvMessageQueue.create();
  const child = spawnPeer('sysv-msg-echo', { up: up.id, down: down.id, async } satisfies EchoArgs);
  try {
    return await timeRoundTrips(ctx, child, up, down, async);
  } finally {
    await reap([child]);
    up.remove();
    down.remove();
  }
}

export const kernelQueueCases: BenchCase[] = [
  {
    id: 'rtt.mq-64',
    group: 'latency',
    interleave: true,
    title: 'POSIX message queue, 64 B (@shmkit/channel, sync send + receive)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.uds',
    run: (ctx) => posixRoundTrip(ctx, false),
  },
  {
    id: 'rtt.mq-64-async',
    group: 'latency',
    interleave: true,
    title: 'POSIX message queue, 64 B, receiveAsync on both sides (wait engine: io_uring poll)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.mq-64',
    run: (ctx) => posixRoundTrip(ctx, true),
  },
  {
    id: 'rtt.sysv-msg-64',
    group: 'latency',
    interleave: true,
    title: 'System V message queue, 64 B (@shmkit/channel, sync msgsnd + msgrcv)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.uds',
    run: (ctx) => sysvRoundTrip(ctx, false),
  },
  {
    id: 'rtt.sysv-msg-64-async',
    group: 'latency',
    interleave: true,
    title: 'System V message queue, 64 B, receiveAsync on both sides (wait engine: pool)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.sysv-msg-64',
    run: (ctx) => sysvRoundTrip(ctx, true),
  },
  {
    id: 'msg.mq-64',
    group: 'messages',
    title: 'POSIX message queue, 64 B, sync send → sync receive (default capacity)',
    unit: 'ns',
    run: async (ctx) => {
      const { batches, perBatch } = rateBatches(ctx);
      // The system's default capacity (fs.mqueue.msg_default): what a C peer
      // gets without attributes, and all an unprivileged user may ask for.
      const q = PosixMessageQueue.create(queueName('rate'), { messageSize: SIZE, exclusive: true });
      const total = perBatch * (batches + 1);
      const child = spawnPeer('mq-sender', { queue: q.name, total } satisfies SenderArgs);
      try {
        const s = timeStream(() => q.receive(), batches, perBatch);
        return {
          kind: 'measured',
          value: s.median,
          samples: s.count,
          note: `ns per message; ${Math.round(1e9 / s.median).toLocaleString('en-US')} messages/s; queue of ${q.maxMessages}`,
        };
      } finally {
        await reap([child]);
        q.unlink();
        q.close();
      }
    },
  },
  {
    id: 'msg.sysv-msg-64',
    group: 'messages',
    title: 'System V message queue, 64 B, sync msgsnd → sync msgrcv (default msgmnb)',
    unit: 'ns',
    baseline: 'msg.mq-64',
    run: async (ctx) => {
      const { batches, perBatch } = rateBatches(ctx);
      const q = SysvMessageQueue.create();
      const total = perBatch * (batches + 1);
      const child = spawnPeer('sysv-msg-sender', { queue: q.id, total } satisfies SenderArgs);
      try {
        const s = timeStream(() => q.receive(), batches, perBatch);
        return {
          kind: 'measured',
          value: s.median,
          samples: s.count,
          note: `ns per message; ${Math.round(1e9 / s.median).toLocaleString('en-US')} messages/s`,
        };
      } finally {
        await reap([child]);
        q.remove();
      }
    },
  },
];

/** The other ends, run in child processes (see child.ts). */
export const kernelQueuePeers: Record<string, (args: unknown) => Promise<void>> = {
  'mq-echo': async (args) => {
    const { up, down, async } = args as EchoArgs;
    const input = PosixMessageQueue.open(String(up), { access: 'read' });
    const output = PosixMessageQueue.open(String(down), { access: 'write' });
    process.stdout.write('ready\n');
    for (;;) {
      const m = async ? await input.receiveAsync() : input.receive();
      output.send(m.data);
    }
  },
  'sysv-msg-echo': async (args) => {
    const { up, down, async } = args as EchoArgs;
    const input = SysvMessageQueue.fromId(Number(up));
    const output = SysvMessageQueue.fromId(Number(down));
    process.stdout.write('ready\n');
    for (;;) {
      const m = async ? await input.receiveAsync() : input.receive();
      output.send(m.data);
    }
  },
  'mq-sender': async (args) => {
    const { queue, total } = args as SenderArgs;
    const q = PosixMessageQueue.open(String(queue), { access: 'write' });
    const message = Buffer.alloc(SIZE, 1);
    for (let i = 0; i < total; i++) q.send(message);
  },
  'sysv-msg-sender': async (args) => {
    const { queue, total } = args as SenderArgs;
    const q = SysvMessageQueue.fromId(Number(queue));
    const message = Buffer.alloc(SIZE, 1);
    for (let i = 0; i < total; i++) q.send(message);
  },
};
