// `shmkit inspect`: decoded views of primitives that live processes (node
// with @shmkit/sync, C with pthreads and sem_open) hold, change and abandon;
// hex dumps; and reads that a hostile owner cannot turn into a crash.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { compileC, spawnNode, uniqueKey } from '@shmkit/testing';
import { SysvSemaphoreSet } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { exited, keep, later, pkgDir, posixName, removeLater, shmkit, started } from './helpers';

interface InspectJson {
  shmkit: string;
  object: Record<string, unknown>;
  view: { as: string; state: string; data: Record<string, unknown>; problems: string[] } | null;
  hex: { offset: number; length: number; data: string } | null;
  semaphores?: Array<{
    value: number;
    pid: number;
    waiting: number;
    waitingForZero: number;
  }> | null;
}

async function inspectJson(args: string[]): Promise<InspectJson> {
  const result = await shmkit(['inspect', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as InspectJson;
}

/** Polls `inspect` until `done` holds (a peer changing state takes a moment); a generous bound catches a hang. */
async function until(args: string[], done: (json: InspectJson) => boolean): Promise<InspectJson> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const json = await inspectJson(args);
    if (done(json) || Date.now() > deadline) return json;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A node child that runs `body` with a POSIX object `name` mapped as `memory`. */
function nodeWith(name: string, body: string, create = false): ChildProcess {
  return keep(
    spawnNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       import { Mutex, SharedEvent, Semaphore } from '@shmkit/sync';
       const shm = ${create ? `PosixShm.create(${JSON.stringify(name)}, { size: 4096 })` : `PosixShm.open(${JSON.stringify(name)})`};
       const memory = shm.map();
       ${body}
       setInterval(() => {}, 1000);`,
      { cwd: pkgDir },
    ),
  );
}

const PTHREAD_C = String.raw`
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/shm.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int id = shmget((key_t)strtoul(argv[1], 0, 16), 4096, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) { perror("shmget"); return 1; }
  pthread_mutex_t *m = shmat(id, 0, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  pthread_mutex_lock(m);
  printf("ready %d %d\n", getpid(), id);
  fflush(stdout);
  pause();
  return 0;
}
`;

describe('inspect --as mutex', () => {
  it('follows a Mutex through locked, waited on, abandoned and taken over, without touching it', async () => {
    const name = posixName();
    const holder = nodeWith(
      name,
      `Mutex.init(memory, 0).lock(); console.log('ready', process.pid);`,
      true,
    );
    const [, holderPid] = await started(holder);
    const args = [name, '--as', 'mutex'];

    const locked = await inspectJson([...args, '--hex', '0:4']);
    expect(locked.view).toMatchObject({ as: 'mutex', state: 'locked', problems: [] });
    expect(locked.view!.data).toMatchObject({
      waiters: false,
      ownerDied: false,
      owner: { tid: Number(holderPid), alive: true, pid: Number(holderPid), command: 'node' },
    });
    expect(locked.hex!.data).toBe(
      Buffer.from(new Uint32Array([Number(holderPid)]).buffer).toString('hex'),
    );

    // A second process blocks in lock(): it sets the WAITERS bit and sleeps.
    const waiter = nodeWith(
      name,
      `console.log('ready', process.pid); const g = Mutex.attach(memory, 0).lock(); console.log('owner died', g.ownerDied);`,
    );
    const [, waiterPid] = await started(waiter);
    const waited = await until(args, (j) => j.view!.data.waiters === true);
    expect(waited.view!.data).toMatchObject({ waiters: true, owner: { tid: Number(holderPid) } });

    holder.kill('SIGKILL');
    await exited(holder);
    // Dead, and until the waiter's next liveness check, still named as owner.
    const taken = await until(args, (j) => j.view!.state === 'inconsistent');
    expect(taken.view).toMatchObject({ state: 'inconsistent' });
    expect(taken.view!.data).toMatchObject({
      ownerDied: true,
      owner: { tid: Number(waiterPid), alive: true },
    });

    waiter.kill('SIGKILL');
    await exited(waiter);
    const abandoned = await inspectJson(args);
    expect(abandoned.view).toMatchObject({ state: 'abandoned' });
    expect(abandoned.view!.data.owner).toMatchObject({
      tid: Number(waiterPid),
      alive: false,
      pid: null,
    });
  });

  it('reads a never-locked word as unlocked and a not-recoverable one as such', async () => {
    const name = posixName();
    writeFileSync(
      `/dev/shm${name}`,
      Buffer.from(new Uint32Array([0, 0x3fff_ffff, 0x4000_0000, 0]).buffer),
    );
    expect((await inspectJson([name, '--as', 'mutex'])).view!.state).toBe('unlocked');
    expect((await inspectJson([name, '--as', 'mutex', '--at', '4'])).view!.state).toBe(
      'not-recoverable',
    );
    expect((await inspectJson([name, '--as', 'mutex', '--at', '8'])).view!.state).toBe(
      'owner-died',
    );
  });
});

describe('inspect --as event / semaphore', () => {
  it('decodes SharedEvents and a Semaphore that a live process made', async () => {
    const name = posixName();
    const child = nodeWith(
      name,
      `SharedEvent.init(memory, 0, { mode: 'manual', set: true });
       SharedEvent.init(memory, 16, { mode: 'auto' });
       Semaphore.init(memory, 64, 5);
       console.log('ready', process.pid);`,
      true,
    );
    await started(child);
    const manual = await inspectJson([name, '--as', 'event']);
    expect(manual.view).toMatchObject({
      state: 'set',
      data: { mode: 'manual', set: true, waiters: 0 },
      problems: [],
    });
    const auto = await inspectJson([name, '--as', 'event', '--at', '16']);
    expect(auto.view).toMatchObject({ state: 'reset', data: { mode: 'auto', set: false } });
    const sem = await inspectJson([name, '--as', 'semaphore', '--at', '64']);
    expect(sem.view).toMatchObject({
      state: 'available',
      data: { value: 5, waiters: 0, shared: true },
      problems: [],
    });

    const text = await shmkit(['inspect', name, '--as', 'semaphore', '--at', '64']);
    expect(text.stdout).toContain('semaphore at offset 64 (32 bytes): available');
    expect(text.stdout).toMatch(/^ {2}value {4}5$/m);
  });

  it('says what is wrong with bytes that are no event', async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, Buffer.from(new Uint32Array([9, 1, 7, 3, 0, 0, 0, 0]).buffer));
    const json = await inspectJson([name, '--as', 'event']);
    expect(json.view!.state).toBe('invalid');
    expect(json.view!.problems).toEqual([
      'kind word is 7: not a SharedEvent (1 = manual, 2 = auto)',
      'state word is 9: a SharedEvent only ever holds 0 or 1',
      'reserved word is 3, not 0',
    ]);
    expect((await inspectJson([name, '--as', 'event', '--at', '16'])).view!.state).toBe(
      'not initialised',
    );
  });
});

describe('inspect of C objects', () => {
  it("decodes a C program's robust pthread mutex in a System V segment, then the kernel's owner-died", async () => {
    const key = uniqueKey();
    const holder = keep(spawn(compileC(PTHREAD_C, ['-pthread']), [`0x${key.toString(16)}`]));
    const [, pid, id] = await started(holder);
    removeLater('shm', Number(id));
    const keyText = `0x${key.toString(16).padStart(8, '0')}`;
    const locked = await inspectJson([keyText, '--as', 'pthread-mutex']);
    expect(locked.object).toMatchObject({ type: 'sysv-shm', id: Number(id), nattch: 1 });
    expect(locked.view).toMatchObject({ state: 'locked', problems: [] });
    expect(locked.view!.data).toMatchObject({
      type: 'normal',
      robust: true,
      processShared: true,
      owner: { tid: Number(pid), alive: true },
    });

    holder.kill('SIGKILL');
    await exited(holder);
    const died = await until([keyText, '--as', 'pthread-mutex'], (j) => j.view!.state !== 'locked');
    expect(died.view).toMatchObject({ state: 'owner-died', data: { ownerDied: true } });
  });

  it('shows the value of a named semaphore a C program made, decoded without being asked', async () => {
    const sem = posixName();
    const prog = compileC(
      String.raw`#include <fcntl.h>
#include <semaphore.h>
int main(int c, char **v) { sem_t *s = sem_open(v[1], O_CREAT | O_EXCL, 0600, 3); if (s == SEM_FAILED) return 1; sem_post(s); return 0; }`,
      ['-pthread'],
    );
    expect(spawnSync(prog, [sem]).status).toBe(0);
    const json = await inspectJson([sem]);
    expect(json.object).toMatchObject({ type: 'posix-sem', value: 4, waiters: 0 });
    expect(json.view).toMatchObject({
      as: 'semaphore',
      state: 'available',
      data: { value: 4, shared: true },
    });
  });
});

describe('inspect of System V sets and FIFOs', () => {
  it('lists the values, last pids and waiters of a semaphore set', async () => {
    const set = SysvSemaphoreSet.create({ count: 3 });
    removeLater('sem', set.id);
    set.setAll([1, 2, 3]);
    const json = await inspectJson([String(set.id), '--type', 'sysv-sem']);
    expect(json.semaphores).toEqual(
      [1, 2, 3].map((value) => ({ value, pid: process.pid, waiting: 0, waitingForZero: 0 })),
    );
    const text = await shmkit(['inspect', String(set.id), '--type', 'sysv-sem']);
    expect(text.stdout).toMatch(
      /INDEX\s+VALUE\s+LAST PID\s+WAITING\s+FOR ZERO\n\s+0\s+1\s+\d+\s+0\s+0\n/,
    );
  });

  it('names the processes that hold a FIFO open', async () => {
    const path = `/tmp/${posixName().slice(1)}.fifo`;
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    later(() => spawnSync('rm', ['-f', path]));
    const reader = keep(spawn('sh', ['-c', `exec 3<>${path}; echo ready $$; exec sleep 60`]));
    const [, pid] = await started(reader);
    const json = await inspectJson([path]);
    expect(json.object).toMatchObject({
      type: 'fifo',
      path,
      users: { processes: [{ pid: Number(pid), how: ['fd'] }] },
    });
  });
});

describe('inspect --hex', () => {
  it('dumps ranges in hexdump -C format and collapses repeats', async () => {
    const name = posixName();
    const bytes = Buffer.alloc(4096);
    bytes.write('shmkit says hello', 16);
    writeFileSync(`/dev/shm${name}`, bytes);
    const range = await shmkit(['inspect', name, '--hex', '16+17']);
    expect(range.stdout.split('\n\n').pop()).toBe(
      '00000010  73 68 6d 6b 69 74 20 73  61 79 73 20 68 65 6c 6c  |shmkit says hell|\n' +
        '00000020  6f                                                |o|\n' +
        '00000021\n',
    );
    const all = await shmkit(['inspect', name, '--hex']);
    expect(all.stdout.split('\n\n').pop()).toBe(
      '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n' +
        '00000010  73 68 6d 6b 69 74 20 73  61 79 73 20 68 65 6c 6c  |shmkit says hell|\n' +
        '00000020  6f 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |o...............|\n' +
        '00000030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n' +
        '*\n' +
        '00001000\n',
    );
    const tail = await shmkit(['inspect', name, '--hex=0xff0:']);
    expect(
      tail.stdout.endsWith(
        '00000ff0  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n00001000\n',
      ),
    ).toBe(true);
    const json = await inspectJson([name, '--hex', ':4']);
    expect(json.hex).toEqual({ offset: 0, length: 4, data: '00000000' });
  });

  it('reads a System V segment through a read-only attachment', async () => {
    const key = uniqueKey();
    const writer = keep(
      spawnNode(
        `import { SysvSegment } from '@shmkit/sysv-shm';
         const s = SysvSegment.create({ key: ${key}, size: 100, exclusive: true });
         const m = s.attach(); m.uint8Array().set(Buffer.from('from node'), 8);
         console.log('ready', s.id);
         setInterval(() => {}, 1000);`,
        { cwd: `${pkgDir}/../sysv-shm` },
      ),
    );
    const [, id] = await started(writer);
    removeLater('shm', Number(id));
    const json = await inspectJson([id!, '--hex', '8+9']);
    expect(Buffer.from(json.hex!.data, 'hex').toString()).toBe('from node');
    expect(json.object).toMatchObject({ nattch: 1, size: 100 });
  });

  it('a range past the end, or a primitive that does not fit, is an error of the object', async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, Buffer.alloc(8));
    const beyond = await shmkit(['inspect', name, '--hex', '100:200']);
    expect(beyond.code).toBe(0);
    expect(beyond.stdout.endsWith('\n00000064\n')).toBe(true);
    const big = await shmkit(['inspect', name, '--as', 'event']);
    expect(big.code).toBe(1);
    expect(big.stderr).toBe(
      `shmkit: inspect: an event at offset 0 needs 16 bytes, but posix-shm ${name} has 8\n`,
    );
    const channel = await shmkit(['inspect', name, '--as', 'channel']);
    expect(channel.code).toBe(1);
    expect(channel.stderr).toBe(
      `shmkit: inspect: a channel at offset 0 needs 64 bytes, but posix-shm ${name} has 8\n`,
    );
  });
});

describe('a hostile owner', () => {
  it(
    'truncating and regrowing the object while inspect reads it never crashes inspect or ls',
    { timeout: 120_000 },
    async () => {
      const name = posixName();
      const path = `/dev/shm${name}`;
      writeFileSync(path, Buffer.alloc(1 << 20));
      // The attacker: another process flipping the size between 0 and 1 MiB
      // as fast as it can, so reads keep meeting a file shorter than it was.
      const attacker = keep(
        spawnNode(
          `import { openSync, ftruncateSync } from 'node:fs';
         const fd = openSync(${JSON.stringify(path)}, 'r+');
         console.log('ready', process.pid);
         for (;;) { ftruncateSync(fd, 0); ftruncateSync(fd, ${1 << 20}); }`,
        ),
      );
      await started(attacker);
      for (let i = 0; i < 6; i++) {
        for (const args of [
          ['inspect', name, '--hex'],
          ['inspect', name, '--as', 'pthread-mutex', '--at', '4096'],
          ['ls', '--type', 'posix-shm'],
        ]) {
          const result = await shmkit(args);
          expect(result.signal, args.join(' ')).toBe(null);
          expect([0, 1], `${args.join(' ')}: ${result.stderr}`).toContain(result.code);
        }
      }
      attacker.kill('SIGKILL');
      await exited(attacker);
    },
  );
});
