// An event (manual- or auto-reset) in 16 bytes of shared memory, built on a
// shared futex. Layout, in 32-bit words (see the README):
//   0 state    1 = set, 0 = reset                (the futex word)
//   1 waiters  threads sleeping or about to sleep (so set() can skip FUTEX_WAKE)
//   2 kind     1 = manual reset, 2 = auto reset   (0 = not initialised)
//   3 reserved 0
import {
  abortError,
  codedError,
  invalidArgValue,
  native,
  validateOptions,
} from '@shmkit/core/internal';
import {
  TIMED_OUT,
  addressOf,
  corruptError,
  parkAsync,
  parkSync,
  parseWaitOptions,
  spinUntil,
  type AsyncWaitOptions,
  type WaitOptions,
} from './wait';
import { PrimitiveWords, type SyncMemory } from './words';

const STATE = 0;
const WAITERS = 1;
const KIND = 2;
const KIND_MANUAL = 1;
const KIND_AUTO = 2;
const WAKE_ALL = 0x7fff_ffff;

/**
 * 'manual': set() releases every waiter and stays set until reset().
 * 'auto': set() releases exactly one waiter (or the next wait) and the
 * event resets itself as that waiter passes.
 */
export type EventMode = 'manual' | 'auto';

/** Options of {@link SharedEvent.init}. */
export interface EventInitOptions {
  /** Default 'manual'. */
  mode?: EventMode;
  /** Start set. Default false. */
  set?: boolean;
}

/** Options of {@link SharedEvent.wait}. */
export type EventWaitOptions = WaitOptions;

/** Options of {@link SharedEvent.waitAsync}. */
export type EventWaitAsyncOptions = AsyncWaitOptions;

/**
 * An event shared between processes and threads, in
 * {@link SharedEvent.byteLength} (16) bytes of shared memory aligned to 4.
 * (Named SharedEvent so it does not shadow the global DOM `Event`.)
 *
 * @example
 * ```ts
 * const ready = SharedEvent.init(mapping, 64, { mode: 'auto' }); // producer
 * const ready = SharedEvent.attach(mapping, 64);                 // consumer
 * await ready.waitAsync({ timeout: 1000 }); // true when set, false on timeout
 * ready.set();
 * ```
 */
export class SharedEvent {
  /** Bytes an event occupies. */
  static readonly byteLength = 16;
  /** Required alignment of its offset, in bytes. */
  static readonly alignment = 4;

  readonly #words: PrimitiveWords;
  readonly #address: number;
  readonly #auto: boolean;

  /** Waiter counts not taken back yet: their wait ended while the page was protected. */
  #owedLeaves = 0;

  private constructor(words: PrimitiveWords, auto: boolean) {
    this.#words = words;
    this.#auto = auto;
    this.#address = addressOf(words.view, STATE);
  }

  /**
   * Makes a new event at byte `offset` of `memory` (overwriting what is
   * there). Do this once, before others {@link SharedEvent.attach}.
   * @throws RangeError ERR_INVALID_ARG_VALUE for a bad mode or an offset that is not a multiple of 4
   */
  static init(memory: SyncMemory, offset = 0, options?: EventInitOptions): SharedEvent {
    const o = validateOptions(options);
    const mode = o.mode ?? 'manual';
    if (mode !== 'manual' && mode !== 'auto')
      throw invalidArgValue('options.mode', "must be 'manual' or 'auto'", mode);
    const initiallySet = o.set ?? false;
    if (typeof initiallySet !== 'boolean')
      throw invalidArgValue('options.set', 'must be a boolean', initiallySet);
    const words = new PrimitiveWords(memory, offset, 4, 'SharedEvent');
    const view = words.view;
    Atomics.store(view, STATE, initiallySet ? 1 : 0);
    Atomics.store(view, WAITERS, 0);
    Atomics.store(view, 3, 0);
    Atomics.store(view, KIND, mode === 'auto' ? KIND_AUTO : KIND_MANUAL);
    return new SharedEvent(words, mode === 'auto');
  }

  /**
   * Uses the existing event at byte `offset` of `memory`; its mode is read
   * from memory.
   * @throws ERR_SHMKIT_NOT_INITIALIZED when no event was initialised there
   */
  static attach(memory: SyncMemory, offset = 0): SharedEvent {
    const words = new PrimitiveWords(memory, offset, 4, 'SharedEvent');
    const kind = Atomics.load(words.view, KIND);
    if (kind !== KIND_MANUAL && kind !== KIND_AUTO) {
      throw codedError(
        'ERR_SHMKIT_NOT_INITIALIZED',
        `no SharedEvent at offset ${offset} (kind word is ${kind}, expected 1 or 2): call SharedEvent.init first`,
      );
    }
    return new SharedEvent(words, kind === KIND_AUTO);
  }

