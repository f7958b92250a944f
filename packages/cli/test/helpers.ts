// Running the built `shmkit` bin in child processes, and making (and
// always removing) the objects it is tested against.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, uniqueName, waitForLine, type RunResult } from '@shmkit/testing';
import { afterEach, expect } from 'vitest';
import type { IpcObject, LsJson } from '../src/index';

export const pkgDir = join(__dirname, '..');
export const bin = join(pkgDir, 'dist/main.js');

/** setpriv to nobody: what an unprivileged user sees. */
export const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

export interface ShmkitOptions {
  env?: NodeJS.ProcessEnv;
  /** Run through this command first (e.g. {@link asNobody}). */
  wrapper?: string[];
  input?: string;
}

/**
 * Runs `shmkit args...` and collects its output. NO_COLOR, FORCE_COLOR and
 * COLUMNS are unset unless the test sets them (vitest sets FORCE_COLOR).
 */
export function shmkit(args: string[], options: ShmkitOptions = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'COLUMNS']) delete env[name];
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const [cmd, ...rest] = [...(options.wrapper ?? []), process.execPath, bin, ...args];
  return collect(spawn(cmd!, rest, { env, stdio: 'pipe' }), options.input);
}

function collect(child: ChildProcess, input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

/** `shmkit ls --json [args]`, which must succeed. */
export async function lsJson(args: string[] = [], options: ShmkitOptions = {}): Promise<LsJson> {
  const result = await shmkit(['ls', '--json', ...args], options);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as LsJson;
}

/** The listed object of `type` called `name` (or with `id`). */
export function find<T extends IpcObject['type']>(
  json: LsJson,
  type: T,
  match: { name?: string; id?: number },
): Extract<IpcObject, { type: T }> | undefined {
  return json.objects.find(
    (o) =>
      o.type === type &&
      (match.name === undefined || o.name === match.name) &&
      (match.id === undefined || ('id' in o && o.id === match.id)),
  ) as Extract<IpcObject, { type: T }> | undefined;
}

// ---------------------------------------------------------------------------
// Objects made for a test, removed after it whatever happened.

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // already gone
    }
  }
});

/** Registers `fn` to run after the current test. */
export function later(fn: () => void): void {
  cleanups.push(fn);
}

/** A unique POSIX name ('/shmkit-cli-...'), its /dev/shm file and semaphore file removed after the test. */
export function posixName(prefix = 'shmkit-cli'): string {
  const name = `/${uniqueName(prefix)}`;
  later(() => rmSync(`/dev/shm${name}`, { force: true }));
  later(() => rmSync(`/dev/shm/sem.${name.slice(1)}`, { force: true }));
  return name;
}

/** Removes System V objects by id after the test (ipcrm, as any user would). */
export function removeLater(kind: 'shm' | 'sem' | 'msg', id: number): number {
  const flag = { shm: '-m', sem: '-s', msg: '-q' }[kind];
  later(() => spawnSync('ipcrm', [flag, String(id)]));
  return id;
}

/** Runs ipcmk and returns the id it made (removed after the test). */
export function ipcmk(args: string[]): number {
  const made = spawnSync('ipcmk', args, { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  const id = Number(/id: (\d+)/.exec(made.stdout)?.[1]);
  const kind =
    args.includes('-M') || args.includes('--shmem')
      ? 'shm'
      : args.includes('-S') || args.includes('--semaphore')
        ? 'sem'
        : 'msg';
  return removeLater(kind, id);
}

/** A long-running helper process, killed after the test. */
export function keep<T extends ChildProcess>(child: T): T {
  later(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Starts `/usr/bin/python3 -c code args...` (Debian's, which has sysv_ipc). */
export function python(code: string, args: string[] = [], wrapper: string[] = []): ChildProcess {
  const [cmd, ...rest] = [...wrapper, '/usr/bin/python3', '-c', code, ...args];
  return keep(spawn(cmd!, rest, { stdio: 'pipe' }));
}

/** Starts a program and waits for its `ready` line; returns the match groups. */
export async function started(
  child: ChildProcess,
  pattern = /ready (\d+)(?: (\d+))?/,
): Promise<RegExpMatchArray> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    return await waitForLine(child, pattern);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nstderr: ${stderr}`);
  }
}

/** Waits until `child` has exited (and been reaped). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** /proc/sysvipc/shm rows, by id, for cross-checks. */
export function sysvipc(kind: 'shm' | 'sem' | 'msg'): Array<Record<string, string>> {
  const [header, ...rows] = readFileSync(`/proc/sysvipc/${kind}`, 'utf8').trim().split('\n');
  const names = header!.trim().split(/\s+/);
  return rows.map((row) =>
    Object.fromEntries(
      row
        .trim()
        .split(/\s+/)
        .map((v, i) => [names[i], v]),
    ),
  );
}

/** Creates a POSIX object (mapped, fd closed), a named semaphore (value 3) and an attached System V segment, then waits. */
export const HOLDER_C = String.raw`
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_CREAT | O_EXCL | O_RDWR, 0640);
  if (fd < 0) { perror("shm_open"); return 1; }
  size_t size = strtoul(argv[2], 0, 10);
  if (ftruncate(fd, size) != 0) { perror("ftruncate"); return 1; }
  if (mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED) { perror("mmap"); return 1; }
  close(fd);
  if (sem_open(argv[3], O_CREAT | O_EXCL, 0600, 3) == SEM_FAILED) { perror("sem_open"); return 1; }
  int id = shmget((key_t)strtoul(argv[4], 0, 16), 12288, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0 || shmat(id, 0, 0) == (void *)-1) { perror("shmget/shmat"); return 1; }
  printf("ready %d %d\n", getpid(), id);
  fflush(stdout);
  pause();
  return 0;
}
`;

export { run, uniqueName };
