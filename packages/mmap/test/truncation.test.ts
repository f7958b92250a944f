// Another process truncating a file this one maps. Touching a page past the
// new end is SIGBUS, which would kill the process; @shmkit/core catches it
// for its file mappings and maps zero pages there instead. Each case runs
// in a node child, so a SIGBUS fails the test instead of killing vitest.
import { mkdirSync } from 'node:fs';
import { compileC, runNode, type RunResult } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { pkgDir, runOnSmallTmpfs, tempDir } from './helpers';

const tmp = tempDir();

// Truncates argv[1] to argv[2] bytes: the other process.
const TRUNCATE = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  if (truncate(argv[1], atol(argv[2])) != 0) { perror("truncate"); return 1; }
  return 0;
}
`;

/**
 * Runs `body` in a node child that has written a 4-page file of 5s at
 * `path` and can cut it to one page with `truncate()` (the C program: the
 * other process); `mapFile`, `page` and `path` are in scope.
 */
function afterTruncation(body: string): Promise<RunResult> {
  return runNode(
    `import { execFileSync } from 'node:child_process';
     import { writeFileSync } from 'node:fs';
     import { mapFile, pageSize } from '@shmkit/mmap';
     const [truncator, path] = process.argv.slice(1);
     const page = pageSize();
     const truncate = () => execFileSync(truncator, [path, String(page)]);
     writeFileSync(path, Buffer.alloc(4 * page, 5));
     ${body}`,
    { cwd: pkgDir, args: [compileC(TRUNCATE), tmp.path()] },
  );
}

describe('a file truncated under a mapping by another process', () => {
  it('reads past the new end give zeros instead of SIGBUS, and the mapping says truncated', async () => {
    const result = await afterTruncation(
      `const m = mapFile(path);
       const bytes = m.uint8Array();
       const before = [bytes[3 * page], m.truncated];
       truncate();
       const still = bytes[page - 1];
       const cut = bytes[3 * page];
       bytes[2 * page] = 9; // reaches no one, and does not crash
       const written = bytes[2 * page];
       bytes[0] = 1; // the page that is left is still the file's
       const truncated = m.truncated;
       m.close();
       const file = (await import('node:fs')).readFileSync(path);
       console.log(JSON.stringify({ before, still, cut, written, truncated, after: m.truncated, first: file[0] }));`,
    );
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(JSON.parse(result.stdout)).toEqual({
      before: [5, false],
      still: 5,
      cut: 0,
      written: 9,
      truncated: true,
      after: false,
      first: 1,
    });
  });

  it('a mapping whose pages were never cut is not truncated, though the file shrank', async () => {
    const result = await afterTruncation(
      `const head = mapFile(path, { length: page });
       const tail = mapFile(path, { offset: 2 * page });
       truncate();
       const first = head.uint8Array()[0];
       console.log(JSON.stringify({ first, head: head.truncated, tail: tail.truncated }));
       head.close();
       tail.close();`,
    );
    expect(result.stderr).toBe('');
    // Untouched, the tail's cut pages have not faulted yet.
    expect(JSON.parse(result.stdout)).toEqual({ first: 5, head: false, tail: false });
  });

  it('a write to a hole on a full tmpfs is still SIGBUS: no zeros hide a file that did not shrink', async () => {
    const mountPoint = tmp.path();
    mkdirSync(mountPoint);
    // A sparse 8 MiB file on a 1 MiB tmpfs: writing it page by page runs
    // out of room at about 1 MiB, while the file keeps its size.
    const script = `
      import { mapFile, pageSize } from '@shmkit/mmap';
      const [dir] = process.argv.slice(1);
      const m = mapFile(dir + '/sparse', { size: 8 << 20, reserve: false });
      const bytes = m.uint8Array();
      for (let at = 0; at < bytes.length; at += pageSize()) {
        bytes[at] = 1;
        if (at === 256 << 10) console.log('writing');
      }
      console.log('all written, truncated: ' + m.truncated);
    `;
    const r = await runOnSmallTmpfs(script, mountPoint, '1m');
    expect(r.stdout.trim()).toBe('writing');
    expect(r.signal).toBe('SIGBUS');
  });

  it('a SIGBUS that is no fault of a mapping still kills, as without shmkit', async () => {
    const path = tmp.path();
    const result = await runNode(
      `import { mapFile } from '@shmkit/mmap';
       const [path] = process.argv.slice(1);
       const m = mapFile(path, { size: 4096 }); // the guard is installed now
       m.uint8Array()[0] = 1;
       process.kill(process.pid, 'SIGBUS');
       setTimeout(() => console.log('survived'), 1000);`,
      { cwd: pkgDir, args: [path] },
    );
    expect(result.stdout).toBe('');
    expect(result.signal).toBe('SIGBUS');
  });
});
