import { readFileSync } from 'node:fs';
import { uniqueKey } from '@shmkit/testing';
import { Mapping, pageSize } from '@shmkit/core';
import { describe, expect, it } from 'vitest';
import { formatKey, ftok, IPC_PRIVATE, SysvSegment } from '../src/index';
import { thrown, track } from './helpers';

describe('SysvSegment.create / open / fromId', () => {
  it('creates with safe defaults and reports id, key, size', () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 10_000 }));
    expect(seg.created).toBe(true);
    expect(seg.key).toBe(key);
    expect(seg.size).toBe(10_000);
    const st = seg.stat();
    expect(st).toMatchObject({
      id: seg.id,
      key,
      size: 10_000,
      mode: 0o600,
      nattch: 0,
      removed: false,
      locked: false,
    });
    expect(st.cpid).toBe(process.pid);
    expect(st.uid).toBe(process.getuid!());
    expect(st.atime).toBeNull();
    expect(st.dtime).toBeNull();
    expect(st.ctime).toBeInstanceOf(Date);
    expect(Math.abs(st.ctime!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(seg.toString()).toBe(`SysvSegment(id ${seg.id}, key ${formatKey(key)})`);
  });

  it('opens by key (any size or a smaller one) and by id', () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 5000, mode: 0o640 }));
    const opened = SysvSegment.open({ key });
    expect(opened.id).toBe(seg.id);
    expect(opened.created).toBe(false);
    expect(opened.size).toBe(5000);
    expect(SysvSegment.open({ key, size: 4000 }).id).toBe(seg.id);
    const byId = SysvSegment.fromId(seg.id);
    expect(byId.key).toBe(key);
    expect(byId.size).toBe(5000);
    expect(byId.stat().mode).toBe(0o640);
  });

  it('non-exclusive create opens an existing segment and says it did not create it', () => {
    const key = uniqueKey();
    const first = track(SysvSegment.create({ key, size: 8192 }));
    const second = SysvSegment.create({ key, size: 100 });
    expect(second.id).toBe(first.id);
    expect(second.created).toBe(false);
    expect(second.size).toBe(8192);
    second[Symbol.dispose](); // not ours: must not remove
    expect(first.stat().removed).toBe(false);
    first[Symbol.dispose]();
    expect(thrown(() => SysvSegment.open({ key })).code).toBe('ENOENT');
  });

  it('IPC_PRIVATE always makes a new segment, reachable by id', () => {
    const a = track(SysvSegment.create({ size: 100 }));
    const b = track(SysvSegment.create({ key: IPC_PRIVATE, size: 100 }));
    expect(a.id).not.toBe(b.id);
    expect(a.key).toBe(0);
    expect(SysvSegment.fromId(a.id).size).toBe(100);
  });

  it('noReserve and hugePages reach shmget', () => {
    const seg = track(SysvSegment.create({ size: 1 << 20, noReserve: true }));
    const m = seg.attach();
    m.uint8Array()[(1 << 20) - 1] = 1;
    m.detach();
    const hugePagesFree = Number(
      /HugePages_Free:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0,
    );
    const hugeSize =
      Number(/Hugepagesize:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 2048) *
      1024;
    if (hugePagesFree === 0) {
      const e = thrown(() => SysvSegment.create({ size: hugeSize, hugePages: true }));
      expect(e).toMatchObject({ code: 'ENOMEM', syscall: 'shmget' });
      expect(String(e.hint)).toMatch(/nr_hugepages/);
    } else {
      const huge = track(SysvSegment.create({ size: hugeSize, hugePages: true }));
      expect(huge.size).toBe(hugeSize);
    }
    expect(
      thrown(() => SysvSegment.create({ size: 1, hugePages: 1 as unknown as boolean })).code,
    ).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('mode 0 is honoured when asked for explicitly', () => {
    const seg = track(SysvSegment.create({ size: 100, mode: 0 }));
    expect(seg.stat().mode).toBe(0);
  });
});

