// Where a primitive's words live, and finding them again. A primitive in a
// Mapping sees its words through a window over its own bytes, not through
// the mapping's whole buffer: protect() detaches the buffers over the pages
// it changes, so protecting another part of the mapping leaves the
// primitive alone, and after its own pages are read+write again it binds a
// new window instead of failing for good.
import { Mapping } from '@shmkit/core';
import {
  closedError,
  codedError,
  invalidArgType,
  invalidArgValue,
  keepTruncationFatal,
  outOfRange,
  validateInteger,
} from '@shmkit/core/internal';

/** Memory a primitive can live in: a Mapping, a (Shared)ArrayBuffer, or an Int32Array over one. */
export type SyncMemory = Mapping | SharedArrayBuffer | ArrayBuffer | Int32Array;

/** A window's offset must be a multiple of this (core's Mapping.window). */
const WINDOW_ALIGN = 8;

function protectedError(): Error {
  return codedError(
    'ERR_SHMKIT_PROTECTED',
    'the memory this primitive lives in is not read+write: protect() changed it (it works again once protect() restores read+write)',
  );
}

/** The words of one primitive: `count` Int32 words from byte `byteOffset` of `memory`. */
export class PrimitiveWords {
  /** The words as bound last: empty (length 0) once detached. Hot paths read it directly. */
  view: Int32Array;
  readonly #memory: SyncMemory;
  readonly #byteOffset: number;
  readonly #count: number;

  /**
   * @throws RangeError ERR_INVALID_ARG_VALUE when `offset` is not a multiple of 4,
   *   ERR_OUT_OF_RANGE when the primitive would not fit
   * @throws TypeError ERR_INVALID_ARG_TYPE for memory of another kind
   */
  constructor(memory: SyncMemory, offset: number | undefined, count: number, what: string) {
    const byteOffset = offset === undefined ? 0 : validateInteger(offset, 'offset');
    if (byteOffset % 4 !== 0)
      throw invalidArgValue(
        'offset',
        'must be a multiple of 4 (the alignment)',
        byteOffset,
        'RangeError',
      );
    let available: number;
    if (memory instanceof Mapping) {
      if (memory.closed) throw closedError('Mapping');
      available = memory.byteLength;
    } else if (memory instanceof Int32Array) {
      available = memory.byteLength;
    } else if (memory instanceof SharedArrayBuffer || memory instanceof ArrayBuffer) {
      available = memory.byteLength;
    } else {
      throw invalidArgType(
        'memory',
        'an instance of Mapping, SharedArrayBuffer, ArrayBuffer or Int32Array',
        memory,
      );
    }
    const size = count * 4;
    if (available < size) {
      throw outOfRange(
        'offset',
        `a place for a ${size}-byte ${what} (the memory has ${available} bytes)`,
        byteOffset,
      );
    }
    if (byteOffset > available - size)
      throw outOfRange('offset', `>= 0 && <= ${available - size}`, byteOffset);
    this.#memory = memory;
    this.#byteOffset = byteOffset;
    this.#count = count;
    // Before the first touch: a lock over private zero pages would go on
    // working, unshared, so a truncation of its file stays fatal, as
    // without shmkit's guard.
    if (memory instanceof Mapping) keepTruncationFatal(memory);
    this.view = this.#bind();
  }

  /**
   * The words, bound again when protect() detached them and they are
   * read+write again.
   * @throws Error ERR_SHMKIT_CLOSED once the Mapping is closed (or other
   *   memory was detached: it cannot come back), ERR_SHMKIT_PROTECTED
   *   while the primitive's pages are not read+write
   */
  live(): Int32Array {
    const view = this.view;
    if (view.length !== 0) return view;
    if (!(this.#memory instanceof Mapping)) throw closedError('Mapping');
    return (this.view = this.#bind());
  }

  #bind(): Int32Array {
    const memory = this.#memory;
    if (memory instanceof Mapping) {
      if (memory.closed) throw closedError('Mapping');
      const start = this.#byteOffset - (this.#byteOffset % WINDOW_ALIGN);
      const skip = this.#byteOffset - start;
      let window: ArrayBuffer;
      try {
        window = memory.window(start, skip + this.#count * 4);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_SHMKIT_PROTECTED') throw protectedError();
        throw error;
      }
      return new Int32Array(window, skip, this.#count);
    }
    if (memory instanceof Int32Array)
      return new Int32Array(memory.buffer, memory.byteOffset + this.#byteOffset, this.#count);
    return new Int32Array(memory, this.#byteOffset, this.#count);
  }
}
