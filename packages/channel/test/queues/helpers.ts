// Every queue a test makes is tracked here and removed after the test,
// whether it passed or not.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueName } from '@shmkit/testing';
import { afterEach } from 'vitest';
import { isSystemError, PosixMessageQueue, SysvMessageQueue } from '../../src/index';

const names = new Set<string>();
const ids = new Set<number>();

/** A fresh POSIX queue name, unlinked after the test. */
export function mqName(tag = 'mq'): string {
  const name = `/${uniqueName(`shmkit-${tag}`)}`;
  names.add(name);
  return name;
}

/** Unlinks `name` after the test. */
export function trackName(name: string): string {
  names.add(name);
  return name;
}

/** Remembers a System V queue (or its id) for removal after the test. */
export function track<T extends SysvMessageQueue | number>(queue: T): T {
  ids.add(typeof queue === 'number' ? queue : queue.id);
  return queue;
}

function gone(error: unknown, codes: string[]): boolean {
  return isSystemError(error) && codes.includes(error.code);
}

export function removeTracked(): void {
  for (const name of names) {
    try {
      PosixMessageQueue.unlink(name);
    } catch (error) {
      if (!gone(error, ['ENOENT'])) throw error;
    }
  }
  names.clear();
  for (const id of ids) {
    try {
      SysvMessageQueue.fromId(id).remove();
    } catch (error) {
      if (!gone(error, ['EINVAL', 'EIDRM'])) throw error;
    }
  }
  ids.clear();
}

afterEach(removeTracked);

// vitest provides __dirname for test files (import.meta would not typecheck
// under this package's CommonJS settings).
export const pkgDir = join(__dirname, '../..');

/** The error `fn` throws; fails the test if it returns. */
export function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejected(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** Runs a child as the unprivileged user nobody. */
export const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

/** Native threads of this process right now. */
export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const SYSCALLS: Record<string, Record<string, number>> = {
  x64: {
    msgrcv: 70,
    msgsnd: 69,
    mq_timedsend: 242,
    mq_timedreceive: 243,
    nanosleep: 35,
    clock_nanosleep: 230,
    ppoll: 271,
  },
  arm64: {
    msgrcv: 188,
    msgsnd: 189,
    mq_timedsend: 182,
    mq_timedreceive: 183,
    nanosleep: 101,
    clock_nanosleep: 115,
    ppoll: 73,
  },
};

/**
 * True when the main thread of `pid` is asleep in one of `calls` right now
 * (/proc/<pid>/syscall): how a test knows a child has really started to wait.
 */
export function blockedIn(pid: number, calls: string[]): boolean {
  const numbers = SYSCALLS[process.arch];
  if (numbers === undefined) throw new Error(`no syscall numbers for ${process.arch}`);
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/syscall`, 'utf8');
  } catch {
    return false;
  }
  const current = Number(line.split(' ')[0]);
  return calls.some((call) => numbers[call] === current);
}

/** Polls `condition` every 5 ms until it holds; throws after `timeout` ms. */
export async function until(condition: () => boolean, timeout = 20_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Collects a spawned child's output until it exits. */
export function collect(
  child: ChildProcess,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}
