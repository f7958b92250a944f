// The receiving end of a channel: peek/release over the ring, copies and
// codecs on top, waits in three forms, the async iterator and a Readable.
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import {
  abortError,
  closedError,
  invalidArgValue,
  optionalBoolean,
  validateInteger,
  validateOptions,
} from '@shmkit/core/internal';
import { AdaptiveSpin } from './adaptive-spin';
import { BroadcastReader } from './broadcast-reader';
import { BYTES, JSON_TEXT, STRING, codecOption, decodeV8 } from './codec';
import { ChannelErrorCode } from './error-codes';
import { decodeError, nodeError } from './errors';
import { SerialQueue } from './serial';
import { publishAll } from './flush';
import {
  CODEC,
  W_RECEIVER_SPINNING,
  W_RECEIVER_WAITING,
  type BroadcastStart,
  type Codec,
} from './layout';
import type { ChannelMemory } from './memory';
import type { ReceiverCore, ReceiverEvent } from './receiver-core';
import { RingReader } from './ring-reader';
import { SMALL_MESSAGE, Slab } from './slab';
import {
  ADAPTIVE,
  FOREVER,
  SLICE_MS,
  parseWait,
  type AsyncWaitOptions,
  type Wait,
  type WaitOptions,
  type WaitStats,
} from './wait-options';

/** Options of {@link Channel.receiver}. */
export interface ReceiverOptions {
  /** How bytes become values. Default: the codec the channel was created with. */
  codec?: Codec;
  /**
   * broadcast only: `'next'` (default) receives what is sent from now on;
   * `'oldest'` starts with the oldest message still in the ring.
   */
  start?: BroadcastStart;
}

/** Options of {@link Receiver.readable}. */
export interface ReceiverReadableOptions {
  /** Close the receiver when the stream ends or is destroyed. Default true. */
  autoClose?: boolean;
  /** The stream's highWaterMark (bytes, or messages in object mode). */
  highWaterMark?: number;
}

/** The payload of the 'sender-died' event. */
export interface SenderDiedEvent {
  /** The sender slot (ring) the dead sender held. */
  slot: number;
  /** Its thread id (the pid of a single-threaded process). */
  tid: number;
}

/** The payload of the 'lapped' event (broadcast). */
export interface LappedEvent {
  /** Messages overwritten before this receiver could read them. */
  missed: number;
}

/** Resolves in the check phase of this event-loop turn (after I/O callbacks). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A torn broadcast record: read again. */
const TORN: unique symbol = Symbol('torn');

/** @internal What a Receiver needs from its Channel. */
export interface ReceiverInit {
  memory: ChannelMemory;
  codec: Codec;
  start: BroadcastStart;
  onClose: (end: object) => void;
}

/**
 * The receiving end of a channel. Made by {@link Channel.receiver}.
 *
 * Every way to receive comes in three forms: sync (`receive`, blocks the
 * thread until a message comes), async (`receiveAsync`, the event loop
 * stays free) and try (`tryReceive`). A timed-out wait returns (resolves)
 * `undefined`. Once every sender has closed and every message was taken,
 * waits throw `ERR_SHMKIT_CHANNEL_ENDED` and iteration ends; when the last
 * sender died instead, they throw `ERR_SHMKIT_CHANNEL_PEER_DIED`.
 *
 * Events: `'sender-died'` ({@link SenderDiedEvent}) when a sender is found
 * dead (its committed messages are still delivered; the slot is freed for a
 * new sender), and `'lapped'` ({@link LappedEvent}) when a broadcast sender
 * overwrote messages before this receiver read them. Both are emitted from
 * inside the receiving calls, once the channel's state is consistent again:
 * a listener may receive, or close the receiver or the channel (the call
 * that emitted the event then throws ERR_SHMKIT_CLOSED).
 *
 * @typeParam Out - what `receive` returns.
 */
