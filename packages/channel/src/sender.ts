// The sending end of a channel: writes records into its ring, publishes
// the tail once per batch, and waits for room (spsc, mpsc) or overwrites
// the oldest records (broadcast).
import { Writable } from 'node:stream';
import {
  abortError,
  closedError,
  invalidArgValue,
  optionalBoolean,
  outOfRange,
  validateInteger,
  validateOptions,
} from '@shmkit/core/internal';
import {
  BYTES,
  JSON_TEXT,
  STRING,
  V8,
  byteCount,
  codecOption,
  copyMessage,
  serializeV8,
  textOf,
  viewOf,
  type Encodable,
} from './codec';
import { busy, corrupt, invalidState, noReceiver, peerDied } from './errors';
import { SerialQueue } from './serial';
import { QUEUED, publishAll, publishLater } from './flush';
import {
  CODEC,
  PADDING,
  RECORD_HEADER,
  R_HEAD,
  R_OWNER,
  R_OWNER_START,
  R_PUBLISH_VERSION,
  R_SENDER_WAITING,
  R_SEQ,
  R_TAIL,
  S_OWNER,
  S_OWNER_START,
  W_RECEIVER_EVER,
  W_RECEIVER_SPINNING,
  W_RECEIVER_WAITING,
  W_SENDER_EVER,
  ringData,
  ringWord,
  slotWord,
  type Codec,
} from './layout';
import { isAlive } from './liveness';
import type { ChannelMemory } from './memory';
import { WakeWord } from './native';
import { claim, leaveRing, reclaimRing } from './owner';
import {
  FOREVER,
  SLICE_MS,
  parseWait,
  type AsyncWaitOptions,
  type Wait,
  type WaitOptions,
  type WaitStats,
} from './wait-options';

/** Options of {@link Channel.sender}. */
export interface SenderOptions {
  /** How values become bytes. Default: the codec the channel was created with. */
  codec?: Codec;
  /**
   * Publish the tail (and so make messages visible) at the latest after this
   * many messages, 1 to 65,536. Default 64. Messages are also published when
   * the receiver sleeps, at the end of the event-loop turn, before any wait
   * of a channel end in this thread, by {@link Sender.flush} and by `close()`.
   */
  batch?: number;
}

/** Options of {@link Sender.writable}. */
export interface SenderWritableOptions {
  /** Close the sender when the stream finishes or is destroyed. Default true. */
  autoClose?: boolean;
  /** The stream's highWaterMark (bytes, or messages in object mode). */
  highWaterMark?: number;
}

const DEFAULT_BATCH = 64;

/** @internal What a Sender needs from its Channel. */
export interface SenderInit {
  memory: ChannelMemory;
  codec: Codec;
  batch: number;
  onClose: (end: object) => void;
}

/**
 * The sending end of a channel. Made by {@link Channel.sender}; each one
 * holds a sender slot (a ring) until `close()`.
 *
 * Every way to send comes in three forms: sync (`send`, waits for room,
 * blocking the thread), async (`sendAsync`) and try (`trySend`). A
 * broadcast sender never waits: it overwrites the oldest messages.
 *
 * @typeParam In - what `send` accepts.
 */
export class Sender<In = unknown> implements Disposable {
  readonly #mem: ChannelMemory;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #ring: number;
  readonly #data: number;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #max: number;
  readonly #broadcast: boolean;
  readonly #tailW: number;
  readonly #seqW: number;
  readonly #headW: number;
  readonly #versionW: number;
  readonly #waitingW: number;
  readonly #waiting: WakeWord;
  readonly #codec: number;
  readonly #batch: number;
  readonly #bigBatch: number;
  readonly #onClose: (end: object) => void;

  /** Local tail: everything committed, published or not. */
  #tail: number;
  /** The receiver's head (spsc/mpsc) or the oldest record (broadcast), as last seen. */
  #head: number;
  #seq: number;
  #version: number;
  #unpublished = 0;
  #unpublishedBytes = 0;
  /** @internal In this thread's pending list (flush.ts). */
  [QUEUED] = false;
  /** Length of the reserved payload, or -1. */
  #reserved = -1;
  /** Logical position of the reserved record (after any padding). */
  #recordPos = 0;
  /** Byte offset of the reserved payload in the object. */
  #reservedAt = 0;
  readonly #serial = new SerialQueue();
  #closed = false;
  #sleeps = 0;
  #missedWakeups = 0;
  #spun = 0;

