// The lock word both mutex kinds sleep on: the kernel's robust-futex layout,
// which Mutex implements itself and glibc's pthread_mutex_t uses as its
// first int. Not exported from the package.
import { spinUntil } from './wait';

/** Bits 0-29: the owner's thread id (0 = unlocked). */
export const TID_MASK = 0x3fff_ffff;
/** Bit 31: some thread may be sleeping on the word; unlock must FUTEX_WAKE. */
export const WAITERS = 0x8000_0000 | 0;

/** Re-checks the lock word at `view[0]` up to `spin` times until it has no owner. */
export function spinWhileOwned(view: Int32Array, spin: number): void {
  if (spin > 0) spinUntil(() => (Atomics.load(view, 0) & TID_MASK) === 0, spin);
}

/**
 * Sets WAITERS in the lock word last read as `value`, so that the owner's
 * unlock wakes sleepers: the value to sleep on, or null when the word
 * changed meanwhile (read it again).
 */
export function markWaiting(view: Int32Array, value: number): number | null {
  const waiting = value | WAITERS;
  if (value !== waiting && Atomics.compareExchange(view, 0, value, waiting) !== value) return null;
  return waiting;
}
