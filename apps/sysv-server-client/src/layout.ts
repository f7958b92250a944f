// The message block the server writes at the start of the segment:
//
//   [0..16)   SharedEvent  "message ready", manual reset (@shmkit/sync layout:
//                          int32 state, waiters, kind = 1, reserved)
//   [16..20)  int32        message length in bytes
//   [20..20+n) UTF-8       the message, then a NUL when it fits (for C's printf("%s"))
//
// The server initialises the event (reset), writes the message and its
// length, then sets the event. The event's state word is written and read
// with sequentially consistent atomics, so a client that sees it set sees
// the whole message: it never reads a half-written one. A manual event stays
// set, so every client, however late, passes at once.
import { SharedEvent } from '@shmkit/sync';
import type { SysvAttachment } from '@shmkit/sysv-shm';

/** Byte offset of the "message ready" SharedEvent (16 bytes). */
export const EVENT_OFFSET = 0;
/** Byte offset of the int32 message length. */
export const LENGTH_OFFSET = 16;
/** Byte offset of the UTF-8 message. */
export const MESSAGE_OFFSET = 20;

/** Bytes a segment needs for `message` (with its NUL). */
export function segmentSizeFor(message: string): number {
  return MESSAGE_OFFSET + Buffer.byteLength(message, 'utf8') + 1;
}

/**
 * Makes the "message ready" event, reset. Call it once, right after
 * creating the segment and before anything else is written.
 */
export function initReadyEvent(memory: SysvAttachment): SharedEvent {
  return SharedEvent.init(memory, EVENT_OFFSET, { mode: 'manual' });
}

/** Publishes `message`: write bytes and length, then set the event. */
export function writeMessage(memory: SysvAttachment, ready: SharedEvent, message: string): void {
  const bytes = Buffer.from(message, 'utf8');
  if (MESSAGE_OFFSET + bytes.length > memory.byteLength) {
    throw new RangeError(
      `a ${bytes.length}-byte message does not fit in a ${memory.byteLength}-byte segment`,
    );
  }
  const target = memory.uint8Array(MESSAGE_OFFSET);
  target.set(bytes);
  if (bytes.length < target.length) target[bytes.length] = 0;
  Atomics.store(memory.int32Array(LENGTH_OFFSET, 1), 0, bytes.length);
  ready.set();
}

/**
 * The "message ready" event of an attached segment, or undefined while the
 * server has not initialised it yet (the segment exists a moment before its
 * event does: System V cannot create and initialise in one step).
 */
export function attachReadyEvent(memory: SysvAttachment): SharedEvent | undefined {
  let ready: SharedEvent;
  try {
    ready = SharedEvent.attach(memory, EVENT_OFFSET);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SHMKIT_NOT_INITIALIZED') return undefined;
    throw error;
  }
  if (ready.mode !== 'manual') {
    // An auto event would be consumed by the first client to pass it.
    throw new Error(`the segment's ready event is an auto-reset event; expected manual`);
  }
  return ready;
}

/** Reads the message; call only after the ready event was seen set. */
export function readMessage(memory: SysvAttachment): string {
  const length = Atomics.load(memory.int32Array(LENGTH_OFFSET, 1), 0);
  if (length < 0 || MESSAGE_OFFSET + length > memory.byteLength) {
    throw new RangeError(`the segment holds a corrupt message length (${length})`);
  }
  return Buffer.from(memory.buffer, MESSAGE_OFFSET, length).toString('utf8');
}
