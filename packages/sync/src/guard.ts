// The guard both mutex kinds hand out, so `using` unlocks at block end.
// The doc links name Mutex and PthreadMutex without importing them: TypeDoc
// finds both in the package's exports, and an import would tie this file in
// a circle with the two files that import it.
import { syncError } from './wait';

/** What a guard unlocks: a {@link Mutex} or a {@link PthreadMutex}. */
export interface GuardedLock {
  unlock(): void;
  markConsistent(): void;
}

/**
 * Proof of holding a {@link Mutex} or {@link PthreadMutex}: `using guard = mutex.lock()` unlocks at
 * the end of the block. Unlocking twice through a guard does nothing.
 */
export class MutexGuard implements Disposable {
  /**
   * True when the previous owner died holding the lock (pthread's
   * EOWNERDEAD): check the data it protects, then call
   * {@link MutexGuard.markConsistent}, or unlocking makes the mutex
   * unusable (ENOTRECOVERABLE).
   */
  readonly ownerDied: boolean;
  #mutex: GuardedLock | undefined;

  /** @internal Guards come from Mutex.lock, tryLock and lockAsync. */
  constructor(mutex: GuardedLock, ownerDied: boolean) {
    this.#mutex = mutex;
    this.ownerDied = ownerDied;
  }

  /** False once unlocked through this guard. */
  get held(): boolean {
    return this.#mutex !== undefined;
  }

  /** `markConsistent()` on the guarded mutex. */
  markConsistent(): void {
    if (this.#mutex === undefined)
      throw syncError('EPERM', 'mutex_consistent', 'this guard was already unlocked');
    this.#mutex.markConsistent();
  }

  /**
   * Unlocks the mutex; a no-op the second time. When the unlock throws
   * (the mapping was closed or protected meanwhile, or the mutex refused),
   * the guard still holds the lock, so the unlock can be tried again.
   */
  unlock(): void {
    const mutex = this.#mutex;
    if (mutex === undefined) return;
    mutex.unlock();
    this.#mutex = undefined;
  }

  [Symbol.dispose](): void {
    this.unlock();
  }
}
