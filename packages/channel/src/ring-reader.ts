// Reading an spsc or mpsc channel: one ring per sender slot, read in
// order, round robin between rings; the head is published once per batch
// so the sender sees room without a cache miss per message.
import { busy, corrupt, ended, invalidState, peerDied } from './errors';
import { QUEUED, publishLater, type Publisher } from './flush';
import {
  EXIT_DIED,
  PADDING,
  recordExtent,
  RECORD_HEADER,
  R_DEATHS,
  R_EXIT,
  R_HEAD,
  R_LAST_DEAD,
  R_OWNER,
  R_SENDER_WAITING,
  R_TAIL,
  S_OWNER,
  S_OWNER_START,
  W_LAST_EXIT,
  W_RECEIVER_EVER,
  W_RECEIVER_SPINNING,
  W_SENDER_EVER,
  ringData,
  ringWord,
  slotWord,
} from './layout';
import type { ChannelMemory } from './memory';
import { WakeWord } from './native';
import { claim, reclaimIfDead, reclaimRing, release } from './owner';
import type { ReceiverCore, ReceiverEvent } from './receiver-core';
import { SLICE_MS } from './wait-options';

/** Release cursors are published at least every this many messages. */
const RELEASE_BATCH = 64;

export class RingReader implements ReceiverCore, Publisher {
  readonly #mem: ChannelMemory;
  readonly #words: Int32Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #max: number;
  readonly #rings: number;
  readonly #bigBatch: number;
  readonly #wakeRoom: number;
  readonly #report: (event: ReceiverEvent) => void;
  readonly #ownerW: number;
  readonly #ownerStartW: number;
  /** Per ring, while it is not the current one. */
  readonly #positions: Int32Array;
  readonly #tails: Int32Array;
  readonly #deathsSeen: Int32Array;
  readonly #senderWake: WakeWord[];

  // The current ring, in fields for the hot path.
  #ring = 0;
  #pos: number;
  #tail: number;
  #data: number;
  #tailW: number;
  #headW: number;
  #senderWaitingW: number;

  #peekAt = -1;
  #peekLength = 0;
  #peekSize = 0;
  #unreleased = 0;
  #unreleasedBytes = 0;
  /** @internal In this thread's pending list (flush.ts). */
  [QUEUED] = false;
  #lastSweep = 0;

