// Helpers for tests that cross process boundaries: node children, small C
// programs compiled on the fly, and names unique to one test run.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra arguments, visible to the script as process.argv.slice(2)... */
  args?: string[];
  /** Working directory: module resolution starts here. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (`--expose-gc`). */
  nodeArgs?: string[];
  /** Kill the child after this many ms. Default 60 s. */
  timeout?: number;
  /** Run through a shell wrapper, e.g. ['prlimit', '--memlock=0:0', '--']. */
  wrapper?: string[];
  input?: string;
}

function collect(child: ChildProcess, timeout: number, input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function nodeCommand(code: string, esm: boolean, options: RunOptions): [string, string[]] {
  const args = [...(options.nodeArgs ?? [])];
  if (esm) args.push('--input-type=module');
  args.push('-e', code, '--', ...(options.args ?? []));
  if (options.wrapper?.length) {
    const [cmd, ...rest] = options.wrapper;
    return [cmd!, [...rest, process.execPath, ...args]];
  }
  return [process.execPath, args];
}

/** Runs `code` (an ES module) in a new node process and collects its output. */
export function runNode(code: string, options: RunOptions = {}): Promise<RunResult> {
  const [cmd, args] = nodeCommand(code, true, options);
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  return collect(child, options.timeout ?? 60_000, options.input);
}

/** Runs `code` as a CommonJS script in a new node process. */
export function runNodeCjs(code: string, options: RunOptions = {}): Promise<RunResult> {
  const [cmd, args] = nodeCommand(code, false, options);
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  return collect(child, options.timeout ?? 60_000, options.input);
}

/** Starts `code` (an ES module) in a node process and returns it running. */
export function spawnNode(code: string, options: RunOptions & SpawnOptions = {}): ChildProcess {
  const [cmd, args] = nodeCommand(code, true, options);
  return spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
}

/** Runs a program and collects its output. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  return collect(child, options.timeout ?? 60_000, options.input);
}

/** Waits until `child` prints a line matching `pattern`; resolves with the match. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeout = 20_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        done();
        resolve(match);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`process exited (${code}) before printing ${pattern}; output:\n${seen}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen}`));
    }, timeout);
    function done() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

const cDir = join(tmpdir(), `shmkit-c-${process.getuid?.() ?? 'u'}`);

/**
 * Compiles a C program with cc and returns the binary's path. Binaries are
 * cached by source hash, so repeated runs compile once.
 */
export function compileC(source: string, libs: string[] = []): string {
  mkdirSync(cDir, { recursive: true });
  const hash = createHash('sha256')
    .update(source)
    .update(libs.join(' '))
    .digest('hex')
    .slice(0, 16);
  const bin = join(cDir, `prog-${hash}`);
  if (existsSync(bin)) return bin;
  const src = `${bin}.c`;
  writeFileSync(src, source);
  const tmpBin = `${bin}.${process.pid}.tmp`;
  const result = spawnSync('cc', ['-O2', '-Wall', '-o', tmpBin, src, ...libs], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`cc failed:\n${result.stderr}`);
  spawnSync('mv', ['-f', tmpBin, bin]);
  return bin;
}

let counter = 0;

/** A name unique to this process and call: `${prefix}-<pid>-<n>-<random>`. */
export function uniqueName(prefix = 'shmkit-test'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A System V key unlikely to collide with anything else on the machine. */
export function uniqueKey(): number {
  counter += 1;
  return (0x5a000000 | ((process.pid & 0xffff) << 8) | (counter & 0xff)) >>> 0;
}

/** Resident set size of a process in bytes, from /proc. */
export function rssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** True when running as root (most tests that change users need it). */
export const isRoot = process.getuid?.() === 0;
