// Fifo.create against a symlink-swapping attacker. In a directory others
// can write (/tmp), an attacker replaces the fresh FIFO with a symlink to a
// file of ours between mkfifo and the chmod that undoes the umask. A
// path-following chmod then opens that file to the world; Fifo.create must
// never touch anything but the FIFO it made, however many times it is tried.
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, run, runNode } from '@shmkit/testing';

const here = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'shmkit-hostile-fifo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Swaps `path` for a symlink to `victim`, as fast as it can, for `ms`. */
const ATTACKER = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.swap", argv[1]);
  struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  long ms = atol(argv[3]);
  for (;;) {
    unlink(tmp);
    if (symlink(argv[2], tmp) == 0) rename(tmp, argv[1]);
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms) return 0;
  }
}
`;

/** The old way: mkfifo, then a chmod that follows the path. */
const VULNERABLE = String.raw`
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = atoi(argv[2]);
  for (int i = 0; i < n; i++) { unlink(argv[1]); if (mkfifo(argv[1], 0600) == 0) chmod(argv[1], 0666); }
  return 0;
}
`;

const mode = (path: string) => statSync(path).mode & 0o777;

/** Starts the attacker; stop it with stop(). */
function attack(
  attacker: string,
  fifo: string,
  victim: string,
): { child: ChildProcess; stop(): Promise<unknown> } {
  const child = spawn(attacker, [fifo, victim, '120000'], { stdio: 'ignore' });
  return {
    child,
    stop: () => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      return exited;
    },
  };
}

describe('Fifo.create against a symlink-swapping attacker', () => {
  it('never changes the mode of the file a swapped-in symlink points to (5,000 tries)', async () => {
    const attacker = compileC(ATTACKER);
    const fifo = join(dir, 'fifo');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'secret');

    // First, that the attack works here: the path-following chmod falls for it.
    chmodSync(victim, 0o600);
    const vulnerable = compileC(VULNERABLE);
    const baseline = attack(attacker, fifo, victim);
    try {
      for (let round = 0; round < 20 && mode(victim) === 0o600; round++)
        await run(vulnerable, [fifo, '20000']);
    } finally {
      await baseline.stop();
    }
    expect(mode(victim), 'the attack reproduces against a path-following chmod').toBe(0o666);

    chmodSync(victim, 0o600);
    const a = attack(attacker, fifo, victim);
    const result = await runNode(
      `import { Fifo } from '@shmkit/sync';
       import { lstatSync, rmSync, statSync } from 'node:fs';
       const [fifo, victim] = process.argv.slice(1);
       let made = 0, refused = 0;
       for (let i = 0; i < 5000; i++) {
         try { rmSync(fifo, { force: true }); } catch {}
         try { Fifo.create(fifo, { mode: 0o666 }); made++; } catch (e) { if (e.code !== 'EEXIST') throw e; refused++; }
         if ((statSync(victim).mode & 0o777) !== 0o600) { console.log(JSON.stringify({ changed: i })); process.exit(1); }
       }
       console.log(JSON.stringify({ made, refused }));`,
      { cwd: here, args: [fifo, victim], timeout: 120_000 },
    ).finally(() => a.stop());
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    const counts = JSON.parse(result.stdout) as { made: number; refused: number };
    expect(counts.made + counts.refused).toBe(5000);
    // Both sides won some rounds: the race was really run.
    expect(counts.made).toBeGreaterThan(0);
    expect(counts.refused).toBeGreaterThan(0);
    expect(mode(victim)).toBe(0o600);
  });
});
