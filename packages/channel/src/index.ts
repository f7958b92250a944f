/**
 * @shmkit/channel: messages between processes.
 *
 * @packageDocumentation
 */
export { PosixMessageQueue } from './posix-mq';
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
} from './posix-mq';
export { SysvMessageQueue } from './sysv-msg';
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
} from './sysv-msg';
export type { QueueAccess } from './access';
export type { MessageData } from './bytes';
export type { QueueWaitAsyncOptions, QueueWaitOptions } from './wait-options';
export { ftok } from '@shmkit/sysv-shm';
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
