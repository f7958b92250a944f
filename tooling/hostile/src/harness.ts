// Runs hostile attempts in child processes, so that a crash is a result.
//
// A battery of attempts runs in one node child, one after the other; each
// reports how it ended on stdout before the next starts, and after each one
// the child collects garbage and lets finalizers run, so a crash that only
// happens when V8 frees something is blamed on the attempt that caused it.
// When the child dies (a signal, an abort, an exit) or stops making
// progress, the attempt it was running is recorded as the culprit and a
// fresh child resumes with the next one: one run finds every crasher, not
// only the first.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunOptions } from '@shmkit/testing';

/** What an attempt must do to count as survived. */
export type Expectation =
  /** Return normally. */
  | 'ok'
  /** Return normally, or throw an Error carrying a string `code`. */
  | 'coded'
  /** Throw an Error with exactly this code ('ok' allows returning too). */
  | string
  /** Any one of these codes ('ok' among them allows returning). */
  | readonly string[];

export interface Attempt {
  /** Shown in failures; unique within a battery. */
  name: string;
  /**
   * The body of an async function run in the child, with the prelude's
   * imports and helpers in scope. What it returns (JSON) or throws is its
   * outcome.
   */
  run: string;
  /** Default 'coded': anything but a crash, a hang or an uncoded error. */
  expect?: Expectation;
}

export type OutcomeKind = 'ok' | 'threw' | 'signal' | 'hang' | 'exit';

export interface Outcome {
  name: string;
  kind: OutcomeKind;
  /** For 'threw': the error's code, if it had a string one. */
  code?: string;
  /** For 'threw': the error's constructor name and message. */
  error?: string;
  /** For 'ok': the returned value. */
  value?: unknown;
  /** For 'signal', 'hang' and 'exit': what happened, with the child's stderr. */
  detail?: string;
}

export interface BatteryOptions extends Pick<RunOptions, 'env' | 'wrapper'> {
  /** Code run once per child before the attempts (extra imports, helpers). */
  prelude?: string;
  /** An attempt taking longer than this (ms) is a hang. Default 30 s. */
  attemptTimeout?: number;
  /** Extra node flags. `--expose-gc` is always passed. */
  nodeArgs?: string[];
}

const here = fileURLToPath(new URL('..', import.meta.url));

/** The prefix every name a battery creates starts with (see cleanUp). */
export const PREFIX = `shmkit-hostile-${process.pid}`;

/** Imports and helpers every battery's attempts can use. */
const STANDARD_PRELUDE = String.raw`
import * as core from '@shmkit/core';
import * as internal from '@shmkit/core/internal';
import * as posix from '@shmkit/posix-shm';
import * as mmap from '@shmkit/mmap';
import * as sysv from '@shmkit/sysv-shm';
import * as sync from '@shmkit/sync';
import * as mlock from '@shmkit/mlock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cp from 'node:child_process';
import * as wt from 'node:worker_threads';
const { native } = internal;
const { mapAnonymous, pageSize, Mapping } = core;
const { PosixShm } = posix;
const { mapFile } = mmap;
const { SysvSegment, ftok } = sysv;
const PAGE = pageSize();
const PREFIX = process.env.SHMKIT_HOSTILE_PREFIX;
let serial = 0;
/** A name no other attempt uses: '/PREFIX-tag-n'. */
const unique = (tag = 'x') => '/' + PREFIX + '-' + tag + '-' + process.pid + '-' + (serial++);
/** A fresh private directory (removed by the suite afterwards). */
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), PREFIX + '-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Writes and reads one byte per page of an ArrayBuffer or view (and the last byte). */
function touch(target) {
  // A detached buffer (or a view over one) has no bytes left to touch.
  if (target.byteLength === 0) return 0;
  const bytes = target instanceof ArrayBuffer ? new Uint8Array(target) : new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  for (let i = 0; i < bytes.length; i += PAGE) { bytes[i] = bytes[i] + 1; }
  if (bytes.length > 0) bytes[bytes.length - 1] = 1;
  return bytes.length;
}
/** Touches a Mapping through whatever it offers (buffer, windows, read), ignoring coded refusals. */
function touchMapping(m) {
  let n = 0;
  try { n += touch(m.buffer); } catch (e) { if (typeof e?.code !== 'string') throw e; }
  try { n += touch(m.window(0, Math.min(m.byteLength, 1 << 20))); } catch (e) { if (typeof e?.code !== 'string') throw e; }
  try { n += m.read(0, Math.min(m.byteLength, 1 << 16)).length; } catch (e) { if (typeof e?.code !== 'string') throw e; }
  return n;
}
/** The code fn throws ('ok' if it returns), rethrowing uncoded errors. */
async function codeOf(fn) {
  try { await fn(); return 'ok'; } catch (e) { if (typeof e?.code === 'string') return e.code; throw e; }
}
`;

