// Names unlinked after every test, children killed after every test, and
// small helpers for tests that run node children against a channel.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { PosixShm } from '@shmkit/posix-shm';
import { spawnNode, uniqueName, waitForLine, type RunResult } from '@shmkit/testing';

/** The package directory: children resolve '@shmkit/channel' from here. */
export const pkgDir = join(__dirname, '..');

const names: string[] = [];
const children: ChildProcess[] = [];

/** A fresh channel name, unlinked after the test. */
export function channelName(prefix = 'shmkit-chan'): string {
  const name = `/${uniqueName(prefix)}`;
  names.push(name);
  return name;
}

/** Kills `child` (SIGKILL) after the test, whatever happened. */
export function killAfterTest<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const name of names.splice(0)) {
    try {
      PosixShm.unlink(name);
    } catch {
      // removed by the test
    }
  }
  // Channel.create links a temporary object into place; none may be left.
  const stale = readdirSync('/dev/shm').filter((f) =>
    f.startsWith(`.shmkit-channel-${process.pid}-`),
  );
  expect(stale).toEqual([]);
});

/** A running child and the promise of its output, collected from the start. */
export interface Started {
  proc: ChildProcess;
  result: Promise<RunResult>;
  /** Resolves once the child's stdout so far matches `pattern`. */
  line(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>;
}

/** Starts `file` (a node script) with `args` from the package directory. */
export function startNode(file: string, args: (string | number)[], timeout = 60_000): Started {
  const proc = killAfterTest(spawn(process.execPath, [file, ...args.map(String)], { cwd: pkgDir }));
  return started(proc, timeout);
}

/** Starts any program. */
export function startProgram(file: string, args: (string | number)[], timeout = 60_000): Started {
  const proc = killAfterTest(spawn(file, args.map(String), { cwd: pkgDir }));
  return started(proc, timeout);
}

/** Starts `code` (an ES module) from the package directory. */
export function startCode(
  code: string,
  args: string[] = [],
  timeout = 60_000,
  nodeArgs: string[] = [],
): Started {
  const proc = killAfterTest(spawnNode(code, { cwd: pkgDir, args, nodeArgs }));
  return started(proc, timeout);
}

function started(proc: ChildProcess, timeout: number): Started {
  let seen = '';
  const waiters = new Set<() => void>();
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    seen += d;
    for (const w of [...waiters]) w();
  });
  const result = collect(proc, timeout);
  const line = (pattern: RegExp, wait = 20_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = seen.match(pattern);
        if (match === null) return;
        done();
        resolve(match);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen}`));
      }, wait);
      const onExit = (): void => {
        setImmediate(() => {
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`child exited before printing ${pattern}; output:\n${seen}`));
        });
      };
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        proc.off('exit', onExit);
      };
      waiters.add(check);
      proc.on('exit', onExit);
      check();
    });
  return { proc, result, line };
}

function collect(proc: ChildProcess, timeout: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (d: string) => (stdout += d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(`child did not finish in ${timeout} ms; stdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeout);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Asserts a clean exit and returns stdout. */
export function expectClean(result: RunResult): string {
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({
    code: 0,
    signal: null,
    stderr: '',
  });
  return result.stdout;
}

export { waitForLine };

/** The last line of a child's output, parsed as JSON. */
export function lastJson<T = unknown>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}

/** Resolves once `proc` exits. */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}
