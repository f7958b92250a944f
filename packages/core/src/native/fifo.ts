// Native functions of the FIFO area: declared by the package that uses them.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface FifoNative {}
