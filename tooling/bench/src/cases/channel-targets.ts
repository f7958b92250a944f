// The @shmkit/channel targets (issue 14), judged on rows of the same run.
import { formatNs } from '../format.js';
import type { TargetSpec } from '../target-spec.js';

const rate = (ns: number): string => `${(1e3 / ns).toFixed(2)} M msg/s`;

export const channelTargets: TargetSpec[] = [
  {
    target: 'channel spsc 64 B sync send+receive ≥ 10 M msg/s',
    rows: ['msg.channel-64'],
    floor: 'msg.floor-fed-copy-64',
    judge: ([v = 1]) => ({
      ratio: 100 / v,
      ok: v <= 100,
      measured: `${rate(v)} (ratio to 10 M msg/s)`,
    }),
  },
  {
    target: 'channel spsc 64 B ≥ 20x the Unix-socket message rate',
    rows: ['msg.channel-64', 'msg.uds-64'],
    floor: 'msg.floor-fed-copy-64',
    judge: ([v = 1, uds = 0]) => ({
      ratio: uds / v,
      ok: uds / v >= 20,
      measured: `${rate(v)} vs ${rate(uds)} (speed-up)`,
    }),
  },
  {
    target: 'channel spsc 64 B through for await ≥ 3 M msg/s',
    rows: ['msg.channel-iter-64'],
    floor: 'msg.floor-fed-iter-64',
    judge: ([v = 1]) => ({
      ratio: 1e3 / 3 / v,
      ok: v <= 1e3 / 3,
      measured: `${rate(v)} (ratio to 3 M msg/s)`,
    }),
  },
  {
    target: 'channel 1 MiB messages ≥ 0.8x the copy ceiling',
    rows: ['msg.channel-peek-1m', 'msg.copy-1m'],
    judge: ([v = 1, ceiling = 0]) => ({
      ratio: ceiling / v,
      ok: ceiling / v >= 0.8,
      measured: `${formatNs(v)} vs ${formatNs(ceiling)} per message (rate ratio)`,
    }),
  },
  {
    target: 'channel 8 B round trip with spin ≤ 1 µs',
    rows: ['rtt.channel-spin'],
    floor: 'rtt.node-spin',
    judge: ([v = 0]) => ({
      ratio: v / 1000,
      ok: v <= 1000,
      measured: `${formatNs(v)} (ratio to the 1 µs limit)`,
    }),
  },
  {
    target: 'channel 8 B round trip async on both sides ≤ 2x the sync blocking one',
    rows: ['rtt.channel-async', 'rtt.channel-sync'],
    judge: ([a = 0, s = 1]) => ({
      ratio: a / s,
      ok: a / s <= 2,
      measured: `${formatNs(a)} vs ${formatNs(s)}`,
    }),
  },
  {
    target: 'channel mpsc, 4 sending processes ≥ 0.5x the spsc rate',
    rows: ['msg.channel-mpsc4-64', 'msg.channel-64'],
    judge: ([m = 1, s = 0]) => ({
      ratio: s / m,
      ok: s / m >= 0.5,
      measured: `${rate(m)} vs ${rate(s)}`,
    }),
  },
];
