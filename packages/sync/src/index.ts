/**
 * @shmkit/sync: cross-process synchronisation primitives.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export * from './futex';
export * from './mutex';
export * from './pthread-mutex';
export * from './guard';
export type { AsyncWaitOptions, SyncMemory, WaitOptions } from './wait';
export * from './event';
export * from './semaphore';
export * from './named-semaphore';
export * from './sysv-semaphore';
export * from './fifo';
/** True for errors from a failed system call (`code`, `errno`, `syscall`): the guard for `catch` blocks. */
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
