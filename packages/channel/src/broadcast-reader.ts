// Reading a broadcast channel: every receiver keeps its own cursor over the
// one ring, and the sender never waits for anyone. The sender publishes
// the oldest intact record (the head word) before it overwrites older ones;
// a receiver checks that word after reading a record, so it never returns
// one that was being overwritten, and counts what it missed when lapped.
import { busy, corrupt, ended, invalidState, peerDied } from './errors';
import {
  EXIT_DIED,
  PADDING,
  recordExtent,
  RECORD_HEADER,
  R_DEATHS,
  R_HEAD,
  R_LAST_DEAD,
  R_OWNER,
  R_PUBLISH_VERSION,
  R_SEQ,
  R_TAIL,
  S_CURSOR,
  S_MISSED,
  S_OWNER,
  S_OWNER_START,
  W_LAST_EXIT,
  W_SENDER_EVER,
  ringData,
  ringWord,
  slotWord,
} from './layout';
import type { BroadcastStart } from './layout';
import type { ChannelMemory } from './memory';
import { claim, reclaimIfDead, reclaimRing, release } from './owner';
import type { ReceiverCore, ReceiverEvent } from './receiver-core';
import { SLICE_MS } from './wait-options';

// x86-64 never reorders a load with an older load, so reading a record and
// then the head word is already ordered. Elsewhere (arm64) a plain load may
// pass a later acquire load: an atomic read-modify-write in between (a
// release and an acquire) keeps the record's loads before the check.
const fenceWord = new Int32Array(new SharedArrayBuffer(4));
const needsFence = process.arch !== 'x64' && process.arch !== 'ia32';
function loadFence(): void {
  if (needsFence) Atomics.exchange(fenceWord, 0, 0);
}

/** Gives up on a sender that overwrites faster than a record header can be read. */
const MAX_RESYNC_TRIES = 1_000_000;

export class BroadcastReader implements ReceiverCore {
  readonly #mem: ChannelMemory;
  readonly #words: Int32Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #max: number;
  readonly #data: number;
  readonly #tailW: number;
  readonly #headW: number;
  readonly #report: (event: ReceiverEvent) => void;
  readonly #ownerW: number;
  readonly #ownerStartW: number;
  readonly #cursorW: number;
  readonly #missedW: number;

  #pos: number;
  #tail: number;
  /** Sequence number the record at #pos must carry. */
  #seq = 0;
  #seqKnown = false;
  /** Set when a held record was overwritten: the next peek resynchronises. */
  #lapped = false;
  #missed = 0;
  #peekAt = -1;
  #peekPos = 0;
  #peekLength = 0;
  #peekSize = 0;
  #peekSeq = 0;
  #deathsSeen: number;
  #lastSweep = 0;

