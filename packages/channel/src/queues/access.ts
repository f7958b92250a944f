// How a kernel queue is opened: for reading, writing or both.
import { invalidArgValue } from '@shmkit/core/internal';

/** Which way a queue is opened: O_RDONLY, O_WRONLY or O_RDWR. */
export type QueueAccess = 'read' | 'write' | 'readwrite';

/** The native code of each access. */
export const ACCESS_CODE = { read: 0, write: 1, readwrite: 2 } as const;

/** An optional access; 'readwrite' when undefined. */
export function validateAccess(value: unknown, name: string): QueueAccess {
  if (value === undefined) return 'readwrite';
  if (value === 'read' || value === 'write' || value === 'readwrite') return value;
  throw invalidArgValue(name, "must be 'read', 'write' or 'readwrite'", value);
}
