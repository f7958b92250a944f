// The one waiting stack of every primitive (futex, Mutex, PthreadMutex,
// SharedEvent, the semaphores): where a primitive's words live, the options
// every wait takes, bounded spinning, and parking in the native wait engine
// on the calling thread (sync) or without blocking it (async). Not exported
// from the package.
import {
  abortError,
  abortGroup,
  closedError,
  codedError,
  invalidArgType,
  invalidArgValue,
  native,
  validateAbortSignal,
  validateInteger,
  validateOptions,
  validateTimeout,
  systemError,
  type SystemError,
} from '@shmkit/core/internal';

export type { SyncMemory } from './words';

/** Native wait outcomes (see WaitNative.waitFutex). */
export const WOKEN = 0;
export const NOT_EQUAL = 1;
export const TIMED_OUT = 2;
export const INTERRUPTED = 3;
export const OWNER_DEAD = 4;

/** Spin iterations that `spin: true` stands for (tens of microseconds). */
export const DEFAULT_SPIN = 20_000;

/** Largest `spin` accepted: keeps a typo from freezing a thread for minutes. */
const MAX_SPIN = 100_000_000;

/** The native flag of an async wait that must not keep the event loop alive. */
const UNREF = 1;

let cachedTid = 0;

/**
 * The kernel thread id of the calling JS thread. Cached: each worker thread
 * loads its own copy of this module, so the cache is per thread.
 */
export function threadId(): number {
  return cachedTid !== 0 ? cachedTid : (cachedTid = native.syncGettid());
}

/** The address of `view[index]` for the native calls; throws once the memory is gone. */
export function addressOf(view: Int32Array, index = 0): number {
  if (view.length === 0) throw closedError('Mapping');
  return native.syncAddressOf(view, index);
}

/**
 * A word of a primitive holds a value no shmkit primitive writes: another
 * process overwrote it. A coded error, never a crash or a busy loop.
 */
export function corruptError(what: string, detail: string): Error {
  return codedError(
    'ERR_SHMKIT_CORRUPT',
    `${what}: ${detail}; the shared memory was overwritten (initialise it again)`,
  );
}

/**
 * Re-checks `ready` up to `iterations` times; true as soon as it holds.
 * Each check is a few Atomics loads, so this bounds the spin in time too.
 */
export function spinUntil(ready: () => boolean, iterations: number): boolean {
  for (let i = 0; i < iterations; i++) {
    if (ready()) return true;
  }
  return false;
}

/** Options every sync wait takes. */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most (fractions allowed; `0` tries once without
   * sleeping; any size is fine: `1e33` is practically forever). Default:
   * no limit.
   */
  timeout?: number;
  /**
   * Spin on the shared word before sleeping in the kernel: `true` for a
   * default bound, or a number of re-checks (each a few nanoseconds).
   * Trades CPU for latency when the other side answers within microseconds.
   */
  spin?: boolean | number;
}

/** Options every async wait takes. */
export interface AsyncWaitOptions extends WaitOptions {
  /** Rejects the wait with an AbortError (code 'ABORT_ERR') when aborted. */
  signal?: AbortSignal;
  /**
   * `false`: the pending wait does not keep the process alive, like an
   * unref'd timer (Node's `timers/promises` option of the same name).
   * Default `true`.
   */
  ref?: boolean;
}

export interface ParsedWait {
  /** performance.now() time at which to give up; Infinity for never. */
  deadline: number;
  spin: number;
  signal: AbortSignal | undefined;
  ref: boolean;
}

/** The `spin` option: false/undefined = 0 iterations, true = {@link DEFAULT_SPIN}. */
function spinOption(value: unknown): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return DEFAULT_SPIN;
  if (typeof value !== 'number')
    throw invalidArgType('options.spin', 'of type boolean or number', value);
  return validateInteger(value, 'options.spin', 0, MAX_SPIN);
}

/**
 * Reads a wait's options, once, before anything waits: `timeout`, `spin`
 * (where `allowSpin`), and for async waits `signal` and `ref`.
 */
