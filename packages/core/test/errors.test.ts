import { getSystemErrorName } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isSystemError, mapAnonymous } from '../src/index';

describe('errors', () => {
  it.each([
    [0, 'ERR_OUT_OF_RANGE', RangeError],
    [-1, 'ERR_OUT_OF_RANGE', RangeError],
    [1.5, 'ERR_OUT_OF_RANGE', RangeError],
    [Number.MAX_SAFE_INTEGER + 1, 'ERR_OUT_OF_RANGE', RangeError],
    [Infinity, 'ERR_OUT_OF_RANGE', RangeError],
    [NaN, 'ERR_OUT_OF_RANGE', RangeError],
    ['4096', 'ERR_INVALID_ARG_TYPE', TypeError],
    [4096n, 'ERR_INVALID_ARG_TYPE', TypeError],
    [undefined, 'ERR_INVALID_ARG_TYPE', TypeError],
  ])('size %s is rejected with %s before any syscall', (size, code, type) => {
    let caught: unknown;
    try {
      mapAnonymous(size as number);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(type);
    expect(caught).toMatchObject({ code });
    expect(isSystemError(caught)).toBe(false);
  });

  it('messages follow Node', () => {
    expect(() => mapAnonymous(0)).toThrow(
      'The value of "size" is out of range. It must be >= 1 && <= 9007199254740991. Received 0',
    );
    expect(() => mapAnonymous('x' as never)).toThrow(
      `The "size" argument must be of type number. Received type string ('x')`,
    );
    expect(() => mapAnonymous(4096, { shared: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => mapAnonymous(4096, 'x' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('a size the kernel refuses is a system error with code, errno and syscall', () => {
    let caught: unknown;
    try {
      mapAnonymous(2 ** 52);
    } catch (error) {
      caught = error;
    }
    expect(isSystemError(caught)).toBe(true);
    const error = caught as Error & { code: string; errno: number; syscall: string };
    expect(error.code).toBe('ENOMEM');
    expect(error.errno).toBeLessThan(0);
    expect(getSystemErrorName(error.errno)).toBe('ENOMEM');
    expect(error.syscall).toBe('mmap');
    // Node's own words for ENOMEM (util.getSystemErrorMap), in node:fs's order.
    expect(error.message).toBe(`ENOMEM: not enough memory, mmap ${2 ** 52} bytes`);
  });
});
