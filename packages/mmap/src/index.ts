/**
 * @shmkit/mmap: memory-mapped files and anonymous memory for Node.js.
 *
 * {@link mapFile} maps a file (64-bit, page-aligned offsets) and returns a
 * core {@link @shmkit/core!Mapping | Mapping}: one zero-copy ArrayBuffer, `sync()`/`syncAsync()`
 * (msync), `protect()` (mprotect) and `advise()` (madvise), none of which
 * can make a later JS access crash the process.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// shmkit's errors point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export { mapFile } from './map-file';
export type { MapFileOptions } from './map-file';
export { Mapping, mapAnonymous, pageSize, isSystemError } from '@shmkit/core';
export type {
  Advice,
  AnonymousOptions,
  MappingKind,
  PageRangeOptions,
  Protection,
  SyncOptions,
  SystemError,
} from '@shmkit/core';
