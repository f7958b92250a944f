// Native functions of the sync area (futex wake, thread identity, glibc's
// pthread mutex). Waits are in ./wait.
import type { MappingHandle } from './core';

export interface SyncNative {
  /** gettid() of the calling thread. */
  syncGettid(): number;
  /** Whether thread `tid` exists; `thorough` also rules out zombies (reads /proc). */
  syncThreadAlive(tid: number, thorough?: boolean): boolean;
  /** The address of `array[index]`, checked to be in range and 4-byte aligned. */
  syncAddressOf(array: Int32Array, index: number): number;
  /** Shared FUTEX_WAKE: wakes up to `count` waiters (0 wakes none); returns how many. */
  syncFutexWake(address: number, count: number): number;
  /** sizeof and alignof glibc's pthread_mutex_t on this platform. */
  syncPthreadMutexLayout(): { byteLength: number; alignment: number };
  /** pthread_mutex_init: process-shared, robust, error-checking. */
  syncPthreadMutexInit(array: Int32Array): undefined;
  /**
   * pthread_mutex_lock (or clocklock with a timeout, Infinity for none; in a
   * worker in slices, to notice a terminate); true when the previous
   * owner died (EOWNERDEAD). With the Mapping the array lies in, that
   * Mapping is pinned until the unlock: protect() cannot revoke access and
   * close() unmaps only after it (glibc's robust list points there).
   */
  syncPthreadMutexLock(array: Int32Array, timeoutMs: number, mapping?: MappingHandle): boolean;
  /** pthread_mutex_trylock: ownerDied as for lock, null when busy. Pins as lock does. */
  syncPthreadMutexTryLock(array: Int32Array, mapping?: MappingHandle): boolean | null;
  /** pthread_mutex_unlock, then the pin of lock (if any) is released. */
  syncPthreadMutexUnlock(array: Int32Array): undefined;
  syncPthreadMutexConsistent(array: Int32Array): undefined;
  /**
   * Throws ERR_SHMKIT_NOT_INITIALIZED unless the kind word is robust,
   * process-shared and free of bits glibc could abort on (lock, trylock,
   * unlock and consistent check the same before calling glibc).
   */
  syncPthreadMutexCheck(array: Int32Array): undefined;
  /**
   * pthread_mutex_unlock of a mutex this thread holds at `address` in a
   * Mapping closed meanwhile (its pin kept the memory mapped).
   * ERR_SHMKIT_CLOSED when no pinned mutex is held there.
   */
  syncPthreadMutexUnlockHeld(address: number): undefined;
}
