// What every command gets: its output streams and environment.
import type { Io, Output } from '../io';

export interface Context {
  readonly io: Io;
  /** Data: tables, JSON, hex dumps. */
  readonly out: Output;
  /** Diagnostics: warnings, refusals, errors. */
  readonly err: Output;
}

/** A command: its help text and what runs it (resolving to the exit status). */
export interface Command {
  readonly name: string;
  /** One line for `shmkit --help`. */
  readonly summary: string;
  /** The whole `shmkit <name> --help` text. */
  readonly help: string;
  run(args: string[], context: Context): Promise<number> | number;
}

/** Prints a warning on stderr, as every command does: `shmkit: warning: ...`. */
export function warn(context: Context, message: string): void {
  context.err.line(`${context.err.paint('yellow', 'shmkit: warning:')} ${message}`);
}
