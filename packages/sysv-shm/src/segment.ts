import type { Mapping } from '@shmkit/core';
import {
  adoptMapping,
  invalidArgValue,
  isSystemError,
  native,
  optionalBoolean,
  validateInteger,
  validateOptions,
  validateSize,
} from '@shmkit/core/internal';
import { formatKey, IPC_PRIVATE, validateKey } from './key';

/** Options for {@link SysvSegment.create}. */
export interface CreateOptions {
  /**
   * The key other processes find the segment by: 0 to 2^32-1, usually from
   * {@link ftok}. Default {@link IPC_PRIVATE} (always a new segment, shared
   * by id only).
   */
  key?: number;
  /** Size in bytes, 1 to the system's shmmax. The kernel zero-fills it. */
  size: number;
  /** Permission bits, 0 to 0o777. Default 0o600: owner read and write. */
  mode?: number;
  /**
   * IPC_EXCL: fail with EEXIST when the key already has a segment. Default
   * false: an existing segment of at least `size` bytes is opened instead
   * (see {@link SysvSegment.created}).
   */
  exclusive?: boolean;
  /**
   * SHM_HUGETLB: back a new segment with huge pages (fewer TLB misses for
   * large segments). Needs free huge pages (`vm.nr_hugepages`) and
   * CAP_IPC_LOCK or membership of `vm.hugetlb_shm_group`. Default false.
   */
  hugePages?: boolean;
  /**
   * SHM_NORESERVE: reserve no swap space for a new segment; touching pages
   * may then fail (SIGSEGV/OOM) when memory is short. Default false.
   */
  noReserve?: boolean;
}

/** Options for {@link SysvSegment.open}. */
export interface OpenOptions {
  /** The segment's key, 1 to 2^32-1 (an {@link IPC_PRIVATE} segment is opened with {@link SysvSegment.fromId}). */
  key: number;
  /** The least size the caller needs: a smaller segment fails with EINVAL. Default 0: any size. */
  size?: number;
}

/** Options for {@link SysvSegment.attach}. */
export interface AttachOptions {
  /**
   * SHM_RDONLY. The attachment then has no `buffer` (writing through one
   * would crash the process): read it with `read()` copies. Default false.
   */
  readOnly?: boolean;
}

/** The owner and permission bits that {@link SysvSegment.set} changes (IPC_SET). */
export interface SetOptions {
  /** New owner user id. Default: unchanged. */
  uid?: number;
  /** New owner group id. Default: unchanged. */
  gid?: number;
  /** New permission bits, 0 to 0o777. Default: unchanged. */
  mode?: number;
}

/**
 * What IPC_STAT reports about a segment: every field of `struct shmid_ds`.
 * Times are `null` when the event has not happened yet.
 */
export interface SegmentStat {
  /** The segment id (shmid). */
  id: number;
  /** Its key; {@link IPC_PRIVATE} (0) for private segments and once removed. */
  key: number;
  /** Size in bytes (shm_segsz). */
  size: number;
  /** Permission bits (shm_perm.mode & 0o777). */
  mode: number;
  /** shm_perm.mode as the kernel keeps it, with SHM_DEST (0o1000) and SHM_LOCKED (0o2000). */
  rawMode: number;
  /** Marked for removal (IPC_RMID): gone when the last attachment detaches. `ipcs` status "dest". */
  removed: boolean;
  /** Pages locked in memory (SHM_LOCK). `ipcs` status "locked". */
  locked: boolean;
  /** Owner user id. */
  uid: number;
  /** Owner group id. */
  gid: number;
  /** Creator user id. */
  cuid: number;
  /** Creator group id. */
  cgid: number;
  /** Pid of the creator. */
  cpid: number;
  /** Pid of the last process to attach or detach (0 if none). */
  lpid: number;
  /** Number of current attachments, across all processes. */
  nattch: number;
  /** The slot usage sequence number (shm_perm.__seq) the id is built from. */
  seq: number;
  /** Last attach time. */
  atime: Date | null;
  /** Last detach time. */
  dtime: Date | null;
  /** Last change time: creation, IPC_SET or IPC_RMID. */
  ctime: Date | null;
}

/**
 * One attachment of a segment: a core `Mapping` (zero-copy `buffer`,
 * `int32Array()` for Atomics, `read()`, `close()`, `using`) plus
 * `detach()`, the System V name for `close()`.
 */
export type SysvAttachment = Mapping & {
  /**
   * shmdt: the same as `close()`. Every view over the buffer reads as length
   * 0 afterwards; calling it twice does nothing.
   */
  detach(): void;
  /** The id of the segment this is an attachment of. */
  readonly segmentId: number;
};

