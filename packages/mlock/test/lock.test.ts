import { mapAnonymous, pageSize, type Mapping } from '@shmkit/core';
import { rssBytes } from '@shmkit/testing';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { canLock, limits, lock, lockAll, lockedBytes, MemoryLock, unlock } from '../src/index';

const page = pageSize();
const opened: Mapping[] = [];
const held: MemoryLock[] = [];

function map(size: number): Mapping {
  const mapping = mapAnonymous(size);
  opened.push(mapping);
  return mapping;
}

function locked(...args: Parameters<typeof lock>): MemoryLock {
  const l = lock(...args);
  held.push(l);
  return l;
}

afterEach(() => {
  for (const l of held.splice(0)) l.unlock();
  for (const m of opened.splice(0)) m.close();
});

/** The "Locked:" (resident and locked) bytes of the VMA starting at `address`, from smaps. */
function smapsLocked(address: bigint): number {
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  const start = smaps.indexOf(`${address.toString(16)}-`);
  expect(start).toBeGreaterThanOrEqual(0);
  const kb = /\nLocked:\s+(\d+) kB/.exec(smaps.slice(start))?.[1];
  return Number(kb) * 1024;
}

describe('locking a Mapping', () => {
  it('raises VmLck by the pages of the mapping and unlocking restores it', () => {
    const mapping = map(16 * page);
    const before = lockedBytes();
    const l = locked(mapping);
    expect(l.byteLength).toBe(16 * page);
    expect(l.address).toBe(mapping.address);
    expect(l.locked).toBe(true);
    expect(l.onFault).toBe(false);
    expect(lockedBytes() - before).toBe(16 * page);
    expect(smapsLocked(mapping.address)).toBe(16 * page);
    expect(l.unlock()).toBe(true);
    expect(l.locked).toBe(false);
    expect(l.unlock()).toBe(false);
    expect(lockedBytes()).toBe(before);
  });

  it('rounds a byte range out to whole pages', () => {
    const mapping = map(8 * page);
    const before = lockedBytes();
    // One page of bytes starting mid-page touches two pages.
    const l = locked(mapping, { offset: page + 100, length: page });
    expect(l.byteLength).toBe(2 * page);
    expect(l.address).toBe(mapping.address + BigInt(page));
    expect(lockedBytes() - before).toBe(2 * page);
    // A single byte locks its whole page.
    const one = locked(mapping, { offset: 5 * page + 7, length: 1 });
    expect(one.byteLength).toBe(page);
    expect(lockedBytes() - before).toBe(3 * page);
    expect(unlock(mapping)).toBe(2);
    expect(lockedBytes()).toBe(before);
  });

  it('keeps a page locked while another lock still covers it', () => {
    const mapping = map(4 * page);
    const before = lockedBytes();
    const a = locked(mapping, { offset: 0, length: 100 });
    const b = locked(mapping, { offset: 200, length: 100 });
    expect(lockedBytes() - before).toBe(page);
    // munlock would drop the page for both; the registry keeps it for b.
    expect(a.unlock()).toBe(true);
    expect(b.locked).toBe(true);
    expect(lockedBytes() - before).toBe(page);
    expect(b.unlock()).toBe(true);
    expect(lockedBytes()).toBe(before);
  });

  it('unlock(target, range) ends only the locks overlapping that range', () => {
    const mapping = map(4 * page);
    const a = locked(mapping, { offset: 0, length: page });
    const b = locked(mapping, { offset: 2 * page, length: page });
    expect(unlock(mapping, { offset: 2 * page + 10, length: 1 })).toBe(1);
    expect([a.locked, b.locked]).toEqual([true, false]);
    expect(unlock(a)).toBe(1);
    expect(unlock(mapping)).toBe(0);
  });

  it('closing a locked Mapping ends the lock (munmap drops it) and keeps the books straight', () => {
    const mapping = map(8 * page);
    const before = lockedBytes();
    const l = locked(mapping);
    expect(lockedBytes() - before).toBe(8 * page);
    mapping.close();
    expect(lockedBytes()).toBe(before);
    expect(l.locked).toBe(false);
    expect(l.unlock()).toBe(false);
    expect(unlock(mapping)).toBe(0);
    // A new mapping (possibly at the same address) locks and unlocks cleanly.
    const again = map(8 * page);
    const l2 = locked(again);
    expect(lockedBytes() - before).toBe(8 * page);
    l2.unlock();
    expect(lockedBytes()).toBe(before);
  });

  it('onFault locks without populating; a plain lock populates', () => {
    const size = 512 * page;
    const plain = map(size);
    const lazy = map(size);

    const rss0 = rssBytes();
    const vm0 = lockedBytes();
    const l = locked(lazy, { onFault: true });
    expect(l.onFault).toBe(true);
    // This kernel counts an MLOCK_ONFAULT range in VmLck in full at once...
    expect(lockedBytes() - vm0).toBe(size);
    // ...but faults nothing in: no page of it is resident (smaps Locked: 0).
    expect(smapsLocked(lazy.address)).toBe(0);
    expect(rssBytes() - rss0).toBeLessThan(size / 4);
    // Touching pages faults them in, and they are locked as they arrive.
    const bytes = new Uint8Array(lazy.buffer);
    for (let i = 0; i < 16; i++) bytes[i * page] = 1;
    expect(smapsLocked(lazy.address)).toBe(16 * page);

    const rss1 = rssBytes();
    const p = locked(plain);
    expect(lockedBytes() - vm0).toBe(2 * size);
    expect(smapsLocked(plain.address)).toBe(size);
    expect(rssBytes() - rss1).toBeGreaterThanOrEqual(size * 0.9);

    l.unlock();
    p.unlock();
    expect(lockedBytes()).toBe(vm0);
  });
});