  constructor(mem: ChannelMemory, report: (event: ReceiverEvent) => void) {
    const layout = mem.layout;
    const words = mem.words;
    this.#mem = mem;
    this.#words = words;
    this.#capacity = layout.capacity;
    this.#mask = layout.capacity - 1;
    this.#max = layout.maxMessageBytes;
    this.#rings = layout.rings;
    this.#bigBatch = layout.capacity >> 2;
    this.#wakeRoom = layout.capacity >> 3;
    this.#report = report;
    this.#ownerW = slotWord(layout, 0, S_OWNER);
    this.#ownerStartW = slotWord(layout, 0, S_OWNER_START);
    if (!claim(words, this.#ownerW, this.#ownerStartW)) {
      reclaimIfDead(words, this.#ownerW, this.#ownerStartW);
      if (!claim(words, this.#ownerW, this.#ownerStartW))
        throw busy(mem.name, `it already has a live receiver (an ${layout.kind} channel has one)`);
    }
    this.#positions = new Int32Array(layout.rings);
    this.#tails = new Int32Array(layout.rings);
    this.#deathsSeen = new Int32Array(layout.rings);
    this.#senderWake = [];
    for (let r = 0; r < layout.rings; r++) {
      // Resume where the previous receiver released.
      const head = Atomics.load(words, ringWord(r, R_HEAD));
      const tail = Atomics.load(words, ringWord(r, R_TAIL));
      if ((head & 7) !== 0 || (tail & 7) !== 0 || (tail - head) >>> 0 > this.#capacity) {
        release(words, this.#ownerW, this.#ownerStartW);
        throw mem.breakWith(
          corrupt(mem.name, `ring ${r} has tail ${tail >>> 0} and head ${head >>> 0}`),
        );
      }
      this.#positions[r] = head;
      this.#tails[r] = head;
      this.#deathsSeen[r] = Atomics.load(words, ringWord(r, R_DEATHS));
      this.#senderWake.push(new WakeWord(words, ringWord(r, R_SENDER_WAITING)));
    }
    this.#pos = this.#positions[0]!;
    this.#tail = this.#pos;
    this.#data = ringData(layout, 0);
    this.#tailW = ringWord(0, R_TAIL);
    this.#headW = ringWord(0, R_HEAD);
    this.#senderWaitingW = ringWord(0, R_SENDER_WAITING);
    Atomics.store(words, W_RECEIVER_EVER, 1);
    // A receiver killed while it spun left its hint set: the new owner clears it.
    Atomics.store(words, W_RECEIVER_SPINNING, 0);
  }

  get peekLength(): number {
    return this.#peekLength;
  }

  get ownsWaitingWord(): boolean {
    return true;
  }

  get missed(): number {
    return 0;
  }

  peek(): number {
    if (this.#peekAt >= 0) return this.#peekAt;
    const words = this.#words;
    for (;;) {
      if (this.#pos === this.#tail && !this.#refill()) return -1;
      const pos = this.#pos;
      const avail = (this.#tail - pos) >>> 0;
      const off = pos & this.#mask;
      const at = this.#data + off;
      const length = words[at >> 2]!;
      const size = recordExtent(length, pos, off, avail, this.#capacity, this.#max);
      if (typeof size === 'string') throw this.#corrupt(size);
      if (length === PADDING) {
        this.#pos = (pos + size) | 0;
        this.#unreleasedBytes += size;
        continue;
      }
      this.#peekAt = at + RECORD_HEADER;
      this.#peekLength = length;
      this.#peekSize = size;
      return at + RECORD_HEADER;
    }
  }

  release(): boolean {
    if (this.#peekAt < 0) throw invalidState('release() without a peeked message');
    this.#pos = (this.#pos + this.#peekSize) | 0;
    this.#peekAt = -1;
    this.#unreleasedBytes += this.#peekSize;
    if (
      ++this.#unreleased >= RELEASE_BATCH ||
      this.#unreleasedBytes >= this.#bigBatch ||
      // A hint, read plainly: publish() re-reads the flag atomically.
      (this.#words[this.#senderWaitingW] !== 0 && this.#roomToWake())
    ) {
      this.publish();
    } else {
      publishLater(this);
    }
    return true;
  }

  poll(): boolean {
    return this.#peekAt >= 0 || this.#pos !== this.#tail || this.#refill();
  }

  ending(): Error | undefined {
    const words = this.#words;
    if (Atomics.load(words, W_SENDER_EVER) === 0) return undefined;
    for (let r = 0; r < this.#rings; r++)
      if (Atomics.load(words, ringWord(r, R_OWNER)) !== 0) return undefined;
    if (this.poll()) return undefined;
    if (Atomics.load(words, W_LAST_EXIT) === EXIT_DIED) {
      let tid = 0;
      for (let r = 0; r < this.#rings && tid === 0; r++)
        if (Atomics.load(words, ringWord(r, R_EXIT)) === EXIT_DIED)
          tid = Atomics.load(words, ringWord(r, R_LAST_DEAD));
      return peerDied(this.#mem.name, 'last sender', tid);
    }
    return ended(this.#mem.name);
  }

  sweep(): void {
    const now = performance.now();
    if (now - this.#lastSweep < SLICE_MS) return;
    this.#lastSweep = now;
    const words = this.#words;
    for (let r = 0; r < this.#rings; r++) {
      reclaimRing(words, r);
      const deaths = Atomics.load(words, ringWord(r, R_DEATHS));
      if (deaths !== this.#deathsSeen[r]) {
        this.#deathsSeen[r] = deaths;
        this.#report({
          type: 'sender-died',
          slot: r,
          tid: Atomics.load(words, ringWord(r, R_LAST_DEAD)),
        });
      }
    }
  }

  publish(): void {
    if (this.#unreleasedBytes === 0) return;
    const words = this.#words;
    // Only once the mapping is gone: see Sender.publish.
    if (words.length === 0) return;
    Atomics.store(words, this.#headW, this.#pos);
    this.#unreleased = 0;
    this.#unreleasedBytes = 0;
    // A sleeping sender is woken once an eighth of the ring is free, not for
    // every message: otherwise a full ring makes both sides trade a wake-up
    // per batch. (Before this receiver sleeps the ring is empty: it wakes.)
    if (
      Atomics.load(words, this.#senderWaitingW) !== 0 &&
      this.#roomToWake() &&
      Atomics.exchange(words, this.#senderWaitingW, 0) !== 0
    ) {
      this.#senderWake[this.#ring]!.wake();
    }
  }

  /**
   * Whether the current ring has room enough to be worth a sender's
   * wake-up. From the tail the sender published before it slept, not the
   * one this reader last loaded: that one lags by up to a ring of messages,
   * and judged by it the room looked large at once, so a sender that had
   * just slept was woken for a batch or two and slept again (thousands of
   * futex round trips a second, on both cores).
   */
  #roomToWake(): boolean {
    const used = (Atomics.load(this.#words, this.#tailW) - this.#pos) >>> 0;
    return used <= this.#capacity - this.#wakeRoom;
  }

  /**
   * The current ring has nothing more: look at the tails, the other rings
   * first (so that a busy sender cannot starve the rest), then this one.
   */
  #refill(): boolean {
    if (this.#rings === 1) return this.#loadTail();
    const current = this.#ring;
    if (this.#mem.layout.rings > 1 && performance.now() - this.#lastSweep > 1000) this.sweep();
    for (let k = 1; k <= this.#rings; k++) {
      const r = (current + k) % this.#rings;
      if (r !== current) {
        const tail = Atomics.load(this.#words, ringWord(r, R_TAIL));
        if (tail === this.#tails[r]) continue;
        this.#switchTo(r);
      }
      if (this.#loadTail()) return true;
    }
    return false;
  }

  #loadTail(): boolean {
    const tail = Atomics.load(this.#words, this.#tailW);
    if (tail === this.#tail) return false;
    if ((tail & 7) !== 0 || (tail - this.#pos) >>> 0 > this.#capacity)
      throw this.#corrupt(
        `ring ${this.#ring} has tail ${tail >>> 0} while its receiver is at ${this.#pos >>> 0}`,
      );
    this.#tail = tail;
    return true;
  }

  #switchTo(r: number): void {
    this.publish();
    const from = this.#ring;
    this.#positions[from] = this.#pos;
    this.#tails[from] = this.#tail;
    this.#ring = r;
    this.#pos = this.#positions[r]!;
    this.#tail = this.#tails[r]!;
    this.#data = ringData(this.#mem.layout, r);
    this.#tailW = ringWord(r, R_TAIL);
    this.#headW = ringWord(r, R_HEAD);
    this.#senderWaitingW = ringWord(r, R_SENDER_WAITING);
  }

  #corrupt(what: string): Error {
    return this.#mem.breakWith(corrupt(this.#mem.name, what));
  }

  close(): void {
    this.publish();
    const words = this.#words;
    if (words.length === 0) return;
    release(words, this.#ownerW, this.#ownerStartW);
    // Senders waiting for room must learn that nobody will make it.
    for (let r = 0; r < this.#rings; r++) {
      if (Atomics.exchange(words, ringWord(r, R_SENDER_WAITING), 0) !== 0)
        this.#senderWake[r]!.wake();
    }
  }
}
