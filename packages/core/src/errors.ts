// Node-style errors for the TypeScript side of every package: the same codes
// and message shapes as the native side and as Node's own validators.
import { inspect } from 'node:util';

/**
 * A failed system call, shaped like Node's fs errors.
 *
 * `errno` is negative, as in Node (`util.getSystemErrorName(err.errno)` gives
 * the code back). Exactly one of `key`, `id`, `ipcName` or `path` says what
 * the call was about, where that applies.
 */
export interface SystemError extends Error {
  /** The symbolic errno: 'EACCES', 'ENOENT'... */
  code: string;
  /** The negated errno value. */
  errno: number;
  /** The call that failed: 'shmget', 'mmap'... */
  syscall: string;
  /** A System V IPC key. */
  key?: number;
  /** A System V IPC identifier. */
  id?: number;
  /** A POSIX IPC name ('/name'). */
  ipcName?: string;
  /** A file system path. */
  path?: string;
  /** What to do about it, when there is something to say. */
  hint?: string;
}

/** An error with a Node-style `code`. */
export type CodedError<E extends Error = Error> = E & { code: string };

/** True for errors thrown by a failed system call inside shmkit. */
export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SystemError>).code === 'string' &&
    typeof (error as Partial<SystemError>).errno === 'number' &&
    typeof (error as Partial<SystemError>).syscall === 'string'
  );
}

function coded<E extends Error>(error: E, code: string): CodedError<E> {
  return Object.assign(error, { code });
}

/** How Node's validators print a received value. */
export function describeReceived(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: -1 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

function kind(name: string): string {
  return name.includes('.') ? 'property' : 'argument';
}

/** TypeError ERR_INVALID_ARG_TYPE. */
export function invalidArgType(
  name: string,
  expected: string,
  value: unknown,
): CodedError<TypeError> {
  return coded(
    new TypeError(
      `The "${name}" ${kind(name)} must be ${expected}. Received ${describeReceived(value)}`,
    ),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** RangeError ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, range: string, value: unknown): CodedError<RangeError> {
  const shown = typeof value === 'bigint' ? `${value}n` : String(value);
  return coded(
    new RangeError(
      `The value of "${name}" is out of range. It must be ${range}. Received ${shown}`,
    ),
    'ERR_OUT_OF_RANGE',
  );
}

/** TypeError (or RangeError) ERR_INVALID_ARG_VALUE. */
export function invalidArgValue(
  name: string,
  reason: string,
  value: unknown,
  as: 'TypeError' | 'RangeError' = 'TypeError',
): CodedError<TypeError | RangeError> {
  const message = `The ${kind(name)} '${name}' ${reason}. Received ${inspect(value, { depth: 0 })}`;
  return coded(
    as === 'RangeError' ? new RangeError(message) : new TypeError(message),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** Error ERR_SHMKIT_CLOSED: an object used after close(). */
export function closedError(what: string): CodedError {
  return coded(new Error(`${what} is closed`), 'ERR_SHMKIT_CLOSED');
}

/** A plain Error with a code. */
export function codedError(code: string, message: string): CodedError {
  return coded(new Error(message), code);
}

/** AbortError, as Node's own APIs reject with when a signal fires. */
export function abortError(signal?: AbortSignal): CodedError {
  const error = new Error('The operation was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return coded(error, 'ABORT_ERR');
}
