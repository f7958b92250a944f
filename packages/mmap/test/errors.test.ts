// Every error the README documents, by code.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSystemError, mapFile, pageSize } from '../src/index';
import { run } from '@shmkit/testing';
import { codeOf, runOnSmallTmpfs, tempDir } from './helpers';

const tmp = tempDir();
const page = pageSize();

function thrown(
  fn: () => unknown,
): Error & { code?: string; errno?: number; syscall?: string; path?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('mapFile argument errors', () => {
  const path = tmp.file('x'.repeat(page * 2));

  it('ERR_INVALID_ARG_TYPE', () => {
    for (const bad of [undefined, null, {}, true, Buffer.from('x')]) {
      expect(thrown(() => mapFile(bad as never))).toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
      });
    }
    expect(codeOf(() => mapFile(path, 'r' as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { offset: '0' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { length: 1n as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { shared: 1 as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { readOnly: 'yes' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { populate: null as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(path, { size: '1' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => mapFile(tmp.path(), { size: 1, mode: '600' as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('ERR_OUT_OF_RANGE', () => {
    const cases: Parameters<typeof mapFile>[1][] = [
      { offset: -4096 },
      { offset: -1n },
      { offset: 2n ** 63n },
      { offset: 1.5 },
      { length: 0 },
      { length: -1 },
      { length: 2 ** 53 },
      { size: 0 },
      { size: 0n },
      { size: 1, mode: 0o10000 },
    ];
    for (const options of cases) {
      expect(thrown(() => mapFile(path, options))).toMatchObject({
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    expect(codeOf(() => mapFile(-1))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => mapFile(2 ** 31))).toBe('ERR_OUT_OF_RANGE');
  });

  it('ERR_INVALID_ARG_VALUE: unaligned offsets name the page size; bad paths and URLs', () => {
    for (const offset of [1, page / 2, BigInt(page) + 1n]) {
      const error = thrown(() => mapFile(path, { offset }));
      expect(error).toMatchObject({ name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
      expect(error.message).toContain(`page size (${page})`);
    }
    expect(codeOf(() => mapFile(`${path}\0x`))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => mapFile(new URL('http://example.com/x')))).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('ERR_INCOMPATIBLE_OPTION_PAIR: size with readOnly', () => {
    const error = thrown(() => mapFile(tmp.path(), { size: 10, readOnly: true }));
    expect(error).toMatchObject({ name: 'TypeError', code: 'ERR_INCOMPATIBLE_OPTION_PAIR' });
  });
});

describe('mapFile file errors', () => {
  it('ERR_SHMKIT_EMPTY for an empty file, by path and by fd', () => {
    const path = tmp.file('');
    const error = thrown(() => mapFile(path));
    expect(error.code).toBe('ERR_SHMKIT_EMPTY');
    expect(error.message).toContain(path);
    expect(error.message).toContain('options.size');
    const fd = openSync(path, 'r');
    try {
      expect(codeOf(() => mapFile(fd, { readOnly: true }))).toBe('ERR_SHMKIT_EMPTY');
    } finally {
      closeSync(fd);
    }
  });

  it('ERR_SHMKIT_BEYOND_EOF for an offset at or past the end, or a length past it', () => {
    const path = tmp.file('y'.repeat(page + 10));
    expect(thrown(() => mapFile(path, { offset: page * 2 }))).toMatchObject({
      name: 'RangeError',
      code: 'ERR_SHMKIT_BEYOND_EOF',
    });
    const exact = tmp.file('z'.repeat(page));
    expect(codeOf(() => mapFile(exact, { offset: page }))).toBe('ERR_SHMKIT_BEYOND_EOF');
    const error = thrown(() => mapFile(path, { length: page + 11 }));
    expect(error.code).toBe('ERR_SHMKIT_BEYOND_EOF');
    expect(error.message).toContain('SIGBUS');
    expect(codeOf(() => mapFile(path, { offset: page, length: 11 }))).toBe('ERR_SHMKIT_BEYOND_EOF');
    // The last byte exactly is fine.
    mapFile(path, { offset: page, length: 10 }).close();
  });

  it('ERR_SHMKIT_NOT_REGULAR_FILE for devices', () => {
    expect(codeOf(() => mapFile('/dev/zero', { readOnly: true }))).toBe(
      'ERR_SHMKIT_NOT_REGULAR_FILE',
    );
  });

  it('system errors carry code, negative errno, syscall and path', () => {
    const missing = tmp.path('missing');
    const enoent = thrown(() => mapFile(missing));
    expect(isSystemError(enoent)).toBe(true);
    expect(enoent).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: missing });

    const dir = tmp.path('dir');
    mkdirSync(dir);
    expect(thrown(() => mapFile(dir))).toMatchObject({
      code: 'EISDIR',
      syscall: 'open',
      path: dir,
    });

    // A shared writable mapping needs a descriptor opened for writing.
    const path = tmp.file('data');
    const fd = openSync(path, 'r');
    try {
      expect(thrown(() => mapFile(fd))).toMatchObject({ code: 'EACCES', syscall: 'mmap' });
      // The same descriptor is fine read-only or copy-on-write.
      mapFile(fd, { readOnly: true }).close();
      mapFile(fd, { shared: false }).close();
    } finally {
      closeSync(fd);
    }
    expect(thrown(() => mapFile(fd))).toMatchObject({ code: 'EBADF', syscall: 'fstat' });
  });
});

describe('special files and full file systems', () => {
  it('a size the file system refuses (EFBIG) leaves no file behind, and an existing file untouched', () => {
    const fresh = tmp.path();
    expect(thrown(() => mapFile(fresh, { size: 2n ** 62n }))).toMatchObject({
      code: 'EFBIG',
      path: fresh,
    });
    expect(existsSync(fresh)).toBe(false);
    const existing = tmp.file('kept');
    expect(codeOf(() => mapFile(existing, { size: 2n ** 62n }))).toBe('EFBIG');
    expect(readFileSync(existing, 'utf8')).toBe('kept');
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const dir = tmp.path();
    mkdirSync(dir);
    const fifo = `${dir}/f`;
    const made = await run('mkfifo', [fifo]);
    expect(made.code).toBe(0);
    for (const options of [{}, { readOnly: true }]) {
      expect(thrown(() => mapFile(fifo, options))).toMatchObject({
        code: 'ERR_SHMKIT_NOT_REGULAR_FILE',
      });
    }
  });

  it('on a full tmpfs, size fails with ENOSPC instead of a later SIGBUS', async () => {
    const mountPoint = tmp.path();
    mkdirSync(mountPoint);
    const script = `
      import { mapFile } from '@shmkit/mmap';
      const [dir] = process.argv.slice(1);
      const out = {};
      try { mapFile(dir + '/big', { size: 8 << 20 }); out.reserved = 'mapped'; }
      catch (e) { out.reserved = e.code + ' ' + e.syscall; }
      // Opting out maps a sparse file; writing it all would then be SIGBUS,
      // so only one page is touched.
      const sparse = mapFile(dir + '/sparse', { size: 8 << 20, reserve: false });
      sparse.uint8Array()[0] = 1;
      out.sparse = sparse.byteLength;
      sparse.close();
      const fits = mapFile(dir + '/fits', { size: 256 << 10 });
      fits.uint8Array().fill(1); // reserved pages are all writable
      out.fits = fits.uint8Array().reduce((a, b) => a + b, 0);
      fits.close();
      console.log(JSON.stringify(out));
    `;
    const r = await runOnSmallTmpfs(script, mountPoint, '1m');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      reserved: 'ENOSPC fallocate',
      sparse: 8 << 20,
      fits: 256 << 10,
    });
  });
});
