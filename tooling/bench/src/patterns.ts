// The data the bulk cases move: PATTERNS distinct chunks of CHUNK bytes,
// sent in rotation. Distinct chunks make a stale or repeated slot change the
// checksum; generating them deterministically lets the receiver compute the
// expected checksum without being told.
import { sampleSum } from './checksum.js';

export const CHUNK = 1024 * 1024;
export const PATTERNS = 16;
/** Ring slots of the shared-memory transfer (and of the C memcpy ceiling). */
export const SLOTS = 4;

/** The PATTERNS chunks, filled by xorshift32 from a fixed seed. */
export function makePatterns(): Buffer[] {
  const out: Buffer[] = [];
  let x = 0x9e3779b9 | 0;
  for (let p = 0; p < PATTERNS; p++) {
    // allocUnsafeSlow: not from the pool, so 4-byte aligned.
    const b = Buffer.allocUnsafeSlow(CHUNK);
    const words = new Int32Array(b.buffer, b.byteOffset, CHUNK / 4);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    out.push(b);
  }
  return out;
}

/** The checksum a receiver must see after `totalBytes` (a multiple of CHUNK) sent in rotation. */
export function expectedSum(patterns: Buffer[], totalBytes: number): number {
  const sums = patterns.map((b) => sampleSum(new Int32Array(b.buffer, b.byteOffset, CHUNK / 4)));
  let s = 0;
  for (let k = 0; k < totalBytes / CHUNK; k++) s = (s + (sums[k % PATTERNS] as number)) | 0;
  return s;
}
