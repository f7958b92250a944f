// "Why" notes on the wait-engine rows (issue #11): async round trips per
// primitive and backend, and many pending waits. Each note is emitted only
// when its rows are in the run and quotes this run's figures; the profile
// facts say when and how they were measured.
import { formatNs, formatRatio, formatValue } from '../format.js';
import type { Row } from '../registry.js';
import type { TargetResult } from '../targets.js';
import type { BackendChoice } from '../waits/backend.js';
import { WAIT_PRIMITIVES, asyncRttId, pendingId, syncRttId } from '../waits/ids.js';

/** Where the profile facts below come from. */
const PROFILED_AT =
  'measured once on this machine at commit 3faabb6 with `strace -c -f` and `perf record -e cpu-clock -g` on two node processes bouncing two auto-reset events 200,000 times';

/** "1.8x to 2.6x" over the measured ratios, or undefined if none was measured. */
function span(ratios: (number | undefined)[]): string | undefined {
  const known = ratios.filter((r): r is number => r !== undefined && Number.isFinite(r));
  if (known.length === 0) return undefined;
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  return lo === hi ? formatRatio(lo) : `${formatRatio(lo)} to ${formatRatio(hi)}`;
}

/** The pinger's CPU time per round trip of a row (user + system: the split itself is tick-sampled). */
function cpuOf(row: Row | undefined): string | undefined {
  const user = row?.extra?.userNs;
  const system = row?.extra?.systemNs;
  if (user === undefined || system === undefined) return undefined;
  return formatNs(user + system);
}

