/**
 * @shmkit/sysv-shm: System V shared memory for Node.js.
 *
 * Create or open segments by key ({@link ftok}), attach them as zero-copy
 * mappings shared with other processes (C programs included), and manage
 * them with every shmctl command: stat, set, lock, unlock, remove. List the
 * system's segments and limits like `ipcs`.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export { ftok, formatKey, validateKey, IPC_PRIVATE, MAX_KEY } from './key';
export { SysvSegment } from './segment';
export type {
  AttachOptions,
  CreateOptions,
  OpenOptions,
  SegmentStat,
  SetOptions,
  SysvAttachment,
} from './segment';
export { listSegments, limits } from './list';
export type { SegmentInfo, ShmLimits } from './list';
export { isSystemError } from '@shmkit/core';
export type { Mapping, SystemError } from '@shmkit/core';
