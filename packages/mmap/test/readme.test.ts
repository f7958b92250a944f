// The README's example must keep working as printed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNode, uniqueName } from '@shmkit/testing';
import { expect, it } from 'vitest';
import { pkgDir } from './helpers';

it('the README example runs and prints what it says', async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const example = readme.match(/```js\n([\s\S]*?)```/)?.[1];
  expect(example).toBeDefined();
  const path = `/tmp/${uniqueName('shmkit-readme')}.bin`;
  const code = example!.replace('/tmp/shmkit-example.bin', path);
  expect(code).not.toBe(example);
  const result = await runNode(code, { cwd: pkgDir });
  expect(result.stderr).toBe('');
  expect(result.stdout.split('\n')).toEqual(['hello, mapped file', '0', 'hello', '1048576', '']);
  expect(existsSync(path)).toBe(false);
});
