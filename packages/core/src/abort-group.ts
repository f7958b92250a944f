// One abort group per AbortSignal, shared by every package that waits in
// the native wait engine: one 'abort' listener per signal however many
// waits share it (hundreds of waits on one signal would otherwise trip
// Node's MaxListenersExceededWarning). The engine rejects the group's
// pending waits itself, with an AbortError caused by the signal's reason.
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
