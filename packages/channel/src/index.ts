/**
 * @shmkit/channel: messages between processes.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

// Shared-memory channels (rings in a POSIX shm object): channel.ts and its modules.
export { Channel } from './channel';
export type { ChannelOptions } from './channel';
export { Sender } from './sender';
export type { SenderOptions, SenderWritableOptions } from './sender';
export { Receiver } from './receiver';
export type {
  LappedEvent,
  ReceiverOptions,
  ReceiverReadableOptions,
  SenderDiedEvent,
} from './receiver';
export type { BroadcastStart, ChannelKind, Codec } from './layout';
export type { CodecOutput, Decoded, Encodable } from './codec';
export type { AsyncWaitOptions, WaitOptions, WaitStats } from './wait-options';
export { ChannelErrorCode } from './error-codes';
export { channelHeaderBytes, decodeChannelHeader, inspectChannel, isChannelHeader } from './header';
export type { ChannelExit, ChannelInfo, ChannelReceiverInfo, ChannelSenderInfo } from './header';