  /** @internal Use {@link Channel.sender}. */
  constructor(init: SenderInit) {
    const mem = init.memory;
    const layout = mem.layout;
    this.#mem = mem;
    this.#words = mem.words;
    this.#bytes = mem.bytes;
    this.#capacity = layout.capacity;
    this.#mask = layout.capacity - 1;
    this.#max = layout.maxMessageBytes;
    this.#broadcast = layout.kind === 'broadcast';
    this.#codec = CODEC[init.codec];
    this.#batch = init.batch;
    this.#bigBatch = layout.capacity >> 2;
    this.#onClose = init.onClose;
    const words = this.#words;

    let ring = -1;
    for (let pass = 0; pass < 2 && ring < 0; pass++) {
      for (let r = 0; r < layout.rings; r++) {
        if (claim(words, ringWord(r, R_OWNER), ringWord(r, R_OWNER_START))) {
          ring = r;
          break;
        }
      }
      // Second pass: free the rings of senders that died without closing.
      if (ring < 0 && pass === 0) for (let r = 0; r < layout.rings; r++) reclaimRing(words, r);
    }
    if (ring < 0) {
      throw busy(
        mem.name,
        layout.kind === 'mpsc'
          ? `all ${layout.rings} sender slots are taken by live senders`
          : `it already has a live sender (a ${layout.kind} channel has one)`,
      );
    }
    this.#ring = ring;
    this.#data = ringData(layout, ring);
    this.#tailW = ringWord(ring, R_TAIL);
    this.#seqW = ringWord(ring, R_SEQ);
    this.#headW = ringWord(ring, R_HEAD);
    this.#versionW = ringWord(ring, R_PUBLISH_VERSION);
    this.#waitingW = ringWord(ring, R_SENDER_WAITING);
    this.#waiting = new WakeWord(words, this.#waitingW);

    // Continue where the ring's previous sender left off.
    const tail = Atomics.load(words, this.#tailW);
    const head = Atomics.load(words, this.#headW);
    if ((tail & 7) !== 0 || (head & 7) !== 0 || (tail - head) >>> 0 > this.#capacity) {
      leaveRing(words, ring);
      throw mem.breakWith(
        corrupt(mem.name, `ring ${ring} has tail ${tail >>> 0} and head ${head >>> 0}`),
      );
    }
    this.#tail = tail;
    this.#head = head;
    this.#seq = Atomics.load(words, this.#seqW);
    this.#version = Atomics.load(words, this.#versionW) & ~1;
    Atomics.store(words, this.#versionW, this.#version);
    Atomics.store(words, W_SENDER_EVER, 1);
  }

  /** The sender slot (ring) this end holds: 0 except in mpsc channels. */
  get slot(): number {
    return this.#ring;
  }

  /** The largest message, in bytes: half the ring's capacity minus 8. */
  get maxMessageBytes(): number {
    return this.#max;
  }

  /**
   * The whole shared object as bytes, for {@link Sender.reserveOffset}: the
   * reserved payload is `memory.subarray(offset, offset + length)`.
   */
  get memory(): Uint8Array {
    return this.#bytes;
  }

  /** Messages committed but not yet visible to the receiver. */
  get unpublished(): number {
    return this.#unpublished;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  // ---- sending ------------------------------------------------------------

  /**
   * Sends one message, waiting for room while the ring is full (blocking
   * the thread). Returns false when `timeout` passed first (nothing sent).
   *
   * @throws TypeError ERR_INVALID_ARG_TYPE for a value the codec cannot send.
   * @throws RangeError ERR_OUT_OF_RANGE for a message over {@link Sender.maxMessageBytes}.
   * @throws Error ERR_SHMKIT_CHANNEL_NO_RECEIVER when it must wait but the receiver closed.
   * @throws Error ERR_SHMKIT_CHANNEL_PEER_DIED when it must wait but the receiver died.
   */
  send(message: Encodable<In>, options?: WaitOptions): boolean {
    this.#usable();
    const wait = options === undefined ? FOREVER : parseWait(options, false);
    return this.#send(message, wait);
  }

  /** Sends one message if there is room now; false if the ring is full. */
  trySend(message: Encodable<In>): boolean {
    this.#usable();
    return this.#send(message, undefined);
  }

  /**
   * {@link Sender.send} without blocking: waits for room asynchronously.
   * Resolves false when `timeout` passed first. Concurrent calls are
   * served in call order; sync sends are refused (ERR_INVALID_STATE) while
   * one waits, so that messages keep the order they were given in.
   */
  sendAsync(message: Encodable<In>, options?: AsyncWaitOptions): Promise<boolean> {
    try {
      this.#live();
      const wait = options === undefined ? FOREVER : parseWait(options, true);
      if (wait.signal?.aborted === true) throw abortError(wait.signal);
      if (this.#reserved >= 0) throw invalidState('a reserve() is not committed yet');
      if (this.#serial.size === 0 && this.#send(message, undefined)) return Promise.resolve(true);
      const bytes = this.#encodeCopy(message);
      return this.#serial.run(() => this.#sendLater(bytes, wait), wait, false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #send(message: Encodable<In>, wait: Wait | undefined): boolean {
    const codec = this.#codec;
    if (codec === STRING || codec === JSON_TEXT)
      return this.#sendText(textOf(message, codec), wait);
    const bytes = codec === BYTES ? viewOf(message) : this.#serialize(message);
    // The element count set() copies, from the intrinsic getter: a caller's
    // own `length` property must not make the record smaller than the copy.
    const length = byteCount(bytes);
    if (length > this.#max) throw this.#tooLarge(length);
    let at = this.#claimNow(length);
    if (at < 0) {
      if (wait === undefined || !this.#waitForRoom(length, wait)) return false;
      at = this.#claim(length);
    }
    // Refused before the commit: nothing is sent.
    copyMessage(this.#bytes, bytes, at, message);
    this.#commitAt(length);
    return true;
  }

  #sendText(text: string, wait: Wait | undefined): boolean {
    // Short strings reserve the UTF-8 worst case and skip a pass over the text.
    let bound = text.length <= 256 ? text.length * 3 : Buffer.byteLength(text);
    if (bound > this.#max) bound = Buffer.byteLength(text);
    if (bound > this.#max) throw this.#tooLarge(bound);
    let at = this.#claimNow(bound);
    if (at < 0 && bound > text.length) {
      bound = Buffer.byteLength(text);
      at = this.#claimNow(bound);
    }
    if (at < 0) {
      if (wait === undefined || !this.#waitForRoom(bound, wait)) return false;
      at = this.#claim(bound);
    }
    const written = this.#mem.buffer.write(text, at, bound, 'utf8');
    if (written !== bound) this.#words[(at - RECORD_HEADER) >> 2] = written;
    this.#commitAt(written);
    return true;
  }

  #serialize(message: unknown): Uint8Array {
    if (message === undefined)
      throw invalidArgValue(
        'message',
        'is undefined, which receive() uses for "no message"',
        message,
      );
    return serializeV8(message);
  }

  /** The message as bytes the caller cannot change any more (for waits). */
  #encodeCopy(message: Encodable<In>): Uint8Array {
    const codec = this.#codec;
    if (codec === STRING || codec === JSON_TEXT) return Buffer.from(textOf(message, codec), 'utf8');
    if (codec === V8) return this.#serialize(message);
    const view = viewOf(message);
    // A plain Uint8Array of the real size: slice() would make an instance of
    // the caller's subclass (species), whose byteLength getter may lie.
    const copy = new Uint8Array(byteCount(view));
    copyMessage(copy, view, 0, message);
    return copy;
  }

  /** `bytes` is this end's own copy (#encodeCopy), so its length is true. */
  async #sendLater(bytes: Uint8Array, wait: Wait): Promise<boolean> {
    const length = byteCount(bytes);
    if (length > this.#max) throw this.#tooLarge(length);
    for (;;) {
      this.#live();
      const at = this.#claim(length);
      if (at >= 0) {
        this.#bytes.set(bytes, at);
        this.#commitAt(length);
        return true;
      }
      if (!(await this.#waitForRoomAsync(length, wait))) return false;
    }
  }

  // ---- zero-copy ----------------------------------------------------------

  /**
   * Reserves room for a message of `length` bytes and returns a writable
   * view of it, straight into the ring. Fill it, then {@link Sender.commit}.
   * Returns undefined when `timeout` passed first.
   */
  reserve(length: number, options?: WaitOptions): Uint8Array | undefined {
    const at = this.reserveOffset(length, options);
    return at < 0 ? undefined : this.#bytes.subarray(at, at + length);
  }

  /** {@link Sender.reserve} if there is room now; undefined otherwise. */
  tryReserve(length: number): Uint8Array | undefined {
    const at = this.tryReserveOffset(length);
    return at < 0 ? undefined : this.#bytes.subarray(at, at + length);
  }

  /** {@link Sender.reserve}, waiting for room asynchronously. */
  async reserveAsync(length: number, options?: AsyncWaitOptions): Promise<Uint8Array | undefined> {
    this.#live();
    if (this.#reserved >= 0) throw invalidState('a reserve() is not committed yet');
    this.#checkLength(length);
    const wait = options === undefined ? FOREVER : parseWait(options, true);
    if (wait.signal?.aborted === true) throw abortError(wait.signal);
    return this.#serial.run(() => this.#reserveLater(length, wait), wait, undefined);
  }

  async #reserveLater(length: number, wait: Wait): Promise<Uint8Array | undefined> {
    for (;;) {
      this.#live();
      if (this.#reserved >= 0) throw invalidState('a reserve() is not committed yet');
      const at = this.#claim(length);
      if (at >= 0) {
        this.#reserved = length;
        return this.#bytes.subarray(at, at + length);
      }
      if (!(await this.#waitForRoomAsync(length, wait))) return undefined;
    }
  }

  /**
   * {@link Sender.reserve} without making a view: returns the payload's byte
   * offset in {@link Sender.memory}, or -1 when `timeout` passed first. No
   * allocation: the zero-copy path for hot loops.
   */
  reserveOffset(length: number, options?: WaitOptions): number {
    this.#usable();
    this.#checkLength(length);
    const wait = options === undefined ? FOREVER : parseWait(options, false);
    let at = this.#claim(length);
    if (at < 0) {
      if (!this.#waitForRoom(length, wait)) return -1;
      at = this.#claim(length);
    }
    this.#reserved = length;
    return at;
  }

  /** {@link Sender.reserveOffset} if there is room now; -1 otherwise. */
  tryReserveOffset(length: number): number {
    this.#usable();
    this.#checkLength(length);
    const at = this.#claimNow(length);
    if (at >= 0) this.#reserved = length;
    return at;
  }

  /**
   * Publishes the reserved message. `length` (default: all that was
   * reserved) may be smaller than the reservation, never larger.
   *
   * @throws Error ERR_INVALID_STATE without a reservation.
   */
  commit(length?: number): void {
    this.#live();
    const reserved = this.#reserved;
    if (reserved < 0) throw invalidState('commit() without a reserve()');
    let n = reserved;
    if (length !== undefined && length !== reserved) {
      n = validateInteger(length, 'length', 0, reserved);
      this.#words[(this.#reservedAt - RECORD_HEADER) >> 2] = n;
    }
    this.#commitAt(n);
  }

  /** Drops the reservation: nothing is sent. A no-op without one. */
  cancel(): void {
    this.#reserved = -1;
  }

  // ---- the ring ------------------------------------------------------------

  /**
   * Finds room for a record with a `length`-byte payload, writes its header
   * (and a padding record where it would cross the ring's end) and returns
   * the payload's offset; -1 when the ring is full. Publishes nothing.
   */
  #claim(length: number): number {
    const need = RECORD_HEADER + ((length + 7) & ~7);
    let pos = this.#tail;
    let off = pos & this.#mask;
    const room = this.#capacity - off;
    const total = need <= room ? need : room + need;
    if (((pos - this.#head) >>> 0) + total > this.#capacity) {
      if (this.#broadcast) {
        // The oldest-record word never passes the published tail.
        this.publish();
        this.#dropOldest(total);
      } else if (!this.#hasRoom(total)) return -1;
    }
    const words = this.#words;
    if (need > room) {
      const pad = (this.#data + off) >> 2;
      words[pad] = PADDING;
      words[pad + 1] = this.#seq;
      pos = (pos + room) | 0;
      off = 0;
    }
    const at = this.#data + off;
    words[at >> 2] = length;
    words[(at >> 2) + 1] = this.#seq;
    this.#recordPos = pos;
    this.#reservedAt = at + RECORD_HEADER;
    return at + RECORD_HEADER;
  }

  /**
   * {@link Sender.#claim}, and when the ring looks full, once more after
   * publishing this thread's pending ends: a receiver in this thread may
   * have released room it has not published yet.
   */
  #claimNow(length: number): number {
    const at = this.#claim(length);
    if (at >= 0) return at;
    publishAll();
    return this.#claim(length);
  }

  #commitAt(length: number): void {
    // Nothing is published whose bytes a truncation took (memory.ts).
    this.#mem.assertIntact();
    const size = RECORD_HEADER + ((length + 7) & ~7);
    this.#tail = (this.#recordPos + size) | 0;
    this.#seq = (this.#seq + 1) | 0;
    this.#reserved = -1;
    this.#unpublishedBytes += size;
    // The receiver's flags are only hints here, read plainly (an atomic load
    // is a builtin call): publish() itself re-reads the waiting flag
    // atomically after the tail's store, which is what the wake protocol
    // relies on. A spinning receiver wants each message at once too.
    const words = this.#words;
    if (
      ++this.#unpublished >= this.#batch ||
      this.#unpublishedBytes >= this.#bigBatch ||
      words[W_RECEIVER_WAITING] !== 0 ||
      words[W_RECEIVER_SPINNING] !== 0
    ) {
      this.publish();
    } else {
      publishLater(this);
    }
  }

  /** Re-reads the receiver's head: true when `total` more bytes fit. */
  #hasRoom(total: number): boolean {
    const head = Atomics.load(this.#words, this.#headW);
    const tail = this.#tail;
    // The head only moves forward, and never past what was published.
    if ((head & 7) !== 0 || (head - this.#head) >>> 0 > (tail - this.#head) >>> 0) {
      throw this.#mem.breakWith(
        corrupt(
          this.#mem.name,
          `ring ${this.#ring} has head ${head >>> 0} beyond its tail ${tail >>> 0}`,
        ),
      );
    }
    this.#head = head;
    return ((tail - head) >>> 0) + total <= this.#capacity;
  }

  /**
   * broadcast: moves the oldest-record word past the records the next
   * `total` bytes will overwrite, plus an eighth of the ring so that this
   * happens once per eighth rather than once per message. Receivers check
   * the word after reading, so they never return a record being overwritten.
   */
  #dropOldest(total: number): void {
    const words = this.#words;
    const tail = this.#tail;
    let oldest = this.#head;
    const goal = (tail + total - this.#capacity + (this.#capacity >> 3)) | 0;
    while (((goal - oldest) | 0) > 0 && oldest !== tail) {
      const off = oldest & this.#mask;
      const length = words[(this.#data + off) >> 2]!;
      let size: number;
      if (length === PADDING) size = this.#capacity - off;
      else if (length >>> 0 > this.#max) size = 0;
      else size = RECORD_HEADER + ((length + 7) & ~7);
      if (size === 0 || off + size > this.#capacity || size > (tail - oldest) >>> 0) {
        throw this.#mem.breakWith(
          corrupt(
            this.#mem.name,
            `a record header at ring position ${oldest >>> 0} was overwritten`,
          ),
        );
      }
      oldest = (oldest + size) | 0;
    }
    Atomics.store(words, this.#headW, oldest);
    this.#head = oldest;
  }

  /**
   * Makes every committed message visible to the receiver and wakes it if
   * it sleeps. Sends publish by themselves once per batch, when the
   * receiver sleeps, and at the end of the event-loop turn; call this to
   * publish earlier (for example before a long synchronous computation).
   */
  flush(): void {
    if (this.#closed) return;
    this.publish();
  }

  /** @internal The batching hook (see flush.ts). */
  publish(): void {
    if (this.#unpublished === 0) return;
    const words = this.#words;
    // Only once the mapping is gone (its views are empty). Not on `ok`: a
    // sibling end that found corruption elsewhere breaks the whole channel,
    // and close() must still publish what this end committed.
    if (words.length === 0) return;
    if (this.#broadcast) {
      // A sequence lock, so that a receiver attaching now reads a tail and
      // the sequence number of the message there as one pair.
      const version = this.#version;
      Atomics.store(words, this.#versionW, version + 1);
      Atomics.store(words, this.#tailW, this.#tail);
      Atomics.store(words, this.#seqW, this.#seq);
      Atomics.store(words, this.#versionW, (this.#version = (version + 2) | 0));
    } else {
      words[this.#seqW] = this.#seq;
      Atomics.store(words, this.#tailW, this.#tail);
    }
    this.#unpublished = 0;
    this.#unpublishedBytes = 0;
    // Only a sleeping receiver costs a system call.
    if (
      Atomics.load(words, W_RECEIVER_WAITING) !== 0 &&
      Atomics.exchange(words, W_RECEIVER_WAITING, 0) !== 0
    ) {
      this.#mem.receiverWaiting.wake();
    }
  }

  // ---- waiting for room ---------------------------------------------------

  /**
   * Re-reads the head `spin` times, at least once before preparing to
   * sleep: publishing this thread's own receivers may just have made room.
   */
  #lookForRoom(total: number, spin: number): boolean {
    let i = 0;
    do {
      if (this.#hasRoom(total)) {
        if (i > 0) this.#spun++;
        return true;
      }
    } while (++i < spin);
    return false;
  }

  #waitForRoom(length: number, wait: Wait): boolean {
    const total = this.#worstCase(length);
    publishAll();
    this.publish();
    if (this.#lookForRoom(total, wait.spin)) return true;
    for (;;) {
      const left = this.#prepareSleep(total, wait.deadline);
      if (left === 0) return true;
      if (left < 0) return false;
      this.#sleeps++;
      let result;
      try {
        result = this.#waiting.wait(1, Math.min(left, SLICE_MS));
      } catch (error) {
        // EFAULT when the object shrank under the word: CORRUPT instead.
        this.#mem.checkSize();
        throw error;
      }
      if (result === 'timed-out') this.#sliceEnded(total);
    }
  }

  async #waitForRoomAsync(length: number, wait: Wait): Promise<boolean> {
    const total = this.#worstCase(length);
    publishAll();
    this.publish();
    if (this.#lookForRoom(total, wait.spin)) return true;
    // One event-loop turn first: a busy receiver gives room back within
    // microseconds, far less than parking a wait costs.
    await new Promise((resolve) => setImmediate(resolve));
    this.#live();
    if (this.#hasRoom(total)) return true;
    const mem = this.#mem;
    for (;;) {
      const left = this.#prepareSleep(total, wait.deadline);
      if (left === 0) return true;
      if (left < 0) return false;
      let result;
      mem.sleepStarted();
      this.#sleeps++;
      try {
        result = await this.#waiting.waitAsync(1, Math.min(left, SLICE_MS), wait.signal);
      } catch (error) {
        mem.checkSize();
        this.#live();
        throw error;
      } finally {
        mem.sleepEnded();
      }
      this.#live();
      if (result === 'timed-out') this.#sliceEnded(total);
    }
  }

  /** A sleep ran out: check the object's size, and whether a wake-up was missed. */
  #sliceEnded(total: number): void {
    this.#mem.checkSize();
    if (this.#hasRoom(total)) this.#missedWakeups++;
  }

  /** How this sender's waits for room went (see {@link WaitStats}). */
  get stats(): WaitStats {
    return { sleeps: this.#sleeps, spun: this.#spun, missedWakeups: this.#missedWakeups };
  }

  /**
   * Announces a sleep (the waiting word), then re-checks: 0 when there is
   * room after all, -1 when the deadline passed, else the ms left. Throws
   * when the receiver is gone, since nobody would ever make room.
   */
  #prepareSleep(total: number, deadline: number): number {
    const words = this.#words;
    Atomics.store(words, this.#waitingW, 1);
    const room = this.#hasRoom(total);
    try {
      if (!room) this.#checkReceiver();
    } finally {
      // After the reads, whose zeros a truncation may have made: its
      // CORRUPT wins over what #checkReceiver concluded from them.
      this.#mem.assertIntact();
    }
    if (room) {
      Atomics.store(words, this.#waitingW, 0);
      return 0;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      Atomics.store(words, this.#waitingW, 0);
      return -1;
    }
    return left;
  }

  #checkReceiver(): void {
    const words = this.#words;
    const layout = this.#mem.layout;
    const owner = Atomics.load(words, slotWord(layout, 0, S_OWNER));
    if (owner === 0) {
      if (Atomics.load(words, W_RECEIVER_EVER) !== 0) {
        Atomics.store(words, this.#waitingW, 0);
        throw noReceiver(this.#mem.name);
      }
      return;
    }
    if (!isAlive(owner, Atomics.load(words, slotWord(layout, 0, S_OWNER_START)))) {
      Atomics.store(words, this.#waitingW, 0);
      throw peerDied(this.#mem.name, 'receiver', owner);
    }
  }

  /** The bytes a record of `length` may need, padding included. */
  #worstCase(length: number): number {
    const need = RECORD_HEADER + ((length + 7) & ~7);
    const room = this.#capacity - (this.#tail & this.#mask);
    return need <= room ? need : room + need;
  }

  // ---- streams ------------------------------------------------------------

  /**
   * A Writable that sends every chunk as one message (object mode for the
   * 'json' and 'v8' codecs; for 'bytes' a chunk larger than
   * {@link Sender.maxMessageBytes} is split). Waits for room
   * asynchronously, so `stream.pipeline()` gets backpressure for free.
   * By default finishing or destroying the stream closes the sender.
   */
  writable(options?: SenderWritableOptions): Writable {
    this.#live();
    const { autoClose: autoCloseValue, highWaterMark: highWaterMarkValue } =
      validateOptions(options);
    const autoClose = optionalBoolean(autoCloseValue, 'options.autoClose', true);
    const highWaterMark =
      highWaterMarkValue === undefined
        ? undefined
        : validateInteger(highWaterMarkValue, 'options.highWaterMark');
    const objectMode = this.#codec !== BYTES;
    const sendChunk = (chunk: Encodable<In>): Promise<boolean> | boolean => {
      if (this.#codec === BYTES) {
        const bytes = viewOf(chunk);
        const total = byteCount(bytes);
        if (total > this.#max) {
          let sent: Promise<boolean> = Promise.resolve(true);
          for (let at = 0; at < total; at += this.#max) {
            const piece = bytes.subarray(at, at + this.#max);
            sent = sent.then(() => this.sendAsync(piece as Encodable<In>));
          }
          return sent;
        }
      }
      return this.#serial.size === 0 && this.#send(chunk, undefined) ? true : this.sendAsync(chunk);
    };
    return new Writable({
      objectMode,
      ...(highWaterMark === undefined ? {} : { highWaterMark }),
      write: (chunk: Encodable<In>, _encoding, callback) => {
        let result: Promise<boolean> | boolean;
        try {
          result = sendChunk(chunk);
        } catch (error) {
          callback(error as Error);
          return;
        }
        if (result === true) callback();
        else
          void Promise.resolve(result).then(
            () => callback(),
            (error: unknown) => callback(error as Error),
          );
      },
      final: (callback) => {
        try {
          this.flush();
          if (autoClose) this.close();
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
      destroy: (error, callback) => {
        if (autoClose) this.close();
        callback(error);
      },
    });
  }

  // ---- lifetime -----------------------------------------------------------

  #live(): void {
    if (this.#closed) throw closedError('Sender');
    if (!this.#mem.ok) this.#mem.live('Channel');
  }

  #usable(): void {
    this.#live();
    if (this.#serial.size !== 0)
      throw invalidState('a sendAsync() or reserveAsync() is waiting; await it first');
    if (this.#reserved >= 0) throw invalidState('a reserve() is not committed yet');
  }

  #checkLength(length: number): void {
    // One comparison on the hot path; the validator builds the error.
    if (!(length >>> 0 === length && length <= this.#max))
      validateInteger(length, 'length', 0, this.#max);
  }

  #tooLarge(length: number): RangeError {
    return outOfRange(
      'message',
      `at most ${this.#max} bytes (half the channel's capacity, minus 8)`,
      `${length} bytes`,
    );
  }

  /**
   * Publishes what was committed, gives the sender slot back and wakes the
   * receiver: once every sender has closed and the receiver has taken every
   * message, its iterator ends. A reservation not committed is dropped.
   * Pending async waits reject with ERR_SHMKIT_CLOSED. Calling it again
   * does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#reserved = -1;
    this.publish();
    this.#closed = true;
    const words = this.#words;
    if (words.length !== 0) {
      // Wake this sender's own async wait for room: it sees the close and settles.
      Atomics.store(words, this.#waitingW, 0);
      this.#waiting.wake();
      leaveRing(words, this.#ring);
      if (Atomics.exchange(words, W_RECEIVER_WAITING, 0) !== 0) this.#mem.receiverWaiting.wake();
    }
    this.#onClose(this);
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `'Sender'`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'Sender';
  }
}

/** @internal Parses {@link SenderOptions} against the channel's codec. */
export function senderOptions(
  options: SenderOptions | undefined,
  fallback: Codec,
): { codec: Codec; batch: number } {
  const { codec: codecValue, batch: batchValue } = validateOptions(options);
  const codec = codecOption(codecValue, fallback);
  const batch =
    batchValue === undefined
      ? DEFAULT_BATCH
      : validateInteger(batchValue, 'options.batch', 1, 65_536);
  return { codec, batch };
}
