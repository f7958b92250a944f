// Timers of any length. Node's setTimeout takes at most 2^31 - 1 ms and
// turns anything longer into 1 ms (with a TimeoutOverflowWarning), so a
// "wait a month" timeout would fire at once; these chain shorter timers
// instead, and treat a timeout too far away to matter as none.

/** The longest delay setTimeout honours. */
const MAX_DELAY = 0x7fff_ffff;
/** Beyond this (about 317 years) a timeout is practically forever. */
const FOREVER = 1e13;

/** A pending timer made by {@link setLongTimeout}. */
export interface LongTimer {
  clear(): void;
}

/**
 * Calls `callback` once after `ms` milliseconds (any size; Infinity and
 * anything over about 317 years never fire). The timer does not keep the
 * process alive when `ref` is false.
 */
export function setLongTimeout(callback: () => void, ms: number, ref = true): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  if (!(ms < FOREVER)) return { clear: () => undefined };
  const due = performance.now() + ms;
  const arm = (): void => {
    if (cleared) return;
    const left = due - performance.now();
    if (left <= 0) {
      callback();
      return;
    }
    timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_DELAY));
    if (!ref) timer.unref();
  };
  arm();
  return {
    clear() {
      cleared = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
