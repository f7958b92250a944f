import { type Mapping, pageSize } from '@shmkit/core';
import {
  adoptMapping,
  invalidArgType,
  invalidArgValue,
  native,
  optionalBoolean,
  outOfRange,
  validateInteger,
  validateMode,
  validateOptions,
  validateSize,
} from '@shmkit/core/internal';
import { fileURLToPath } from 'node:url';

/** The largest file offset or size Linux accepts (off_t): 2^63 - 1. */
const MAX_OFF_T = 2n ** 63n - 1n;

/** Options for {@link mapFile}. */
export interface MapFileOptions {
  /**
   * Where the mapping starts in the file, in bytes: a multiple of
   * {@link pageSize}. A bigint reaches past 2^53. Default 0.
   */
  offset?: number | bigint;
  /**
   * How many bytes to map. Default: from `offset` to the end of the file.
   * The range must lie inside the file (see the SIGBUS note on {@link mapFile}).
   */
  length?: number;
  /**
   * MAP_SHARED (default): writes go to the file and are seen by every
   * process that maps or reads it. MAP_PRIVATE when false: copy-on-write,
   * writes stay in this mapping and never reach the file.
   */
  shared?: boolean;
  /**
   * Open the file read-only. Shared read-only mappings have no
   * {@link Mapping.buffer} (a write through one would crash the process):
   * copy bytes out with {@link Mapping.read}, which also sees later changes
   * by other processes. Combine with `shared: false` for a zero-copy buffer
   * whose writes stay private. Default false.
   */
  readOnly?: boolean;
  /** MAP_POPULATE: read the whole range in now instead of on first touch. Default false. */
  populate?: boolean;
  /**
   * Create the file if it does not exist and grow it to at least this many
   * bytes (the new bytes read as zeros). A longer file is never shrunk.
   * Cannot be combined with `readOnly`. When the call fails after creating
   * the file (the size is too large, the file system is full), the file is
   * removed again.
   */
  size?: number | bigint;
  /** Permission bits for a file that `size` creates. Default 0o600. */
  mode?: number;
  /**
   * Allocate (fallocate) the bytes `size` adds, and the holes in the range a
   * writable shared mapping covers, so a full file system fails right here
   * with ENOSPC instead of with SIGBUS when such a page is first written.
   * Default: true on tmpfs (/dev/shm, often /tmp), whose pages are memory;
   * false elsewhere, where files stay sparse and cost no disk space until
   * written.
   */
  reserve?: boolean;
}

function validateOffset(value: unknown, name: string, min: bigint): bigint {
  if (typeof value === 'number') {
    validateInteger(value, name, Number(min));
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < min || value > MAX_OFF_T)
      throw outOfRange(name, `>= ${min}n && <= 2n ** 63n - 1n`, value);
    return value;
  }
  throw invalidArgType(name, 'of type number or bigint', value);
}

function validateTarget(pathOrFd: unknown): string | number {
  if (typeof pathOrFd === 'number') return validateInteger(pathOrFd, 'pathOrFd', 0, 0x7fffffff);
  let path: unknown = pathOrFd;
  if (pathOrFd instanceof URL) {
    if (pathOrFd.protocol !== 'file:')
      throw invalidArgValue('pathOrFd', 'must be a file: URL', pathOrFd.href);
    path = fileURLToPath(pathOrFd);
  }
  if (typeof path !== 'string') {
    throw invalidArgType('pathOrFd', 'of type string or number or an instance of URL', pathOrFd);
  }
  if (path.includes('\0')) {
    throw invalidArgValue('pathOrFd', 'must be a string without null bytes', path);
  }
  return path;
}

