import {
  abortError,
  invalidArgType,
  invalidArgValue,
  native,
  optionalBoolean,
  validateInteger,
} from '@shmkit/core/internal';
import { isSystemError } from '@shmkit/core';
import { validateKey } from '@shmkit/sysv-shm';
import { messageBytes } from './bytes';
import type { MessageData } from './bytes';
import { ACCESS_CODE, validateAccess } from './access';
import type { QueueAccess } from './access';
import { ownedCopy } from './bytes';
import { timedOut } from './errors';
import type { QueueWaitAsyncOptions, QueueWaitOptions } from './options';
import { asyncArgs, optionsOf, parseWait, remaining } from './wait';
import type { ParsedWait } from './wait';

/** Options of {@link SysvMessageQueue.create}. */
export interface SysvMessageQueueCreateOptions {
  /**
   * The key: 0 to 2^32-1, e.g. from `ftok()` of `@shmkit/sysv-shm`. Default
   * {@link SysvMessageQueue.IPC_PRIVATE}: always a new queue, which others
   * reach through its {@link SysvMessageQueue.id}.
   */
  key?: number;
  /**
   * Permission bits of a new queue (0..0o777). Default 0o600. For a queue
   * that exists already they are the access asked of it.
   */
  mode?: number;
  /** Fail with EEXIST if the key has a queue (IPC_EXCL). Default false: open it. */
  exclusive?: boolean;
}

/** Options of {@link SysvMessageQueue.open}. */
export interface SysvMessageQueueOpenOptions {
  /** The key of an existing queue: 1 to 2^32-1. */
  key: number;
  /**
   * What the queue's mode must grant, checked now (EACCES) rather than at
   * the first send or receive. Default 'readwrite'.
   */
  access?: QueueAccess;
}

/** A message as {@link SysvMessageQueue.receive} returns it. */
export interface SysvMessage<Type extends number | bigint = number> {
  /** Its type (the C `mtype`): a bigint when received with `bigint: true`. */
  type: Type;
  /** The message's bytes (a copy: yours to keep). */
  data: Buffer;
}

/** Options of {@link SysvMessageQueue.trySend}. */
export interface SysvTrySendOptions {
  /**
   * The message type (the C `mtype`), at least 1: a number up to 2^53 - 1
   * or a bigint up to 2^63 - 1. Default 1.
   */
  type?: number | bigint;
}

/** Options of {@link SysvMessageQueue.send}. */
export interface SysvSendOptions extends SysvTrySendOptions, QueueWaitOptions {}

/** Options of {@link SysvMessageQueue.sendAsync}. */
export interface SysvSendAsyncOptions extends SysvTrySendOptions, QueueWaitAsyncOptions {}

/** Which message {@link SysvMessageQueue.tryReceive} takes, and how. */
export interface SysvSelectOptions {
  /**
   * 0 (the default): the first message of any type. Positive: the first of
   * exactly this type (with `except`: of any other type). Negative: the
   * first of the lowest type up to its absolute value, so `-3` takes types
   * 1, 2, 3 in that order of preference.
   */
  type?: number | bigint;
  /** MSG_EXCEPT: with a positive `type`, the first message of any other type. */
  except?: boolean;
  /**
   * MSG_NOERROR: a message longer than `maxSize` is cut to `maxSize` bytes
   * (the rest is lost) instead of failing with E2BIG and staying queued.
   */
  truncate?: boolean;
  /** The longest message accepted, in bytes. Default: kernel.msgmax. */
  maxSize?: number;
  /** Return `type` as a bigint, exact beyond 2^53 - 1 (as `fs.stat`'s `bigint`). */
  bigint?: boolean;
}

/** Options of {@link SysvMessageQueue.receive}. */
export interface SysvReceiveOptions extends SysvSelectOptions, QueueWaitOptions {}

/** Options of {@link SysvMessageQueue.receiveAsync}. */
export interface SysvReceiveAsyncOptions extends SysvSelectOptions, QueueWaitAsyncOptions {}

