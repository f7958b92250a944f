// Who owns an end, and whether that owner still runs.
//
// An owner is a Linux thread id (the pid for a single-threaded process)
// plus the thread's start time from /proc, so that an id the kernel has
// given to a new thread is not mistaken for the old owner. Checks cost a
// kill(2) and a small /proc read: only slow paths make them.
import { readFileSync } from 'node:fs';
import { threadId } from './native';

/** Largest thread id Linux hands out (PID_MAX_LIMIT). */
const MAX_TID = 4_194_304;

/**
 * Field 22 of /proc/<tid>/stat (start time in clock ticks since boot, low
 * 32 bits) and whether the thread is a zombie or dead; undefined when the
 * file cannot be read.
 */
function statOf(path: string): { start: number; gone: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
  // The command name in parentheses may itself hold ') ': split at the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const start = Number(fields[19]);
  return {
    start: Number.isFinite(start) ? start % 2 ** 32 | 0 : 0,
    gone: state === 'Z' || state === 'X' || state === 'x',
  };
}

let own: { tid: number; start: number } | undefined;

/** This thread's owner identity (cached: module state is per thread). */
export function self(): { tid: number; start: number } {
  if (own === undefined) {
    const tid = threadId();
    own = { tid, start: statOf('/proc/thread-self/stat')?.start ?? 0 };
  }
  return own;
}

/**
 * Whether the owner `tid` (recorded with start time `start`, 0 = unknown)
 * still runs. Words read from shared memory are untrusted: anything that is
 * not a plausible thread id counts as dead, so kill() never sees 0 or a
 * negative number (which would mean a process group).
 */
export function isAlive(tid: number, start: number): boolean {
  if (!Number.isInteger(tid) || tid <= 0 || tid > MAX_TID) return false;
  try {
    process.kill(tid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = statOf(`/proc/${tid}/stat`);
  if (stat === undefined) return true; // hidden (hidepid): kill() said it exists
  if (stat.gone) return false;
  return start === 0 || stat.start === 0 || stat.start === start;
}
