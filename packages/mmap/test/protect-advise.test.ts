import { readFileSync } from 'node:fs';
import { runNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { mapAnonymous, mapFile, pageSize } from '../src/index';
import { codeOf, pkgDir, tempDir } from './helpers';

const tmp = tempDir();
const page = pageSize();

/** The permission letters ('rw-p') /proc/self/maps shows for `address`. */
function permsAt(address: bigint): string | undefined {
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const [range, perms] = line.split(' ');
    if (!range || !perms) continue;
    const [lo, hi] = range.split('-').map((h) => BigInt(`0x${h}`));
    if (address >= lo! && address < hi!) return perms;
  }
  return undefined;
}

describe('Mapping.protect', () => {
  it('changes the kernel protection of whole pages', () => {
    using m = mapAnonymous(page * 4);
    m.protect('read', { offset: page, length: page });
    m.protect('none', { offset: page * 2, length: 1 });
    expect(permsAt(m.address)).toMatch(/^rw/);
    expect(permsAt(m.address + BigInt(page))).toMatch(/^r-/);
    expect(permsAt(m.address + BigInt(page * 2))).toMatch(/^--/);
    expect(permsAt(m.address + BigInt(page * 3))).toMatch(/^rw/);
  });

  it('detaches the buffer as soon as any page is not read+write, and hands out a new one when all are again', () => {
    const path = tmp.file(Buffer.alloc(page * 3));
    using m = mapFile(path);
    const before = m.buffer;
    const view = m.uint8Array();
    view[page + 1] = 42;
    m.protect('read', { offset: page, length: page });
    expect(before.byteLength).toBe(0);
    expect(view.length).toBe(0);
    // A stale view reads undefined and ignores writes: no fault.
    expect(view[page + 1]).toBeUndefined();
    view[page + 1] = 1;
    expect(codeOf(() => m.buffer)).toBe('ERR_SHMKIT_PROTECTED');
    expect(codeOf(() => m.uint8Array())).toBe('ERR_SHMKIT_PROTECTED');
    // Copies still work from readable pages.
    expect(m.read(page + 1, 1)[0]).toBe(42);

    m.protect('read-write', { offset: page, length: page });
    const after = m.buffer;
    expect(after).not.toBe(before);
    expect(after.byteLength).toBe(page * 3);
    expect(new Uint8Array(after)[page + 1]).toBe(42);
    // Restoring read+write keeps the same buffer while it stays so.
    m.protect('read-write');
    expect(m.buffer).toBe(after);
  });

  it('read() refuses ranges that touch an unreadable page, with ERR_SHMKIT_PROTECTED', () => {
    using m = mapAnonymous(page * 3);
    m.protect('none', { offset: page, length: page });
    expect(codeOf(() => m.read(page - 1, 2))).toBe('ERR_SHMKIT_PROTECTED');
    expect(codeOf(() => m.read())).toBe('ERR_SHMKIT_PROTECTED');
    expect(m.read(0, page).length).toBe(page);
    expect(m.read(page * 2).length).toBe(page);
    // msync over a PROT_NONE range is a kernel operation and stays allowed.
    m.sync();
  });

  it('cannot make a write-protected read-only file writable', () => {
    const path = tmp.file('ro');
    using m = mapFile(path, { readOnly: true });
    expect(m.read().toString()).toBe('ro');
    expect(() => m.protect('read-write')).toThrow(
      expect.objectContaining({ code: 'EACCES', syscall: 'mprotect' }),
    );
    m.protect('none');
    expect(codeOf(() => m.read())).toBe('ERR_SHMKIT_PROTECTED');
    m.protect('read');
    expect(m.read().toString()).toBe('ro');
    expect(codeOf(() => m.buffer)).toBe('ERR_SHMKIT_READ_ONLY');
  });

  it('rejects bad arguments by code', () => {
    using m = mapAnonymous(page * 2);
    expect(codeOf(() => m.protect('rw' as never))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => m.protect('exec' as never))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => m.protect(7 as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => m.protect('read', { offset: 10 }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => m.protect('read', { offset: page * 3 }))).toBe('ERR_OUT_OF_RANGE');
    expect(() => m.protect('read', { length: page * 3 })).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringContaining('"options.length"'),
      }),
    );
    expect(codeOf(() => m.protect('read', 'all' as never))).toBe('ERR_INVALID_ARG_TYPE');
    // None of the rejected calls changed anything.
    expect(m.buffer.byteLength).toBe(page * 2);
    m.close();
    expect(codeOf(() => m.protect('read'))).toBe('ERR_SHMKIT_CLOSED');
  });

  it('a process that keeps using stale views after protect() and close() exits cleanly', async () => {
    const path = tmp.file(Buffer.alloc(page * 2));
    const code = `
      import { mapFile, pageSize } from '@shmkit/mmap';
      const page = pageSize();
      const m = mapFile(process.argv[1]);
      const views = [m.uint8Array(), m.int32Array(), m.dataView(), new Float64Array(m.buffer)];
      const attempts = [
        (v) => (v instanceof DataView ? v.setUint8(page, 1) : (v[page] = 1)),
        (v) => (v instanceof DataView ? v.getUint8(page) : v[page]),
        (v) => (v instanceof DataView ? v.byteLength : v.fill(3)),
        (v) => (v instanceof Int32Array ? Atomics.store(v, page / 4, 5) : v.byteLength),
      ];
      let typeErrors = 0;
      for (const protection of ['read', 'none', 'read-write', 'none']) {
        m.protect(protection, { offset: page });
        for (const view of views) {
          for (const attempt of attempts) {
            try { attempt(view); } catch (error) { if (error instanceof TypeError) typeErrors += 1; else throw error; }
          }
        }
      }
      m.protect('read-write');
      const fresh = m.uint8Array();
      fresh[0] = 9;
      m.close();
      fresh[0] = 10;
      console.log('survived', fresh.length, views[0].length, typeErrors > 0);
    `;
    const result = await runNode(code, { cwd: pkgDir, args: [path] });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout.trim()).toBe('survived 0 0 true');
    expect(readFileSync(path)[0]).toBe(9);
    expect(readFileSync(path)[page]).toBe(0);
  });
});

