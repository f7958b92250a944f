// Node-style errors for the TypeScript side of every package: the same codes
// and message shapes as the native side and as Node's own validators, each
// with its stack starting at the user's call.
import { describeInvalid, describeOutOfRange, describeReceived } from './describe';
import type { ShmkitErrorCode } from './error-codes';
import { pointAtCaller } from './stack';

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

/** Builds an error without capturing a stack: pointAtCaller captures the one it keeps. */
export function errorWithoutStack<E extends Error>(
  Ctor: new (message: string) => E,
  message: string,
): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new Ctor(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function coded<E extends Error>(error: E, code: string): CodedError<E> {
  return pointAtCaller(Object.assign(error, { code }));
}

function kind(name: string): string {
  return name.includes('.') ? 'property' : 'argument';
}

export { describeReceived };

/** TypeError ERR_INVALID_ARG_TYPE. */
export function invalidArgType(
  name: string,
  expected: string,
  value: unknown,
): CodedError<TypeError> {
  const message = `The "${name}" ${kind(name)} must be ${expected}. Received ${describeReceived(value)}`;
  return coded(errorWithoutStack(TypeError, message), 'ERR_INVALID_ARG_TYPE');
}

/** RangeError ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, range: string, value: unknown): CodedError<RangeError> {
  const message = `The value of "${name}" is out of range. It must be ${range}. Received ${describeOutOfRange(value)}`;
  return coded(errorWithoutStack(RangeError, message), 'ERR_OUT_OF_RANGE');
}

/** TypeError (or RangeError) ERR_INVALID_ARG_VALUE. */
export function invalidArgValue(
  name: string,
  reason: string,
  value: unknown,
  as: 'TypeError' | 'RangeError' = 'TypeError',
): CodedError<TypeError | RangeError> {
  const message = `The ${kind(name)} '${name}' ${reason}. Received ${describeInvalid(value)}`;
  return coded(
    errorWithoutStack(as === 'RangeError' ? RangeError : TypeError, message),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** Error ERR_SHMKIT_CLOSED: an object used after close(). */
export function closedError(what: string): CodedError {
  return codedError('ERR_SHMKIT_CLOSED', `${what} is closed`);
}

/** A plain Error with one of shmkit's codes. */
export function codedError(code: ShmkitErrorCode, message: string): CodedError {
  return coded(errorWithoutStack(Error, message), code);
}

/** AbortError, as Node's own APIs reject with when a signal fires. */
export function abortError(signal?: AbortSignal): CodedError {
  const error = pointAtCaller(new Error('The operation was aborted', { cause: signal?.reason }));
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR' });
}
