// What the public Receiver needs from the two ways of reading a channel:
// the rings of spsc/mpsc (ring-reader.ts) and the shared ring of broadcast
// (broadcast-reader.ts).

/** Something the receiver reports through its EventEmitter. */
export type ReceiverEvent =
  | { type: 'sender-died'; slot: number; tid: number }
  | { type: 'lapped'; missed: number };

export interface ReceiverCore {
  /**
   * The offset of the next message's payload in the object, or -1 when
   * there is none now. Peeking again without `release()` returns the same.
   */
  peek(): number;
  /** Payload length of the peeked message. */
  readonly peekLength: number;
  /**
   * Consumes the peeked message. broadcast: false when the sender overwrote
   * it while it was held (what was read may be torn).
   */
  release(): boolean;
  /** Whether a message is waiting (looks at the shared cursors). */
  poll(): boolean;
  /**
   * When every sender is gone and every message was taken: the error that
   * says so (ended, or the last sender died). Loads the owners before the
   * cursors, so a message published just before a close is never missed.
   */
  ending(): Error | undefined;
  /** Notices dead peers (reclaiming their slots) and reports events. At most every ~200 ms. */
  sweep(): void;
  /** Publishes the release cursor. */
  publish(): void;
  /** True when this receiver alone sleeps on the receivers' futex word (and may clear it). */
  readonly ownsWaitingWord: boolean;
  /** broadcast: messages lost to lapping so far. */
  readonly missed: number;
  /** Gives the slot back. */
  close(): void;
}
