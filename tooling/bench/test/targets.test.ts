// How a target with a floor row is judged: a row that beats its floor is no
// result, and a missed target says whether its floor would have met it.
import { describe, expect, it } from 'vitest';
import type { Row } from '../src/registry.js';
import { judgeTargets, type TargetResult } from '../src/targets.js';

function rows(values: Record<string, number>): Map<string, Row> {
  return new Map(
    Object.entries(values).map(([id, value]) => [
      id,
      { id, group: 'messages', title: id, unit: 'ns', status: 'measured', value } satisfies Row,
    ]),
  );
}

function target(results: TargetResult[], prefix: string): TargetResult {
  const found = results.find((t) => t.target.startsWith(prefix));
  if (found === undefined) throw new Error(`no target ${prefix}`);
  return found;
}

const RATE = 'channel spsc 64 B sync send+receive';
const SOCKET = 'channel spsc 64 B ≥ 20x';
const SPIN = 'channel 8 B round trip with spin';

describe('targets with a floor row', () => {
  it('a missed target whose floor misses it too is out of reach', () => {
    const t = target(
      judgeTargets(rows({ 'msg.channel-64': 250, 'msg.floor-fed-copy-64': 160 })),
      RATE,
    );
    expect(t.status).toBe('missed');
    expect(t.detail).toMatch(
      /^out of reach in this run: its floor \(msg\.floor-fed-copy-64, 160 ns\)/,
    );
  });

  it('a missed target whose floor would meet it is within reach', () => {
    const t = target(
      judgeTargets(rows({ 'msg.channel-64': 250, 'msg.floor-fed-copy-64': 90 })),
      RATE,
    );
    expect(t.status).toBe('missed');
    expect(t.detail).toMatch(/^within reach: /);
  });

  it('the floor is judged with the other rows of the target', () => {
    const judged = (floor: number): string =>
      target(
        judgeTargets(
          rows({ 'msg.channel-64': 250, 'msg.uds-64': 1000, 'msg.floor-fed-copy-64': floor }),
        ),
        SOCKET,
      ).detail;
    expect(judged(49)).toMatch(/^within reach/);
    expect(judged(51)).toMatch(/^out of reach/);
  });

  it('a row faster than its floor proves the floor wrong, never a win', () => {
    const t = target(
      judgeTargets(rows({ 'msg.channel-64': 80, 'msg.floor-fed-copy-64': 90 })),
      RATE,
    );
    expect(t.status).toBe('bound wrong');
    expect(t.detail).toContain('msg.floor-fed-copy-64');
  });

  it('a met target, or one whose floor was not run, says nothing about reach', () => {
    const results = judgeTargets(
      rows({ 'msg.channel-64': 95, 'msg.floor-fed-copy-64': 90, 'rtt.channel-spin': 2000 }),
    );
    expect(target(results, RATE)).toMatchObject({ status: 'achieved', detail: '' });
    expect(target(results, SPIN)).toMatchObject({ status: 'missed', detail: '' });
  });
});
