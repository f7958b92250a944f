// Native functions of the mlock area (used by @shmkit/mlock).
import type { MappingHandle, NativeHandle } from './core';

/** One live range lock in the addon's process-wide registry. */
export type MemoryLockHandle = NativeHandle<'MemoryLock'>;

/** What a native lock call returns. */
export interface NativeMemoryLock {
  handle: MemoryLockHandle;
  /** First byte of the locked pages (page-aligned). */
  address: bigint;
  /** Bytes locked: the requested range rounded out to whole pages. */
  byteLength: number;
}

/** RLIMIT_MEMLOCK in bytes; Infinity when unlimited. */
export interface NativeMemlockLimits {
  soft: number;
  hard: number;
}

/** Locking-related fields of /proc/self/status, in bytes. */
export interface NativeLockStatus {
  /** VmLck. */
  locked: number;
  /** VmRSS. */
  resident: number;
  /** VmSize. */
  mapped: number;
  /** CAP_IPC_LOCK is effective. */
  ipcLock: boolean;
}

export interface MlockNative {
  /** mlock (or mlock2 MLOCK_ONFAULT) of a Mapping's byte range; length defaults to the rest. */
  mlockLockMapping(
    mapping: MappingHandle,
    offset: number | undefined,
    length: number | undefined,
    onFault: boolean,
  ): NativeMemoryLock;
  /** The same over the bytes of an ArrayBuffer/TypedArray/DataView; the caller keeps it reachable. */
  mlockLockBytes(
    target: ArrayBuffer | ArrayBufferView,
    offset: number | undefined,
    length: number | undefined,
    onFault: boolean,
  ): NativeMemoryLock;
  /** munlock of the pages no other live lock covers; false if it was not live. */
  mlockUnlock(lock: MemoryLockHandle): boolean;
  /** False once unlocked, after munlockall, or once a locked Mapping is unmapped. */
  mlockIsLocked(lock: MemoryLockHandle): boolean;
  /** mlockall with MCL_CURRENT / MCL_FUTURE / MCL_ONFAULT; at least one of the first two. */
  mlockLockAll(current: boolean, future: boolean, onFault: boolean): undefined;
  /** munlockall; ends every range lock too. */
  mlockUnlockAll(): undefined;
  /** getrlimit(RLIMIT_MEMLOCK). */
  mlockLimits(): NativeMemlockLimits;
  /** VmLck, VmRSS, VmSize and CAP_IPC_LOCK from /proc/self/status. */
  mlockStatus(): NativeLockStatus;
}
