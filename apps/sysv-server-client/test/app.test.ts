import { compileC, run, uniqueKey, waitForLine } from '@shmkit/testing';
import { formatKey, isSystemError, SysvSegment } from '@shmkit/sysv-shm';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const cli = join(__dirname, '..', 'dist', 'cli.js');
const children: ChildProcess[] = [];
const keys: number[] = [];

function key(): number {
  const k = uniqueKey();
  keys.push(k);
  return k;
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const k of keys.splice(0)) {
    try {
      SysvSegment.open({ key: k }).remove();
    } catch (error) {
      if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
    }
  }
});

function startServer(args: string[]): {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [cli, 'server', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exited };
}

function cliRun(...args: string[]) {
  return run(process.execPath, [cli, ...args], { env: { TZ: 'UTC' } });
}

function gone(k: number): boolean {
  try {
    SysvSegment.open({ key: k });
    return false;
  } catch (error) {
    if (isSystemError(error) && error.code === 'ENOENT') return true;
    throw error;
  }
}

// The app's layout in C (see layout.ts and the README): a SharedEvent at 0
// (int32 state, waiters, kind, reserved), the length at 16, the text at 20.
// set/wait follow @shmkit/sync's SharedEvent protocol with the shared futex.
const cEvent = String.raw`
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
enum { STATE, WAITERS, KIND, RESERVED };
#define LENGTH_OFFSET 16
#define MESSAGE_OFFSET 20
static long futex(int *word, int op, int value, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0); /* shared: no FUTEX_PRIVATE_FLAG */
}
static void event_init_manual(int *ev) {
  __atomic_store_n(&ev[STATE], 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ev[WAITERS], 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ev[RESERVED], 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ev[KIND], 1, __ATOMIC_SEQ_CST); /* last: attach checks it */
}
static void event_set(int *ev) {
  if (__atomic_exchange_n(&ev[STATE], 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&ev[WAITERS], __ATOMIC_SEQ_CST) > 0)
    futex(&ev[STATE], FUTEX_WAKE, INT_MAX, NULL);
}
/* Returns 1 if it had to sleep, 0 if the event was already set, -1 on timeout. */
static int event_wait(int *ev, int seconds) {
  if (__atomic_load_n(&ev[STATE], __ATOMIC_SEQ_CST) == 1) return 0;
  int result = 1;
  __atomic_add_fetch(&ev[WAITERS], 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&ev[STATE], __ATOMIC_SEQ_CST) != 1) {
    struct timespec t = { seconds, 0 };
    if (futex(&ev[STATE], FUTEX_WAIT, 0, &t) != 0 && errno == ETIMEDOUT) { result = -1; break; }
  }
  __atomic_sub_fetch(&ev[WAITERS], 1, __ATOMIC_SEQ_CST);
  return result;
}
`;

const cServer = String.raw`${cEvent}
/* server KEY MESSAGE [waiter]: init the event, (with "waiter": wait until a client sleeps on
   it), publish, wait for stdin EOF, remove. */
int main(int argc, char **argv) {
  int id = shmget((key_t)strtoul(argv[1], NULL, 0), 4096, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) { perror("shmget"); return 2; }
  char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { perror("shmat"); return 2; }
  int *ev = (int *)p;
  event_init_manual(ev);
  printf("init %d\n", id);
  fflush(stdout);
  for (int i = 0; argc > 3 && __atomic_load_n(&ev[WAITERS], __ATOMIC_SEQ_CST) == 0; i++) {
    if (i > 20000) { fprintf(stderr, "no waiter\n"); return 3; }
    usleep(1000);
  }
  int len = (int)strlen(argv[2]);
  memcpy(p + MESSAGE_OFFSET, argv[2], len + 1);
  __atomic_store_n((int *)(p + LENGTH_OFFSET), len, __ATOMIC_SEQ_CST);
  int waiters = __atomic_load_n(&ev[WAITERS], __ATOMIC_SEQ_CST);
  event_set(ev);
  printf("ready %d waiters %d\n", id, waiters);
  fflush(stdout);
  char buf[16];
  while (read(0, buf, sizeof buf) > 0) {}
  shmdt(p);
  shmctl(id, IPC_RMID, NULL);
  return 0;
}
`;

