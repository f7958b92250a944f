// The message area: one page of POSIX shared memory holding the latest
// message, guarded by a sequence lock so a reader never prints a message
// that the producer is halfway through rewriting.
//
//   offset  size  field
//   0       4     seq     int32, host byte order. Odd while the producer
//                         writes, even when stable; message number = seq / 2.
//   4       4     length  uint32: bytes of text
//   8       4088  text    UTF-8, not NUL-terminated (the rest is zeros)
//
// With --sync semaphore a second page follows, for the semaphores (see
// notify-semaphore.ts); the message area stays the same.
//
// Writer: seq += 1 (odd); write length and text; seq += 1 (even).
// Reader: s1 = seq (retry while odd); copy length and text; s2 = seq;
// retry if s1 != s2. Every access to seq is atomic (Atomics in JS,
// __atomic_* in C), which also orders the plain accesses around it.

/** Bytes of the shared object. */
export const AREA_SIZE = 4096;
/** Byte offset of the sequence word. */
export const SEQ_OFFSET = 0;
/** Byte offset of the text length. */
export const LENGTH_OFFSET = 4;
/** Byte offset of the text. */
export const TEXT_OFFSET = 8;
/** Most bytes of text a message can hold. */
export const TEXT_CAPACITY = AREA_SIZE - TEXT_OFFSET;

/** One message read from the area. */
export interface Message {
  /** 1 for the first message, then 2, 3... */
  number: number;
  text: string;
}

/** Writes `text` as the next message and returns its number. */
export function writeMessage(buffer: ArrayBuffer, text: string): number {
  const words = new Int32Array(buffer, 0, 2);
  const bytes = Buffer.from(text);
  if (bytes.length > TEXT_CAPACITY)
    throw new RangeError(`message longer than ${TEXT_CAPACITY} bytes`);
  const seq = Atomics.add(words, SEQ_OFFSET / 4, 1) + 1; // odd: writing
  new Uint32Array(buffer, LENGTH_OFFSET, 1)[0] = bytes.length;
  const area = new Uint8Array(buffer, TEXT_OFFSET, TEXT_CAPACITY);
  area.fill(0);
  area.set(bytes);
  Atomics.store(words, SEQ_OFFSET / 4, seq + 1); // even: stable
  return (seq + 1) / 2;
}

/**
 * Reads the latest message, retrying while the producer rewrites it.
 * Returns undefined before the first message.
 */
export function readMessage(buffer: ArrayBuffer): Message | undefined {
  const words = new Int32Array(buffer, 0, 2);
  // A producer killed halfway through a write leaves seq odd for good: give up
  // rather than spin forever.
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    const before = Atomics.load(words, SEQ_OFFSET / 4);
    if (before % 2 !== 0) continue; // being written: a few instructions away from done
    if (before === 0) return undefined;
    const length = Math.min(new Uint32Array(buffer, LENGTH_OFFSET, 1)[0]!, TEXT_CAPACITY);
    const text = Buffer.from(new Uint8Array(buffer, TEXT_OFFSET, length)).toString();
    if (Atomics.load(words, SEQ_OFFSET / 4) === before) return { number: before / 2, text };
  }
  throw new Error('the message area stays mid-write: did the producer die while writing?');
}
