import type { RemoveOnExit } from '@shmkit/core';
import {
  invalidArgType,
  invalidArgValue,
  isSystemError,
  native,
  optionalBoolean,
  registerExitRemoval,
  validateInteger,
  validateOptions,
  validateRemoveOnExit,
  type ExitRemoval,
} from '@shmkit/core/internal';
import { parseWaitOptions, remaining, tryThenWait, type AsyncWaitOptions } from './wait';

/** SEM_UNDO as the kernel spells it. */
const SEM_UNDO = 0x1000;
/** IPC_NOWAIT. */
const IPC_NOWAIT = 0o4000;
/** SEMVMX: the largest value of one System V semaphore. */
const SEMVMX = 32767;

/** One operation of {@link SysvSemaphoreSet.op}: C's `struct sembuf`. */
export interface SemaphoreOp {
  /** Which semaphore of the set (0-based). */
  index: number;
  /**
   * Positive: add (post). Negative: subtract, waiting until the value is
   * large enough. Zero: wait until the value is 0. -32768..32767.
   */
  op: number;
  /**
   * SEM_UNDO: the kernel reverts this operation when the process exits,
   * however it exits (kill -9 included). The classic way to make a lock
   * that a crashed process cannot leave held.
   */
  undo?: boolean;
  /**
   * IPC_NOWAIT: if this operation would have to wait, the whole call fails
   * with EAGAIN instead.
   */
  noWait?: boolean;
}

/** Options of {@link SysvSemaphoreSet.create}. */
export interface SysvSemaphoreCreateOptions {
  /**
   * The key: a number 0..2^32-1, e.g. from `ftok()` in `@shmkit/sysv-shm`.
   * Default {@link SysvSemaphoreSet.IPC_PRIVATE}: always a new set, which
   * others reach through its {@link SysvSemaphoreSet.id}.
   */
  key?: number;
  /** How many semaphores the set holds (1..SEMMSL, 32000 by default). */
  count: number;
  /** Permission bits (0..0o777). Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if a set exists under `key` (IPC_EXCL). Default false. */
  exclusive?: boolean;
  /**
   * Remove the set (IPC_RMID) when this process ends, if this call created
   * it (an existing set is never touched). `true`: at exit (normal end,
   * `process.exit()`, uncaught exception). `'signals'`: also on SIGINT,
   * SIGTERM and SIGHUP, which are then re-raised. No signal handler is
   * installed unless `'signals'` is asked for. Default false. See
   * `RemoveOnExit` in @shmkit/core.
   */
  removeOnExit?: RemoveOnExit;
}

/** Options of {@link SysvSemaphoreSet.open}. */
export interface SysvSemaphoreOpenOptions {
  /** The key of an existing set: 1..2^32-1. */
  key: number;
}

/** Options of a blocking {@link SysvSemaphoreSet.op}. */
export interface SysvSemaphoreOpOptions {
  /** Give up after this many ms and return false. Default: wait forever; 0 tries once. */
  timeout?: number;
}

/** Options of {@link SysvSemaphoreSet.opAsync}. */
export interface SysvSemaphoreOpAsyncOptions extends SysvSemaphoreOpOptions {
  /** Aborting it rejects the pending operation with an `AbortError`. */
  signal?: AbortSignal;
  /** `false`: the pending operation does not keep the process alive. Default `true`. */
  ref?: AsyncWaitOptions['ref'];
}

/** Options of the single-semaphore shortcuts (post, wait, tryWait...). */
export interface SysvSemaphoreUnitOptions {
  /** How many units to add or take. Default 1. */
  count?: number;
  /** SEM_UNDO (see {@link SemaphoreOp.undo}). Default false. */
  undo?: boolean;
}