function isRemovedError(error: unknown): boolean {
  return isSystemError(error) && (error.code === 'EINVAL' || error.code === 'EIDRM');
}

/**
 * A System V shared memory segment (shmget and shmctl), identified by its
 * id. Attach it to get zero-copy memory shared with every process that
 * attaches the same segment, C programs included.
 *
 * A segment outlives every process until it is removed ({@link SysvSegment.remove},
 * `ipcrm -m <id>`, or a reboot). Disposing (`using`) a SysvSegment removes
 * the segment only if this object created it; opened segments are left alone.
 *
 * @example
 * ```ts
 * using segment = SysvSegment.create({ key: ftok('/tmp', 1), size: 4096 });
 * using memory = segment.attach();
 * Atomics.add(memory.int32Array(), 0, 1);
 * console.log(segment.stat().nattch); // 1
 * ```
 */
export class SysvSegment implements Disposable {
  /** The segment id (shmid), as `ipcs -m` shows it. */
  readonly id: number;
  /** True when this object made the segment (a create that found no existing one). */
  readonly created: boolean;
  #key: number | undefined;
  #size: number | undefined;
  #removedByUs = false;

  private constructor(
    id: number,
    key: number | undefined,
    size: number | undefined,
    created: boolean,
  ) {
    this.id = id;
    this.#key = key;
    this.#size = size;
    this.created = created;
  }

  /**
   * Creates a segment (shmget with IPC_CREAT), or opens the existing one for
   * `key` unless `exclusive` is set.
   *
   * @throws SystemError EEXIST (exclusive and the key is taken), EINVAL (size
   *   outside the system's limits, or an existing segment smaller than
   *   `size`), EACCES (an existing segment's mode forbids `mode`), ENOSPC
   *   (system limit on segments reached), ENOMEM (out of memory, or no free
   *   huge pages), EPERM (huge pages not permitted).
   * @throws TypeError / RangeError (ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE)
   *   for a bad key, size, mode or exclusive, before any system call.
   */
  static create(options: CreateOptions): SysvSegment {
    const o = validateOptions(options);
    const key = o.key === undefined ? IPC_PRIVATE : validateKey(o.key, 'options.key');
    const size = validateSize(o.size, 'options.size');
    const mode = o.mode === undefined ? 0o600 : validateInteger(o.mode, 'options.mode', 0, 0o777);
    const exclusive = optionalBoolean(o.exclusive, 'options.exclusive', false);
    const hugePages = optionalBoolean(o.hugePages, 'options.hugePages', false);
    const noReserve = optionalBoolean(o.noReserve, 'options.noReserve', false);
    // Without IPC_EXCL the kernel does not say whether it made the segment.
    // Trying exclusively first does, so `created` (and dispose) can be exact.
    for (;;) {
      try {
        const id = native.sysvShmGet(key, size, {
          create: true,
          exclusive: true,
          mode,
          hugePages,
          noReserve,
        });
        return new SysvSegment(id, key, size, true);
      } catch (error) {
        if (exclusive || !isSystemError(error) || error.code !== 'EEXIST') throw error;
      }
      try {
        const id = native.sysvShmGet(key, size, { create: false, mode });
        return new SysvSegment(id, key, undefined, false);
      } catch (error) {
        // Removed between the two calls: try to create it again.
        if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
      }
    }
  }

  /**
   * Opens the existing segment for `key` (shmget without IPC_CREAT). Opening
   * checks no permissions; attaching does.
   *
   * @throws SystemError ENOENT (no segment has this key, or it was removed),
   *   EINVAL (the segment is smaller than `size`).
   * @throws RangeError ERR_INVALID_ARG_VALUE for {@link IPC_PRIVATE}, which
   *   would create a new segment instead of opening one.
   */
  static open(options: OpenOptions): SysvSegment {
    const o = validateOptions(options);
    const key = validateKey(o.key, 'options.key');
    if (key === IPC_PRIVATE) {
      throw invalidArgValue(
        'options.key',
        'must not be IPC_PRIVATE (0): a private segment has no key to open it by; use SysvSegment.fromId(id)',
        key,
        'RangeError',
      );
    }
    const size = o.size === undefined ? 0 : validateInteger(o.size, 'options.size', 0);
    const id = native.sysvShmGet(key, size, { create: false, mode: 0 });
    return new SysvSegment(id, key, undefined, false);
  }

  /**
   * The segment with id `id` (from `ipcs -m`, another process or
   * {@link listSegments}). Checks that it exists with IPC_STAT, which needs
   * read permission.
   *
   * @throws SystemError EINVAL/EIDRM (no such segment), EACCES (no read permission).
   */
  static fromId(id: number): SysvSegment {
    validateInteger(id, 'id', 0, 0x7fffffff);
    const st = native.sysvShmStat(id);
    return new SysvSegment(id, st.key, st.size, false);
  }