function childScript(attempts: readonly Attempt[], prelude: string): string {
  const bodies = attempts.map((a) => `async () => {\n${a.run}\n}`).join(',\n');
  return `${STANDARD_PRELUDE}
${prelude}
const __attempts = [${bodies}];
const __say = (o) => fs.writeSync(1, '\\u0002' + JSON.stringify(o) + '\\n');
const __settle = async () => {
  for (let i = 0; i < 2; i++) { await new Promise((r) => setImmediate(r)); globalThis.gc(); await new Promise((r) => setTimeout(r, 0)); }
};
process.on('unhandledRejection', (e) => { __say({ unhandled: String(e?.stack ?? e) }); });
for (let i = Number(process.argv[2]); i < __attempts.length; i++) {
  __say({ start: i });
  let outcome;
  try {
    const value = await __attempts[i]();
    outcome = { kind: 'ok', value: value === undefined ? null : value };
  } catch (e) {
    outcome = { kind: 'threw', code: typeof e?.code === 'string' ? e.code : undefined, error: (e?.constructor?.name ?? typeof e) + ': ' + String(e?.message ?? e) };
  }
  await __settle();
  try { JSON.stringify(outcome); } catch { outcome.value = String(outcome.value); }
  __say({ end: i, ...outcome });
}
__say({ done: true });
process.exit(0);
`;
}

interface ChildReport {
  start?: number;
  end?: number;
  done?: boolean;
  unhandled?: string;
  kind?: OutcomeKind;
  code?: string;
  error?: string;
  value?: unknown;
}

/**
 * Runs every attempt (in as many children as it takes) and returns one
 * outcome per attempt, in order.
 */
