// Message rate between two node processes at 8 B to 1 MiB: an
// @shmkit/channel ring against a Unix socket (length-prefixed frames),
// process.send and worker_threads postMessage, plus the single-process copy
// ceiling for 1 MiB messages. Every row is nanoseconds per message (one
// way), the median over blocks of messages timed by the receiver.
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { mapAnonymous } from '@shmkit/core';
import { Channel, type Receiver } from '@shmkit/channel';
import { nowNs } from '../harness.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { summarize } from '../stats.js';

const SIZES = [8, 64, 1024, 65536, 1048576] as const;
type Size = (typeof SIZES)[number];

const LABEL: Record<Size, string> = {
  8: '8 B',
  64: '64 B',
  1024: '1 KiB',
  65536: '64 KiB',
  1048576: '1 MiB',
};
const TAG: Record<Size, string> = { 8: '8', 64: '64', 1024: '1k', 65536: '64k', 1048576: '1m' };

type Transport = 'channel' | 'uds' | 'ipc' | 'worker';

/** Messages per timed block (about 50-100 ms each on a quiet machine). */
const BLOCK: Record<Transport, Record<Size, number>> = {
  channel: { 8: 200_000, 64: 200_000, 1024: 50_000, 65536: 2_000, 1048576: 128 },
  uds: { 8: 40_000, 64: 40_000, 1024: 20_000, 65536: 1_000, 1048576: 64 },
  ipc: { 8: 10_000, 64: 10_000, 1024: 5_000, 65536: 500, 1048576: 32 },
  worker: { 8: 20_000, 64: 20_000, 1024: 10_000, 65536: 1_000, 1048576: 64 },
};

/** Blocks per run (the first is a warm-up and is dropped) and messages per block. */
function plan(ctx: Context, transport: Transport, size: Size): { blocks: number; block: number } {
  const block = BLOCK[transport][size];
  return ctx.scale.smoke
    ? { blocks: 2, block: Math.max(4, Math.floor(block / 20)) }
    : { blocks: 6, block };
}

/** The channel's ring: room for several messages of the largest size. */
function capacityFor(size: Size): number {
  return size >= 1048576 ? 4 * 1048576 : 1048576;
}

let channels = 0;
function channelName(tag: string): string {
  channels += 1;
  return `/shmkit-bench-${process.pid}-${channels}-${tag}`;
}

/** ns per message of each block after the first, from the receiver's block timestamps. */
export function perMessage(stamps: number[], block: number, note?: string): Outcome {
  const samples: number[] = [];
  for (let i = 2; i < stamps.length; i++) samples.push((stamps[i]! - stamps[i - 1]!) / block);
  const s = summarize(samples);
  return {
    kind: 'measured',
    value: s.median,
    samples: s.count,
    ...(note === undefined ? {} : { note }),
    extra: { messagesPerSecond: 1e9 / s.median },
  };
}

/**
 * The rate of a {@link perMessage} row, for its note: from the extra
 * figures, which an interleaved row gets as medians over its passes (a note
 * written in one pass would quote that pass).
 */
export function describeRate(extra: Record<string, number>): string | undefined {
  const perSecond = extra.messagesPerSecond;
  if (perSecond === undefined) return undefined;
  const rate = perSecond / 1e6;
  return `${rate >= 1 ? rate.toFixed(2) : rate.toPrecision(2)} M msg/s`;
}

interface ChannelArgs {
  name: string;
  size: number;
  blocks: number;
  block: number;
  mode: 'send' | 'zero-copy' | 'receive' | 'iterate' | 'peek';
}

