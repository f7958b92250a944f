// A robust, process-shared mutex in one 32-bit word of shared memory, locked
// and unlocked from JS with Atomics; the kernel is only asked to sleep and
// wake. The word layout follows the kernel's robust-futex convention, so the
// protocol is easy to implement in C (see the README).
import { abortError, native } from '@shmkit/core/internal';
import { MutexGuard } from './guard';
import { TID_MASK, WAITERS, markWaiting, spinWhileOwned } from './lock-word';
import {
  OWNER_DEAD,
  TIMED_OUT,
  addressOf,
  parkAsync,
  parkSync,
  parseWaitOptions,
  syncError,
  threadId,
  type AsyncWaitOptions,
  type WaitOptions,
} from './wait';
import { PrimitiveWords, type SyncMemory } from './words';

/** Bit 30: the owner died; the state it protected may be inconsistent. */
const OWNER_DIED = 0x4000_0000;
/** The whole word once unlocked while inconsistent: unusable for good. */
const NOT_RECOVERABLE = 0x3fff_ffff;
const WAKE_ALL = 0x7fff_ffff;

/** What a {@link Mutex} is doing, read from its word (a snapshot). */
export type MutexState = 'unlocked' | 'locked' | 'inconsistent' | 'not-recoverable';

/** Options of {@link Mutex.lock}. */
export type MutexLockOptions = WaitOptions;

/** Options of {@link Mutex.lockAsync}. */
export type MutexLockAsyncOptions = AsyncWaitOptions;

function notRecoverable(syscall: string): Error {
  return syncError(
    'ENOTRECOVERABLE',
    syscall,
    'a previous owner died and the next one unlocked without markConsistent(); initialise the mutex again',
  );
}

/**
 * A robust mutex shared between processes and threads, living in
 * {@link Mutex.byteLength} (4) bytes of shared memory aligned to
 * {@link Mutex.alignment} (4).
 *
 * Ownership belongs to a thread (its kernel thread id is stored in the
 * word): only the locking thread may unlock. Uncontended lock and unlock are
 * single `Atomics.compareExchange`s on the mapped word; contended lockers
 * sleep with FUTEX_WAIT in slices of 100 ms, between which they check that
 * the owner still exists, so a lock whose owner was killed is taken over
 * within about 100-200 ms and reported with `ownerDied`.
 *
 * @example
 * ```ts
 * const mutex = Mutex.init(mapping, 0); // once, by the creator
 * {
 *   using guard = mutex.lock();
 *   if (guard.ownerDied) { repair(); guard.markConsistent(); }
 *   counter[1]++;
 * }
 * ```
 */
export class Mutex {
  /** Bytes a mutex occupies. */
  static readonly byteLength = 4;
  /** Required alignment of its offset, in bytes. */
  static readonly alignment = 4;

  readonly #words: PrimitiveWords;
  readonly #address: number;

  private constructor(words: PrimitiveWords) {
    this.#words = words;
    this.#address = addressOf(words.view);
  }

  /**
   * Makes a new, unlocked mutex at byte `offset` of `memory` (overwriting
   * what is there). Do this once, before other threads or processes
   * {@link Mutex.attach}; zero-filled memory already is an unlocked mutex.
   * @throws RangeError ERR_INVALID_ARG_VALUE when `offset` is not a multiple of 4
   * @throws RangeError ERR_OUT_OF_RANGE when the mutex would not fit
   */
  static init(memory: SyncMemory, offset = 0): Mutex {
    const words = new PrimitiveWords(memory, offset, 1, 'Mutex');
    Atomics.store(words.view, 0, 0);
    return new Mutex(words);
  }

  /** Uses the existing mutex at byte `offset` of `memory`, as {@link Mutex.init} left it. */
  static attach(memory: SyncMemory, offset = 0): Mutex {
    return new Mutex(new PrimitiveWords(memory, offset, 1, 'Mutex'));
  }

  /**
   * Locks, sleeping while another thread holds the mutex. Blocks the calling
   * thread: on the main thread prefer {@link Mutex.lockAsync}.
   * @returns a guard; `guard.ownerDied` tells whether the previous owner died
   * @throws ETIMEDOUT when `timeout` ms pass first
   * @throws EDEADLK when the calling thread already holds it
   * @throws ENOTRECOVERABLE when the mutex was left unrecoverable
   */
  lock(options?: MutexLockOptions): MutexGuard {
    const view = this.#words.view;
    if (
      options === undefined &&
      view.length !== 0 &&
      Atomics.compareExchange(view, 0, 0, threadId()) === 0
    ) {
      return new MutexGuard(this, false);
    }
    return this.#lockSlow(options);
  }

