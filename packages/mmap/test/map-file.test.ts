import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mapAnonymous, mapFile, Mapping, pageSize } from '../src/index';
import { codeOf, tempDir } from './helpers';

const tmp = tempDir();
const page = pageSize();

describe('mapFile', () => {
  it('maps a whole file by path, zero-copy, as a file Mapping', () => {
    const path = tmp.file('hello, mapped world');
    using m = mapFile(path);
    expect(m).toBeInstanceOf(Mapping);
    expect(m.kind).toBe('file');
    expect(m.readOnly).toBe(false);
    expect(m.byteLength).toBe(19);
    expect(Buffer.from(m.buffer).toString()).toBe('hello, mapped world');
    m.uint8Array()[0] = 'H'.charCodeAt(0);
    expect(readFileSync(path, 'utf8')).toBe('Hello, mapped world');
  });

  it('maps by file: URL and by descriptor, leaving the descriptor to the caller', () => {
    const path = tmp.file('abc');
    using byUrl = mapFile(pathToFileURL(path));
    expect(byUrl.read().toString()).toBe('abc');
    const fd = openSync(path, 'r+');
    try {
      using byFd = mapFile(fd);
      byFd.uint8Array()[2] = 'C'.charCodeAt(0);
      expect(fstatSync(fd).size).toBe(3);
    } finally {
      closeSync(fd);
    }
    expect(byUrl.read().toString()).toBe('abC');
  });

  it('maps from a page-aligned offset, to the end of the file by default', () => {
    const bytes = Buffer.alloc(page * 3);
    bytes.fill(7, page * 2);
    const path = tmp.file(bytes);
    using m = mapFile(path, { offset: page * 2 });
    expect(m.byteLength).toBe(page);
    expect(m.uint8Array().every((b) => b === 7)).toBe(true);
    using n = mapFile(path, { offset: BigInt(page), length: 10 });
    expect(n.byteLength).toBe(10);
  });

  it('size creates the file (mode 0o600 by default), zero-filled, and grows but never shrinks it', () => {
    const path = tmp.path();
    using m = mapFile(path, { size: 10_000 });
    expect(statSync(path).size).toBe(10_000);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(m.uint8Array().every((b) => b === 0)).toBe(true);
    using bigger = mapFile(path, { size: 20_000 });
    expect(statSync(path).size).toBe(20_000);
    using smaller = mapFile(path, { size: 5 });
    expect(statSync(path).size).toBe(20_000);
    expect(smaller.byteLength).toBe(20_000);
    expect(bigger.byteLength).toBe(20_000);

    const other = tmp.path();
    mapFile(other, { size: 1, mode: 0o640 }).close();
    expect(statSync(other).mode & 0o777).toBe(0o640);
  });

  it('MAP_SHARED writes reach the file after sync(); MAP_PRIVATE writes never do', () => {
    const path = tmp.file(Buffer.alloc(page * 2));
    using shared = mapFile(path);
    using priv = mapFile(path, { shared: false });
    shared.uint8Array().set([1, 2, 3], 100);
    shared.sync();
    expect([...readFileSync(path).subarray(100, 103)]).toEqual([1, 2, 3]);
    // Untouched private pages still show the file...
    expect([...priv.uint8Array(100, 3)]).toEqual([1, 2, 3]);
    // ...but writes to them are copied on write and stay here.
    priv.uint8Array().set([9, 9, 9], page + 5);
    priv.sync();
    expect([...readFileSync(path).subarray(page + 5, page + 8)]).toEqual([0, 0, 0]);
    expect([...shared.uint8Array(page + 5, 3)]).toEqual([0, 0, 0]);
    expect([...priv.uint8Array(page + 5, 3)]).toEqual([9, 9, 9]);
  });

  it('readOnly shared mappings have no buffer, copy out with read(), and see later writes', () => {
    const path = tmp.file('read me');
    using m = mapFile(path, { readOnly: true });
    expect(m.readOnly).toBe(true);
    expect(codeOf(() => m.buffer)).toBe('ERR_SHMKIT_READ_ONLY');
    expect(codeOf(() => m.uint8Array())).toBe('ERR_SHMKIT_READ_ONLY');
    expect(m.read().toString()).toBe('read me');
    writeFileSync(path, 'READ me');
    expect(m.read(0, 4).toString()).toBe('READ');
  });

  it('readOnly private mappings give a copy-on-write buffer whose writes never reach the file', () => {
    const path = tmp.file('private copy');
    using m = mapFile(path, { readOnly: true, shared: false });
    expect(m.readOnly).toBe(false);
    m.uint8Array()[0] = 'P'.charCodeAt(0);
    expect(m.read().toString()).toBe('Private copy');
    expect(readFileSync(path, 'utf8')).toBe('private copy');
  });

  it('maps a file opened read-only when the mapping is private, and with populate', () => {
    const path = tmp.file('x'.repeat(page * 4));
    using m = mapFile(path, { shared: false, populate: true });
    expect(m.read(0, 3).toString()).toBe('xxx');
  });

  it('a sparse file larger than 4 GiB reads and writes correctly at an offset above 4 GiB', () => {
    const path = tmp.path();
    const size = 5n * 2n ** 30n + 12345n;
    const offset = 4n * 2n ** 30n + BigInt(page) * 3n;
    using m = mapFile(path, { size, offset, length: page * 2 });
    expect(statSync(path, { bigint: true }).size).toBe(size);
    expect(m.uint8Array().every((b) => b === 0)).toBe(true);
    const text = Buffer.from('past four gibibytes');
    m.uint8Array().set(text, page - 4);
    m.sync();

    const fd = openSync(path, 'r');
    try {
      const back = Buffer.alloc(text.length);
      readSync(fd, back, 0, back.length, offset + BigInt(page) - 4n);
      expect(back.toString()).toBe('past four gibibytes');
    } finally {
      closeSync(fd);
    }
    // A second mapping of the same range sees the bytes, and the default
    // length runs to the (unaligned) end of the file.
    using tail = mapFile(path, { offset });
    expect(BigInt(tail.byteLength)).toBe(size - offset);
    expect(tail.read(page - 4, text.length).toString()).toBe('past four gibibytes');
    // The file stayed sparse: the data took pages, not 5 GiB.
    expect(statSync(path).blocks * 512).toBeLessThan(1 << 24);
  });

  it('close() detaches views; a second close is a no-op', () => {
    const path = tmp.file('abc');
    const m = mapFile(path);
    const view = m.uint8Array();
    m.close();
    m.close();
    expect(view.length).toBe(0);
    expect(m.closed).toBe(true);
    expect(codeOf(() => m.read())).toBe('ERR_SHMKIT_CLOSED');
  });

  it('re-exports mapAnonymous and pageSize from core', () => {
    expect(page).toBeGreaterThanOrEqual(4096);
    expect(page & (page - 1)).toBe(0);
    using m = mapAnonymous(100);
    expect(m.kind).toBe('anonymous');
    expect(m.byteLength).toBe(100);
  });
});
