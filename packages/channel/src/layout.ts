// The shared memory format of a channel, version 1: the one place that
// knows where every word lives. LAYOUT.md describes the same format for C.
//
// Every word is a 32-bit integer in the host's byte order at a 4-byte
// aligned offset. Cursors are byte positions that run freely modulo 2^32;
// a ring's capacity is a power of two, so `position & (capacity - 1)` is the
// offset inside the ring.

/** "shmk" and "chan" as little-endian words: bytes 0..7 read `shmkchan`. */
export const MAGIC0 = 0x6b6d6873;
export const MAGIC1 = 0x6e616863;
export const VERSION = 1;

/** The header is a whole number of these, whatever the machine's page size. */
export const HEADER_ALIGN = 4096;
/** Words written by different parties sit this many bytes apart (two x86 lines). */
export const LINE = 128;

/** @internal Channel kinds as stored in the header. */
export const KIND = { spsc: 1, mpsc: 2, broadcast: 3 } as const;
/** @internal Codec hints as stored in the header. */
export const CODEC = { bytes: 0, string: 1, json: 2, v8: 3 } as const;

/** `'spsc'`, `'mpsc'` or `'broadcast'` (see {@link ChannelOptions.kind}). */
export type ChannelKind = 'spsc' | 'mpsc' | 'broadcast';
/** Where a new broadcast receiver starts reading: the next message sent, or the oldest one kept. */
export type BroadcastStart = 'next' | 'oldest';
/** How values become message bytes: `'bytes'`, `'string'` (UTF-8), `'json'` or `'v8'` (`node:v8` serialize). */
export type Codec = 'bytes' | 'string' | 'json' | 'v8';

export const KIND_NAMES: readonly (ChannelKind | undefined)[] = [
  undefined,
  'spsc',
  'mpsc',
  'broadcast',
];
export const CODEC_NAMES: readonly Codec[] = ['bytes', 'string', 'json', 'v8'];

// Word indices (byte offset / 4) of the global part of the header.
/** Line 0, written once by the creator. */
export const W_MAGIC0 = 0;
export const W_MAGIC1 = 1;
export const W_VERSION = 2;
export const W_KIND = 3;
export const W_CAPACITY_LOG2 = 4;
export const W_RINGS = 5;
export const W_RECEIVER_SLOTS = 6;
export const W_HEADER_BYTES = 7;
export const W_CODEC = 8;
export const W_FLAGS = 9;
/** Line 1 (byte 128): rarely written, by whoever attaches or leaves. */
export const W_SENDER_EVER = 32;
export const W_LAST_EXIT = 33;
export const W_RECEIVER_EVER = 34;
export const W_DEATHS = 35;
/** Line 2 (byte 256): the receivers' futex word, 1 while some receiver may sleep. */
export const W_RECEIVER_WAITING = 64;
/**
 * Byte 260: spsc/mpsc: 1 while the receiver spins on the tails, a hint that
 * senders should publish each message at once rather than batch it.
 */
export const W_RECEIVER_SPINNING = 65;

/** Byte offset of ring 0's control block. */
export const RINGS_OFFSET = 384;
/** Bytes per ring control block: three lines. */
export const RING_STRIDE = 3 * LINE;
// Word offsets inside a ring control block.
/** Line A, written by the ring's sender on every publish. */
export const R_TAIL = 0;
export const R_SEQ = 1;
/** broadcast: odd while the sender writes tail and seq (a sequence lock). */
export const R_PUBLISH_VERSION = 2;
/** Line B: spsc/mpsc: released by the receiver; broadcast: the oldest intact record. */
export const R_HEAD = 32;
/** Line C: ownership and the sender's futex word; rarely written. */
export const R_OWNER = 64;
export const R_OWNER_START = 65;
export const R_SENDER_WAITING = 66;
export const R_EXIT = 67;
export const R_DEATHS = 68;
export const R_LAST_DEAD = 69;

/** Bytes per receiver slot (after the rings). */
export const SLOT_STRIDE = LINE;
export const S_OWNER = 0;
export const S_OWNER_START = 1;
export const S_CURSOR = 2;
export const S_MISSED = 3;

/** How a departure is recorded in `exit` words. */
export const EXIT_NONE = 0;
export const EXIT_CLOSED = 1;
export const EXIT_DIED = 2;

/** Each record starts with a length word and a sequence word. */
export const RECORD_HEADER = 8;
/** A length word of 0xffffffff: padding to the end of the ring. */
export const PADDING = -1;

export const MIN_CAPACITY_LOG2 = 12;
export const MAX_CAPACITY_LOG2 = 30;
export const MAX_RINGS = 64;
export const MAX_RECEIVER_SLOTS = 256;

/** Everything derived from the header's static words. */
export interface Layout {
  kind: ChannelKind;
  codec: Codec;
  capacityLog2: number;
  /** Bytes of data per ring. */
  capacity: number;
  /** Largest message payload: half the ring minus one record header. */
  maxMessageBytes: number;
  /** 1 for spsc and broadcast; one per sender slot for mpsc. */
  rings: number;
  /** 1 for spsc and mpsc; one per receiver slot for broadcast. */
  receiverSlots: number;
  headerBytes: number;
  totalBytes: number;
}

