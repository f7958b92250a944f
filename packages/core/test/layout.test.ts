// layout(): fields placed as a C compiler places a struct's members.
import { describe, expect, it } from 'vitest';
import { compileC, run } from '@shmkit/testing';
import { Layout, layout, mapAnonymous } from '../src/index';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

// Stand-ins with the shapes of @shmkit/sync's classes (core does not depend on sync).
const Mutex = { byteLength: 4, alignment: 4 };
const SharedEvent = { byteLength: 16, alignment: 4 };
const Semaphore = { byteLength: 32, alignment: 8 };

describe('layout', () => {
  it('places each field at the next multiple of its alignment, in order, and pads the end', () => {
    const l = layout({
      lock: Mutex,
      flag: 'uint8',
      count: 'int32',
      ready: SharedEvent,
      total: 'bigint64',
      items: Semaphore,
      samples: ['float64', 3],
      tail: 'int16',
    });
    expect(l.offsets).toEqual({
      lock: 0,
      flag: 4,
      count: 8,
      ready: 12,
      total: 32,
      items: 40,
      samples: 72,
      tail: 96,
    });
    expect(l.alignment).toBe(8);
    expect(l.byteLength).toBe(104); // 98 rounded up to 8
    expect(l.fields.samples).toEqual({
      offset: 72,
      byteLength: 24,
      alignment: 8,
      count: 3,
      stride: 8,
      scalar: 'float64',
    });
    expect(Object.isFrozen(l) && Object.isFrozen(l.offsets)).toBe(true);
  });

  it('agrees with the C compiler on the same struct', async () => {
    const bin = compileC(`
      #include <stdint.h>
      #include <stddef.h>
      #include <stdio.h>
      struct shared { int32_t lock; uint8_t flag; int32_t count; int32_t ready[4];
                      int64_t total; _Alignas(8) char items[32]; double samples[3]; int16_t tail; };
      int main(void) {
        printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\\n",
          offsetof(struct shared, lock), offsetof(struct shared, flag), offsetof(struct shared, count),
          offsetof(struct shared, ready), offsetof(struct shared, total), offsetof(struct shared, items),
          offsetof(struct shared, samples), offsetof(struct shared, tail),
          sizeof(struct shared), _Alignof(struct shared));
        return 0;
      }`);
    const c = (await run(bin, [])).stdout.trim().split(' ').map(Number);
    const l = layout({
      lock: 'int32',
      flag: 'uint8',
      count: 'int32',
      ready: ['int32', 4],
      total: 'bigint64',
      items: Semaphore,
      samples: ['float64', 3],
      tail: 'int16',
    });
    expect([...Object.values(l.offsets), l.byteLength, l.alignment]).toEqual(c);
  });

  it('arrays of placeables step by their stride; layouts nest', () => {
    const odd = { byteLength: 5, alignment: 4 };
    const l = layout({ head: 'uint8', slots: [odd, 3], after: 'uint8' });
    expect(l.fields.slots).toMatchObject({ offset: 4, stride: 8, byteLength: 21, count: 3 });
    expect(l.offsetOf('slots', 2)).toBe(20);
    expect(l.offsets.after).toBe(25);
    expect(l.byteLength).toBe(28);
    const outer = layout({ tag: 'uint8', inner: l, ring: [l, 2] });
    expect(outer.offsets).toEqual({ tag: 0, inner: 4, ring: 32 });
    expect(outer.byteLength).toBe(88);
    expect(new Layout({ x: 'int8' }).byteLength).toBe(1);
  });

  it('view() gives a typed, zero-copy view of a primitive field, at a base offset too', () => {
    const l = layout({ lock: Mutex, count: 'int32', samples: ['float64', 4] });
    using m = mapAnonymous(4096);
    const count: Int32Array = l.view(m, 'count');
    const samples: Float64Array = l.view(m, 'samples');
    expect([count.length, count.byteOffset, samples.length, samples.byteOffset]).toEqual([
      1, 4, 4, 8,
    ]);
    count[0] = 7;
    expect(m.int32Array(4, 1)[0]).toBe(7);
    const second = l.view(m, 'samples', l.byteLength);
    expect(second.byteOffset).toBe(l.byteLength + 8);
    expect(l.offsetOf('count', 0, 2 * l.byteLength)).toBe(2 * l.byteLength + 4);
  });

  it('rejects bad fields and bad uses with coded errors', () => {
    for (const [fields, code] of [
      [null, 'ERR_INVALID_ARG_TYPE'],
      [[1, 2], 'ERR_INVALID_ARG_TYPE'],
      [{ a: 'int128' }, 'ERR_INVALID_ARG_VALUE'],
      [{ a: 'toString' }, 'ERR_INVALID_ARG_VALUE'],
      [{ a: 42 }, 'ERR_INVALID_ARG_TYPE'],
      [{ a: ['int32', 0] }, 'ERR_OUT_OF_RANGE'],
      [{ a: ['int32', 1.5] }, 'ERR_OUT_OF_RANGE'],
      [{ a: ['int32'] }, 'ERR_INVALID_ARG_VALUE'],
      [{ a: { byteLength: 4, alignment: 3 } }, 'ERR_INVALID_ARG_VALUE'],
      [{ a: { byteLength: 0, alignment: 4 } }, 'ERR_OUT_OF_RANGE'],
      [{ a: { byteLength: 4 } }, 'ERR_INVALID_ARG_TYPE'],
      [{ 1: 'int32', a: 'int8' }, 'ERR_INVALID_ARG_VALUE'],
      [{ a: ['float64', 2 ** 52] }, 'ERR_OUT_OF_RANGE'],
    ] as const) {
      const error = thrown(() => layout(fields as never));
      expect({ fields, code: error.code }).toEqual({ fields, code });
    }
    const l = layout({ lock: Mutex, count: 'int32' });
    using m = mapAnonymous(8);
    expect(thrown(() => l.offsetOf('nope' as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => l.offsetOf('count', 1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => l.offsetOf('count', 0, 2)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => l.view(m, 'lock' as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    // A layout past the end of the mapping: the view's own bounds check.
    expect(thrown(() => l.view(m, 'count', 8)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('reads each field spec once, getters included', () => {
    let reads = 0;
    const sneaky = {
      get byteLength() {
        reads += 1;
        return reads === 1 ? 4 : 1e9;
      },
      alignment: 4,
    };
    const l = layout({ a: sneaky, b: 'int32' });
    expect([l.offsets.b, l.byteLength, reads]).toEqual([4, 8, 1]);
  });
});
