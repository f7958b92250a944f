// Option parsing and the async waits of the kernel message queues. The two
// functions that start a native wait, posixWaitReady and sysvWait, are the
// only places to rewire when the wait engine replaces the native side.
import {
  abortError,
  native,
  validateAbortSignal,
  validateOptions,
  validateTimeout,
} from '@shmkit/core/internal';
import type { MqHandle, QueueWaitToken } from '@shmkit/core/internal';
import type { QueueWaitAsyncOptions } from './wait-options';

/** Validated wait options: `timeout` in ms (Infinity: none). */
export interface ParsedWait {
  timeout: number;
  signal: AbortSignal | undefined;
}

/** Reads `timeout` and `signal` once each. */
export function parseWait(options: QueueWaitAsyncOptions): ParsedWait {
  const timeout = validateTimeout(options.timeout, 'options.timeout');
  const signal = validateAbortSignal(options.signal, 'options.signal');
  return { timeout, signal };
}

/** An options bag, or `{}`; anything else throws ERR_INVALID_ARG_TYPE. */
export function optionsOf<T extends object>(options: T | undefined, name = 'options'): Partial<T> {
  return validateOptions(options, name);
}

/**
 * One 'abort' listener per signal, however many waits share it: a signal
 * given to hundreds of waits would otherwise trip Node's
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
  const set = callbacks;
  set.add(callback);
  return () => set.delete(callback);
}

/**
 * THE async wait of a POSIX queue: resolves true once `handle` is readable
 * (or writable), false when `timeout` ms pass. Takes nothing from the queue,
 * so an abort rejects at once and loses nothing. Rejects ERR_SHMKIT_CLOSED
 * when the queue is closed meanwhile.
 */
export function posixWaitReady(
  handle: MqHandle,
  writable: boolean,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (signal === undefined) return native.mqWaitReady(handle, writable, timeout, undefined);
  if (signal.aborted) return Promise.reject(abortError(signal));
  const token = native.queueWaitToken();
  const pending = native.mqWaitReady(handle, writable, timeout, token);
  return new Promise<boolean>((resolve, reject) => {
    const forget = onAbort(signal, () => {
      native.queueWaitCancel(token);
      reject(abortError(signal));
    });
    pending.then(
      (ready) => {
        forget();
        resolve(ready);
      },
      (error: unknown) => {
        forget();
        reject(error);
      },
    );
  });
}

/**
 * THE async call of a System V queue: `start` begins the native call with a
 * cancel token (when there is a signal); it resolves with its result, or
 * with null once cancelled. An abort that comes after the native side took
 * a message is too late: the promise resolves with that message, so none
 * is ever lost.
 */
export function sysvWait<T>(
  signal: AbortSignal | undefined,
  start: (token: QueueWaitToken | undefined) => Promise<T | null>,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const token = signal === undefined ? undefined : native.queueWaitToken();
  const pending = start(token);
  return new Promise<T>((resolve, reject) => {
    const forget =
      signal === undefined || token === undefined
        ? () => false
        : onAbort(signal, () => native.queueWaitCancel(token));
    pending.then(
      (result) => {
        forget();
        if (result === null) reject(abortError(signal));
        else resolve(result);
      },
      (error: unknown) => {
        forget();
        reject(error);
      },
    );
  });
}

/** Milliseconds on a clock that never jumps. */
export function now(): number {
  return performance.now();
}
