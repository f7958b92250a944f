// What a process holds, read from /proc: its native threads and its
// resident memory.
import { readdirSync } from 'node:fs';

/** Native threads of this process (entries of /proc/self/task). */
export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** Resident set size in MiB, after a full GC when `global.gc` is exposed (`--expose-gc`). */
export function residentMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return process.memoryUsage.rss() / 1024 ** 2;
}
