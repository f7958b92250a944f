// The options every wait of a kernel queue takes (public types only, so the
// published declarations need nothing internal).

/** Options of a blocking queue call. */
export interface QueueWaitOptions {
  /**
   * Give up after this many milliseconds with an `ETIMEDOUT` error. Default:
   * wait forever. `0` tries once. Fractions are fine; any size is fine
   * (`1e33` and `Infinity` mean forever); NaN and negative values throw
   * `ERR_OUT_OF_RANGE`.
   */
  timeout?: number;
}

/** Options of a Promise-returning queue call. */
export interface QueueWaitAsyncOptions extends QueueWaitOptions {
  /** Aborting it rejects the pending call with an `AbortError` (code `ABORT_ERR`). */
  signal?: AbortSignal;
  /**
   * `false`: the pending call does not keep the process alive, like an
   * unref'd timer (Node's `timers/promises` option of the same name).
   * Default `true`.
   */
  ref?: boolean;
}
