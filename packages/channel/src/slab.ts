// Copies of small messages, carved out of a shared slab as Buffer.allocUnsafe
// carves small Buffers out of Node's pool: one ArrayBuffer per 8 KiB of
// messages instead of one per message, and whole words copied by hand,
// since for a few bytes the builtin copy's setup costs more than the copy.
import { markAsUntransferable } from 'node:worker_threads';

/** Node's Buffer pool size: a kept message holds at most this much memory alive. */
const SLAB_BYTES = 8 * 1024;

type BufferClass = new (buffer: ArrayBuffer, byteOffset: number, length: number) => Buffer;

/**
 * The class Node makes every Buffer with, which `subarray()` finds as the
 * species of Buffer. `Buffer.from(arrayBuffer, offset, length)` ends in the
 * same constructor after checks that cost about as much again (a native
 * `isAnyArrayBuffer` call, the `byteLength` getter). Should a Node version
 * not expose it, or something replace it, Buffer.from it is.
 */
function nodeBufferClass(): BufferClass | undefined {
  const species: unknown = (Buffer as unknown as { [Symbol.species]?: unknown })[Symbol.species];
  if (typeof species !== 'function' || species.prototype !== Buffer.prototype) return undefined;
  const made: unknown = Reflect.construct(species, [new ArrayBuffer(8), 0, 8]);
  return Buffer.isBuffer(made) ? (species as BufferClass) : undefined;
}

const NodeBuffer = nodeBufferClass();

/** A real Buffer over `length` bytes of `buffer` from `byteOffset`. */
const bufferOver: (buffer: ArrayBuffer, byteOffset: number, length: number) => Buffer =
  NodeBuffer === undefined
    ? (buffer, byteOffset, length) => Buffer.from(buffer, byteOffset, length)
    : (buffer, byteOffset, length) => new NodeBuffer(buffer, byteOffset, length);

/** The largest payload {@link Slab.copy} takes: past it a plain copy is faster. */
export const SMALL_MESSAGE = 128;

export class Slab {
  #slab = new ArrayBuffer(0);
  #words = new Int32Array(0);
  /** A count of its own: an ArrayBuffer's byteLength is a builtin call. */
  #free = 0;

  /**
   * A Buffer holding a copy of the `length` bytes at byte `at` of `from`'s
   * memory (at most SMALL_MESSAGE). `at` must be 8-byte aligned with room
   * to the next multiple of 8 readable, as a ring record's payload is.
   */
  copy(from: Int32Array, at: number, length: number): Buffer {
    const size = (length + 7) & ~7;
    // An empty view means no slab yet, or one that was detached anyway.
    if (size > this.#free || this.#words.length === 0) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      // As Node does for its pool: a transfer list must not detach every
      // message that shares the slab (Node 20 copies it, later versions
      // refuse it with a DataCloneError).
      markAsUntransferable(this.#slab);
      this.#words = new Int32Array(this.#slab);
      this.#free = SLAB_BYTES;
    }
    const start = SLAB_BYTES - this.#free;
    this.#free -= size;
    const to = this.#words;
    for (let s = at >> 2, d = start >> 2, end = s + (size >> 2); s < end; ) to[d++] = from[s++]!;
    return bufferOver(this.#slab, start, length);
  }
}
