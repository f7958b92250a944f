// Native functions of the mmap area (bind/mmap.rs).
import type { NativeMapping } from './core';

/** mmapMapFile options as the native side reads them. */
export interface NativeMapFileOptions {
  /** MAP_SHARED (default) or MAP_PRIVATE. */
  shared?: boolean;
  /** Open O_RDONLY; shared mappings then have no buffer, private ones are copy-on-write. */
  readOnly?: boolean;
  /** MAP_POPULATE. */
  populate?: boolean;
  /** Create the file if needed and grow it to at least this many bytes. */
  size?: number | bigint;
  /** Mode for a file that `size` creates. Default 0o600. */
  mode?: number;
  /** Allocate the bytes `size` adds (fallocate). Default: only on tmpfs. */
  reserve?: boolean;
}

export interface MmapNative {
  /**
   * Maps a file by path or descriptor after checking its size (fstat), so
   * that no mapped byte lies past the end of the file.
   */
  mmapMapFile(
    pathOrFd: string | number,
    offset: number | bigint,
    length: number | undefined,
    options: NativeMapFileOptions,
  ): NativeMapping;
}
