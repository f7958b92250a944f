// Native functions of the posix-shm area (packages/core/src/bind/posix_shm.rs).
import type { NativeHandle, NativeMapFdOptions, NativeMapping } from './core';

/** An open POSIX shared memory object; owns its descriptor. */
export type PosixShmHandle = NativeHandle<'PosixShm'>;

/** What posixShmOpen returns. */
export interface NativePosixShmOpened {
  handle: PosixShmHandle;
  fd: number;
  /** True when this call created the object. */
  created: boolean;
}

/** fstat of an object: size in bytes, permission bits, owner. */
export interface NativePosixShmStat {
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface PosixShmNative {
  /** shm_open; a new object gets exactly `mode` (no umask). */
  posixShmOpen(
    name: string,
    create: boolean,
    exclusive: boolean,
    readOnly: boolean,
    mode: number,
  ): NativePosixShmOpened;
  /** ftruncate, reserving the pages it adds (fallocate) unless `reserve` is false. */
  posixShmResize(handle: PosixShmHandle, size: number, reserve?: boolean): undefined;
  /** An object with no name yet (O_TMPFILE in /dev/shm), mode exactly `mode`. */
  posixShmCreateUnnamed(name: string, mode: number): NativePosixShmOpened;
  /** Gives an object from posixShmCreateUnnamed its name, atomically (linkat); EEXIST if taken. */
  posixShmPublish(handle: PosixShmHandle): undefined;
  posixShmStat(handle: PosixShmHandle): NativePosixShmStat;
  /** mmap of `offset..offset+length` (default: to the end), checked against the size. */
  posixShmMap(
    handle: PosixShmHandle,
    offset: number | bigint,
    length: number | undefined,
    options: NativeMapFdOptions,
  ): NativeMapping;
  /** Closes the descriptor; false if it was already closed. */
  posixShmClose(handle: PosixShmHandle): boolean;
  posixShmUnlink(name: string): undefined;
}
