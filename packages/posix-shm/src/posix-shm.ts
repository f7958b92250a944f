import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, watch } from 'node:fs';
import { userName, type Mapping, type RemoveOnExit } from '@shmkit/core';
import {
  abortError,
  adoptMapping,
  closedError,
  codedError,
  invalidArgType,
  invalidArgValue,
  isSystemError,
  native,
  onAbort,
  optionalBoolean,
  registerExitRemoval,
  sameFileCheck,
  setLongTimeout,
  systemError,
  validateInteger,
  validateMode,
  validateOptions,
  validateSize,
  validateAbortSignal,
  validateRemoveOnExit,
  validateString,
  validateTimeout,
  type ExitRemoval,
  type PosixShmHandle,
} from '@shmkit/core/internal';

/** Where Linux keeps POSIX shared memory objects (a tmpfs). */
export const SHM_DIRECTORY = '/dev/shm';

/** Options for {@link PosixShm.create}. */
export interface CreateOptions {
  /**
   * Size in bytes, 1 to 2^53 - 1. The pages are reserved (fallocate), so a
   * full /dev/shm fails here with ENOSPC rather than later with SIGBUS.
   * An existing object (when not `exclusive`) is grown to this size if it is
   * smaller and never shrunk.
   */
  size: number;
  /** Permission bits of a new object, applied exactly (no umask). Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if the object already exists. Default false (open or create). */
  exclusive?: boolean;
  /**
   * Allocate every page now (fallocate), so that a full /dev/shm fails here
   * with ENOSPC. Default true. With `false` the object is sparse: creating
   * it costs nothing whatever its size, and pages are allocated when first
   * touched; if /dev/shm (or the memory cgroup) is full by then, the process
   * that touches the page is killed with SIGBUS, which shmkit cannot catch.
   * Use it for large objects that are mostly never written.
   */
  reserve?: boolean;
  /**
   * Give the object its name now (default true). With `false` the object is
   * created without a name, where no other process can open it: map it,
   * initialise it, then call {@link PosixShm.publish}, which gives it the
   * name in one atomic step (EEXIST if the name is taken meanwhile). A
   * process waiting in {@link PosixShm.waitFor} then only ever sees a fully
   * initialised object, and a creator that dies before publishing leaves
   * nothing behind. Implies `exclusive`.
   */
  publish?: boolean;
  /**
   * Unlink the object when this process ends, if this call created it (an
   * object that already existed is never touched; one created with
   * `publish: false` from when it is published). `true`: at exit (normal
   * end, `process.exit()`, uncaught exception). `'signals'`: also on
   * SIGINT, SIGTERM and SIGHUP, which are then re-raised. No signal handler
   * is installed unless `'signals'` is asked for. An object that was
   * unlinked and re-created by someone else meanwhile is left alone.
   * Default false. See `RemoveOnExit` in @shmkit/core.
   */
  removeOnExit?: RemoveOnExit;
}

/** Options for {@link PosixShm.waitFor}. */
export interface WaitForOptions extends OpenOptions {
  /** Give up after this many milliseconds (rejects with ETIMEDOUT). Default: no limit. */
  timeout?: number;
  /** Aborting it rejects the pending wait with an AbortError. */
  signal?: AbortSignal;
}

/** Options for {@link PosixShm.open}. */
export interface OpenOptions {
  /**
   * Open O_RDONLY: the object can only be mapped read-only (see
   * {@link MapOptions.readOnly}) and not resized. Default false.
   */
  readOnly?: boolean;
}

/** Options for {@link PosixShm.map}. */
export interface MapOptions {
  /** Byte offset into the object; a multiple of the page size. Default 0. */
  offset?: number | bigint;
  /** Bytes to map. Default: from `offset` to the object's current end. */
  length?: number;
  /**
   * Never write to the object through this mapping. Default: the object's
   * own `readOnly`.
   *
   * A read-only mapping is copy-on-write (MAP_PRIVATE) unless `shared` is
   * set: its buffer reads the object live, and a JS write to a page stays
   * in this process (that page stops seeing other processes' writes). It
   * never faults. With `shared: true` it is a true PROT_READ mapping
   * without an ArrayBuffer (`mapping.read()` copies bytes out), because a
   * write through a view would crash the process.
   */
  readOnly?: boolean;
  /**
   * MAP_SHARED: writes reach the object and every process sees them.
   * Default: true for writable mappings, false (copy-on-write) for
   * read-only ones.
   */
  shared?: boolean;
  /** MAP_POPULATE: fault all pages in up front. Default false. */
  populate?: boolean;
}