  #lockSlow(options: MutexLockOptions | undefined): MutexGuard {
    const { deadline, spin } = parseWaitOptions(options, false);
    const tid = this.#beginLock(spin);
    let contended = false;
    for (;;) {
      const taken = this.#acquireOrMark(tid, contended, true);
      if (typeof taken !== 'number') return taken;
      contended = true;
      const owner = taken & TID_MASK;
      const guard = this.#afterPark(parkSync(this.#address, taken, deadline, owner), owner, tid);
      if (guard !== null) return guard;
    }
  }

  /**
   * Locks without blocking the event loop: sleeps in the native wait engine
   * (no thread per wait), then takes the lock on the calling JS thread (so that thread
   * owns it, and only it may unlock). Several lockAsync calls of one thread
   * queue like locks of different threads.
   * @throws AbortError (code 'ABORT_ERR') when `signal` aborts first
   * @throws ETIMEDOUT, ENOTRECOVERABLE as {@link Mutex.lock}
   */
  async lockAsync(options?: MutexLockAsyncOptions): Promise<MutexGuard> {
    const wait = parseWaitOptions(options, true);
    if (wait.signal?.aborted) throw abortError(wait.signal);
    const tid = this.#beginLock(wait.spin);
    let contended = false;
    for (;;) {
      // The memory may have been unmapped (or protected) while this waiter slept.
      this.#words.live();
      // The calling thread may hold it through another pending lockAsync
      // that will unlock: wait for that like for any owner, no EDEADLK.
      const taken = this.#acquireOrMark(tid, contended, false);
      if (typeof taken !== 'number') return taken;
      contended = true;
      const owner = taken & TID_MASK;
      const outcome = await parkAsync(this.#address, taken, wait, owner);
      this.#words.live();
      const guard = this.#afterPark(outcome, owner, tid);
      if (guard !== null) return guard;
    }
  }

  /**
   * Locks if that needs no waiting; null when another thread holds it (or
   * this thread does). A lock whose owner no longer exists is taken over
   * (with `ownerDied`), as lock() would.
   * @throws ENOTRECOVERABLE when the mutex was left unrecoverable
   */
  tryLock(): MutexGuard | null {
    const view = this.#words.live();
    const tid = threadId();
    for (;;) {
      const value = Atomics.load(view, 0);
      const owner = value & TID_MASK;
      if (owner === 0) {
        const guard = this.#acquireFree(value, tid, false);
        if (guard !== null) return guard;
        continue;
      }
      if (owner === NOT_RECOVERABLE) throw notRecoverable('mutex_trylock');
      if (owner === tid || native.syncThreadAlive(owner, false)) return null;
      const guard = this.#takeOver(owner, tid);
      if (guard !== null) return guard;
    }
  }

  /**
   * Unlocks. If the lock was taken over from a dead owner and
   * {@link Mutex.markConsistent} was not called, the mutex becomes
   * permanently unusable (later lockers get ENOTRECOVERABLE), as with
   * pthread robust mutexes.
   * @throws EPERM when the calling thread does not hold the mutex
   */
  unlock(): void {
    const view = this.#words.view;
    const tid = threadId();
    if (view.length !== 0 && Atomics.compareExchange(view, 0, tid, 0) === tid) return;
    this.#unlockSlow(tid);
  }

  #unlockSlow(tid: number): void {
    const view = this.#words.live();
    const value = Atomics.load(view, 0);
    const owner = value & TID_MASK;
    if (owner !== tid) {
      throw syncError(
        'EPERM',
        'mutex_unlock',
        owner === 0 ? 'the mutex is not locked' : 'the calling thread does not hold the mutex',
      );
    }
    if ((value & OWNER_DIED) !== 0) {
      Atomics.store(view, 0, NOT_RECOVERABLE);
      native.syncFutexWake(this.#address, WAKE_ALL);
      return;
    }
    // Only waiters change the word while we hold it, and only to add WAITERS.
    if ((Atomics.exchange(view, 0, 0) & WAITERS) !== 0) native.syncFutexWake(this.#address, 1);
  }

  /**
   * Declares the state protected by a mutex taken over from a dead owner
   * consistent again (pthread_mutex_consistent), so unlocking leaves a
   * normal mutex.
   * @throws EPERM when the calling thread does not hold the mutex
   * @throws EINVAL when the mutex is not in the owner-died state
   */
  markConsistent(): void {
    const view = this.#words.live();
    const value = Atomics.load(view, 0);
    if ((value & TID_MASK) !== threadId()) {
      throw syncError('EPERM', 'mutex_consistent', 'the calling thread does not hold the mutex');
    }
    if ((value & OWNER_DIED) === 0) {
      throw syncError(
        'EINVAL',
        'mutex_consistent',
        'the mutex is not inconsistent (no owner died)',
      );
    }
    Atomics.and(view, 0, ~OWNER_DIED);
  }

  /** The thread id of the owner, 0 when unlocked or not recoverable (a snapshot). */
  get owner(): number {
    const owner = Atomics.load(this.#words.live(), 0) & TID_MASK;
    return owner === NOT_RECOVERABLE ? 0 : owner;
  }

  /** The mutex's state (a snapshot, for diagnostics). */
  get state(): MutexState {
    const value = Atomics.load(this.#words.live(), 0);
    const owner = value & TID_MASK;
    if (owner === NOT_RECOVERABLE) return 'not-recoverable';
    if ((value & OWNER_DIED) !== 0) return 'inconsistent';
    return owner === 0 ? 'unlocked' : 'locked';
  }

  /** The start of lock() and lockAsync(): the caller's thread id, after any spinning. */
  #beginLock(spin: number): number {
    const view = this.#words.live();
    const tid = threadId();
    spinWhileOwned(view, spin);
    return tid;
  }

  /**
   * Takes the word if it is free, else marks it WAITERS: a guard, or the
   * word's value to sleep on. With `deadlock`, holding it already is EDEADLK.
   */
  #acquireOrMark(tid: number, contended: boolean, deadlock: boolean): MutexGuard | number {
    for (;;) {
      const value = Atomics.load(this.#words.view, 0);
      const owner = value & TID_MASK;
      if (owner === 0) {
        const guard = this.#acquireFree(value, tid, contended);
        if (guard !== null) return guard;
        continue;
      }
      if (owner === NOT_RECOVERABLE) throw notRecoverable('mutex_lock');
      if (deadlock && owner === tid)
        throw syncError('EDEADLK', 'mutex_lock', 'the calling thread already holds this mutex');
      const waiting = markWaiting(this.#words.view, value);
      if (waiting !== null) return waiting;
    }
  }

  /** After sleeping on `owner`'s word: a guard if it died or time ran out, else null. */
  #afterPark(outcome: number, owner: number, tid: number): MutexGuard | null {
    if (outcome === OWNER_DEAD) return this.#takeOver(owner, tid);
    if (outcome === TIMED_OUT) return this.#lastTry(tid, 'mutex_lock');
    return null;
  }

  /** Takes a free word, keeping OWNER_DIED; null when it changed under us. */
  #acquireFree(value: number, tid: number, contended: boolean): MutexGuard | null {
    // A thread that has slept cannot know whether others still sleep, so it
    // keeps WAITERS set: its unlock then wakes the next one.
    const waiters = contended || (value & WAITERS) !== 0 ? WAITERS : 0;
    const next = tid | (value & OWNER_DIED) | waiters;
    if (Atomics.compareExchange(this.#words.view, 0, value, next) !== value) return null;
    return new MutexGuard(this, (value & OWNER_DIED) !== 0);
  }

  /** Takes the lock from `deadTid`, which the kernel says is gone. */
  #takeOver(deadTid: number, tid: number): MutexGuard | null {
    const value = Atomics.load(this.#words.view, 0);
    if ((value & TID_MASK) !== deadTid) return null;
    if (Atomics.compareExchange(this.#words.view, 0, value, tid | OWNER_DIED | WAITERS) !== value)
      return null;
    return new MutexGuard(this, true);
  }

  #lastTry(tid: number, syscall: string): MutexGuard {
    const value = Atomics.load(this.#words.view, 0);
    if ((value & TID_MASK) === 0) {
      const guard = this.#acquireFree(value, tid, true);
      if (guard !== null) return guard;
    }
    throw syncError('ETIMEDOUT', syscall, 'the mutex was not released in time');
  }

  get [Symbol.toStringTag](): string {
    return 'Mutex';
  }
}
