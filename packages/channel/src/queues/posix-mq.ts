import {
  abortError,
  closedError,
  native,
  optionalBoolean,
  validateBoolean,
  validateInteger,
  validateString,
} from '@shmkit/core/internal';
import type { MqHandle } from '@shmkit/core/internal';
import { ACCESS_CODE, validateAccess } from './access';
import type { QueueAccess } from './access';
import { messageBytes, ownedCopy } from './bytes';
import type { MessageData } from './bytes';
import { timedOut } from './errors';
import type { QueueWaitAsyncOptions, QueueWaitOptions } from './options';
import { asyncArgs, optionsOf, parseWait, remaining } from './wait';
import type { ParsedWait } from './wait';

/** Options of {@link PosixMessageQueue.create}. */
export interface PosixMessageQueueCreateOptions {
  /**
   * How many messages the queue holds before `send` waits (`mq_maxmsg`),
   * 1 to 65536. Default: the system's (fs.mqueue.msg_default, usually 10).
   * Without CAP_SYS_RESOURCE at most fs.mqueue.msg_max (usually 10).
   */
  maxMessages?: number;
  /**
   * The largest message in bytes (`mq_msgsize`), 1 to 16 MiB. Default: the
   * system's (fs.mqueue.msgsize_default, usually 8192). Without
   * CAP_SYS_RESOURCE at most fs.mqueue.msgsize_max (usually 8192).
   */
  messageSize?: number;
  /** Permission bits of a new queue, applied exactly (no umask). Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if the name is taken (O_EXCL). Default false: open it. */
  exclusive?: boolean;
  /** Default 'readwrite'. */
  access?: QueueAccess;
}

/** Options of {@link PosixMessageQueue.open}. */
export interface PosixMessageQueueOpenOptions {
  /** Default 'readwrite'. A sender that only sends asks for 'write'. */
  access?: QueueAccess;
}

/** A message as {@link PosixMessageQueue.receive} returns it. */
export interface PosixMessage {
  /** The message's bytes (a copy: yours to keep). */
  data: Buffer;
  /** Its priority, 0 to 32767. */
  priority: number;
}

/** Options of {@link PosixMessageQueue.trySend}. */
export interface PosixTrySendOptions {
  /**
   * 0 (the default) to 32767. Receivers get the oldest message of the
   * highest priority first.
   */
  priority?: number;
}

/** Options of {@link PosixMessageQueue.send}. */
export interface PosixSendOptions extends PosixTrySendOptions, QueueWaitOptions {}

/** Options of {@link PosixMessageQueue.sendAsync}. */
export interface PosixSendAsyncOptions extends PosixTrySendOptions, QueueWaitAsyncOptions {}

/** What `mq_getattr` reports. */
export interface PosixMessageQueueAttributes {
  /**
   * O_NONBLOCK on this process's descriptor. shmkit's own calls do not
   * depend on it (`send` waits, `trySend` never does, either way); it
   * matters to C code given {@link PosixMessageQueue.fd}.
   */
  nonBlocking: boolean;
  /** `mq_maxmsg`. */
  maxMessages: number;
  /** `mq_msgsize`. */
  messageSize: number;
  /** Messages in the queue right now (`mq_curmsgs`): a snapshot. */
  currentMessages: number;
}

/** Options of {@link PosixMessageQueue.setAttributes} (`mq_setattr`). */
export interface PosixMessageQueueSetAttributes {
  /** Sets or clears O_NONBLOCK on this descriptor. */
  nonBlocking: boolean;
}

/** What {@link PosixMessageQueue.stat} reports (fstat of the descriptor). */
export interface PosixMessageQueueStat {
  /** Permission bits (0o600...). */
  mode: number;
  /** Owner user id. */
  uid: number;
  /** Owner group id. */
  gid: number;
}

/** The system's limits on POSIX queues (/proc/sys/fs/mqueue). */
export interface PosixMessageQueueLimits {
  /** Queues all users may have together (fs.mqueue.queues_max; root is exempt). */
  queuesMax: number;
  /** The largest `maxMessages` without CAP_SYS_RESOURCE (fs.mqueue.msg_max). */
  msgMax: number;
  /** The largest `messageSize` without CAP_SYS_RESOURCE (fs.mqueue.msgsize_max). */
  msgsizeMax: number;
  /** `maxMessages` of a queue created without one (fs.mqueue.msg_default). */
  msgDefault: number;
  /** `messageSize` of a queue created without one (fs.mqueue.msgsize_default). */
  msgsizeDefault: number;
  /** The highest priority: MQ_PRIO_MAX - 1 (32767 on Linux). */
  priorityMax: number;
}

