// Mapping's typed views, readInto and residency.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '@shmkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { mapAnonymous, pageSize, type Mapping } from '../src/index';
import { adoptMapping, native } from '../src/internal';

const dir = mkdtempSync(join(tmpdir(), 'shmkit-views-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

const KINDS = [
  ['int8Array', Int8Array],
  ['uint8Array', Uint8Array],
  ['uint8ClampedArray', Uint8ClampedArray],
  ['int16Array', Int16Array],
  ['uint16Array', Uint16Array],
  ['int32Array', Int32Array],
  ['uint32Array', Uint32Array],
  ['float32Array', Float32Array],
  ['float64Array', Float64Array],
  ['bigInt64Array', BigInt64Array],
  ['bigUint64Array', BigUint64Array],
] as const;

type ViewMethod = (typeof KINDS)[number][0];
const view = (m: Mapping, method: ViewMethod, ...args: unknown[]) =>
  (m[method] as (...a: unknown[]) => ArrayBufferView & { length: number })(...args);

describe('typed views', () => {
  it.each(KINDS)(
    '%s: zero-copy over the mapping, every whole element by default',
    (method, View) => {
      using m = mapAnonymous(pageSize());
      const size = View.BYTES_PER_ELEMENT;
      const all = view(m, method);
      expect(all).toBeInstanceOf(View);
      expect(all.length).toBe(pageSize() / size);
      expect(all.buffer).toBe(m.buffer);
      const part = view(m, method, 2 * size, 3);
      expect([part.byteOffset, part.length]).toEqual([2 * size, 3]);
      // From an offset: every whole element to the end (none is cut in half).
      expect(view(m, method, size).length).toBe(pageSize() / size - 1);
      expect(view(m, method, pageSize()).length).toBe(0);
      // The views share the pages.
      new Uint8Array(m.buffer).fill(1, 0, 8);
      const first = (view(m, method) as unknown as ArrayLike<number | bigint>)[0];
      expect(first === 0 || first === 0n).toBe(false);
    },
  );

  it.each(KINDS.filter(([, View]) => View.BYTES_PER_ELEMENT > 1))(
    '%s: a byteOffset off the element size is ERR_INVALID_ARG_VALUE (RangeError)',
    (method, View) => {
      using m = mapAnonymous(pageSize());
      const error = thrown(() => view(m, method, View.BYTES_PER_ELEMENT / 2));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(error.message).toContain(`must be a multiple of ${View.BYTES_PER_ELEMENT}`);
    },
  );

  it.each(KINDS)(
    '%s: bad offsets and lengths throw coded errors, never V8 RangeErrors',
    (method) => {
      using m = mapAnonymous(pageSize());
      for (const [args, code, Class] of [
        [[-1], 'ERR_OUT_OF_RANGE', RangeError],
        [[pageSize() + 8], 'ERR_OUT_OF_RANGE', RangeError],
        [[0.5], 'ERR_OUT_OF_RANGE', RangeError],
        [[0, 1e9], 'ERR_OUT_OF_RANGE', RangeError],
        [[0, -1], 'ERR_OUT_OF_RANGE', RangeError],
        [[0, 1.5], 'ERR_OUT_OF_RANGE', RangeError],
        [[8, pageSize()], 'ERR_OUT_OF_RANGE', RangeError],
        [['8'], 'ERR_INVALID_ARG_TYPE', TypeError],
        [[8n], 'ERR_INVALID_ARG_TYPE', TypeError],
        [[0, '1'], 'ERR_INVALID_ARG_TYPE', TypeError],
        [[NaN], 'ERR_OUT_OF_RANGE', RangeError],
      ] as const) {
        const error = thrown(() => view(m, method, ...args));
        expect({ args, code: error.code, cls: error.constructor.name }).toEqual({
          args,
          code,
          cls: Class.name,
        });
      }
    },
  );

  it('the cases from issue 13: int32Array(2), uint8Array(-1), uint8Array(0, 1e9)', () => {
    using m = mapAnonymous(pageSize());
    expect(thrown(() => m.int32Array(2)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => m.uint8Array(-1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => m.uint8Array(0, 1e9)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('dataView takes any byte offset and a byteLength, with the same checks', () => {
    using m = mapAnonymous(pageSize());
    const dv = m.dataView(3, 9);
    dv.setFloat64(1, Math.PI, true);
    expect(m.float64Array(0, 2)[0]).not.toBe(Math.PI);
    expect(new DataView(m.buffer).getFloat64(4, true)).toBe(Math.PI);
    expect(m.dataView(1).byteLength).toBe(pageSize() - 1);
    expect(thrown(() => m.dataView(0, pageSize() + 1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => m.dataView(-1)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('64-bit Atomics work on bigInt64Array views', () => {
    using m = mapAnonymous(pageSize());
    const counters = m.bigInt64Array(8, 1);
    expect(Atomics.add(counters, 0, 2n ** 40n)).toBe(0n);
    expect(Atomics.load(counters, 0)).toBe(2n ** 40n);
  });

  it('views of a closed mapping throw ERR_SHMKIT_CLOSED; of a read-only one ERR_SHMKIT_READ_ONLY', () => {
    const m = mapAnonymous(pageSize());
    m.close();
    for (const [method] of KINDS)
      expect(thrown(() => view(m, method)).code).toBe('ERR_SHMKIT_CLOSED');
    expect(thrown(() => m.dataView()).code).toBe('ERR_SHMKIT_CLOSED');
    using readOnly = readOnlyFileMapping('ro-views', Buffer.from('x'));
    expect(thrown(() => readOnly.float64Array()).code).toBe('ERR_SHMKIT_READ_ONLY');
  });
});

/** A MAP_SHARED, PROT_READ mapping of a file: no buffer, only copies. */
function readOnlyFileMapping(name: string, contents: Buffer): Mapping {
  const path = join(dir, name);
  writeFileSync(path, contents);
  const fd = openSync(path, 'r');
  try {
    const init = native.mapFd(fd, 0, contents.length, { readOnly: true, shared: true });
    return adoptMapping(init, { kind: 'file', readOnly: true });
  } finally {
    closeSync(fd);
  }
}

describe('readInto', () => {
  it('copies into a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer at an offset', () => {
    using m = mapAnonymous(pageSize());
    m.uint8Array().set([1, 2, 3, 4, 5, 6, 7, 8], 100);
    const buf = Buffer.alloc(4);
    expect(m.readInto(buf, 100)).toBe(4);
    expect([...buf]).toEqual([1, 2, 3, 4]);
    const words = new Uint16Array(2);
    expect(m.readInto(words, 102n)).toBe(4);
    expect([...new Uint8Array(words.buffer)]).toEqual([3, 4, 5, 6]);
    const dv = new DataView(new ArrayBuffer(8), 2, 3);
    expect(m.readInto(dv, 105)).toBe(3);
    expect([...new Uint8Array(dv.buffer)]).toEqual([0, 0, 6, 7, 8, 0, 0, 0]);
    const ab = new ArrayBuffer(2);
    expect(m.readInto(ab, 100)).toBe(2);
    expect([...new Uint8Array(ab)]).toEqual([1, 2]);
    const sab = new SharedArrayBuffer(3);
    expect(m.readInto(sab, 101)).toBe(3);
    expect([...new Uint8Array(sab)]).toEqual([2, 3, 4]);
  });

  it('copies what fits, so a loop reads the whole mapping through one small buffer', () => {
    using m = mapAnonymous(pageSize() + 100);
    const bytes = m.uint8Array();
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const chunk = Buffer.alloc(1000);
    const copy: Buffer[] = [];
    for (let at = 0; at < m.byteLength; ) {
      const n = m.readInto(chunk, at);
      copy.push(Buffer.from(chunk.subarray(0, n)));
      at += n;
    }
    expect(Buffer.concat(copy).equals(Buffer.from(bytes))).toBe(true);
    expect(m.readInto(chunk, m.byteLength)).toBe(0);
    // An explicit length copies exactly that many.
    expect(m.readInto(chunk, 0, 10)).toBe(10);
  });

  it('reads a read-only shared mapping, which has no buffer to view', () => {
    using m = readOnlyFileMapping('ro', Buffer.from('read-only but readable'));
    expect(thrown(() => m.buffer).code).toBe('ERR_SHMKIT_READ_ONLY');
    const target = new Uint8Array(9);
    expect(m.readInto(target, 14)).toBe(8);
    expect(Buffer.from(target.subarray(0, 8)).toString()).toBe('readable');
  });

  it('rejects bad targets, offsets and lengths with coded errors', () => {
    using m = mapAnonymous(pageSize());
    const target = new Uint8Array(16);
    for (const [args, code] of [
      [[{}], 'ERR_INVALID_ARG_TYPE'],
      [['bytes'], 'ERR_INVALID_ARG_TYPE'],
      [[undefined], 'ERR_INVALID_ARG_TYPE'],
      [[target, -1], 'ERR_OUT_OF_RANGE'],
      [[target, pageSize() + 1], 'ERR_OUT_OF_RANGE'],
      [[target, 0.5], 'ERR_OUT_OF_RANGE'],
      [[target, '0'], 'ERR_INVALID_ARG_TYPE'],
      [[target, 0, 17], 'ERR_OUT_OF_RANGE'],
      [[target, pageSize() - 4, 8], 'ERR_OUT_OF_RANGE'],
      [[target, 0, -1], 'ERR_OUT_OF_RANGE'],
      [[target, 0, 1.5], 'ERR_OUT_OF_RANGE'],
    ] as const) {
      const error = thrown(() => (m.readInto as (...a: unknown[]) => number)(...args));
      expect({ args: args.length, code: error.code }).toEqual({ args: args.length, code });
    }
    m.protect('none', { offset: 0, length: pageSize() });
    expect(thrown(() => m.readInto(target, 0)).code).toBe('ERR_SHMKIT_PROTECTED');
    m.close();
    expect(thrown(() => m.readInto(target, 0)).code).toBe('ERR_SHMKIT_CLOSED');
  });

  it('survives hostile targets in a child process: detached, its own buffer, a closed mapping', async () => {
    const r = await runNode(
      `import { mapAnonymous } from '@shmkit/core';
       const m = mapAnonymous(8192);
       m.uint8Array().set([9, 8, 7, 6], 0);
       // A detached ArrayBuffer spans nothing: nothing is copied.
       const gone = new ArrayBuffer(8); structuredClone(gone, { transfer: [gone] });
       const a = m.readInto(gone, 0);
       // A view over the mapping's own buffer: an overlapping copy.
       const b = m.readInto(m.uint8Array(2, 4), 0);
       const own = [...m.uint8Array(0, 6)];
       // A view over another, closed mapping: detached, length 0.
       const other = mapAnonymous(4096); const stale = other.uint8Array(); other.close();
       const c = m.readInto(stale, 0);
       console.log(JSON.stringify([a, b, own, c]));`,
      { cwd: join(import.meta.dirname, '..') },
    );
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(JSON.parse(r.stdout)).toEqual([0, 4, [9, 8, 9, 8, 7, 6], 0]);
  });
});

describe('residency', () => {
  it('reports which pages are resident, page by page, without faulting any in', () => {
    // Private: dontneed frees its pages (shared memory keeps them in the page cache).
    using m = mapAnonymous(4 * pageSize(), { shared: false });
    const before = m.residency();
    expect(before).toEqual({ pages: 4, resident: 0, vector: new Uint8Array(4) });
    m.uint8Array()[pageSize() + 1] = 1;
    m.uint8Array()[3 * pageSize()] = 1;
    expect(m.residency()).toEqual({ pages: 4, resident: 2, vector: new Uint8Array([0, 1, 0, 1]) });
    expect(m.residency({ offset: 2 * pageSize() })).toMatchObject({ pages: 2, resident: 1 });
    expect(m.residency({ offset: pageSize(), length: 1 })).toMatchObject({ pages: 1, resident: 1 });
    m.advise('dontneed', { offset: pageSize(), length: pageSize() });
    expect(m.residency().vector).toEqual(new Uint8Array([0, 0, 0, 1]));
  });

  it('for shared memory, tells whether the page is in memory for anyone, not just here', () => {
    using m = mapAnonymous(2 * pageSize());
    m.uint8Array()[0] = 1;
    m.advise('dontneed', { offset: 0, length: pageSize() });
    // This process dropped its page table entry; the page itself stays.
    expect(m.residency().vector).toEqual(new Uint8Array([1, 0]));
    expect(m.uint8Array()[0]).toBe(1);
  });

  it('works on read-only and protected mappings, and checks its range', () => {
    using ro = readOnlyFileMapping('resident', Buffer.alloc(pageSize(), 1));
    ro.read(0, 1);
    expect(ro.residency().resident).toBe(1);
    using m = mapAnonymous(2 * pageSize());
    m.uint8Array()[0] = 1;
    m.protect('none');
    expect(m.residency().vector).toEqual(new Uint8Array([1, 0]));
    expect(thrown(() => m.residency({ offset: 1 })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => m.residency({ offset: 3 * pageSize() })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => m.residency({ length: 3 * pageSize() })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => m.residency({ offset: '0' } as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});
