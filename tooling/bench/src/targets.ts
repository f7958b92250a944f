// The performance targets of issues #2, #6, #8 and #11, judged against rows
// of the same run.
import { beatsBound, boundWarning } from './bounds.js';
import { formatNs, formatRatio, formatValue } from './format.js';
import { channelTargets } from './cases/channel-targets.js';
import type { Row } from './registry.js';
import { BACKEND_CHOICES, expectedBackend, type BackendChoice } from './waits/backend.js';
import { WAIT_PRIMITIVES, asyncRttId, pendingId, syncRttId } from './waits/ids.js';

export type { TargetResult, TargetSpec, TargetStatus } from './target-spec.js';
import type { TargetResult, TargetSpec, TargetStatus } from './target-spec.js';

const SPECS: TargetSpec[] = [
  {
    target: 'Node-API noop ≤ 2x the C addon noop',
    rows: ['call.shmkit-noop', 'call.c-addon-noop'],
    bound: 'floor',
    judge: ([shm = 0, c = 1]) => ({
      ratio: shm / c,
      ok: shm / c <= 2,
      measured: `${formatNs(shm)} vs ${formatNs(c)}`,
    }),
  },
  {
    target: 'Uncontended lock+unlock ≤ 60 ns',
    rows: ['sync.mutex-uncontended'],
    judge: ([v = 0]) => ({
      ratio: v / 60,
      ok: v <= 60,
      measured: `${formatNs(v)} (ratio to the 60 ns limit)`,
    }),
  },
  {
    target: 'Blocking RTT ≤ 1.1x node + a minimal C futex addon',
    rows: ['sync.rtt-blocking', 'rtt.node-c-futex'],
    bound: 'floor',
    judge: ([v = 0, c = 1]) => ({
      ratio: v / c,
      ok: v / c <= 1.1,
      measured: `${formatNs(v)} vs ${formatNs(c)}`,
    }),
  },
  {
    target: 'Blocking RTT ≥ 2x faster than Node UDS',
    rows: ['sync.rtt-blocking', 'rtt.uds'],
    judge: ([v = 1, uds = 0]) => ({
      ratio: uds / v,
      ok: uds / v >= 2,
      measured: `${formatNs(v)} vs ${formatNs(uds)} (speed-up)`,
    }),
  },
  {
    target: 'Spin-then-park RTT ≤ 2 µs',
    rows: ['sync.rtt-spin'],
    judge: ([v = 0]) => ({
      ratio: v / 2000,
      ok: v <= 2000,
      measured: `${formatNs(v)} (ratio to the 2 µs limit)`,
    }),
  },
  {
    target: "Bulk through shared memory ≥ 0.5x the producer's copies alone",
    rows: ['sync.bulk-ring', 'bulk.copy-alone'],
    bound: 'ceiling',
    judge: ([v = 0, c = 1]) => ({
      ratio: v / c,
      ok: v / c >= 0.5,
      measured: `${formatValue(v, 'GB/s')} vs ${formatValue(c, 'GB/s')}`,
    }),
  },
  {
    target: 'map+close ≤ 10 µs (mapAnonymous)',
    rows: ['map.anonymous'],
    judge: ([v = 0]) => ({
      ratio: v / 10_000,
      ok: v <= 10_000,
      measured: `${formatNs(v)} (ratio to the 10 µs limit)`,
    }),
  },
  {
    target: 'map+close ≤ 10 µs (mapFd, file page)',
    rows: ['map.fd'],
    judge: ([v = 0]) => ({
      ratio: v / 10_000,
      ok: v <= 10_000,
      measured: `${formatNs(v)} (ratio to the 10 µs limit)`,
    }),
  },
  ...channelTargets,
];

/** Short names of the primitives in the wait-engine targets' "measured" column. */
const SHORT: Record<(typeof WAIT_PRIMITIVES)[number], string> = {
  event: 'event',
  futex: 'futex',
  mutex: 'mutex',
  semaphore: 'sem',
  'named-semaphore': 'named sem',
};

/** "worst: mutex 2.31x (event 1.20x, ...)" over per-primitive ratios. */
function worstOf(
  ratios: number[],
  worse: (a: number, b: number) => boolean,
): { worst: number; text: string } {
  let at = 0;
  ratios.forEach((r, i) => {
    if (worse(r, ratios[at] ?? r)) at = i;
  });
  const all = WAIT_PRIMITIVES.map((p, i) => `${SHORT[p]} ${formatRatio(ratios[i])}`).join(', ');
  const name = WAIT_PRIMITIVES[at] ?? 'event';
  return {
    worst: ratios[at] ?? NaN,
    text: `worst ${SHORT[name]} ${formatRatio(ratios[at])} (${all})`,
  };
}