describe('errors, by code', () => {
  it('ENOENT for a missing key, with the key in hex', () => {
    const key = uniqueKey();
    const e = thrown(() => SysvSegment.open({ key }));
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'shmget', key, errno: -2 });
    expect(e.message).toBe(`ENOENT: no such file or directory, shmget key ${formatKey(key)}`);
  });

  it('EEXIST for an exclusive create of a taken key', () => {
    const key = uniqueKey();
    track(SysvSegment.create({ key, size: 100 }));
    const e = thrown(() => SysvSegment.create({ key, size: 100, exclusive: true }));
    expect(e).toMatchObject({ code: 'EEXIST', syscall: 'shmget', key });
  });

  it('EINVAL for opening (or non-exclusively creating) with a larger size', () => {
    const key = uniqueKey();
    track(SysvSegment.create({ key, size: 4096 }));
    const e = thrown(() => SysvSegment.open({ key, size: 4097 }));
    expect(e).toMatchObject({ code: 'EINVAL', syscall: 'shmget', key });
    expect(String(e.hint)).toMatch(/smaller than the 4097 bytes/);
    expect(thrown(() => SysvSegment.create({ key, size: 8192 })).code).toBe('EINVAL');
  });

  it('EINVAL/EIDRM for operations on a removed id, with a hint', () => {
    const seg = track(SysvSegment.create({ size: 100 }));
    const id = seg.id;
    seg.remove();
    for (const op of [
      () => seg.stat(),
      () => seg.attach(),
      () => seg.remove(),
      () => seg.lock(),
      () => seg.set({ mode: 0o644 }),
      () => SysvSegment.fromId(id),
    ]) {
      const e = thrown(op);
      expect(['EINVAL', 'EIDRM']).toContain(e.code);
      expect(e.id).toBe(id);
      expect(e.message).toMatch(new RegExp(`id ${id}`));
      expect(String(e.hint)).toMatch(/removed/);
    }
    seg[Symbol.dispose](); // already removed by us: nothing to do
  });

  it('rejects bad keys before any system call', () => {
    for (const key of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      const e = thrown(() => SysvSegment.create({ key, size: 100 }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('ERR_OUT_OF_RANGE');
      expect(thrown(() => SysvSegment.open({ key })).code).toBe('ERR_OUT_OF_RANGE');
    }
    for (const key of ['1', 1n, null, {}]) {
      const e = thrown(() => SysvSegment.create({ key: key as unknown as number, size: 100 }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
    }
    expect(thrown(() => SysvSegment.open({} as { key: number })).code).toBe('ERR_INVALID_ARG_TYPE');
    const priv = thrown(() => SysvSegment.open({ key: IPC_PRIVATE }));
    expect(priv).toBeInstanceOf(RangeError);
    expect(priv.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(() => formatKey(-1)).toThrow(RangeError);
  });

  it('rejects bad sizes, modes, ids and options', () => {
    for (const size of [0, -1, 1.5, 2 ** 53]) {
      expect(thrown(() => SysvSegment.create({ size })).code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(thrown(() => SysvSegment.create({} as { size: number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => SysvSegment.create({ size: '1' as unknown as number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => SysvSegment.open({ key: 1, size: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    for (const mode of [-1, 0o1000, 0o4755, 1.5]) {
      const e = thrown(() => SysvSegment.create({ size: 1, mode }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('ERR_OUT_OF_RANGE');
    }
    expect(
      thrown(() => SysvSegment.create({ size: 1, mode: '600' as unknown as number })).code,
    ).toBe('ERR_INVALID_ARG_TYPE');
    expect(
      thrown(() => SysvSegment.create({ size: 1, exclusive: 1 as unknown as boolean })).code,
    ).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysvSegment.create(null as unknown as { size: number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => SysvSegment.create('x' as unknown as { size: number })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    for (const id of [-1, 2 ** 31, 0.5])
      expect(thrown(() => SysvSegment.fromId(id)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysvSegment.fromId('1' as unknown as number)).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    const seg = track(SysvSegment.create({ size: 1 }));
    expect(thrown(() => seg.attach({ readOnly: 'yes' as unknown as boolean })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(thrown(() => seg.set({ mode: 0o1777 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => seg.set({ uid: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => seg.set({ gid: 2 ** 32 })).code).toBe('ERR_OUT_OF_RANGE');
  });
});

describe('attach', () => {
  it('returns a zero-copy core Mapping over the real segment size; each attach is separate', () => {
    const seg = track(SysvSegment.create({ size: 10_000 }));
    const a = seg.attach();
    const b = seg.attach();
    expect(a).toBeInstanceOf(Mapping);
    expect(a.kind).toBe('sysv-shm');
    expect(a.byteLength).toBe(10_000);
    expect(a.segmentId).toBe(seg.id);
    expect(a.address).not.toBe(b.address);
    expect(a.address % BigInt(pageSize())).toBe(0n);
    expect(seg.stat().nattch).toBe(2);
    a.uint8Array()[9_999] = 7;
    Atomics.store(a.int32Array(), 0, 123);
    expect(b.uint8Array()[9_999]).toBe(7);
    expect(Atomics.load(b.int32Array(), 0)).toBe(123);
    const st = seg.stat();
    expect(st.atime).toBeInstanceOf(Date);
    expect(st.lpid).toBe(process.pid);
    a.detach();
    b.close();
    expect(seg.stat().nattch).toBe(0);
    expect(seg.stat().dtime).toBeInstanceOf(Date);
  });

  it('open({ size }) smaller than the segment still maps the whole segment', () => {
    const key = uniqueKey();
    track(SysvSegment.create({ key, size: 6000 }));
    const m = SysvSegment.open({ key, size: 10 }).attach();
    expect(m.byteLength).toBe(6000);
    m.detach();
  });

  it('detach() detaches every view (stale views are empty, never a crash) and is idempotent', () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    const m = seg.attach();
    const view = m.uint8Array();
    view[0] = 1;
    m.detach();
    expect(m.closed).toBe(true);
    expect(view.length).toBe(0);
    view[0] = 2; // no-op on a detached buffer
    expect(view[0]).toBeUndefined();
    m.detach();
    m.close();
    expect(seg.stat().nattch).toBe(0);
    expect(() => m.read()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
  });

  it('Symbol.dispose detaches an attachment and removes a created segment', () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    const m = seg.attach();
    m[Symbol.dispose]();
    expect(m.closed).toBe(true);
    seg[Symbol.dispose]();
    expect(['EINVAL', 'EIDRM']).toContain(thrown(() => seg.stat()).code);
  });

  it('read-only attachments expose no writable view, only copies, and see writes made elsewhere', () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    const rw = seg.attach();
    const ro = seg.attach({ readOnly: true });
    expect(ro.readOnly).toBe(true);
    expect(ro.byteLength).toBe(4096);
    const e = thrown(() => ro.buffer);
    expect(e.code).toBe('ERR_SHMKIT_READ_ONLY');
    expect(thrown(() => ro.uint8Array()).code).toBe('ERR_SHMKIT_READ_ONLY');
    expect(thrown(() => ro.int32Array()).code).toBe('ERR_SHMKIT_READ_ONLY');
    rw.uint8Array().set(Buffer.from('hello'), 100);
    expect(ro.read(100, 5).toString()).toBe('hello');
    rw.uint8Array()[100] = 'j'.charCodeAt(0);
    expect(ro.read(100, 5).toString()).toBe('jello');
    ro.detach();
    rw.detach();
  });

  it('attachments survive remove() until detached; then the segment is gone', () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 4096 }));
    const m = seg.attach();
    seg.remove();
    const st = seg.stat();
    expect(st.removed).toBe(true);
    expect(st.key).toBe(IPC_PRIVATE);
    expect(seg.key).toBe(key); // the key it was made with
    expect(thrown(() => SysvSegment.open({ key })).code).toBe('ENOENT');
    m.uint8Array()[0] = 42;
    expect(m.read(0, 1)[0]).toBe(42);
    m.detach();
    expect(['EINVAL', 'EIDRM']).toContain(thrown(() => seg.stat()).code);
  });
});

describe('set / lock / unlock', () => {
  it('IPC_SET changes the mode and owner, keeping what is left out', () => {
    const seg = track(SysvSegment.create({ size: 100 }));
    seg.set({ mode: 0o644 });
    expect(seg.stat()).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
    seg.set({ uid: 65534, gid: 65534 });
    expect(seg.stat()).toMatchObject({ mode: 0o644, uid: 65534, gid: 65534, cuid: 0, cgid: 0 });
  });

  it('SHM_LOCK / SHM_UNLOCK show in stat()', () => {
    const seg = track(SysvSegment.create({ size: 100 }));
    seg.lock();
    expect(seg.stat().locked).toBe(true);
    expect(seg.stat().rawMode & 0o2000).toBe(0o2000);
    seg.unlock();
    expect(seg.stat().locked).toBe(false);
  });
});

describe('ftok', () => {
  it('gives stable keys that differ by project id', () => {
    const a = ftok('/', 1);
    expect(ftok('/', 1)).toBe(a);
    expect(ftok('/', 2)).not.toBe(a);
    expect(ftok('/', 255) >>> 24).toBe(255);
    expect(ftok('/', 1) >>> 24).toBe(1);
  });

  it('ENOENT with the path for a missing file; rejects bad project ids', () => {
    const e = thrown(() => ftok('/nonexistent/shmkit', 1));
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'ftok', path: '/nonexistent/shmkit' });
    expect(e.message).toBe("ENOENT: no such file or directory, ftok '/nonexistent/shmkit'");
    for (const projId of [0, 256, -1, 1.5])
      expect(thrown(() => ftok('/', projId)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => ftok('/', '1' as unknown as number)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => ftok(1 as unknown as string, 1)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => ftok('/\0x', 1)).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
