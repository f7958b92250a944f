// The one file that reaches below @shmkit/sync's public API: the futex wake
// by bound address (the hot wake-up), and the calling thread's id. Waiting
// itself goes through the public futexWait/futexWaitAsync, whatever engine
// sits under them.
import { native } from '@shmkit/core/internal';
import { futexWait, futexWaitAsync, type FutexWaitResult } from '@shmkit/sync';

const ALL = 0x7fff_ffff;

/**
 * A futex word in a channel's header, its address bound once so that a
 * wake-up is one native call with two numbers.
 */
export class WakeWord {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #address: number;

  constructor(words: Int32Array, index: number) {
    this.#words = words;
    this.#index = index;
    this.#address = native.syncAddressOf(words, index);
  }

  /** Wakes every thread asleep on the word. No-op once the memory is unmapped. */
  wake(): void {
    if (this.#words.length !== 0) native.syncFutexWake(this.#address, ALL);
  }

  /** Sleeps while the word holds `expected`, at most `timeout` ms. */
  wait(expected: number, timeout: number): FutexWaitResult {
    return futexWait(this.#words, this.#index, expected, timeout);
  }

  /** {@link WakeWord.wait} without blocking the thread. */
  waitAsync(
    expected: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<FutexWaitResult> {
    return futexWaitAsync(
      this.#words,
      this.#index,
      expected,
      signal === undefined ? { timeout } : { timeout, signal },
    );
  }
}

/** The kernel thread id of the calling JS thread. */
export function threadId(): number {
  return native.syncGettid();
}
