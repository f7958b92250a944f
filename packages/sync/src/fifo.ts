// FIFOs (named pipes) as a notification channel between processes.
//
// Only mkfifo is native. Opening uses O_NONBLOCK, so it never blocks, and
// reading and writing go through libuv's pipe handles (epoll), the same
// machinery as process.stdin: no read or write ever blocks the event loop
// or occupies a thread-pool thread while waiting.
import { EventEmitter } from 'node:events';
import {
  constants as fsConstants,
  fstatSync,
  closeSync,
  lstatSync,
  open as fsOpen,
  unlinkSync,
} from 'node:fs';
import { Socket } from 'node:net';
import {
  abortError,
  closedError,
  codedError,
  systemError,
  invalidArgType,
  invalidArgValue,
  native,
  onAbort,
  optionalBoolean,
  setLongTimeout,
  validateAbortSignal,
  validateInteger,
  validateMode,
  validateOptions,
  validateString,
  validateTimeout,
  type CodedError,
} from '@shmkit/core/internal';
import type { LongTimer } from '@shmkit/core/internal';

/** Options for {@link Fifo.create}. */
export interface FifoCreateOptions {
  /** Permission bits, applied exactly (no umask). Default 0o600. */
  mode?: number;
  /**
   * Accept a FIFO that already exists at the path instead of failing with
   * EEXIST. Anything that is not a FIFO still fails with EEXIST. Default false.
   */
  reuse?: boolean;
}

/** Options for {@link Fifo.openReader}. */
export interface FifoReaderOptions {
  /**
   * Bytes per record (1 to PIPE_BUF, 4096). The pipe is a byte stream; the
   * reader cuts it into records of this size, so writers must write whole
   * records. Default 4: one C `int`, the token the classic FIFO
   * notification writes (and {@link FifoWriter.notify}'s default).
   */
  recordSize?: number;
  /**
   * Also hold a write end open, so the reader never sees end-of-stream when
   * the last writer closes: writers may come and go (what `open(O_RDWR)`
   * does in C). Default false: the reader ends when all writers have closed.
   */
  keepAlive?: boolean;
}

/** Options for {@link Fifo.openWriter}. */
export interface FifoWriterOptions {
  /**
   * When no process has the FIFO open for reading, opening for writing
   * fails with ENXIO. By default the open is retried (asynchronously, with
   * backoff up to 100 ms) until a reader appears; false fails at once.
   */
  waitForReader?: boolean;
  /** Give up waiting for a reader after this many ms (rejects with ETIMEDOUT). Default: no limit. */
  timeout?: number;
  /** Cancels the wait for a reader (rejects with AbortError). */
  signal?: AbortSignal;
}

/** Options for {@link FifoReader.wait}. */
export interface FifoWaitOptions {
  /** Reject with ETIMEDOUT after this many ms. Default: no limit. */
  timeout?: number;
  /** Reject with AbortError when aborted; the record stays queued. */
  signal?: AbortSignal;
}

const PIPE_BUF = 4096;
const DEFAULT_RECORD_SIZE = 4;
/** Queued records above which the reader stops reading the pipe (backpressure). */
const HIGH_WATER = 1024;

function validatePath(path: unknown): string {
  const p = validateString(path, 'path');
  if (p.length === 0 || p.includes('\0')) {
    throw invalidArgValue('path', 'must be a non-empty string without null bytes', p);
  }
  return p;
}

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fsOpen(path, flags, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

function notFifo(path: string): CodedError {
  return invalidArgValue('path', 'is not a FIFO', path) as CodedError;
}

/** Checks that `fd` is a FIFO; closes it and throws otherwise. */
function requireFifo(fd: number, path: string): void {
  let isFifo = false;
  try {
    isFifo = fstatSync(fd).isFIFO();
  } finally {
    if (!isFifo) closeSync(fd);
  }
  if (!isFifo) throw notFifo(path);
}

function timeoutError(syscall: string, path: string, note: string): CodedError {
  return systemError('ETIMEDOUT', syscall, { path, note });
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const forget = signal
      ? onAbort(signal, () => {
          timer.clear();
          reject(abortError(signal));
        })
      : undefined;
    const timer = setLongTimeout(() => {
      forget?.();
      resolve();
    }, ms);
  });
}

