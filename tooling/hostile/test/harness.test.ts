// The suite is only as good as its harness: a crash, an abort, a hang and
// an uncoded error must each fail the attempt that caused them, and the
// attempts after it must still run.
import { describe, expect, it } from 'vitest';
import { failures, runAttempts } from '../src/harness';

describe('harness', () => {
  it('blames a signal, an abort, a hang and an exit on their attempt and resumes after each', async () => {
    const outcomes = await runAttempts(
      [
        { name: 'segv', run: "process.kill(process.pid, 'SIGSEGV'); await sleep(10000);" },
        { name: 'after segv', run: 'return 1' },
        { name: 'abort', run: 'process.abort();' },
        { name: 'hang', run: 'for (;;) {}' },
        { name: 'exit', run: 'process.exit(3);' },
        { name: 'last', run: "throw Object.assign(new Error('x'), { code: 'ERR_X' })" },
      ],
      { attemptTimeout: 3000 },
    );
    expect(outcomes.map((o) => [o.name, o.kind, o.code])).toEqual([
      ['segv', 'signal', undefined],
      ['after segv', 'ok', undefined],
      ['abort', 'signal', undefined],
      ['hang', 'hang', undefined],
      ['exit', 'exit', undefined],
      ['last', 'threw', 'ERR_X'],
    ]);
    expect(outcomes[0]!.detail).toMatch(/SIGSEGV/);
    expect(outcomes[1]!.value).toBe(1);
  });

  it('judges uncoded errors and unexpected codes as failures', async () => {
    const found = await failures([
      { name: 'uncoded', run: "throw new TypeError('plain')" },
      {
        name: 'wrong code',
        run: "throw Object.assign(new Error('x'), { code: 'ERR_A' })",
        expect: 'ERR_B',
      },
      { name: 'should throw', run: 'return 1', expect: 'ERR_B' },
      {
        name: 'fine',
        run: "throw Object.assign(new Error('x'), { code: 'ERR_A' })",
        expect: ['ERR_A', 'ok'],
      },
    ]);
    expect(found).toEqual([
      'uncoded: threw an uncoded TypeError: plain',
      'wrong code: threw ERR_A (Error: x), expected ERR_B',
      'should throw: returned 1, expected to throw ERR_B',
    ]);
  });
});
