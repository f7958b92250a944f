// The batching list (flush.ts) on its own: every queued end publishes once
// per publishAll, an end queued while the list is walked is published in
// the same pass, and an end whose publish throws does not take the others
// down with it.
import { join } from 'node:path';
import { runNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { QUEUED, publishAll, publishLater, type Publisher } from '../src/flush';
import { pkgDir } from './helpers';

class FakeEnd implements Publisher {
  [QUEUED] = false;
  published = 0;
  constructor(private readonly onPublish: () => void = () => {}) {}
  publish(): void {
    this.published++;
    this.onPublish();
  }
}

describe('publishLater / publishAll', () => {
  it('publishes each queued end once, however often it was queued', () => {
    const a = new FakeEnd();
    const b = new FakeEnd();
    publishLater(a);
    publishLater(b);
    publishLater(a);
    publishAll();
    expect([a.published, b.published]).toEqual([1, 1]);
    expect([a[QUEUED], b[QUEUED]]).toEqual([false, false]);
    publishAll();
    expect([a.published, b.published]).toEqual([1, 1]);
  });

  it('publishes an end queued by another end’s publish in the same pass', () => {
    const late = new FakeEnd();
    const early = new FakeEnd(() => publishLater(late));
    publishLater(early);
    publishAll();
    expect([early.published, late.published]).toEqual([1, 1]);
    expect(late[QUEUED]).toBe(false);
  });

  it('an end may queue itself again while it publishes', () => {
    let again = true;
    const end: FakeEnd = new FakeEnd(() => {
      if (again) {
        again = false;
        publishLater(end);
      }
    });
    publishLater(end);
    publishAll();
    expect(end.published).toBe(2);
    expect(end[QUEUED]).toBe(false);
  });

  it('keeps the ends after one that throws queued, in order, for the next call', () => {
    const order: string[] = [];
    const first = new FakeEnd(() => order.push('first'));
    const bad = new FakeEnd(() => {
      throw new Error('boom');
    });
    const second = new FakeEnd(() => order.push('second'));
    const third = new FakeEnd(() => order.push('third'));
    for (const end of [first, bad, second, third]) publishLater(end);
    expect(() => publishAll()).toThrow('boom');
    expect(order).toEqual(['first']);
    expect([second[QUEUED], third[QUEUED]]).toEqual([true, true]);
    // The end that threw is no longer queued: its next commit queues it again.
    expect(bad[QUEUED]).toBe(false);
    publishAll();
    expect(order).toEqual(['first', 'second', 'third']);
    expect([first.published, bad.published, second.published, third.published]).toEqual([
      1, 1, 1, 1,
    ]);
  });

  it('ends after one that throws in the end-of-turn publish still publish at the end of a turn', async () => {
    // The throw escapes setImmediate, so this runs in a child that catches it.
    const r = await runNode(
      `import { QUEUED, publishLater } from ${JSON.stringify(join(pkgDir, 'dist', 'flush.js'))};
       const errors = [];
       process.on('uncaughtException', (error) => errors.push(error.message));
       const end = (name, fail) => ({ [QUEUED]: false, published: 0, name,
         publish() { this.published++; if (fail) throw new Error(name + ' failed'); } });
       const bad = end('bad', true), good = end('good', false);
       publishLater(bad);
       publishLater(good);
       await new Promise((resolve) => setTimeout(resolve, 50));
       console.log(JSON.stringify({ errors, bad: bad.published, good: good.published, queued: good[QUEUED] }));`,
      { cwd: pkgDir },
    );
    expect(JSON.parse(r.stdout)).toEqual({
      errors: ['bad failed'],
      bad: 1,
      good: 1,
      queued: false,
    });
  });

  it('many ends, many passes: nothing is lost or repeated', () => {
    const ends = Array.from({ length: 50 }, () => new FakeEnd());
    for (let pass = 1; pass <= 200; pass++) {
      for (let i = 0; i < ends.length; i++) if ((i + pass) % 3 !== 0) publishLater(ends[i]!);
      publishAll();
    }
    for (let i = 0; i < ends.length; i++) {
      let expected = 0;
      for (let pass = 1; pass <= 200; pass++) if ((i + pass) % 3 !== 0) expected++;
      expect(ends[i]!.published).toBe(expected);
    }
  });
});
