import { isSharedArrayBuffer } from 'node:util/types';
import { closedError, codedError, invalidArgValue } from './errors';
import { native } from './loader';
import type { MappingHandle, NativeMapping } from './native/core';
import { validateInteger, validateOptions } from './validate';

/** Where a mapping's memory comes from. */
export type MappingKind = 'anonymous' | 'file' | 'posix-shm' | 'sysv-shm';

/** Options for {@link Mapping.sync}: msync over a byte range. */
export interface SyncOptions {
  /** Start of the range in bytes (rounded down to a page). Default 0. */
  offset?: number | bigint;
  /** Length of the range in bytes. Default: to the end of the mapping. */
  length?: number | bigint;
  /** MS_ASYNC: schedule the write-back and return at once. Default false (MS_SYNC). */
  async?: boolean;
  /** MS_INVALIDATE: drop other mappings' cached copies of the range. */
  invalidate?: boolean;
}

/**
 * Page protection for {@link Mapping.protect}: PROT_NONE, PROT_READ or
 * PROT_READ|PROT_WRITE. Executable memory is not offered.
 */
export type Protection = 'none' | 'read' | 'read-write';

/**
 * Named madvise advice for {@link Mapping.advise}. Advice that can destroy
 * data other processes rely on or make a later touch fault (MADV_REMOVE,
 * MADV_FREE, MADV_HWPOISON, guard pages...) is deliberately absent.
 */
export type Advice =
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontneed'
  | 'hugepage'
  | 'nohugepage'
  | 'dontfork'
  | 'dofork'
  | 'dontdump'
  | 'dodump'
  | 'mergeable'
  | 'unmergeable'
  | 'cold'
  | 'pageout'
  | 'populate-read'
  | 'populate-write';

/** A page range for {@link Mapping.protect} and {@link Mapping.advise}. */
export interface PageRangeOptions {
  /** Start in bytes; must be a multiple of the page size. Default 0. */
  offset?: number | bigint;
  /** Length in bytes (the kernel rounds up to whole pages). Default: to the end. */
  length?: number | bigint;
}

/** What {@link Mapping.residency} reports (mincore). */
export interface Residency {
  /** Pages in the range. */
  pages: number;
  /** How many of them are resident in memory. */
  resident: number;
  /** One byte per page of the range: 1 when it is resident, else 0. */
  vector: Uint8Array;
}

/** A TypedArray or DataView constructor, as the view helpers use it. */
interface ViewConstructor<T> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  /** Absent for DataView, whose elements are bytes. */
  readonly BYTES_PER_ELEMENT?: number;
  readonly name: string;
}

/** How a package that maps memory describes the new Mapping to core. */
export interface MappingInit {
  kind: MappingKind;
  /** True when the memory is mapped read-only and JS only gets copies. */
  readOnly?: boolean;
  /** Runs once, after the memory is released by `close()`. */
  onClose?: () => void;
}

const HANDLE = Symbol.for('shmkit.mapping.handle');

let create: (init: NativeMapping, options: MappingInit) => Mapping;

/**
 * For @shmkit packages: the count of SIGBUS faults caught in this
 * process's file mappings (see {@link Mapping.truncated}), as a word hot
 * paths can watch: when it changed, some mapping lost pages to a
 * truncation and its users should check theirs. A build of the addon without it (a stale binary)
 * gets a word that never moves, so the packages still load and rely on
 * their size checks alone.
 */
export const busFaults: Int32Array = faultCount();

function faultCount(): Int32Array {
  try {
    return new Int32Array(native.busFaults());
  } catch {
    return new Int32Array(1);
  }
}

/**
 * One mapped region of memory: anonymous, a file, a POSIX shared memory
 * object or a System V segment.
 *
 * Its memory is exposed as ONE ArrayBuffer ({@link Mapping.buffer}) that
 * reads and writes the mapped pages in place: no copies. Views made over it
 * see what other processes write. A mapping larger than one ArrayBuffer can
 * be (`buffer.constants.MAX_LENGTH`: 4 GiB on Node 20 and 21) has no such
 * buffer; {@link Mapping.window} gives ArrayBuffers over parts of it, and
 * works on any mapping.
 *
 * `close()` detaches every ArrayBuffer it handed out (the buffer and every
 * window) before unmapping, so every view made from them reads as length 0
 * afterwards instead of touching freed memory. A Mapping that is never
 * closed is unmapped once it and all views over its buffers are garbage
 * collected. Works with `using`.
 *
 * @example
 * ```ts
 * using m = mapAnonymous(4096);
 * const words = m.int32Array();
 * Atomics.add(words, 0, 1);
 * ```
 */
