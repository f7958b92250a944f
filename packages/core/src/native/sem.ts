// Native functions of POSIX semaphores (bind/sem.rs, used by @shmkit/sync).
import type { MappingHandle, NativeHandle } from './core';
import type { WaitToken } from './wait-token';

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
}
