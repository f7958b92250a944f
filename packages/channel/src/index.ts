/**
 * @shmkit/channel: messages between processes.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

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