  /** The segment's key as it was found or created (IPC_STAT reports 0 once removed). */
  get key(): number {
    this.#key ??= native.sysvShmStat(this.id).key;
    return this.#key;
  }

  /** The segment's real size in bytes (shm_segsz), which may exceed what `open` asked for. */
  get size(): number {
    this.#size ??= native.sysvShmStat(this.id).size;
    return this.#size;
  }

  /**
   * shmat: maps the whole segment into this process. Each call is a separate
   * attachment (its own address, counted in `nattch`); detach it with
   * `detach()`/`close()` or `using`. An attachment keeps working after the
   * segment is removed.
   *
   * @throws SystemError EACCES (the mode forbids this process to read, or to
   *   write unless `readOnly`), EINVAL/EIDRM (the segment is gone), ENOMEM.
   */
  attach(options?: AttachOptions): SysvAttachment {
    const o = validateOptions(options);
    const readOnly = optionalBoolean(o.readOnly, 'options.readOnly', false);
    const mapping = adoptMapping(native.sysvShmAttach(this.id, readOnly), {
      kind: 'sysv-shm',
      readOnly,
    });
    const segmentId = this.id;
    Object.defineProperties(mapping, {
      detach: { value: () => mapping.close(), enumerable: false },
      segmentId: { value: segmentId, enumerable: true },
    });
    return mapping as SysvAttachment;
  }

  /**
   * shmctl(IPC_STAT): every field of the segment's `shmid_ds`.
   * @throws SystemError EACCES (no read permission), EINVAL/EIDRM (the segment is gone).
   */
  stat(): SegmentStat {
    return native.sysvShmStat(this.id);
  }

  /**
   * shmctl(IPC_SET): changes the owner and/or the permission bits. Fields
   * left out keep their current value. Needs to be the owner or creator, or
   * CAP_SYS_ADMIN.
   *
   * @throws SystemError EPERM (not permitted), EINVAL/EIDRM (the segment is gone).
   * @throws TypeError / RangeError for a uid or gid outside 0..2^32-1 or a mode outside 0..0o777.
   */
  set(options: SetOptions): void {
    const o = validateOptions(options);
    const uid =
      o.uid === undefined ? undefined : validateInteger(o.uid, 'options.uid', 0, 0xffffffff);
    const gid =
      o.gid === undefined ? undefined : validateInteger(o.gid, 'options.gid', 0, 0xffffffff);
    const mode =
      o.mode === undefined ? undefined : validateInteger(o.mode, 'options.mode', 0, 0o777);
    const current =
      uid === undefined || gid === undefined || mode === undefined ? this.stat() : undefined;
    native.sysvShmSet(this.id, uid ?? current!.uid, gid ?? current!.gid, mode ?? current!.mode);
  }

  /**
   * shmctl(SHM_LOCK): keeps the segment's pages out of swap (pages are
   * locked as they are touched).
   * @throws SystemError EPERM with a `hint`: needs CAP_IPC_LOCK, or a non-zero
   *   RLIMIT_MEMLOCK as owner or creator; ENOMEM when over RLIMIT_MEMLOCK.
   */
  lock(): void {
    native.sysvShmLock(this.id, true);
  }

  /** shmctl(SHM_UNLOCK): undoes {@link SysvSegment.lock}. Same errors. */
  unlock(): void {
    native.sysvShmLock(this.id, false);
  }

  /**
   * shmctl(IPC_RMID): marks the segment for removal. Its key is free at once
   * (opening it fails with ENOENT); existing attachments, here and in other
   * processes, keep working until detached, then the memory is freed.
   *
   * @throws SystemError EPERM (not the owner or creator), EINVAL/EIDRM (already gone).
   */
  remove(): void {
    native.sysvShmRemove(this.id);
    this.#removedByUs = true;
  }

  /**
   * Removes the segment if this object created it and has not removed it
   * yet; a segment already gone is not an error. Opened segments are left alone.
   */
  [Symbol.dispose](): void {
    if (!this.created || this.#removedByUs) return;
    try {
      this.remove();
    } catch (error) {
      if (!isRemovedError(error)) throw error;
    }
  }

  /** `SysvSegment(id 5, key 0x01020304)`. */
  toString(): string {
    return `SysvSegment(id ${this.id}, key ${this.#key === undefined ? '?' : formatKey(this.#key)})`;
  }

  get [Symbol.toStringTag](): string {
    return 'SysvSegment';
  }
}