  constructor(mem: ChannelMemory, start: BroadcastStart, report: (event: ReceiverEvent) => void) {
    const layout = mem.layout;
    const words = mem.words;
    this.#mem = mem;
    this.#words = words;
    this.#capacity = layout.capacity;
    this.#mask = layout.capacity - 1;
    this.#max = layout.maxMessageBytes;
    this.#data = ringData(layout, 0);
    this.#tailW = ringWord(0, R_TAIL);
    this.#headW = ringWord(0, R_HEAD);
    this.#report = report;

    let slot = -1;
    for (let pass = 0; pass < 2 && slot < 0; pass++) {
      for (let s = 0; s < layout.receiverSlots; s++) {
        if (claim(words, slotWord(layout, s, S_OWNER), slotWord(layout, s, S_OWNER_START))) {
          slot = s;
          break;
        }
      }
      if (slot < 0 && pass === 0) {
        for (let s = 0; s < layout.receiverSlots; s++)
          reclaimIfDead(words, slotWord(layout, s, S_OWNER), slotWord(layout, s, S_OWNER_START));
      }
    }
    if (slot < 0)
      throw busy(
        mem.name,
        `all ${layout.receiverSlots} receiver slots are taken by live receivers`,
      );
    this.#ownerW = slotWord(layout, slot, S_OWNER);
    this.#ownerStartW = slotWord(layout, slot, S_OWNER_START);
    this.#cursorW = slotWord(layout, slot, S_CURSOR);
    this.#missedW = slotWord(layout, slot, S_MISSED);
    this.#deathsSeen = Atomics.load(words, ringWord(0, R_DEATHS));
    words[this.#missedW] = 0;

    this.#pos = 0;
    this.#tail = 0;
    try {
      const [tail, seq] = this.#tailAndSeq();
      this.#pos = tail;
      this.#tail = tail;
      if (seq !== undefined) {
        this.#seq = seq;
        this.#seqKnown = true;
      }
      if (start === 'oldest') this.#resync(false);
    } catch (error) {
      release(words, this.#ownerW, this.#ownerStartW);
      throw error;
    }
    words[this.#cursorW] = this.#pos;
  }

  get peekLength(): number {
    return this.#peekLength;
  }

  get ownsWaitingWord(): boolean {
    return false;
  }

  get missed(): number {
    return this.#missed;
  }

  peek(): number {
    if (this.#peekAt >= 0) return this.#peekAt;
    const words = this.#words;
    for (;;) {
      if (this.#lapped) {
        this.#lapped = false;
        this.#resync(true);
        // The 'lapped' listener may have peeked itself.
        if (this.#peekAt >= 0) return this.#peekAt;
      }
      if (this.#pos === this.#tail && !this.#loadTail()) return -1;
      const pos = this.#pos;
      const avail = (this.#tail - pos) >>> 0;
      const off = pos & this.#mask;
      const at = this.#data + off;
      const length = words[at >> 2]!;
      const seq = words[(at >> 2) + 1]!;
      loadFence();
      // Overwritten (or being overwritten) before its header was read?
      if (((pos - Atomics.load(words, this.#headW)) | 0) < 0) {
        this.#resync(true);
        if (this.#peekAt >= 0) return this.#peekAt;
        continue;
      }
      const size = recordExtent(length, pos, off, avail, this.#capacity, this.#max);
      if (typeof size === 'string') throw this.#corrupt(size);
      if (length === PADDING) {
        this.#pos = (pos + size) | 0;
        continue;
      }
      if (!this.#seqKnown) {
        this.#seq = seq;
        this.#seqKnown = true;
      } else if (seq !== this.#seq) {
        throw this.#corrupt(
          `the record at ${pos >>> 0} has sequence number ${seq >>> 0}, expected ${this.#seq >>> 0}`,
        );
      }
      this.#peekAt = at + RECORD_HEADER;
      this.#peekPos = pos;
      this.#peekLength = length;
      this.#peekSize = size;
      this.#peekSeq = seq;
      return at + RECORD_HEADER;
    }
  }

  release(): boolean {
    if (this.#peekAt < 0) throw invalidState('release() without a peeked message');
    loadFence();
    const intact = ((this.#peekPos - Atomics.load(this.#words, this.#headW)) | 0) >= 0;
    this.#peekAt = -1;
    this.#pos = (this.#peekPos + this.#peekSize) | 0;
    if (intact) {
      this.#seq = (this.#peekSeq + 1) | 0;
    } else {
      // Counted as missed by the resynchronisation the next peek makes.
      this.#seq = this.#peekSeq;
      this.#lapped = true;
    }
    this.#words[this.#cursorW] = this.#pos;
    return intact;
  }

  poll(): boolean {
    return this.#peekAt >= 0 || this.#lapped || this.#pos !== this.#tail || this.#loadTail();
  }

  ending(): Error | undefined {
    const words = this.#words;
    if (Atomics.load(words, W_SENDER_EVER) === 0) return undefined;
    if (Atomics.load(words, ringWord(0, R_OWNER)) !== 0) return undefined;
    if (this.poll()) return undefined;
    if (Atomics.load(words, W_LAST_EXIT) === EXIT_DIED)
      return peerDied(this.#mem.name, 'sender', Atomics.load(words, ringWord(0, R_LAST_DEAD)));
    return ended(this.#mem.name);
  }

  sweep(): void {
    const now = performance.now();
    if (now - this.#lastSweep < SLICE_MS) return;
    this.#lastSweep = now;
    const words = this.#words;
    reclaimRing(words, 0);
    const deaths = Atomics.load(words, ringWord(0, R_DEATHS));
    if (deaths !== this.#deathsSeen) {
      this.#deathsSeen = deaths;
      this.#report({
        type: 'sender-died',
        slot: 0,
        tid: Atomics.load(words, ringWord(0, R_LAST_DEAD)),
      });
    }
  }

  publish(): void {
    // Nothing to publish: a broadcast receiver's cursor is only informative.
  }

  #loadTail(): boolean {
    const tail = Atomics.load(this.#words, this.#tailW);
    if (tail === this.#tail) return false;
    if ((tail & 7) !== 0) throw this.#corrupt(`the tail ${tail >>> 0} is not 8-byte aligned`);
    // More than a lap ahead: the receiver was lapped while idle.
    if ((tail - this.#pos) >>> 0 > this.#capacity) this.#lapped = true;
    this.#tail = tail;
    return true;
  }

  /**
   * The tail and the sequence number of the message that will be written
   * there, as one consistent pair (the sender's publish is a sequence
   * lock); the number is undefined when the lock stayed odd (a sender died
   * in the middle of a publish, or someone scribbled on it).
   */
  #tailAndSeq(): [number, number | undefined] {
    const words = this.#words;
    const versionW = ringWord(0, R_PUBLISH_VERSION);
    for (let i = 0; i < 10_000; i++) {
      const before = Atomics.load(words, versionW);
      const tail = Atomics.load(words, this.#tailW);
      const seq = Atomics.load(words, ringWord(0, R_SEQ));
      if ((before & 1) === 0 && Atomics.load(words, versionW) === before) {
        if ((tail & 7) !== 0) throw this.#corrupt(`the tail ${tail >>> 0} is not 8-byte aligned`);
        return [tail, seq];
      }
    }
    const tail = Atomics.load(words, this.#tailW);
    if ((tail & 7) !== 0) throw this.#corrupt(`the tail ${tail >>> 0} is not 8-byte aligned`);
    return [tail, undefined];
  }

  /**
   * Jumps to the oldest intact record; with `count`, adds the messages
   * skipped to `missed` and reports a 'lapped' event.
   */
  #resync(count: boolean): void {
    const words = this.#words;
    for (let tries = 0; tries < MAX_RESYNC_TRIES; tries++) {
      const oldest = Atomics.load(words, this.#headW);
      const tail = Atomics.load(words, this.#tailW);
      if ((oldest & 7) !== 0 || (tail & 7) !== 0)
        throw this.#corrupt(
          `the oldest record ${oldest >>> 0} or the tail ${tail >>> 0} is not 8-byte aligned`,
        );
      // More than a ring apart: the sender moved on between the two loads.
      if ((tail - oldest) >>> 0 > this.#capacity) continue;
      let seq: number | undefined;
      if (oldest !== tail) {
        // The record there carries its number (padding carries the next one's).
        seq = words[((this.#data + (oldest & this.#mask)) >> 2) + 1]!;
        loadFence();
        if (Atomics.load(words, this.#headW) !== oldest) continue;
      } else {
        const [now, next] = this.#tailAndSeq();
        if (now !== oldest) continue;
        seq = next;
      }
      const missed = count && this.#seqKnown && seq !== undefined ? (seq - this.#seq) >>> 0 : 0;
      this.#pos = oldest;
      this.#tail = tail;
      this.#seqKnown = seq !== undefined;
      if (seq !== undefined) this.#seq = seq;
      if (missed > 0) {
        this.#missed += missed;
        Atomics.store(words, this.#missedW, this.#missed);
        // Last: a listener that receives from inside the event finds this
        // receiver already past the loss, not lapped again.
        this.#report({ type: 'lapped', missed });
      }
      return;
    }
    throw this.#corrupt(
      'the oldest record and the tail never made sense together in a million reads',
    );
  }

  #corrupt(what: string): Error {
    return this.#mem.breakWith(corrupt(this.#mem.name, what));
  }

  close(): void {
    const words = this.#words;
    if (words.length === 0) return;
    release(words, this.#ownerW, this.#ownerStartW);
  }
}
