// The options every wait takes, as in @shmkit/sync: `{ timeout, spin }`
// for sync waits, plus `signal` for async ones. Read once, before acting.
import {
  invalidArgType,
  invalidArgValue,
  validateAbortSignal,
  validateInteger,
  validateOptions,
  validateTimeout,
} from '@shmkit/core/internal';

/** Options of every sync wait (`send`, `receive`, `reserve`, `peek`...). */
export interface WaitOptions {
  /** Milliseconds to wait at most (fractions allowed); `0` tries once. Default: no limit. */
  timeout?: number;
  /**
   * Re-check the ring this many times before sleeping in the kernel (`true`
   * = 20,000, tens of microseconds). Costs CPU; cuts latency when the other
   * side answers within microseconds and both sides have a core.
   *
   * Without it, a receive adapts: while its recent waits ended within a
   * fraction of a millisecond (a stream of messages), it re-checks for up
   * to 0.25 ms before sleeping, since a sleep and the sender's wake-up would
   * cost more; otherwise it sleeps at once. An async receive re-checks once
   * per event-loop turn, so the loop stays free. `false` or `0` never spins
   * (an async wait still looks once after one turn).
   */
  spin?: boolean | number;
}

/** Options of every async wait (`sendAsync`, `receiveAsync`...). */
export interface AsyncWaitOptions extends WaitOptions {
  /** Rejects the wait with an AbortError (code 'ABORT_ERR') when aborted. */
  signal?: AbortSignal;
}

export const DEFAULT_SPIN = 20_000;

/** `spin` not given: see {@link WaitOptions.spin} (only receives act on it). */
export const ADAPTIVE = -1;

/**
 * Waits sleep in slices of at most this many ms, checking between slices
 * that the other end still runs: a peer's death is noticed within about
 * this long.
 */
export const SLICE_MS = 200;
const MAX_SPIN = 100_000_000;

/** A parsed wait: `deadline` is a performance.now() time or Infinity. */
export interface Wait {
  deadline: number;
  spin: number;
  signal: AbortSignal | undefined;
}

export const FOREVER: Wait = Object.freeze({
  deadline: Infinity,
  spin: ADAPTIVE,
  signal: undefined,
});

function spinOption(value: unknown): number {
  if (value === undefined) return ADAPTIVE;
  if (value === false) return 0;
  if (value === true) return DEFAULT_SPIN;
  if (typeof value !== 'number')
    throw invalidArgType('options.spin', 'of type boolean or number', value);
  return validateInteger(value, 'options.spin', 0, MAX_SPIN);
}

export function parseWait(options: AsyncWaitOptions | undefined, async: boolean): Wait {
  if (options === undefined) return FOREVER;
  const o = validateOptions(options);
  const timeout = validateTimeout(o.timeout, 'options.timeout');
  const spin = spinOption(o.spin);
  const signal = o.signal;
  if (!async && signal !== undefined)
    throw invalidArgValue('options.signal', 'is only accepted by async waits', signal);
  return {
    deadline: timeout === Infinity ? Infinity : performance.now() + timeout,
    spin,
    signal: async ? validateAbortSignal(signal) : undefined,
  };
}

/** How an end's waits went: a snapshot from {@link Sender.stats} or {@link Receiver.stats}. */
export interface WaitStats {
  /** Times this end slept in the kernel (a futex wait). */
  sleeps: number;
  /**
   * Waits that ended while spinning, without a sleep: with `spin`, or, for
   * a receive without it, by adapting to a fast stream of messages.
   */
  spun: number;
  /**
   * Sleeps that ran to the end of their slice although the awaited message
   * or room was there by then: a wake-up the other end should have sent
   * but did not (a peer that died between publishing and waking, or one
   * that does not follow the wake protocol). Stays 0 between shmkit ends.
   */
  missedWakeups: number;
}
