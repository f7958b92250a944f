// Round trips between two node processes through each waiting primitive of
// @shmkit/sync: the blocking wait on both sides, the Promise wait
// (waitAsync/lockAsync) on both sides on the engine's own backend, and the
// same on futex_waitv, what kernels before 6.7 get. Every row runs two
// fresh child processes (a pinger that times and a ponger), so the three
// rows of a primitive differ only in the wait. They join the latency
// group's passes, so they alternate with the Unix socket and the
// node + C futex floor they are judged against.
import type { ChildProcess } from 'node:child_process';
import { formatNs } from '../format.js';
import { nowNs, sleepSync } from '../harness.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { summarize } from '../stats.js';
import {
  backendEnv,
  currentBackend,
  expectedBackend,
  type BackendChoice,
  type WaitBackend,
} from '../waits/backend.js';
import { WAIT_PRIMITIVES, asyncRttId, syncRttId } from '../waits/ids.js';
import { FREE_OFFSET, PRIMITIVES, openEnd, type Primitive } from '../waits/pairs.js';

const SIZE = 4096;
/** Int32 index of the start flag the pinger waits for. */
const GO = FREE_OFFSET / 4;
/** Set by the pinger once it holds what it must before the ponger opens its end. */
const PINGER_READY = GO + 1;

type Mode = 'sync' | 'async';

interface PeerArgs {
  primitive: Primitive;
  mode: Mode;
  path: string;
  names: [string, string];
  /** Round trips timed (the pinger) and warm-up round trips before them. */
  count: number;
  warmup: number;
}

/** What the pinger reports. */
interface PingResult {
  median: number;
  p99: number;
  count: number;
  backend: WaitBackend;
  /** The pinger's CPU time per timed round trip, user and system, in ns (its threads included). */
  userNs: number;
  systemNs: number;
}

let pairs = 0;

function trips(ctx: Context): { count: number; warmup: number } {
  // Like every node round trip: a fresh process needs a few thousand before its latency settles.
  return { count: ctx.scale.roundTrips, warmup: ctx.scale.smoke ? 50 : 3_000 };
}

/** One pass of one row: a fresh pinger and ponger over fresh primitives. */
async function roundTrips(
  ctx: Context,
  primitive: Primitive,
  mode: Mode,
  choice: BackendChoice,
): Promise<Outcome> {
  pairs += 1;
  const path = sharedPath(`wait-${primitive}`);
  const tag = `/shmkit-bench-${process.pid}-${pairs}`;
  const names: [string, string] = [`${tag}-ping`, `${tag}-pong`];
  const { count, warmup } = trips(ctx);
  const args: PeerArgs = { primitive, mode, path, names, count, warmup };
  const mapping = mapShared(path, SIZE, true);
  const children: ChildProcess[] = [];
  let remove = (): void => undefined;
  try {
    remove = PRIMITIVES[primitive].create({ mapping, names });
    const env = backendEnv(choice);
    const pinger = spawnPeer('wait-ping', args, { env });
    const ponger = spawnPeer('wait-pong', args, { env });
    children.push(pinger, ponger);
    await Promise.all(children.map((child) => waitForLine(child, /^ready$/)));
    Atomics.store(new Int32Array(mapping.buffer), GO, 1);
    const line = await waitForLine(pinger, /^\{/, 300_000);
    const codes = await Promise.all(children.map(waitForExit));
    if (codes.some((c) => c !== 0))
      throw new Error(`wait-rtt peers exited with ${codes.join(',')}`);
    const result = JSON.parse(line) as PingResult;
    const expected = expectedBackend(choice);
    if (mode === 'async' && result.backend !== expected) {
      return {
        kind: 'pending',
        reason: `the wait engine runs on ${result.backend} here, not ${expected} (not available on this kernel?)`,
      };
    }
    return {
      kind: 'measured',
      value: result.median,
      p99: result.p99,
      samples: result.count,
      ...(mode === 'async' ? { note: result.backend } : {}),
      extra: { userNs: result.userNs, systemNs: result.systemNs },
    };
  } finally {
    await reap(children);
    mapping.close();
    unlinkShared(path);
    remove();
  }
}

/** The three rows of one primitive: sync, async on the engine's backend, async on futex_waitv. */
function rowsOf(primitive: Primitive): BenchCase[] {
  const { title, calls } = PRIMITIVES[primitive];
  const syncId = syncRttId(primitive);
  const common = {
    group: 'waits',
    interleave: 'latency',
    unit: 'ns',
    p99: true,
    // The total is exact; the kernel splits it into user and system by tick sampling.
    describe: ({ userNs = NaN, systemNs = NaN }: Record<string, number>) =>
      `pinger CPU per round trip ${formatNs(userNs + systemNs)} (user ${formatNs(userNs)}, system ${formatNs(systemNs)})`,
  } as const;
  const asyncRow = (choice: BackendChoice): BenchCase => ({
    ...common,
    id: asyncRttId(primitive, choice),
    title: `${title}: ${calls.async} on both sides, ${expectedBackend(choice)}`,
    baseline: syncId,
    run: (ctx) => roundTrips(ctx, primitive, 'async', choice),
  });
  return [
    {
      ...common,
      id: syncId,
      title: `${title}: ${calls.sync} on both sides`,
      baseline: 'rtt.node-c-futex',
      run: (ctx) => roundTrips(ctx, primitive, 'sync', 'default'),
    },
    asyncRow('default'),
    asyncRow('futex_waitv'),
  ];
}

export const waitRttCases: BenchCase[] = WAIT_PRIMITIVES.flatMap(rowsOf);

async function peer(role: 'ping' | 'pong', raw: unknown): Promise<void> {
  const { primitive, mode, path, names, count, warmup } = raw as PeerArgs;
  const mapping = mapShared(path, SIZE, false);
  const words = new Int32Array(mapping.buffer);
  // Both start at once; the ponger opens its end only once the pinger holds
  // what it must first (the mutex pair: its two locks).
  if (role === 'pong') while (Atomics.load(words, PINGER_READY) === 0) sleepSync(0.1);
  const end = openEnd(primitive, role, { mapping, names });
  if (role === 'ping') Atomics.store(words, PINGER_READY, 1);
  process.stdout.write('ready\n');
  if (role === 'pong') {
    if (mode === 'sync') for (let i = 0; i < warmup + count; i++) end.trip();
    else for (let i = 0; i < warmup + count; i++) await end.tripAsync();
  } else {
    while (Atomics.load(words, GO) === 0) sleepSync(0.1);
    const samples = new Float64Array(count);
    let cpu: NodeJS.CpuUsage;
    if (mode === 'sync') {
      for (let i = 0; i < warmup; i++) end.trip();
      cpu = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const t0 = nowNs();
        end.trip();
        samples[i] = nowNs() - t0;
      }
    } else {
      for (let i = 0; i < warmup; i++) await end.tripAsync();
      cpu = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const t0 = nowNs();
        await end.tripAsync();
        samples[i] = nowNs() - t0;
      }
    }
    cpu = process.cpuUsage(cpu);
    const s = summarize(samples);
    const result: PingResult = {
      median: s.median,
      p99: s.p99,
      count: s.count,
      backend: currentBackend(),
      userNs: (cpu.user * 1e3) / count,
      systemNs: (cpu.system * 1e3) / count,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  end.close();
  mapping.close();
}

export const waitRttPeers: Record<string, (args: unknown) => Promise<void>> = {
  'wait-ping': (args) => peer('ping', args),
  'wait-pong': (args) => peer('pong', args),
};
