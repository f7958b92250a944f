// Shared futexes on Int32Array words: the cross-process counterpart of
// Atomics.wait/notify, which V8 implements with a per-process wait list.
import {
  abortError,
  invalidArgType,
  native,
  outOfRange,
  validateInteger,
  validateTimeout,
} from '@shmkit/core/internal';
import {
  NOT_EQUAL,
  NO_WAIT_OPTIONS,
  TIMED_OUT,
  parkAsync,
  parkSync,
  parseWaitOptions,
  spinUntil,
  type AsyncWaitOptions,
  type ParsedWait,
  type WaitOptions,
} from './wait';

/**
 * How a futex wait ended, as with `Atomics.wait`: 'ok' (woken, possibly
 * spuriously: re-check the word), 'not-equal' (the word did not hold
 * `expected`), 'timed-out'.
 */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Options of {@link futexWait}. */
export type FutexWaitOptions = WaitOptions;

/** Options of {@link futexWaitAsync}. */
export type FutexWaitAsyncOptions = AsyncWaitOptions;

function checkArray(array: unknown, index: unknown): asserts array is Int32Array {
  if (!(array instanceof Int32Array))
    throw invalidArgType('array', 'an instance of Int32Array', array);
  if (array.length === 0)
    throw outOfRange(
      'index',
      'a valid index (the array is empty or its memory was unmapped)',
      index,
    );
  validateInteger(index, 'index', 0, array.length - 1);
}

function checkExpected(expected: unknown): number {
  return validateInteger(expected, 'expected', -0x8000_0000, 0xffff_ffff) | 0;
}

function asOptions(
  timeoutOrOptions: number | FutexWaitAsyncOptions | undefined,
): FutexWaitAsyncOptions | undefined {
  return typeof timeoutOrOptions === 'number' ? { timeout: timeoutOrOptions } : timeoutOrOptions;
}

const RESULT: readonly FutexWaitResult[] = ['ok', 'not-equal', 'timed-out'];

// Where each array's data starts, so hot waits and wakes skip a native call.
// Only the kernel ever sees these addresses (a stale one gives EFAULT), and
// checkArray rejects arrays whose memory was unmapped (length 0) first.
const bases = new WeakMap<Int32Array, number>();

function wordAddress(array: Int32Array, index: number): number {
  let base = bases.get(array);
  if (base === undefined) {
    base = native.syncAddressOf(array, 0);
    bases.set(array, base);
  }
  return base + index * 4;
}

function syncOptions(timeoutOrOptions: number | FutexWaitOptions | undefined): ParsedWait {
  if (timeoutOrOptions === undefined) return NO_WAIT_OPTIONS;
  if (typeof timeoutOrOptions === 'number') {
    const timeout = validateTimeout(timeoutOrOptions);
    return {
      ...NO_WAIT_OPTIONS,
      deadline: timeout === Infinity ? Infinity : performance.now() + timeout,
    };
  }
  return parseWaitOptions(timeoutOrOptions, false);
}

/**
 * Sleeps while `array[index] === expected`, until woken by
 * {@link futexWake} from any process that maps the same memory, or until
 * the timeout. Blocks the calling thread: use it in scripts and worker
 * threads, and {@link futexWaitAsync} on the main thread.
 *
 * The futex is shared (not FUTEX_PRIVATE), so it works across processes on
 * shared mappings, and across worker threads on a SharedArrayBuffer.
 *
 * @param array an Int32Array over shared memory, 4-byte aligned
 * @param index the word's index in `array`
 * @param expected the value the word must hold for the wait to sleep (an
 *   int32; uint32 values are taken modulo 2^32)
 * @param timeoutOrOptions milliseconds, or `{ timeout, spin }`
 * @throws TypeError ERR_INVALID_ARG_TYPE when `array` is not an Int32Array
 * @throws RangeError ERR_OUT_OF_RANGE for a bad index, expected or timeout
 */
export function futexWait(
  array: Int32Array,
  index: number,
  expected: number,
  timeoutOrOptions?: number | FutexWaitOptions,
): FutexWaitResult {
  checkArray(array, index);
  const value = checkExpected(expected);
  const { deadline, spin } = syncOptions(timeoutOrOptions);
  if (Atomics.load(array, index) !== value) return 'not-equal';
  if (spin > 0 && spinUntil(() => Atomics.load(array, index) !== value, spin)) return 'ok';
  const outcome = parkSync(wordAddress(array, index), value, deadline);
  return RESULT[outcome] ?? 'ok';
}

/**
 * {@link futexWait} as a Promise: the wait sleeps in the native wait engine
 * (no thread per wait, never libuv's thread pool) while the event loop runs
 * on. `signal` aborts it (rejects with an AbortError named 'AbortError',
 * code 'ABORT_ERR'; a wake that raced the abort goes to another waiter);
 * `ref: false` lets the process exit while it pends. `spin` spins on the
 * calling thread before the wait is handed off. Closing the Mapping the
 * word lies in rejects it with ERR_SHMKIT_CLOSED.
 */
export async function futexWaitAsync(
  array: Int32Array,
  index: number,
  expected: number,
  timeoutOrOptions?: number | FutexWaitAsyncOptions,
): Promise<FutexWaitResult> {
  checkArray(array, index);
  const value = checkExpected(expected);
  const wait = parseWaitOptions(asOptions(timeoutOrOptions), true);
  if (wait.signal?.aborted) throw abortError(wait.signal);
  if (Atomics.load(array, index) !== value) return 'not-equal';
  if (wait.spin > 0 && spinUntil(() => Atomics.load(array, index) !== value, wait.spin))
    return 'ok';
  const outcome = await parkAsync(wordAddress(array, index), value, wait);
  return outcome === NOT_EQUAL ? 'not-equal' : outcome === TIMED_OUT ? 'timed-out' : 'ok';
}

/**
 * Wakes up to `count` waiters (default: all) sleeping on `array[index]` in
 * any process; a count of 0 wakes none. Returns how many were woken.
 */
export function futexWake(array: Int32Array, index: number, count: number = Infinity): number {
  checkArray(array, index);
  if (count !== Infinity) validateInteger(count, 'count', 0, 0x7fff_ffff);
  return native.syncFutexWake(wordAddress(array, index), count === Infinity ? 0x7fff_ffff : count);
}

/**
 * The futex calls as one namespace: `futex.wait`, `futex.waitAsync`,
 * `futex.wake` (the same functions as {@link futexWait},
 * {@link futexWaitAsync}, {@link futexWake}).
 */
export const futex = Object.freeze({ wait: futexWait, waitAsync: futexWaitAsync, wake: futexWake });
