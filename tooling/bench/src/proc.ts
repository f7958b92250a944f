// Child processes for the two-process cases. Every peer runs the built
// child.js entry (`node dist/child.js <peer> <json args>`), so peers are
// typed code in the case modules, not strings of JS.
import { fork, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const childEntry = fileURLToPath(new URL('./child.js', import.meta.url));

export interface PeerOptions {
  /** Use fork (adds the IPC channel) instead of spawn. */
  ipc?: boolean;
  /** With `ipc`: how messages are serialized ('advanced' sends Buffers as bytes). */
  serialization?: 'json' | 'advanced';
  stdio?: StdioOptions;
  /** The peer's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Node options for the peer, such as `--expose-gc`. */
  execArgv?: string[];
}

/** Starts `peer` (a name registered in child.ts) with JSON-serialisable args. */
export function spawnPeer(peer: string, args: unknown, options: PeerOptions = {}): ChildProcess {
  const argv = [peer, JSON.stringify(args ?? null)];
  const env = options.env ?? process.env;
  if (options.ipc === true) {
    return fork(childEntry, argv, {
      stdio: options.stdio ?? ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(options.serialization === undefined ? {} : { serialization: options.serialization }),
      env,
      ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv }),
    });
  }
  return spawn(process.execPath, [...(options.execArgv ?? []), childEntry, ...argv], {
    stdio: options.stdio ?? ['ignore', 'pipe', 'inherit'],
    env,
  });
}

/** Resolves with the first stdout line of `child` matching `pattern`. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  const out = child.stdout;
  if (out === null) return Promise.reject(new Error('child has no stdout pipe'));
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => done(new Error(`timed out waiting for ${String(pattern)}; got: ${text}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      for (const line of text.split('\n')) if (pattern.test(line)) return done(undefined, line);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`child exited (${String(code)}) before ${String(pattern)}; got: ${text}`));
    function done(error: Error | undefined, line?: string): void {
      clearTimeout(timer);
      out?.off('data', onData);
      child.off('exit', onExit);
      if (error !== undefined) reject(error);
      else resolve(line ?? '');
    }
    out.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Resolves with the exit code once `child` has exited (at once if it already has). */
export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Kills children that are still running; used in finally blocks. */
export function killAll(children: Iterable<ChildProcess>): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Kills children that are still running and waits until they are gone, so
 * their teardown does not overlap the next measurement.
 */
export async function reap(children: ChildProcess[]): Promise<void> {
  killAll(children);
  await Promise.all(children.map(waitForExit));
}
