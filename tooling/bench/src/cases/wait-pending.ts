// The cost of many async waits pending at once in one process: 1, 100 and
// 10,000 SharedEvent.waitAsync calls on one manual-reset event, on the
// engine's own backend and on futex_waitv. Each (backend, count) runs in a
// fresh child process, so its threads and memory are its own: the native
// threads and resident memory the pending waits add, the time one set()
// takes to settle all of them, and the cost of registering a wait and
// cancelling it with an AbortSignal.
import { setTimeout as sleep } from 'node:timers/promises';
import { mapAnonymous } from '@shmkit/core';
import { native } from '@shmkit/core/internal';
import { SharedEvent } from '@shmkit/sync';
import { nowNs } from '../harness.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome, Unit } from '../registry.js';
import { summarize } from '../stats.js';
import {
  BACKEND_CHOICES,
  backendEnv,
  currentBackend,
  expectedBackend,
  type BackendChoice,
  type WaitBackend,
} from '../waits/backend.js';
import { PENDING_COUNTS, pendingId, type PendingMetric } from '../waits/ids.js';
import { residentMiB, threadCount } from '../waits/resources.js';

/** A settle that takes longer than this is reported as not settled (it would be a hang). */
const SETTLE_LIMIT_MS = 20_000;

interface PendingArgs {
  waits: number;
  settleRounds: number;
  cancelRounds: number;
}

/** What the child measures. */
interface PendingResult {
  backend: WaitBackend;
  waits: number;
  threadsBefore: number;
  threadsPending: number;
  /** futex_waitv and pool threads of the engine while the waits pend. */
  helperThreads: number;
  /** Pending waits the engine reported meanwhile. */
  enginePending: number;
  rssBeforeMiB: number;
  rssPendingMiB: number;
  /** Median ns from set() until every wait has resolved. */
  settleNs: number;
  /** The fewest waits that resolved after one set(), over the rounds. */
  settled: number;
  settleRounds: number;
  /** Median ns per wait of registering `waits` waits and aborting them all. */
  registerCancelNs: number;
  /** The same with Error.stackTraceLimit = 0: what the engine costs without the AbortErrors' stacks. */
  stacklessNs: number;
  cancelRounds: number;
}

function rounds(ctx: Context, waits: number): PendingArgs {
  // [settle rounds, register+cancel rounds]: fewer for more waits (aborting 10,000 takes seconds)
  const full = waits === 1 ? [51, 1_001] : waits <= 100 ? [21, 101] : [5, 3];
  const smoke = waits === 1 ? [11, 101] : waits <= 100 ? [5, 11] : [1, 1];
  const [settleRounds = 1, cancelRounds = 1] = ctx.scale.smoke ? smoke : full;
  return { waits, settleRounds, cancelRounds };
}

// Every metric of one (backend, count) comes from one child run; the rows
// of a run share it.
const runs = new WeakMap<Context, Map<string, Promise<PendingResult | string>>>();

/** The child's result, or why it could not measure (the backend is not available here). */
function measure(
  ctx: Context,
  choice: BackendChoice,
  waits: number,
): Promise<PendingResult | string> {
  let byKey = runs.get(ctx);
  if (byKey === undefined) {
    byKey = new Map();
    runs.set(ctx, byKey);
  }
  const key = `${choice}:${waits}`;
  let run = byKey.get(key);
  if (run === undefined) {
    run = runChild(ctx, choice, waits);
    byKey.set(key, run);
  }
  return run;
}

