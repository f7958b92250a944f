/**
 * @shmkit/mlock: keep memory in RAM. Range locks over Mappings and buffers
 * (mlock, mlock2 on fault, munlock), whole-process locks (mlockall,
 * munlockall) and the limits that govern them.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export { lock, unlock, MemoryLock } from './lock';
export type { LockOptions, LockTarget, UnlockOptions } from './lock';
export { lockAll, unlockAll } from './lock-all';
export type { LockAllOptions } from './lock-all';
export { canLock, limits, lockedBytes } from './limits';
export type { MemlockLimits } from './limits';
/** True for errors from a failed system call (`code`, `errno`, `syscall`): the guard for `catch` blocks. */
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
