// The README's program must run as printed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNode } from '@shmkit/testing';
import { expect, it } from 'vitest';
import { pkgDir } from './helpers';

it('the README example runs, prints what it says and leaves nothing behind', async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(examples).toHaveLength(1);
  const result = await runNode(examples[0]!, { cwd: pkgDir });
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe('4096 true\n');
  const left = (
    await runNode(
      `import { readdirSync } from 'node:fs'; console.log(readdirSync('/dev/shm').filter((n) => n.startsWith('shmkit-cli-readme-')).join(','));`,
    )
  ).stdout;
  expect(left).toBe('\n');
});
