// The two ways a command fails, and how a failure reads on stderr: one
// line, with the system call and the object it was about.
import { isSystemError } from '@shmkit/core';

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

/**
 * One line for any error. System errors, shmkit's and Node's alike, read
 * as node:fs words them (`EACCES: permission denied, open '/dev/shm/x'`):
 * the first line of their message. shmkit's own coded errors get their code
 * in front; anything else, its message.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const line = error.message.split('\n')[0] ?? '';
  if (isSystemError(error)) return line;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_SHMKIT') ? `${code}: ${line}` : line;
}