/**
 * A FIFO (named pipe, `mkfifo`): the classic way for one process to tell
 * another "something is ready", e.g. that new data sits in shared memory.
 *
 * Static helpers create and remove the FIFO; {@link Fifo.openReader} and
 * {@link Fifo.openWriter} give the two ends. Everything runs on Node's
 * non-blocking I/O: opening uses O_NONBLOCK, reading waits in epoll.
 *
 * @example
 * ```ts
 * Fifo.create('/tmp/ready');
 * const reader = await Fifo.openReader('/tmp/ready');
 * const writer = await Fifo.openWriter('/tmp/ready');
 * await writer.notify();
 * for await (const token of reader) { console.log('ready', token.readInt32LE(0)); break; }
 * writer.close(); reader.close(); Fifo.unlink('/tmp/ready');
 * ```
 */
export class Fifo {
  private constructor() {}

  /**
   * mkfifo: creates a FIFO at `path` with exactly `mode` (default 0o600).
   * @returns true if this call created it, false if `reuse` accepted an existing FIFO.
   * @throws SystemError EEXIST (exists and not `reuse`, or not a FIFO), ENOENT, EACCES.
   * @throws TypeError ERR_INVALID_ARG_VALUE for an empty path or one with null bytes.
   */
  static create(path: string, options?: FifoCreateOptions): boolean {
    const p = validatePath(path);
    const opts = validateOptions(options);
    const mode = opts.mode === undefined ? 0o600 : validateMode(opts.mode, 'options.mode');
    const reuse = optionalBoolean(opts.reuse, 'options.reuse', false);
    return native.fifoCreate(p, mode, reuse);
  }

  /**
   * Removes the FIFO at `path`. Refuses anything that is not a FIFO, so a
   * mistyped path never deletes a regular file.
   * @throws SystemError ENOENT; TypeError ERR_INVALID_ARG_VALUE if not a FIFO.
   */
  static unlink(path: string): void {
    const p = validatePath(path);
    if (!lstatSync(p).isFIFO()) throw notFifo(p);
    unlinkSync(p);
  }

