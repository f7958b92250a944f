// Native functions of the sync area (futex, mutex, event).
import type { MappingHandle, NativeHandle } from './core';

/** The cancel flag of one async futex wait. */
export type CancellerHandle = NativeHandle<'Canceller'>;

/**
 * How a native futex wait ended: 0 woken (maybe spuriously), 1 the word did
 * not hold the expected value, 2 timed out, 3 cancelled, 4 the watched
 * thread died.
 */
export type NativeWaitOutcome = 0 | 1 | 2 | 3 | 4;

export interface SyncNative {
  /** gettid() of the calling thread. */
  syncGettid(): number;
  /** Whether thread `tid` exists; `thorough` also rules out zombies (reads /proc). */
  syncThreadAlive(tid: number, thorough?: boolean): boolean;
  /** The address of `array[index]`, checked to be in range and 4-byte aligned. */
  syncAddressOf(array: Int32Array, index: number): number;
  /**
   * Shared FUTEX_WAIT on `address` while it holds `expected`. `timeoutMs` < 0
   * or Infinity waits forever. With `watchTid`, also returns 4 once that
   * thread is gone (checked every 100 ms).
   */
  syncFutexWait(
    address: number,
    expected: number,
    timeoutMs: number,
    watchTid?: number,
  ): NativeWaitOutcome;
  /** Shared FUTEX_WAKE: wakes up to `count` waiters; returns how many. */
  syncFutexWake(address: number, count: number): number;
  /** A new cancel flag for one {@link SyncNative.syncFutexWaitAsync}. */
  syncCanceller(): CancellerHandle;
  /** Cancels the wait that uses `canceller` (before or while it runs). */
  syncCancel(canceller: CancellerHandle): undefined;
  /** {@link SyncNative.syncFutexWait} on a dedicated thread, cancellable. */
  syncFutexWaitAsync(
    canceller: CancellerHandle,
    address: number,
    expected: number,
    timeoutMs: number,
    watchTid?: number,
  ): Promise<NativeWaitOutcome>;
  /** Whether cancellable waits use futex_waitv (else the FUTEX_WAIT fallback). */
  syncHasFutexWaitv(): boolean;

  /** sizeof and alignof glibc's pthread_mutex_t on this platform. */
  syncPthreadMutexLayout(): { byteLength: number; alignment: number };
  /** pthread_mutex_init: process-shared, robust, error-checking. */
  syncPthreadMutexInit(array: Int32Array): undefined;
  /**
   * pthread_mutex_lock (or clocklock with a timeout); true when the previous
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
