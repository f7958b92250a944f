// Range locks: mlock/mlock2/munlock over a Mapping or a buffer's own memory.
import { Mapping } from '@shmkit/core';
import {
  invalidArgType,
  invalidArgValue,
  mappingHandle,
  native,
  optionalBoolean,
  outOfRange,
  validateInteger,
  validateOptions,
  type MemoryLockHandle,
  type NativeMemoryLock,
} from '@shmkit/core/internal';

/**
 * What can be locked: a {@link Mapping} from `@shmkit/core` (or the packages
 * that make them), or the memory behind an `ArrayBuffer`, `SharedArrayBuffer`,
 * `Buffer`, TypedArray or `DataView` of this process.
 */
export type LockTarget = Mapping | ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/** Options of {@link lock}. */
export interface LockOptions {
  /** First byte of the range, relative to the target (a view's own start). Default 0. */
  offset?: number;
  /** Bytes in the range, at least 1. Default: the rest of the target after `offset`. */
  length?: number;
  /**
   * Lock pages as they are first touched (`mlock2(MLOCK_ONFAULT)`, Linux 4.4+)
   * instead of faulting the whole range in now. Default false.
   */
  onFault?: boolean;
}

/** Options of {@link unlock}: the byte range of the target whose locks end. */
export interface UnlockOptions {
  /** First byte of the range, relative to the target. Default 0. */
  offset?: number;
  /** Bytes in the range. Default: the rest of the target after `offset`. */
  length?: number;
}

/** The object whose memory a lock pins: a Mapping or an (Shared)ArrayBuffer. */
type Owner = Mapping | ArrayBuffer | SharedArrayBuffer;

/** A target resolved to its owner and the byte range it spans in it. */
interface Resolved {
  owner: Owner;
  start: number;
  end: number;
}

// Every live lock of this thread. Holding the lock holds its owner, so a
// Buffer that is locked and then dropped by the user stays allocated (and
// its pages stay locked and valid) until it is unlocked.
const live = new Map<MemoryLock, Resolved>();

const TOKEN = Symbol('MemoryLock');

/**
 * One locked range, as returned by {@link lock}. While it is live the module
 * keeps its target reachable; {@link MemoryLock.unlock} (or `using`) ends it.
 *
 * The kernel locks whole pages: {@link MemoryLock.address} and
 * {@link MemoryLock.byteLength} describe the pages actually locked, which may
 * include bytes on either side of the requested range.
 */
export class MemoryLock implements Disposable {
  readonly #handle: MemoryLockHandle;
  #owner: Owner | undefined;
  readonly #address: bigint;
  readonly #byteLength: number;
  readonly #onFault: boolean;

  /** @internal Made by {@link lock} only. */
  static fromNative(made: NativeMemoryLock, range: Resolved, onFault: boolean): MemoryLock {
    return new MemoryLock(TOKEN, made, range, onFault);
  }

  private constructor(token: symbol, made: NativeMemoryLock, range: Resolved, onFault: boolean) {
    if (token !== TOKEN) throw new TypeError('Illegal constructor: use lock()');
    this.#handle = made.handle;
    this.#owner = range.owner;
    this.#address = made.address;
    this.#byteLength = made.byteLength;
    this.#onFault = onFault;
  }

  /** Address of the first locked page. */
  get address(): bigint {
    return this.#address;
  }

  /** Bytes locked: the requested range rounded out to whole pages. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** Whether the lock was taken with `onFault` (MLOCK_ONFAULT). */
  get onFault(): boolean {
    return this.#onFault;
  }

