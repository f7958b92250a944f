// Reading the bytes of a file that someone else controls (an object in
// /dev/shm, a named semaphore) without trusting it: only a regular file,
// never through a symlink, never blocking on a FIFO, and with plain reads.
// Never mmap: the owner may truncate the file under a mapping, and the next
// touch of a page past the new end kills the reader with SIGBUS.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type BigIntStats,
} from 'node:fs';
import { systemError } from '@shmkit/core/internal';

/** A regular file opened for reading by {@link openRegularFile}. */
export interface RegularFile {
  readonly path: string;
  /** fstat of the descriptor when it was opened. */
  readonly stat: BigIntStats;
  /**
   * Up to `length` bytes from `position`; fewer when the file ends first
   * (also when it was truncated since it was opened).
   */
  read(position: number, length: number): Buffer;
  close(): void;
}

const OPEN_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY; // libuv adds O_CLOEXEC itself

/**
 * Opens the regular file at `path` for plain reads.
 *
 * The file is looked at before it is opened (a device, FIFO or socket is
 * refused without opening it, since opening some devices has effects) and
 * again after (the descriptor must be that same regular file).
 *
 * @throws a Node-style system error: ENOENT, EACCES, ELOOP (a symlink),
 *   EINVAL (not a regular file).
 */
export function openRegularFile(path: string): RegularFile {
  const before = lstatSync(path, { bigint: true });
  if (!before.isFile()) throw systemError('EINVAL', 'open', { path, note: 'not a regular file' });
  const fd = openSync(path, OPEN_FLAGS);
  let stat: BigIntStats;
  try {
    stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile() || stat.ino !== before.ino || stat.dev !== before.dev) {
      throw systemError('EINVAL', 'open', { path, note: 'replaced while it was opened' });
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return {
    path,
    stat,
    read(position, length) {
      const bytes = Buffer.alloc(Math.max(0, length));
      let done = 0;
      while (done < bytes.length) {
        const n = readSync(fd, bytes, done, bytes.length - done, position + done);
        if (n === 0) break; // the end, or truncated meanwhile: what was there is all there is
        done += n;
      }
      return bytes.subarray(0, done);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Reads up to `length` bytes from `position` of the regular file at `path` (see {@link openRegularFile}). */
export function readRegularFile(
  path: string,
  position: number,
  length: number,
): { bytes: Buffer; stat: BigIntStats } {
  const file = openRegularFile(path);
  try {
    return { bytes: file.read(position, length), stat: file.stat };
  } finally {
    file.close();
  }
}
