// The checksum the bulk and scan cases verify data with: the 32-bit sum of
// one little-endian word per 64-byte cache line. Every cache line is still
// read (memory traffic is the same as a full sum) but the JS arithmetic is a
// 16th, so the check measures the transport rather than V8's add loop (a
// full word sum runs at about 3 GB/s here, below the transports measured).

/** Words between two sampled words (64 bytes). */
export const STRIDE_WORDS = 16;

/** Sum of words 0, 16, 32... of `words`, as int32. */
export function sampleSum(words: Int32Array): number {
  let s = 0;
  for (let i = 0; i < words.length; i += STRIDE_WORDS) s = (s + (words[i] as number)) | 0;
  return s;
}

/**
 * The same checksum over a byte stream arriving in arbitrary pieces: feed
 * every piece in order to {@link StreamSum.add}.
 */
export class StreamSum {
  /** Bytes seen so far. */
  position = 0;
  sum = 0;

  add(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    // Fast path: the piece starts on a sampled word and is 4-byte aligned in memory.
    if (this.position % 64 === 0 && bytes.byteOffset % 4 === 0) {
      const whole = n - (n % 64);
      const words = new Int32Array(bytes.buffer, bytes.byteOffset, whole / 4);
      this.sum = (this.sum + sampleSum(words)) | 0;
      i = whole;
      this.position += whole;
    }
    for (; i < n; i++, this.position++) {
      const inLine = this.position % 64;
      if (inLine < 4) this.sum = (this.sum + ((bytes[i] as number) << (8 * inLine))) | 0;
    }
  }
}
