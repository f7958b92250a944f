// Every error shmkit throws has its stack start at the caller's code: the
// validator, the factory and the package's own frames are left out, as
// Node leaves its internals out of the errors its validators throw.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { mapAnonymous } from '../src/index';

const here = fileURLToPath(import.meta.url);
const pkgDir = fileURLToPath(new URL('..', import.meta.url));

function stackOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    return String((error as Error).stack).split('\n');
  }
  throw new Error('expected a throw');
}

/** The frame lines of a stack. */
const frames = (stack: string[]) => stack.filter((line) => line.startsWith('    at '));

describe('error stacks', () => {
  it.each([
    ['a TypeScript validator', () => mapAnonymous('x' as never)],
    ['a range check', () => mapAnonymous(0)],
    ['a native system error', () => mapAnonymous(2 ** 52)],
    [
      'an error thrown after a closed object is used',
      () => {
        const m = mapAnonymous(4096);
        m.close();
        return m.read(0, 1);
      },
    ],
  ])('%s: the first frame is the caller', (_, fn) => {
    const stack = stackOf(fn);
    expect(frames(stack)[0]).toContain(here);
  });

  it('keeps Error.stackTraceLimit frames after the cut', () => {
    const limit = Error.stackTraceLimit;
    const nested = (depth: number): unknown => (depth === 0 ? mapAnonymous(-1) : nested(depth - 1));
    try {
      Error.stackTraceLimit = 4;
      const stack = frames(stackOf(() => nested(10)));
      expect(stack).toHaveLength(4);
      expect(stack.every((line) => line.includes(here))).toBe(true);
    } finally {
      Error.stackTraceLimit = limit;
    }
  });

  it('a user program loading the built package sees its own file first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shmkit-stack-'));
    try {
      const script = join(dir, 'user.js');
      writeFileSync(
        script,
        `const { mapAnonymous } = require(${JSON.stringify(pkgDir)});
function main() {
  for (const bad of ['4096', 2 ** 52]) {
    try { mapAnonymous(bad); } catch (e) { console.log(e.stack.split('\\n')[1]); }
  }
}
main();
`,
      );
      const r = await run(process.execPath, [script]);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).toBe(`    at main (${script}:4:11)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
