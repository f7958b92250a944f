// System errors made in TypeScript, for failures the primitives detect
// themselves (a mutex unlocked by a thread that does not hold it, a FIFO
// wait that timed out). They read exactly like the native ones: the errno
// and its description come from the same place (bind/error.rs).
import { errorWithoutStack, type SystemError } from './errors';
import { native } from './loader';
import { pointAtCaller } from './stack';

/** What a {@link systemError} was about, and a remark on it. */
export interface SystemErrorContext {
  /** A file system path: shown quoted and set as `path`. */
  path?: string;
  /** A POSIX IPC name: shown quoted and set as `ipcName`. */
  ipcName?: string;
  /** Other words on what the call was about, shown as they are. */
  detail?: string;
  /** A remark, shown in parentheses at the end. */
  note?: string;
}

/**
 * A SystemError for the Linux errno named `code`, worded as node:fs words
 * its errors: `ETIMEDOUT: connection timed out, open '/tmp/f' (no reader
 * came within 50 ms)`.
 */
export function systemError(
  code: string,
  syscall: string,
  context: SystemErrorContext = {},
): SystemError {
  const [errno, text] = native.errorsErrno(code) ?? [0, 'unknown error'];
  const { path, ipcName, detail, note } = context;
  let message = `${code}: ${text}, ${syscall}`;
  for (const quoted of [path, ipcName]) if (quoted !== undefined) message += ` '${quoted}'`;
  if (detail) message += ` ${detail}`;
  if (note) message += ` (${note})`;
  const error = errorWithoutStack(Error, message) as SystemError;
  error.errno = -errno;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  if (ipcName !== undefined) error.ipcName = ipcName;
  return pointAtCaller(error);
}
