// How the producer tells the consumer "a new message is ready": the
// interfaces every notification mechanism implements. The mechanisms
// themselves live in notify-*.ts and are listed in transports.ts.
import type { PosixShm } from '@shmkit/posix-shm';

/** The producer's end: wakes the consumer. */
export interface NotifySender {
  /**
   * Wait until a consumer is listening. Resolves false if `signal` aborted.
   */
  connect(signal: AbortSignal): Promise<boolean>;
  /**
   * Wait until the next message may be written: for a transport that hands
   * off every message, until a consumer has taken the previous one. Resolves
   * false if `signal` aborted or the consumer has gone (the producer then
   * waits for another one). Transports where the latest message simply wins
   * resolve true at once.
   */
  reserve(signal: AbortSignal): Promise<boolean>;
  /**
   * Tells the consumer that message `number` is ready. Resolves false when
   * the consumer has gone (the producer then waits for another one).
   */
  notify(number: number): Promise<boolean>;
  /** Tells consumers the producer is done, releases the channel and removes what `create` made. */
  close(): void;
}

/** The consumer's end: waits for notifications. */
export interface NotifyReceiver {
  /**
   * Message numbers as they are announced; ends when the producer goes away
   * or `signal` aborts. A message counts as taken once the consumer asks for
   * the next one (or stops iterating).
   */
  notifications(signal: AbortSignal): AsyncIterable<number>;
  close(): void;
}

/** A notification mechanism. */
export interface Transport {
  /** Bytes of shared memory the producer creates: the message area plus what the transport keeps there. */
  readonly objectSize: number;
  /** Creates the channel (producer side), after the object `shm` was created with {@link Transport.objectSize} bytes. */
  create(channel: string, shm: PosixShm): Promise<NotifySender>;
  /**
   * Attaches to an existing channel (consumer side) of the producer of
   * shared memory object `shmName`, retrying until `signal` aborts.
   */
  attach(channel: string, shmName: string, signal: AbortSignal): Promise<NotifyReceiver>;
  /** The channel to use when none is given, derived from the shm name. */
  defaultChannel(shmName: string): string;
  /** Whether `--fifo` means anything to this transport. */
  readonly usesFifoPath: boolean;
}