/** One channel transfer: sender peers, a receiver peer that stamps every block. */
async function channelRun(
  ctx: Context,
  size: Size,
  options: {
    kind?: 'spsc' | 'mpsc';
    senders?: number;
    send?: ChannelArgs['mode'];
    receive?: ChannelArgs['mode'];
  },
): Promise<Outcome> {
  const senders = options.senders ?? 1;
  const { blocks, block } = plan(ctx, 'channel', size);
  const name = channelName(TAG[size]);
  const channel = Channel.create(name, {
    kind: options.kind ?? 'spsc',
    capacity: capacityFor(size),
    exclusive: true,
    ...(options.kind === 'mpsc' ? { senders } : {}),
  });
  const total = blocks * block + block; // one block more: the stamps need a start
  const receiver = spawnPeer('channel-recv', {
    name,
    size,
    blocks: total / block,
    block,
    mode: options.receive ?? 'receive',
  } satisfies ChannelArgs);
  const children = [receiver];
  try {
    await waitForLine(receiver, /^ready$/);
    const per = Math.ceil(total / senders);
    for (let s = 0; s < senders; s++) {
      children.push(
        spawnPeer('channel-send', {
          name,
          size,
          blocks: 1,
          block: s === senders - 1 ? total - per * (senders - 1) : per,
          mode: options.send ?? 'send',
        } satisfies ChannelArgs),
      );
    }
    const line = await waitForLine(receiver, /^\{/, 300_000);
    for (const c of children)
      if ((await waitForExit(c)) !== 0) throw new Error('a channel peer failed');
    const { stamps, bad } = JSON.parse(line) as { stamps: number[]; bad: number };
    if (bad !== 0) throw new Error(`${bad} messages arrived with the wrong length`);
    return perMessage(stamps, block);
  } finally {
    await reap(children);
    channel.close();
    Channel.unlink(name);
  }
}

let sockets = 0;

/** A Unix socket carrying [u32 length][payload] frames from a sender peer to a receiver peer. */
async function udsRun(ctx: Context, size: Size): Promise<Outcome> {
  const { blocks, block } = plan(ctx, 'uds', size);
  // A path of its own per run: interleaved rows run again in every pass.
  sockets += 1;
  const path = join(ctx.tmpDir, `rate-${TAG[size]}-${sockets}.sock`);
  const total = blocks * block + block;
  const receiver = spawnPeer('msg-uds-recv', { path, size, block, total });
  const children = [receiver];
  try {
    await waitForLine(receiver, /^ready$/);
    children.push(spawnPeer('msg-uds-send', { path, size, total }));
    const line = await waitForLine(receiver, /^\{/, 300_000);
    const { stamps, bad } = JSON.parse(line) as { stamps: number[]; bad: number };
    if (bad !== 0) throw new Error(`${bad} frames arrived with the wrong length`);
    return perMessage(stamps, block, 'frames corked 64 at a time');
  } finally {
    await reap(children);
    rmSync(path, { force: true });
  }
}

/** process.send from a child (advanced serialization: Buffers travel as bytes) to this process. */
async function ipcRun(ctx: Context, size: Size): Promise<Outcome> {
  const { blocks, block } = plan(ctx, 'ipc', size);
  const total = blocks * block + block;
  const child = spawnPeer('ipc-send', { size, total }, { ipc: true, serialization: 'advanced' });
  try {
    const stamps: number[] = [];
    let count = 0;
    let bad = 0;
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: unknown) => {
        if (!(m instanceof Uint8Array) || m.length !== size) bad++;
        if (++count % block === 0) stamps.push(nowNs());
        if (count === total) resolve();
      });
      child.once('exit', (code) => {
        if (count < total) reject(new Error(`ipc peer exited (${String(code)}) after ${count}`));
      });
      child.send('go');
    });
    if (bad !== 0) throw new Error(`${bad} messages arrived damaged`);
    return perMessage(stamps, block);
  } finally {
    if (child.connected) child.disconnect();
    await reap([child]);
  }
}

/** A worker thread posting Uint8Array copies (structured clone) to this thread: in-process. */
async function workerRun(ctx: Context, size: Size): Promise<Outcome> {
  const { blocks, block } = plan(ctx, 'worker', size);
  const total = blocks * block + block;
  const worker = new Worker(
    `const { parentPort, workerData: { size, total } } = require('node:worker_threads');
     const message = new Uint8Array(size).fill(7);
     parentPort.once('message', async () => {
       for (let i = 0; i < total; i++) {
         parentPort.postMessage(message);
         if (i % 256 === 255) await new Promise((r) => setImmediate(r));
       }
     });`,
    { eval: true, workerData: { size, total } },
  );
  try {
    const stamps: number[] = [];
    let count = 0;
    let bad = 0;
    await new Promise<void>((resolve) => {
      worker.on('message', (m: Uint8Array) => {
        if (m.length !== size) bad++;
        if (++count % block === 0) stamps.push(nowNs());
        if (count === total) resolve();
      });
      worker.postMessage('go');
    });
    if (bad !== 0) throw new Error(`${bad} messages arrived damaged`);
    return perMessage(stamps, block);
  } finally {
    await worker.terminate();
  }
}