/**
 * Maps a file (by path, `file:` URL or open descriptor) into memory and
 * returns a {@link Mapping} of kind `'file'` whose {@link Mapping.buffer}
 * reads and writes the file's pages in place.
 *
 * Before mapping, the file's size is checked (fstat) and any range that
 * reaches past its end is refused: touching a mapped page beyond the end
 * of a file raises SIGBUS, which would kill the process. If ANOTHER process
 * truncates the file while it is mapped, a later access past the new end
 * would raise SIGBUS too: shmkit's SIGBUS handler catches that touch and
 * maps zero pages from there to the mapping's end, so the process lives,
 * the bytes read as 0, writes there reach no one, and
 * {@link Mapping.truncated} turns true. Check it after reading a file that
 * others may shrink.
 *
 * A descriptor stays owned by the caller (it may be closed right after);
 * a file opened by path is closed once mapped.
 *
 * @example
 * ```ts
 * using m = mapFile('/tmp/data.bin', { size: 1 << 20 });
 * new TextEncoder().encodeInto('hello', m.uint8Array());
 * m.sync(); // msync: on disk now
 * ```
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE for arguments of the wrong type.
 * @throws RangeError ERR_OUT_OF_RANGE for negative or fractional numbers, a
 *   zero `length` or `size`, or a `mode` above 0o7777.
 * @throws RangeError ERR_INVALID_ARG_VALUE for an `offset` that is not a
 *   multiple of the page size (the message names it).
 * @throws TypeError ERR_INVALID_ARG_VALUE for a path with null bytes or a
 *   non-file URL.
 * @throws TypeError ERR_INCOMPATIBLE_OPTION_PAIR for `size` with `readOnly`.
 * @throws Error ERR_SHMKIT_EMPTY when the file has no bytes.
 * @throws RangeError ERR_SHMKIT_BEYOND_EOF when `offset` is at or past the
 *   end of the file, or `offset + length` is past it.
 * @throws Error ERR_SHMKIT_NOT_REGULAR_FILE for devices, FIFOs and the like
 *   (never opened for real: the path is checked through an O_PATH descriptor
 *   first), and for a dangling symlink that `size` would create through.
 * @throws RangeError ERR_BUFFER_TOO_LARGE from `mapping.buffer` when the
 *   mapping is larger than one ArrayBuffer can be; use `mapping.window()`.
 * @throws SystemError from open, fstat, ftruncate or mmap (ENOENT, EACCES,
 *   EISDIR, EBADF...), with `path` set when a path was given.
 */
export function mapFile(pathOrFd: string | URL | number, options?: MapFileOptions): Mapping {
  const target = validateTarget(pathOrFd);
  const opts = validateOptions(options);
  const offset = opts.offset === undefined ? 0n : validateOffset(opts.offset, 'options.offset', 0n);
  const page = BigInt(pageSize());
  if (offset % page !== 0n) {
    throw invalidArgValue(
      'options.offset',
      `must be a multiple of the page size (${page})`,
      opts.offset,
      'RangeError',
    );
  }
  const length =
    opts.length === undefined ? undefined : validateSize(opts.length, 'options.length');
  const shared = optionalBoolean(opts.shared, 'options.shared', true);
  const readOnly = optionalBoolean(opts.readOnly, 'options.readOnly', false);
  const populate = optionalBoolean(opts.populate, 'options.populate', false);
  const size = opts.size === undefined ? undefined : validateOffset(opts.size, 'options.size', 1n);
  const mode = opts.mode === undefined ? 0o600 : validateMode(opts.mode, 'options.mode');
  if (size !== undefined && readOnly) {
    throw Object.assign(
      new TypeError('Option "size" cannot be used in combination with option "readOnly"'),
      {
        code: 'ERR_INCOMPATIBLE_OPTION_PAIR',
      },
    );
  }
  const nativeOffset = offset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(offset) : offset;
  const nativeSize =
    size === undefined || size > BigInt(Number.MAX_SAFE_INTEGER) ? size : Number(size);
  const init = native.mmapMapFile(target, nativeOffset, length, {
    shared,
    readOnly,
    populate,
    size: nativeSize,
    mode,
    reserve: opts.reserve,
  });
  // Read-only shared pages are PROT_READ; read-only private ones are copy-on-write.
  return adoptMapping(init, { kind: 'file', readOnly: readOnly && shared });
}
