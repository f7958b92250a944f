// The one process-wide list of named objects to remove when the process
// ends: what `removeOnExit` in @shmkit/posix-shm, sysv-shm and sync feeds.
//
// Shared memory outlives the process that made it, so a program stopped
// with Ctrl-C leaves its objects behind and its next run fails with EEXIST.
// Node emits 'exit' for a normal end, process.exit() and an uncaught
// exception, but not for a death by signal: catching SIGINT/SIGTERM/SIGHUP
// is the only way to clean up then, and a library must not catch signals
// unless asked (design principle 5). So signal handlers are installed only
// while some object asked for 'signals', and the signal is re-raised after
// the cleanup, so the process still dies of it (exit status 128 + n, which
// is what shells and supervisors expect).
import { fstatSync, lstatSync } from 'node:fs';
import { invalidArgValue } from './errors';

/**
 * When an object this process created is removed automatically:
 *
 * - `false` (the default): never; the object outlives the process.
 * - `true`: when the process exits: the event loop ran dry, `process.exit()`,
 *   or an uncaught exception (Node's `'exit'` event). No signal handler is
 *   installed, so a death by signal (Ctrl-C) still leaves the object.
 * - `'signals'`: also when the process gets SIGINT, SIGTERM or SIGHUP and
 *   nothing else handles that signal: the objects are removed, then the
 *   signal is raised again so the process ends the way it would have.
 *
 * Nothing can run on SIGKILL or a crash; `shmkit rm --stale` (from
 * `@shmkit/cli`) cleans up after those.
 */
export type RemoveOnExit = boolean | 'signals';

/** The signals `'signals'` handles: the ones that end a process by default when a user or supervisor stops it. */
export const REMOVE_ON_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** A registered removal: cancel it when the object was removed another way. */
export interface ExitRemoval {
  /** Forgets the removal (idempotent). Handlers go once nothing needs them. */
  cancel(): void;
}

interface Entry {
  /** What it removes, for the warning when removal fails: "POSIX shm '/jobs'". */
  readonly what: string;
  readonly remove: () => void;
  readonly onSignals: boolean;
}

const entries = new Map<number, Entry>();
let nextId = 1;
let exitHooked = false;
let signalsHooked = false;

/**
 * Validates a `removeOnExit` option: `undefined` (false), `true`, `false` or
 * `'signals'`.
 * @throws TypeError ERR_INVALID_ARG_VALUE for anything else.
 */
export function validateRemoveOnExit(value: unknown, name = 'options.removeOnExit'): RemoveOnExit {
  if (value === undefined) return false;
  if (value === true || value === false || value === 'signals') return value;
  throw invalidArgValue(name, "must be true, false or 'signals'", value);
}

/** Runs the removals that `which` selects, newest first, each at most once. */
function runRemovals(which: (entry: Entry) => boolean): void {
  for (const [id, entry] of [...entries].reverse()) {
    if (!which(entry)) continue;
    entries.delete(id);
    try {
      entry.remove();
    } catch (error) {
      // Nobody is left to throw to. A removal that found the object already
      // gone returns quietly; anything else deserves one line on stderr.
      const message = error instanceof Error ? error.message : String(error);
      try {
        process.stderr.write(`shmkit: could not remove ${entry.what} at exit: ${message}\n`);
      } catch {
        // stderr is gone too.
      }
    }
  }
  unhookIfIdle();
}

function onExit(): void {
  runRemovals(() => true);
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else listens too: that code owns the signal and decides whether
  // the process ends. If it exits, the 'exit' hook removes everything then;
  // if it carries on, its objects must stay.
  if (process.listenerCount(signal) > 1) return;
  runRemovals((entry) => entry.onSignals);
  unhookSignals();
  // With no listener left, the signal's default action applies again: it
  // ends the process as if nothing had caught it. Should the signal not be
  // fatal after all (someone else's native handler), exit as a shell would
  // report it.
  process.kill(process.pid, signal);
  process.exit(128 + (signalNumber(signal) ?? 1));
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const numbers: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  return numbers[signal];
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  // First in line: when this runs, every other listener of the signal is
  // still registered (a `once` listener removes itself when it runs), so
  // onSignal can tell whether someone else handles it.
  for (const signal of REMOVE_ON_SIGNALS) process.prependListener(signal, onSignal);
}

function unhookSignals(): void {
  if (!signalsHooked) return;
  signalsHooked = false;
  for (const signal of REMOVE_ON_SIGNALS) process.off(signal, onSignal);
}

function unhookIfIdle(): void {
  if (![...entries.values()].some((entry) => entry.onSignals)) unhookSignals();
  if (entries.size === 0 && exitHooked) {
    exitHooked = false;
    process.off('exit', onExit);
  }
}

/**
 * Registers `remove` to run when this process ends, as `when` says (see
 * {@link RemoveOnExit}); `false` registers nothing. Removals run newest
 * first, once each; a removal that throws is reported on stderr and the
 * others still run. `remove` must check that the object is still the one
 * this process created (same inode, same id) before removing it, and return
 * quietly when it is already gone.
 *
 * For @shmkit packages (exported from `@shmkit/core/internal`): they call it
 * from `create(..., { removeOnExit })`, and cancel it when the user removes
 * the object.
 *
 * @param what - Names the object in the warning printed if removal fails.
 */
export function registerExitRemoval(
  what: string,
  remove: () => void,
  when: RemoveOnExit,
): ExitRemoval {
  if (when === false) return { cancel: () => {} };
  const id = nextId++;
  entries.set(id, { what, remove, onSignals: when === 'signals' });
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', onExit);
  }
  if (when === 'signals') hookSignals();
  return {
    cancel() {
      if (entries.delete(id)) unhookIfIdle();
    },
  };
}

/**
 * A test that `path` still names the file it names now (same device and
 * inode, never following a final symlink): what a file-backed removal
 * checks first, so that an object someone else removed and re-created under
 * the same name in the meantime is left alone.
 *
 * @param fd - An open descriptor of the object, when there is one: the
 *   identity then comes from it, not from a second look at the path.
 * @throws the `lstat`/`fstat` error when the file cannot be looked at now.
 */
export function sameFileCheck(path: string, fd?: number): () => boolean {
  const before =
    fd === undefined ? lstatSync(path, { bigint: true }) : fstatSync(fd, { bigint: true });
  return () => {
    try {
      const now = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      return now !== undefined && now.ino === before.ino && now.dev === before.dev;
    } catch {
      return false; // no longer reachable by us: not ours to remove
    }
  };
}
