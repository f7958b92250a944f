// The bytes of an object, for `inspect --as/--hex`, read without trusting
// them and without taking part: POSIX objects with plain reads of their
// file (never mapped, so a truncation by the owner cannot raise SIGBUS
// here), System V segments through a read-only attachment copied out with
// Mapping.read() (a segment cannot shrink under an attachment).
import { SysvSegment } from '@shmkit/sysv-shm';
import { CommandError } from '../errors';
import type { IpcObject } from '../model';
import { openRegularFile } from './files';

/** An object opened for reading its bytes. */
export interface ObjectBytes {
  /** Its size when opened. */
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer at the end). */
  read(offset: number, length: number): Buffer;
  close(): void;
}

/** Opens the bytes of a shared memory object or named semaphore. */
export function openBytes(object: IpcObject): ObjectBytes {
  switch (object.type) {
    case 'posix-shm':
    case 'posix-sem': {
      const file = openRegularFile(object.path);
      return {
        size: Number(file.stat.size),
        read: (o, n) => file.read(o, n),
        close: () => file.close(),
      };
    }
    case 'sysv-shm': {
      // shmat(SHM_RDONLY): a read-only mapping without a buffer, read by copy.
      // It counts in nattch (and sets lpid) while it lasts.
      const attachment = SysvSegment.fromId(object.id).attach({ readOnly: true });
      return {
        size: attachment.byteLength,
        read: (offset, length) => {
          const end = Math.min(attachment.byteLength, offset + length);
          return offset >= end ? Buffer.alloc(0) : attachment.read(offset, end - offset);
        },
        close: () => attachment.detach(),
      };
    }
    default:
      throw new CommandError(
        `a ${object.type} has no bytes to show: only shared memory and named semaphores do`,
      );
  }
}