describe('locking buffers', () => {
  it('locks the pages of an ArrayBuffer, a Buffer and a TypedArray', () => {
    const before = lockedBytes();
    const ab = new ArrayBuffer(64 * 1024);
    const a = locked(ab);
    expect(a.byteLength % page).toBe(0);
    expect(a.byteLength).toBeGreaterThanOrEqual(64 * 1024);
    expect(a.byteLength).toBeLessThanOrEqual(64 * 1024 + page);
    expect(lockedBytes() - before).toBe(a.byteLength);
    expect(unlock(ab)).toBe(1);
    expect(lockedBytes()).toBe(before);

    const buf = Buffer.alloc(3 * page, 1);
    const b = locked(buf, { offset: 10, length: 20 });
    expect(b.byteLength).toBeLessThanOrEqual(2 * page);
    expect(lockedBytes() - before).toBe(b.byteLength);
    // unlock by the buffer's own ArrayBuffer finds it too.
    expect(unlock(buf.buffer)).toBe(1);

    const floats = new Float64Array(1024);
    locked(floats);
    expect(unlock(floats.subarray(0, 1))).toBe(1);
    expect(lockedBytes()).toBe(before);

    const view = new DataView(new ArrayBuffer(4 * page), 100, 50);
    const d = locked(view);
    expect(d.byteLength).toBeLessThanOrEqual(2 * page);
    expect(lockedBytes() - before).toBe(d.byteLength);
    // Bytes outside the view's own range are not its locks.
    expect(unlock(new Uint8Array(view.buffer, 200, 10))).toBe(0);
    expect(unlock(view)).toBe(1);
    expect(lockedBytes()).toBe(before);
  });

  it('two views that share a page keep separate locks', () => {
    const ab = new ArrayBuffer(4 * page);
    const left = new Uint8Array(ab, 0, 64);
    const right = new Uint8Array(ab, 128, 64);
    const before = lockedBytes();
    const l = locked(left);
    const r = locked(right);
    // Where the ArrayBuffer starts in its page decides which pages the two
    // views span (one shared page, or a page each): either way their union
    // is locked, and the right view's pages stay locked once the left is
    // unlocked.
    const start = l.address < r.address ? l.address : r.address;
    const endL = l.address + BigInt(l.byteLength);
    const endR = r.address + BigInt(r.byteLength);
    const union = Number((endL > endR ? endL : endR) - start);
    expect(lockedBytes() - before).toBe(union);
    expect(unlock(left)).toBe(1);
    expect(r.locked).toBe(true);
    expect(lockedBytes() - before).toBe(r.byteLength);
    expect(unlock(right)).toBe(1);
    expect(lockedBytes()).toBe(before);
  });

  it('a SharedArrayBuffer can be locked', () => {
    const before = lockedBytes();
    const sab = new SharedArrayBuffer(2 * page);
    const l = locked(sab);
    expect(lockedBytes() - before).toBe(l.byteLength);
    expect(unlock(sab)).toBe(1);
  });

  it('a locked buffer that is transferred away ends its lock', () => {
    const before = lockedBytes();
    const ab = new ArrayBuffer(8 * page);
    const l = locked(ab);
    expect(lockedBytes()).toBeGreaterThan(before);
    const moved = structuredClone(ab, { transfer: [ab] });
    expect(ab.byteLength).toBe(0);
    expect(l.locked).toBe(false);
    expect(lockedBytes()).toBe(before);
    expect(moved.byteLength).toBe(8 * page);
  });

  it('using ends the lock at the end of the scope', () => {
    const before = lockedBytes();
    {
      using l = lock(new Uint8Array(4 * page));
      expect(l.locked).toBe(true);
      expect(lockedBytes()).toBeGreaterThan(before);
    }
    expect(lockedBytes()).toBe(before);
  });
});

