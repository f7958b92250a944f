// Native functions of the semaphore area (used by @shmkit/sync).
import type { MappingHandle, NativeHandle } from './core';

/** A sem_t: in a Mapping (semInit/semAttach) or named (semOpen). */
export type SemHandle = NativeHandle<'Semaphore'>;
/** Cancels one async wait (semWaitCancel). */
export type WaitToken = NativeHandle<'WaitToken'>;

/** sem_t's layout on this platform. */
export interface NativeSemLayout {
  /** sizeof(sem_t): 32 on 64-bit glibc. */
  size: number;
  /** alignof(sem_t): 8 on 64-bit glibc. */
  align: number;
  /** SEM_VALUE_MAX. */
  valueMax: number;
  /** SEMVMX: the largest value of a System V semaphore. */
  sysvValueMax: number;
}

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

export interface SemNative {
  semLayout(): NativeSemLayout;
  semWaitToken(): WaitToken;
  /** True if the wait is now cancelled; false if it already finished. */
  semWaitCancel(token: WaitToken): boolean;
  semInit(mapping: MappingHandle, offset: number | bigint, value: number): SemHandle;
  semAttach(mapping: MappingHandle, offset: number | bigint): SemHandle;
  semOpen(
    name: string,
    create: boolean,
    exclusive: boolean,
    mode: number,
    value: number,
  ): SemHandle;
  semClose(handle: SemHandle): boolean;
  semUnlink(name: string): undefined;
  semPost(handle: SemHandle): undefined;
  semTryWait(handle: SemHandle): boolean;
  /** `timeout` in ms, Infinity for none. False on timeout. */
  semWait(handle: SemHandle, timeout: number, spin: number): boolean;
  /** Resolves true when taken, false on timeout or after a cancel. */
  semWaitAsync(
    handle: SemHandle,
    timeout: number,
    spin: number,
    token: WaitToken | undefined,
  ): Promise<boolean>;
  semValue(handle: SemHandle): number;
  semDestroy(handle: SemHandle): undefined;

  sysvSemGet(key: number, count: number, create: boolean, exclusive: boolean, mode: number): number;
  /** `ops` holds (index, op, flags) triples; flags: 0x1000 SEM_UNDO, 0o4000 IPC_NOWAIT. */
  sysvSemOp(id: number, ops: Int32Array, timeout: number): boolean;
  sysvSemOpAsync(
    id: number,
    ops: Int32Array,
    timeout: number,
    token: WaitToken | undefined,
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