describe('Mapping.advise', () => {
  it('accepts every documented advice on a mapping that supports it', () => {
    const path = tmp.file(Buffer.alloc(page * 4));
    using file = mapFile(path);
    for (const advice of [
      'normal',
      'random',
      'sequential',
      'willneed',
      'dontneed',
      'cold',
      'pageout',
    ] as const) {
      file.advise(advice);
      file.advise(advice, { offset: page, length: page });
    }
    file.advise('populate-read');
    file.advise('populate-write');
    using anon = mapAnonymous(page * 4, { shared: false });
    for (const advice of [
      'dontfork',
      'dofork',
      'dontdump',
      'dodump',
      'hugepage',
      'nohugepage',
    ] as const) {
      try {
        anon.advise(advice);
      } catch (error) {
        // Kernels built without THP refuse hugepage advice.
        expect(error).toMatchObject({ code: 'EINVAL', syscall: 'madvise' });
      }
    }
  });

  it("'dontneed' drops private changes: a private file mapping re-reads the file, anonymous memory reads zeros", () => {
    const path = tmp.file(Buffer.alloc(page * 2, 5));
    using priv = mapFile(path, { shared: false });
    priv.uint8Array().fill(6);
    priv.advise('dontneed', { offset: page });
    expect(priv.uint8Array()[0]).toBe(6);
    expect(priv.uint8Array()[page]).toBe(5);

    using shared = mapFile(path);
    shared.uint8Array()[0] = 7;
    shared.advise('dontneed');
    expect(shared.uint8Array()[0]).toBe(7);
    expect(readFileSync(path)[0]).toBe(7);

    using anon = mapAnonymous(page, { shared: false });
    anon.uint8Array()[0] = 1;
    anon.advise('dontneed');
    expect(anon.uint8Array()[0]).toBe(0);
  });

  it('populate-write on read-only pages is refused by the kernel, not a crash', () => {
    using m = mapAnonymous(page);
    m.protect('read');
    expect(() => m.advise('populate-write')).toThrow(
      expect.objectContaining({ syscall: 'madvise' }),
    );
  });

  it('rejects unknown and destructive advice, unaligned offsets and bad ranges', () => {
    using m = mapAnonymous(page * 2);
    for (const bad of ['remove', 'free', 'hwpoison', 'DONTNEED', '']) {
      expect(codeOf(() => m.advise(bad as never))).toBe('ERR_INVALID_ARG_VALUE');
    }
    expect(codeOf(() => m.advise(4 as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => m.advise('dontneed', { offset: 1 }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => m.advise('normal', { offset: page, length: page + 1 }))).toBe(
      'ERR_OUT_OF_RANGE',
    );
    m.close();
    expect(codeOf(() => m.advise('normal'))).toBe('ERR_SHMKIT_CLOSED');
  });
});

describe('protect() and close()', () => {
  it('closing a protected mapping unmaps it; buffer then reads as length 0', () => {
    const m = mapAnonymous(page * 2);
    const view = m.uint8Array();
    m.protect('none', { offset: page });
    m.close();
    expect(view.length).toBe(0);
    expect(m.buffer.byteLength).toBe(0);
    expect(permsAt(m.address)).toBeUndefined();
  });
});
