import { closedError, codedError } from './errors';
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

/** How a package that maps memory describes the new Mapping to core. */
export interface MappingInit {
  kind: MappingKind;
  /** True when the memory is mapped read-only and JS only gets copies. */
  readOnly?: boolean;
  /** Runs once, after the memory is released by `close()`. */
  onClose?: () => void;
}

const HANDLE = Symbol.for('shmkit.mapping.handle');

/**
 * One mapped region of memory: anonymous, a file, a POSIX shared memory
 * object or a System V segment.
 *
 * Its memory is exposed as ONE ArrayBuffer ({@link Mapping.buffer}) that
 * reads and writes the mapped pages in place: no copies. Views made over it
 * see what other processes write.
 *
 * `close()` detaches that ArrayBuffer before unmapping, so every view made
 * from it reads as length 0 afterwards instead of touching freed memory. A
 * Mapping that is never closed is unmapped once it and all views over its
 * buffer are garbage collected. Works with `using`.
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
  readonly #buffer: ArrayBuffer | undefined;
  readonly #address: bigint;
  readonly #length: number;
  readonly #kind: MappingKind;
  readonly #readOnly: boolean;
  #onClose: (() => void) | undefined;
  #closed = false;

  /** @internal Packages create Mappings through `adoptMapping`. */
  constructor(init: NativeMapping, options: MappingInit) {
    this.#handle = init.handle;
    this.#buffer = init.buffer;
    this.#address = init.address;
    this.#length = init.byteLength;
    this.#kind = options.kind;
    this.#readOnly = options.readOnly ?? false;
    this.#onClose = options.onClose;
    Object.defineProperty(this, HANDLE, { value: init.handle, enumerable: false });
  }

  /**
   * The mapped memory, zero-copy. Length 0 once the mapping is closed.
   * @throws ERR_SHMKIT_READ_ONLY for memory mapped read-only without a
   *   private copy (a System V read-only attachment): writes through a view
   *   would fault, so only {@link Mapping.read} copies are offered.
   */
  get buffer(): ArrayBuffer {
    if (this.#buffer === undefined) {
      throw codedError(
        'ERR_SHMKIT_READ_ONLY',
        `this ${this.#kind} mapping is read-only and has no ArrayBuffer: writing through one would crash the process. Use read() to copy bytes out`,
      );
    }
    return this.#buffer;
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

  #live(): void {
    if (this.#closed) throw closedError('Mapping');
  }

  /** A Uint8Array over `length` bytes from `byteOffset` (default: all). */
  uint8Array(byteOffset = 0, length?: number): Uint8Array {
    this.#live();
    return new Uint8Array(this.buffer, byteOffset, length);
  }

  /**
   * An Int32Array over `length` words from `byteOffset` (default: all
   * whole words). Use it with `Atomics`: atomics on mapped memory work
   * across processes.
   */
  int32Array(byteOffset = 0, length?: number): Int32Array {
    this.#live();
    const words = length ?? Math.floor((this.#length - byteOffset) / 4);
    return new Int32Array(this.buffer, byteOffset, words);
  }

  /** A DataView over `byteLength` bytes from `byteOffset` (default: all). */
  dataView(byteOffset = 0, byteLength?: number): DataView {
    this.#live();
    return new DataView(this.buffer, byteOffset, byteLength);
  }

  /** Copies `length` bytes from `offset` (default: everything) into a new Buffer. */
  read(offset: number | bigint = 0, length?: number | bigint): Buffer {
    this.#live();
    return native.mappingRead(this.#handle, offset, length);
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

/** @internal Wraps a native mapping result in a Mapping. */
export function adoptMapping(init: NativeMapping, options: MappingInit): Mapping {
  return new Mapping(init, options);
}

/** @internal The native handle of a Mapping, for other packages' bindings. */
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
