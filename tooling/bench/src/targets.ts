// The performance targets of issues #2, #6 and #8, judged against rows of
// the same run.
import { formatNs, formatRatio, formatValue } from './format.js';
import { channelTargets } from './cases/channel-targets.js';
import type { Row } from './registry.js';

export type TargetStatus = 'achieved' | 'missed' | 'provisional' | 'pending' | 'not measured';

export interface TargetResult {
  target: string;
  /** What was measured, in words. */
  measured: string;
  /** The figure compared to the limit, as a ratio where the target is relative. */
  ratio?: number;
  status: TargetStatus;
  detail: string;
}

export interface TargetSpec {
  target: string;
  rows: string[];
  /** Given the rows (all measured), the figure and whether it meets the target. */
  judge(values: number[]): { ratio: number; ok: boolean; measured: string };
}

const SPECS: TargetSpec[] = [
  {
    target: 'Node-API noop ≤ 2x the C addon noop',
    rows: ['call.shmkit-noop', 'call.c-addon-noop'],
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
    target: 'Blocking RTT ≤ 1.3x the C futex RTT',
    rows: ['sync.rtt-blocking', 'rtt.c-futex'],
    judge: ([v = 0, c = 1]) => ({
      ratio: v / c,
      ok: v / c <= 1.3,
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
    target: 'Bulk through shared memory ≥ 0.5x memcpy',
    rows: ['sync.bulk-ring', 'bulk.c-memcpy'],
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

export function judgeTargets(rows: Map<string, Row>): TargetResult[] {
  return SPECS.map((spec) => {
    const inputs = spec.rows.map((id) => rows.get(id));
    const missing = inputs.findIndex((r) => r === undefined || r.value === undefined);
    if (missing >= 0) {
      const r = inputs[missing];
      const status: TargetStatus = r?.status === 'pending' ? 'pending' : 'not measured';
      const detail =
        r === undefined
          ? `row ${spec.rows[missing] ?? ''} not run (filtered out)`
          : (r.note ?? r.status);
      return { target: spec.target, measured: '', status, detail };
    }
    const verdict = spec.judge(inputs.map((r) => r?.value as number));
    const provisional = inputs.some((r) => r?.status === 'provisional');
    const word = verdict.ok ? 'achieved' : 'missed';
    return {
      target: spec.target,
      measured: verdict.measured,
      ratio: verdict.ratio,
      status: provisional ? 'provisional' : word,
      detail: provisional
        ? `would be ${word} (${formatRatio(verdict.ratio)}), but measured with a stand-in adapter, not @shmkit/sync`
        : '',
    };
  });
}
