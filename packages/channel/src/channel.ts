// A channel by name: creating, opening and removing the POSIX shared
// memory object it lives in, and making its ends.
import { randomBytes } from 'node:crypto';
import { linkSync } from 'node:fs';
import {
  closedError,
  codedError,
  invalidArgType,
  invalidArgValue,
  optionalBoolean,
  validateInteger,
  validateMode,
  validateOptions,
  type SystemError,
} from '@shmkit/core/internal';
import { PosixShm, SHM_DIRECTORY } from '@shmkit/posix-shm';
import { codecOption } from './codec';
import { ChannelErrorCode } from './error-codes';
import { corrupt } from './errors';
import { decodeHeader, type ChannelInfo } from './header';
import {
  HEADER_ALIGN,
  MAX_CAPACITY_LOG2,
  MAX_RECEIVER_SLOTS,
  MAX_RINGS,
  MIN_CAPACITY_LOG2,
  VERSION,
  makeLayout,
  readLayout,
  writeHeader,
  type ChannelKind,
  type Codec,
  type Layout,
} from './layout';
import { ChannelMemory } from './memory';
import { Receiver, receiverOptions, type ReceiverOptions } from './receiver';
import { Sender, senderOptions, type SenderOptions } from './sender';

/** Options of {@link Channel.create}. */
export interface ChannelOptions {
  /**
   * `'spsc'` (default): one sender, one receiver, the fastest.
   * `'mpsc'`: up to `senders` senders in any processes, one receiver; each
   * sender has a ring of its own, so no message is ever torn or interleaved
   * and one sender's messages arrive in the order it sent them.
   * `'broadcast'`: one sender, up to `receivers` receivers, each with its
   * own cursor; the sender never waits and a slow receiver is lapped.
   */
  kind?: ChannelKind;
  /**
   * Bytes of message data per ring, rounded up to a power of two from 4 KiB
   * to 1 GiB. Default 1 MiB. A message may be up to half of it, minus 8.
   */
  capacity?: number;
  /** mpsc: how many senders may be attached at once, 1 to 64 (one ring each). Default 8. */
  senders?: number;
  /** broadcast: how many receivers may be attached at once, 1 to 256. Default 16. */
  receivers?: number;
  /** The codec ends use unless they choose another. Default 'bytes'. */
  codec?: Codec;
  /** Permission bits of a new object, applied exactly (no umask). Default 0o600. */
  mode?: number;
  /**
   * Fail with EEXIST if the name exists. Default false: an existing channel
   * with the same kind, capacity, slots and codec is opened instead (other
   * parameters: ERR_SHMKIT_CHANNEL_MISMATCH).
   */
  exclusive?: boolean;
}

const DEFAULT_CAPACITY = 1 << 20;
const DEFAULT_SENDERS = 8;
const DEFAULT_RECEIVERS = 16;

/** Checks a POSIX IPC name the way shm_open does, before it becomes a path. */
function validateName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  const problem = !name.startsWith('/')
    ? "must start with '/'"
    : name.length === 1
      ? "must have at least one character after '/'"
      : name.indexOf('/', 1) !== -1
        ? "must not contain '/' after the first character"
        : name === '/.' || name === '/..'
          ? "must not be '/.' or '/..'"
          : Buffer.byteLength(name) > 255
            ? 'must be at most 255 bytes long'
            : name.includes('\0')
              ? 'must not contain null bytes'
              : name.startsWith('/sem.')
                ? "must not start with '/sem.' (glibc's named semaphore files)"
                : undefined;
  if (problem !== undefined) throw invalidArgValue('name', problem, name);
  return name;
}

function capacityLog2(value: unknown): number {
  if (value === undefined) return Math.log2(DEFAULT_CAPACITY);
  const bytes = validateInteger(value, 'options.capacity', 1, 2 ** MAX_CAPACITY_LOG2);
  return Math.max(MIN_CAPACITY_LOG2, Math.ceil(Math.log2(bytes)));
}

function kindOption(value: unknown): ChannelKind {
  if (value === undefined) return 'spsc';
  if (value !== 'spsc' && value !== 'mpsc' && value !== 'broadcast')
    throw invalidArgValue('options.kind', "must be 'spsc', 'mpsc' or 'broadcast'", value);
  return value;
}

function eexist(name: string): SystemError {
  const error = new Error(`link EEXIST: file exists, name '${name}'`) as SystemError;
  return Object.assign(error, { code: 'EEXIST', errno: -17, syscall: 'link', ipcName: name });
}

