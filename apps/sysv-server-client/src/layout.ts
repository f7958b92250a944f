// The message block the server writes at the start of the segment:
//
//   [0..4)   int32  ready flag: 0 while the message is being written, 1 once complete
//   [4..8)   int32  message length in bytes
//   [8..8+n) UTF-8  the message (no terminator needed; the server adds a NUL
//                   when it fits, so C clients can printf("%s") it)
//
// The writer stores the flag last and the reader loads it first, both with
// Atomics (sequentially consistent), so a reader that sees 1 sees the whole
// message: it never reads a half-written one.
import type { SysvAttachment } from '@shmkit/sysv-shm';
import { setTimeout as sleep } from 'node:timers/promises';

/** Byte offset of the int32 ready flag. */
export const READY_OFFSET = 0;
/** Byte offset of the int32 message length. */
export const LENGTH_OFFSET = 4;
/** Byte offset of the UTF-8 message. */
export const MESSAGE_OFFSET = 8;

/** Bytes a segment needs for `message` (with its NUL). */
export function segmentSizeFor(message: string): number {
  return MESSAGE_OFFSET + Buffer.byteLength(message, 'utf8') + 1;
}

/** Publishes `message`: clear the flag, write bytes and length, then set the flag. */
export function writeMessage(memory: SysvAttachment, message: string): void {
  const bytes = Buffer.from(message, 'utf8');
  if (MESSAGE_OFFSET + bytes.length > memory.byteLength) {
    throw new RangeError(
      `a ${bytes.length}-byte message does not fit in a ${memory.byteLength}-byte segment`,
    );
  }
  const words = memory.int32Array(0, 2);
  Atomics.store(words, READY_OFFSET / 4, 0);
  const target = memory.uint8Array(MESSAGE_OFFSET);
  target.set(bytes);
  if (bytes.length < target.length) target[bytes.length] = 0;
  Atomics.store(words, LENGTH_OFFSET / 4, bytes.length);
  Atomics.store(words, READY_OFFSET / 4, 1);
}

/** The message, or undefined while the ready flag is not set. */
export function readMessage(memory: SysvAttachment): string | undefined {
  const words = memory.int32Array(0, 2);
  if (Atomics.load(words, READY_OFFSET / 4) !== 1) return undefined;
  const length = Atomics.load(words, LENGTH_OFFSET / 4);
  if (length < 0 || MESSAGE_OFFSET + length > memory.byteLength) {
    throw new RangeError(`the segment holds a corrupt message length (${length})`);
  }
  return Buffer.from(memory.buffer, MESSAGE_OFFSET, length).toString('utf8');
}

/** Polls the ready flag until the message is there or `deadline` (ms since epoch) passes. */
export async function waitForMessage(
  memory: SysvAttachment,
  deadline: number,
): Promise<string | undefined> {
  for (;;) {
    const message = readMessage(memory);
    if (message !== undefined || Date.now() >= deadline) return message;
    await sleep(5);
  }
}
