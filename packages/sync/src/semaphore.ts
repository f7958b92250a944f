import type { Mapping } from '@shmkit/core';
import {
  closedError,
  codedError,
  invalidArgType,
  keepTruncationFatal,
  mappingHandle,
  native,
} from '@shmkit/core/internal';
import type { NativeSemLayout, SemHandle } from '@shmkit/core/internal';
import { semWait, semWaitAsync } from './semaphore-wait';
import type { SemaphoreWaitAsyncOptions, SemaphoreWaitOptions } from './semaphore-wait';

export type { SemaphoreWaitAsyncOptions, SemaphoreWaitOptions } from './semaphore-wait';

/**
 * A counting semaphore placed at an offset inside a {@link Mapping}, shared by
 * every process (and thread) that maps the same memory.
 *
 * It is glibc's own `sem_t`, initialized with `sem_init(sem, 1, value)`
 * (process-shared), so a C program that maps the same memory uses it with
 * `sem_wait`/`sem_post` at the same offset. It takes
 * {@link Semaphore.byteLength} bytes (32 on 64-bit glibc) aligned to
 * {@link Semaphore.alignment} (8): keep that range for the semaphore alone.
 *
 * Waits come in three forms: {@link Semaphore.wait} blocks the calling
 * thread (scripts, workers), {@link Semaphore.waitAsync} returns a Promise
 * and never blocks the event loop, and {@link Semaphore.tryWait} never waits.
 * A timed-out wait returns (or resolves) `false`; it does not throw.
 *
 * @example
 * ```ts
 * import { mapAnonymous } from '@shmkit/core';
 * import { Semaphore } from '@shmkit/sync';
 *
 * using memory = mapAnonymous(4096);
 * using sem = Semaphore.init(memory, 0, 0);
 * setTimeout(() => sem.post(), 10);
 * await sem.waitAsync({ timeout: 1000 }); // true
 * ```
 */
export class Semaphore implements Disposable {
  #handle: SemHandle | undefined;
  readonly #mapping: Mapping;
  readonly #offset: number;

  private constructor(handle: SemHandle, mapping: Mapping, offset: number) {
    this.#handle = handle;
    this.#mapping = mapping;
    this.#offset = offset;
  }

  /** sizeof(sem_t): the bytes a Semaphore occupies (32 on 64-bit glibc). */
  static get byteLength(): number {
    return layout().size;
  }

  /** alignof(sem_t): the offset must be a multiple of it (8 on 64-bit glibc). */
  static get alignment(): number {
    return layout().align;
  }

  /** SEM_VALUE_MAX: the largest value a semaphore holds (2^31 - 1). */
  static get maxValue(): number {
    return layout().valueMax;
  }

  /**
   * Creates a new semaphore at `offset` with `sem_init(pshared = 1)`.
   *
   * Do this once, in one process, before anyone uses it; the others call
   * {@link Semaphore.attach}. Re-initializing a semaphore that others wait
   * on is undefined behaviour, exactly as in C.
   *
   * @param value - Initial count, 0 to {@link Semaphore.maxValue}. Default 0.
   * @throws TypeError ERR_INVALID_ARG_TYPE if `mapping` is not a Mapping.
   * @throws RangeError ERR_INVALID_ARG_VALUE for an offset that is not a multiple of 8.
   * @throws RangeError ERR_OUT_OF_RANGE for an offset without 32 bytes after it, or a bad value.
   * @throws Error ERR_SHMKIT_READ_ONLY for read-only memory; ERR_SHMKIT_CLOSED for a closed mapping.
   */
  static init(mapping: Mapping, offset: number, value = 0): Semaphore {
    const handle = native.semInit(writableHandle(mapping), offset, value);
    return new Semaphore(handle, mapping, offset);
  }

  /**
   * Uses the semaphore that another process (or C program) initialized at
   * `offset`. Same argument errors as {@link Semaphore.init}.
   */
  static attach(mapping: Mapping, offset: number): Semaphore {
    const handle = native.semAttach(writableHandle(mapping), offset);
    return new Semaphore(handle, mapping, offset);
  }

  /** The Mapping the semaphore lives in. */
  get mapping(): Mapping {
    return this.#mapping;
  }

  /** Byte offset of the sem_t inside {@link Semaphore.mapping}. */
  get offset(): number {
    return this.#offset;
  }

  /** True after {@link Semaphore.close} or {@link Semaphore.destroy}. */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  #live(): SemHandle {
    if (this.#handle === undefined) throw closedError('Semaphore');
    return this.#handle;
  }

  /**
   * The current count (`sem_getvalue`). A snapshot: other processes may
   * change it at any moment. Never negative: glibc does not count waiters.
   */
  get value(): number {
    return native.semValue(this.#live());
  }

  /**
   * Adds one unit and wakes one waiter, if any (`sem_post`).
   * @throws SystemError EOVERFLOW at {@link Semaphore.maxValue}.
   */
  post(): void {
    native.semPost(this.#live());
  }

  /** Takes a unit if one is available right now (`sem_trywait`); never waits. */
  tryWait(): boolean {
    return native.semTryWait(this.#live());
  }

  /**
   * Takes a unit, blocking the calling thread until one is available
   * (`sem_wait`, or `sem_clockwait` on CLOCK_MONOTONIC with a timeout).
   * Meant for scripts and worker threads; use {@link Semaphore.waitAsync}
   * on the main thread of a server.
   *
   * @returns true when a unit was taken, false when `timeout` ms passed first.
   * @throws RangeError ERR_OUT_OF_RANGE for a negative timeout or spin.
   */
  wait(options?: SemaphoreWaitOptions): boolean {
    return semWait(() => this.#live(), options);
  }

  /**
   * Takes a unit without blocking the event loop. The wait runs on a
   * dedicated thread (not libuv's pool, so hundreds of pending waits leave
   * fs and dns responsive); an available unit is taken at once without one.
   *
   * @returns a Promise of true when a unit was taken, false on timeout.
   * Rejects with an `AbortError` when `signal` aborts first; a unit the
   * waiting thread takes after that is posted back, never lost.
   */
  waitAsync(options?: SemaphoreWaitAsyncOptions): Promise<boolean> {
    return semWaitAsync(() => this.#live(), options);
  }

  /**
   * `sem_destroy`, then {@link Semaphore.close}. Only when no process uses
   * the semaphore any more; the bytes can then be reused.
   */
  destroy(): void {
    native.semDestroy(this.#live());
    this.close();
  }

  /**
   * Forgets this handle; the semaphore itself (and the mapping) stay as they
   * are for everyone else. Pending async waits finish normally. Idempotent.
   */
  close(): void {
    this.#handle = undefined;
  }

  /** Same as {@link Semaphore.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'Semaphore';
  }
}

let cachedLayout: NativeSemLayout | undefined;

/** sem_t's layout, asked of the addon once. */
function layout(): NativeSemLayout {
  cachedLayout ??= native.semLayout();
  return cachedLayout;
}

function writableHandle(mapping: Mapping): ReturnType<typeof mappingHandle> {
  if (typeof mapping !== 'object' || mapping === null)
    throw invalidArgType('mapping', 'an instance of Mapping', mapping);
  const handle = mappingHandle(mapping);
  if (mapping.readOnly) {
    // sem_post and sem_wait write to the sem_t: on read-only pages that is a crash.
    throw codedError(
      'ERR_SHMKIT_READ_ONLY',
      'a Semaphore needs writable memory; this mapping is read-only',
    );
  }
  // Before the first touch. See PrimitiveWords: a semaphore over private
  // zero pages would count on its own.
  keepTruncationFatal(mapping);
  return handle;
}
