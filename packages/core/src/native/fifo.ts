// Native functions of the FIFO area (packages/core/src/bind/fifo.rs).
export interface FifoNative {
  /** mkfifo with exactly `mode`; with `reuse` an existing FIFO is accepted (returns false). */
  fifoCreate(path: string, mode: number, reuse: boolean): boolean;
  /**
   * Opens the read or write end O_NONBLOCK and returns the descriptor (the
   * caller owns it). Anything but a FIFO is refused, ERR_INVALID_ARG_VALUE,
   * without being opened; the write end is ENXIO while there is no reader.
   */
  fifoOpen(path: string, write: boolean): number;
  /** PIPE_BUF: the largest write a pipe keeps atomic. */
  fifoPipeBuf(): number;
}
