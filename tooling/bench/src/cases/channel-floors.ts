// Floors of the channel's absolute targets, measured in the same run: the
// least any implementation has to do per message or round trip in node,
// with no channel at all. A copying receive must at least make a fresh
// Buffer holding the bytes; a `for await` receiver must also take a promise
// and a microtask turn per message; a spinning round trip in JS must at
// least see the peer's word change and write its own, twice. The "fed"
// floors do the receive side's least while a C producer in another process
// writes the messages, as a channel's receiver must: the bytes arrive from
// another core. When a floor itself misses a target, no channel can meet
// that target in this run; when the channel beats its floor, the floor is
// wrong (targets.ts says so).
import { spawn } from 'node:child_process';
import { compileProgram } from '../c/cc.js';
import { RING_PRODUCER } from '../c/sources.js';
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

  /** A Buffer holding the 64 bytes at word `from` of `source`. */
  copy(source: Int32Array, from: number): Buffer {
    if (this.#free < SIZE) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#words = new Int32Array(this.#slab);
      this.#free = SLAB_BYTES;
    }
    const start = SLAB_BYTES - this.#free;
    this.#free -= SIZE;
    const to = this.#words;
    for (let s = from, d = start >> 2, end = from + (SIZE >> 2); s < end; ) to[d++] = source[s++]!;
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

/** Where a floor's messages come from: a fresh 64 B Buffer each call. */
type Take = () => Buffer;

/** Copies of the same 64 bytes, always in this core's cache. */
function localMessages(): Take {
  const source = sourceWords();
  const copies = new FreshCopies();
  return () => copies.copy(source, 0);
}

/** The ring the fed floors read: the position word, then 72-byte records from byte 256. */
const FED_DATA_WORD = 256 / 4;
const FED_RECORD_WORDS = 72 / 4;
/** As many records as the 64 B channel rows' 1 MiB ring holds. */
const FED_SLOTS = Math.floor(1048576 / 72);
const FED_BYTES = 256 + FED_SLOTS * 72;

/**
 * The consumer's least per message of a ring a producer in another process
 * fills (RING_PRODUCER): wait for the record's sequence word, copy its 64
 * bytes, and give the position back every 64 records, as a channel
 * publishes its head.
 */
function fedMessages(words: Int32Array): Take {
  const copies = new FreshCopies();
  let slot = 0;
  let next = 1;
  return () => {
    const at = FED_DATA_WORD + slot * FED_RECORD_WORDS;
    const want = next;
    if (words[at] !== want) while (Atomics.load(words, at) !== want);
    const copy = copies.copy(words, at + 2);
    if (++slot === FED_SLOTS) slot = 0;
    next = (next + 1) | 0;
    if ((want & 63) === 0) Atomics.store(words, 0, want);
    return copy;
  };
}

/** A fresh 64 B Buffer copy per message, nothing else: in a child process (see floorIn). */
function copyFloor({ blocks: count, block }: FloorArgs, take: Take): Stamps {
  let bad = 0;
  const stamps: number[] = [nowNs()];
  for (let b = 0; b <= count; b++) {
    for (let i = 0; i < block; i++) if (take()[SIZE - 1] !== 7) bad++;
    stamps.push(nowNs());
  }
  return { stamps, bad };
}

/** `for await` over the least async iterator there is, yielding fresh 64 B copies. */
async function iterateFloor({ blocks: count, block }: FloorArgs, take: Take): Promise<Stamps> {
  const total = (count + 1) * block;
  const messages: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve({ value: take(), done: false }),
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

interface FedArgs extends FloorArgs {
  path: string;
  mode: 'copy' | 'iterate';
}

/**
 * A fed floor: the consumer peer in a fresh node process (as floorIn), the
 * C producer started once it is ready.
 */
async function fedFloor(ctx: Context, mode: FedArgs['mode'], note: string): Promise<Outcome> {
  const { blocks: count, block } = blocks(ctx);
  const path = sharedPath('fed');
  mapShared(path, FED_BYTES, true).close();
  const consumer = spawnPeer('floor-fed', { path, mode, blocks: count, block } satisfies FedArgs);
  const children = [consumer];
  try {
    await waitForLine(consumer, /^ready$/);
    const total = (count + 1) * block;
    children.push(
      spawn(compileProgram(RING_PRODUCER), [path, String(FED_SLOTS), String(total)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    const line = await waitForLine(consumer, /^\{/, 300_000);
    const { stamps, bad } = JSON.parse(line) as Stamps;
    if (bad !== 0) throw new Error(`${bad} copies came out wrong`);
    return perMessage(stamps, block, note);
  } finally {
    await reap(children);
    unlinkShared(path);
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
  {
    id: 'msg.floor-fed-copy-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title:
      'floor of a copying receive fed by another process: the same copies of 64 B records a C producer writes',
    bound: 'floor',
    unit: 'ns',
    baseline: 'msg.floor-copy-64',
    run: (ctx) =>
      fedFloor(
        ctx,
        'copy',
        'a sequence word per record, its position back every 64; the producer spins when full',
      ),
  },
  {
    id: 'msg.floor-fed-iter-64',
    group: 'messages',
    interleave: true,
    describe: describeRate,
    title:
      'floor of a for-await receiver fed by another process: the fed copies through the minimal iterator',
    bound: 'floor',
    unit: 'ns',
    baseline: 'msg.floor-iter-64',
    run: (ctx) => fedFloor(ctx, 'iterate', 'Promise.resolve({ value, done }) per fed copy'),
  },
];

export const channelFloorPeers: Record<string, (args: unknown) => Promise<void>> = {
  'floor-copy': async (args) => {
    process.stdout.write(`${JSON.stringify(copyFloor(args as FloorArgs, localMessages()))}\n`);
  },
  'floor-iterate': async (args) => {
    const stamps = await iterateFloor(args as FloorArgs, localMessages());
    process.stdout.write(`${JSON.stringify(stamps)}\n`);
  },
  'floor-fed': async (args) => {
    const fed = args as FedArgs;
    const mapping = mapShared(fed.path, FED_BYTES, false);
    const take = fedMessages(new Int32Array(mapping.buffer));
    process.stdout.write('ready\n');
    const stamps = fed.mode === 'copy' ? copyFloor(fed, take) : await iterateFloor(fed, take);
    process.stdout.write(`${JSON.stringify(stamps)}\n`);
    mapping.close();
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
