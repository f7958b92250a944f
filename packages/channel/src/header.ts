// A small decoder of a channel's header, for tools that show channels (the
// `shmkit` CLI): what it is, how full each ring is, who is attached. It only
// reads: copies of the header bytes, or the object opened read-only.
import { codedError, invalidArgType, validateString } from '@shmkit/core/internal';
import { PosixShm } from '@shmkit/posix-shm';
import { ChannelErrorCode } from './error-codes';
import { corrupt } from './errors';
import {
  EXIT_CLOSED,
  EXIT_DIED,
  HEADER_ALIGN,
  MAGIC0,
  MAGIC1,
  R_DEATHS,
  R_EXIT,
  R_HEAD,
  R_LAST_DEAD,
  R_OWNER,
  R_OWNER_START,
  R_SENDER_WAITING,
  R_SEQ,
  R_TAIL,
  S_CURSOR,
  S_MISSED,
  S_OWNER,
  S_OWNER_START,
  VERSION,
  W_DEATHS,
  W_LAST_EXIT,
  W_RECEIVER_EVER,
  W_RECEIVER_SPINNING,
  W_RECEIVER_WAITING,
  W_SENDER_EVER,
  readLayout,
  ringWord,
  slotWord,
  type ChannelKind,
  type Codec,
} from './layout';
import { isAlive } from './liveness';

/** How the most recent departure of a sender went. */
export type ChannelExit = 'none' | 'closed' | 'died';

/** One sender slot (ring) of a decoded header. */
export interface ChannelSenderInfo {
  /** The slot (ring) index. */
  slot: number;
  /** Thread id of the sender attached now; 0 when the slot is free. */
  owner: number;
  /** The owner's start time (clock ticks since boot, low 32 bits; 0 = unknown), to tell a reused id. */
  ownerStart: number;
  /** {@link inspectChannel} only: whether that owner still runs. */
  alive?: boolean;
  /** Write cursor (a byte position modulo 2^32). */
  tail: number;
  /**
   * spsc/mpsc: the receiver's release cursor; broadcast: where the oldest
   * message still in the ring starts.
   */
  head: number;
  /** Bytes between head and tail (messages, headers and padding). */
  usedBytes: number;
  /** `usedBytes / capacity`, 0 to 1. */
  fill: number;
  /** Sequence number the next message published will carry. */
  nextSequence: number;
  /** True while the sender sleeps waiting for room. */
  waiting: boolean;
  /** How this slot's last sender left. */
  lastExit: ChannelExit;
  /** Senders found dead in this slot so far. */
  deaths: number;
  /** Thread id of the last sender found dead here (0 if none). */
  lastDead: number;
}

/** One receiver slot of a decoded header. */
export interface ChannelReceiverInfo {
  /** The slot index. */
  slot: number;
  /** Thread id of the receiver attached now; 0 when the slot is free. */
  owner: number;
  /** The owner's start time, as for senders. */
  ownerStart: number;
  /** {@link inspectChannel} only: whether that owner still runs. */
  alive?: boolean;
  /** broadcast: the receiver's read cursor as it last published it (else undefined). */
  cursor?: number;
  /** broadcast: bytes between the cursor and the tail. */
  lagBytes?: number;
  /** broadcast: messages it lost to lapping. */
  missed?: number;
}

/** A channel's header, decoded. Every number is a snapshot. */
export interface ChannelInfo {
  /** Format version (1). */
  version: number;
  /** spsc, mpsc or broadcast. */
  kind: ChannelKind;
  /** The codec ends use by default. */
  codec: Codec;
  /** Bytes of data per ring. */
  capacity: number;
  /** The largest message payload: half the capacity minus 8. */
  maxMessageBytes: number;
  /** Sender slots: one ring each. */
  senderSlots: number;
  /** Receiver slots (1 except for broadcast). */
  receiverSlots: number;
  /** Bytes before ring 0's data. */
  headerBytes: number;
  /** Bytes of the whole object. */
  byteLength: number;
  /** Some sender has attached since the channel was created. */
  senderEver: boolean;
  /** Some receiver has attached since the channel was created (spsc/mpsc). */
  receiverEver: boolean;
  /** How the most recent sender departure went. */
  lastExit: ChannelExit;
  /** Sender deaths noticed so far. */
  deaths: number;
  /** True while some receiver may be asleep waiting for messages. */
  receiverWaiting: boolean;
  /**
   * spsc/mpsc: true while the receiver spins on the tails, asking senders to
   * publish each message at once (a hint: a receiver killed while it spun
   * leaves it set until the next one attaches). Always false for broadcast.
   */
  receiverSpinning: boolean;
  /** Sum of every ring's used bytes. */
  usedBytes: number;
  /** Every sender slot (ring), attached or not. */
  senders: ChannelSenderInfo[];
  /** Every receiver slot, attached or not. */
  receivers: ChannelReceiverInfo[];
  /**
   * True when no sender is attached, one has been, and every ring is empty:
   * a receiver would be told the channel ended.
   */
  ended: boolean;
  /** Inconsistencies among the cursors (a damaged channel); empty when none. */
  problems: string[];
}

