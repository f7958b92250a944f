// Native functions of the wait engine (bind/wait.rs).
/**
 * How a futex wait ended: 0 woken (maybe spuriously: re-check the word), 1
 * the word did not hold the expected value, 2 timed out, 3 a sync wait was
 * interrupted because its worker is being terminated, 4 the watched thread
 * died.
 */
export type NativeWaitOutcome = 0 | 1 | 2 | 3 | 4;

/** What the engine runs on and holds, for tests and benchmarks. */
export interface NativeWaitInfo {
  /** 'io_uring', 'futex_waitv' or 'pool'. */
  backend: 'io_uring' | 'futex_waitv' | 'pool';
  /** Async waits pending in this thread. */
  pending: number;
  /** Of those, the ones that keep the event loop alive. */
  referenced: number;
  /** futex_waitv threads in the process. */
  waitvThreads: number;
  /** Pool threads in the process. */
  poolThreads: number;
}

export interface WaitNative {
  /**
   * Shared FUTEX_WAIT on `address` while it holds `expected`, on the calling
   * thread. `timeout` in ms (Infinity for none). With `watchTid`, returns 4
   * once that thread is gone (checked every 100 ms).
   */
  waitFutex(
    address: number,
    expected: number,
    timeout: number,
    watchTid: number,
  ): NativeWaitOutcome;
  /**
   * The same on the wait engine, without a thread per wait. `group` (0 for
   * none) comes from {@link WaitNative.waitGroup}; `flags` bit 0 (1) makes
   * the wait not keep the event loop alive. Closing the Mapping the word
   * lies in rejects the wait with ERR_SHMKIT_CLOSED.
   */
  waitFutexAsync(
    address: number,
    expected: number,
    timeout: number,
    group: number,
    flags: number,
    watchTid: number,
  ): Promise<NativeWaitOutcome>;
  /** Waits until `fd` is ready for `events` (POLLIN 1, POLLOUT 4); -1 on timeout. */
  waitFdAsync(
    fd: number,
    events: number,
    timeout: number,
    group: number,
    flags: number,
  ): Promise<number>;
  /** A new abort group: the waits of one AbortSignal. */
  waitGroup(): number;
  /** Rejects every pending wait of `group` with an AbortError caused by `reason`. */
  waitAbort(group: number, reason: unknown): undefined;
  waitInfo(): NativeWaitInfo;
}