/** Issue #11's targets on one backend of the wait engine. */
function waitEngineSpecs(choice: BackendChoice): TargetSpec[] {
  const on = expectedBackend(choice);
  return [
    {
      target: `Async RTT ≤ 2x the sync RTT, every primitive (${on})`,
      rows: WAIT_PRIMITIVES.flatMap((p) => [asyncRttId(p, choice), syncRttId(p)]),
      judge: (v) => {
        const ratios = WAIT_PRIMITIVES.map((_, i) => (v[2 * i] ?? NaN) / (v[2 * i + 1] ?? NaN));
        const { worst, text } = worstOf(ratios, (a, b) => a > b);
        return { ratio: worst, ok: worst <= 2, measured: text };
      },
    },
    {
      target: `Async RTT ≥ 4x faster than Node UDS, every primitive (${on})`,
      rows: ['rtt.uds', ...WAIT_PRIMITIVES.map((p) => asyncRttId(p, choice))],
      judge: ([uds = NaN, ...async]) => {
        const speedUps = async.map((a) => uds / a);
        const { worst, text } = worstOf(speedUps, (a, b) => a < b);
        return { ratio: worst, ok: worst >= 4, measured: `speed-up: ${text}` };
      },
    },
    {
      target: `10,000 pending async waits add ≤ 100 native threads (${on})`,
      rows: [pendingId(choice, 10_000, 'threads')],
      judge: ([v = NaN]) => ({
        ratio: v / 100,
        ok: v <= 100,
        measured: `${formatValue(v, 'threads')} (ratio to the limit of 100)`,
      }),
    },
    {
      target: `10,000 pending async waits add ≤ 64 MiB of RSS (${on})`,
      rows: [pendingId(choice, 10_000, 'rss')],
      judge: ([v = NaN]) => ({
        ratio: v / 64,
        ok: v <= 64,
        measured: `${formatValue(v, 'MiB')} (ratio to the 64 MiB limit)`,
      }),
    },
    {
      target: `One set() of a manual event settles all 10,000 pending waits (${on})`,
      rows: [
        `${pendingId(choice, 10_000, 'settle')}#settled`,
        `${pendingId(choice, 10_000, 'settle')}#waits`,
      ],
      judge: ([settled = 0, waits = NaN]) => ({
        ratio: settled / waits,
        ok: waits === 10_000 && settled === waits,
        measured: `${settled.toLocaleString('en-US')} of ${waits.toLocaleString('en-US')} resolved (ratio settled/pending)`,
      }),
    },
  ];
}

const ALL_SPECS: TargetSpec[] = [...SPECS, ...BACKEND_CHOICES.flatMap(waitEngineSpecs)];

/** The row a spec's row reference points at, and the figure it stands for. */
function resolve(rows: Map<string, Row>, ref: string): { row?: Row; value?: number } {
  const [id = ref, field] = ref.split('#');
  const row = rows.get(id);
  if (row === undefined) return {};
  return { row, value: field === undefined ? row.value : row.extra?.[field] };
}

/** Whether the floor of a missed target would have met it: is it within reach here at all? */
function reach(spec: TargetSpec, floor: number, values: number[]): string {
  const atFloor = spec.judge([floor, ...values.slice(1)]);
  const what = `its floor (${spec.floor ?? ''}, ${formatNs(floor)}) alone`;
  return atFloor.ok
    ? `within reach: ${what} would meet it (${formatRatio(atFloor.ratio)})`
    : `out of reach in this run: ${what} misses it too (${formatRatio(atFloor.ratio)})`;
}

export function judgeTargets(rows: Map<string, Row>): TargetResult[] {
  return ALL_SPECS.map((spec) => {
    const inputs = spec.rows.map((ref) => resolve(rows, ref));
    const missing = inputs.findIndex((r) => r.value === undefined);
    if (missing >= 0) {
      const r = inputs[missing]?.row;
      const status: TargetStatus = r?.status === 'pending' ? 'pending' : 'not measured';
      const detail =
        r === undefined
          ? `row ${spec.rows[missing] ?? ''} not run (filtered out)`
          : (r.note ?? r.status);
      return { target: spec.target, measured: '', status, detail };
    }
    const values = inputs.map((r) => r.value as number);
    const verdict = spec.judge(values);
    const floor = spec.floor === undefined ? undefined : resolve(rows, spec.floor).value;
    if (floor !== undefined && beatsBound('floor', (values[0] ?? 0) / floor)) {
      return {
        target: spec.target,
        measured: verdict.measured,
        ratio: verdict.ratio,
        status: 'bound wrong',
        detail: `${spec.floor ?? ''} ${boundWarning('floor', (values[0] ?? 0) / floor)}`,
      };
    }
    if (spec.bound !== undefined && beatsBound(spec.bound, verdict.ratio)) {
      return {
        target: spec.target,
        measured: verdict.measured,
        ratio: verdict.ratio,
        status: 'bound wrong',
        detail: boundWarning(spec.bound, verdict.ratio),
      };
    }
    const provisional = inputs.some((r) => r.row?.status === 'provisional');
    const word = verdict.ok ? 'achieved' : 'missed';
    return {
      target: spec.target,
      measured: verdict.measured,
      ratio: verdict.ratio,
      status: provisional ? 'provisional' : word,
      detail: provisional
        ? `would be ${word} (${formatRatio(verdict.ratio)}), but measured with a stand-in adapter, not @shmkit/sync`
        : verdict.ok || floor === undefined
          ? ''
          : reach(spec, floor, values),
    };
  });
}