/** Maps a channel's object and checks its header; closes `shm` on failure. */
function attach(name: string, shm: PosixShm): ChannelMemory {
  try {
    const size = shm.size;
    if (size === 0)
      throw codedError(
        ChannelErrorCode.NOT_INITIALIZED,
        `channel '${name}' has size 0: it was never initialised`,
      );
    if (size < HEADER_ALIGN)
      throw corrupt(name, `the object has ${size} bytes, less than a header`);
    const first = shm.map({ length: HEADER_ALIGN });
    let words: Int32Array;
    try {
      // A private copy: the static words are read once and never again.
      const copy = first.read(0, 64);
      words = new Int32Array(copy.buffer, copy.byteOffset, 16);
    } finally {
      first.close();
    }
    const layout = readLayout(words);
    if (typeof layout === 'string') {
      if (layout === 'uninitialized')
        throw codedError(
          ChannelErrorCode.NOT_INITIALIZED,
          `channel '${name}' has no header yet (all zero)`,
        );
      if (layout.startsWith('version '))
        throw codedError(
          ChannelErrorCode.VERSION,
          `channel '${name}' has format ${layout}; this version of @shmkit/channel reads version 1`,
        );
      throw corrupt(name, layout);
    }
    const now = shm.size;
    if (now < layout.totalBytes)
      throw corrupt(name, `the object has ${now} bytes, its header needs ${layout.totalBytes}`);
    return new ChannelMemory(name, layout, shm, shm.map({ length: layout.totalBytes }));
  } catch (error) {
    shm.close();
    throw error;
  }
}

function sameShape(a: Layout, b: Layout): boolean {
  return (
    a.kind === b.kind &&
    a.capacityLog2 === b.capacityLog2 &&
    a.rings === b.rings &&
    a.receiverSlots === b.receiverSlots &&
    a.codec === b.codec
  );
}

/**
 * A message channel in a POSIX shared memory object: a ring per sender,
 * records with a length header, cursors and futex wake words, all in a
 * documented layout (LAYOUT.md) that C programs can use as well.
 *
 * A Channel is this process's handle on the object; its ends are made with
 * {@link Channel.sender} and {@link Channel.receiver}, in this process or
 * any other that opens the same name. `close()` closes the ends made from
 * it and unmaps; `unlink()` removes the name.
 *
 * @typeParam T - what receivers get (Buffer for 'bytes', string for
 *   'string', your type for 'json' and 'v8').
 *
 * @example
 * ```ts
 * using channel = Channel.create('/jobs', { capacity: 1 << 16, exclusive: true });
 * using tx = channel.sender();
 * using rx = channel.receiver();
 * tx.send(Buffer.from('hello'));
 * console.log(rx.receive()?.toString()); // hello
 * channel.unlink();
 * ```
 */
export class Channel<T = unknown> implements Disposable {
  readonly #mem: ChannelMemory;
  readonly #created: boolean;
  readonly #ends = new Set<{ close(): void }>();
  #closed = false;

  private constructor(mem: ChannelMemory, created: boolean) {
    this.#mem = mem;
    this.#created = created;
  }