/** What {@link SysvMessageQueue.stat} reports (IPC_STAT). Times are null when it never happened. */
export interface SysvMessageQueueStat {
  id: number;
  /** The key (0 for IPC_PRIVATE). */
  key: number;
  /** Permission bits. */
  mode: number;
  /** Owner. */
  uid: number;
  gid: number;
  /** Creator. */
  cuid: number;
  cgid: number;
  /** Messages in the queue (msg_qnum). */
  messages: number;
  /** Bytes of text in the queue (msg_cbytes; `ipcs -q` "used-bytes"). */
  bytes: number;
  /** The most bytes (and messages) the queue holds (msg_qbytes). */
  maxBytes: number;
  /** The last process to send, and to receive (0: none yet). */
  lspid: number;
  lrpid: number;
  /** Last send, last receive, last change (creation, IPC_SET). */
  stime: Date | null;
  rtime: Date | null;
  ctime: Date | null;
}

/** Options of {@link SysvMessageQueue.set} (IPC_SET); what is left out stays. */
export interface SysvMessageQueueSetOptions {
  uid?: number;
  gid?: number;
  /** Permission bits, 0..0o777. */
  mode?: number;
  /** msg_qbytes. Above kernel.msgmnb needs CAP_SYS_RESOURCE. */
  maxBytes?: number;
}

/** The system's limits on System V queues (msgctl IPC_INFO). */
export interface SysvMessageQueueLimits {
  /** The longest message (kernel.msgmax). */
  msgmax: number;
  /** The default maxBytes of a new queue (kernel.msgmnb). */
  msgmnb: number;
  /** The most queues (kernel.msgmni). */
  msgmni: number;
}

const EXCEPT = 1;
const TRUNCATE = 2;
const BIGINT = 4;

function validateType(value: unknown, name: string, min: 1 | -1): number | bigint {
  const range = min > 0 ? '>= 1' : 'an integer';
  if (typeof value === 'bigint') {
    const limit = 2n ** 63n - 1n;
    if (value > limit || value < (min > 0 ? 1n : -limit))
      throw invalidArgValue(name, `must be ${range} and fit a C long`, value, 'RangeError');
    return value;
  }
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number or bigint', value);
  return validateInteger(
    value,
    name,
    min > 0 ? 1 : -Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
  );
}

interface Selection {
  type: number | bigint;
  flags: number;
  maxSize: number | undefined;
}

/** Reads each selection option once. */
function parseSelect(o: Partial<SysvSelectOptions>): Selection {
  const { type: t, except: x, truncate: tr, bigint: b, maxSize: size } = o;
  const type = t === undefined ? 0 : validateType(t, 'options.type', -1);
  const except = optionalBoolean(x, 'options.except', false);
  const truncate = optionalBoolean(tr, 'options.truncate', false);
  const bigint = optionalBoolean(b, 'options.bigint', false);
  const maxSize =
    size === undefined ? undefined : validateInteger(size, 'options.maxSize', 0, 2 ** 31 - 1);
  if (except && !(type > 0))
    throw invalidArgValue('options.except', 'needs a positive options.type', except);
  return {
    type,
    flags: (except ? EXCEPT : 0) | (truncate ? TRUNCATE : 0) | (bigint ? BIGINT : 0),
    maxSize,
  };
}

function sendType(type: unknown): number | bigint {
  return type === undefined ? 1 : validateType(type, 'options.type', 1);
}

