import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { mapFile, pageSize } from '../src/index';
import { codeOf, tempDir } from './helpers';

const tmp = tempDir();
const page = pageSize();

function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, position);
    return out;
  } finally {
    closeSync(fd);
  }
}

describe('Mapping.sync (msync)', () => {
  it('writes a range back, synchronously or scheduled, with or without invalidate', () => {
    const path = tmp.file(Buffer.alloc(page * 4));
    using m = mapFile(path);
    m.uint8Array().fill(1, 0, 10);
    m.sync({ offset: 0, length: 10 });
    m.uint8Array().fill(2, page * 2 + 5, page * 2 + 15);
    m.sync({ offset: page * 2 + 5, length: 10, async: true });
    m.uint8Array().fill(3, page * 3, page * 4);
    m.sync({ offset: BigInt(page * 3), invalidate: true });
    m.sync({ length: 0 });
    const file = readFileSync(path);
    expect([...file.subarray(0, 11)]).toEqual([...Array(10).fill(1), 0]);
    expect(file[page * 2 + 5]).toBe(2);
    expect(file[page * 4 - 1]).toBe(3);
  });

  it('rejects ranges outside the mapping and a closed mapping', async () => {
    const path = tmp.file('abc');
    const m = mapFile(path);
    expect(codeOf(() => m.sync({ offset: 4 }))).toBe('ERR_OUT_OF_RANGE');
    expect(() => m.sync({ length: 4 })).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringContaining('"options.length"'),
      }),
    );
    expect(codeOf(() => m.sync({ async: 'yes' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    await expect(m.syncAsync({ offset: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    m.close();
    expect(codeOf(() => m.sync())).toBe('ERR_SHMKIT_CLOSED');
    await expect(m.syncAsync()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
  });
});

describe('Mapping.syncAsync (msync on the thread pool)', () => {
  it('resolves once the data is in the file', async () => {
    const path = tmp.path();
    using m = mapFile(path, { size: 8 << 20 });
    m.uint8Array().fill(0xab);
    const pending = m.syncAsync();
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(readAt(path, (8 << 20) - 1, 1)[0]).toBe(0xab);
  });

  it('keeps the memory mapped until a pending sync finishes, even if closed meanwhile', async () => {
    const path = tmp.path();
    const m = mapFile(path, { size: 4 << 20 });
    const view = m.uint8Array();
    view.fill(0x5a);
    const pending = m.syncAsync({ offset: page, length: page * 16 });
    m.close();
    expect(view.length).toBe(0);
    await expect(pending).resolves.toBeUndefined();
    expect(readAt(path, page * 2, 1)[0]).toBe(0x5a);
  });

  it('many concurrent syncs leave fs work in the same process running', async () => {
    const path = tmp.path();
    using m = mapFile(path, { size: 1 << 20 });
    m.uint8Array().fill(7);
    const syncs = Array.from({ length: 64 }, (_, i) =>
      m.syncAsync({ offset: (i % 16) * page * 16, length: page * 16 }),
    );
    const [contents] = await Promise.all([readFile(path), ...syncs]);
    expect(contents.length).toBe(1 << 20);
    expect(readFileSync(path).every((b) => b === 7)).toBe(true);
  });
});
