// The wait and waitAsync of both sem_t kinds (Semaphore, NamedSemaphore):
// options read once, the handle asked for after that (a closed semaphore
// fails then), and the wait itself in the native engine, which takes the
// unit with glibc's protocol on the semaphore's words.
import { native } from '@shmkit/core/internal';
import type { SemHandle } from '@shmkit/core/internal';
import {
  parseWaitOptions,
  remaining,
  tryThenWait,
  type AsyncWaitOptions,
  type WaitOptions,
} from './wait';

/** Options of a blocking semaphore wait. */
export type SemaphoreWaitOptions = WaitOptions;

/** Options of a Promise-returning semaphore wait. */
export type SemaphoreWaitAsyncOptions = AsyncWaitOptions;

/** `wait` of a sem_t. `live` gives the handle or throws when closed. */
export function semWait(live: () => SemHandle, options: SemaphoreWaitOptions | undefined): boolean {
  const { deadline, spin } = parseWaitOptions(options, false);
  return native.semWait(live(), remaining(deadline), spin);
}

/** `waitAsync` of a sem_t; every error is a rejection, none is thrown. */
export function semWaitAsync(
  live: () => SemHandle,
  options: SemaphoreWaitAsyncOptions | undefined,
): Promise<boolean> {
  let handle: SemHandle;
  let wait: ReturnType<typeof parseWaitOptions>;
  try {
    wait = parseWaitOptions(options, true);
    handle = live();
  } catch (error) {
    return Promise.reject(error);
  }
  return tryThenWait(
    wait,
    () => (native.semTryWait(handle) ? true : undefined),
    false,
    (timeout, group, flags) => native.semWaitAsync(handle, timeout, group, flags, wait.spin),
  );
}
