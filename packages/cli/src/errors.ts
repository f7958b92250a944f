// The two ways a command fails, and how a failure reads on stderr: one
// line, with the system call and the object it was about.
import { getSystemErrorMap } from 'node:util';
import { isSystemError, type SystemError } from '@shmkit/core';

/** Exit status of a command that ran and did its job. */
export const EXIT_OK = 0;
/** Exit status of a command that ran and failed (a system error, a refusal). */
export const EXIT_FAILURE = 1;
/** Exit status of a command line that could not be understood. */
export const EXIT_USAGE = 2;

/** A command line that cannot be run as written: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose `--help` explains it, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A command that ran and could not do what was asked: exit status 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

const systemMessages = getSystemErrorMap();

/** What a system error was about, as Node prints it: `'/dev/shm/x'`, `key 0x0000abcd`. */
function subject(error: SystemError): string {
  if (error.path !== undefined) return `'${error.path}'`;
  if (error.ipcName !== undefined) return `'${error.ipcName}'`;
  if (error.key !== undefined) return `key 0x${error.key.toString(16).padStart(8, '0')}`;
  if (error.id !== undefined) return `id ${error.id}`;
  return '';
}

/**
 * One line for any error: `EACCES: permission denied, open '/dev/shm/x'`
 * for system errors (Node's order and wording, whatever the message of the
 * library that threw it), the message's first line otherwise.
 */
export function describeError(error: unknown): string {
  if (isSystemError(error)) {
    const text = systemMessages.get(error.errno)?.[1] ?? error.code;
    const about = subject(error);
    const hint = error.hint === undefined ? '' : ` (${error.hint})`;
    return `${error.code}: ${text}, ${error.syscall}${about ? ` ${about}` : ''}${hint}`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const line = error.message.split('\n')[0] ?? '';
    return typeof code === 'string' && code.startsWith('ERR_SHMKIT') ? `${code}: ${line}` : line;
  }
  return String(error);
}

/** A system error of Node's shape, for failures found without a throwing call. */
export function systemError(
  code: string,
  syscall: string,
  path: string,
  hint?: string,
): SystemError {
  const errno = [...systemMessages].find(([, [name]]) => name === code)?.[0] ?? -1;
  const text = systemMessages.get(errno)?.[1] ?? code;
  const error: SystemError = Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), {
    code,
    errno,
    syscall,
    path,
  });
  if (hint !== undefined) error.hint = hint;
  return error;
}
