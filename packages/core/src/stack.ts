// Errors point at the user's call, not at shmkit's insides: the stack of
// every error shmkit makes (in TypeScript or natively) starts at the first
// frame outside shmkit's own files. Node does the same for its validators
// with hideStackFrames; a library spread over packages cannot name the one
// public function to cut at, so it cuts at the files it knows as its own.
import { sep } from 'node:path';

/** Folders whose files are shmkit's own: each package's build output. */
const internalDirs = new Set<string>([__dirname + sep]);

/**
 * Marks the files under `dir` (a package's own `__dirname`) as shmkit's,
 * so their frames are left out of the stacks of shmkit's errors.
 */
export function hideFramesIn(dir: string): void {
  internalDirs.add(dir.endsWith(sep) ? dir : dir + sep);
}

function isInternal(site: NodeJS.CallSite): boolean {
  const file = site.getFileName();
  if (!file) return false;
  for (const dir of internalDirs) if (file.startsWith(dir)) return true;
  return false;
}

/** The call sites above `cut`, V8's structured form of a stack. */
function callSites(cut: (...args: never[]) => unknown): NodeJS.CallSite[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  const probe: { stack?: unknown } = {};
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.stackTraceLimit = Infinity;
    Error.captureStackTrace(probe, cut);
    return Array.isArray(probe.stack) ? (probe.stack as NodeJS.CallSite[]) : [];
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/**
 * Re-captures `error`'s stack from where it is thrown so that it starts at
 * the first frame outside shmkit, with as many frames as
 * `Error.stackTraceLimit` asks for. Formatting stays V8's (and whatever
 * `Error.prepareStackTrace` the program installed); if the result does not
 * look like a V8 stack, the full one is kept.
 */
export function pointAtCaller<E extends Error>(error: E): E {
  const limit = Error.stackTraceLimit;
  if (!(limit > 0)) return error;
  const sites = callSites(pointAtCaller);
  const hidden = sites.findIndex((site) => !isInternal(site));
  // -1: nothing but shmkit on the stack (a callback from native code with
  // no user frame to show); 0: the error was made in user code.
  if (hidden <= 0) return error;
  Error.stackTraceLimit = limit + hidden;
  try {
    Error.captureStackTrace(error, pointAtCaller);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const stack = error.stack;
  if (typeof stack !== 'string') return error;
  const lines = stack.split('\n');
  const frames = Math.min(sites.length, limit + hidden);
  const first = lines.length - frames;
  if (first < 1 || !lines.slice(first, first + hidden).every((l) => l.startsWith('    at '))) {
    return error;
  }
  lines.splice(first, hidden);
  error.stack = lines.join('\n');
  return error;
}
