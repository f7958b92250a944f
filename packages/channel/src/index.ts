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

// Kernel message queues (POSIX mq_* and System V msg*): queues/.
export { PosixMessageQueue } from './queues/posix-mq';
export type {
  PosixMessage,
  PosixMessageQueueAttributes,
  PosixMessageQueueCreateOptions,
  PosixMessageQueueLimits,
  PosixMessageQueueOpenOptions,
  PosixMessageQueueSetAttributes,
  PosixMessageQueueStat,
  PosixSendAsyncOptions,
  PosixSendOptions,
  PosixTrySendOptions,
} from './queues/posix-mq';
export { SysvMessageQueue } from './queues/sysv-msg';
export type {
  SysvMessage,
  SysvMessageQueueCreateOptions,
  SysvMessageQueueLimits,
  SysvMessageQueueOpenOptions,
  SysvMessageQueueSetOptions,
  SysvMessageQueueStat,
  SysvReceiveAsyncOptions,
  SysvReceiveOptions,
  SysvSelectOptions,
  SysvSendAsyncOptions,
  SysvSendOptions,
  SysvTrySendOptions,
} from './queues/sysv-msg';
export type { QueueAccess } from './queues/access';
export type { MessageData } from './queues/bytes';
export type { QueueWaitAsyncOptions, QueueWaitOptions } from './queues/options';
export { ftok } from '@shmkit/sysv-shm';
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
