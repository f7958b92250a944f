// Native functions of the System V shared memory area (bind/sysv.rs).
import type { NativeMapping } from './core';

/** shmget flags as the native side reads them. */
export interface NativeShmGetOptions {
  /** IPC_CREAT. */
  create?: boolean;
  /** IPC_EXCL (with create). */
  exclusive?: boolean;
  /** Permission bits for a new segment, 0..0o777. Default 0o600. */
  mode?: number;
  /** SHM_HUGETLB (with create). */
  hugePages?: boolean;
  /** SHM_NORESERVE (with create). */
  noReserve?: boolean;
}

/** IPC_STAT's shmid_ds, decoded. Times are null when the event never happened. */
export interface NativeShmStat {
  id: number;
  key: number;
  size: number;
  /** Permission bits (mode & 0o777). */
  mode: number;
  /** shm_perm.mode as the kernel keeps it, with SHM_DEST (0o1000) and SHM_LOCKED (0o2000). */
  rawMode: number;
  removed: boolean;
  locked: boolean;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  cpid: number;
  lpid: number;
  nattch: number;
  seq: number;
  atime: Date | null;
  dtime: Date | null;
  ctime: Date | null;
}

export interface SysvNative {
  /** ftok(3), computed from stat(2): never confuses the key 0xffffffff with failure. */
  sysvFtok(path: string, projId: number): number;
  /** shmget: the segment id. `size` 0 opens a segment of any size. */
  sysvShmGet(key: number, size: number, options?: NativeShmGetOptions): number;
  /** shmat over the whole segment; read-only attachments come back without a buffer. */
  sysvShmAttach(id: number, readOnly: boolean): NativeMapping;
  sysvShmStat(id: number): NativeShmStat;
  /** IPC_SET of the owner and permission bits. */
  sysvShmSet(id: number, uid: number, gid: number, mode: number): undefined;
  /** SHM_LOCK (true) or SHM_UNLOCK (false). */
  sysvShmLock(id: number, lock: boolean): undefined;
  /** IPC_RMID. */
  sysvShmRemove(id: number): undefined;
}
