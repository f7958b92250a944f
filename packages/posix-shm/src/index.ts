/**
 * @shmkit/posix-shm: POSIX shared memory objects (`shm_open`) for Node.js.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export { PosixShm, SHM_DIRECTORY } from './posix-shm';
export type {
  CreateOptions,
  WaitForOptions,
  MapOptions,
  OpenOptions,
  PosixShmInfo,
  PosixShmStat,
} from './posix-shm';
/** The core Mapping class that {@link PosixShm.map} returns, for `instanceof` checks and types. */
export { Mapping } from '@shmkit/core';
/** True for errors from a failed system call (`code`, `errno`, `syscall`): the guard for `catch` blocks. */
export { isSystemError } from '@shmkit/core';
export type { SystemError } from '@shmkit/core';