export class Mapping implements Disposable {
  readonly #handle: MappingHandle;
  // Replaced by protect(): detached while some page is not read+write.
  #buffer: ArrayBuffer | undefined;
  readonly #address: bigint;
  readonly #length: number;
  readonly #kind: MappingKind;
  readonly #readOnly: boolean;
  #onClose: (() => void) | undefined;
  #closed = false;

  static {
    // The one way in for `adoptMapping`: the constructor stays private, so
    // the published type offers no `new Mapping()`.
    create = (init, options) => new Mapping(init, options);
  }

  private constructor(init: NativeMapping, options: MappingInit) {
    const [handle, buffer, address, byteLength] = init;
    this.#handle = handle;
    this.#buffer = buffer;
    this.#address = address;
    this.#length = byteLength;
    this.#kind = options.kind;
    this.#readOnly = options.readOnly ?? false;
    this.#onClose = options.onClose;
    Object.defineProperty(this, HANDLE, { value: handle, enumerable: false });
  }

  /**
   * The mapped memory, zero-copy. Length 0 once the mapping is closed.
   * @throws ERR_SHMKIT_READ_ONLY for memory mapped read-only without a
   *   private copy (a System V read-only attachment): writes through a view
   *   would fault, so only {@link Mapping.read} copies are offered.
   * @throws ERR_SHMKIT_PROTECTED while {@link Mapping.protect} has made some
   *   page less than read+write; a fresh buffer appears once it is restored.
   * @throws RangeError ERR_BUFFER_TOO_LARGE when the mapping is larger than
   *   one ArrayBuffer can be (`buffer.constants.MAX_LENGTH`); use
   *   {@link Mapping.window}.
   */
  get buffer(): ArrayBuffer {
    if (this.#buffer !== undefined) return this.#buffer;
    if (this.#readOnly) {
      throw codedError(
        'ERR_SHMKIT_READ_ONLY',
        `this ${this.#kind} mapping is read-only and has no ArrayBuffer: writing through one would crash the process. Use read() to copy bytes out`,
      );
    }
    // Closed while protected: there is no buffer left to show as detached.
    if (this.#closed) return new ArrayBuffer(0);
    const max = native.maxBufferLength();
    if (this.#length > max) {
      throw Object.assign(
        new RangeError(
          `this ${this.#kind} mapping is ${this.#length} bytes, more than one ArrayBuffer can hold in this Node.js (${max}): use window(offset, length) for ArrayBuffers over parts of it`,
        ),
        { code: 'ERR_BUFFER_TOO_LARGE' },
      );
    }
    throw codedError(
      'ERR_SHMKIT_PROTECTED',
      `some pages of this ${this.#kind} mapping are not read+write (protect()), so it has no ArrayBuffer. Use read() for readable ranges, window() for read+write ones, or protect('read-write') to get a buffer again`,
    );
  }

  /** Mapped length in bytes; 0 once closed. */
  get byteLength(): number {
    return this.#closed ? 0 : this.#length;
  }

  /** The virtual address of the first byte, for diagnostics and interop. */
  get address(): bigint {
    return this.#address;
  }

  /** What the memory is: 'anonymous', 'file', 'posix-shm' or 'sysv-shm'. */
  get kind(): MappingKind {
    return this.#kind;
  }

  /** True when JS can only copy bytes out (see {@link Mapping.buffer}). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * True once a touch of this mapping found a page that a truncation of
   * its file had cut off (by any process: shrinking a shared file is
   * something every process that may write it can do). Such a touch would
   * have killed the process with SIGBUS; shmkit catches it (after checking
   * with fstat that the file really ends before that page) and maps private
   * zero pages from there to the mapping's end instead, so from then on
   * those bytes read as 0 and writes to them reach no one. Check this after
   * reading a file another process may shrink. Anonymous and System V
   * mappings cannot be truncated: always false for them, and once closed.
   */
  get truncated(): boolean {
    return !this.#closed && native.mappingTruncated(this.#handle);
  }

  #live(): void {
    if (this.#closed) throw closedError('Mapping');
  }

  /**
   * A view of `View` over the mapped memory: `length` elements from
   * `byteOffset` (default: every whole element from there). Arguments are
   * checked before the buffer is touched, with Node's error codes.
   */
  #view<T>(View: ViewConstructor<T>, byteOffset: unknown, length: unknown): T {
    this.#live();
    const size = View.BYTES_PER_ELEMENT ?? 1;
    const offset =
      byteOffset === undefined ? 0 : validateInteger(byteOffset, 'byteOffset', 0, this.#length);
    if (offset % size !== 0) {
      throw invalidArgValue(
        'byteOffset',
        `must be a multiple of ${size} (${View.name}.BYTES_PER_ELEMENT)`,
        offset,
        'RangeError',
      );
    }
    const fits = Math.floor((this.#length - offset) / size);
    const count = length === undefined ? fits : validateInteger(length, 'length', 0, fits);
    return new View(this.buffer, offset, count);
  }

  /**
   * The typed views below all take `(byteOffset = 0, length?)`: `length`
   * elements from `byteOffset` (default: every whole element to the end),
   * zero-copy over {@link Mapping.buffer}.
   *
   * @throws TypeError ERR_INVALID_ARG_TYPE for a `byteOffset` or `length` that is not a number.
   * @throws RangeError ERR_OUT_OF_RANGE for a negative or fractional one, or
   *   one that reaches past the end of the mapping.
   * @throws RangeError ERR_INVALID_ARG_VALUE for a `byteOffset` that is not a
   *   multiple of the element size.
   * @throws ERR_SHMKIT_READ_ONLY, ERR_SHMKIT_PROTECTED as {@link Mapping.buffer}.
   */
  uint8Array(byteOffset?: number, length?: number): Uint8Array {
    return this.#view(Uint8Array, byteOffset, length);
  }

  /** An Int8Array; see {@link Mapping.uint8Array}. */
  int8Array(byteOffset?: number, length?: number): Int8Array {
    return this.#view(Int8Array, byteOffset, length);
  }

  /** A Uint8ClampedArray; see {@link Mapping.uint8Array}. */
  uint8ClampedArray(byteOffset?: number, length?: number): Uint8ClampedArray {
    return this.#view(Uint8ClampedArray, byteOffset, length);
  }

  /** An Int16Array; `byteOffset` a multiple of 2. See {@link Mapping.uint8Array}. */
  int16Array(byteOffset?: number, length?: number): Int16Array {
    return this.#view(Int16Array, byteOffset, length);
  }

  /** A Uint16Array; `byteOffset` a multiple of 2. See {@link Mapping.uint8Array}. */
  uint16Array(byteOffset?: number, length?: number): Uint16Array {
    return this.#view(Uint16Array, byteOffset, length);
  }

  /**
   * An Int32Array; `byteOffset` a multiple of 4. Use it with `Atomics`:
   * atomics on mapped memory work across processes. See {@link Mapping.uint8Array}.
   */
  int32Array(byteOffset?: number, length?: number): Int32Array {
    return this.#view(Int32Array, byteOffset, length);
  }

  /** A Uint32Array; `byteOffset` a multiple of 4. See {@link Mapping.uint8Array}. */
  uint32Array(byteOffset?: number, length?: number): Uint32Array {
    return this.#view(Uint32Array, byteOffset, length);
  }

  /** A Float32Array; `byteOffset` a multiple of 4. See {@link Mapping.uint8Array}. */
  float32Array(byteOffset?: number, length?: number): Float32Array {
    return this.#view(Float32Array, byteOffset, length);
  }

  /** A Float64Array; `byteOffset` a multiple of 8. See {@link Mapping.uint8Array}. */
  float64Array(byteOffset?: number, length?: number): Float64Array {
    return this.#view(Float64Array, byteOffset, length);
  }

  /**
   * A BigInt64Array; `byteOffset` a multiple of 8. `Atomics` work on it too
   * (64-bit counters shared across processes). See {@link Mapping.uint8Array}.
   */
  bigInt64Array(byteOffset?: number, length?: number): BigInt64Array {
    return this.#view(BigInt64Array, byteOffset, length);
  }

  /** A BigUint64Array; `byteOffset` a multiple of 8. See {@link Mapping.uint8Array}. */
  bigUint64Array(byteOffset?: number, length?: number): BigUint64Array {
    return this.#view(BigUint64Array, byteOffset, length);
  }

  /**
   * A DataView over `byteLength` bytes from `byteOffset` (default: to the
   * end), for mixed-width fields at any alignment and either byte order.
   * Throws as {@link Mapping.uint8Array}.
   */
  dataView(byteOffset?: number, byteLength?: number): DataView {
    return this.#view(DataView, byteOffset, byteLength);
  }

  /**
   * An ArrayBuffer over `length` bytes of the mapping from `offset`, zero
   * copy, like {@link Mapping.buffer} but over a part: the way to reach a
   * mapping larger than one ArrayBuffer can be. `close()` detaches every
   * window, and {@link Mapping.protect} detaches the windows over pages it
   * makes less than read+write. Each call makes a new ArrayBuffer.
   *
   * @param offset - Bytes from the start, a multiple of 8 (so every
   *   TypedArray and `Atomics` call on the window is aligned). Default 0.
   * @param length - Bytes, up to `buffer.constants.MAX_LENGTH`. Default: to
   *   the end of the mapping.
   * @throws TypeError ERR_INVALID_ARG_TYPE unless numbers or bigints.
   * @throws RangeError ERR_OUT_OF_RANGE for a range outside the mapping,
   *   ERR_INVALID_ARG_VALUE for an offset that is not a multiple of 8,
   *   ERR_BUFFER_TOO_LARGE for more than one ArrayBuffer can hold.
   * @throws Error ERR_SHMKIT_READ_ONLY for read-only memory,
   *   ERR_SHMKIT_PROTECTED when a page in the range is not read+write,
   *   ERR_SHMKIT_CLOSED after close().
   */
  window(offset: number | bigint = 0, length?: number | bigint): ArrayBuffer {
    this.#live();
    return native.mappingWindow(this.#handle, offset, length);
  }

  /** Copies `length` bytes from `offset` (default: everything) into a new Buffer. */
  read(offset: number | bigint = 0, length?: number | bigint): Buffer {
    this.#live();
    return native.mappingRead(this.#handle, offset, length);
  }

  /**
   * Copies `length` bytes from `offset` into the start of `target` (an
   * ArrayBuffer, SharedArrayBuffer, TypedArray, DataView or Buffer) and
   * returns how many it copied. Without `length`, as many as fit in
   * `target` and remain in the mapping after `offset`, so a loop of
   * `readInto(chunk, position)` reads a mapping through one buffer. It
   * allocates nothing, and works on read-only mappings that have no buffer.
   *
   * @throws TypeError ERR_INVALID_ARG_TYPE for a `target` that is not binary data.
   * @throws RangeError ERR_OUT_OF_RANGE for an `offset` past the end, a
   *   `length` larger than `target` or reaching past the end of the mapping.
   * @throws ERR_SHMKIT_PROTECTED when `protect('none')` made part of the range unreadable.
   */
  readInto(
    target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer,
    offset: number | bigint = 0,
    length?: number,
  ): number {
    this.#live();
    // Node-API reads no SharedArrayBuffer itself, but any view over one.
    const into = isSharedArrayBuffer(target) ? new Uint8Array(target) : target;
    return native.mappingReadInto(this.#handle, into, offset, length);
  }

  /**
   * mincore: which pages of a page-aligned range (default: the whole
   * mapping) are resident in memory now. Reading it does not fault pages in.
   * For shared memory and file mappings this is the page cache (is the page
   * in memory for anyone?), not only this process's page tables.
   *
   * @throws RangeError ERR_INVALID_ARG_VALUE for an `offset` that is not page-aligned.
   * @throws RangeError ERR_OUT_OF_RANGE for a range outside the mapping.
   */
  residency(options?: PageRangeOptions): Residency {
    this.#live();
    const vector = native.mappingResidency(this.#handle, validateOptions(options));
    let resident = 0;
    for (const page of vector) resident += page;
    return {
      pages: vector.length,
      resident,
      vector: new Uint8Array(vector.buffer, vector.byteOffset, vector.length),
    };
  }

  /**
   * msync: write dirty pages of a file-backed mapping back to the file.
   * Blocks until done unless `async` is set; see {@link Mapping.syncAsync}.
   */
  sync(options?: SyncOptions): void {
    this.#live();
    native.mappingSync(this.#handle, validateOptions(options));
  }

  /** msync on the libuv thread pool, so a large MS_SYNC never blocks the event loop. */
  async syncAsync(options?: SyncOptions): Promise<void> {
    this.#live();
    return native.mappingSyncAsync(this.#handle, validateOptions(options));
  }

  /**
   * mprotect: changes the protection of whole pages from `options.offset`
   * (page-aligned) for `options.length` bytes (default: to the end).
   *
   * No protection change can make a later JS access crash the process: as
   * soon as any page is not read+write the current {@link Mapping.buffer} is
   * detached (views made from it read as length 0 and ignore writes), and
   * {@link Mapping.read} refuses ranges that are not readable. When every
   * page is read+write again, {@link Mapping.buffer} returns a new
   * ArrayBuffer over the same memory (contents intact); make new views.
   *
   * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown protection.
   * @throws RangeError ERR_INVALID_ARG_VALUE for an offset that is not page-aligned.
   * @throws RangeError ERR_OUT_OF_RANGE for a range outside the mapping.
   * @throws SystemError EACCES (syscall 'mprotect') when the memory cannot
   *   be made writable (a file opened read-only, a read-only attachment).
   */
  protect(protection: Protection, options?: PageRangeOptions): void {
    this.#live();
    this.#buffer = native.mappingProtect(
      this.#handle,
      this.#buffer,
      protection,
      validateOptions(options),
    );
  }

  /**
   * madvise: tells the kernel how a page range will be used. `dontneed`
   * drops the pages from this process: a shared file mapping re-reads them
   * from the file, while a private or anonymous mapping loses its own
   * changes (they read as the file's bytes or zeros again).
   *
   * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown advice name.
   * @throws RangeError ERR_INVALID_ARG_VALUE for an offset that is not page-aligned.
   * @throws RangeError ERR_OUT_OF_RANGE for a range outside the mapping.
   * @throws SystemError EINVAL (syscall 'madvise') when the kernel does not
   *   support the advice for this memory (hugepage without THP...).
   */
  advise(advice: Advice, options?: PageRangeOptions): void {
    this.#live();
    native.mappingAdvise(this.#handle, advice, validateOptions(options));
  }

  /**
   * Detaches the buffer (all views read as length 0), then unmaps.
   * Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.mappingClose(this.#handle, this.#buffer);
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'Mapping';
  }
}

/**
 * Wraps a native mapping result in a Mapping. For @shmkit packages, through
 * `@shmkit/core/internal`.
 */
export function adoptMapping(init: NativeMapping, options: MappingInit): Mapping {
  return create(init, options);
}

/**
 * For @shmkit packages: leaves a truncation of `mapping`'s file fatal
 * (SIGBUS), as it was before shmkit caught it: for memory that holds a
 * lock, a semaphore or an event, whose users would otherwise go on working
 * on private zero pages without being told (two processes could then both
 * hold one lock).
 */
export function keepTruncationFatal(mapping: Mapping): void {
  if (!mapping.closed) native.mappingKeepTruncationFatal(mappingHandle(mapping));
}

/** The native handle of a Mapping, for other packages' bindings (`@shmkit/core/internal`). */
export function mappingHandle(mapping: Mapping): MappingHandle {
  const handle = (mapping as unknown as Record<symbol, MappingHandle | undefined>)[HANDLE];
  if (handle === undefined) {
    throw Object.assign(new TypeError('The "mapping" argument must be an instance of Mapping'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  if (mapping.closed) throw closedError('Mapping');
  return handle;
}

/** Options for {@link mapAnonymous}. */
export interface AnonymousOptions {
  /**
   * MAP_SHARED (default): child processes that inherit the mapping share its
   * pages. MAP_PRIVATE when false: copy on write.
   */
  shared?: boolean;
}

/**
 * Maps `size` bytes of zero-filled anonymous memory.
 *
 * @param size - Whole bytes, 1 to 2^53 - 1; the kernel rounds up to pages.
 * @throws RangeError ERR_OUT_OF_RANGE for sizes that are not whole positive numbers.
 * @throws SystemError ENOMEM (syscall 'mmap') when the kernel refuses.
 */
export function mapAnonymous(size: number, options?: AnonymousOptions): Mapping {
  const { shared = true } = validateOptions(options);
  validateInteger(size, 'size', 1);
  return adoptMapping(native.mapAnonymous(size, shared), { kind: 'anonymous' });
}

/** The system page size in bytes (4096 on most machines). */
export function pageSize(): number {
  return native.pageSize();
}
