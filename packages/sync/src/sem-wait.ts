// Option parsing, wait and AbortSignal plumbing shared by the three semaphore kinds.
import {
  abortError,
  invalidArgValue,
  native,
  validateAbortSignal,
  validateInteger,
  validateOptions,
  validateTimeout,
} from '@shmkit/core/internal';
import type { SemHandle, WaitToken } from '@shmkit/core/internal';

/** Options of a blocking semaphore wait. */
export interface SemaphoreWaitOptions {
  /**
   * Give up after this many milliseconds and return `false`. Default:
   * wait forever. `0` tries once without waiting.
   */
  timeout?: number;
  /**
   * Try this many more times (pausing the CPU between tries) before parking
   * in the kernel. A unit posted within that window is taken without a
   * sleep/wake round trip. Default 0. Each try costs tens of nanoseconds;
   * a few thousand is a few microseconds of busy CPU at most.
   */
  spin?: number;
}

/** Options of a Promise-returning semaphore wait. */
export interface SemaphoreWaitAsyncOptions extends SemaphoreWaitOptions {
  /** Aborting it rejects the pending wait with an `AbortError`. */
  signal?: AbortSignal;
}

/** The largest `spin` accepted: about a second of spinning on a fast CPU. */
const MAX_SPIN = 100_000_000;

/** Validated wait options: `timeout` in ms (Infinity = none), `spin` tries. */
export interface ParsedWait {
  timeout: number;
  spin: number;
  signal: AbortSignal | undefined;
}

/** Validates wait options; `spin` only where the caller supports it. */
export function parseWait(
  options: SemaphoreWaitAsyncOptions | undefined,
  allowSpin = true,
): ParsedWait {
  const o = validateOptions(options);
  const timeout = validateTimeout(o.timeout, 'options.timeout');
  let spin = 0;
  if (o.spin !== undefined) {
    if (!allowSpin)
      throw invalidArgValue(
        'options.spin',
        'is not supported here (every try is a system call)',
        o.spin,
      );
    spin = validateInteger(o.spin, 'options.spin', 0, MAX_SPIN);
  }
  const signal = validateAbortSignal(o.signal, 'options.signal');
  return { timeout, spin, signal };
}

/**
 * One 'abort' listener per signal, however many waits share it: a signal
 * passed to hundreds of waits would otherwise trip Node's
 * MaxListenersExceededWarning.
 */
const aborters = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = aborters.get(signal);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    callbacks = set;
    aborters.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        aborters.delete(signal);
        for (const cb of set) cb();
      },
      { once: true },
    );
  }
  callbacks.add(callback);
  const set = callbacks;
  return () => set.delete(callback);
}

/**
 * Runs a native async wait that can be cancelled through `signal`.
 *
 * On abort, the native token decides the race atomically: either the wait is
 * cancelled (the promise rejects with AbortError at once, and the waiting
 * thread gives back any unit it takes from then on), or it had already gone
 * through (the promise resolves with its result, since that unit is ours).
 */
export function cancellableWait(
  signal: AbortSignal | undefined,
  start: (token: WaitToken | undefined) => Promise<boolean>,
): Promise<boolean> {
  if (signal === undefined) return start(undefined);
  if (signal.aborted) return Promise.reject(abortError(signal));
  const token = native.semWaitToken();
  const pending = start(token);
  return new Promise<boolean>((resolve, reject) => {
    const forget = onAbort(signal, () => {
      if (native.semWaitCancel(token)) reject(abortError(signal));
    });
    pending.then(
      (value) => {
        forget();
        resolve(value);
      },
      (error: unknown) => {
        forget();
        reject(error);
      },
    );
  });
}

/**
 * The end of every semaphore's async wait, once its arguments are checked:
 * an aborted signal rejects, what can go through at once does (without a
 * thread), a zero timeout gives up, and only then does `start` wait.
 */
export function tryThenWait(
  { timeout, signal }: ParsedWait,
  tryNow: () => boolean,
  start: (token: WaitToken | undefined) => Promise<boolean>,
): Promise<boolean> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  try {
    if (tryNow()) return Promise.resolve(true);
  } catch (error) {
    return Promise.reject(error);
  }
  if (timeout === 0) return Promise.resolve(false);
  return cancellableWait(signal, start);
}

/**
 * `wait` of a sem_t (Semaphore, NamedSemaphore). `live` gives the handle or
 * throws when closed; it is asked after the options are checked.
 */
export function semWait(live: () => SemHandle, options: SemaphoreWaitOptions | undefined): boolean {
  const { timeout, spin } = parseWait(options);
  return native.semWait(live(), timeout, spin);
}

/** `waitAsync` of a sem_t; every error is a rejection, none is thrown. */
export function semWaitAsync(
  live: () => SemHandle,
  options: SemaphoreWaitAsyncOptions | undefined,
): Promise<boolean> {
  let handle: SemHandle;
  let parsed: ParsedWait;
  try {
    parsed = parseWait(options);
    handle = live();
  } catch (error) {
    return Promise.reject(error);
  }
  const { timeout, spin } = parsed;
  return tryThenWait(
    parsed,
    () => native.semTryWait(handle),
    (token) => native.semWaitAsync(handle, timeout, spin, token),
  );
}
