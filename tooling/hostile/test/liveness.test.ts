// Mutex owner liveness where /proc cannot see the owner: a waiter running
// as another user, in a mount namespace whose /proc is mounted hidepid=2,
// finds no /proc entry for the owner's thread and gets EPERM from kill().
// That is not death: the waiter must keep waiting (and time out), and take
// the lock over only once the owner is really gone.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, closeSync, openSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRoot, runNode, spawnNode, uniqueName, waitForLine } from '@shmkit/testing';

const here = fileURLToPath(new URL('..', import.meta.url));
const name = `/${uniqueName('shmkit-hostile-live')}`;
const file = `/dev/shm${name}`;

afterAll(() => rmSync(file, { force: true }));

/** Runs as uid 65534 with a private /proc mounted hidepid=2. */
const HIDDEN = [
  'unshare',
  '-m',
  '--propagation',
  'private',
  '--',
  'sh',
  '-c',
  'mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@"',
];

const WAITER = `
import { PosixShm } from '@shmkit/posix-shm';
import { Mutex } from '@shmkit/sync';
import { readdirSync } from 'node:fs';
const owner = Number(process.argv[1]);
const visible = readdirSync('/proc').includes(String(owner));
let kill = 'ok';
try { process.kill(owner, 0); } catch (e) { kill = e.code; }
const shm = PosixShm.open(${JSON.stringify(name)});
const m = shm.map();
const mutex = Mutex.attach(m, 0);
const t0 = Date.now();
let outcome;
try { const g = mutex.lock({ timeout: 1500 }); outcome = g.ownerDied ? 'took over a dead owner' : 'locked'; g.unlock(); }
catch (e) { outcome = e.code; }
console.log(JSON.stringify({ visible, kill, outcome, ms: Date.now() - t0 }));
m.close(); shm.close();
`;

describe.runIf(isRoot)('Mutex owner liveness under hidepid=2, as another user', () => {
  it('a live owner the waiter cannot see is not taken over; a dead one is', async () => {
    closeSync(openSync(file, 'w'));
    chmodSync(file, 0o666);
    const { PosixShm } = await import('@shmkit/posix-shm');
    const { Mutex } = await import('@shmkit/sync');
    const shm = PosixShm.open(name);
    shm.resize(4096);
    const setup = shm.map();
    Mutex.init(setup, 0);
    setup.close();
    shm.close();

    const owner = spawnNode(
      `import { PosixShm } from '@shmkit/posix-shm'; import { Mutex } from '@shmkit/sync';
       const m = PosixShm.open(${JSON.stringify(name)}).map(); Mutex.attach(m, 0).lock();
       console.log('locked ' + process.pid); setInterval(() => {}, 1000);`,
      { cwd: here },
    );
    try {
      const [, pid] = await waitForLine(owner, /locked (\d+)/);
      const waiting = await runNode(WAITER, { cwd: here, wrapper: HIDDEN, args: [pid!] });
      expect(waiting.signal).toBeNull();
      expect(waiting.stderr).toBe('');
      const seen = JSON.parse(waiting.stdout) as {
        visible: boolean;
        kill: string;
        outcome: string;
      };
      // The setting really hides the owner from the waiter...
      expect(seen.visible).toBe(false);
      expect(seen.kill).toBe('EPERM');
      // ...and the waiter still does not take its lock.
      expect(seen.outcome).toBe('ETIMEDOUT');

      owner.kill('SIGKILL');
      await new Promise((resolve) => owner.once('exit', resolve));
      const after = await runNode(WAITER, { cwd: here, wrapper: HIDDEN, args: [pid!] });
      expect(JSON.parse(after.stdout)).toMatchObject({
        kill: 'ESRCH',
        outcome: 'took over a dead owner',
      });
    } finally {
      owner.kill('SIGKILL');
    }
  });
});
