// A sleep that an AbortSignal cuts short: the transports' retry loops wait
// with it so that Ctrl-C ends them at once.

/** Resolves after `ms`, or at once (false) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    function onAbort() {
      done(false);
    }
    function done(elapsed: boolean) {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(elapsed);
    }
  });
}
