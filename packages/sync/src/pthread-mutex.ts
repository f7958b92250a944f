// glibc's pthread_mutex_t (robust, process-shared) driven from JS, for
// memory shared with C programs that use pthread mutexes. Every lock and
// unlock is a native call into glibc, so the owning thread is the JS thread
// and the kernel's robust list reports owner death, as in C.
import { abortError, invalidArgValue, native } from '@shmkit/core/internal';
import { MutexGuard } from './guard';
import { TID_MASK, WAITERS, markWaiting, spinWhileOwned } from './lock-word';
import {
  TIMED_OUT,
  addressOf,
  assertLive,
  parkAsync,
  parseWaitOptions,
  syncError,
  wordsAt,
  type AsyncWaitOptions,
  type SyncMemory,
  type WaitOptions,
} from './wait';

// glibc's lock word (the first int of pthread_mutex_t) is lock-word.ts's.

let layout: { byteLength: number; alignment: number } | undefined;
const pthreadLayout = (): { byteLength: number; alignment: number } =>
  (layout ??= native.syncPthreadMutexLayout());

/**
 * A glibc `pthread_mutex_t` in shared memory, initialised robust,
 * process-shared and error-checking: C programs can lock the same mutex with
 * `pthread_mutex_lock`. Size and alignment are glibc's
 * ({@link PthreadMutex.byteLength}: 40 bytes on x86-64, 48 on arm64;
 * {@link PthreadMutex.alignment}: 8).
 *
 * Compared with {@link Mutex}: full pthread interop and owner-death
 * detection by the kernel's robust list (immediate, no polling), but every
 * lock and unlock is a native call into glibc (several times slower than
 * Mutex uncontended),
 * and the layout is glibc's (not musl's).
 */
export class PthreadMutex {
  /** sizeof(pthread_mutex_t) on this platform. */
  static get byteLength(): number {
    return pthreadLayout().byteLength;
  }

  /** alignof(pthread_mutex_t): the offset must be a multiple of it. */
  static get alignment(): number {
    return pthreadLayout().alignment;
  }

  readonly #view: Int32Array;
  readonly #address: number;

  private constructor(view: Int32Array) {
    this.#view = view;
    this.#address = addressOf(view);
  }

  static #viewAt(memory: SyncMemory, offset: number): Int32Array {
    const { byteLength, alignment } = pthreadLayout();
    if (typeof offset === 'number' && offset % alignment !== 0) {
      throw invalidArgValue(
        'offset',
        `must be a multiple of ${alignment} (the alignment)`,
        offset,
        'RangeError',
      );
    }
    return wordsAt(memory, offset, byteLength / 4, 'PthreadMutex');
  }

  /**
   * pthread_mutex_init at byte `offset` of `memory`, with
   * PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and
   * PTHREAD_MUTEX_ERRORCHECK. Once, before anyone uses it.
   */
  static init(memory: SyncMemory, offset = 0): PthreadMutex {
    const view = PthreadMutex.#viewAt(memory, offset);
    native.syncPthreadMutexInit(view);
    return new PthreadMutex(view);
  }

  /**
   * Uses an existing robust, process-shared pthread mutex (made by
   * {@link PthreadMutex.init} or by C, of any type, without priority
   * inheritance or protection).
   * @throws ERR_SHMKIT_NOT_INITIALIZED when the memory holds no such mutex
   * (every lock and unlock checks the same before calling glibc, which
   * would abort the process on some other kinds)
   */
  static attach(memory: SyncMemory, offset = 0): PthreadMutex {
    const view = PthreadMutex.#viewAt(memory, offset);
    native.syncPthreadMutexCheck(view);
    return new PthreadMutex(view);
  }

  /**
   * pthread_mutex_lock (pthread_mutex_clocklock with a timeout). Blocks the
   * thread. Errors are the system errors of those calls: ETIMEDOUT, EDEADLK,
   * ENOTRECOVERABLE.
   */
  lock(options?: WaitOptions): MutexGuard {
    const view = this.#view;
    assertLive(view);
    if (options === undefined) return new MutexGuard(this, native.syncPthreadMutexLock(view, -1));
    const { deadline, spin } = parseWaitOptions(options, false);
    spinWhileOwned(view, spin);
    const ms = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
    return new MutexGuard(this, native.syncPthreadMutexLock(view, ms));
  }

  /** pthread_mutex_trylock; null when held (also by this thread). */
  tryLock(): MutexGuard | null {
    assertLive(this.#view);
    const ownerDied = native.syncPthreadMutexTryLock(this.#view);
    return ownerDied === null ? null : new MutexGuard(this, ownerDied);
  }

  /**
   * Locks without blocking the event loop: a native thread sleeps on the
   * mutex's futex word until it changes, then the JS thread itself calls
   * pthread_mutex_trylock, so the JS thread owns the mutex.
   */
  async lockAsync(options?: AsyncWaitOptions): Promise<MutexGuard> {
    const { deadline, spin, signal } = parseWaitOptions(options, true);
    if (signal?.aborted) throw abortError(signal);
    const view = this.#view;
    assertLive(view);
    spinWhileOwned(view, spin);
    let slept = false;
    for (;;) {
      assertLive(view);
      const ownerDied = native.syncPthreadMutexTryLock(view);
      if (ownerDied !== null) {
        // trylock took it without WAITERS; having slept, others may sleep too.
        if (slept) Atomics.or(view, 0, WAITERS);
        return new MutexGuard(this, ownerDied);
      }
      const value = Atomics.load(view, 0);
      if ((value & TID_MASK) === 0) continue;
      const waiting = markWaiting(view, value);
      if (waiting === null) continue;
      slept = true;
      if ((await parkAsync(this.#address, waiting, deadline, signal)) === TIMED_OUT) {
        assertLive(view);
        const last = native.syncPthreadMutexTryLock(view);
        if (last !== null) {
          Atomics.or(view, 0, WAITERS);
          return new MutexGuard(this, last);
        }
        throw syncError(
          'ETIMEDOUT',
          'pthread_mutex_clocklock',
          'the mutex was not released in time',
        );
      }
    }
  }

  /** pthread_mutex_unlock; EPERM when this thread does not hold it. */
  unlock(): void {
    assertLive(this.#view);
    native.syncPthreadMutexUnlock(this.#view);
  }

  /** pthread_mutex_consistent, after a lock that reported `ownerDied`. */
  markConsistent(): void {
    assertLive(this.#view);
    native.syncPthreadMutexConsistent(this.#view);
  }

  get [Symbol.toStringTag](): string {
    return 'PthreadMutex';
  }
}
