// One 'abort' listener per AbortSignal, however many waits share it
// (hundreds of waits on one signal would otherwise trip Node's
// MaxListenersExceededWarning), for every package: native waits join the
// signal's abort group (the engine rejects them itself, with an AbortError
// caused by the signal's reason); JS-side waits (FIFO reads, timers)
// subscribe a callback.
import { native } from './loader';

const groups = new WeakMap<AbortSignal, number>();

/** The engine's group for `signal` (made, with its one listener, on first use). */
export function abortGroup(signal: AbortSignal): number {
  let group = groups.get(signal);
  if (group === undefined) {
    const id = native.waitGroup();
    group = id;
    groups.set(signal, id);
    signal.addEventListener('abort', () => native.waitAbort(id, signal.reason), { once: true });
  }
  return group;
}

const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `callback` once when `signal` aborts, through the signal's one
 * listener; the returned function unsubscribes (call it when the wait ends).
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let set = callbacks.get(signal);
  if (set === undefined) {
    const subscribers = new Set<() => void>();
    set = subscribers;
    callbacks.set(signal, subscribers);
    signal.addEventListener(
      'abort',
      () => {
        callbacks.delete(signal);
        for (const cb of subscribers) cb();
      },
      { once: true },
    );
  }
  set.add(callback);
  const subscribers = set;
  return () => subscribers.delete(callback);
}