/** MQ_PRIO_MAX - 1 on Linux. */
const PRIORITY_MAX = 32767;

const CREATE = 4;
const EXCLUSIVE = 8;

function validatePriority(value: unknown): number {
  return value === undefined ? 0 : validateInteger(value, 'options.priority', 0, PRIORITY_MAX);
}

/**
 * A POSIX message queue (`mq_open`): a named queue of messages in the
 * kernel, each with a priority, shared by every process that opens the same
 * name. `PosixMessageQueue.create('/jobs')` and C's `mq_open("/jobs",
 * O_CREAT | O_RDWR, 0600, NULL)` are the same queue.
 *
 * Every transfer comes in three forms: `send`/`receive` block the calling
 * thread (scripts, workers) and throw `ETIMEDOUT` when `timeout` runs out;
 * `trySend`/`tryReceive` never wait (`false`/`undefined` when the queue is
 * full/empty); `sendAsync`/`receiveAsync` wait without blocking the event
 * loop and take `{ timeout, signal, ref }`. A full queue makes senders
 * wait: that is the backpressure.
 *
 * The async forms wait in shmkit's wait engine for the descriptor to become
 * ready (it is pollable on Linux; no thread is spent on the wait) and then
 * send or receive on the JS thread, so an aborted `receiveAsync` has taken
 * nothing: the message stays for the next receiver.
 *
 * The queue lives until {@link PosixMessageQueue.unlink} and the last
 * close, like a file. `close()` releases this process's descriptor and
 * rejects its pending async calls with `ERR_SHMKIT_CLOSED`. Works with
 * `using`.
 *
 * @example
 * ```ts
 * import { PosixMessageQueue } from '@shmkit/channel';
 *
 * using queue = PosixMessageQueue.create('/jobs', { maxMessages: 10, messageSize: 256 });
 * queue.send('low', { priority: 1 });
 * queue.send('urgent', { priority: 9 });
 * console.log(queue.receive().data.toString()); // 'urgent'
 * queue.unlink();
 * ```
 */
export class PosixMessageQueue implements Disposable {
  /** The highest priority (MQ_PRIO_MAX - 1 = 32767 on Linux). */
  static readonly PRIORITY_MAX = PRIORITY_MAX;

  #handle: MqHandle | undefined;
  readonly #name: string;
  readonly #fd: number;
  readonly #created: boolean;
  readonly #access: QueueAccess;
  readonly #maxMessages: number;
  readonly #messageSize: number;

  private constructor(
    name: string,
    access: QueueAccess,
    opened: {
      handle: MqHandle;
      fd: number;
      created: boolean;
      maxMessages: number;
      messageSize: number;
    },
  ) {
    this.#name = name;
    this.#access = access;
    this.#handle = opened.handle;
    this.#fd = opened.fd;
    this.#created = opened.created;
    this.#maxMessages = opened.maxMessages;
    this.#messageSize = opened.messageSize;
  }

  /**
   * Creates the queue `name` ('/' and up to 255 bytes, no other '/'), or
   * opens it if it exists (then its own capacity and mode stay; see
   * {@link PosixMessageQueue.created}).
   *
   * @throws TypeError ERR_INVALID_ARG_VALUE for a malformed name or access.
   * @throws RangeError ERR_OUT_OF_RANGE for a capacity outside the kernel's
   *   hard limits or a mode above 0o777.
   * @throws SystemError EEXIST (`exclusive` and the name is taken), EACCES
   *   (it exists and its mode denies us), EINVAL (capacity above the
   *   fs.mqueue limits without privilege), EMFILE (RLIMIT_MSGQUEUE used
   *   up), ENOSPC (fs.mqueue.queues_max reached).
   */
  static create(name: string, options?: PosixMessageQueueCreateOptions): PosixMessageQueue {
    validateString(name, 'name');
    // Each option is read once, here, even through a getter.
    const {
      maxMessages: max,
      messageSize: size,
      mode: m,
      exclusive: x,
      access: a,
    } = optionsOf(options);
    const maxMessages =
      max === undefined ? undefined : validateInteger(max, 'options.maxMessages', 1, 65536);
    const messageSize =
      size === undefined
        ? undefined
        : validateInteger(size, 'options.messageSize', 1, 16 * 1024 * 1024);
    const mode = m === undefined ? 0o600 : validateInteger(m, 'options.mode', 0, 0o777);
    const exclusive = optionalBoolean(x, 'options.exclusive', false);
    const access = validateAccess(a, 'options.access');
    const flags = ACCESS_CODE[access] | CREATE | (exclusive ? EXCLUSIVE : 0);
    const opened = native.mqOpen(name, flags, mode, maxMessages, messageSize);
    return new PosixMessageQueue(name, access, opened);
  }