export class Receiver<Out = unknown>
  extends EventEmitter
  implements AsyncIterable<Out>, Disposable
{
  readonly #mem: ChannelMemory;
  readonly #core: ReceiverCore;
  readonly #codec: number;
  readonly #codecName: Codec;
  readonly #bytes: Uint8Array;
  readonly #buffer: Buffer;
  readonly #onClose: (end: object) => void;
  #closed = false;
  #waiters = 0;
  #sleeps = 0;
  #missedWakeups = 0;
  #spun = 0;
  readonly #serial = new SerialQueue();
  readonly #events: ReceiverEvent[] = [];
  // Made on the first small copy: receivers that never make one cost nothing.
  readonly #slab = new Slab();
  readonly #adaptive = new AdaptiveSpin();

  /** @internal Use {@link Channel.receiver}. */
  constructor(init: ReceiverInit) {
    super();
    const mem = init.memory;
    this.#mem = mem;
    this.#codec = CODEC[init.codec];
    this.#codecName = init.codec;
    this.#bytes = mem.bytes;
    this.#buffer = mem.buffer;
    this.#onClose = init.onClose;
    // Queued, and emitted once the core is done: a listener that receives,
    // closes the receiver or closes the channel must never run in the
    // middle of the core's own reads.
    const report = (event: ReceiverEvent): void => {
      this.#events.push(event);
    };
    this.#core =
      mem.layout.kind === 'broadcast'
        ? new BroadcastReader(mem, init.start, report)
        : new RingReader(mem, report);
  }

  /** broadcast: how many messages this receiver lost to lapping so far (else 0). */
  get missed(): number {
    return this.#core.missed;
  }

  /**
   * The whole shared object as bytes, for {@link Receiver.peekOffset}: the
   * message is `memory.subarray(offset, offset + peekedLength)`.
   */
  get memory(): Uint8Array {
    return this.#bytes;
  }

  /** The payload length of the message peeked last. */
  get peekedLength(): number {
    return this.#core.peekLength;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  // ---- copying receives ---------------------------------------------------

  /**
   * Receives the next message, waiting for one (blocking the thread).
   * Returns undefined when `timeout` passed first.
   *
   * @throws Error ERR_SHMKIT_CHANNEL_ENDED when every sender closed and all was received.
   * @throws Error ERR_SHMKIT_CHANNEL_PEER_DIED when the last sender died, after the rest was received.
   * @throws Error ERR_SHMKIT_CHANNEL_DECODE when the message is not valid for the codec (it is consumed).
   */
  receive(options?: WaitOptions): Out | undefined {
    this.#live();
    const wait = options === undefined ? FOREVER : parseWait(options, false);
    for (;;) {
      const at = this.#peek();
      if (at >= 0) {
        const value = this.#take(at);
        if (value !== TORN) return value;
        continue;
      }
      if (!this.#wait(wait)) return undefined;
    }
  }

  /** The next message if there is one now; undefined otherwise. */
  tryReceive(): Out | undefined {
    this.#live();
    for (;;) {
      const at = this.#peekNow();
      if (at < 0) {
        this.#throwIfEnded();
        return undefined;
      }
      const value = this.#take(at);
      if (value !== TORN) return value;
    }
  }

  /**
   * {@link Receiver.receive} without blocking the thread. Concurrent calls
   * are served in call order.
   */
  receiveAsync(options?: AsyncWaitOptions): Promise<Out | undefined> {
    try {
      this.#live();
      const wait = options === undefined ? FOREVER : parseWait(options, true);
      if (wait.signal?.aborted === true) throw abortError(wait.signal);
      if (this.#serial.size === 0) {
        const at = this.#peek();
        if (at >= 0) {
          const value = this.#take(at);
          if (value !== TORN) return Promise.resolve(value);
        }
      }
      return this.#serial.run(() => this.#receiveLater(wait), wait, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #receiveLater(wait: Wait): Promise<Out | undefined> {
    for (;;) {
      this.#live();
      const at = this.#peek();
      if (at >= 0) {
        const value = this.#take(at);
        if (value !== TORN) return value;
        continue;
      }
      if (!(await this.#waitAsync(wait))) return undefined;
    }
  }

  /** The core's peek, then the events it found, then whether a listener closed anything. */
  #peek(): number {
    let at = this.#core.peek();
    while (this.#events.length !== 0) {
      this.#emitEvents();
      // A listener may have taken that message itself: look again.
      at = this.#core.peek();
    }
    return at;
  }

  /** Emits what the core reported; throws ERR_SHMKIT_CLOSED if a listener closed this end or the channel. */
  #emitEvents(): void {
    const events = this.#events;
    while (events.length !== 0) {
      const event = events.shift()!;
      if (event.type === 'sender-died')
        this.emit('sender-died', { slot: event.slot, tid: event.tid });
      else this.emit('lapped', { missed: event.missed });
    }
    this.#live();
  }

  /** The core's sweep for dead senders, then the events it found. */
  #sweep(): void {
    this.#core.sweep();
    if (this.#events.length !== 0) this.#emitEvents();
  }

  /**
   * The core's peek, and when nothing is there, once more after publishing
   * this thread's pending ends: a sender in this thread may hold messages
   * it has not published yet.
   */
  #peekNow(): number {
    const at = this.#peek();
    if (at >= 0) return at;
    publishAll();
    return this.#peek();
  }

  /** Copies (and decodes) the peeked message, then releases it. */
  #take(at: number): Out | typeof TORN {
    const core = this.#core;
    const length = core.peekLength;
    const codec = this.#codec;
    if (codec === BYTES) {
      const copy =
        length <= SMALL_MESSAGE
          ? this.#slab.copy(this.#mem.words, at, length)
          : this.#copy(at, length);
      // After the release too: broadcast's reads the oldest-record word.
      const intact = core.release();
      this.#mem.assertIntact();
      return intact ? (copy as Out) : TORN;
    }
    if (codec === STRING || codec === JSON_TEXT) {
      const text = this.#buffer.toString('utf8', at, at + length);
      const intact = core.release();
      this.#mem.assertIntact();
      if (!intact) return TORN;
      if (codec === STRING) return text as Out;
      try {
        return JSON.parse(text) as Out;
      } catch (error) {
        throw decodeError(this.#mem.name, 'JSON', error);
      }
    }
    const copy = this.#bytes.slice(at, at + length);
    const intact = core.release();
    this.#mem.assertIntact();
    if (!intact) return TORN;
    let value: unknown;
    try {
      value = decodeV8(copy);
    } catch (error) {
      throw decodeError(this.#mem.name, 'v8 serialization', error);
    }
    // A shmkit sender refuses undefined: receive() returns it for "nothing came".
    if (value === undefined)
      throw decodeError(
        this.#mem.name,
        'v8 serialization',
        new Error('the message decodes to undefined, which receive() returns for "no message"'),
      );
    return value as Out;
  }

  #copy(at: number, length: number): Buffer {
    const copy = Buffer.allocUnsafe(length);
    copy.set(this.#bytes.subarray(at, at + length));
    return copy;
  }

  // ---- zero-copy ----------------------------------------------------------

  /**
   * A view of the next message's bytes in the ring, without copying,
   * waiting for one (blocking the thread); undefined when `timeout` passed
   * first. The message stays in the ring until {@link Receiver.release}.
   * Treat the view as read-only; it is valid until `release()`.
   */
  peek(options?: WaitOptions): Uint8Array | undefined {
    const at = this.peekOffset(options);
    return at < 0 ? undefined : this.#bytes.subarray(at, at + this.#core.peekLength);
  }

  /** {@link Receiver.peek} if a message is there now; undefined otherwise. */
  tryPeek(): Uint8Array | undefined {
    const at = this.tryPeekOffset();
    return at < 0 ? undefined : this.#bytes.subarray(at, at + this.#core.peekLength);
  }

  /** {@link Receiver.peek} without blocking the thread. */
  async peekAsync(options?: AsyncWaitOptions): Promise<Uint8Array | undefined> {
    this.#live();
    const wait = options === undefined ? FOREVER : parseWait(options, true);
    if (wait.signal?.aborted === true) throw abortError(wait.signal);
    const at = await this.#serial.run(
      async () => {
        for (;;) {
          this.#live();
          const next = this.#peek();
          if (next >= 0) {
            this.#mem.assertIntact();
            return next;
          }
          if (!(await this.#waitAsync(wait))) return -1;
        }
      },
      wait,
      -1,
    );
    return at < 0 ? undefined : this.#bytes.subarray(at, at + this.#core.peekLength);
  }

  /**
   * {@link Receiver.peek} without making a view: returns the payload's byte
   * offset in {@link Receiver.memory} (its length is
   * {@link Receiver.peekedLength}), or -1 when `timeout` passed first. No
   * allocation: the zero-copy path for hot loops.
   */
  peekOffset(options?: WaitOptions): number {
    this.#live();
    const wait = options === undefined ? FOREVER : parseWait(options, false);
    for (;;) {
      const at = this.#peek();
      if (at >= 0) {
        this.#mem.assertIntact();
        return at;
      }
      if (!this.#wait(wait)) return -1;
    }
  }

  /** {@link Receiver.peekOffset} if a message is there now; -1 otherwise. */
  tryPeekOffset(): number {
    this.#live();
    const at = this.#peekNow();
    if (at < 0) this.#throwIfEnded();
    else this.#mem.assertIntact();
    return at;
  }

  /**
   * Consumes the peeked message, making its room free for the sender.
   * Returns true, except in a broadcast channel where the sender overwrote
   * the message while it was held: then what was read may be torn and must
   * be discarded (it counts as missed). What was read through the view is
   * only known good once this returns true.
   *
   * @throws Error ERR_INVALID_STATE without a peeked message.
   * @throws Error ERR_SHMKIT_CHANNEL_CORRUPT when a truncation of the
   *   object cut the pages the message was in (the view read zeros).
   */
  release(): boolean {
    this.#live();
    const intact = this.#core.release();
    // What the caller read from the view may have been zeros.
    this.#mem.assertIntact();
    return intact;
  }

  // ---- waiting --------------------------------------------------------------

  /**
   * The rest of a spin: `count - 1` more looks. An spsc/mpsc receiver says
   * so in the header meanwhile, and senders then publish each message at
   * once: a receiver that spins waits for the very next one.
   */
  #spin(count: number): boolean {
    const core = this.#core;
    const words = this.#mem.words;
    const hint = core.ownsWaitingWord;
    if (hint) Atomics.store(words, W_RECEIVER_SPINNING, 1);
    try {
      for (let i = 1; i < count; i++) if (core.poll()) return true;
      return false;
    } finally {
      // A plain store: it does nothing should the memory be gone by now.
      if (hint) words[W_RECEIVER_SPINNING] = 0;
    }
  }

  /**
   * How long a wait that began at `start` re-checks before sleeping: the
   * adaptive budget without `spin` (never past the wait's deadline), else 0.
   */
  #adaptiveUntil(wait: Wait, start: number): number {
    if (wait.spin !== ADAPTIVE) return start;
    return Math.min(start + this.#adaptive.budget(), wait.deadline);
  }

  /** The adaptive spin of a wait without `spin`: true when the message came meanwhile. */
  #spinAdaptively(start: number, until: number): boolean {
    if (until <= start) return false;
    const core = this.#core;
    for (;;) {
      // A clock read costs a few looks: read it once per batch of them.
      for (let i = 0; i < 64; i++) {
        if (core.poll()) {
          this.#adaptive.waited(performance.now() - start);
          return true;
        }
      }
      if (performance.now() > until) return false;
    }
  }

  /** Sleeps until a message may be there: false when the deadline passed. */
  #wait(wait: Wait): boolean {
    const core = this.#core;
    publishAll();
    core.publish();
    // At least one look before preparing to sleep: publishing this thread's
    // own ends may just have made the message.
    if (core.poll()) return true;
    // The clock only for a wait that learns (no clock read on the spin path).
    const adaptive = wait.spin === ADAPTIVE;
    const start = adaptive ? performance.now() : 0;
    if (
      adaptive
        ? this.#spinAdaptively(start, this.#adaptiveUntil(wait, start))
        : wait.spin > 1 && this.#spin(wait.spin)
    ) {
      this.#spun++;
      return true;
    }
    for (;;) {
      const left = this.#prepareSleep(wait.deadline);
      if (left === 0) return true;
      if (left < 0) {
        if (adaptive) this.#adaptive.missed();
        return false;
      }
      let result;
      this.#sleeps++;
      try {
        result = this.#mem.receiverWaiting.wait(1, Math.min(left, SLICE_MS));
        if (adaptive && result !== 'timed-out') this.#adaptive.waited(performance.now() - start);
      } catch (error) {
        // EFAULT when the object shrank under the word: say so (CORRUPT),
        // and touch nothing (the size check unmaps it).
        try {
          this.#mem.checkSize();
        } finally {
          this.#doneSleeping();
        }
        throw error;
      }
      this.#wokeUp(result === 'timed-out');
    }
  }

  async #waitAsync(wait: Wait): Promise<boolean> {
    const core = this.#core;
    publishAll();
    core.publish();
    // At least one look before preparing to sleep: publishing this thread's
    // own ends may just have made the message.
    if (core.poll()) return true;
    if (wait.spin > 1 && this.#spin(wait.spin)) {
      this.#spun++;
      return true;
    }
    // One event-loop turn first: a busy sender publishes its next batch
    // within microseconds, far less than parking a wait costs. Without
    // `spin`, more turns while recent waits were that short (the adaptive
    // spin of sync waits, with the event loop free between looks).
    const start = performance.now();
    const adaptive = wait.spin === ADAPTIVE;
    const until = this.#adaptiveUntil(wait, start);
    for (let turn = 0; turn === 0 || performance.now() < until; turn++) {
      await nextTurn();
      this.#live();
      if (core.poll()) {
        if (adaptive) this.#adaptive.waited(performance.now() - start);
        if (turn > 0) this.#spun++;
        return true;
      }
    }
    const mem = this.#mem;
    for (;;) {
      const left = this.#prepareSleep(wait.deadline);
      if (left === 0) return true;
      if (left < 0) {
        if (adaptive) this.#adaptive.missed();
        return false;
      }
      let result;
      mem.sleepStarted();
      this.#sleeps++;
      try {
        result = await mem.receiverWaiting.waitAsync(1, Math.min(left, SLICE_MS), wait.signal);
      } catch (error) {
        try {
          mem.checkSize();
        } finally {
          this.#doneSleeping();
        }
        this.#live();
        throw error;
      } finally {
        mem.sleepEnded();
      }
      if (this.#closed || !mem.ok) {
        this.#doneSleeping();
        this.#live();
      }
      if (result !== 'timed-out' && adaptive) this.#adaptive.waited(performance.now() - start);
      this.#wokeUp(result === 'timed-out');
    }
  }

  /**
   * After a sleep. When it ran out, the object's size is checked before any
   * word is touched again (a shrunk object would raise SIGBUS), and a
   * message that is there anyway counts as a missed wake-up.
   */
  #wokeUp(timedOut: boolean): void {
    if (timedOut) {
      try {
        this.#mem.checkSize();
      } catch (error) {
        this.#waiters--;
        throw error;
      }
    }
    this.#doneSleeping();
    if (timedOut && this.#core.poll()) this.#missedWakeups++;
  }

  /** How this receiver's waits went (see {@link WaitStats}). */
  get stats(): WaitStats {
    return { sleeps: this.#sleeps, spun: this.#spun, missedWakeups: this.#missedWakeups };
  }

  /**
   * Announces a sleep on the receivers' futex word, then re-checks: 0 when
   * a message is there after all, -1 when the deadline passed, else the ms
   * left (and the caller must sleep, then call #doneSleeping). Throws when
   * the channel has ended.
   */
  #prepareSleep(deadline: number): number {
    const core = this.#core;
    this.#sweep();
    this.#waiters++;
    Atomics.store(this.#mem.words, W_RECEIVER_WAITING, 1);
    let left;
    try {
      const polled = core.poll();
      const end = polled ? undefined : core.ending();
      // After the reads: what they found may be zeros of a truncation.
      this.#mem.assertIntact();
      if (polled) left = 0;
      else {
        if (end !== undefined) throw end;
        left = deadline - performance.now();
        if (left <= 0) left = -1;
      }
    } catch (error) {
      this.#doneSleeping();
      throw error;
    }
    if (left <= 0) this.#doneSleeping();
    return left;
  }

  #doneSleeping(): void {
    // A broadcast receiver never clears the word: another may sleep on it.
    if (--this.#waiters === 0 && this.#core.ownsWaitingWord && this.#mem.words.length !== 0)
      Atomics.store(this.#mem.words, W_RECEIVER_WAITING, 0);
  }

  #throwIfEnded(): void {
    this.#sweep();
    const end = this.#core.ending();
    // "Nothing there" or "ended" may be zeros where a truncation cut the
    // ring: checked after the reads.
    this.#mem.assertIntact();
    if (end !== undefined) throw end;
  }

  // ---- iteration and streams ----------------------------------------------

  /**
   * `for await (const message of receiver)`: every message until the
   * channel ends (the loop then finishes) or the last sender dies (the loop
   * throws ERR_SHMKIT_CHANNEL_PEER_DIED). Breaking out of the loop leaves
   * the receiver open.
   */
  [Symbol.asyncIterator](): AsyncIterator<Out> {
    return {
      next: () => this.#next(),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  #next(): Promise<IteratorResult<Out>> {
    try {
      this.#live();
      if (this.#serial.size === 0) {
        const at = this.#peek();
        if (at >= 0) {
          const value = this.#take(at);
          if (value !== TORN) return Promise.resolve({ value, done: false });
        }
      }
      return this.#serial.run(
        async (): Promise<IteratorResult<Out>> => {
          try {
            return { value: (await this.#receiveLater(FOREVER)) as Out, done: false };
          } catch (error) {
            if ((error as { code?: unknown }).code === ChannelErrorCode.ENDED)
              return { value: undefined, done: true };
            throw error;
          }
        },
        FOREVER,
        { value: undefined, done: true },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A Readable of the messages: object mode for the 'string', 'json' and
   * 'v8' codecs, Buffer chunks (one per message) for 'bytes'. It ends when
   * the channel ends and is destroyed with the error when the last sender
   * dies. By default the receiver closes with the stream. A message that
   * decodes to `null` cannot travel through an object-mode stream: it
   * destroys the stream with ERR_STREAM_NULL_VALUES.
   */
  readable(options?: ReceiverReadableOptions): Readable {
    this.#live();
    const { autoClose: autoCloseValue, highWaterMark: highWaterMarkValue } =
      validateOptions(options);
    const autoClose = optionalBoolean(autoCloseValue, 'options.autoClose', true);
    const highWaterMark =
      highWaterMarkValue === undefined
        ? undefined
        : validateInteger(highWaterMarkValue, 'options.highWaterMark');
    const stop = new AbortController();
    let waiting = false;
    const finish = (stream: Readable, error: unknown): void => {
      if ((error as { code?: unknown }).code === ChannelErrorCode.ENDED) stream.push(null);
      else if (!stop.signal.aborted) stream.destroy(error as Error);
    };
    const deliver = (stream: Readable, value: Out): boolean => {
      if (value === null) {
        stream.destroy(
          nodeError(
            'ERR_STREAM_NULL_VALUES',
            'a message decoded to null, which ends an object-mode stream',
          ),
        );
        return false;
      }
      return stream.push(value);
    };
    const stream: Readable = new Readable({
      objectMode: this.#codec !== BYTES,
      ...(highWaterMark === undefined ? {} : { highWaterMark }),
      read: () => {
        if (waiting) return;
        for (;;) {
          let value: Out | undefined;
          try {
            value = this.tryReceive();
          } catch (error) {
            finish(stream, error);
            return;
          }
          if (value === undefined) break;
          if (!deliver(stream, value)) return;
        }
        waiting = true;
        this.receiveAsync({ signal: stop.signal }).then(
          (value) => {
            waiting = false;
            if (value !== undefined) deliver(stream, value);
          },
          (error: unknown) => {
            waiting = false;
            finish(stream, error);
          },
        );
      },
      destroy: (error, callback) => {
        stop.abort();
        if (autoClose) this.close();
        callback(error);
      },
    });
    return stream;
  }

  // ---- lifetime -----------------------------------------------------------

  #live(): void {
    if (this.#closed) throw closedError('Receiver');
    if (!this.#mem.ok) this.#mem.live('Channel');
  }

  /**
   * Gives the receiver slot back (spsc/mpsc: a new receiver may attach and
   * continues after the last message released). Senders waiting for room
   * then fail with ERR_SHMKIT_CHANNEL_NO_RECEIVER. Pending async waits
   * reject with ERR_SHMKIT_CLOSED. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.close();
    // Wake this receiver's own async wait (and, harmlessly, any other
    // receiver of the word): it sees the receiver closed and settles.
    const words = this.#mem.words;
    if (words.length !== 0) {
      Atomics.store(words, W_RECEIVER_WAITING, 0);
      this.#mem.receiverWaiting.wake();
    }
    this.#onClose(this);
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `'Receiver'`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'Receiver';
  }

  /** @internal The codec name, for diagnostics. */
  get codecName(): Codec {
    return this.#codecName;
  }
}

/** @internal Parses {@link ReceiverOptions} against the channel's codec. */
export function receiverOptions(
  options: ReceiverOptions | undefined,
  fallback: Codec,
): { codec: Codec; start: BroadcastStart } {
  const { codec: codecValue, start: startValue } = validateOptions(options);
  const codec = codecOption(codecValue, fallback);
  const start = startValue ?? 'next';
  if (start !== 'next' && start !== 'oldest')
    throw invalidArgValue('options.start', "must be 'next' or 'oldest'", start);
  return { codec, start };
}