  /**
   * True while the pages are locked by this lock. It turns false after
   * {@link MemoryLock.unlock}, {@link unlock} on its target, `unlockAll()`,
   * or once a locked Mapping is closed (munmap ends the kernel's lock).
   */
  get locked(): boolean {
    if (this.#owner === undefined) return false;
    if (isDetached(this.#owner)) {
      // The buffer's memory moved away (transferred) or was unmapped (a
      // Mapping's buffer after close()): undo what is left of the lock.
      this.#release();
      return false;
    }
    if (native.mlockIsLocked(this.#handle)) return true;
    this.#forget();
    return false;
  }

  /**
   * Ends the lock: munlock of its pages, except pages another live lock
   * still covers (locks do not nest in the kernel, so shmkit counts them).
   * Returns false if the lock had already ended. Never throws for a lock
   * that ended on its own.
   */
  unlock(): boolean {
    if (this.#owner === undefined) return false;
    return this.#release();
  }

  /** Same as {@link MemoryLock.unlock}, for `using`. */
  [Symbol.dispose](): void {
    this.unlock();
  }

  #release(): boolean {
    try {
      return native.mlockUnlock(this.#handle);
    } finally {
      this.#forget();
    }
  }

  #forget(): void {
    this.#owner = undefined;
    live.delete(this);
  }

  get [Symbol.toStringTag](): string {
    return 'MemoryLock';
  }
}

function isDetached(owner: Owner): boolean {
  // Locked buffers are never empty, so length 0 means detached.
  return !(owner instanceof Mapping) && owner.byteLength === 0;
}

function isArrayBuffer(value: unknown): value is ArrayBuffer | SharedArrayBuffer {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)
  );
}

const TARGET_TYPES =
  'an instance of Mapping, ArrayBuffer, SharedArrayBuffer, Buffer, TypedArray or DataView';

/** The owner and byte range of `target`, narrowed by offset/length. */
function resolve(
  target: unknown,
  offset: number | undefined,
  length: number | undefined,
): Resolved {
  let owner: Owner;
  let start: number;
  let size: number;
  if (target instanceof Mapping) {
    owner = target;
    start = 0;
    size = target.byteLength;
  } else if (isArrayBuffer(target)) {
    owner = target;
    start = 0;
    size = target.byteLength;
  } else if (ArrayBuffer.isView(target)) {
    owner = target.buffer;
    start = target.byteOffset;
    size = target.byteLength;
  } else {
    throw invalidArgType('target', TARGET_TYPES, target);
  }
  const from = offset ?? 0;
  // lock() has had the native layer check its range before; for unlock()
  // this is the check: a range past the end is refused, not read as empty.
  if (from > size || (offset !== undefined && from === size))
    throw outOfRange('options.offset', `>= 0 && < ${size}`, from);
  if (length !== undefined && length > size - from)
    throw outOfRange('options.length', `>= 1 && <= ${size - from}`, length);
  const to = length === undefined ? size : from + length;
  return { owner, start: start + from, end: start + to };
}

/** A buffer whose memory can move or shrink under a lock. */
function isResizable(owner: Owner): boolean {
  const flags = owner as { resizable?: boolean; growable?: boolean };
  return flags.resizable === true || flags.growable === true;
}

function readRange(options: LockOptions | UnlockOptions | undefined): {
  offset: number | undefined;
  length: number | undefined;
} {
  const opts = validateOptions(options);
  return {
    offset: opts.offset === undefined ? undefined : validateInteger(opts.offset, 'options.offset'),
    length:
      opts.length === undefined ? undefined : validateInteger(opts.length, 'options.length', 1),
  };
}

/** Drops the bookkeeping of locks that ended on their own (also after unlockAll). */
export function prune(): void {
  for (const held of [...live.keys()]) void held.locked;
}

/**
 * Locks a range of memory into RAM: it will not be swapped out until
 * unlocked (`mlock(2)`; with `onFault`, `mlock2(MLOCK_ONFAULT)`).
 *
 * The range is rounded out to whole pages: every page that holds at least one
 * byte of it is locked, including the neighbouring bytes that share those
 * pages (for a small Buffer, other data on the same heap pages). Locks on
 * ranges that share a page are counted, so unlocking one never unlocks a page
 * that another live lock still needs.
 *
 * While the lock is live, the module holds `target` so its memory stays
 * allocated even if the caller drops every other reference.
 *
 * @param target - A Mapping, or a buffer/view of this process's memory.
 * @param options - The byte range (`offset`, `length`) and `onFault`.
 * @returns The lock; call `unlock()` or use `using` to end it.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE`
 *   for bad arguments (an empty, detached or resizable buffer is
 *   `ERR_INVALID_ARG_VALUE`), `ERR_SHMKIT_CLOSED` for a closed Mapping, and
 *   system errors `ENOMEM`/`EPERM` (over RLIMIT_MEMLOCK; `error.hint` says
 *   the limit, the request and what to do), `EAGAIN`, or `ENOSYS`/`EINVAL`
 *   for `onFault` on a kernel older than 4.4.
 *
 * @example
 * ```ts
 * import { mapAnonymous } from '@shmkit/core';
 * import { lock } from '@shmkit/mlock';
 *
 * using mapping = mapAnonymous(1 << 20);
 * using held = lock(mapping); // 1 MiB now resident and locked
 * ```
 */
export function lock(target: LockTarget, options?: LockOptions): MemoryLock {
  const { offset, length } = readRange(options);
  const onFault = optionalBoolean(validateOptions(options).onFault, 'options.onFault', false);
  prune();
  let made: NativeMemoryLock;
  if (target instanceof Mapping) {
    made = native.mlockLockMapping(mappingHandle(target), offset, length, onFault);
  } else {
    const owner = resolve(target, undefined, undefined).owner;
    if (isResizable(owner)) {
      throw invalidArgValue(
        'target',
        'is backed by a resizable buffer, whose memory may move or shrink',
        target,
      );
    }
    // Node-API sees a SharedArrayBuffer only through a view.
    const bytes =
      target instanceof ArrayBuffer || ArrayBuffer.isView(target) ? target : new Uint8Array(target);
    made = native.mlockLockBytes(bytes, offset, length, onFault);
  }
  const range = resolve(target, offset, length);
  const held = MemoryLock.fromNative(made, range, onFault);
  live.set(held, range);
  return held;
}

/**
 * Ends every live lock (made by {@link lock} in this thread) whose bytes
 * overlap `target`, or the given range of it. Overlap is by bytes, not pages:
 * two Buffers that share a heap page keep separate locks.
 *
 * Passing a {@link MemoryLock} ends that lock. Targets with no locks are fine.
 *
 * @returns How many locks ended.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad arguments.
 */
export function unlock(target: LockTarget | MemoryLock, options?: UnlockOptions): number {
  if (target instanceof MemoryLock) return target.unlock() ? 1 : 0;
  const { offset, length } = readRange(options);
  const range = resolve(target, offset, length);
  prune();
  let ended = 0;
  for (const [held, locked] of [...live]) {
    const overlaps =
      locked.owner === range.owner && locked.start < range.end && range.start < locked.end;
    if (overlaps && held.unlock()) ended += 1;
  }
  return ended;
}