  /**
   * Opens the read end (O_RDONLY | O_NONBLOCK: succeeds at once, with or
   * without writers).
   * @throws SystemError ENOENT, EACCES; TypeError ERR_INVALID_ARG_VALUE if not a FIFO;
   *   RangeError ERR_OUT_OF_RANGE for a bad recordSize.
   */
  static async openReader(path: string, options?: FifoReaderOptions): Promise<FifoReader> {
    const p = validatePath(path);
    const opts = validateOptions(options);
    const recordSize =
      opts.recordSize === undefined
        ? DEFAULT_RECORD_SIZE
        : validateInteger(opts.recordSize, 'options.recordSize', 1, PIPE_BUF);
    const keepAlive = optionalBoolean(opts.keepAlive, 'options.keepAlive', false);
    const fd = await openFd(p, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    requireFifo(fd, p);
    let keepAliveFd: number | undefined;
    if (keepAlive) {
      try {
        // We are a reader now, so a non-blocking write open cannot hit ENXIO.
        keepAliveFd = await openFd(p, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    }
    return new FifoReader(p, fd, recordSize, keepAliveFd);
  }

  /**
   * Opens the write end (O_WRONLY | O_NONBLOCK). Without a reader the kernel
   * says ENXIO; by default the open is retried asynchronously until a reader
   * appears, the timeout passes or the signal aborts.
   * @throws SystemError ENXIO (no reader and `waitForReader: false`), ENOENT, EACCES.
   * @throws Error ETIMEDOUT, AbortError.
   */
  static async openWriter(path: string, options?: FifoWriterOptions): Promise<FifoWriter> {
    const p = validatePath(path);
    const opts = validateOptions(options);
    const waitForReader = optionalBoolean(opts.waitForReader, 'options.waitForReader', true);
    const timeout = validateTimeout(opts.timeout, 'options.timeout');
    const signal = validateAbortSignal(opts.signal);
    const deadline = performance.now() + timeout;
    let pause = 2;
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      try {
        const fd = await openFd(p, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
        requireFifo(fd, p);
        return new FifoWriter(p, fd);
      } catch (error) {
        if ((error as CodedError).code !== 'ENXIO' || !waitForReader) throw error;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw timeoutError('open', p, `no reader came within ${timeout} ms`);
      await delay(Math.min(pause, left), signal);
      pause = Math.min(pause * 2, 100);
    }
  }

  /** PIPE_BUF: the largest record the kernel writes atomically (4096 on Linux). */
  static get pipeBuf(): number {
    return native.fifoPipeBuf();
  }
}

interface Waiter {
  resolve(record: Buffer): void;
  reject(error: Error): void;
}

/**
 * The read end of a FIFO, cutting the byte stream into fixed-size records.
 *
 * Three ways to consume records (use one):
 * - `await reader.wait({ timeout, signal })` for the next record;
 * - `for await (const record of reader)` until the stream ends;
 * - `reader.on('record', fn)`: while a 'record' listener is attached,
 *   records go to listeners instead of the queue (like a flowing stream).
 *
 * Emits 'record' (Buffer), 'end' (every writer closed; never with
 * `keepAlive`) and 'error'. Works with `using`.
 */
export class FifoReader extends EventEmitter implements AsyncIterable<Buffer>, Disposable {
  /** The FIFO's path. */
  readonly path: string;
  /** Bytes per record. */
  readonly recordSize: number;
  #socket: Socket | undefined;
  #keepAliveFd: number | undefined;
  #partial: Buffer = Buffer.alloc(0);
  #queue: Buffer[] = [];
  #waiters: Waiter[] = [];
  #ended = false;
  #error: Error | undefined;

  /** @internal Use {@link Fifo.openReader}. */
  constructor(path: string, fd: number, recordSize: number, keepAliveFd: number | undefined) {
    super();
    this.path = path;
    this.recordSize = recordSize;
    this.#keepAliveFd = keepAliveFd;
    const socket = new Socket({ fd, readable: true, writable: false, allowHalfOpen: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#finish(undefined));
    socket.on('error', (error: Error) => this.#finish(error));
  }

  #onData(chunk: Buffer): void {
    let data = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
    while (data.length >= this.recordSize) {
      // A copy, so a record outlives the chunk it came in.
      this.#deliver(Buffer.from(data.subarray(0, this.recordSize)));
      data = data.subarray(this.recordSize);
    }
    this.#partial = Buffer.from(data);
  }

  #deliver(record: Buffer): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(record);
    else if (this.listenerCount('record') > 0) this.emit('record', record);
    else {
      this.#queue.push(record);
      if (this.#queue.length >= HIGH_WATER) this.#socket?.pause();
    }
  }

  #finish(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const failure = error ?? ended(this.path);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(failure);
    if (error) {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    } else {
      this.emit('end');
    }
  }

  /** True once every writer closed (or an error or close() ended the stream). */
  get ended(): boolean {
    return this.#ended;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#socket === undefined;
  }

  /** Records received and not yet consumed. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * The next record. Never blocks the event loop.
   * @throws Error ERR_SHMKIT_FIFO_ENDED once every writer closed and the queue is empty;
   *   ETIMEDOUT; AbortError; ERR_SHMKIT_CLOSED after close().
   */
  wait(options?: FifoWaitOptions): Promise<Buffer> {
    let timeout: number;
    let signal: AbortSignal | undefined;
    try {
      const opts = validateOptions(options);
      timeout = validateTimeout(opts.timeout, 'options.timeout');
      signal = validateAbortSignal(opts.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const queued = this.#take();
    if (queued) return Promise.resolve(queued);
    if (this.#socket === undefined) return Promise.reject(closedError('FifoReader'));
    if (this.#ended) return Promise.reject(this.#error ?? ended(this.path));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<Buffer>((resolve, reject) => {
      let timer: LongTimer | undefined;
      let forget: (() => void) | undefined;
      const cleanup = () => {
        timer?.clear();
        forget?.();
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
      };
      const waiter: Waiter = {
        resolve: (record) => {
          cleanup();
          resolve(record);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      if (timeout !== Infinity)
        timer = setLongTimeout(
          () =>
            waiter.reject(timeoutError('read', this.path, `no message came within ${timeout} ms`)),
          timeout,
        );
      if (signal) forget = onAbort(signal, () => waiter.reject(abortError(signal)));
      this.#waiters.push(waiter);
    });
  }

  #take(): Buffer | undefined {
    const record = this.#queue.shift();
    if (record && this.#queue.length < HIGH_WATER / 2) this.#socket?.resume();
    return record;
  }

  /** Records until the stream ends (every writer closed) or close(). */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      try {
        yield await this.wait();
      } catch (error) {
        const code = (error as CodedError).code;
        if (code === 'ERR_SHMKIT_FIFO_ENDED' || code === 'ERR_SHMKIT_CLOSED') return;
        throw error;
      }
    }
  }

  /** Stops reading and closes the descriptors. Pending waits reject with ERR_SHMKIT_CLOSED. */
  close(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    socket.destroy();
    if (this.#keepAliveFd !== undefined) {
      closeSync(this.#keepAliveFd);
      this.#keepAliveFd = undefined;
    }
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedError('FifoReader'));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ended(path: string): CodedError {
  return codedError('ERR_SHMKIT_FIFO_ENDED', `every writer of the FIFO ${path} has closed`);
}

/** 1 as a host-order C int: what the classic C notifier writes. */
function defaultToken(): Buffer {
  const token = Buffer.alloc(4);
  new Int32Array(token.buffer, token.byteOffset, 1)[0] = 1;
  return token;
}

/**
 * The write end of a FIFO. Writes of at most PIPE_BUF bytes are atomic, so
 * records from several writers never interleave. Works with `using`, and
 * with `await using`, which waits until queued records are written.
 */
export class FifoWriter implements Disposable, AsyncDisposable {
  /** The FIFO's path. */
  readonly path: string;
  #socket: Socket | undefined;
  #error: Error | undefined;

  /** @internal Use {@link Fifo.openWriter}. */
  constructor(path: string, fd: number) {
    this.path = path;
    const socket = new Socket({ fd, readable: false, writable: true });
    // EPIPE (every reader gone) surfaces through notify()'s promise; keep
    // the socket's 'error' event from becoming an uncaught exception.
    socket.on('error', (error: Error) => {
      this.#error ??= error;
    });
    this.#socket = socket;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#socket === undefined;
  }

  /**
   * Writes one record: by default a 4-byte C `int` 1 in host byte order.
   * Resolves once the kernel has it; if the pipe is full it waits (in
   * epoll, not on the event loop) for the reader to drain it.
   *
   * @param record - Bytes or a UTF-8 string, 1 to PIPE_BUF (4096) bytes.
   * @throws RangeError ERR_OUT_OF_RANGE for an empty or too large record.
   * @throws SystemError EPIPE when every reader has closed; ERR_SHMKIT_CLOSED after close().
   */
  async notify(record?: Uint8Array | string): Promise<void> {
    let bytes: Uint8Array;
    if (record === undefined) bytes = defaultToken();
    else if (typeof record === 'string') bytes = Buffer.from(record);
    else if (record instanceof Uint8Array) bytes = record;
    else throw invalidArgType('record', 'of type string or an instance of Uint8Array', record);
    validateInteger(bytes.byteLength, 'record.byteLength', 1, PIPE_BUF);
    const socket = this.#socket;
    if (socket === undefined) throw closedError('FifoWriter');
    if (this.#error) throw this.#error;
    return new Promise((resolve, reject) => {
      socket.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes the write end; a reader sees end-of-stream once every writer has closed. */
  close(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    // end() flushes queued records before closing the descriptor.
    socket.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Closes the write end after every queued record has reached the pipe,
   * and resolves once the descriptor is closed: `await using writer = await
   * Fifo.openWriter(path)` ends the block with the records delivered. Rejects
   * with the write's error (EPIPE: every reader closed) if queued records
   * could not be written. Calling it again, or after close(), does nothing.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    // Already torn down by a write error, which notify() reported.
    if (socket.closed) return;
    await new Promise<void>((resolve, reject) => {
      socket.once('close', (hadError: boolean) => {
        if (hadError && this.#error) reject(this.#error);
        else resolve();
      });
      socket.end();
    });
  }
}
