// Errors read as Node's own: system errors worded and ordered as node:fs
// words them, "Received ..." as Node's validators describe values, whether
// TypeScript or native code made the error.
import { openSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeReceived, native, outOfRange, systemError } from '../src/internal';

/** What Node itself throws for `fn()`, and what shmkit throws for `ours()`. */
function caught(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

/** The "Received ..." tail of an argument error's message. */
const received = (error: Error) => error.message.slice(error.message.indexOf('Received ') + 9);

// Values Node's validators describe in every way they know.
class Point {}
const values: Array<[string, unknown]> = [
  ['a number', 1.5],
  ['-0', -0],
  ['NaN', NaN],
  ['-Infinity', -Infinity],
  ['a bigint', 12n],
  ['true', true],
  ['a symbol', Symbol('tag')],
  ['a short string', 'abc'],
  ['a string with a quote', "it's"],
  ['a long string', 'x'.repeat(40)],
  ['a named function', function named() {}],
  ['an arrow function', () => 0],
  ['an array', [1, 2]],
  ['a class instance', new Point()],
  ['a null-prototype object', Object.create(null)],
  ['null', null],
];

describe('system errors', () => {
  it('a native error about a path is exactly what node:fs throws for it', () => {
    const path = '/nonexistent-shmkit-dir/file';
    const ours = caught(() => native.mmapMapFile(path, 0, undefined, {}));
    const node = caught(() => openSync(path, 'r'));
    expect(ours.message).toBe(node.message);
    expect(ours.message).toBe(`ENOENT: no such file or directory, open '${path}'`);
    // Same properties, in the same order.
    expect(Object.keys(ours)).toEqual(Object.keys(node));
    for (const key of Object.keys(node)) expect(ours[key]).toBe(node[key]);
    expect(getSystemErrorName(ours.errno as number)).toBe(ours.code);
  });

  it('an errno libuv has no name for keeps its Linux name and the C library text', () => {
    const error = systemError('ENOTRECOVERABLE', 'pthread_mutex_lock', { note: 'its owner died' });
    expect(error.message).toBe(
      'ENOTRECOVERABLE: state not recoverable, pthread_mutex_lock (its owner died)',
    );
    expect(error).toMatchObject({
      code: 'ENOTRECOVERABLE',
      errno: -131,
      syscall: 'pthread_mutex_lock',
    });
  });

  it('errors made in TypeScript word an errno as node:fs does', () => {
    const node = caught(() => openSync('/nonexistent-shmkit-dir/file', 'r'));
    const ours = systemError('ENOENT', 'open', { path: '/nonexistent-shmkit-dir/file' });
    expect(ours.message).toBe(node.message);
    expect(ours).toMatchObject({
      errno: node.errno,
      code: node.code,
      syscall: 'open',
      path: node.path,
    });
  });
});

describe('"Received ..." of argument errors', () => {
  // Buffer.alloc validates its size with Node's own ERR_INVALID_ARG_TYPE.
  const nodeSays = (value: unknown) => received(caught(() => Buffer.alloc(value as number)));

  it.each(values.filter(([, v]) => typeof v !== 'number'))(
    '%s: as Node describes it',
    (_, value) => {
      expect(describeReceived(value)).toBe(nodeSays(value));
    },
  );

  it.each(values.filter(([, v]) => typeof v !== 'number' && typeof v !== 'string'))(
    '%s: native argument errors say the same',
    (_, value) => {
      // mmapMapFile takes a path or an fd: anything else is a native TypeError.
      const error = caught(() => native.mmapMapFile(value as string, 0, undefined, {}));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(received(error)).toBe(nodeSays(value));
    },
  );

  it('a value whose traps throw is still described, and the error is ours', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    expect(typeof describeReceived(hostile)).toBe('string');
    const error = caught(() => native.mmapMapFile(hostile as never, 0, undefined, {}));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('a getter that calls back into native code while being described is harmless', () => {
    let nested: unknown;
    const reentrant = {
      get constructor() {
        // Describing this value runs this getter from inside a failing native call.
        nested = caught(() => native.mmapMapFile(Symbol('inner') as never, 0, undefined, {}));
        return { name: 'Reentrant' };
      },
    };
    const error = caught(() => native.mmapMapFile(reentrant as never, 0, undefined, {}));
    expect(error).toBeInstanceOf(TypeError);
    expect(received(error)).toBe('an instance of Reentrant');
    expect(received(nested as Error)).toBe('type symbol (Symbol(inner))');
  });

  it('ERR_OUT_OF_RANGE shows large integers and bigints as Node does', () => {
    // Buffer.alloc refuses sizes past its maximum with Node's ERR_OUT_OF_RANGE.
    const node = caught(() => Buffer.alloc(2 ** 53 - 1));
    expect(received(outOfRange('size', 'x', 2 ** 53 - 1))).toBe(received(node));
    expect(received(outOfRange('size', 'x', 2n ** 40n))).toBe('1_099_511_627_776n');
    expect(received(outOfRange('size', 'x', 1.5))).toBe('1.5');
    // The native side groups digits the same way.
    const error = caught(() => native.mapAnonymous(2 ** 53 + 2, false));
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(received(error)).toBe('9_007_199_254_740_994');
  });
});