export async function runAttempts(
  attempts: readonly Attempt[],
  options: BatteryOptions = {},
): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = attempts.map(() => undefined);
  // A file beside the suite (large batteries do not fit in argv), so that
  // the children resolve @shmkit/* from this package.
  const dir = mkdtempSync(join(here, '.battery-'));
  const file = join(dir, 'battery.mjs');
  writeFileSync(file, childScript(attempts, options.prelude ?? ''));
  const attemptTimeout = options.attemptTimeout ?? 30_000;
  let next = 0;
  try {
    while (next < attempts.length) {
      const argv = [...(options.nodeArgs ?? []), '--expose-gc', file, String(next)];
      const [command, ...args] = [...(options.wrapper ?? []), process.execPath, ...argv];
      const child = spawn(command!, args, {
        cwd: here,
        env: { ...process.env, SHMKIT_HOSTILE_PREFIX: PREFIX, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let running: number | undefined;
      let buffered = '';
      let stderr = '';
      let hung = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          hung = true;
          child.kill('SIGKILL');
        }, attemptTimeout);
      };
      arm();
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        buffered += d;
        let at;
        while ((at = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, at);
          buffered = buffered.slice(at + 1);
          const mark = line.indexOf('\u0002');
          if (mark < 0) continue;
          const report = JSON.parse(line.slice(mark + 1)) as ChildReport;
          if (report.start !== undefined) {
            running = report.start;
            arm();
          } else if (report.end !== undefined) {
            const outcome: Outcome = { name: attempts[report.end]!.name, kind: report.kind! };
            if (report.code !== undefined) outcome.code = report.code;
            if (report.error !== undefined) outcome.error = report.error;
            if (report.value !== undefined) outcome.value = report.value;
            outcomes[report.end] = outcome;
            running = undefined;
            next = report.end + 1;
          } else if (report.unhandled !== undefined) {
            stderr += `\nunhandled rejection: ${report.unhandled}`;
          } else if (report.done) {
            next = attempts.length;
          }
        }
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (c, s) => resolve([c, s])),
      );
      clearTimeout(timer);
      if (next >= attempts.length && running === undefined) break;
      // The child died or hung inside attempt `culprit` (or before the first).
      const culprit = running ?? next;
      const kind: OutcomeKind = hung ? 'hang' : signal !== null ? 'signal' : 'exit';
      const what = hung
        ? `no progress for ${attemptTimeout} ms`
        : signal !== null
          ? `killed by ${signal}`
          : `exited with ${code}`;
      outcomes[culprit] = {
        name: attempts[culprit]!.name,
        kind,
        detail: `${what}\n${stderr.slice(-2000)}`,
      };
      next = culprit + 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return outcomes.map(
    (o, i) => o ?? { name: attempts[i]!.name, kind: 'exit', detail: 'never ran' },
  );
}

function allowed(expect: Expectation): readonly string[] | 'coded' | 'ok' {
  if (expect === 'coded' || expect === 'ok') return expect;
  return typeof expect === 'string' ? [expect] : expect;
}

/** Why an outcome does not meet its attempt's expectation, or undefined. */
export function judge(attempt: Attempt, outcome: Outcome): string | undefined {
  const shown = `${attempt.name}: `;
  if (outcome.kind === 'signal' || outcome.kind === 'hang' || outcome.kind === 'exit') {
    return `${shown}${outcome.kind.toUpperCase()} ${outcome.detail ?? ''}`;
  }
  const rule = allowed(attempt.expect ?? 'coded');
  if (outcome.kind === 'ok') {
    if (rule === 'ok' || rule === 'coded' || (Array.isArray(rule) && rule.includes('ok')))
      return undefined;
    return `${shown}returned ${JSON.stringify(outcome.value)}, expected to throw ${rule.join(' or ')}`;
  }
  if (outcome.code === undefined) return `${shown}threw an uncoded ${outcome.error}`;
  if (rule === 'coded') return undefined;
  if (rule === 'ok') return `${shown}threw ${outcome.code} (${outcome.error}), expected to return`;
  if (!rule.includes(outcome.code))
    return `${shown}threw ${outcome.code} (${outcome.error}), expected ${rule.join(' or ')}`;
  return undefined;
}

/** Runs the attempts and returns every failure, one line each ([] when all survived as expected). */
export async function failures(
  attempts: readonly Attempt[],
  options?: BatteryOptions,
): Promise<string[]> {
  const names = new Set<string>();
  for (const a of attempts) {
    if (names.has(a.name)) throw new Error(`duplicate attempt name: ${a.name}`);
    names.add(a.name);
  }
  const outcomes = await runAttempts(attempts, options);
  return attempts.map((a, i) => judge(a, outcomes[i]!)).filter((f): f is string => f !== undefined);
}

/** Removes whatever a battery of this run left in /dev/shm and the temp dir. */
export function cleanUp(): void {
  for (const dir of ['/dev/shm', process.env.TMPDIR ?? '/tmp']) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith(PREFIX) || name.startsWith(`sem.${PREFIX}`)) {
        rmSync(`${dir}/${name}`, { recursive: true, force: true });
      }
    }
  }
}