/**
 * The ceiling for 1 MiB messages: the copy the sender makes, alone in one
 * process: the same TypedArray.set of the same 1 MiB source into the same
 * offsets of a 4 MiB shared ring. A transfer cannot beat the copy it makes.
 */
function copyCeiling(ctx: Context): Outcome {
  const size = 1048576;
  const { blocks, block } = plan(ctx, 'channel', size);
  const ring = mapAnonymous(capacityFor(size) + 4096);
  try {
    const bytes = ring.uint8Array();
    const source = Buffer.alloc(size, 7);
    const capacity = capacityFor(size);
    let pos = 0;
    const copy = (): void => {
      const need = 8 + size;
      if ((pos % capacity) + need > capacity) pos += capacity - (pos % capacity);
      bytes.set(source, 4096 + (pos % capacity) + 8);
      pos += need;
    };
    const stamps: number[] = [nowNs()];
    for (let b = 0; b <= blocks; b++) {
      for (let i = 0; i < block; i++) copy();
      stamps.push(nowNs());
    }
    return perMessage(stamps, block, 'one TypedArray.set per message');
  } finally {
    ring.close();
  }
}

function rateCase(transport: Transport, size: Size): BenchCase {
  const label = LABEL[size];
  const titles: Record<Transport, string> = {
    channel: `channel spsc ${label} sync send+receive`,
    uds: `Unix socket, length-prefixed frames (${label})`,
    ipc: `child_process IPC, process.send (${label})`,
    worker: `worker_threads postMessage (${label}, in-process reference)`,
  };
  return {
    id: `msg.${transport}-${TAG[size]}`,
    group: 'messages',
    // The rows #14's targets compare alternate, so they see the same machine.
    ...(size === 64 && (transport === 'channel' || transport === 'uds')
      ? { interleave: true }
      : {}),
    title: titles[transport],
    unit: 'ns',
    describe: describeRate,
    ...(transport === 'uds' ? {} : { baseline: `msg.uds-${TAG[size]}` }),
    run: (ctx) =>
      transport === 'channel'
        ? channelRun(ctx, size, {})
        : transport === 'uds'
          ? udsRun(ctx, size)
          : transport === 'ipc'
            ? ipcRun(ctx, size)
            : workerRun(ctx, size),
  };
}

export const channelRateCases: BenchCase[] = [
  ...SIZES.flatMap((size) =>
    (['uds', 'channel', 'ipc', 'worker'] as const).map((t) => rateCase(t, size)),
  ),
  {
    id: 'msg.channel-zc-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'channel spsc 64 B zero-copy (reserveOffset/commit, peekOffset/release)',
    unit: 'ns',
    baseline: 'msg.channel-64',
    run: (ctx) => channelRun(ctx, 64, { send: 'zero-copy', receive: 'zero-copy' }),
  },
  {
    id: 'msg.channel-iter-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'channel spsc 64 B sync send, for await on the receiver',
    unit: 'ns',
    baseline: 'msg.channel-64',
    run: (ctx) => channelRun(ctx, 64, { receive: 'iterate' }),
  },
  {
    id: 'msg.channel-mpsc4-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'channel mpsc 64 B, 4 sending processes (total rate)',
    unit: 'ns',
    baseline: 'msg.channel-64',
    run: (ctx) => channelRun(ctx, 64, { kind: 'mpsc', senders: 4 }),
  },
  {
    id: 'msg.copy-1m',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'copy ceiling: the sender\u2019s TypedArray.set of 1 MiB, alone in one process',
    unit: 'ns',
    run: async (ctx) => copyCeiling(ctx),
  },
  {
    id: 'msg.channel-peek-1m',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'channel spsc 1 MiB send + peek/release (one copy, like the ceiling)',
    unit: 'ns',
    baseline: 'msg.copy-1m',
    run: (ctx) => channelRun(ctx, 1048576, { receive: 'peek' }),
  },
];

// ---- peers (child processes) -------------------------------------------------

async function channelSend(args: unknown): Promise<void> {
  const { name, size, block, mode } = args as ChannelArgs;
  const channel = Channel.open(name);
  const tx = channel.sender();
  const message = Buffer.alloc(size, 7);
  const memory = tx.memory;
  if (mode === 'zero-copy') {
    for (let i = 0; i < block; i++) {
      const at = tx.reserveOffset(size);
      memory[at] = 7;
      tx.commit();
    }
  } else {
    for (let i = 0; i < block; i++) tx.send(message);
  }
  tx.close();
  channel.close();
}

