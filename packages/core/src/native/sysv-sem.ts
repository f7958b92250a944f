// Native functions of System V semaphore sets (bind/sysv_sem.rs, used by
// @shmkit/sync).

/** IPC_STAT of a System V semaphore set. */
export interface NativeSemSetStat {
  key: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  mode: number;
  count: number;
  otime: Date | null;
  ctime: Date;
}

export interface SysvSemNative {
  sysvSemGet(key: number, count: number, create: boolean, exclusive: boolean, mode: number): number;
  /** `ops` holds (index, op, flags) triples; flags: 0x1000 SEM_UNDO, 0o4000 IPC_NOWAIT. */
  sysvSemOp(id: number, ops: Int32Array, timeout: number): boolean;
  /** semop on the wait engine's pool; resolves false on timeout. */
  sysvSemOpAsync(
    id: number,
    ops: Int32Array,
    timeout: number,
    group: number,
    flags: number,
  ): Promise<boolean>;
  sysvSemGetValue(id: number, index: number): number;
  sysvSemSetValue(id: number, index: number, value: number): undefined;
  sysvSemLastPid(id: number, index: number): number;
  sysvSemWaitingCount(id: number, index: number): number;
  sysvSemZeroWaitingCount(id: number, index: number): number;
  sysvSemGetAll(id: number): number[];
  sysvSemSetAll(id: number, values: Int32Array): undefined;
  sysvSemStat(id: number): NativeSemSetStat;
  sysvSemSetPermissions(
    id: number,
    options: { uid?: number; gid?: number; mode?: number },
  ): undefined;
  sysvSemRemove(id: number): undefined;
}
