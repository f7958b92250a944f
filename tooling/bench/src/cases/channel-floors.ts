// Floors of the channel's absolute targets, measured in the same run: the
// least any implementation has to do per message or round trip in node,
// with no channel at all. A copying receive must at least make a fresh
// Buffer holding the bytes; a `for await` receiver must also take a promise
// and a microtask turn per message; a spinning round trip in JS must at
// least see the peer's word change and write its own, twice. When a floor
// itself misses a target, no channel can meet that target in this run; when
// the channel beats its floor, the floor is wrong (targets.ts says so).
import { SPIN_TRIPS_PER_SAMPLE, nowNs, timeSpinningTrips } from '../harness.js';
import { reap, spawnPeer, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { describeRate, perMessage } from './channel-rate.js';

const SIZE = 64;
/** The same blocks as the 64 B channel rows. */
const BLOCK = 200_000;

function blocks(ctx: Context): { blocks: number; block: number } {
  return ctx.scale.smoke ? { blocks: 2, block: BLOCK / 20 } : { blocks: 6, block: BLOCK };
}

/** As Node's own Buffer pool: a kept copy holds at most this much alive. */
const SLAB_BYTES = 8 * 1024;
/**
 * The class Node makes every Buffer with (the species `subarray()` uses):
 * constructing it over an ArrayBuffer skips the checks of `Buffer.from`.
 */
const NodeBuffer = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species] as new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => Buffer;

/**
 * The cheapest fresh Buffer with a copy of 64 bytes in it that this file
 * knows: a stretch of a slab of its own (no Buffer.allocUnsafe pool
 * bookkeeping), the 16 words copied one by one (for 64 bytes cheaper than
 * the setup of a `TypedArray.set`), and a Buffer made over it with Node's
 * own Buffer class. `Buffer.allocUnsafe(64)` and `set` take about twice as
 * long.
 */
class FreshCopies {
  #slab = new ArrayBuffer(SLAB_BYTES);
  #words = new Int32Array(this.#slab);
  #free = SLAB_BYTES;

  copy(source: Int32Array): Buffer {
    if (this.#free < SIZE) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#words = new Int32Array(this.#slab);
      this.#free = SLAB_BYTES;
    }
    const start = SLAB_BYTES - this.#free;
    this.#free -= SIZE;
    const to = this.#words;
    for (let s = 0, d = start >> 2; s < SIZE >> 2; ) to[d++] = source[s++]!;
    return new NodeBuffer(this.#slab, start, SIZE);
  }
}

/** 64 bytes of 7s, as the words a receive copies them from. */
function sourceWords(): Int32Array {
  return new Int32Array(new Uint8Array(SIZE).fill(7).buffer);
}

interface FloorArgs {
  blocks: number;
  block: number;
}

/** A fresh 64 B Buffer copy per message, nothing else: in a child process (see floorIn). */
function copyFloor({ blocks: count, block }: FloorArgs): Stamps {
  const source = sourceWords();
  const copies = new FreshCopies();
  let bad = 0;
  const stamps: number[] = [nowNs()];
  for (let b = 0; b <= count; b++) {
    for (let i = 0; i < block; i++) if (copies.copy(source)[SIZE - 1] !== 7) bad++;
    stamps.push(nowNs());
  }
  return { stamps, bad };
}

/** `for await` over the least async iterator there is, yielding fresh 64 B copies. */
async function iterateFloor({ blocks: count, block }: FloorArgs): Promise<Stamps> {
  const total = (count + 1) * block;
  const source = sourceWords();
  const copies = new FreshCopies();
  const messages: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve({ value: copies.copy(source), done: false }),
    }),
  };
  let bad = 0;
  let n = 0;
  const stamps: number[] = [nowNs()];
  for await (const m of messages) {
    if (m[SIZE - 1] !== 7) bad++;
    if (++n % block === 0) stamps.push(nowNs());
    if (n === total) break;
  }
  return { stamps, bad };
}

interface Stamps {
  stamps: number[];
  bad: number;
}

