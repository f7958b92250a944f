import type { RemoveOnExit } from '@shmkit/core';
import {
  closedError,
  invalidArgValue,
  isSystemError,
  native,
  optionalBoolean,
  registerExitRemoval,
  sameFileCheck,
  validateInteger,
  validateMode,
  validateOptions,
  validateRemoveOnExit,
  validateString,
} from '@shmkit/core/internal';
import type { ExitRemoval, SemHandle } from '@shmkit/core/internal';
import { semWait, semWaitAsync } from './semaphore-wait';
import type { SemaphoreWaitAsyncOptions, SemaphoreWaitOptions } from './semaphore-wait';

/** Options of {@link NamedSemaphore.create}. */
export interface NamedSemaphoreCreateOptions {
  /** Initial count when the semaphore is created (ignored if it exists). Default 0. */
  value?: number;
  /** Permission bits when created, applied exactly (no umask; ignored if it exists). Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if the name is taken (O_EXCL). Default false. */
  exclusive?: boolean;
  /**
   * Unlink the name when this process ends, if this call created the
   * semaphore (an existing one is never touched). `true`: at exit (normal
   * end, `process.exit()`, uncaught exception). `'signals'`: also on
   * SIGINT, SIGTERM and SIGHUP, which are then re-raised. No signal handler
   * is installed unless `'signals'` is asked for. Default false. See
   * `RemoveOnExit` in @shmkit/core.
   */
  removeOnExit?: RemoveOnExit;
}

/**
 * glibc keeps named semaphores as /dev/shm/sem.NAME, and a file name has at
 * most 255 bytes: 251 are left for the name after its slash.
 */
const MAX_NAME_BYTES = 251;

/**
 * Checks a POSIX semaphore name: one leading '/', then 1 to 251 bytes
 * without '/' or NUL.
 */
function validateSemName(name: unknown): string {
  validateString(name, 'name');
  const text = name as string;
  if (
    !text.startsWith('/') ||
    text.length < 2 ||
    text.indexOf('/', 1) !== -1 ||
    text.includes('\0')
  ) {
    throw invalidArgValue(
      'name',
      "must be '/' followed by at least one character, without other '/' or null bytes",
      text,
    );
  }
  if (Buffer.byteLength(text, 'utf8') - 1 > MAX_NAME_BYTES) {
    throw invalidArgValue(
      'name',
      `must have at most ${MAX_NAME_BYTES} bytes after the leading '/'`,
      text,
      'RangeError',
    );
  }
  return text;
}

/**
 * The removal `removeOnExit` registers for a semaphore this process just
 * created: sem_unlink, unless /dev/shm/sem.NAME is by then another file.
 */
function exitRemoval(name: string, when: RemoveOnExit): ExitRemoval {
  const stillOurs = sameFileCheck(`/dev/shm/sem.${name.slice(1)}`);
  return registerExitRemoval(
    `named semaphore '${name}'`,
    () => {
      if (!stillOurs()) return;
      try {
        native.semUnlink(name);
      } catch (error) {
        if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
      }
    },
    when,
  );
}

/**
 * A POSIX named semaphore (`sem_open`), shared by every process that opens
 * the same name, C programs included: `NamedSemaphore.create('/jobs')` and
 * C's `sem_open("/jobs", O_CREAT, 0600, 0)` are the same semaphore, visible
 * as /dev/shm/sem.jobs.
 *
 * The semaphore outlives every process until {@link NamedSemaphore.unlink}
 * removes its name. {@link NamedSemaphore.close} only releases this process's
 * handle (`sem_close`).
 *
 * A timed-out wait returns (or resolves) `false`; it does not throw.
 *
 * @example
 * ```ts
 * import { NamedSemaphore } from '@shmkit/sync';
 *
 * using sem = NamedSemaphore.create('/jobs', { value: 0 });
 * // another process: NamedSemaphore.open('/jobs').post()
 * if (await sem.waitAsync({ timeout: 5000 })) console.log('got a job');
 * sem.unlink();
 * ```
 */
export class NamedSemaphore implements Disposable {
  #handle: SemHandle | undefined;
  readonly #name: string;
  #exitRemoval: ExitRemoval | undefined;

  private constructor(handle: SemHandle, name: string) {
    this.#handle = handle;
    this.#name = name;
  }

