// glibc's pthread_mutex_t (robust, process-shared) driven from JS, for
// memory shared with C programs that use pthread mutexes. Every lock and
// unlock is a native call into glibc, so the owning thread is the JS thread
// and the kernel's robust list reports owner death, as in C.
import { Mapping } from '@shmkit/core';
import {
  abortError,
  closedError,
  invalidArgType,
  invalidArgValue,
  mappingHandle,
  native,
} from '@shmkit/core/internal';
import type { MappingHandle } from '@shmkit/core/internal';
import { MutexGuard } from './guard';
import { TID_MASK, WAITERS, markWaiting, spinWhileOwned } from './lock-word';
import {
  TIMED_OUT,
  addressOf,
  parkAsync,
  parseWaitOptions,
  remaining,
  syncError,
  type AsyncWaitOptions,
  type WaitOptions,
} from './wait';
import { PrimitiveWords, type SyncMemory } from './words';

// glibc's lock word (the first int of pthread_mutex_t) is lock-word.ts's.

/**
 * PthreadMutexes in a SharedArrayBuffer that this thread holds. glibc links
 * every robust mutex a thread holds into that thread's robust list and
 * writes through the list on the next lock, so the memory must outlive the
 * hold: this set keeps the buffer alive (through the mutex and its view).
 * A Mapping is pinned natively instead. Module state is per thread: every
 * worker loads its own copy of the module.
 */
