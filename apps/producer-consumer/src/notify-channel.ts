// Notification through an @shmkit/channel channel: the message itself (its
// number and text, as JSON) travels in a ring of shared memory next to the
// object, so nothing is overwritten unread and the producer is slowed down
// by a slow consumer (the channel's backpressure) instead of waiting for a
// hand-off per message. No FIFO, no semaphores: the channel's own futex
// words wake whichever side sleeps.
//
// The channel is a second POSIX shm object, `<name>-channel` by default:
// spsc, JSON codec, 64 KiB (its layout: packages/channel/LAYOUT.md). The
// message area in the first object is written as in the other modes.
import { Channel, ChannelErrorCode, type Receiver, type Sender } from '@shmkit/channel';
import { AREA_SIZE, type Message } from './layout';
import type { NotifyReceiver, NotifySender, Transport } from './notify';
import { pause } from './pause';

/** What one channel message holds. */
type Wire = Message;

const CAPACITY = 64 * 1024;

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

/** True when a receiver is attached to `channel`'s receiver slot. */
function hasReceiver(channel: Channel<Wire>): boolean {
  return channel.inspect().receivers[0]?.owner !== 0;
}

class ChannelSender implements NotifySender {
  readonly #channel: Channel<Wire>;
  readonly #sender: Sender<Wire>;

  constructor(channel: Channel<Wire>) {
    this.#channel = channel;
    this.#sender = channel.sender();
  }

  async connect(signal: AbortSignal): Promise<boolean> {
    // The channel buffers without a receiver; waiting keeps the app's
    // "one consumer at a time" story (and its log lines) the same.
    while (!hasReceiver(this.#channel)) if (!(await pause(20, signal))) return false;
    return true;
  }

  async reserve(): Promise<boolean> {
    // Room is waited for by the send itself; a consumer gone is seen here.
    return hasReceiver(this.#channel);
  }

  async notify(number: number, text: string): Promise<boolean> {
    try {
      await this.#sender.sendAsync({ number, text });
      return true;
    } catch (error) {
      const code = codeOf(error);
      if (code === ChannelErrorCode.NO_RECEIVER || code === ChannelErrorCode.PEER_DIED)
        return false;
      throw error;
    }
  }

  close(): void {
    this.#sender.close(); // the consumer drains what is left, then sees the end
    this.#channel.close();
    try {
      Channel.unlink(this.#channel.name);
    } catch {
      // already removed
    }
  }
}

class ChannelReceiver implements NotifyReceiver {
  readonly #channel: Channel<Wire>;
  readonly #receiver: Receiver<Wire>;

  constructor(channel: Channel<Wire>, receiver: Receiver<Wire>) {
    this.#channel = channel;
    this.#receiver = receiver;
  }

  async *notifications(signal: AbortSignal): AsyncIterable<Message> {
    for (;;) {
      let message: Wire | undefined;
      try {
        message = await this.#receiver.receiveAsync({ signal });
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ABORT_ERR' || code === ChannelErrorCode.ENDED) return;
        if (code === ChannelErrorCode.PEER_DIED) {
          console.log(
            `consumer: producer ${String((error as { tid?: number }).tid)} died without closing`,
          );
          return;
        }
        throw error;
      }
      if (message !== undefined) yield message;
    }
  }

  close(): void {
    this.#receiver.close();
    this.#channel.close();
  }
}

export const channelTransport: Transport = {
  objectSize: AREA_SIZE,
  usesFifoPath: false,

  async create(channel) {
    // A channel left by a crashed producer of the same shape is reused.
    return new ChannelSender(Channel.create<Wire>(channel, { codec: 'json', capacity: CAPACITY }));
  },

  async attach(channel, _shmName, signal) {
    for (;;) {
      try {
        const opened = Channel.open<Wire>(channel);
        try {
          return new ChannelReceiver(opened, opened.receiver());
        } catch (error) {
          opened.close();
          throw error;
        }
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') throw error;
      }
      if (!(await pause(20, signal)))
        throw new Error(`no channel producer: '${channel}' does not exist`);
    }
  },

  defaultChannel(shmName) {
    return `${shmName}-channel`;
  },
};