  /**
   * Opens the existing queue `name`.
   * @throws SystemError ENOENT (no such queue), EACCES (its mode denies the access asked for).
   */
  static open(name: string, options?: PosixMessageQueueOpenOptions): PosixMessageQueue {
    validateString(name, 'name');
    const access = validateAccess(optionsOf(options).access, 'options.access');
    return new PosixMessageQueue(
      name,
      access,
      native.mqOpen(name, ACCESS_CODE[access], 0, undefined, undefined),
    );
  }

  /**
   * Removes the name (`mq_unlink`). Processes that have the queue open keep
   * using it; the next `create` makes a new one.
   * @throws SystemError ENOENT (no such queue), EACCES.
   */
  static unlink(name: string): void {
    validateString(name, 'name');
    native.mqUnlink(name);
  }

  /** The system's limits (/proc/sys/fs/mqueue). */
  static limits(): PosixMessageQueueLimits {
    return native.mqLimits();
  }

  /** The name, with its leading '/'. */
  get name(): string {
    return this.#name;
  }

  /**
   * The descriptor (an ordinary, close-on-exec file descriptor on Linux),
   * for C addons and `poll`. Valid until `close()`; never close it
   * yourself, or its number may be reused for another file under this
   * queue's calls.
   */
  get fd(): number {
    return this.#fd;
  }

  /** True if this call created the queue, false if it opened an existing one. */
  get created(): boolean {
    return this.#created;
  }

  /** What the descriptor was opened for. */
  get access(): QueueAccess {
    return this.#access;
  }

  /** `mq_maxmsg`: how many messages fit before `send` waits. */
  get maxMessages(): number {
    return this.#maxMessages;
  }

  /** `mq_msgsize`: the largest message in bytes. Longer ones throw EMSGSIZE. */
  get messageSize(): number {
    return this.#messageSize;
  }

  /** True after {@link PosixMessageQueue.close}. */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  #live(): MqHandle {
    if (this.#handle === undefined) throw closedError('PosixMessageQueue');
    return this.#handle;
  }

