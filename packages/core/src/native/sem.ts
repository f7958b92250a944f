// Native functions of POSIX semaphores (bind/sem.rs, used by @shmkit/sync).
import type { MappingHandle, NativeHandle } from './core';

/** A sem_t: in a Mapping (semInit/semAttach) or named (semOpen). */
export type SemHandle = NativeHandle<'Semaphore'>;

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

export interface SemNative {
  semLayout(): NativeSemLayout;
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
  /**
   * Takes a unit, spinning `spin` tries first; `timeout` in ms, Infinity for
   * none. False on timeout (or when a worker is being terminated).
   */
  semWait(handle: SemHandle, timeout: number, spin: number): boolean;
  /**
   * The same on the wait engine: resolves true when taken, false on
   * timeout; rejects with an AbortError when `group` is aborted, with
   * ERR_SHMKIT_CLOSED when the semaphore's Mapping is closed.
   */
  semWaitAsync(
    handle: SemHandle,
    timeout: number,
    group: number,
    flags: number,
    spin: number,
  ): Promise<boolean>;
  /** The value (waiters are not counted). */
  semValue(handle: SemHandle): number;
  semDestroy(handle: SemHandle): undefined;
}