async function runChild(
  ctx: Context,
  choice: BackendChoice,
  waits: number,
): Promise<PendingResult | string> {
  const child = spawnPeer('wait-pending', rounds(ctx, waits), {
    env: backendEnv(choice),
    execArgv: ['--expose-gc'],
  });
  try {
    const line = await waitForLine(child, /^\{/, 300_000);
    const code = await waitForExit(child);
    if (code !== 0) throw new Error(`wait-pending peer exited with ${String(code)}`);
    const result = JSON.parse(line) as PendingResult;
    const expected = expectedBackend(choice);
    if (result.backend !== expected)
      return `the wait engine runs on ${result.backend} here, not ${expected} (not available on this kernel?)`;
    return result;
  } finally {
    await reap([child]);
  }
}

const METRICS: { metric: PendingMetric; unit: Unit; what: string }[] = [
  { metric: 'threads', unit: 'threads', what: 'native threads added' },
  { metric: 'rss', unit: 'MiB', what: 'resident memory added' },
  { metric: 'register-cancel', unit: 'ns', what: 'register + cancel (abort), per wait' },
  {
    metric: 'register-cancel-stackless',
    unit: 'ns',
    what: 'register + cancel per wait, Error.stackTraceLimit = 0 (AbortErrors without a stack)',
  },
  { metric: 'settle', unit: 'ns', what: 'from one set() until every wait resolved' },
];

function outcomeOf(r: PendingResult, metric: PendingMetric): Outcome {
  const one = { kind: 'measured', samples: 1 } as const;
  switch (metric) {
    case 'threads':
      return {
        ...one,
        value: r.threadsPending - r.threadsBefore,
        note: `${r.threadsPending} in the process while ${r.enginePending} pend, ${r.helperThreads} of them engine helper threads`,
      };
    case 'rss':
      return {
        ...one,
        value: r.rssPendingMiB - r.rssBeforeMiB,
        note: `${r.rssBeforeMiB.toFixed(1)} MiB before the first wait (after a full GC, both times)`,
      };
    case 'register-cancel':
      return {
        ...one,
        value: r.registerCancelNs,
        samples: r.cancelRounds,
        note: 'one AbortController per batch: every wait started, abort(), every rejection seen',
      };
    case 'register-cancel-stackless':
      return { ...one, value: r.stacklessNs, samples: r.cancelRounds };
    case 'settle': {
      const all = r.settled === r.waits;
      return {
        ...one,
        value: r.settleNs,
        samples: r.settleRounds,
        note: all
          ? `all ${r.settled.toLocaleString('en-US')} resolved after one set() in every round`
          : `only ${r.settled.toLocaleString('en-US')} of ${r.waits.toLocaleString('en-US')} resolved after one set() (gave up after ${SETTLE_LIMIT_MS / 1000} s)`,
        extra: { settled: r.settled, waits: r.waits },
      };
    }
  }
}

/** Register + cancel rows compare to one pending wait; the stackless ones to the same count with stacks. */
function baselineOf(
  choice: BackendChoice,
  waits: number,
  metric: PendingMetric,
): { baseline?: string } {
  if (metric === 'register-cancel-stackless')
    return { baseline: pendingId(choice, waits, 'register-cancel') };
  if (metric === 'register-cancel' && waits !== 1)
    return { baseline: pendingId(choice, 1, metric) };
  return {};
}

function row(choice: BackendChoice, waits: number, m: (typeof METRICS)[number]): BenchCase {
  const count = waits.toLocaleString('en-US');
  return {
    id: pendingId(choice, waits, m.metric),
    group: 'pending',
    title: `${expectedBackend(choice)}, ${count} pending ${waits === 1 ? 'wait' : 'waits'}: ${m.what}`,
    unit: m.unit,
    ...baselineOf(choice, waits, m.metric),
    run: async (ctx) => {
      const r = await measure(ctx, choice, waits);
      return typeof r === 'string' ? { kind: 'pending', reason: r } : outcomeOf(r, m.metric);
    },
  };
}

// Metric by metric, so each table block compares counts and backends.
export const waitPendingCases: BenchCase[] = METRICS.flatMap((m) =>
  BACKEND_CHOICES.flatMap((choice) => PENDING_COUNTS.map((waits) => row(choice, waits, m))),
);

/**
 * A guard against a lost wake: `race(all)` resolves true once `all` has,
 * false if `ms` pass first. Its timer is set before the timed part starts.
 */
function guard(ms: number): { race(all: Promise<unknown>): Promise<boolean>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  return {
    race: (all) => Promise.race([all.then(() => true), expired]),
    clear: () => clearTimeout(timer),
  };
}

/** Median ns per wait of starting `waits` waits on one signal and aborting them, over `rounds`. */
async function registerCancel(event: SharedEvent, waits: number, rounds: number): Promise<number> {
  const perWait: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const ac = new AbortController();
    const pending: Promise<boolean>[] = new Array<Promise<boolean>>(waits);
    const t0 = nowNs();
    for (let i = 0; i < waits; i++) pending[i] = event.waitAsync({ signal: ac.signal });
    ac.abort();
    const results = await Promise.allSettled(pending);
    perWait.push((nowNs() - t0) / waits);
    const wrong = results.find(
      (r) => r.status !== 'rejected' || (r.reason as Error).name !== 'AbortError',
    );
    if (wrong !== undefined) throw new Error(`an aborted wait ended with ${String(wrong)}`);
  }
  return summarize(perWait).median;
}

async function pendingPeer(raw: unknown): Promise<void> {
  const { waits, settleRounds, cancelRounds } = raw as PendingArgs;
  const memory = mapAnonymous(4096);
  const event = SharedEvent.init(memory, 0, { mode: 'manual' });
  const threadsBefore = threadCount();
  const rssBeforeMiB = residentMiB();
  let threadsPending = 0;
  let rssPendingMiB = 0;
  let helperThreads = 0;
  let enginePending = 0;
  let settled = waits;
  const settleNs: number[] = [];
  for (let round = 0; round < settleRounds; round++) {
    let resolved = 0;
    const pending: Promise<void>[] = new Array<Promise<void>>(waits);
    for (let i = 0; i < waits; i++)
      pending[i] = event.waitAsync().then((set) => {
        if (set) resolved += 1;
      });
    if (round === 0) {
      await sleep(20); // helper threads a backend starts lazily are up by now
      const info = native.waitInfo();
      enginePending = info.pending;
      helperThreads = info.waitvThreads + info.poolThreads;
      threadsPending = threadCount();
      rssPendingMiB = residentMiB();
    }
    const limit = guard(SETTLE_LIMIT_MS);
    const t0 = nowNs();
    event.set();
    const all = await limit.race(Promise.all(pending));
    settleNs.push(nowNs() - t0);
    limit.clear();
    settled = Math.min(settled, resolved);
    event.reset();
    if (!all) break;
  }
  const registerCancelNs = await registerCancel(event, waits, cancelRounds);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const stacklessNs = await registerCancel(event, waits, cancelRounds);
  Error.stackTraceLimit = limit;
  const result: PendingResult = {
    backend: currentBackend(),
    waits,
    threadsBefore,
    threadsPending,
    helperThreads,
    enginePending,
    rssBeforeMiB,
    rssPendingMiB,
    settleNs: summarize(settleNs).median,
    settled,
    settleRounds: settleNs.length,
    registerCancelNs,
    stacklessNs,
    cancelRounds,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  memory.close();
  // Waits that never settled (a lost wake) must not keep the process alive.
  process.exit(0);
}

export const waitPendingPeers: Record<string, (args: unknown) => Promise<void>> = {
  'wait-pending': pendingPeer,
};
