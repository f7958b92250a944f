// One process's view of a channel's shared object: the mapping, the views
// bound over it once, and the checks every end makes on slow paths.
import type { Mapping } from '@shmkit/core';
import { busFaults, closedError } from '@shmkit/core/internal';
import type { PosixShm } from '@shmkit/posix-shm';
import { corrupt } from './errors';
import { type Layout, W_RECEIVER_WAITING } from './layout';
import { WakeWord } from './native';

export class ChannelMemory {
  readonly name: string;
  readonly layout: Layout;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  /** The same memory as a Buffer, for UTF-8 writes and reads in place. */
  readonly buffer: Buffer;
  readonly receiverWaiting: WakeWord;
  readonly #mapping: Mapping;
  readonly #shm: PosixShm;
  #broken: Error | undefined;
  /** False once closed or broken: the hot paths test this one field. */
  ok = true;
  /** {@link busFaults} when this mapping was last known to be whole. */
  #faultsSeen = busFaults[0]!;
  /** Async waits asleep on words of this mapping: it is unmapped only after the last. */
  #sleeping = 0;
  #unmapLater = false;

  constructor(name: string, layout: Layout, shm: PosixShm, mapping: Mapping) {
    this.name = name;
    this.layout = layout;
    this.#shm = shm;
    this.#mapping = mapping;
    const ab = mapping.buffer;
    this.words = new Int32Array(ab, 0, layout.totalBytes / 4);
    this.bytes = new Uint8Array(ab, 0, layout.totalBytes);
    this.buffer = Buffer.from(ab, 0, layout.totalBytes);
    this.receiverWaiting = new WakeWord(this.words, W_RECEIVER_WAITING);
    // A cut before the fault count above was read (while the header was
    // written or checked) would go unnoticed by assertIntact.
    if (mapping.truncated) {
      mapping.close();
      throw corrupt(name, 'the object was truncated while it was being set up');
    }
  }

  get closed(): boolean {
    return this.#mapping.closed;
  }

  /** Throws ERR_SHMKIT_CLOSED after close(), or the error that broke the channel. */
  live(what: string): void {
    if (this.ok) return;
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#mapping.closed) throw closedError(what);
  }

  /**
   * Marks the channel unusable in this process: every later call throws
   * `error` without touching the shared memory again.
   */
  breakWith(error: Error): Error {
    this.#broken ??= error;
    this.ok = false;
    return this.#broken;
  }

  /**
   * fstat, before a wait: an object another process shrank would raise
   * SIGBUS on the next touch past its end, so stop before that.
   */
  checkSize(): void {
    if (this.#broken !== undefined) throw this.#broken;
    let size: number;
    try {
      size = this.#shm.size;
    } catch {
      return; // the descriptor is gone only when the channel closed; live() reports that
    }
    if (size < this.layout.totalBytes) {
      const error = this.breakWith(
        corrupt(
          this.name,
          `the object was truncated to ${size} bytes (it needs ${this.layout.totalBytes}); stopped before touching it`,
        ),
      );
      // Unmapped at once: every view is then empty, so no end's close(),
      // publish or flag store can touch a page past the new end (SIGBUS).
      // Async waits asleep on its words are ended by the unmap itself.
      this.#unmap();
      throw error;
    }
  }

  /**
   * After touching the shared pages: throws ERR_SHMKIT_CHANNEL_CORRUPT when
   * a touch found a page cut off by a truncation. Such a touch would have
   * been SIGBUS; @shmkit/core caught it and mapped zero pages there, so
   * what was just read may be zeros and what was written reached no one.
   * One load and compare while no fault happened anywhere in the process.
   */
  assertIntact(): void {
    if (busFaults[0] !== this.#faultsSeen) this.#faulted();
  }

  #faulted(): void {
    const count = busFaults[0]!;
    if (this.#mapping.truncated) {
      const error = this.breakWith(
        corrupt(
          this.name,
          'the object was truncated under this process: a page of it was found cut off (it reads as zeros now)',
        ),
      );
      this.#unmap();
      throw error;
    }
    // Another mapping's fault; this object may have shrunk all the same.
    this.checkSize();
    this.#faultsSeen = count;
  }

  /** An async wait is about to sleep on a word of this mapping. */
  sleepStarted(): void {
    this.#sleeping++;
  }

  /** It woke up (or failed): the mapping may go now if close() asked for it. */
  sleepEnded(): void {
    if (--this.#sleeping === 0 && this.#unmapLater) this.#unmap();
  }

  /**
   * Unmaps, or, while async waits still sleep on its words (their ends
   * woke them on close, so they settle within a moment), as soon as the
   * last one returns: the native wait must not outlive the memory.
   */
  close(): void {
    this.ok = false;
    if (this.#sleeping > 0) this.#unmapLater = true;
    else this.#unmap();
  }

  #unmap(): void {
    this.#unmapLater = false;
    if (this.#mapping.closed) return;
    this.#mapping.close();
    this.#shm.close();
  }
}