  /** `mq_getattr`. */
  attributes(): PosixMessageQueueAttributes {
    return native.mqGetAttr(this.#live());
  }

  /** `mq_setattr`: changes O_NONBLOCK; returns the attributes from before. */
  setAttributes(attributes: PosixMessageQueueSetAttributes): PosixMessageQueueAttributes {
    const nonBlocking = validateBoolean(
      optionsOf(attributes, 'attributes').nonBlocking,
      'attributes.nonBlocking',
    );
    return native.mqSetAttr(this.#live(), nonBlocking);
  }

  /** The queue's permission bits and owner (fstat). */
  stat(): PosixMessageQueueStat {
    return native.mqStat(this.#live());
  }

  /**
   * Sends `data` (bytes, or a string as UTF-8), blocking the calling thread
   * while the queue is full.
   * @throws SystemError EMSGSIZE (longer than {@link PosixMessageQueue.messageSize},
   *   checked before the call), ETIMEDOUT (still full after `timeout` ms),
   *   EBADF (opened with access 'read').
   */
  send(data: MessageData, options?: PosixSendOptions): void {
    const bytes = messageBytes(data);
    const { priority: p, timeout, signal, ref } = optionsOf<PosixSendAsyncOptions>(options);
    const priority = validatePriority(p);
    const wait = parseWait({ timeout, signal, ref }, false);
    if (!native.mqSend(this.#live(), bytes, priority, wait.timeout))
      throw this.#timedOut('mq_timedsend', wait.timeout);
  }

  /** Sends `data` if there is room right now; false if the queue is full. */
  trySend(data: MessageData, options?: PosixTrySendOptions): boolean {
    const bytes = messageBytes(data);
    const priority = validatePriority(optionsOf(options).priority);
    return native.mqSend(this.#live(), bytes, priority, 0);
  }

  /**
   * Sends `data` without blocking the event loop: at once if there is room,
   * else when a receiver makes some. `data` is copied if it has to wait, so
   * changing it afterwards does not change the message.
   *
   * @returns a Promise that rejects with ETIMEDOUT after `timeout` ms, with
   * an `AbortError` when `signal` aborts (nothing was sent then), and with
   * ERR_SHMKIT_CLOSED when the queue is closed meanwhile.
   */
  sendAsync(data: MessageData, options?: PosixSendAsyncOptions): Promise<void> {
    let bytes: ArrayBufferView | ArrayBuffer;
    let priority: number;
    let wait: ParsedWait;
    let handle: MqHandle;
    try {
      bytes = messageBytes(data);
      const { priority: p, timeout, signal, ref } = optionsOf(options);
      priority = validatePriority(p);
      wait = parseWait({ timeout, signal, ref }, true);
      handle = this.#live();
      if (wait.signal?.aborted) throw abortError(wait.signal);
      if (native.mqSend(handle, bytes, priority, 0)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    const copy = ownedCopy(bytes);
    return this.#whenReady(handle, true, wait, 'mq_timedsend', () =>
      native.mqSend(handle, copy, priority, 0) ? true : undefined,
    ).then(() => undefined);
  }

  /**
   * Receives the oldest message of the highest priority, blocking the
   * calling thread while the queue is empty.
   * @throws SystemError ETIMEDOUT (still empty after `timeout` ms), EBADF
   *   (opened with access 'write').
   */
  receive(options?: QueueWaitOptions): PosixMessage {
    const { timeout, signal, ref } = optionsOf<QueueWaitAsyncOptions>(options);
    const wait = parseWait({ timeout, signal, ref }, false);
    const message = native.mqReceive(this.#live(), wait.timeout);
    if (message === undefined) throw this.#timedOut('mq_timedreceive', wait.timeout);
    return message;
  }

  /** The next message if there is one right now, else undefined. */
  tryReceive(): PosixMessage | undefined {
    return native.mqReceive(this.#live(), 0);
  }

  /**
   * Receives the next message without blocking the event loop.
   *
   * @returns a Promise of the message; it rejects with ETIMEDOUT after
   * `timeout` ms, with an `AbortError` when `signal` aborts (no message is
   * taken then: it stays for the next receiver), and with ERR_SHMKIT_CLOSED
   * when the queue is closed meanwhile.
   */
  receiveAsync(options?: QueueWaitAsyncOptions): Promise<PosixMessage> {
    let wait: ParsedWait;
    let handle: MqHandle;
    try {
      const { timeout, signal, ref } = optionsOf(options);
      wait = parseWait({ timeout, signal, ref }, true);
      handle = this.#live();
      if (wait.signal?.aborted) throw abortError(wait.signal);
      const message = native.mqReceive(handle, 0);
      if (message !== undefined) return Promise.resolve(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#whenReady(handle, false, wait, 'mq_timedreceive', () =>
      native.mqReceive(handle, 0),
    );
  }

  /**
   * Waits in the engine for readiness, then tries again on the JS thread
   * until `attempt` goes through. Another process may take what readiness
   * announced, so a wake-up can be followed by another wait.
   */
  async #whenReady<T>(
    handle: MqHandle,
    writable: boolean,
    wait: ParsedWait,
    syscall: string,
    attempt: () => T | undefined,
  ): Promise<T> {
    const [group, flags] = asyncArgs(wait);
    for (;;) {
      const left = remaining(wait);
      if (left === 0) throw this.#timedOut(syscall, wait.timeout);
      let events: number;
      try {
        events = await native.mqWaitAsync(handle, writable, left, group, flags);
      } catch (error) {
        // close() ended the wait: say what was closed.
        if (this.#handle !== handle) throw closedError('PosixMessageQueue');
        throw error;
      }
      if (events < 0) throw this.#timedOut(syscall, wait.timeout);
      // Readiness and an abort can come in the same turn of the loop: the
      // abort wins, and nothing is taken.
      if (wait.signal?.aborted) throw abortError(wait.signal);
      if (this.#handle !== handle) throw closedError('PosixMessageQueue');
      const done = attempt();
      if (done !== undefined) return done;
    }
  }

  #timedOut(syscall: string, timeout: number): Error {
    const what = syscall === 'mq_timedsend' ? 'no room came' : 'no message came';
    return timedOut(syscall, { ipcName: this.#name }, `${what} within ${timeout} ms`);
  }

  /** Removes this queue's name; see {@link PosixMessageQueue.unlink | the static form}. */
  unlink(): void {
    native.mqUnlink(this.#name);
  }

  /**
   * Releases this process's descriptor. Pending async calls reject with
   * ERR_SHMKIT_CLOSED; the queue and its messages stay. Idempotent.
   */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    native.mqClose(handle);
  }

  /** Same as {@link PosixMessageQueue.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'PosixMessageQueue';
  }
}