const EXITS: readonly ChannelExit[] = ['none', 'closed', 'died'];

/**
 * True when `bytes` (the start of a shared memory object, at least 8 bytes)
 * begins with a channel's magic, `shmkchan`. Use it to recognise channels
 * among the objects in /dev/shm.
 */
export function isChannelHeader(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgType('bytes', 'an instance of Uint8Array', bytes);
  if (bytes.length < 8) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return view.getUint32(0, true) === MAGIC0 && view.getUint32(4, true) === MAGIC1;
}

/**
 * How many bytes of the object {@link decodeChannelHeader} needs: read
 * from the header's first 64 bytes. Throws like `decodeChannelHeader` when
 * they are not a channel's.
 */
export function channelHeaderBytes(bytes: Uint8Array): number {
  return staticLayout(bytes).headerBytes;
}

function staticLayout(bytes: Uint8Array): ReturnType<typeof readLayoutOrThrow> {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgType('bytes', 'an instance of Uint8Array', bytes);
  return readLayoutOrThrow(bytes);
}

function readLayoutOrThrow(bytes: Uint8Array) {
  const words = new Int32Array(16);
  new Uint8Array(words.buffer).set(bytes.subarray(0, Math.min(64, bytes.length)));
  if (bytes.length < 64)
    throw corrupt('(header)', `only ${bytes.length} bytes given, a header has at least 64`);
  const layout = readLayout(words);
  if (typeof layout === 'string') {
    if (layout === 'uninitialized')
      throw codedError(ChannelErrorCode.NOT_INITIALIZED, 'the header is all zero: not initialised');
    if (layout.startsWith('version '))
      throw codedError(
        ChannelErrorCode.VERSION,
        `format ${layout}; this decoder reads version ${VERSION}`,
      );
    throw corrupt('(header)', layout);
  }
  return layout;
}

/**
 * Decodes a channel's header from a copy of the object's first
 * {@link channelHeaderBytes} bytes (more is fine): kind, codec, capacity,
 * every ring's cursors and fill level, who is attached. Pure: checks no
 * process and touches no shared memory, so `alive` is left out.
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE when `bytes` is not a Uint8Array.
 * @throws Error ERR_SHMKIT_CHANNEL_CORRUPT (not a channel, or fewer bytes
 *   than the header), ERR_SHMKIT_CHANNEL_VERSION (another format
 *   version), ERR_SHMKIT_NOT_INITIALIZED (all zero).
 */
export function decodeChannelHeader(bytes: Uint8Array): ChannelInfo {
  return decodeHeader(bytes);
}

