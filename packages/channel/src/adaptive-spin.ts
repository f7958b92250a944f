// How long a sync receive without `spin` re-checks the ring before it
// sleeps, learnt from how long its recent waits took (like an adaptive
// mutex). While messages come within a fraction of a millisecond of a wait
// starting, a futex sleep and the wake-up it costs the sender take longer
// than the wait: spinning pays. Otherwise it costs CPU for nothing.

/**
 * The longest it spins, ms: a few times what a futex sleep and the
 * sender's wake-up cost on a virtual machine. Waits that take longer than
 * this on average make it stop spinning.
 */
export const ADAPTIVE_SPIN_MS = 0.25;

export class AdaptiveSpin {
  /** Average ms recent waits took until their message came; 0 = none yet. */
  #recent = 0;

  /** How long the next wait should re-check before sleeping, ms (0: sleep at once). */
  budget(): number {
    const recent = this.#recent;
    return recent === 0 || recent > ADAPTIVE_SPIN_MS ? 0 : Math.min(2 * recent, ADAPTIVE_SPIN_MS);
  }

  /** A wait found its message `ms` after it began (by spinning or sleeping). */
  waited(ms: number): void {
    this.#recent = this.#recent === 0 ? ms : (3 * this.#recent + ms) / 4;
  }

  /**
   * A wait ran out of time with no message: the stream has paused (or this
   * is a poll with a short timeout), so stop spinning until waits are short
   * again. One short wait brings it back.
   */
  missed(): void {
    this.#recent = Math.max(this.#recent, ADAPTIVE_SPIN_MS) * 1.01;
  }
}
