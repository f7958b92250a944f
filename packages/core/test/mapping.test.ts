import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mapping, mapAnonymous, pageSize } from '../src/index';
import { adoptMapping, mappingHandle, native } from '../src/internal';
import { runNode } from '@shmkit/testing';

const pkgDir = new URL('..', import.meta.url).pathname;

function isMapped(address: bigint): boolean {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter(Boolean)
    .some((line) => {
      const [lo, hi] = line
        .split(' ')[0]!
        .split('-')
        .map((h) => BigInt(`0x${h}`));
      return address >= lo! && address < hi!;
    });
}

describe('Mapping', () => {
  it('exposes one zero-copy buffer with its address and length', () => {
    const m = mapAnonymous(3 * pageSize());
    expect(m).toBeInstanceOf(Mapping);
    expect(m.byteLength).toBe(3 * pageSize());
    expect(m.buffer.byteLength).toBe(3 * pageSize());
    expect(m.buffer).toBe(m.buffer);
    expect(typeof m.address).toBe('bigint');
    expect(m.address % BigInt(pageSize())).toBe(0n);
    expect(m.kind).toBe('anonymous');
    m.uint8Array()[100] = 9;
    expect(new Uint8Array(m.buffer)[100]).toBe(9);
    m.dataView().setUint32(200, 0xdeadbeef);
    expect(m.read(200, 4)).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    Atomics.add(m.int32Array(), 1, 5);
    expect(m.int32Array(4, 1)[0]).toBe(5);
    expect(m.int32Array().length).toBe((3 * pageSize()) / 4);
    expect(isMapped(m.address)).toBe(true);
    m.close();
    expect(isMapped(m.address)).toBe(false);
  });

  it('detaches every view on close; stale views read as empty and never crash', () => {
    const m = mapAnonymous(pageSize());
    const bytes = m.uint8Array();
    const words = m.int32Array();
    const view = m.dataView();
    bytes[0] = 1;
    m.close();
    expect(m.closed).toBe(true);
    expect(m.byteLength).toBe(0);
    expect(m.buffer.byteLength).toBe(0);
    expect(bytes.length).toBe(0);
    expect(words.length).toBe(0);
    expect(bytes[0]).toBeUndefined();
    bytes[0] = 5; // a write to a detached view is a silent no-op
    expect(bytes[0]).toBeUndefined();
    expect(() => view.getUint8(0)).toThrow(TypeError);
    expect(() => Atomics.load(words, 0)).toThrow(TypeError);
  });

  it('double close is a no-op and `using` closes', () => {
    const m = mapAnonymous(pageSize());
    m.close();
    expect(() => m.close()).not.toThrow();
    let kept: Mapping | undefined;
    {
      using scoped = mapAnonymous(pageSize());
      kept = scoped;
      expect(kept.closed).toBe(false);
    }
    expect(kept.closed).toBe(true);
  });

  it('methods of a closed mapping throw ERR_SHMKIT_CLOSED', async () => {
    const m = mapAnonymous(pageSize());
    m.close();
    for (const call of [
      () => m.uint8Array(),
      () => m.int32Array(),
      () => m.dataView(),
      () => m.read(),
      () => m.sync(),
      () => mappingHandle(m),
    ]) {
      expect(call).toThrow(
        expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED', message: 'Mapping is closed' }),
      );
    }
    await expect(m.syncAsync()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
  });

  it('the native layer rejects handles that are not Mappings', () => {
    expect(() => native.mappingRead({} as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
    const m = mapAnonymous(pageSize());
    const other = mapAnonymous(pageSize());
    expect(() => native.mappingClose(mappingHandle(m), other.buffer)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    m.close();
    other.close();
  });

  it('the native layer will not unmap or protect under a live buffer it is not given', () => {
    // Even a caller of the internal binding cannot keep a live view over
    // unmapped or protected memory: the buffer must come along to be detached.
    const m = mapAnonymous(pageSize());
    const handle = mappingHandle(m);
    const view = m.uint8Array();
    for (const call of [
      () => native.mappingClose(handle, undefined),
      () => native.mappingProtect(handle, undefined, 'none', {}),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    view[0] = 5;
    expect(m.read(0, 1)[0]).toBe(5);
    m.close();
    expect(view.length).toBe(0);
    expect(native.mappingClose(handle, undefined)).toBe(false);
  });

  it('read() checks its range', () => {
    using m = mapAnonymous(pageSize());
    expect(m.read(pageSize()).length).toBe(0);
    expect(() => m.read(pageSize() + 1)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => m.read(10, pageSize())).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => m.read(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => m.read('1' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('sync and syncAsync accept ranges and flags', async () => {
    using m = mapAnonymous(4 * pageSize());
    m.sync();
    m.sync({ offset: 1, length: 10, async: true, invalidate: true });
    await m.syncAsync({ offset: pageSize(), length: pageSize() });
    expect(() => m.sync({ async: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => m.sync({ offset: 5 * pageSize() })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  });

  it('an exception thrown by an option getter or a Proxy trap that native code reads comes through unchanged', async () => {
    using mapping = mapAnonymous(pageSize());
    const mine = Object.assign(new Error('from my getter'), { code: 'MY_CODE' });
    const getter = {
      get offset(): number {
        throw mine;
      },
    };
    const proxy = new Proxy(
      {},
      {
        get() {
          throw mine;
        },
      },
    );
    for (const options of [getter, proxy]) {
      const calls: (() => unknown)[] = [
        () => mapping.sync(options),
        () => mapping.protect('read', options),
        () => mapping.advise('normal', options),
        () => mapping.residency(options),
      ];
      for (const call of calls) expect(call).toThrow(mine);
      await expect(mapping.syncAsync(options)).rejects.toBe(mine);
    }
    // Nothing was changed on the way: the mapping is still read+write.
    expect(() => mapping.buffer).not.toThrow();
  });

  it('a read-only mapping hands out copies, never a buffer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shmkit-core-ro-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    writeSync(fd, Buffer.from('read-only'));
    ftruncateSync(fd, pageSize());
    const init = native.mapFd(fd, 0, pageSize(), { readOnly: true });
    closeSync(fd);
    rmSync(dir, { recursive: true });
    expect(init[1]).toBeUndefined();
    const m = adoptMapping(init, { kind: 'file', readOnly: true });
    expect(m.readOnly).toBe(true);
    expect(() => m.buffer).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_READ_ONLY' }));
    expect(m.read(0, 9).toString()).toBe('read-only');
    let closed = 0;
    const n = adoptMapping(native.mapAnonymous(pageSize(), true), {
      kind: 'anonymous',
      onClose: () => closed++,
    });
    n.close();
    n.close();
    expect(closed).toBe(1);
    m.close();
  });

  it('shared anonymous memory is shared with a forked child... via fds is out of scope; MAP_PRIVATE is copy-on-write', () => {
    using priv = mapAnonymous(pageSize(), { shared: false });
    priv.uint8Array()[0] = 3;
    expect(priv.read(0, 1)[0]).toBe(3);
  });

  it('unmaps a mapping that is never closed once it is collected', async () => {
    const r = await runNode(
      `import { mapAnonymous } from '@shmkit/core';
       import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
       const mapped = (a) => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter(Boolean)
         .some((l) => { const [lo, hi] = l.split(' ')[0].split('-').map((h) => BigInt('0x' + h)); return a >= lo && a < hi; });
       let m = mapAnonymous(1 << 20);
       const address = m.address;
       let view = m.uint8Array();
       m = undefined;
       const tick = () => new Promise((r) => setImmediate(r));
       for (let i = 0; i < 5; i++) { globalThis.gc(); await tick(); }
       const whileViewAlive = mapped(address);
       view[0] = 1;
       view = undefined;
       for (let i = 0; i < 10 && mapped(address); i++) { globalThis.gc(); await tick(); }
       console.log(JSON.stringify({ whileViewAlive, after: mapped(address) }));`,
      { cwd: pkgDir, nodeArgs: ['--expose-gc'] },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ whileViewAlive: true, after: false });
  });
});
