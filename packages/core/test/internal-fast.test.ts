// The compiled `@shmkit/core/internal` (what the other packages require on
// every hot call) must be a fast-mode object of plain data properties: a
// CommonJS re-export compiles to an accessor, and accessors over the
// placeholder TypeScript emits first turn the exports object into a
// dictionary, which cost every validator call a hash lookup and a getter.
import { runNodeCjs } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';

const pkgDir = new URL('..', import.meta.url).pathname;

describe('@shmkit/core/internal as compiled', () => {
  it('holds every export as a data property of a fast-mode object', async () => {
    const r = await runNodeCjs(
      `const internal = require('@shmkit/core/internal');
       const descriptors = Object.entries(Object.getOwnPropertyDescriptors(internal));
       console.log(JSON.stringify({
         fast: %HasFastProperties(internal),
         accessors: descriptors.filter(([, d]) => d.get !== undefined).map(([k]) => k),
         undefinedValues: descriptors.filter(([, d]) => 'value' in d && d.value === undefined).map(([k]) => k),
         count: descriptors.length,
         validateOptions: typeof internal.validateOptions,
         futexWake: typeof internal.native.syncFutexWake,
       }));`,
      { cwd: pkgDir, nodeArgs: ['--allow-natives-syntax'] },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      fast: true,
      accessors: [],
      undefinedValues: [],
      count: expect.any(Number) as number,
      validateOptions: 'function',
      futexWake: 'function',
    });
    expect((JSON.parse(r.stdout) as { count: number }).count).toBeGreaterThan(30);
  });
});
