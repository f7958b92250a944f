// Whole-process locking: mlockall/munlockall.
import { invalidArgValue, native, optionalBoolean, validateOptions } from '@shmkit/core/internal';
import { prune } from './lock';

/** Options of {@link lockAll}. At least one of `current` and `future` must be true. */
export interface LockAllOptions {
  /** Lock every page mapped now (MCL_CURRENT). Default true. */
  current?: boolean;
  /**
   * Lock every page mapped from now on (MCL_FUTURE). Default false. Under a
   * finite RLIMIT_MEMLOCK this makes later allocations fail once the limit is
   * reached, and V8 treats a failed heap allocation as fatal: use it only with
   * CAP_IPC_LOCK or an unlimited limit.
   */
  future?: boolean;
  /**
   * Lock pages as they are first touched instead of faulting everything in
   * now (MCL_ONFAULT, Linux 4.4+). Default false.
   */
  onFault?: boolean;
}

/**
 * Locks the whole address space of the process into RAM (`mlockall(2)`):
 * the code, the V8 heap, every Mapping, and with `future` everything mapped
 * later. It affects every thread and worker of the process.
 *
 * Without CAP_IPC_LOCK the kernel compares the whole mapped size (VmSize,
 * which for Node includes large reservations) with RLIMIT_MEMLOCK, so
 * `current` usually needs the capability or an unlimited limit.
 *
 * @throws `ERR_INVALID_ARG_TYPE` for non-boolean options,
 *   `ERR_INVALID_ARG_VALUE` when neither `current` nor `future` is set, and
 *   system errors `ENOMEM`/`EPERM` (over the limit, with a `hint`), `EAGAIN`,
 *   or `EINVAL` for `onFault` on a kernel older than 4.4.
 *
 * @example
 * ```ts
 * import { lockAll, unlockAll } from '@shmkit/mlock';
 * lockAll({ current: true, onFault: true });
 * // ... latency-sensitive work ...
 * unlockAll();
 * ```
 */
export function lockAll(options?: LockAllOptions): void {
  const opts = validateOptions(options);
  const current = optionalBoolean(opts.current, 'options.current', true);
  const future = optionalBoolean(opts.future, 'options.future', false);
  const onFault = optionalBoolean(opts.onFault, 'options.onFault', false);
  if (!current && !future) {
    throw invalidArgValue('options', 'must set current, future or both to true', options);
  }
  native.mlockLockAll(current, future, onFault);
}

/**
 * Unlocks every page of the process and cancels `future` (`munlockall(2)`).
 * This also ends every {@link MemoryLock} of every thread: their `locked`
 * turns false.
 */
export function unlockAll(): void {
  native.mlockUnlockAll();
  prune();
}