/** What {@link SysvSemaphoreSet.stat} reports (IPC_STAT). */
export interface SysvSemaphoreStat {
  /** The key the set was created with (0 for IPC_PRIVATE). */
  key: number;
  /** Owner. */
  uid: number;
  gid: number;
  /** Creator. */
  cuid: number;
  cgid: number;
  /** Permission bits. */
  mode: number;
  /** Number of semaphores. */
  count: number;
  /** Time of the last semop, or null if none yet. */
  otime: Date | null;
  /** Time of the last change by semctl (creation, SETVAL, IPC_SET...). */
  ctime: Date;
}

/** Options of {@link SysvSemaphoreSet.setPermissions} (IPC_SET). */
export interface SysvSemaphorePermissions {
  uid?: number;
  gid?: number;
  /** Permission bits, 0..0o777. */
  mode?: number;
}

function isGone(error: unknown): boolean {
  return isSystemError(error) && (error.code === 'EINVAL' || error.code === 'EIDRM');
}

/**
 * The removal `removeOnExit` registers: IPC_RMID of set `id`, unless it is
 * gone or now has another key (sets record no creator pid to check).
 */
function removeSetIfOurs(id: number, key: number): void {
  try {
    if (native.sysvSemStat(id).key !== key) return;
  } catch (error) {
    if (isGone(error)) return;
    // EACCES: a mode without owner read; IPC_RMID needs no read permission.
  }
  try {
    native.sysvSemRemove(id);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

function validateKey(key: unknown, name: string, min: number): number {
  return validateInteger(key, name, min, 0xffff_ffff);
}

/**
 * A System V semaphore set (`semget`/`semop`/`semctl`): several counting
 * semaphores under one key or id, changed together atomically, shared with
 * any process that knows the key, C programs and `ipcs`/`ipcrm` included.
 *
 * Its strengths over POSIX semaphores: atomic multi-semaphore operations,
 * wait-for-zero, and SEM_UNDO, which makes the kernel revert a process's
 * operations when it dies, even by kill -9.
 *
 * A set lives until {@link SysvSemaphoreSet.remove} (or `ipcrm`); there is
 * nothing to close. After removal, calls fail with EINVAL and pending waits
 * with EIDRM. A timed-out wait returns (or resolves) `false`; an operation
 * flagged `noWait` that would block throws EAGAIN.
 *
 * @example
 * ```ts
 * import { SysvSemaphoreSet } from '@shmkit/sync';
 *
 * const set = SysvSemaphoreSet.create({ key: 0x5eed, count: 2, exclusive: true });
 * set.setAll([1, 0]);
 * // take 0 and post 1 in one atomic step; undone if this process dies
 * set.op([{ index: 0, op: -1, undo: true }, { index: 1, op: 1 }]);
 * set.remove();
 * ```
 */
export class SysvSemaphoreSet {
  /** IPC_PRIVATE (0): the key that always makes a new set. */
  static readonly IPC_PRIVATE = 0;

  readonly #id: number;
  readonly #count: number;
  #exitRemoval: ExitRemoval | undefined;

  private constructor(id: number, count: number) {
    this.#id = id;
    this.#count = count;
  }

  /**
   * Creates a set (or opens the one under `key`, unless `exclusive`).
   * @throws SystemError EEXIST (exclusive, key taken), EACCES (exists, mode
   *   denies us), EINVAL (count above SEMMSL, or larger than the existing set's).
   */
  static create(options: SysvSemaphoreCreateOptions): SysvSemaphoreSet {
    if (typeof options !== 'object' || options === null)
      throw invalidArgType('options', 'of type object', options);
    const key = options.key === undefined ? 0 : validateKey(options.key, 'options.key', 0);
    const count = validateInteger(options.count, 'options.count', 1, 65535);
    const mode =
      options.mode === undefined ? 0o600 : validateInteger(options.mode, 'options.mode', 0, 0o777);
    const exclusive = optionalBoolean(options.exclusive, 'options.exclusive', false);
    const removeOnExit = validateRemoveOnExit(options.removeOnExit);
    if (removeOnExit === false) {
      const id = native.sysvSemGet(key, count, true, exclusive, mode);
      // An existing set keeps its own size, which may exceed `count`.
      return new SysvSemaphoreSet(id, native.sysvSemStat(id).count);
    }
    // Only what this call creates may be removed, and IPC_CREAT alone does
    // not say whether it created: try IPC_EXCL first, then open.
    for (;;) {
      try {
        const id = native.sysvSemGet(key, count, true, true, mode);
        const set = new SysvSemaphoreSet(id, count);
        set.#exitRemoval = registerExitRemoval(
          `System V semaphore set id ${id}`,
          () => removeSetIfOurs(id, key),
          removeOnExit,
        );
        return set;
      } catch (error) {
        if (exclusive || !isSystemError(error) || error.code !== 'EEXIST') throw error;
      }
      try {
        const id = native.sysvSemGet(key, 0, false, false, 0);
        return new SysvSemaphoreSet(id, native.sysvSemStat(id).count);
      } catch (error) {
        // Removed between the two calls: create it again.
        if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
      }
    }
  }

  /**
   * Opens the existing set under `key`.
   * @throws SystemError ENOENT (no such set), EACCES (mode denies us).
   */
  static open(options: SysvSemaphoreOpenOptions): SysvSemaphoreSet {
    if (typeof options !== 'object' || options === null)
      throw invalidArgType('options', 'of type object', options);
    const key = validateKey(options.key, 'options.key', 1);
    const id = native.sysvSemGet(key, 0, false, false, 0);
    return new SysvSemaphoreSet(id, native.sysvSemStat(id).count);
  }

  /**
   * Uses the set with identifier `id` (from `ipcs -s`, or another process).
   * @throws SystemError EINVAL (no such set), EACCES (mode denies us).
   */
  static fromId(id: number): SysvSemaphoreSet {
    validateInteger(id, 'id', 0, 2 ** 31 - 1);
    return new SysvSemaphoreSet(id, native.sysvSemStat(id).count);
  }

  /** The kernel's identifier of the set (what `ipcs -s` shows). */
  get id(): number {
    return this.#id;
  }

  /** How many semaphores the set holds. */
  get count(): number {
    return this.#count;
  }

  #index(index: unknown, name = 'index'): number {
    return validateInteger(index, name, 0, this.#count - 1);
  }

  #encode(ops: readonly SemaphoreOp[], forceNoWait = false): Int32Array {
    if (!Array.isArray(ops)) throw invalidArgType('ops', 'an instance of Array', ops);
    if (ops.length === 0) throw invalidArgValue('ops', 'must hold at least one operation', ops);
    const count = ops.length;
    const out = new Int32Array(count * 3);
    // An index loop, not forEach: forEach skips the holes of a sparse array,
    // which would leave their zero-filled slots as real "wait for zero" ops.
    for (let i = 0; i < count; i++) {
      const entry = ops[i] as SemaphoreOp | undefined;
      if (typeof entry !== 'object' || entry === null)
        throw invalidArgType(`ops[${i}]`, 'of type object', entry);
      out[i * 3] = this.#index(entry.index, `ops[${i}].index`);
      out[i * 3 + 1] = validateInteger(entry.op, `ops[${i}].op`, -32768, 32767);
      const undo = optionalBoolean(entry.undo, `ops[${i}].undo`, false);
      const noWait = optionalBoolean(entry.noWait, `ops[${i}].noWait`, false);
      out[i * 3 + 2] = (undo ? SEM_UNDO : 0) | (noWait || forceNoWait ? IPC_NOWAIT : 0);
    }
    return out;
  }

  /**
   * Applies `ops` atomically (`semop`, or `semtimedop` with a timeout): all
   * of them happen, or none, and the call waits until they all can. Blocks
   * the calling thread; see {@link SysvSemaphoreSet.opAsync}.
   *
   * @returns true when applied, false when `timeout` ms passed first.
   * @throws SystemError EAGAIN when an op flagged `noWait` would wait;
   *   ERANGE when a value would exceed 32767; EIDRM when the set is removed
   *   while waiting; EINVAL once removed; E2BIG for more than SEMOPM ops.
   * @throws RangeError ERR_OUT_OF_RANGE for an index outside the set or an op outside -32768..32767.
   */
  op(ops: readonly SemaphoreOp[], options?: SysvSemaphoreOpOptions): boolean {
    const { deadline } = parseWaitOptions(options, false, false);
    return native.sysvSemOp(this.#id, this.#encode(ops), remaining(deadline));
  }

  /** Applies `ops` if they can all go through right now; false instead of waiting. */
  tryOp(ops: readonly SemaphoreOp[]): boolean {
    return native.sysvSemOp(this.#id, this.#encode(ops, true), 0);
  }

  /**
   * {@link SysvSemaphoreSet.op} without blocking the event loop: the wait
   * runs on a dedicated thread, never libuv's pool.
   *
   * Resolves true when applied, false on timeout; rejects with an
   * `AbortError` when `signal` aborts first. If the operations go through
   * in the instant after the abort, they are reverted: units they took are
   * given back (and units they posted taken back if still there).
   */
  opAsync(ops: readonly SemaphoreOp[], options?: SysvSemaphoreOpAsyncOptions): Promise<boolean> {
    let encoded: Int32Array;
    let wait: ReturnType<typeof parseWaitOptions>;
    try {
      wait = parseWaitOptions(options, true, false);
      encoded = this.#encode(ops);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#id;
    return tryThenWait(
      wait,
      () => (native.sysvSemOp(id, encoded, 0) ? true : undefined),
      false,
      (timeout, group, flags) => native.sysvSemOpAsync(id, encoded, timeout, group, flags),
    );
  }

  /**
   * The one operation of the single-semaphore shortcuts, and the wait
   * options that came with it: every option is read once, here.
   */
  #unit(
    index: number,
    sign: 1 | -1,
    options: (SysvSemaphoreUnitOptions & SysvSemaphoreOpAsyncOptions) | undefined,
  ): [SemaphoreOp, SysvSemaphoreOpAsyncOptions] {
    const o = validateOptions(options);
    const { count, undo, timeout, signal, ref } = o;
    const op = {
      index: this.#index(index),
      op: sign * (count === undefined ? 1 : validateInteger(count, 'options.count', 1, 32767)),
      undo: optionalBoolean(undo, 'options.undo', false),
    };
    const wait: SysvSemaphoreOpAsyncOptions = {};
    if (timeout !== undefined) wait.timeout = timeout;
    if (signal !== undefined) wait.signal = signal;
    if (ref !== undefined) wait.ref = ref;
    return [op, wait];
  }

  /** Adds `count` (default 1) to semaphore `index`. */
  post(index = 0, options?: SysvSemaphoreUnitOptions): void {
    this.op([this.#unit(index, 1, options)[0]]);
  }

  /**
   * Takes `count` (default 1) from semaphore `index`, blocking until it can.
   * @returns false if `timeout` ms passed first.
   */
  wait(index = 0, options?: SysvSemaphoreUnitOptions & SysvSemaphoreOpOptions): boolean {
    const [op, { timeout }] = this.#unit(index, -1, options);
    return this.op([op], timeout === undefined ? undefined : { timeout });
  }

  /** Takes `count` (default 1) from semaphore `index` if it can right now. */
  tryWait(index = 0, options?: SysvSemaphoreUnitOptions): boolean {
    return this.tryOp([this.#unit(index, -1, options)[0]]);
  }

  /** {@link SysvSemaphoreSet.wait} as a Promise; see {@link SysvSemaphoreSet.opAsync}. */
  waitAsync(
    index = 0,
    options?: SysvSemaphoreUnitOptions & SysvSemaphoreOpAsyncOptions,
  ): Promise<boolean> {
    let op: SemaphoreOp;
    let wait: SysvSemaphoreOpAsyncOptions;
    try {
      [op, wait] = this.#unit(index, -1, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.opAsync([op], wait);
  }

  /** Blocks until semaphore `index` is 0 (an op of 0). False on timeout. */
  waitForZero(index = 0, options?: SysvSemaphoreOpOptions): boolean {
    return this.op([{ index: this.#index(index), op: 0 }], options);
  }

  /** {@link SysvSemaphoreSet.waitForZero} as a Promise. */
  waitForZeroAsync(index = 0, options?: SysvSemaphoreOpAsyncOptions): Promise<boolean> {
    try {
      return this.opAsync([{ index: this.#index(index), op: 0 }], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The value of semaphore `index` (GETVAL). */
  get(index: number): number {
    return native.sysvSemGetValue(this.#id, this.#index(index));
  }

  /**
   * Sets semaphore `index` to `value`, 0..32767 (SETVAL). Wakes waiters that
   * can now proceed and clears every process's SEM_UNDO adjustment for it.
   */
  set(index: number, value: number): void {
    native.sysvSemSetValue(
      this.#id,
      this.#index(index),
      validateInteger(value, 'value', 0, SEMVMX),
    );
  }

  /** Every value of the set, in index order (GETALL). */
  getAll(): number[] {
    return native.sysvSemGetAll(this.#id);
  }

  /** Sets every value at once (SETALL): exactly {@link SysvSemaphoreSet.count} values, each 0..32767. */
  setAll(values: readonly number[]): void {
    if (!Array.isArray(values)) throw invalidArgType('values', 'an instance of Array', values);
    if (values.length !== this.#count) {
      throw invalidArgValue(
        'values',
        `must hold exactly ${this.#count} values (one per semaphore)`,
        values,
        'RangeError',
      );
    }
    const out = new Int32Array(values.length);
    // Holes included (forEach would skip them and set those semaphores to 0).
    for (let i = 0; i < out.length; i++)
      out[i] = validateInteger(values[i], `values[${i}]`, 0, SEMVMX);
    native.sysvSemSetAll(this.#id, out);
  }

  /** The pid of the last process that operated on semaphore `index` (GETPID); 0 if none. */
  lastPid(index: number): number {
    return native.sysvSemLastPid(this.#id, this.#index(index));
  }

  /** How many processes wait for semaphore `index` to increase (GETNCNT). */
  waitingCount(index: number): number {
    return native.sysvSemWaitingCount(this.#id, this.#index(index));
  }

  /** How many processes wait for semaphore `index` to become 0 (GETZCNT). */
  zeroWaitingCount(index: number): number {
    return native.sysvSemZeroWaitingCount(this.#id, this.#index(index));
  }

  /** Owner, permissions, size and times (IPC_STAT). */
  stat(): SysvSemaphoreStat {
    return native.sysvSemStat(this.#id);
  }

  /**
   * Changes owner and permission bits (IPC_SET). Only the owner, the
   * creator or root may.
   * @throws SystemError EPERM when we may not.
   */
  setPermissions(permissions: SysvSemaphorePermissions): void {
    const o = validateOptions(permissions, 'permissions');
    const out: SysvSemaphorePermissions = {};
    if (o.uid !== undefined) out.uid = validateInteger(o.uid, 'permissions.uid', 0, 0xffff_ffff);
    if (o.gid !== undefined) out.gid = validateInteger(o.gid, 'permissions.gid', 0, 0xffff_ffff);
    if (o.mode !== undefined) out.mode = validateInteger(o.mode, 'permissions.mode', 0, 0o777);
    native.sysvSemSetPermissions(this.#id, out);
  }

  /**
   * Removes the set (IPC_RMID) for everyone: pending waits fail with EIDRM.
   * @throws SystemError EINVAL if already removed; EPERM if we may not.
   */
  remove(): void {
    native.sysvSemRemove(this.#id);
    this.#exitRemoval?.cancel();
    this.#exitRemoval = undefined;
  }

  get [Symbol.toStringTag](): string {
    return 'SysvSemaphoreSet';
  }
}