/**
 * Runs a message floor in a fresh node process, as the channel rows run
 * their receivers: the bench's own process has a large heap by now, which
 * makes every allocation's share of the GC dearer, and a floor measured
 * there came out slower than the channel receive it bounds.
 */
async function floorIn(ctx: Context, peer: string, note: string): Promise<Outcome> {
  const child = spawnPeer(peer, blocks(ctx) satisfies FloorArgs);
  try {
    const line = await waitForLine(child, /^\{/, 300_000);
    const { stamps, bad } = JSON.parse(line) as Stamps;
    if (bad !== 0) throw new Error(`${bad} copies came out wrong`);
    return perMessage(stamps, blocks(ctx).block, note);
  } finally {
    await reap([child]);
  }
}

/** The two words of the ping-pong, a cache line apart (the channel's two rings are too). */
const PING = 0;
const PONG = 16;
const DONE = -1;

interface SpinArgs {
  path: string;
}

/** Round trips of one Int32 each way between two spinning node processes. */
async function spinFloor(ctx: Context): Promise<Outcome> {
  const path = sharedPath('node-spin');
  const mapping = mapShared(path, 4096, true);
  const words = new Int32Array(mapping.buffer, 0, 1024);
  const echo = spawnPeer('node-spin-echo', { path } satisfies SpinArgs);
  try {
    await waitForLine(echo, /^ready$/);
    let seq = 0;
    const trip = (): void => {
      seq = (seq + 1) & 0x3fffffff;
      Atomics.store(words, PING, seq);
      while (Atomics.load(words, PONG) !== seq);
    };
    const sum = timeSpinningTrips(trip, ctx.scale.smoke);
    Atomics.store(words, PING, DONE);
    return {
      kind: 'measured',
      value: sum.median,
      p99: sum.p99,
      samples: sum.count,
      note: `Atomics.store + an Atomics.load loop on each side; each sample is the mean of ${SPIN_TRIPS_PER_SAMPLE} round trips`,
    };
  } finally {
    await reap([echo]);
    mapping.close();
    unlinkShared(path);
  }
}

export const channelFloorCases: BenchCase[] = [
  {
    id: 'rtt.node-spin',
    group: 'latency',
    interleave: true,
    title:
      'node spin ping-pong, one word each way (floor for the channel\u2019s spinning round trip)',
    bound: 'floor',
    unit: 'ns',
    p99: true,
    baseline: 'rtt.c-spin',
    run: (ctx) => spinFloor(ctx),
  },
  {
    id: 'msg.floor-copy-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title:
      'floor of a copying receive: a fresh 64 B Buffer copy per message, alone in a fresh process',
    bound: 'floor',
    unit: 'ns',
    run: (ctx) =>
      floorIn(ctx, 'floor-copy', '16 words into a slab + a Buffer over them per message'),
  },
  {
    id: 'msg.floor-iter-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title: 'floor of a for-await receiver: the same copies through a minimal async iterator',
    bound: 'floor',
    unit: 'ns',
    baseline: 'msg.floor-copy-64',
    run: (ctx) => floorIn(ctx, 'floor-iterate', 'Promise.resolve({ value, done }) per message'),
  },
];

export const channelFloorPeers: Record<string, (args: unknown) => Promise<void>> = {
  'floor-copy': async (args) => {
    process.stdout.write(`${JSON.stringify(copyFloor(args as FloorArgs))}\n`);
  },
  'floor-iterate': async (args) => {
    process.stdout.write(`${JSON.stringify(await iterateFloor(args as FloorArgs))}\n`);
  },
  'node-spin-echo': async (args) => {
    const { path } = args as SpinArgs;
    const mapping = mapShared(path, 4096, false);
    const words = new Int32Array(mapping.buffer, 0, 1024);
    process.stdout.write('ready\n');
    let last = 0;
    for (;;) {
      const seq = Atomics.load(words, PING);
      if (seq === last) continue;
      if (seq === DONE) break;
      last = seq;
      Atomics.store(words, PONG, seq);
    }
    mapping.close();
  },
};