export function parseWaitOptions(
  options: AsyncWaitOptions | undefined,
  async: boolean,
  allowSpin = true,
): ParsedWait {
  const o = validateOptions(options);
  const timeout = validateTimeout(o.timeout, 'options.timeout');
  const rawSpin = o.spin;
  if (!allowSpin && rawSpin !== undefined)
    throw invalidArgValue(
      'options.spin',
      'is not supported here (every try is a system call)',
      rawSpin,
    );
  const spin = spinOption(rawSpin);
  const rawSignal = o.signal;
  const rawRef = o.ref;
  if (!async) {
    if (rawSignal !== undefined)
      throw invalidArgValue('options.signal', 'is only accepted by async waits', rawSignal);
    if (rawRef !== undefined)
      throw invalidArgValue('options.ref', 'is only accepted by async waits', rawRef);
  }
  const signal = async ? validateAbortSignal(rawSignal) : undefined;
  if (rawRef !== undefined && typeof rawRef !== 'boolean')
    throw invalidArgType('options.ref', 'of type boolean', rawRef);
  return {
    deadline: timeout === Infinity ? Infinity : performance.now() + timeout,
    spin,
    signal,
    ref: rawRef ?? true,
  };
}

/** A wait with no options at all: no deadline, no spin, no signal. */
export const NO_WAIT_OPTIONS: ParsedWait = Object.freeze({
  deadline: Infinity,
  spin: 0,
  signal: undefined,
  ref: true,
});

/** Milliseconds left until `deadline` (Infinity for none, 0 once passed). */
export function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

/** The group and flags arguments of a native async wait. */
export function asyncArgs(wait: ParsedWait): [group: number, flags: number] {
  return [wait.signal === undefined ? 0 : abortGroup(wait.signal), wait.ref ? 0 : UNREF];
}

/** Sleeps on the word at `address` while it holds `expected`. */
export function parkSync(
  address: number,
  expected: number,
  deadline: number,
  watchTid = 0,
): number {
  const ms = remaining(deadline);
  if (ms === 0) return TIMED_OUT;
  const outcome = native.waitFutex(address, expected, ms, watchTid);
  // The worker this runs in is being terminated: unwind, whatever loop
  // the caller is in (nobody will see the error).
  if (outcome === INTERRUPTED) throw new Error('shmkit: the thread is being terminated');
  return outcome;
}

/**
 * {@link parkSync} on the wait engine: the event loop keeps running, no
 * thread is spent on the wait, and an abort racing a wake never loses the
 * wake (the engine passes it on).
 */
export function parkAsync(
  address: number,
  expected: number,
  wait: ParsedWait,
  watchTid = 0,
): Promise<number> {
  if (wait.signal?.aborted) return Promise.reject(abortError(wait.signal));
  const ms = remaining(wait.deadline);
  if (ms === 0) return Promise.resolve(TIMED_OUT);
  const [group, flags] = asyncArgs(wait);
  return native.waitFutexAsync(address, expected, ms, group, flags, watchTid);
}

/**
 * An Error shaped like a failed system call (code, negative errno, syscall),
 * for the pthread-style errors the primitives report themselves; `detail`
 * says why, in parentheses.
 */
export function syncError(code: string, syscall: string, detail: string): SystemError {
  return systemError(code, syscall, { note: detail });
}

/**
 * The end of every async wait that can be decided without waiting: an
 * aborted signal rejects, what goes through at once does, a zero timeout
 * gives up, and only then does `start` wait (with the native group and
 * flags of the wait).
 */
export function tryThenWait<T>(
  wait: ParsedWait,
  tryNow: () => T | undefined,
  timedOut: T,
  start: (timeout: number, group: number, flags: number) => Promise<T>,
): Promise<T> {
  if (wait.signal?.aborted) return Promise.reject(abortError(wait.signal));
  try {
    const now = tryNow();
    if (now !== undefined) return Promise.resolve(now);
  } catch (error) {
    return Promise.reject(error);
  }
  const ms = remaining(wait.deadline);
  if (ms === 0) return Promise.resolve(timedOut);
  const [group, flags] = asyncArgs(wait);
  return start(ms, group, flags);
}