const heldInSharedBuffers = new Set<PthreadMutex>();

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

  readonly #words: PrimitiveWords;
  readonly #address: number;
  /** The Mapping the mutex lives in (pinned while held); undefined for a SharedArrayBuffer. */
  readonly #mapping: MappingHandle | undefined;
  /** Locks through this object not yet unlocked (SharedArrayBuffer memory only). */
  #holds = 0;

  private constructor(words: PrimitiveWords, memory: SyncMemory) {
    this.#words = words;
    this.#address = addressOf(words.view);
    this.#mapping = memory instanceof Mapping ? mappingHandle(memory) : undefined;
  }

  static #wordsAt(memory: SyncMemory, offset: number): PrimitiveWords {
    // A held mutex's memory must stay mapped until it is unlocked. That can
    // be guaranteed for a Mapping (pinned natively) and a SharedArrayBuffer
    // (never detached; referenced while held), not for a plain ArrayBuffer
    // (transferable, and its memory freed with the new owner) nor for an
    // Int32Array over a Mapping's buffer (the Mapping cannot be found).
    const buffer = memory instanceof Int32Array ? memory.buffer : memory;
    if (!(memory instanceof Mapping) && !(buffer instanceof SharedArrayBuffer)) {
      throw invalidArgType(
        'memory',
        'an instance of Mapping or SharedArrayBuffer, or an Int32Array over a SharedArrayBuffer',
        memory,
      );
    }
    const { byteLength, alignment } = pthreadLayout();
    if (typeof offset === 'number' && offset % alignment !== 0) {
      throw invalidArgValue(
        'offset',
        `must be a multiple of ${alignment} (the alignment)`,
        offset,
        'RangeError',
      );
    }
    return new PrimitiveWords(memory, offset, byteLength / 4, 'PthreadMutex');
  }

  /**
   * pthread_mutex_init at byte `offset` of `memory`, with
   * PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and
   * PTHREAD_MUTEX_ERRORCHECK. Once, before anyone uses it.
   *
   * `memory` is a Mapping or a SharedArrayBuffer (or an Int32Array over
   * one): while this thread holds the mutex, a Mapping is pinned (close()
   * unmaps only at the unlock, protect() cannot revoke access) and a
   * SharedArrayBuffer is kept from collection, because glibc's robust list
   * points into the memory of every mutex the thread holds.
   * @throws TypeError ERR_INVALID_ARG_TYPE for other memory
   * @throws Error EBUSY when this thread holds the mutex there
   */
  static init(memory: SyncMemory, offset = 0): PthreadMutex {
    const words = PthreadMutex.#wordsAt(memory, offset);
    const mutex = new PthreadMutex(words, memory);
    native.syncPthreadMutexInit(words.view);
    return mutex;
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
    const words = PthreadMutex.#wordsAt(memory, offset);
    native.syncPthreadMutexCheck(words.view);
    return new PthreadMutex(words, memory);
  }

  /** Records a lock just taken (the native side pinned a Mapping). */
  #held(ownerDied: boolean): MutexGuard {
    if (this.#mapping === undefined && this.#holds++ === 0) heldInSharedBuffers.add(this);
    return new MutexGuard(this, ownerDied);
  }

  /** After an unlock went through. */
  #released(): void {
    if (this.#mapping === undefined && this.#holds > 0 && --this.#holds === 0)
      heldInSharedBuffers.delete(this);
  }

  /**
   * pthread_mutex_lock (pthread_mutex_clocklock with a timeout). Blocks the
   * thread. Errors are the system errors of those calls: ETIMEDOUT, EDEADLK,
   * ENOTRECOVERABLE.
   */
  lock(options?: WaitOptions): MutexGuard {
    let ms = Infinity;
    let spin = 0;
    if (options !== undefined) {
      const parsed = parseWaitOptions(options, false);
      spin = parsed.spin;
      ms = remaining(parsed.deadline);
    }
    const view = this.#words.live();
    spinWhileOwned(view, spin);
    return this.#held(native.syncPthreadMutexLock(view, ms, this.#mapping));
  }

  /** pthread_mutex_trylock; null when held (also by this thread). */
  tryLock(): MutexGuard | null {
    const view = this.#words.live();
    const ownerDied = native.syncPthreadMutexTryLock(view, this.#mapping);
    return ownerDied === null ? null : this.#held(ownerDied);
  }

  /**
   * Locks without blocking the event loop: the wait engine sleeps on the
   * mutex's futex word until it changes (no thread per wait), then the JS
   * thread itself calls pthread_mutex_trylock, so the JS thread owns the
   * mutex.
   */
  async lockAsync(options?: AsyncWaitOptions): Promise<MutexGuard> {
    const wait = parseWaitOptions(options, true);
    if (wait.signal?.aborted) throw abortError(wait.signal);
    let view = this.#words.live();
    spinWhileOwned(view, wait.spin);
    let slept = false;
    for (;;) {
      const ownerDied = native.syncPthreadMutexTryLock(view, this.#mapping);
      if (ownerDied !== null) {
        // trylock took it without WAITERS; having slept, others may sleep too.
        if (slept) Atomics.or(view, 0, WAITERS);
        return this.#held(ownerDied);
      }
      const value = Atomics.load(view, 0);
      if ((value & TID_MASK) === 0) continue;
      const waiting = markWaiting(view, value);
      if (waiting === null) continue;
      slept = true;
      const outcome = await parkAsync(this.#address, waiting, wait);
      view = this.#words.live();
      if (outcome === TIMED_OUT) {
        const last = native.syncPthreadMutexTryLock(view, this.#mapping);
        if (last !== null) {
          Atomics.or(view, 0, WAITERS);
          return this.#held(last);
        }
        throw syncError(
          'ETIMEDOUT',
          'pthread_mutex_clocklock',
          'the mutex was not released in time',
        );
      }
    }
  }

  /**
   * pthread_mutex_unlock; EPERM when this thread does not hold it. Works
   * after the Mapping was closed while the mutex was held (the memory stays
   * mapped until this unlock).
   */
  unlock(): void {
    const view = this.#words.view;
    if (view.length !== 0) native.syncPthreadMutexUnlock(view);
    else if (this.#mapping !== undefined) native.syncPthreadMutexUnlockHeld(this.#address);
    else throw closedError('Mapping');
    this.#released();
  }

  /** pthread_mutex_consistent, after a lock that reported `ownerDied`. */
  markConsistent(): void {
    native.syncPthreadMutexConsistent(this.#words.live());
  }

  get [Symbol.toStringTag](): string {
    return 'PthreadMutex';
  }
}