/**
 * A System V message queue (`msgget`/`msgsnd`/`msgrcv`/`msgctl`): messages
 * with a type, shared with any process that knows the key or id, C programs,
 * Python's `sysv_ipc.MessageQueue` and `ipcs -q`/`ipcrm` included.
 *
 * Receivers pick messages by type: the first of any type, the first of one
 * type (or of any other), or the lowest type up to a bound. Every transfer
 * comes in three forms, as on {@link PosixMessageQueue}: blocking
 * `send`/`receive` (ETIMEDOUT after `timeout`), `trySend`/`tryReceive` that
 * never wait, and `sendAsync`/`receiveAsync` with `{ timeout, signal, ref }`.
 * A queue that holds `maxBytes` makes senders wait.
 *
 * The kernel has no timed, cancellable or pollable form of these calls. A
 * blocking call without a timeout sleeps in the kernel (on the main thread;
 * in a worker it polls, so the worker can be terminated); with a timeout,
 * and in the async forms, shmkit retries non-blocking calls, at once for
 * the first 50 µs and then at growing intervals (20 µs doubling up to 2 ms),
 * so such a wait notices a message up to 2 ms late. The async forms wait on the wait engine's bounded thread
 * pool by looking without taking, then receive or send on the JS thread:
 * an aborted or timed-out async call has taken and sent nothing.
 *
 * A queue lives until {@link SysvMessageQueue.remove} (or `ipcrm -q`);
 * there is nothing to close. Afterwards calls fail with EINVAL, and pending
 * waits with EIDRM.
 *
 * @example
 * ```ts
 * import { SysvMessageQueue } from '@shmkit/channel';
 *
 * const queue = SysvMessageQueue.create(); // IPC_PRIVATE, mode 0o600
 * queue.send('for type 2', { type: 2 });
 * queue.send('for type 1', { type: 1 });
 * console.log(queue.receive({ type: 1 }).data.toString()); // 'for type 1'
 * queue.remove();
 * ```
 */
export class SysvMessageQueue {
  /** IPC_PRIVATE (0): the key that always makes a new queue. */
  static readonly IPC_PRIVATE = 0;

  readonly #id: number;
  #key: number | undefined;

  private constructor(id: number, key: number | undefined) {
    this.#id = id;
    this.#key = key;
  }

  /**
   * Creates a queue (or opens the one under `key`, unless `exclusive`).
   * @throws SystemError EEXIST (`exclusive`, key taken), EACCES (it exists
   *   and its mode denies `mode`), ENOSPC (kernel.msgmni reached).
   */
  static create(options?: SysvMessageQueueCreateOptions): SysvMessageQueue {
    const { key: k, mode: m, exclusive: x } = optionsOf(options);
    const key = k === undefined ? 0 : validateKey(k, 'options.key');
    const mode = m === undefined ? 0o600 : validateInteger(m, 'options.mode', 0, 0o777);
    const exclusive = optionalBoolean(x, 'options.exclusive', false);
    return new SysvMessageQueue(native.msgGet(key, true, exclusive, mode, 2), key);
  }

  /**
   * Opens the existing queue under `key`.
   * @throws SystemError ENOENT (no such queue), EACCES (its mode denies `access`).
   */
  static open(options: SysvMessageQueueOpenOptions): SysvMessageQueue {
    if (typeof options !== 'object' || options === null)
      throw invalidArgType('options', 'of type object', options);
    const { key: rawKey, access: rawAccess } = options;
    const key = validateKey(rawKey, 'options.key');
    if (key === 0) throw invalidArgValue('options.key', 'must not be IPC_PRIVATE (0)', key);
    const access = validateAccess(rawAccess, 'options.access');
    return new SysvMessageQueue(native.msgGet(key, false, false, 0, ACCESS_CODE[access]), key);
  }

  /**
   * Uses the queue with identifier `id` (from `ipcs -q`, or another process).
   * @throws SystemError EINVAL (no such queue).
   */
  static fromId(id: number): SysvMessageQueue {
    validateInteger(id, 'id', 0, 2 ** 31 - 1);
    try {
      return new SysvMessageQueue(id, native.msgStat(id).key);
    } catch (error) {
      // A queue we may write but not read exists all the same.
      if (isSystemError(error) && error.code === 'EACCES')
        return new SysvMessageQueue(id, undefined);
      throw error;
    }
  }

  /** The system's limits (kernel.msgmax, msgmnb, msgmni). */
  static limits(): SysvMessageQueueLimits {
    return native.msgLimits();
  }

  /** The kernel's identifier of the queue (what `ipcs -q` shows as msqid). */
  get id(): number {
    return this.#id;
  }

  /**
   * The key it was created with (0 for IPC_PRIVATE).
   * @throws SystemError EACCES for a queue from `fromId` that we may not read.
   */
  get key(): number {
    this.#key ??= native.msgStat(this.#id).key;
    return this.#key;
  }