  /** The words (bound again after protect()), with any waiter count still owed taken back. */
  #live(): Int32Array {
    const view = this.#words.live();
    if (this.#owedLeaves !== 0) {
      Atomics.sub(view, WAITERS, this.#owedLeaves);
      this.#owedLeaves = 0;
    }
    return view;
  }

  /**
   * A wait ends: it leaves the waiter count, through the view it came in by
   * or, when protect() took that away, at the next call that finds the
   * words again (else every later set() would wake nobody, forever).
   */
  #leave(view: Int32Array): void {
    const now = this.#words.view;
    if (view.length !== 0) Atomics.sub(view, WAITERS, 1);
    else if (now.length !== 0) Atomics.sub(now, WAITERS, 1);
    else this.#owedLeaves++;
  }

  /** 'manual' or 'auto'. */
  get mode(): EventMode {
    return this.#auto ? 'auto' : 'manual';
  }

  /** Whether the event is set (a snapshot). */
  get isSet(): boolean {
    return Atomics.load(this.#live(), STATE) === 1;
  }

  /**
   * Sets the event. Manual: wakes every waiter. Auto: wakes exactly one
   * waiter; setting an already set auto event does nothing (sets do not
   * accumulate: use a semaphore to count).
   */
  set(): void {
    const view = this.#live();
    if (this.#auto) {
      if (Atomics.compareExchange(view, STATE, 0, 1) === 0 && Atomics.load(view, WAITERS) > 0) {
        native.syncFutexWake(this.#address, 1);
      }
      return;
    }
    if (Atomics.exchange(view, STATE, 1) === 0 && Atomics.load(view, WAITERS) > 0) {
      native.syncFutexWake(this.#address, WAKE_ALL);
    }
  }

  /** Resets (clears) the event. */
  reset(): void {
    Atomics.store(this.#live(), STATE, 0);
  }

  /** Passes the event if it is set (consuming it, for auto); never waits. */
  tryWait(): boolean {
    this.#live();
    return this.#pass();
  }

  #pass(): boolean {
    return this.#auto
      ? Atomics.compareExchange(this.#words.view, STATE, 1, 0) === 1
      : Atomics.load(this.#words.view, STATE) === 1;
  }

  /**
   * The state must be 0 or 1 before sleeping on it: sleeping "while it is
   * 0" on any other value would return at once, again and again.
   */
  #checkState(): void {
    const state = Atomics.load(this.#words.view, STATE);
    if (state !== 0 && state !== 1)
      throw corruptError('SharedEvent', `its state word holds ${state} (expected 0 or 1)`);
  }

  /**
   * Waits until the event is set. Blocks the calling thread: on the main
   * thread prefer {@link SharedEvent.waitAsync}.
   * @returns true when set, false when `timeout` ms passed first
   * @throws ERR_SHMKIT_CORRUPT when its state word holds garbage
   */
  wait(options?: EventWaitOptions): boolean {
    const { deadline, spin } = parseWaitOptions(options, false);
    const view = this.#live();
    if (this.#pass()) return true;
    if (spin > 0 && spinUntil(() => Atomics.load(view, STATE) === 1 && this.#pass(), spin))
      return true;
    Atomics.add(view, WAITERS, 1);
    try {
      for (;;) {
        if (this.#pass()) return true;
        this.#checkState();
        if (parkSync(this.#address, 0, deadline) === TIMED_OUT) return this.#pass();
      }
    } finally {
      this.#leave(view);
    }
  }

  /**
   * Waits without blocking the event loop, in the native wait engine (no
   * thread per wait; see the README on what async waits cost).
   * @returns true when set, false when `timeout` ms passed first
   * @throws AbortError (code 'ABORT_ERR') when `signal` aborts first
   * @throws ERR_SHMKIT_CLOSED / ERR_SHMKIT_PROTECTED when its Mapping is
   *   closed or protected meanwhile; ERR_SHMKIT_CORRUPT for a garbage state
   */
  async waitAsync(options?: EventWaitAsyncOptions): Promise<boolean> {
    const wait = parseWaitOptions(options, true);
    if (wait.signal?.aborted) throw abortError(wait.signal);
    let view = this.#live();
    if (this.#pass()) return true;
    const spin = wait.spin;
    if (spin > 0 && spinUntil(() => Atomics.load(view, STATE) === 1 && this.#pass(), spin))
      return true;
    Atomics.add(view, WAITERS, 1);
    try {
      for (;;) {
        if (this.#pass()) return true;
        this.#checkState();
        const outcome = await parkAsync(this.#address, 0, wait);
        // Closed or protected while this waiter slept? (After a protect()
        // and its undoing, the words are bound again.)
        view = this.#live();
        if (outcome === TIMED_OUT) return this.#pass();
      }
    } finally {
      this.#leave(view);
    }
  }

  get [Symbol.toStringTag](): string {
    return 'SharedEvent';
  }
}
