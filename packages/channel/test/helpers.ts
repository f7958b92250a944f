// Names unlinked after every test, children killed after every test, and
// small helpers for tests that run node children against a channel.
import type { ChildProcess } from 'node:child_process';
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

/** A running node child (an ES module run from the package directory). */
export function child(code: string, args: string[] = []): ChildProcess {
  return killAfterTest(spawnNode(code, { cwd: pkgDir, args }));
}

/** Collects a child's output until it exits. */
export function finished(proc: ChildProcess, timeout = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
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

/** Resolves once `proc` exits. */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}
