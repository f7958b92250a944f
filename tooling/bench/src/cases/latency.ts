// Round-trip latency of one small message between two processes over what
// Node offers today (Unix socket, child_process IPC, a pipe, a FIFO, and
// worker_threads for reference), the C spin floor, and two C processes
// parking on a futex, for information (see the title). The floor for
// blocking node round trips is node + a minimal C futex addon
// (sync-latency.ts).
import { spawnSync } from 'node:child_process';
import { constants, openSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createConnection, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { compileProgram } from '../c/cc.js';
import { PINGPONG } from '../c/sources.js';
import { timeEach } from '../harness.js';
import { reap, spawnPeer } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { sharedPath, unlinkShared } from '../shared.js';
import type { Summary } from '../stats.js';

const MESSAGE = Buffer.from('ping!ok\n'); // 8 bytes

function outcome(s: Summary, note?: string): Outcome {
  return {
    kind: 'measured',
    value: s.median,
    p99: s.p99,
    samples: s.count,
    ...(note === undefined ? {} : { note }),
  };
}

/** Runs the C ping-pong; `batch` round trips per sample. */
function cPingPong(ctx: Context, mode: 'futex' | 'spin', samples: number, batch: number): Outcome {
  const bin = compileProgram(PINGPONG);
  const path = sharedPath(`c-${mode}`);
  try {
    const warmup = Math.max(10, Math.floor(samples / 10));
    const r = spawnSync(bin, [mode, path, String(samples), String(warmup), String(batch)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`pingpong ${mode} failed: ${r.stderr || String(r.error)}`);
    const out = JSON.parse(r.stdout) as { median: number; p99: number; count: number };
    return {
      kind: 'measured',
      value: out.median,
      p99: out.p99,
      samples: out.count,
      ...(batch > 1 ? { note: `each sample is the mean of ${batch} round trips` } : {}),
    };
  } finally {
    unlinkShared(path);
  }
}

/**
 * A round trip over a byte stream: write the message, resolve when as many
 * bytes came back. One message is in flight at a time.
 */
function streamTrip(
  write: (b: Buffer) => void,
  readable: NodeJS.EventEmitter,
): () => Promise<void> {
  let pending = 0;
  let resolve: (() => void) | undefined;
  readable.on('data', (chunk: Buffer) => {
    pending -= chunk.length;
    if (pending <= 0 && resolve !== undefined) {
      const r = resolve;
      resolve = undefined;
      r();
    }
  });
  return () =>
    new Promise<void>((res) => {
      resolve = res;
      pending = MESSAGE.length;
      write(MESSAGE);
    });
}

/** A round trip over a message channel (IPC, worker). */
function messageTrip(send: () => void, port: NodeJS.EventEmitter): () => Promise<void> {
  let resolve: (() => void) | undefined;
  port.on('message', () => {
    const r = resolve;
    resolve = undefined;
    r?.();
  });
  return () =>
    new Promise<void>((res) => {
      resolve = res;
      send();
    });
}

let fifoPass = 0;

function trips(ctx: Context): { count: number; warmup: number } {
  return {
    count: ctx.scale.roundTrips,
    // A fresh node peer needs a few thousand round trips before its latency settles
    // (with 1,000 the p99 came out about 10x higher).
    warmup: ctx.scale.smoke ? 50 : 3_000,
  };
}

export const latencyCases: BenchCase[] = [
  {
    id: 'rtt.c-futex',
    group: 'latency',
    interleave: true,
    // Not a floor for node: two otherwise idle C processes let their CPUs
    // go idle between wake-ups, which a VM makes expensive, while node's
    // helper threads keep them busier. It came out 7x slower than node
    // with a C futex addon on one host.
    title: 'two C processes, futex ping-pong (information only, not a floor: idle CPUs)',
    unit: 'ns',
    p99: true,
    run: async (ctx) => cPingPong(ctx, 'futex', ctx.scale.roundTrips * 4, 1),
  },
  {
    id: 'rtt.c-spin',
    group: 'latency',
    interleave: true,
    title: 'C spin ping-pong (floor for spinning)',
    bound: 'floor',
    unit: 'ns',
    p99: true,
    run: async (ctx) =>
      cPingPong(ctx, 'spin', Math.max(100, Math.floor(ctx.scale.roundTrips / 5)), 100),
  },
  {
    id: 'rtt.uds',
    group: 'latency',
    interleave: true,
    title: 'Unix domain socket (net)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) => {
      const path = join(ctx.tmpDir, 'rtt.sock');
      const server = createServer();
      server.listen(path);
      await once(server, 'listening');
      const child = spawnPeer('uds-echo', { path });
      try {
        const [socket] = (await once(server, 'connection')) as [Socket];
        socket.setNoDelay(true);
        const trip = streamTrip((b) => socket.write(b), socket);
        const { count, warmup } = trips(ctx);
        const s = await timeEach(trip, count, warmup);
        socket.destroy();
        return outcome(s);
      } finally {
        await reap([child]);
        server.close();
      }
    },
  },
  {
    id: 'rtt.ipc',
    group: 'latency',
    interleave: true,
    title: 'child_process IPC (process.send)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) => {
      const child = spawnPeer('ipc-echo', null, { ipc: true });
      try {
        const msg = { seq: 1 };
        const trip = messageTrip(() => child.send(msg), child);
        const { count, warmup } = trips(ctx);
        return outcome(await timeEach(trip, count, warmup));
      } finally {
        child.disconnect();
        await reap([child]);
      }
    },
  },
  {
    id: 'rtt.pipe',
    group: 'latency',
    interleave: true,
    title: 'pipe (child stdin/stdout)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) => {
      const child = spawnPeer('pipe-echo', null, { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const stdin = child.stdin;
        const stdout = child.stdout;
        if (stdin === null || stdout === null) throw new Error('no stdio pipes');
        const trip = streamTrip((b) => stdin.write(b), stdout);
        const { count, warmup } = trips(ctx);
        return outcome(await timeEach(trip, count, warmup));
      } finally {
        await reap([child]);
      }
    },
  },
  {
    id: 'rtt.fifo',
    group: 'latency',
    interleave: true,
    title: 'two FIFOs (mkfifo, non-blocking, net.Socket)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) => {
      fifoPass += 1; // every pass makes its own pair
      const up = join(ctx.tmpDir, `rtt-up-${fifoPass}.fifo`);
      const down = join(ctx.tmpDir, `rtt-down-${fifoPass}.fifo`);
      for (const p of [up, down]) {
        const r = spawnSync('mkfifo', ['-m', '600', p]);
        if (r.status !== 0) throw new Error(`mkfifo ${p} failed`);
      }
      // A non-blocking reader opens at once; the writer gets ENXIO until a reader exists.
      const back = new Socket({
        fd: openSync(up, constants.O_RDONLY | constants.O_NONBLOCK),
        readable: true,
        writable: false,
      });
      const child = spawnPeer('fifo-echo', { read: down, write: up });
      let out: Socket | undefined;
      try {
        const fd = await openWriterWhenReady(down);
        const writer = new Socket({ fd, readable: false, writable: true });
        out = writer;
        const trip = streamTrip((b) => writer.write(b), back);
        const { count, warmup } = trips(ctx);
        return outcome(await timeEach(trip, count, warmup));
      } finally {
        out?.destroy();
        back.destroy();
        await reap([child]);
        rmSync(up, { force: true });
        rmSync(down, { force: true });
      }
    },
  },
  {
    id: 'rtt.worker',
    group: 'latency',
    interleave: true,
    title: 'worker_threads postMessage (in-process reference)',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.node-c-futex',
    run: async (ctx) => {
      const worker = new Worker(
        "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
        { eval: true },
      );
      try {
        const msg = { seq: 1 };
        const trip = messageTrip(() => worker.postMessage(msg), worker);
        const { count, warmup } = trips(ctx);
        return outcome(await timeEach(trip, count, warmup));
      } finally {
        await worker.terminate();
      }
    },
  },
];

/** Echo peers run in the child process (see child.ts). */
export const latencyPeers: Record<string, (args: unknown) => Promise<void>> = {
  'uds-echo': async (args) => {
    const { path } = args as { path: string };
    const socket = createConnection(path);
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => process.exit(0));
    socket.on('close', () => process.exit(0));
  },
  'ipc-echo': async () => {
    process.on('message', (m) => process.send?.(m));
    process.on('disconnect', () => process.exit(0));
  },
  'pipe-echo': async () => {
    process.stdin.on('data', (d) => process.stdout.write(d));
    process.stdin.on('end', () => process.exit(0));
  },
  'fifo-echo': async (args) => {
    const { read, write } = args as { read: string; write: string };
    const output = new Socket({
      fd: await openWriterWhenReady(write),
      readable: false,
      writable: true,
    });
    const input = new Socket({
      fd: openSync(read, constants.O_RDONLY | constants.O_NONBLOCK),
      readable: true,
      writable: false,
    });
    input.on('data', (d) => output.write(d));
    input.on('end', () => process.exit(0));
    output.on('error', () => process.exit(0));
  },
};

/** Opens a FIFO for writing without blocking, retrying while it has no reader (ENXIO). */
async function openWriterWhenReady(path: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
