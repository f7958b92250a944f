// The README's program must run as printed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNode } from '@shmkit/testing';
import { expect, it } from 'vitest';
import { pkgDir } from './helpers';

it('the README examples run, prints what it says and leaves nothing behind', async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(examples).toHaveLength(2);
  const outputs = ['4096 true\n', 'spsc 2240 0.55\n1 0\n'];
  for (const [i, example] of examples.entries()) {
    const result = await runNode(example, { cwd: pkgDir });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(outputs[i]);
  }
  const left = (
    await runNode(
      `import { readdirSync } from 'node:fs'; console.log(readdirSync('/dev/shm').filter((n) => n.startsWith('shmkit-cli-readme-')).join(','));`,
    )
  ).stdout;
  expect(left).toBe('\n');
});