  /**
   * Sends `data` (bytes, or a string as UTF-8) with `type` (default 1),
   * blocking the calling thread while the queue is full.
   * @throws SystemError EMSGSIZE (longer than kernel.msgmax, or than the
   *   queue's maxBytes, so it could never fit; checked before the call, and
   *   between the tries of a send with a `timeout`),
   *   ETIMEDOUT (still full after `timeout` ms), EIDRM (removed meanwhile),
   *   EACCES, EINVAL (no such queue).
   */
  send(data: MessageData, options?: SysvSendOptions): void {
    const bytes = messageBytes(data);
    const { type: t, timeout, signal, ref } = optionsOf<SysvSendAsyncOptions>(options);
    const type = sendType(t);
    const wait = parseWait({ timeout, signal, ref }, false);
    if (!native.msgSend(this.#id, type, bytes, wait.timeout))
      throw this.#timedOut('msgsnd', wait.timeout);
  }

  /** Sends `data` if there is room right now; false if the queue is full. */
  trySend(data: MessageData, options?: SysvTrySendOptions): boolean {
    const bytes = messageBytes(data);
    return native.msgSend(this.#id, sendType(optionsOf(options).type), bytes, 0);
  }

  /**
   * Sends `data` without blocking the event loop (copied when it has to
   * wait). Rejects with ETIMEDOUT, an `AbortError` (nothing sent), EMSGSIZE,
   * EIDRM (the queue was removed meanwhile).
   */
  sendAsync(data: MessageData, options?: SysvSendAsyncOptions): Promise<void> {
    let bytes: ArrayBufferView | ArrayBuffer;
    let type: number | bigint;
    let wait: ParsedWait;
    try {
      bytes = messageBytes(data);
      const { type: t, timeout, signal, ref } = optionsOf(options);
      type = sendType(t);
      wait = parseWait({ timeout, signal, ref }, true);
      if (wait.signal?.aborted) throw abortError(wait.signal);
      if (native.msgSend(this.#id, type, bytes, 0)) return Promise.resolve();
      if (wait.timeout === 0) throw this.#timedOut('msgsnd', 0);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendLater(type, ownedCopy(bytes), wait);
  }

  async #sendLater(type: number | bigint, bytes: Buffer, wait: ParsedWait): Promise<void> {
    const [group, flags] = asyncArgs(wait);
    for (;;) {
      const left = remaining(wait);
      if (left === 0) throw this.#timedOut('msgsnd', wait.timeout);
      const room = await native.msgSendAsync(this.#id, type, bytes, left, group, flags);
      if (room === undefined) throw this.#timedOut('msgsnd', wait.timeout);
      // 2: the wait sent it itself (a queue we may not read): done, abort or not.
      if (room === 2) return;
      if (wait.signal?.aborted) throw abortError(wait.signal);
      // Another sender may have taken the room meanwhile: then wait again.
      if (native.msgSend(this.#id, type, bytes, 0)) return;
    }
  }

  /**
   * Receives the first message `type` selects, blocking the calling thread
   * until there is one.
   * @throws SystemError ETIMEDOUT (none after `timeout` ms), E2BIG (longer
   *   than `maxSize`, without `truncate`: it stays queued), EIDRM (removed
   *   meanwhile), EACCES, EINVAL (no such queue).
   */
  receive(options: SysvReceiveOptions & { bigint: true }): SysvMessage<bigint>;
  receive(options?: SysvReceiveOptions & { bigint?: false }): SysvMessage;
  receive(options?: SysvReceiveOptions): SysvMessage<number | bigint>;
  receive(options?: SysvReceiveOptions): SysvMessage<number | bigint> {
    const o = optionsOf<SysvReceiveAsyncOptions>(options);
    const { type, flags, maxSize } = parseSelect(o);
    const { timeout, signal, ref } = o;
    const wait = parseWait({ timeout, signal, ref }, false);
    const message = native.msgReceive(this.#id, type, flags, maxSize, wait.timeout);
    if (message === undefined) throw this.#timedOut('msgrcv', wait.timeout);
    return message;
  }

  /** The first message `type` selects if there is one right now, else undefined. */
  tryReceive(options: SysvSelectOptions & { bigint: true }): SysvMessage<bigint> | undefined;
  tryReceive(options?: SysvSelectOptions & { bigint?: false }): SysvMessage | undefined;
  tryReceive(options?: SysvSelectOptions): SysvMessage<number | bigint> | undefined;
  tryReceive(options?: SysvSelectOptions): SysvMessage<number | bigint> | undefined {
    const { type, flags, maxSize } = parseSelect(optionsOf(options));
    return native.msgReceive(this.#id, type, flags, maxSize, 0);
  }

  /**
   * Receives the first message `type` selects without blocking the event
   * loop. Rejects with ETIMEDOUT, an `AbortError` (no message taken), E2BIG,
   * EIDRM (the queue was removed meanwhile).
   */
  receiveAsync(options: SysvReceiveAsyncOptions & { bigint: true }): Promise<SysvMessage<bigint>>;
  receiveAsync(options?: SysvReceiveAsyncOptions & { bigint?: false }): Promise<SysvMessage>;
  receiveAsync(options?: SysvReceiveAsyncOptions): Promise<SysvMessage<number | bigint>>;
  receiveAsync(options?: SysvReceiveAsyncOptions): Promise<SysvMessage<number | bigint>> {
    let selection: Selection;
    let wait: ParsedWait;
    try {
      const o = optionsOf(options);
      selection = parseSelect(o);
      const { timeout, signal, ref } = o;
      wait = parseWait({ timeout, signal, ref }, true);
      if (wait.signal?.aborted) throw abortError(wait.signal);
      const { type, flags, maxSize } = selection;
      const message = native.msgReceive(this.#id, type, flags, maxSize, 0);
      if (message !== undefined) return Promise.resolve(message);
      if (wait.timeout === 0) throw this.#timedOut('msgrcv', 0);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#receiveLater(selection, wait);
  }

  async #receiveLater(
    { type, flags, maxSize }: Selection,
    wait: ParsedWait,
  ): Promise<SysvMessage<number | bigint>> {
    const [group, waitFlags] = asyncArgs(wait);
    for (;;) {
      const left = remaining(wait);
      if (left === 0) throw this.#timedOut('msgrcv', wait.timeout);
      const found = await native.msgReceiveAsync(this.#id, type, flags, left, group, waitFlags);
      if (found === undefined) throw this.#timedOut('msgrcv', wait.timeout);
      // A message with no text, taken by the wait itself: ours, abort or not.
      if (found !== true) return found;
      if (wait.signal?.aborted) throw abortError(wait.signal);
      // Another receiver may have taken it meanwhile: then wait again.
      const message = native.msgReceive(this.#id, type, flags, maxSize, 0);
      if (message !== undefined) return message;
    }
  }

  #timedOut(syscall: string, timeout: number): Error {
    const what = syscall === 'msgsnd' ? 'no room came' : 'no message came';
    return timedOut(syscall, { id: this.#id }, `${what} within ${timeout} ms`);
  }

  /** IPC_STAT: counts, limits, owners, last pids and times. */
  stat(): SysvMessageQueueStat {
    return native.msgStat(this.#id);
  }

  /**
   * IPC_SET: owner, mode and maxBytes. Blocked senders re-check at once.
   * @throws SystemError EPERM (not the owner or creator; or maxBytes above
   *   kernel.msgmnb without CAP_SYS_RESOURCE).
   */
  set(options: SysvMessageQueueSetOptions): void {
    const { uid: u, gid: g, mode: m, maxBytes: b } = optionsOf(options);
    const uid = u === undefined ? undefined : validateInteger(u, 'options.uid', 0, 2 ** 32 - 1);
    const gid = g === undefined ? undefined : validateInteger(g, 'options.gid', 0, 2 ** 32 - 1);
    const mode = m === undefined ? undefined : validateInteger(m, 'options.mode', 0, 0o777);
    const maxBytes =
      b === undefined ? undefined : validateInteger(b, 'options.maxBytes', 0, 2 ** 32 - 1);
    native.msgSet(this.#id, uid, gid, mode, maxBytes);
  }

  /**
   * IPC_RMID: removes the queue and every message in it at once; blocked
   * senders and receivers (here and in other processes) fail with EIDRM.
   */
  remove(): void {
    native.msgRemove(this.#id);
  }

  get [Symbol.toStringTag](): string {
    return 'SysvMessageQueue';
  }
}
