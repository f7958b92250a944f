// The waiting machinery shared by futex, Mutex and SharedEvent: where a
// primitive's words live, bounded spinning, and parking in the kernel either
// on the calling thread (sync) or on a dedicated native thread (async, with
// timeout and AbortSignal). Not exported from the package.
import { Mapping } from '@shmkit/core';
import {
  abortError,
  closedError,
  invalidArgType,
  invalidArgValue,
  native,
  outOfRange,
  validateAbortSignal,
  validateInteger,
  validateOptions,
  validateTimeout,
  systemError,
  type SystemError,
} from '@shmkit/core/internal';

/** Memory a primitive can live in: a Mapping, a (Shared)ArrayBuffer, or an Int32Array over one. */
export type SyncMemory = Mapping | SharedArrayBuffer | ArrayBuffer | Int32Array;

/** Native wait outcomes (see SyncNative.syncFutexWait). */
export const WOKEN = 0;
export const NOT_EQUAL = 1;
export const TIMED_OUT = 2;
export const CANCELLED = 3;
export const OWNER_DEAD = 4;

/** Spin iterations that `spin: true` stands for (tens of microseconds). */
export const DEFAULT_SPIN = 20_000;

/** Largest `spin` accepted: keeps a typo from freezing a thread for minutes. */
const MAX_SPIN = 100_000_000;

let cachedTid = 0;

/**
 * The kernel thread id of the calling JS thread. Cached: each worker thread
 * loads its own copy of this module, so the cache is per thread.
 */
export function threadId(): number {
  return cachedTid !== 0 ? cachedTid : (cachedTid = native.syncGettid());
}

/** An Int32Array over `words` words of `memory` from byte `offset`. */
export function wordsAt(
  memory: SyncMemory,
  offset: number | undefined,
  words: number,
  what: string,
): Int32Array {
  const byteOffset = offset === undefined ? 0 : validateInteger(offset, 'offset');
  if (byteOffset % 4 !== 0)
    throw invalidArgValue(
      'offset',
      'must be a multiple of 4 (the alignment)',
      byteOffset,
      'RangeError',
    );
  let buffer: ArrayBufferLike;
  let base = 0;
  let available: number;
  if (memory instanceof Mapping) {
    if (memory.closed) throw closedError('Mapping');
    buffer = memory.buffer;
    available = buffer.byteLength;
  } else if (memory instanceof Int32Array) {
    buffer = memory.buffer;
    base = memory.byteOffset;
    available = memory.byteLength;
  } else if (memory instanceof SharedArrayBuffer || memory instanceof ArrayBuffer) {
    buffer = memory;
    available = memory.byteLength;
  } else {
    throw invalidArgType(
      'memory',
      'an instance of Mapping, SharedArrayBuffer, ArrayBuffer or Int32Array',
      memory,
    );
  }
  const size = words * 4;
  if (available < size) {
    throw outOfRange(
      'offset',
      `a place for a ${size}-byte ${what} (the memory has ${available} bytes)`,
      byteOffset,
    );
  }
  if (byteOffset > available - size)
    throw outOfRange('offset', `>= 0 && <= ${available - size}`, byteOffset);
  return new Int32Array(buffer, base + byteOffset, words);
}

/** The address of `view[index]` for the native calls; throws once the memory is gone. */
export function addressOf(view: Int32Array, index = 0): number {
  if (view.length === 0) throw closedError('Mapping');
  return native.syncAddressOf(view, index);
}

/** Throws ERR_SHMKIT_CLOSED when the view's memory was unmapped (detached). */
export function assertLive(view: Int32Array): void {
  if (view.length === 0) throw closedError('Mapping');
}

/** The `spin` option: false/undefined = 0 iterations, true = {@link DEFAULT_SPIN}. */
export function spinOption(value: unknown): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return DEFAULT_SPIN;
  if (typeof value !== 'number')
    throw invalidArgType('options.spin', 'of type boolean or number', value);
  return validateInteger(value, 'options.spin', 0, MAX_SPIN);
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
  /** Milliseconds to wait at most (fractions allowed). Default: no limit. */
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
  /** Rejects the wait with an AbortError when aborted. */
  signal?: AbortSignal;
}

export interface ParsedWait {
  /** performance.now() time at which to give up; Infinity for never. */
  deadline: number;
  spin: number;
  signal: AbortSignal | undefined;
}

export function parseWaitOptions(
  options: AsyncWaitOptions | undefined,
  async: boolean,
): ParsedWait {
  const o = validateOptions(options);
  const timeout = validateTimeout(o.timeout, 'options.timeout');
  const spin = spinOption(o.spin);
  const signal = async ? validateAbortSignal(o.signal) : undefined;
  if (!async && o.signal !== undefined) {
    throw invalidArgValue('options.signal', 'is only accepted by async waits', o.signal);
  }
  return { deadline: timeout === Infinity ? Infinity : performance.now() + timeout, spin, signal };
}

function remaining(deadline: number): number {
  return deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
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
  return native.syncFutexWait(address, expected, ms, watchTid);
}

/**
 * {@link parkSync} on a dedicated native thread. An abort rejects at once and
 * cancels the native wait; if that wait had meanwhile consumed a FUTEX_WAKE
 * meant for someone, the wake is passed on to the next waiter.
 */
export function parkAsync(
  address: number,
  expected: number,
  deadline: number,
  signal: AbortSignal | undefined,
  watchTid = 0,
): Promise<number> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const ms = remaining(deadline);
  if (ms === 0) return Promise.resolve(TIMED_OUT);
  const canceller = native.syncCanceller();
  const waiting = native.syncFutexWaitAsync(canceller, address, expected, ms, watchTid);
  if (signal === undefined) return waiting;
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      native.syncCancel(canceller);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    waiting.then(
      (outcome) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) {
          settled = true;
          resolve(outcome);
        } else if (outcome === WOKEN) {
          native.syncFutexWake(address, 1);
        }
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) {
          settled = true;
          reject(error);
        }
      },
    );
  });
}

/**
 * An Error shaped like a failed system call (code, negative errno, syscall),
 * for the pthread-style errors the primitives report themselves; `detail`
 * says why, in parentheses.
 */
export function syncError(code: string, syscall: string, detail: string): SystemError {
  return systemError(code, syscall, { note: detail });
}
