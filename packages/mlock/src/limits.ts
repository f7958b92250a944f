// How much may be locked, and how much is: RLIMIT_MEMLOCK, VmLck, CAP_IPC_LOCK.
import { pageSize } from '@shmkit/core';
import { native, validateInteger } from '@shmkit/core/internal';

/** RLIMIT_MEMLOCK of the process, and whether it applies. */
export interface MemlockLimits {
  /** The soft limit in bytes (what the kernel enforces); Infinity if unlimited. */
  soft: number;
  /** The hard limit in bytes (the most the soft limit may be raised to); Infinity if unlimited. */
  hard: number;
  /**
   * The process has CAP_IPC_LOCK in its effective set, so the kernel does not
   * apply the limit to it (root usually has it).
   */
  privileged: boolean;
}

/**
 * RLIMIT_MEMLOCK (`getrlimit(2)`) and CAP_IPC_LOCK. Locked memory counts
 * against the soft limit; `ulimit -l` shows it in KiB.
 *
 * @example
 * ```ts
 * const { soft, privileged } = limits();
 * console.log(privileged ? 'no limit applies' : `may lock ${soft} bytes`);
 * ```
 */
export function limits(): MemlockLimits {
  const { soft, hard } = native.mlockLimits();
  return { soft, hard, privileged: native.mlockStatus().ipcLock };
}

/**
 * Bytes this process has locked now: VmLck from /proc/self/status, the
 * number the kernel checks against RLIMIT_MEMLOCK. It counts locks made by
 * any code in the process, `lockAll()` included, and counts an `onFault`
 * range in full as soon as it is locked, before its pages are touched.
 */
export function lockedBytes(): number {
  return native.mlockStatus().locked;
}

/**
 * Whether a lock of `bytes` more should succeed: true with CAP_IPC_LOCK or an
 * unlimited limit, else whether VmLck plus `bytes` rounded up to pages fits
 * under the soft limit. A range that does not start on a page boundary may
 * span one page more than `bytes` alone suggests; pages already locked count
 * once in the kernel but twice here, so the answer errs on the safe side.
 *
 * @param bytes - Bytes to lock: a whole number >= 0.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a bad `bytes`.
 */
export function canLock(bytes: number): boolean {
  validateInteger(bytes, 'bytes', 0);
  const status = native.mlockStatus();
  if (status.ipcLock) return true;
  const { soft } = native.mlockLimits();
  if (soft === Infinity) return true;
  const page = pageSize();
  const needed = Math.ceil(bytes / page) * page;
  // RLIMIT_MEMLOCK of 0 forbids any lock (EPERM), even an empty one.
  return soft > 0 && status.locked + needed <= soft;
}
