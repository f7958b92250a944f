// The one system error the TypeScript side of the kernel queues makes itself:
// a wait that ran out of time. It has the shape of the native errors.
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type { SystemError } from '@shmkit/core';

/** What a queue error is about: a POSIX queue's name or a System V queue's id. */
export type QueueSubject = { ipcName: string } | { id: number };

/**
 * ETIMEDOUT, as mq_timedsend and mq_timedreceive report it: `syscall`
 * ETIMEDOUT: connection timed out, name '/q' (no message came within 50 ms).
 */
export function timedOut(syscall: string, subject: QueueSubject, hint: string): SystemError {
  const errno = -constants.errno.ETIMEDOUT;
  const description = getSystemErrorMap().get(errno)?.[1] ?? 'connection timed out';
  const about = 'ipcName' in subject ? `name '${subject.ipcName}'` : `id ${subject.id}`;
  const error = new Error(`${syscall} ETIMEDOUT: ${description}, ${about} (${hint})`);
  return Object.assign(error, { code: 'ETIMEDOUT', errno, syscall, ...subject, hint });
}