const cClient = String.raw`${cEvent}
/* client KEY: wait for the segment and its event, wait for the event, print the message. */
int main(int argc, char **argv) {
  key_t key = (key_t)strtoul(argv[1], NULL, 0);
  int id;
  for (int i = 0; (id = shmget(key, 0, 0)) < 0; i++) {
    if (errno != ENOENT || i > 1000) { perror("shmget"); return 2; }
    usleep(10000);
  }
  /* Read-write: a waiter registers itself in the waiters word. */
  char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { perror("shmat"); return 2; }
  int *ev = (int *)p;
  for (int i = 0; __atomic_load_n(&ev[KIND], __ATOMIC_SEQ_CST) == 0; i++) {
    if (i > 5000) { fprintf(stderr, "no event\n"); return 3; }
    usleep(1000); /* the server is between shmget and init */
  }
  if (ev[KIND] != 1) { fprintf(stderr, "not a manual event\n"); return 3; }
  int waited = event_wait(ev, 10);
  if (waited < 0) { fprintf(stderr, "no message\n"); return 3; }
  int len = __atomic_load_n((int *)(p + LENGTH_OFFSET), __ATOMIC_SEQ_CST);
  printf("%s\nData %.*s\n", waited ? "waited" : "already set", len, p + MESSAGE_OFFSET);
  shmdt(p);
  return 0;
}
`;

