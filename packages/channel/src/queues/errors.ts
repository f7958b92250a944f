// The one system error the TypeScript side of the kernel queues makes itself:
// a wait that ran out of time. It reads like the native errors, as
// mq_timedsend and mq_timedreceive would report it.
import type { SystemError } from '@shmkit/core';
import { systemError } from '@shmkit/core/internal';

/** What a queue error is about: a POSIX queue's name or a System V queue's id. */
export type QueueSubject = { ipcName: string } | { id: number };

/**
 * `ETIMEDOUT: connection timed out, mq_timedreceive '/q' (no message came
 * within 50 ms)`, or `..., msgrcv id 3 (...)` for a System V queue.
 */
export function timedOut(syscall: string, subject: QueueSubject, hint: string): SystemError {
  const error =
    'ipcName' in subject
      ? systemError('ETIMEDOUT', syscall, { ipcName: subject.ipcName, note: hint })
      : Object.assign(
          systemError('ETIMEDOUT', syscall, { detail: `id ${subject.id}`, note: hint }),
          { id: subject.id },
        );
  error.hint = hint;
  return error;
}
