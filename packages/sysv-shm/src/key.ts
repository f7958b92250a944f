import {
  invalidArgType,
  native,
  outOfRange,
  validateInteger,
  validateString,
} from '@shmkit/core/internal';

/**
 * The key that always creates a new segment, found afterwards only by its id
 * (`SysvSegment.fromId`) or inherited by child processes. Value 0.
 */
export const IPC_PRIVATE = 0;

/** The largest System V key: keys are the 32 bits of a C `key_t`, as unsigned numbers. */
export const MAX_KEY = 0xffffffff;

/**
 * Checks that `value` is a System V key: a whole number from 0 to 2^32-1.
 * A negative `key_t` from C (say -1) is the same key as its unsigned value
 * (`-1 >>> 0`, 0xffffffff); pass that.
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE when not a number.
 * @throws RangeError ERR_OUT_OF_RANGE when not a whole number in range.
 */
export function validateKey(value: unknown, name = 'key'): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < 0 || value > MAX_KEY) {
    throw outOfRange(name, `an integer >= 0 && <= 0xffffffff`, value);
  }
  return value;
}

/** A key as `ipcs` shows it: `0x` and eight hex digits (`0x01020304`). */
export function formatKey(key: number): string {
  return `0x${validateKey(key).toString(16).padStart(8, '0')}`;
}

/**
 * ftok(3): the key that C programs calling `ftok(path, projId)` get, so a
 * Node process and a C process meet at the same segment by agreeing on a
 * file and a project id.
 *
 * The key mixes the low 8 bits of `projId`, the low 8 bits of the file's
 * device and the low 16 bits of its inode: two different files can share a
 * key, and a file deleted and re-created gets a new one.
 *
 * @param path - An existing file or directory.
 * @param projId - 1 to 255 (ftok uses only 8 bits, and 0 is reserved by convention).
 * @throws SystemError ENOENT/EACCES (syscall 'ftok', with `path`) when the file cannot be stat'ed.
 * @throws RangeError ERR_OUT_OF_RANGE for a projId outside 1..255.
 */
export function ftok(path: string, projId: number): number {
  validateString(path, 'path');
  validateInteger(projId, 'projId', 1, 255);
  return native.sysvFtok(path, projId);
}