describe('server and client', () => {
  it('the client prints the data and the shmctl stats; SIGTERM makes the server detach and remove', async () => {
    const k = key();
    // No --timeout: the server must stay up until it is signalled.
    const { child, exited } = startServer([
      '--key',
      formatKey(k),
      '--message',
      'Hello, shared world',
    ]);
    // One wait for both lines: they may arrive in one chunk.
    const [, id] = await waitForLine(child, /created segment (\d+)[^]*^wrote /m);
    const client = await cliRun('client', '--key', String(k));
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    const lines = client.stdout.trim().split('\n');
    expect(lines[0]).toBe(`found segment ${id} for key ${formatKey(k)}`);
    expect(lines[1]).toMatch(/^attached at 0x[0-9a-f]+$/);
    expect(lines[2]).toBe('Data Hello, shared world');
    expect(lines.slice(3).map((l) => l.replace(/ \S+$/, ''))).toEqual([
      'size',
      'attach time',
      'detach time',
      'change time',
      'creator pid',
      'n attach',
    ]);
    expect(lines[3]).toBe('size 4096');
    expect(lines[4]).toMatch(/^attach time \d{4}-\d\d-\d\dT/);
    expect(lines[7]).toBe(`creator pid ${child.pid}`);
    expect(lines[8]).toBe('n attach 2');

    child.kill('SIGTERM');
    const result = await exited;
    expect(result.code).toBe(143); // 128 + SIGTERM, as a shell expects
    expect(result.stdout).toMatch(/^attached at 0x[0-9a-f]+$/m);
    expect(result.stdout).toMatch(new RegExp(`got SIGTERM: detaching and removing segment ${id}`));
    expect(gone(k)).toBe(true);
  });

  it('--timeout ends the server by itself; --ftok picks the key C would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shmkit-app-'));
    try {
      const file = join(dir, 'anchor');
      writeFileSync(file, '');
      const { exited } = startServer([
        '--ftok',
        file,
        '--proj',
        '7',
        '--timeout',
        '0.3',
        '--message',
        'bye',
      ]);
      const result = await exited;
      expect(result.code).toBe(0);
      const { ftok } = await import('@shmkit/sysv-shm');
      expect(result.stdout).toContain(`key ${formatKey(ftok(file, 7))}`);
      expect(result.stdout).toMatch(/timeout after 0\.3 s: detaching and removing/);
      expect(gone(ftok(file, 7))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a client started before the server waits for it', async () => {
    const k = key();
    const clientDone = cliRun('client', '--key', String(k), '--timeout', '20');
    await new Promise((r) => setTimeout(r, 300));
    const { child, exited } = startServer(['--key', String(k), '--timeout', '30']);
    const client = await clientDone;
    expect(client.code).toBe(0);
    expect(client.stdout).toContain('Data Hello');
    child.kill('SIGINT');
    expect((await exited).code).toBe(130);
    expect(gone(k)).toBe(true);
  });

  it('reads what a C server wrote; the C FUTEX_WAKE wakes a waiting client', async () => {
    const k = key();
    const server = spawn(compileC(cServer), [String(k), 'Hello from C', 'waiter'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(server);
    let serverOut = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (serverOut += d));
    await waitForLine(server, /init \d+/);
    // The C server publishes only once a waiter has registered in the event.
    const client = await cliRun('client', '--key', formatKey(k));
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    expect(client.stdout).toContain('\nwaiting for the message-ready event (offset 0)\n');
    expect(client.stdout).toContain('\nData Hello from C\n');
    expect(client.stdout).toContain('\nn attach 2\n');
    // The C server saw our waiter registered in the event's waiters word.
    expect(serverOut).toMatch(/ready \d+ waiters 1/);
    // And without a waiter (published at once), a late client passes straight through.
    server.stdin!.end();
    await new Promise((r) => server.on('close', r));
    const k2 = key();
    const quick = spawn(compileC(cServer), [String(k2), 'at once'], { stdio: 'pipe' });
    children.push(quick);
    await waitForLine(quick, /ready \d+ waiters 0/);
    const late = await cliRun('client', '--key', formatKey(k2));
    expect(late.code).toBe(0);
    expect(late.stdout).not.toContain('waiting for');
    expect(late.stdout).toContain('\nData at once\n');
    quick.stdin!.end();
    await new Promise((r) => quick.on('close', r));
    expect(gone(k)).toBe(true);
    expect(gone(k2)).toBe(true);
  });

  it('a C client reads what our server wrote', async () => {
    const k = key();
    const { child, exited } = startServer([
      '--key',
      String(k),
      '--message',
      'Hello from Node',
      '--timeout',
      '30',
    ]);
    await waitForLine(child, /^wrote /m);
    const client = await run(compileC(cClient), [String(k)]);
    expect(client.stderr).toBe('');
    expect(client.stdout).toBe('already set\nData Hello from Node\n');
    child.kill('SIGTERM');
    const result = await exited;
    expect(result, JSON.stringify(result)).toMatchObject({ code: 143 });
    expect(gone(k)).toBe(true);
  });

  it('a C client asleep on the event is woken by our server (--delay)', async () => {
    const k = key();
    const cBinary = compileC(cClient); // before the clock starts
    const { child, exited } = startServer([
      '--key',
      String(k),
      '--message',
      'late news',
      '--delay',
      '1.5',
      '--timeout',
      '30',
    ]);
    await waitForLine(child, /^writing the message in 1\.5 s/m);
    const client = await run(cBinary, [String(k)]);
    expect(client.stderr).toBe('');
    expect(client.stdout).toBe('waited\nData late news\n');
    child.kill('SIGINT');
    expect((await exited).code).toBe(130);
    expect(gone(k)).toBe(true);
  });

  it('a waiting client: SIGINT interrupts it (exit 130, detached); --timeout gives up', async () => {
    const k = key();
    const { child, exited } = startServer(['--key', String(k), '--delay', '30', '--timeout', '30']);
    await waitForLine(child, /^writing the message in 30 s/m);
    const waiting = spawn(
      process.execPath,
      [cli, 'client', '--key', String(k), '--timeout', '30'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(waiting);
    let stderr = '';
    waiting.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitForLine(waiting, /waiting for the message-ready event/);
    const seg = SysvSegment.open({ key: k });
    expect(seg.stat().nattch).toBe(2);
    const closed = new Promise<number | null>((r) => waiting.on('close', r));
    waiting.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(stderr).toBe('sysv-server-client: interrupted\n');
    expect(seg.stat().nattch).toBe(1);

    const late = await cliRun('client', '--key', String(k), '--timeout', '0.3');
    expect(late.code).toBe(1);
    expect(late.stdout).toContain('waiting for the message-ready event');
    expect(late.stderr).toContain(`no message was published in segment ${seg.id} within 0.3 s`);

    child.kill('SIGTERM');
    expect((await exited).code).toBe(143);
    expect(gone(k)).toBe(true);
  });
});

describe('help and version', () => {
  it('--help and -h, alone or after any command, print the usage to stdout and exit 0', async () => {
    for (const args of [
      ['--help'],
      ['-h'],
      ['server', '--help'],
      ['server', '-h', '--key', 'abc'],
      ['client', '--help'],
      ['stat', '--help'],
    ]) {
      const result = await cliRun(...args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({
        args,
        code: 0,
        stderr: '',
      });
      expect(result.stdout).toMatch(/^usage:\n {2}sysv-server-client server/);
    }
    const version = await cliRun('--version');
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^sysv-server-client \d+\.\d+\.\d+\n$/);
  });
});

describe('stat and errors', () => {
  it('`stat <id>` prints what `ipcs -m -i <id>` prints', async () => {
    const seg = SysvSegment.create({ key: key(), size: 1234, mode: 0o640 });
    seg.attach().detach();
    seg.lock();
    const ours = await cliRun('stat', String(seg.id));
    const theirs = await run('ipcs', ['-m', '-i', String(seg.id)], {
      env: { TZ: 'UTC', LC_ALL: 'C' },
    });
    expect(ours.code).toBe(0);
    const clean = (text: string) =>
      text
        .split('\n')
        .map((l) => l.trimEnd())
        .filter(Boolean);
    const ourLines = clean(ours.stdout);
    expect(ourLines.slice(0, 7)).toEqual(clean(theirs.stdout));
    expect(ourLines[7]).toBe(`key=${formatKey(seg.key)}\tstatus=locked`);
  });

  it('a second server on a taken key fails with EEXIST and says what to do', async () => {
    const k = key();
    SysvSegment.create({ key: k, size: 100 });
    const { exited } = startServer(['--key', String(k)]);
    const result = await exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`EEXIST: file already exists, shmget key ${formatKey(k)}`);
    expect(result.stderr).toContain(`ipcrm -M ${formatKey(k)}`);
  });

  it('a client with no server times out with ENOENT; bad arguments exit 2', async () => {
    const k = key();
    const client = await cliRun('client', '--key', String(k), '--timeout', '0.2');
    expect(client.code).toBe(1);
    expect(client.stderr).toContain(
      `ENOENT: no such file or directory, shmget key ${formatKey(k)}`,
    );
    for (const args of [
      ['server', '--key', '0x100000000'],
      ['client', '--key', 'abc'],
      ['stat'],
      ['nope'],
      ['server', '--bogus'],
      ['server', '--timeout', '-1'],
      ['server', '--timeout=-1'],
      ['server', '--size', '0'],
      ['server', '--delay', 'soon'],
    ]) {
      const result = await cliRun(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('usage:');
    }
    expect((await cliRun()).code).toBe(2);
    const stat = await cliRun('stat', '2147483647');
    expect(stat.code).toBe(1);
    expect(stat.stderr).toMatch(/EINVAL: invalid argument, shmctl id 2147483647 /);
  });
});