  /**
   * Opens `name`, creating it (O_CREAT) with `value` and `mode` if it does
   * not exist yet.
   *
   * @throws TypeError/RangeError ERR_INVALID_ARG_VALUE for a malformed name.
   * @throws RangeError ERR_OUT_OF_RANGE for a value outside 0..2^31-1 or a mode above 0o7777.
   * @throws SystemError EEXIST with `exclusive` when the name is taken; EACCES
   *   when it exists and its mode denies us.
   */
  static create(name: string, options?: NamedSemaphoreCreateOptions): NamedSemaphore {
    validateSemName(name);
    const o = validateOptions(options);
    const value =
      o.value === undefined ? 0 : validateInteger(o.value, 'options.value', 0, 2 ** 31 - 1);
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode, 'options.mode');
    const exclusive = optionalBoolean(o.exclusive, 'options.exclusive', false);
    const removeOnExit = validateRemoveOnExit(o.removeOnExit);
    if (removeOnExit === false) {
      return new NamedSemaphore(native.semOpen(name, true, exclusive, mode, value), name);
    }
    // Only what this call creates may be removed, and O_CREAT alone does
    // not say whether it created: try O_EXCL first, then open.
    for (;;) {
      try {
        const sem = new NamedSemaphore(native.semOpen(name, true, true, mode, value), name);
        sem.#exitRemoval = exitRemoval(name, removeOnExit);
        return sem;
      } catch (error) {
        if (exclusive || !isSystemError(error) || error.code !== 'EEXIST') throw error;
      }
      try {
        return new NamedSemaphore(native.semOpen(name, false, false, 0, 0), name);
      } catch (error) {
        // Unlinked between the two calls: create it again.
        if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
      }
    }
  }

  /**
   * Opens an existing semaphore.
   * @throws SystemError ENOENT if there is none by that name; EACCES if its mode denies us.
   */
  static open(name: string): NamedSemaphore {
    validateSemName(name);
    return new NamedSemaphore(native.semOpen(name, false, false, 0, 0), name);
  }

  /**
   * Removes `name` (`sem_unlink`). Processes that have it open keep using
   * it; the next `create` makes a new one.
   * @throws SystemError ENOENT if there is none by that name.
   */
  static unlink(name: string): void {
    validateSemName(name);
    native.semUnlink(name);
  }

  /** The name, with its leading '/'. */
  get name(): string {
    return this.#name;
  }

  /** True after {@link NamedSemaphore.close}. */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  #live(): SemHandle {
    if (this.#handle === undefined) throw closedError('NamedSemaphore');
    return this.#handle;
  }

  /** The current count (`sem_getvalue`): a snapshot. */
  get value(): number {
    return native.semValue(this.#live());
  }

  /**
   * Adds one unit and wakes one waiter, if any (`sem_post`).
   * @throws SystemError EOVERFLOW at 2^31 - 1.
   */
  post(): void {
    native.semPost(this.#live());
  }

  /** Takes a unit if one is available right now; never waits. */
  tryWait(): boolean {
    return native.semTryWait(this.#live());
  }

  /**
   * Takes a unit, blocking the calling thread (scripts, workers).
   * @returns true when taken, false when `timeout` ms passed first.
   */
  wait(options?: SemaphoreWaitOptions): boolean {
    return semWait(() => this.#live(), options);
  }

  /**
   * Takes a unit without blocking the event loop: the wait runs on a
   * dedicated thread, never libuv's pool.
   *
   * @returns a Promise of true when taken, false on timeout; rejects with an
   * `AbortError` when `signal` aborts first (a unit taken after that is
   * posted back).
   */
  waitAsync(options?: SemaphoreWaitAsyncOptions): Promise<boolean> {
    return semWaitAsync(() => this.#live(), options);
  }

  /** Removes this semaphore's name; see {@link NamedSemaphore.unlink | the static form}. */
  unlink(): void {
    native.semUnlink(this.#name);
    this.#exitRemoval?.cancel();
    this.#exitRemoval = undefined;
  }

  /**
   * `sem_close`: releases this process's handle (after any pending async
   * wait ends). The semaphore and its name stay. Idempotent.
   */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    native.semClose(handle);
  }

  /** Same as {@link NamedSemaphore.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'NamedSemaphore';
  }
}
