// Which backend of the wait engine carries a process's async waits, and the
// environment that makes a child process use a lesser one.
import { native } from '@shmkit/core/internal';

export type WaitBackend = 'io_uring' | 'futex_waitv' | 'pool';

/**
 * What a row runs on: the backend the engine picks by itself on this
 * machine (io_uring on Linux 6.7+), or futex_waitv forced, which is what
 * Linux 5.16 to 6.6 (or a policy without io_uring) gets.
 */
export type BackendChoice = 'default' | 'futex_waitv';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['default', 'futex_waitv'];

/** The backend the engine picks in this process (SHMKIT_WAIT_BACKEND included). */
export function currentBackend(): WaitBackend {
  return native.waitInfo().backend;
}

/** The backend a child started for `choice` is expected to report. */
export function expectedBackend(choice: BackendChoice): WaitBackend {
  return choice === 'default' ? currentBackend() : choice;
}

/** The environment of a child process that must run its async waits on `choice`. */
export function backendEnv(choice: BackendChoice): NodeJS.ProcessEnv {
  return choice === 'default' ? process.env : { ...process.env, SHMKIT_WAIT_BACKEND: choice };
}

/** Short for ids: '' for the default backend, '-waitv' for the forced one. */
export function backendSuffix(choice: BackendChoice): string {
  return choice === 'default' ? '' : '-waitv';
}
