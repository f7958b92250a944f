/**
 * @shmkit/sync: cross-process synchronisation primitives.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

// Named re-exports only: `export *` compiles to a generic getter that V8
// cannot inline, a cost on every call through the package's entry point.
export {
  futex,
  futexWait,
  futexWaitAsync,
  futexWake,
  type FutexWaitAsyncOptions,
  type FutexWaitOptions,
  type FutexWaitResult,
} from './futex';
export { Mutex, type MutexLockAsyncOptions, type MutexLockOptions, type MutexState } from './mutex';
export { PthreadMutex } from './pthread-mutex';
export { MutexGuard, type GuardedLock } from './guard';
export type { AsyncWaitOptions, SyncMemory, WaitOptions } from './wait';
export {
  SharedEvent,
  type EventInitOptions,
  type EventMode,
  type EventWaitAsyncOptions,
  type EventWaitOptions,
} from './event';
export { Semaphore, type SemaphoreWaitAsyncOptions, type SemaphoreWaitOptions } from './semaphore';
export { NamedSemaphore, type NamedSemaphoreCreateOptions } from './named-semaphore';
export {
  SysvSemaphoreSet,
  type SemaphoreOp,
  type SysvSemaphoreCreateOptions,
  type SysvSemaphoreOpAsyncOptions,
  type SysvSemaphoreOpenOptions,
  type SysvSemaphoreOpOptions,
  type SysvSemaphorePermissions,
  type SysvSemaphoreStat,
  type SysvSemaphoreUnitOptions,
} from './sysv-semaphore';
export {
  Fifo,
  FifoReader,
  FifoWriter,
  type FifoCreateOptions,
  type FifoReaderOptions,
  type FifoWaitOptions,
  type FifoWriterOptions,
} from './fifo';
/** True for errors from a failed system call (`code`, `errno`, `syscall`): the guard for `catch` blocks. */
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
