// How the producer tells the consumer "a new message is ready". The FIFO is
// the tutorial's channel; other transports (a semaphore...) plug in here by
// adding an entry to `transports`.
import { fifoTransport } from './notify-fifo';

/** The producer's end: wakes the consumer. */
export interface NotifySender {
  /**
   * Wait until a consumer is listening. Resolves false if `signal` aborted.
   * Transports that need no listener resolve at once.
   */
  connect(signal: AbortSignal): Promise<boolean>;
  /**
   * Tells the consumer that message `number` is ready. Resolves false when
   * the consumer has gone (the producer then waits for another one).
   */
  notify(number: number): Promise<boolean>;
  /** Releases the channel and removes what `create` made. */
  close(): void;
}

/** The consumer's end: waits for notifications. */
export interface NotifyReceiver {
  /** Message numbers as they are announced; ends when the producer goes away. */
  notifications(signal: AbortSignal): AsyncIterable<number>;
  close(): void;
}

/** A notification mechanism. */
export interface Transport {
  /** Creates the channel (producer side). */
  create(channel: string): Promise<NotifySender>;
  /** Attaches to an existing channel (consumer side), retrying until `signal` aborts. */
  attach(channel: string, signal: AbortSignal): Promise<NotifyReceiver>;
  /** The channel name to use when none is given, derived from the shm name. */
  defaultChannel(shmName: string): string;
}

/** Every transport, by the name `--sync` takes. */
export const transports: Record<string, Transport> = {
  fifo: fifoTransport,
};