/** @internal */
export function decodeHeader(bytes: Uint8Array): ChannelInfo {
  const layout = staticLayout(bytes);
  if (bytes.length < layout.headerBytes)
    throw corrupt(
      '(header)',
      `only ${bytes.length} bytes given, the header has ${layout.headerBytes}`,
    );
  // Aligned private words, whatever the input's offset.
  const words = new Int32Array(layout.headerBytes / 4);
  new Uint8Array(words.buffer).set(bytes.subarray(0, layout.headerBytes));
  const problems: string[] = [];
  const u = (i: number): number => words[i]! >>> 0;
  const exitName = (value: number): ChannelExit => EXITS[value] ?? 'none';

  const senders: ChannelSenderInfo[] = [];
  let usedBytes = 0;
  for (let r = 0; r < layout.rings; r++) {
    const tail = u(ringWord(r, R_TAIL));
    const head = u(ringWord(r, R_HEAD));
    const used = (tail - head) >>> 0;
    if (used > layout.capacity)
      problems.push(
        `ring ${r}: tail ${tail} is ${used} bytes past head ${head}, more than the capacity`,
      );
    if (tail % 8 !== 0 || head % 8 !== 0)
      problems.push(`ring ${r}: a cursor is not 8-byte aligned`);
    const exit = words[ringWord(r, R_EXIT)]!;
    if (exit !== 0 && exit !== EXIT_CLOSED && exit !== EXIT_DIED)
      problems.push(`ring ${r}: exit word ${exit >>> 0}`);
    const shown = Math.min(used, layout.capacity);
    usedBytes += shown;
    senders.push({
      slot: r,
      owner: words[ringWord(r, R_OWNER)]!,
      ownerStart: u(ringWord(r, R_OWNER_START)),
      tail,
      head,
      usedBytes: shown,
      fill: shown / layout.capacity,
      nextSequence: u(ringWord(r, R_SEQ)),
      waiting: words[ringWord(r, R_SENDER_WAITING)] !== 0,
      lastExit: exitName(exit),
      deaths: u(ringWord(r, R_DEATHS)),
      lastDead: words[ringWord(r, R_LAST_DEAD)]!,
    });
  }

  const receivers: ChannelReceiverInfo[] = [];
  for (let s = 0; s < layout.receiverSlots; s++) {
    const info: ChannelReceiverInfo = {
      slot: s,
      owner: words[slotWord(layout, s, S_OWNER)]!,
      ownerStart: u(slotWord(layout, s, S_OWNER_START)),
    };
    if (layout.kind === 'broadcast') {
      const cursor = u(slotWord(layout, s, S_CURSOR));
      info.cursor = cursor;
      info.lagBytes = (senders[0]!.tail - cursor) >>> 0;
      info.missed = u(slotWord(layout, s, S_MISSED));
    }
    receivers.push(info);
  }

  const senderEver = words[W_SENDER_EVER] !== 0;
  const ended =
    senderEver &&
    senders.every((s) => s.owner === 0) &&
    (layout.kind === 'broadcast'
      ? receivers.every((r) => r.owner === 0 || r.lagBytes === 0)
      : usedBytes === 0);
  return {
    version: VERSION,
    kind: layout.kind,
    codec: layout.codec,
    capacity: layout.capacity,
    maxMessageBytes: layout.maxMessageBytes,
    senderSlots: layout.rings,
    receiverSlots: layout.receiverSlots,
    headerBytes: layout.headerBytes,
    byteLength: layout.totalBytes,
    senderEver,
    receiverEver: words[W_RECEIVER_EVER] !== 0,
    lastExit: exitName(words[W_LAST_EXIT]!),
    deaths: u(W_DEATHS),
    receiverWaiting: words[W_RECEIVER_WAITING] !== 0,
    receiverSpinning: layout.kind !== 'broadcast' && words[W_RECEIVER_SPINNING] !== 0,
    usedBytes,
    senders,
    receivers,
    ended,
    problems,
  };
}

/**
 * Opens the channel `name` read-only, decodes its header and says for
 * every attached end whether its owner still runs. Writes nothing and
 * leaves the channel as it was.
 *
 * @throws SystemError ENOENT, EACCES.
 * @throws Error what {@link decodeChannelHeader} throws; ERR_SHMKIT_CHANNEL_CORRUPT
 *   for an object smaller than its header says.
 */
export function inspectChannel(name: string): ChannelInfo {
  validateString(name, 'name');
  const shm = PosixShm.open(name, { readOnly: true });
  try {
    const size = shm.size;
    if (size === 0)
      throw codedError(ChannelErrorCode.NOT_INITIALIZED, `channel '${name}' has size 0`);
    if (size < HEADER_ALIGN)
      throw corrupt(name, `the object has ${size} bytes, less than a header`);
    const first = readBytes(shm, HEADER_ALIGN);
    const headerBytes = staticLayout(first).headerBytes;
    if (shm.size < headerBytes)
      throw corrupt(name, `the object is smaller than its ${headerBytes}-byte header`);
    const info = decodeHeader(headerBytes === HEADER_ALIGN ? first : readBytes(shm, headerBytes));
    if (shm.size < info.byteLength)
      info.problems.push(`the object has ${shm.size} bytes, its rings need ${info.byteLength}`);
    for (const end of [...info.senders, ...info.receivers])
      if (end.owner !== 0) end.alive = isAlive(end.owner, end.ownerStart | 0);
    return info;
  } finally {
    shm.close();
  }
}

function readBytes(shm: PosixShm, length: number): Buffer {
  const mapping = shm.map({ length, readOnly: true, shared: true });
  try {
    return mapping.read(0, length);
  } finally {
    mapping.close();
  }
}
