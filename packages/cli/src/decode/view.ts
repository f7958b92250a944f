// What a decoder makes of the bytes of a shmkit primitive: the facts for
// people (label, value) and for --json (data), plus what looks wrong.
// Decoders only read: they never lock, wait, post or write.
import { endianness } from 'node:os';

/** The names `inspect --as` accepts. */
export const VIEW_NAMES = ['mutex', 'event', 'semaphore', 'pthread-mutex', 'channel'] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

/** One decoded primitive. */
export interface DecodedView {
  /** The decoder used (`--as`). */
  as: ViewName;
  /** Where in the object it starts, in bytes. */
  offset: number;
  /** How many bytes it spans. */
  byteLength: number;
  /** The verdict in a word or two: `locked`, `unlocked`, `set`, `not initialised`... */
  state: string;
  /** Label and value lines for people. */
  fields: Array<[string, string]>;
  /** The same facts for --json. */
  data: Record<string, unknown>;
  /** Words that hold what the primitive never writes, one sentence each. */
  problems: string[];
}

/** A way to read one kind of primitive from raw bytes. */
export interface Decoder {
  readonly name: ViewName;
  /**
   * Bytes the primitive spans (glibc's sizes for sem_t and pthread_mutex_t),
   * or the least it may span when {@link spanOf} says more.
   */
  readonly byteLength: number;
  /** The alignment its offset must have. */
  readonly alignment: number;
  /**
   * For a primitive whose size is written in it (a channel's header): how
   * many bytes it spans, from its first `byteLength`. Must not throw.
   */
  spanOf?(head: Buffer): number;
  /**
   * Decodes `bytes` found at `offset`: `byteLength` of them, or what
   * {@link spanOf} asked for (fewer if the object ends first). `available`
   * is how many bytes the object has from `offset` on. Must not throw on
   * garbage.
   */
  decode(bytes: Buffer, offset: number, available: number): DecodedView;
}

const little = endianness() === 'LE';

/** The native-endian 32-bit word at `at` (shared memory words are native-endian). */
export function u32(bytes: Buffer, at: number): number {
  return little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
}

/** The native-endian 64-bit word at `at`. */
export function u64(bytes: Buffer, at: number): bigint {
  return little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at);
}
