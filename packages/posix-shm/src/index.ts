/**
 * @shmkit/posix-shm: POSIX shared memory objects (`shm_open`) for Node.js.
 *
 * @packageDocumentation
 */
export { PosixShm, SHM_DIRECTORY } from './posix-shm';
export type {
  CreateOptions,
  MapOptions,
  OpenOptions,
  PosixShmInfo,
  PosixShmStat,
} from './posix-shm';
export { Mapping } from '@shmkit/core';
