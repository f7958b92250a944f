// Async calls on one end run one after the other, in call order, so that
// messages keep the order they were given in (and are taken in the order
// asked for). A call waiting its turn still honours its own timeout and
// AbortSignal: it gives up in the queue without ever running.
import { abortError } from '@shmkit/core/internal';
import type { Wait } from './wait-options';

export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  /** Calls queued or running. Zero means a sync call may go ahead. */
  get size(): number {
    return this.#waiting;
  }

  /**
   * Runs `job` after every job queued before it. If `wait`'s deadline passes
   * or its signal aborts before the job's turn, it never runs: the result
   * is `timedOut`, or an AbortError.
   */
  run<T>(job: () => Promise<T>, wait: Wait, timedOut: T): Promise<T> {
    this.#waiting++;
    let state: 'queued' | 'running' | 'dropped' = 'queued';
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const signal = wait.signal;
    const cleanUp = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    };
    return new Promise<T>((resolve, reject) => {
      const drop = (settle: () => void): void => {
        if (state !== 'queued') return;
        state = 'dropped';
        this.#waiting--;
        cleanUp();
        settle();
      };
      if (wait.deadline !== Infinity) {
        const ms = Math.max(0, wait.deadline - performance.now());
        timer = setTimeout(() => drop(() => resolve(timedOut)), Math.min(ms, 2 ** 31 - 1));
      }
      if (signal !== undefined) {
        onAbort = () => drop(() => reject(abortError(signal)));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const turn = async (): Promise<void> => {
        if (state !== 'queued') return;
        state = 'running';
        cleanUp();
        try {
          resolve(await job());
        } catch (error) {
          reject(error);
        } finally {
          // Before the caller's continuation runs: it sees the queue empty.
          this.#waiting--;
        }
      };
      this.#tail = this.#tail.then(turn, turn);
    });
  }
}
