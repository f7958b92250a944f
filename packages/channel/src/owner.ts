// Taking, giving back and reclaiming the owner word of a ring or a
// receiver slot. The order of the writes is part of the format (LAYOUT.md):
// the start time is cleared before the owner word and written after it,
// so that a checker who reads the owner first and the start time second
// never pairs a new owner with an old owner's start time.
import {
  EXIT_CLOSED,
  EXIT_DIED,
  R_DEATHS,
  R_EXIT,
  R_LAST_DEAD,
  R_OWNER,
  R_OWNER_START,
  W_DEATHS,
  W_LAST_EXIT,
  ringWord,
} from './layout';
import { isAlive, self } from './liveness';

/** Takes a free owner word for this thread; false when someone holds it. */
export function claim(words: Int32Array, ownerW: number, startW: number): boolean {
  const me = self();
  if (Atomics.compareExchange(words, ownerW, 0, me.tid) !== 0) return false;
  Atomics.store(words, startW, me.start);
  return true;
}

/** Gives the owner word back, if it is still this thread's. */
export function release(words: Int32Array, ownerW: number, startW: number): void {
  if (words.length === 0) return;
  const me = self();
  if (Atomics.load(words, ownerW) !== me.tid) return;
  Atomics.store(words, startW, 0);
  Atomics.compareExchange(words, ownerW, me.tid, 0);
}

/**
 * When the owner of the word is dead, frees the word and returns the dead
 * owner's thread id; otherwise returns 0.
 */
export function reclaimIfDead(words: Int32Array, ownerW: number, startW: number): number {
  const owner = Atomics.load(words, ownerW);
  if (owner === 0) return 0;
  const start = Atomics.load(words, startW);
  if (isAlive(owner, start)) return 0;
  Atomics.store(words, startW, 0);
  return Atomics.compareExchange(words, ownerW, owner, 0) === owner ? owner : 0;
}

/** Frees ring `r` from a dead sender and records the death for the receiver. */
export function reclaimRing(words: Int32Array, r: number): number {
  const dead = reclaimIfDead(words, ringWord(r, R_OWNER), ringWord(r, R_OWNER_START));
  if (dead !== 0) {
    Atomics.store(words, ringWord(r, R_LAST_DEAD), dead);
    Atomics.store(words, ringWord(r, R_EXIT), EXIT_DIED);
    Atomics.add(words, ringWord(r, R_DEATHS), 1);
    Atomics.add(words, W_DEATHS, 1);
    Atomics.store(words, W_LAST_EXIT, EXIT_DIED);
  }
  return dead;
}

/** A sender's clean departure from ring `r`. */
export function leaveRing(words: Int32Array, r: number): void {
  if (words.length === 0) return;
  if (Atomics.load(words, ringWord(r, R_OWNER)) !== self().tid) return;
  Atomics.store(words, ringWord(r, R_EXIT), EXIT_CLOSED);
  Atomics.store(words, W_LAST_EXIT, EXIT_CLOSED);
  release(words, ringWord(r, R_OWNER), ringWord(r, R_OWNER_START));
}