  /**
   * Creates a channel (or, without `exclusive`, opens the existing one of
   * the same shape). The header is written under a temporary name and
   * linked into place, so no process ever opens a half-made channel; the
   * object's pages are reserved, so a full /dev/shm fails here (ENOSPC).
   *
   * @param name - '/name': one leading '/', no other, at most 255 bytes.
   * @throws TypeError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE (bad name, kind or codec).
   * @throws RangeError ERR_OUT_OF_RANGE (capacity, senders, receivers, mode).
   * @throws SystemError EEXIST (exclusive), EACCES, ENOSPC.
   * @throws Error ERR_SHMKIT_CHANNEL_MISMATCH (exists with another shape), and
   *   what {@link Channel.open} throws for an existing object.
   */
  static create(name: string, options?: ChannelOptions & { codec?: 'bytes' }): Channel<Buffer>;
  static create(name: string, options: ChannelOptions & { codec: 'string' }): Channel<string>;
  static create<T = unknown>(
    name: string,
    options: ChannelOptions & { codec: 'json' | 'v8' },
  ): Channel<T>;
  static create<T = unknown>(name: string, options?: ChannelOptions): Channel<T>;
  static create<T>(name: string, options?: ChannelOptions): Channel<T> {
    validateName(name);
    // Each option is read once: a getter cannot answer a check one way and
    // the use another.
    const {
      kind: kindValue,
      capacity,
      senders: sendersValue,
      receivers: receiversValue,
      codec: codecValue,
      mode: modeValue,
      exclusive: exclusiveValue,
    } = validateOptions(options);
    const kind = kindOption(kindValue);
    const log2 = capacityLog2(capacity);
    const senders =
      sendersValue === undefined
        ? DEFAULT_SENDERS
        : validateInteger(sendersValue, 'options.senders', 1, MAX_RINGS);
    const receivers =
      receiversValue === undefined
        ? DEFAULT_RECEIVERS
        : validateInteger(receiversValue, 'options.receivers', 1, MAX_RECEIVER_SLOTS);
    const codec = codecOption(codecValue, 'bytes');
    const mode = modeValue === undefined ? 0o600 : validateMode(modeValue, 'options.mode');
    const exclusive = optionalBoolean(exclusiveValue, 'options.exclusive', false);
    if (sendersValue !== undefined && kind !== 'mpsc')
      throw invalidArgValue('options.senders', 'only applies to mpsc channels', sendersValue);
    if (receiversValue !== undefined && kind !== 'broadcast')
      throw invalidArgValue(
        'options.receivers',
        'only applies to broadcast channels',
        receiversValue,
      );
    const layout = makeLayout(
      kind,
      codec,
      log2,
      kind === 'mpsc' ? senders : 1,
      kind === 'broadcast' ? receivers : 1,
    );

    for (let attempt = 0; ; attempt++) {
      if (!exclusive) {
        const existing = Channel.#openExisting<T>(name);
        if (existing !== undefined) {
          if (sameShape(existing.#mem.layout, layout)) return existing;
          const found = existing.#mem.layout;
          existing.close();
          throw codedError(
            ChannelErrorCode.MISMATCH,
            `channel '${name}' exists as ${found.kind} with capacity ${found.capacity}, ` +
              `${found.rings} ring(s), ${found.receiverSlots} receiver slot(s) and codec '${found.codec}'; ` +
              `asked for ${layout.kind}, ${layout.capacity}, ${layout.rings}, ${layout.receiverSlots}, '${layout.codec}'`,
          );
        }
      }
      const temporary = `/.shmkit-channel-${process.pid}-${randomBytes(6).toString('hex')}`;
      const shm = PosixShm.create(temporary, { size: layout.totalBytes, mode, exclusive: true });
      try {
        const mapping = shm.map({ length: layout.totalBytes });
        try {
          writeHeader(mapping.int32Array(0, 16), layout);
        } catch (error) {
          mapping.close();
          throw error;
        }
        try {
          linkSync(`${SHM_DIRECTORY}${temporary}`, `${SHM_DIRECTORY}${name}`);
        } catch (error) {
          mapping.close();
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          if (exclusive) throw eexist(name);
          if (attempt < 3) continue; // someone created it meanwhile: open theirs
          throw eexist(name);
        }
        return new Channel<T>(new ChannelMemory(name, layout, shm, mapping), true);
      } catch (error) {
        shm.close();
        throw error;
      } finally {
        try {
          PosixShm.unlink(temporary);
        } catch {
          // nothing left to remove
        }
      }
    }
  }

  /** The existing channel, or undefined when there is no such name. */
  static #openExisting<T>(name: string): Channel<T> | undefined {
    let shm: PosixShm;
    try {
      shm = PosixShm.open(name);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
    return new Channel<T>(attach(name, shm), false);
  }

  /**
   * Opens an existing channel. Its kind, capacity and codec come from the
   * header; the type parameter only tells TypeScript what receivers get.
   *
   * @throws SystemError ENOENT, EACCES.
   * @throws Error ERR_SHMKIT_CHANNEL_CORRUPT (not a channel, a damaged or
   *   truncated header), ERR_SHMKIT_CHANNEL_VERSION (a newer format),
   *   ERR_SHMKIT_NOT_INITIALIZED (an object whose header is all zero).
   */
  static open<T = unknown>(name: string): Channel<T> {
    validateName(name);
    return new Channel<T>(attach(name, PosixShm.open(name)), false);
  }

  /**
   * Removes the channel's name. Processes that have it open keep using it.
   * Refuses (ERR_INVALID_ARG_VALUE) an object that is not a channel, so a
   * mistyped name never removes something else.
   *
   * @throws SystemError ENOENT.
   */
  static unlink(name: string): void {
    validateName(name);
    const shm = PosixShm.open(name, { readOnly: true });
    let channel: boolean;
    try {
      channel = shm.size >= 64 && isChannelHeader(shm);
    } finally {
      shm.close();
    }
    if (!channel) throw invalidArgValue('name', 'is not a shmkit channel', name);
    PosixShm.unlink(name);
  }

  /** The name it was created or opened with. */
  get name(): string {
    return this.#mem.name;
  }

  /** 'spsc', 'mpsc' or 'broadcast'. */
  get kind(): ChannelKind {
    return this.#mem.layout.kind;
  }

  /** Bytes of message data per ring (a power of two). */
  get capacity(): number {
    return this.#mem.layout.capacity;
  }

  /** The largest message: half the capacity minus 8 bytes. */
  get maxMessageBytes(): number {
    return this.#mem.layout.maxMessageBytes;
  }

  /** The codec ends use by default. */
  get codec(): Codec {
    return this.#mem.layout.codec;
  }

  /** How many senders may be attached at once (1 except for mpsc). */
  get senderSlots(): number {
    return this.#mem.layout.rings;
  }

  /** How many receivers may be attached at once (1 except for broadcast). */
  get receiverSlots(): number {
    return this.#mem.layout.receiverSlots;
  }

  /** Bytes the shared object takes: the header plus every ring. */
  get byteLength(): number {
    return this.#mem.layout.totalBytes;
  }

  /** True when {@link Channel.create} made the object. */
  get created(): boolean {
    return this.#created;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A sending end. Takes a sender slot until it is closed.
   * @throws Error ERR_SHMKIT_CHANNEL_BUSY when every slot is held by a live sender
   *   (the slots of senders that died are taken over).
   */
  sender(options?: SenderOptions & { codec?: undefined }): Sender<T>;
  sender(options: SenderOptions & { codec: 'bytes' }): Sender<Buffer>;
  sender(options: SenderOptions & { codec: 'string' }): Sender<string>;
  sender<U = unknown>(options: SenderOptions & { codec: 'json' | 'v8' }): Sender<U>;
  sender<U>(options?: SenderOptions): Sender<U> {
    this.#live();
    const { codec, batch } = senderOptions(options, this.#mem.layout.codec);
    const end = new Sender<U>({
      memory: this.#mem,
      codec,
      batch,
      onClose: (e) => this.#ends.delete(e as Sender<U>),
    });
    this.#ends.add(end);
    return end;
  }

  /**
   * A receiving end. spsc and mpsc channels have one receiver at a time
   * (it continues after the last message its predecessor released);
   * broadcast channels have up to `receivers`.
   * @throws Error ERR_SHMKIT_CHANNEL_BUSY when every receiver slot is held by a live receiver.
   */
  receiver(options?: ReceiverOptions & { codec?: undefined }): Receiver<T>;
  receiver(options: ReceiverOptions & { codec: 'bytes' }): Receiver<Buffer>;
  receiver(options: ReceiverOptions & { codec: 'string' }): Receiver<string>;
  receiver<U = unknown>(options: ReceiverOptions & { codec: 'json' | 'v8' }): Receiver<U>;
  receiver<U>(options?: ReceiverOptions): Receiver<U> {
    this.#live();
    const { codec, start } = receiverOptions(options, this.#mem.layout.codec);
    const end = new Receiver<U>({
      memory: this.#mem,
      codec,
      start,
      onClose: (e) => this.#ends.delete(e as Receiver<U>),
    });
    this.#ends.add(end);
    return end;
  }

  /** The header decoded (see {@link decodeChannelHeader}): cursors, fill levels, ends. */
  inspect(): ChannelInfo {
    this.#live();
    return decodeHeader(this.#mem.bytes.slice(0, this.#mem.layout.headerBytes));
  }

  #live(): void {
    if (this.#closed) throw closedError('Channel');
    this.#mem.live('Channel');
  }

  /** Removes the name (see {@link Channel.unlink}); works after close(). */
  unlink(): void {
    PosixShm.unlink(this.#mem.name);
  }

  /** Closes every end made from this handle, then unmaps. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of [...this.#ends]) end.close();
    this.#ends.clear();
    this.#mem.close();
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `'Channel'`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'Channel';
  }
}

/**
 * Whether the object starts with a channel's header: the magic and, for
 * this format version, static words that make sense (the cursors may be
 * damaged: unlink is how a broken channel is cleaned up). A header of a
 * newer version counts; eight bytes of magic alone, or version 0, do not.
 */
function isChannelHeader(shm: PosixShm): boolean {
  const mapping = shm.map({ length: 64, readOnly: true, shared: true });
  let copy: Buffer;
  try {
    copy = mapping.read(0, 64);
  } finally {
    mapping.close();
  }
  const layout = readLayout(new Int32Array(copy.buffer, copy.byteOffset, 16));
  if (typeof layout !== 'string') return true;
  const newer = /^version (\d+)$/.exec(layout);
  return newer !== null && Number(newer[1]) > VERSION;
}
