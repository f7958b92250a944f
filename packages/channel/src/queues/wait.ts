// The options every wait of a kernel queue takes, read once, and what the
// async forms hand the native wait engine: a deadline, the abort group of
// the signal (one 'abort' listener per signal, however many waits and
// packages share it: @shmkit/core's abortGroup) and whether the wait keeps
// the event loop alive.
import {
  abortGroup,
  invalidArgType,
  invalidArgValue,
  validateAbortSignal,
  validateOptions,
  validateTimeout,
} from '@shmkit/core/internal';

/** The native flag of an async wait that must not keep the event loop alive. */
const UNREF = 1;

/** A wait's options, validated. */
export interface ParsedWait {
  /** The timeout as given, in ms (Infinity: none), for error messages. */
  timeout: number;
  /** performance.now() time at which to give up; Infinity for never. */
  deadline: number;
  signal: AbortSignal | undefined;
  ref: boolean;
}

/** The wait options of a call, as read from its options object. */
export interface RawWait {
  timeout?: unknown;
  signal?: unknown;
  ref?: unknown;
}

/** An options bag, or `{}`; anything else throws ERR_INVALID_ARG_TYPE. */
export function optionsOf<T extends object>(options: T | undefined, name = 'options'): Partial<T> {
  return validateOptions(options, name);
}

/**
 * Validates a wait's options, already read once by the caller: `timeout`
 * for every form, `signal` and `ref` only for async ones (a sync call given
 * them throws ERR_INVALID_ARG_VALUE rather than ignore them).
 */
export function parseWait(raw: RawWait, async: boolean): ParsedWait {
  const timeout = validateTimeout(raw.timeout, 'options.timeout');
  if (!async) {
    if (raw.signal !== undefined)
      throw invalidArgValue('options.signal', 'is only accepted by async calls', raw.signal);
    if (raw.ref !== undefined)
      throw invalidArgValue('options.ref', 'is only accepted by async calls', raw.ref);
  }
  const signal = async ? validateAbortSignal(raw.signal) : undefined;
  if (raw.ref !== undefined && typeof raw.ref !== 'boolean')
    throw invalidArgType('options.ref', 'of type boolean', raw.ref);
  return {
    timeout,
    deadline: timeout === Infinity ? Infinity : performance.now() + timeout,
    signal,
    ref: raw.ref ?? true,
  };
}

/** Milliseconds left until the wait's deadline (Infinity for none, 0 once passed). */
export function remaining(wait: ParsedWait): number {
  return wait.deadline === Infinity ? Infinity : Math.max(0, wait.deadline - performance.now());
}

/** The group and flags arguments of a native async wait. */
export function asyncArgs(wait: ParsedWait): [group: number, flags: number] {
  return [wait.signal === undefined ? 0 : abortGroup(wait.signal), wait.ref ? 0 : UNREF];
}