/** What {@link PosixShm.stat} and {@link PosixShm.list} report. */
export interface PosixShmStat {
  /** Size in bytes. */
  size: number;
  /** Permission bits (`0o600`...). */
  mode: number;
  /** Owner user id. */
  uid: number;
  /** Owner group id. */
  gid: number;
}

/** One entry of {@link PosixShm.list}. */
export interface PosixShmInfo extends PosixShmStat {
  /** The object's name, with its leading '/'. */
  name: string;
  /**
   * The owner's user name (`getpwuid_r`, so directory-service users resolve
   * too), or undefined when the uid has no name.
   */
  owner: string | undefined;
}

/** A name no object has yet, in the style of Python's SharedMemory(): '/shmkit-' and 16 hex digits. */
function generatedName(): string {
  return `/shmkit-${randomBytes(8).toString('hex')}`;
}

function validateName(name: unknown): string {
  // The native side checks the shape (one leading '/', no other '/', length)
  // so that both layers agree; here only the type.
  return validateString(name, 'name');
}

/**
 * A POSIX shared memory object (`shm_open`): a named, sized chunk of memory
 * in /dev/shm that any process can open by name and map.
 *
 * The object holds no header: byte 0 of a mapping is byte 0 of the object,
 * exactly as C programs and Python's `multiprocessing.shared_memory` see it.
 *
 * A PosixShm owns one file descriptor; `close()` releases it (mappings stay
 * valid). The object itself lives until `unlink()` and the last close and
 * unmap. Works with `using`.
 *
 * @example
 * ```ts
 * using shm = PosixShm.create('/demo', { size: 4096, exclusive: true });
 * using map = shm.map();
 * Atomics.add(map.int32Array(), 0, 1);
 * shm.unlink();
 * ```
 */
export class PosixShm implements Disposable {
  #handle: PosixShmHandle | undefined;
  readonly #fd: number;
  readonly #name: string;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  #published: boolean;
  /** What `removeOnExit` asked for, until the object has a name to remove. */
  #removeOnExit: RemoveOnExit = false;
  #exitRemoval: ExitRemoval | undefined;

  private constructor(
    name: string,
    handle: PosixShmHandle,
    fd: number,
    readOnly: boolean,
    created: boolean,
    published = true,
  ) {
    this.#name = name;
    this.#handle = handle;
    this.#fd = fd;
    this.#readOnly = readOnly;
    this.#created = created;
    this.#published = published;
  }