describe('limits', () => {
  it('reports RLIMIT_MEMLOCK the way prlimit does', () => {
    const l = limits();
    expect(l.soft).toBeGreaterThanOrEqual(0);
    expect(l.hard).toBeGreaterThanOrEqual(l.soft);
    const status = readFileSync('/proc/self/status', 'utf8');
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(status)![1]}`);
    expect(l.privileged).toBe((capEff & (1n << 14n)) !== 0n);
    const limitsFile = readFileSync('/proc/self/limits', 'utf8');
    const [, soft, hard] = /Max locked memory\s+(\S+)\s+(\S+)/.exec(limitsFile)!;
    expect(l.soft).toBe(soft === 'unlimited' ? Infinity : Number(soft));
    expect(l.hard).toBe(hard === 'unlimited' ? Infinity : Number(hard));
  });

  it('lockedBytes is VmLck', () => {
    const vmlck =
      Number(/VmLck:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
    expect(lockedBytes()).toBe(vmlck);
  });

  it('canLock is true with CAP_IPC_LOCK (the limit does not apply)', () => {
    if (limits().privileged) expect(canLock(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(canLock(0)).toBe(limits().soft > 0 || limits().privileged);
  });
});

describe('bad inputs', () => {
  it('rejects targets that are not memory', () => {
    for (const bad of [undefined, null, 42, 'text', {}, [1, 2]]) {
      expect(() => lock(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => unlock(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
    }
  });

  it('rejects empty, detached and resizable buffers', () => {
    expect(() => lock(new ArrayBuffer(0))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => lock(Buffer.alloc(0))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    const ab = new ArrayBuffer(16);
    structuredClone(ab, { transfer: [ab] });
    expect(() => lock(ab)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    // Node 20 has resizable ArrayBuffers; its TypeScript lib does not know them yet.
    const Resizable = ArrayBuffer as unknown as new (
      size: number,
      options: { maxByteLength: number },
    ) => ArrayBuffer;
    const resizable = new Resizable(16, { maxByteLength: 4096 });
    expect(() => lock(resizable)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => lock(new Uint8Array(resizable))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });

  it('rejects bad options', () => {
    const buf = Buffer.alloc(page);
    const mapping = map(page);
    for (const target of [buf, mapping]) {
      expect(() => lock(target, 5 as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => lock(target, { onFault: 'yes' as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => lock(target, { offset: -1 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(() => lock(target, { offset: 1.5 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(() => lock(target, { offset: '1' as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => lock(target, { length: 0 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(() => lock(target, { offset: page + 1 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(() => lock(target, { offset: page })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(() => lock(target, { offset: 10, length: page })).toThrow(
        expect.objectContaining({
          code: 'ERR_OUT_OF_RANGE',
          message: expect.stringContaining('"options.length"'),
        }),
      );
      expect(() => unlock(target, { length: -1 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      // Past the end, as for lock(): refused, not read as an empty range.
      for (const range of [{ offset: page + 1 }, { offset: page }, { offset: 10, length: page }])
        expect(() => unlock(target, range)).toThrow(
          expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
        );
    }
  });

  it('rejects a closed Mapping', () => {
    const mapping = mapAnonymous(page);
    mapping.close();
    expect(() => lock(mapping)).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
  });

  it('rejects bad lockAll options before calling mlockall', () => {
    expect(() => lockAll({ current: false })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => lockAll({ current: false, future: false })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => lockAll({ future: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => lockAll('all' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('rejects bad byte counts in canLock', () => {
    expect(() => canLock(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => canLock(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => canLock('1' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('MemoryLock cannot be constructed by hand', () => {
    const Ctor = MemoryLock as unknown as new () => MemoryLock;
    expect(() => new Ctor()).toThrow(TypeError);
  });
});