/** The header size for this many rings and receiver slots. */
export function headerBytesFor(rings: number, receiverSlots: number): number {
  const used = RINGS_OFFSET + rings * RING_STRIDE + receiverSlots * SLOT_STRIDE;
  return Math.ceil(used / HEADER_ALIGN) * HEADER_ALIGN;
}

export function makeLayout(
  kind: ChannelKind,
  codec: Codec,
  capacityLog2: number,
  rings: number,
  receiverSlots: number,
): Layout {
  const capacity = 2 ** capacityLog2;
  const headerBytes = headerBytesFor(rings, receiverSlots);
  return {
    kind,
    codec,
    capacityLog2,
    capacity,
    maxMessageBytes: capacity / 2 - RECORD_HEADER,
    rings,
    receiverSlots,
    headerBytes,
    totalBytes: headerBytes + rings * capacity,
  };
}

/** Word index of word `w` of ring `r`'s control block. */
export function ringWord(r: number, w: number): number {
  return (RINGS_OFFSET + r * RING_STRIDE) / 4 + w;
}

/** Word index of word `w` of receiver slot `s`. */
export function slotWord(layout: Layout, s: number, w: number): number {
  return (RINGS_OFFSET + layout.rings * RING_STRIDE + s * SLOT_STRIDE) / 4 + w;
}

/** Byte offset of ring `r`'s data in the object. */
export function ringData(layout: Layout, r: number): number {
  return layout.headerBytes + r * layout.capacity;
}

/** Bytes a record with a payload of `length` bytes takes in the ring. */
export function recordSize(length: number): number {
  return RECORD_HEADER + ((length + 7) & ~7);
}

/**
 * Checks a record header read at ring position `pos` (offset `off` in the
 * ring, `avail` bytes before the tail) against the ring. Returns the bytes
 * the record takes (for padding, the rest of the ring), or a sentence
 * saying what is wrong with it: a peer may have written anything there.
 */
export function recordExtent(
  length: number,
  pos: number,
  off: number,
  avail: number,
  capacity: number,
  max: number,
): number | string {
  if (length === PADDING) {
    const room = capacity - off;
    return room > avail ? `padding at ${pos >>> 0} runs past the tail` : room;
  }
  if (length >>> 0 > max) return `a record at ${pos >>> 0} claims ${length >>> 0} bytes`;
  const size = RECORD_HEADER + ((length + 7) & ~7);
  if (size > avail || off + size > capacity)
    return `a record at ${pos >>> 0} of ${length} bytes runs past the tail or the ring's end`;
  return size;
}

/**
 * Reads and checks the static words. Returns the layout, or a sentence
 * saying what is wrong with them.
 */
export function readLayout(words: Int32Array): Layout | string {
  if (words.length < 16) return 'the object is smaller than a channel header';
  const magic0 = words[W_MAGIC0]!;
  const magic1 = words[W_MAGIC1]!;
  if (magic0 === 0 && magic1 === 0) return 'uninitialized';
  if (magic0 !== MAGIC0 || magic1 !== MAGIC1) return 'not a shmkit channel (bad magic)';
  const version = words[W_VERSION]!;
  if (version !== VERSION) return `version ${version >>> 0}`;
  const kind = KIND_NAMES[words[W_KIND]!];
  if (kind === undefined) return `unknown kind ${words[W_KIND]! >>> 0}`;
  const log2 = words[W_CAPACITY_LOG2]!;
  if (log2 < MIN_CAPACITY_LOG2 || log2 > MAX_CAPACITY_LOG2)
    return `capacity 2^${log2 >>> 0} outside 2^${MIN_CAPACITY_LOG2}..2^${MAX_CAPACITY_LOG2}`;
  const rings = words[W_RINGS]!;
  const slots = words[W_RECEIVER_SLOTS]!;
  const maxRings = kind === 'mpsc' ? MAX_RINGS : 1;
  if (rings < 1 || rings > maxRings) return `${rings >>> 0} rings for a ${kind} channel`;
  const maxSlots = kind === 'broadcast' ? MAX_RECEIVER_SLOTS : 1;
  if (slots < 1 || slots > maxSlots) return `${slots >>> 0} receiver slots for a ${kind} channel`;
  const codec = CODEC_NAMES[words[W_CODEC]!];
  if (codec === undefined) return `unknown codec ${words[W_CODEC]! >>> 0}`;
  const layout = makeLayout(kind, codec, log2, rings, slots);
  if (words[W_HEADER_BYTES]! !== layout.headerBytes)
    return `header size ${words[W_HEADER_BYTES]! >>> 0}, expected ${layout.headerBytes}`;
  return layout;
}

/** Writes the static words of a new channel, magic last. */
export function writeHeader(words: Int32Array, layout: Layout): void {
  words[W_VERSION] = VERSION;
  words[W_KIND] = KIND[layout.kind];
  words[W_CAPACITY_LOG2] = layout.capacityLog2;
  words[W_RINGS] = layout.rings;
  words[W_RECEIVER_SLOTS] = layout.receiverSlots;
  words[W_HEADER_BYTES] = layout.headerBytes;
  words[W_CODEC] = CODEC[layout.codec];
  words[W_FLAGS] = 0;
  Atomics.store(words, W_MAGIC1, MAGIC1);
  Atomics.store(words, W_MAGIC0, MAGIC0);
}