  /**
   * Creates a new object of `options.size` bytes under a generated unique
   * name (`/shmkit-` and 16 hex digits, in {@link PosixShm.name}), like
   * Python's `SharedMemory(create=True)`. Always exclusive.
   *
   * @throws RangeError ERR_OUT_OF_RANGE for a bad size or mode.
   * @throws TypeError ERR_INVALID_ARG_VALUE for `exclusive: false`.
   * @throws SystemError EACCES, ENOSPC (no room in /dev/shm).
   */
  static create(options: CreateOptions): PosixShm;
  /**
   * Creates an object of `options.size` bytes, or opens the existing one
   * unless `exclusive` is set. The pages are reserved up front unless
   * `reserve` is false; with `publish: false` the object gets its name only
   * at {@link PosixShm.publish}.
   *
   * @param name - '/name': one leading '/', no other '/', at most 255 bytes.
   * @throws TypeError ERR_INVALID_ARG_VALUE for a bad name.
   * @throws RangeError ERR_OUT_OF_RANGE for a bad size or mode.
   * @throws Error ERR_SHMKIT_NOT_REGULAR_FILE when something else than an
   *   object sits at the name (a FIFO, a symlink...).
   * @throws SystemError EEXIST (exclusive, exists), EACCES, ENOSPC (no room in /dev/shm).
   */
  static create(name: string, options: CreateOptions): PosixShm;
  static create(nameOrOptions: string | CreateOptions, maybeOptions?: CreateOptions): PosixShm {
    const generated = typeof nameOrOptions === 'object' && nameOrOptions !== null;
    const name = generated ? undefined : validateName(nameOrOptions);
    const options = generated ? nameOrOptions : maybeOptions;
    const opts = validateOptions(options);
    if (options === undefined || options === null)
      throw invalidArgType('options', 'of type object', options);
    // Every option read once, before anything is created.
    const size = validateSize(opts.size, 'options.size');
    const mode = opts.mode === undefined ? 0o600 : validateMode(opts.mode, 'options.mode');
    const exclusiveOption = opts.exclusive;
    const reserve = optionalBoolean(opts.reserve, 'options.reserve', true);
    const publish = optionalBoolean(opts.publish, 'options.publish', true);
    const removeOnExit = validateRemoveOnExit(opts.removeOnExit);
    const exclusive = optionalBoolean(exclusiveOption, 'options.exclusive', generated || !publish);
    if (!exclusive && (generated || !publish)) {
      throw invalidArgValue(
        'options.exclusive',
        generated
          ? 'cannot be false for a generated name (nobody else has it)'
          : 'cannot be false with publish: false (publishing never replaces an object)',
        exclusiveOption,
      );
    }
    if (!publish) {
      const target = name ?? generatedName();
      const opened = native.posixShmCreateUnnamed(target, mode);
      const shm = new PosixShm(target, opened.handle, opened.fd, false, true, false);
      try {
        native.posixShmResize(opened.handle, size, reserve);
      } catch (error) {
        shm.close(); // it has no name: closing it removes it
        throw error;
      }
      shm.#removeOnExit = removeOnExit; // registered when publish() names it
      return shm;
    }
    // A generated name is taken only if another process generated the same
    // 64 random bits: retrying is the whole remedy.
    for (let attempt = 0; ; attempt++) {
      const target = name ?? generatedName();
      let opened;
      try {
        opened = native.posixShmOpen(target, true, exclusive, false, mode);
      } catch (error) {
        if (name === undefined && isSystemError(error) && error.code === 'EEXIST' && attempt < 8)
          continue;
        throw error;
      }
      const shm = new PosixShm(target, opened.handle, opened.fd, false, opened.created);
      try {
        if (opened.created || native.posixShmStat(opened.handle).size < size) {
          native.posixShmResize(opened.handle, size, reserve);
        }
      } catch (error) {
        shm.close();
        // Only what this call made is removed: an existing object is left as it was.
        if (opened.created) PosixShm.#unlinkQuietly(target);
        throw error;
      }
      if (opened.created) shm.#registerExitRemoval(removeOnExit);
      return shm;
    }
  }

  /**
   * Gives an object created with `publish: false` its name, in one atomic
   * step (`linkat` in /dev/shm): from now on other processes can open it,
   * and {@link PosixShm.waitFor} in other processes returns. Initialise the
   * memory before calling it.
   *
   * @throws SystemError EEXIST when another object took the name meanwhile
   *   (this one keeps working, still without a name).
   * @throws Error ERR_SHMKIT_PUBLISHED when it already has its name.
   */
  publish(): void {
    const handle = this.#live();
    if (this.#published) {
      throw codedError('ERR_SHMKIT_PUBLISHED', `PosixShm '${this.#name}' is already published`);
    }
    native.posixShmPublish(handle);
    this.#published = true;
    this.#registerExitRemoval(this.#removeOnExit);
  }

