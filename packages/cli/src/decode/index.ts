// The decoders `inspect --as` chooses from, and the recognisers `ls` runs
// over the start of every POSIX object it may read.
//
// The channel seam: @shmkit/channel documents a header at the start of its
// shared memory. When that package is available, a `channel` decoder (the
// full view: fill level, ends, cursors) and a recogniser (a summary for
// `ls`) join the two lists below; nothing else changes.
import { eventDecoder } from './event';
import { mutexDecoder } from './mutex';
import { pthreadMutexDecoder } from './pthread-mutex';
import { semaphoreDecoder } from './semaphore';
import type { Decoder, ViewName } from './view';

export type { Decoder, DecodedView, ViewName } from './view';
export { VIEW_NAMES } from './view';

/** Finds a shmkit structure at the start of an object, for `ls`. */
export interface Recognizer {
  /** The `content.kind` it reports. */
  readonly kind: string;
  /** How many bytes of the object's start it needs to look at. */
  readonly headerBytes: number;
  /**
   * A summary (`content` in `ls --json`) when `head` holds this kind's
   * header, undefined otherwise. Must not throw on garbage.
   */
  recognize(head: Buffer, objectSize: number): Record<string, unknown> | undefined;
  /** A few words for the table's INFO column. */
  describe(summary: Record<string, unknown>): string;
}

const decoders = new Map<ViewName, Decoder>(
  [mutexDecoder, eventDecoder, semaphoreDecoder, pthreadMutexDecoder].map((d) => [d.name, d]),
);

/** What `ls` looks for at the start of POSIX shared memory objects. */
export const recognizers: readonly Recognizer[] = [];

/** The decoder for `--as name`, or undefined when this build has none. */
export function decoderFor(name: ViewName): Decoder | undefined {
  return decoders.get(name);
}