async function channelRecv(args: unknown): Promise<void> {
  const { name, size, blocks, block, mode } = args as ChannelArgs;
  const channel = Channel.open<Buffer>(name);
  const rx = channel.receiver();
  const stamps: number[] = [];
  let bad = 0;
  const total = blocks * block;
  process.stdout.write('ready\n');
  if (mode === 'iterate') {
    let n = 0;
    for await (const m of rx) {
      if (m.length !== size) bad++;
      if (++n % block === 0) stamps.push(nowNs());
      if (n === total) break;
    }
  } else if (mode === 'receive') {
    for (let n = 1; n <= total; n++) {
      const m = receiveThroughGaps(rx);
      if (m.length !== size) bad++;
      if (n % block === 0) stamps.push(nowNs());
    }
  } else {
    // Zero-copy: the payload is read in place (one word per 4 KiB page, so
    // every page of a large message is touched) and released.
    const memory = rx.memory;
    let sum = 0;
    for (let n = 1; n <= total; n++) {
      const at = rx.peekOffset();
      const length = rx.peekedLength;
      if (length !== size) bad++;
      for (let k = 0; k < length; k += 4096) sum += memory[at + k]!;
      rx.release();
      if (n % block === 0) stamps.push(nowNs());
    }
    if (sum === -1) bad++;
  }
  process.stdout.write(`${JSON.stringify({ stamps, bad })}\n`);
  channel.close();
}

/**
 * The next message. Several senders that come and go may leave the channel
 * without a sender for a moment (it then reports its end, like a FIFO);
 * the next sender revives it.
 */
function receiveThroughGaps(rx: Receiver<Buffer>): Buffer {
  for (;;) {
    try {
      const m = rx.receive();
      if (m !== undefined) return m;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_SHMKIT_CHANNEL_ENDED') throw error;
      Atomics.wait(gap, 0, 0, 1);
    }
  }
}
const gap = new Int32Array(new SharedArrayBuffer(4));

async function udsRecv(args: unknown): Promise<void> {
  const { path, size, block, total } = args as {
    path: string;
    size: number;
    block: number;
    total: number;
  };
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  process.stdout.write('ready\n');
  const [socket] = (await once(server, 'connection')) as [Socket];
  const stamps: number[] = [];
  let bad = 0;
  let count = 0;
  // Frames: a u32 length, then that many bytes; chunks may split them anywhere.
  let pending: Buffer | undefined;
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      let at = 0;
      while (data.length - at >= 4) {
        const length = data.readUInt32LE(at);
        if (data.length - at - 4 < length) break;
        if (length !== size) bad++;
        at += 4 + length;
        if (++count % block === 0) stamps.push(nowNs());
        if (count === total) {
          resolve();
          return;
        }
      }
      if (at < data.length) pending = data.subarray(at);
    });
  });
  process.stdout.write(`${JSON.stringify({ stamps, bad })}\n`);
  socket.destroy();
  server.close();
}

async function udsSend(args: unknown): Promise<void> {
  const { path, size, total } = args as { path: string; size: number; total: number };
  const socket = createConnection(path);
  await once(socket, 'connect');
  const frame = Buffer.alloc(4 + size, 7);
  frame.writeUInt32LE(size, 0);
  for (let i = 0; i < total; ) {
    socket.cork();
    let ok = true;
    for (let k = 0; k < 64 && i < total; k++, i++) ok = socket.write(frame);
    socket.uncork();
    if (!ok) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'close');
}

async function ipcSend(args: unknown): Promise<void> {
  const { size, total } = args as { size: number; total: number };
  const message = Buffer.alloc(size, 7);
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('no IPC channel');
  await new Promise((resolve) => process.once('message', resolve));
  // Every 64th send waits until its message is written: flow control.
  for (let i = 0; i < total; i++) {
    if (i % 64 === 63) await new Promise((resolve) => send(message, undefined, {}, resolve));
    else send(message);
  }
  await new Promise((resolve) => process.once('disconnect', resolve));
}

export const channelRatePeers: Record<string, (args: unknown) => Promise<void>> = {
  'channel-send': channelSend,
  'channel-recv': channelRecv,
  'msg-uds-recv': udsRecv,
  'msg-uds-send': udsSend,
  'ipc-send': ipcSend,
};
