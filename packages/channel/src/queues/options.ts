// The options every wait of a kernel queue takes (public types only, so the
// published declarations need nothing internal).

/** Options of a blocking queue call. */
export interface QueueWaitOptions {
  /**
   * Give up after this many milliseconds with an `ETIMEDOUT` error. Default:
   * wait forever. `0` tries once. Fractions are fine; very large values
   * (up to Infinity) mean forever.
   */
  timeout?: number;
}

/** Options of a Promise-returning queue call. */
export interface QueueWaitAsyncOptions extends QueueWaitOptions {
  /** Aborting it rejects the pending call with an `AbortError`. */
  signal?: AbortSignal;
}