  /** Registers the removal `removeOnExit` asked for, once the object has its name. */
  #registerExitRemoval(when: RemoveOnExit): void {
    if (when === false) return;
    const name = this.#name;
    // The identity of the object is its descriptor's: whatever holds the
    // name at exit is removed only if it is still this object.
    const stillOurs = sameFileCheck(`${SHM_DIRECTORY}${name}`, this.#fd);
    this.#exitRemoval = registerExitRemoval(
      `POSIX shared memory object '${name}'`,
      () => {
        if (!stillOurs()) return;
        try {
          native.posixShmUnlink(name);
        } catch (error) {
          if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
        }
      },
      when,
    );
  }

  /** False for an object created with `publish: false` until {@link PosixShm.publish}. */
  get published(): boolean {
    return this.#published;
  }

  /**
   * Waits until an object named `name` exists, then opens it. Meant for
   * the other side of `create(name, { publish: false })` + `publish()`: the
   * object appears only once initialised, so what this returns is ready.
   * (An object made with a plain `create` can be seen before its creator
   * has written anything into it.)
   *
   * It watches /dev/shm (inotify, through `fs.watch`) and tries the name
   * again when an entry of that name appears: no polling. A pending wait
   * keeps the process alive, like a timer.
   *
   * @throws TypeError ERR_INVALID_ARG_VALUE for a bad name.
   * @throws Error ETIMEDOUT after `timeout`; AbortError when `signal` aborts;
   *   SystemError EACCES and other open errors.
   */
  static async waitFor(name: string, options?: WaitForOptions): Promise<PosixShm> {
    validateName(name);
    const opts = validateOptions(options);
    const readOnly = optionalBoolean(opts.readOnly, 'options.readOnly', false);
    const timeout = validateTimeout(opts.timeout, 'options.timeout');
    const signal = validateAbortSignal(opts.signal, 'options.signal');
    if (signal?.aborted) throw abortError(signal);
    // Checks the name's syntax too: a bad one fails here, not after a wait.
    const attempt = (): PosixShm | undefined => {
      try {
        return PosixShm.open(name, { readOnly });
      } catch (error) {
        if (isSystemError(error) && error.code === 'ENOENT') return undefined;
        throw error;
      }
    };
    const now = attempt();
    if (now !== undefined) return now;
    return new Promise<PosixShm>((resolve, reject) => {
      const entry = name.slice(1);
      const watcher = watch(SHM_DIRECTORY, { persistent: true });
      const finish = (error: unknown, shm?: PosixShm) => {
        watcher.close();
        timer.clear();
        unsubscribe();
        if (shm !== undefined) resolve(shm);
        else reject(error);
      };
      const check = () => {
        try {
          const shm = attempt();
          if (shm !== undefined) finish(undefined, shm);
        } catch (error) {
          finish(error);
        }
      };
      const timer = setLongTimeout(
        () =>
          finish(
            systemError('ETIMEDOUT', 'shm_open', {
              ipcName: name,
              note: `it did not appear within ${timeout} ms`,
            }),
          ),
        timeout,
      );
      const unsubscribe = signal ? onAbort(signal, () => finish(abortError(signal))) : () => {};
      watcher.on('change', (_event, file) => {
        if (String(file) === entry) check();
      });
      watcher.on('error', (error) => finish(error));
      // The watch is in place: an object published from now on is seen.
      // One published between the first attempt and the watch is found here.
      check();
    });
  }

  /**
   * Opens an existing object. Whatever a peer planted at the name instead of
   * an object (a FIFO, symlink, socket or device) is refused without being
   * opened, so this never blocks.
   * @throws TypeError ERR_INVALID_ARG_VALUE for a bad name.
   * @throws Error ERR_SHMKIT_NOT_REGULAR_FILE when /dev/shm/NAME is not a
   *   regular file.
   * @throws SystemError ENOENT (no such object), EACCES (permissions),
   *   EISDIR (a directory at the name).
   */
  static open(name: string, options?: OpenOptions): PosixShm {
    validateName(name);
    const opts = validateOptions(options);
    const readOnly = optionalBoolean(opts.readOnly, 'options.readOnly', false);
    const opened = native.posixShmOpen(name, false, false, readOnly, 0);
    return new PosixShm(name, opened.handle, opened.fd, readOnly, false);
  }

  /**
   * Removes the name `name` (`shm_unlink`). Processes that have it open or
   * mapped keep their memory until they close and unmap.
   * @throws SystemError ENOENT, EACCES.
   */
  static unlink(name: string): void {
    validateName(name);
    native.posixShmUnlink(name);
  }

  static #unlinkQuietly(name: string): void {
    try {
      native.posixShmUnlink(name);
    } catch {
      // Someone else removed it already: nothing left to clean up.
    }
  }

  /**
   * Every object in /dev/shm with its size, mode and owner. Named
   * semaphores (`sem.*` files) are not shared memory objects and are left out.
   */
  static list(): PosixShmInfo[] {
    const result: PosixShmInfo[] = [];
    for (const entry of readdirSync(SHM_DIRECTORY, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('sem.')) continue;
      let st;
      try {
        st = lstatSync(`${SHM_DIRECTORY}/${entry.name}`);
      } catch {
        continue; // unlinked while we looked
      }
      result.push({
        name: `/${entry.name}`,
        size: st.size,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        owner: ownerName(st.uid),
      });
    }
    return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #live(): PosixShmHandle {
    if (this.#handle === undefined) throw closedError('PosixShm');
    return this.#handle;
  }

  /** The name it was opened with ('/name'). */
  get name(): string {
    return this.#name;
  }

  /**
   * The open file descriptor, for `fs.fstatSync` or passing to C. Owned by
   * this object: do not close it yourself.
   * @throws ERR_SHMKIT_CLOSED after close().
   */
  get fd(): number {
    this.#live();
    return this.#fd;
  }

  /** The current size in bytes (fstat: another process may have resized it). */
  get size(): number {
    return native.posixShmStat(this.#live()).size;
  }

  /** True when opened O_RDONLY. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** True when {@link PosixShm.create} made the object (false when it opened an existing one). */
  get created(): boolean {
    return this.#created;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** fstat: size, permission bits and owner. */
  stat(): PosixShmStat {
    return native.posixShmStat(this.#live());
  }

  /**
   * Sets the size (ftruncate). Growing reserves the new pages, so a full
   * /dev/shm fails here with ENOSPC.
   *
   * Shrinking below what this process maps is refused (ERR_SHMKIT_BUSY):
   * the native core counts every live mapping of the object in the process,
   * however it was made (`map()`, `mapFile()` of its /dev/shm path, a
   * worker thread's), and for as long as its memory stays mapped (a view
   * that outlives its Mapping, a closed Mapping whose memory a pending wait
   * or a held lock still uses). Shrinking an object that ANOTHER process
   * maps makes its accesses past the new end fault in that process (a
   * shmkit process reads zeros there and its Mapping says `truncated`;
   * any other dies of SIGBUS): only shrink what you alone map.
   *
   * @param size - Bytes, 0 to 2^53 - 1.
   * @throws RangeError ERR_OUT_OF_RANGE for a bad size.
   * @throws Error ERR_SHMKIT_READ_ONLY when opened read-only.
   * @throws Error ERR_SHMKIT_BUSY when a live mapping in this process
   *   reaches past `size`.
   * @throws SystemError ENOSPC.
   */
  resize(size: number): void {
    validateInteger(size, 'size', 0);
    const handle = this.#live();
    if (this.#readOnly) {
      throw codedError(
        'ERR_SHMKIT_READ_ONLY',
        `PosixShm '${this.#name}' was opened read-only and cannot be resized`,
      );
    }
    native.posixShmResize(handle, size);
  }

  /**
   * Maps the object (or part of it) and returns a core `Mapping` of kind
   * 'posix-shm'. The range must lie inside the object's current size.
   * Closing the object later does not unmap.
   *
   * @throws RangeError ERR_INVALID_ARG_VALUE (unaligned offset),
   *   ERR_SHMKIT_BEYOND_EOF (offset or length past the object's end).
   * @throws Error ERR_SHMKIT_EMPTY when the object has size 0.
   * @throws SystemError EACCES for a writable mapping of a read-only object;
   *   ENOSPC (syscall fallocate) when a writable shared mapping of an object
   *   with holes (made sparse by another program) finds /dev/shm full: the
   *   holes are reserved before mapping, or a write to one would be SIGBUS.
   */
  map(options?: MapOptions): Mapping {
    const handle = this.#live();
    const opts = validateOptions(options);
    const readOnly = optionalBoolean(opts.readOnly, 'options.readOnly', this.#readOnly);
    const shared = optionalBoolean(opts.shared, 'options.shared', !readOnly);
    const populate = optionalBoolean(opts.populate, 'options.populate', false);
    const offset = opts.offset ?? 0;
    if (typeof offset !== 'number' && typeof offset !== 'bigint') {
      throw invalidArgType('options.offset', 'of type number or bigint', offset);
    }
    if (typeof offset === 'number') validateInteger(offset, 'options.offset', 0);
    const length =
      opts.length === undefined ? undefined : validateSize(opts.length, 'options.length');
    const mapped = native.posixShmMap(handle, offset, length, { shared, readOnly, populate });
    return adoptMapping(mapped, {
      kind: 'posix-shm',
      // Read-only shared pages are PROT_READ; read-only private ones are copy-on-write.
      readOnly: readOnly && shared,
    });
  }

  /** Closes the file descriptor. Mappings stay valid. Calling it again does nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    native.posixShmClose(handle);
  }

  /**
   * Removes this object's name (`shm_unlink`); the fd and mappings stay
   * usable. Works after close().
   * @throws SystemError ENOENT if it was already removed.
   */
  unlink(): void {
    // The name may belong to another object until this one is published.
    if (!this.#published) {
      throw codedError(
        'ERR_SHMKIT_NOT_PUBLISHED',
        `PosixShm '${this.#name}' has no name yet (publish: false); closing it removes it`,
      );
    }
    native.posixShmUnlink(this.#name);
    this.#exitRemoval?.cancel();
    this.#exitRemoval = undefined;
  }

  /** close(). Does not unlink: the library never deletes what you did not ask it to. */
  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'PosixShm';
  }
}

/** The owner's name; undefined when the uid has none or the lookup fails. */
function ownerName(uid: number): string | undefined {
  try {
    return userName(uid);
  } catch {
    return undefined; // a directory service that is down must not fail a listing
  }
}
