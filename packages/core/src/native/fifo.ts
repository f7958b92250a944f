// Native functions of the FIFO area (packages/core/src/bind/fifo.rs).
export interface FifoNative {
  /** mkfifo with exactly `mode`; with `reuse` an existing FIFO is accepted (returns false). */
  fifoCreate(path: string, mode: number, reuse: boolean): boolean;
  /** PIPE_BUF: the largest write a pipe keeps atomic. */
  fifoPipeBuf(): number;
}