export function waitNotes(rows: Map<string, Row>, targets: TargetResult[]): string[] {
  const v = (id: string): number | undefined => rows.get(id)?.value;
  const status = (prefix: string, backend: string): string =>
    targets.find((t) => t.target.startsWith(prefix) && t.target.endsWith(`(${backend})`))?.status ??
    'not judged';
  const backendOf = (choice: BackendChoice): string | undefined =>
    rows.get(asyncRttId('event', choice))?.note?.split(';')[0];
  const out: string[] = [];

  const ratiosOn = (choice: BackendChoice): (number | undefined)[] =>
    WAIT_PRIMITIVES.map((p) => rows.get(asyncRttId(p, choice))?.ratio);
  const uds = v('rtt.uds');
  const speedUps = (choice: BackendChoice): (number | undefined)[] =>
    WAIT_PRIMITIVES.map((p) => {
      const a = v(asyncRttId(p, choice));
      return a === undefined || uds === undefined ? undefined : uds / a;
    });
  const uring = backendOf('default');
  const onUring = span(ratiosOn('default'));
  if (uring !== undefined && onUring !== undefined) {
    const onWaitv = span(ratiosOn('futex_waitv'));
    const cpuSync = cpuOf(rows.get(syncRttId('event')));
    const cpuAsync = cpuOf(rows.get(asyncRttId('event', 'default')));
    const cpuWaitv = cpuOf(rows.get(asyncRttId('event', 'futex_waitv')));
    out.push(
      `**Async round trips** (≤ 2x sync: ${status('Async RTT ≤ 2x', uring)} on ${uring}` +
        (onWaitv === undefined
          ? ''
          : `, ${status('Async RTT ≤ 2x', 'futex_waitv')} on futex_waitv`) +
        `; ≥ 4x faster than UDS: ${status('Async RTT ≥ 4x', uring)} on ${uring}). With \`waitAsync\`/\`lockAsync\` ` +
        `on both sides a round trip costs ${onUring} the sync round trip of the same primitive on ${uring}` +
        (onWaitv === undefined ? '' : ` and ${onWaitv} on futex_waitv`) +
        `, and is ${span(speedUps('default')) ?? 'n/a'} faster than the Unix socket on ${uring}` +
        (onWaitv === undefined
          ? ''
          : ` (${span(speedUps('futex_waitv')) ?? 'n/a'} on futex_waitv)`) +
        '. ' +
        (cpuSync !== undefined && cpuAsync !== undefined
          ? `The pinger's CPU time per event round trip grows with it: ${cpuSync} sync, ${cpuAsync} async on ${uring}` +
            (cpuWaitv === undefined ? '' : `, ${cpuWaitv} on futex_waitv`) +
            '; on two busy cores that CPU time is on the critical path of every round trip. '
          : '') +
        `A sync wait is one \`futex\` system call that sleeps. An async wait on io_uring (profile: ${PROFILED_AT}) ` +
        'is one `io_uring_enter` to submit it, then the event loop sleeps in `epoll_wait` (1.8 calls per wait); the ' +
        "waker's `FUTEX_WAKE` makes io_uring queue task work on the waiting thread, which reaches the " +
        'sleeping `epoll_wait` like a signal (`get_signal`, 4% of the samples; under strace one in four of those ' +
        'calls returned EINTR and was made again) before the completion is even posted; then libuv runs the ring callback, the ' +
        'engine reaps, settles the promise in a callback scope and the continuation runs as a microtask (the whole ' +
        'loop callback, microtasks included, is 37% of the samples). On futex_waitv the wake goes to a helper thread ' +
        'first, which hands it to the loop through a libuv async handle: two thread wake-ups instead of one. ' +
        "Beyond the kernel, the async side's extra user time is spread over Node's promise, microtask and callback-" +
        'scope machinery and libuv (no single hot spot; the Node-API glue of the engine is under 1 µs per wait). ' +
        'Tried and dropped: `IORING_SETUP_DEFER_TASKRUN` (the ping-pong hangs: deferred task work does not wake an ' +
        '`epoll_wait` on the ring) and `IORING_SETUP_COOP_TASKRUN` (no difference that this machine could resolve).',
    );
  }

  const threads = v(pendingId('default', 10_000, 'threads'));
  const threadsWaitv = v(pendingId('futex_waitv', 10_000, 'threads'));
  const rss = v(pendingId('default', 10_000, 'rss'));
  const rssWaitv = v(pendingId('futex_waitv', 10_000, 'rss'));
  const settle = v(pendingId('default', 10_000, 'settle'));
  const settleWaitv = v(pendingId('futex_waitv', 10_000, 'settle'));
  const cancel = v(pendingId('default', 10_000, 'register-cancel'));
  const bare = v(pendingId('default', 10_000, 'register-cancel-stackless'));
  const bare100 = v(pendingId('default', 100, 'register-cancel-stackless'));
  const cancelWaitv = v(pendingId('futex_waitv', 10_000, 'register-cancel'));
  const bareWaitv = v(pendingId('futex_waitv', 10_000, 'register-cancel-stackless'));
  if (threads !== undefined && rss !== undefined && settle !== undefined) {
    const perWait = (mib: number): string => `${((mib * 1024 ** 2) / 10_000).toFixed(0)} bytes`;
    const b = uring ?? 'the default backend';
    out.push(
      `**Many pending waits** (threads: ${status('10,000 pending async waits add ≤ 100', b)}, memory: ` +
        `${status('10,000 pending async waits add ≤ 64', b)}, one set(): ${status('One set()', b)} on ${b}). ` +
        `10,000 pending \`waitAsync\` calls add ${formatValue(threads, 'threads')} on ${b}` +
        (threadsWaitv === undefined
          ? ''
          : ` and ${formatValue(threadsWaitv, 'threads')} on futex_waitv (one helper thread per 127 waits)`) +
        `, and ${formatValue(rss, 'MiB')} of resident memory (${perWait(rss)} per wait: its promise, the async ` +
        'function suspended in it, the engine entry and the kernel request)' +
        (rssWaitv === undefined ? '' : `, ${formatValue(rssWaitv, 'MiB')} on futex_waitv`) +
        `. One \`set()\` settles all of them in ${formatNs(settle)} (${formatNs(settle / 10_000)} per wait)` +
        (settleWaitv === undefined ? '' : `, ${formatNs(settleWaitv)} on futex_waitv`) +
        '. ' +
        (cancel !== undefined && bare !== undefined
          ? `Starting a wait and aborting it costs ${formatNs(cancel)} per wait with 10,000 on one signal, ` +
            `${formatNs(bare)} when \`Error.stackTraceLimit = 0\` leaves the AbortErrors without a stack: each ` +
            "cancelled wait's AbortError has its stack re-captured to start at the caller (core's `stack.ts`: " +
            '`captureStackTrace` with `stackTraceLimit = Infinity`, then the stack formatted and cut, which the ' +
            'profile of an abort loop shows as 56% of its time). One error per signal, or a lazy stack, would take ' +
            'most of that away. ' +
            (bare100 === undefined
              ? ''
              : `Without stacks the cost per wait still grows with the count on ${b} (${formatNs(bare100)} with 100 ` +
                `pending, ${formatNs(bare)} with 10,000): io_uring cancels a futex wait by walking the ring's list of ` +
                'pending futex requests, so aborting n waits one by one costs n² in the kernel. ') +
            (cancelWaitv === undefined || bareWaitv === undefined
              ? ''
              : `On futex_waitv: ${formatNs(cancelWaitv)}, ${formatNs(bareWaitv)} without stacks.`)
          : ''),
    );
  }
  return out;
}
