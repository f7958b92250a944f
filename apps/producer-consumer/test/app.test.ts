import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileC, run, uniqueName, waitForLine } from '@shmkit/testing';

const appDir = resolve(__dirname, '..');
const dist = (file: string) => join(appDir, 'dist', file);
const leftovers: string[] = [];

function names() {
  const base = uniqueName('shmkit-pc');
  const shm = `/${base}`;
  const fifo = join(tmpdir(), `${base}.fifo`);
  leftovers.push(`/dev/shm${shm}`, fifo);
  return { shm, fifo };
}

function node(script: string, args: string[]) {
  return spawn(process.execPath, [dist(script), ...args], { stdio: 'pipe' });
}

/** Message numbers a consumer printed, in order. */
function received(stdout: string): number[] {
  return [...stdout.matchAll(/consumer: message (\d+): Hello #(\d+) from producer/g)].map((m) => {
    expect(m[1]).toBe(m[2]); // the text is the one announced: nothing overwritten in between
    return Number(m[1]);
  });
}

function exited(
  child: ReturnType<typeof node>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

afterEach(async () => {
  // Whatever a failed test left: remove it, then fail loudly if anything was there.
  const found = leftovers.splice(0).filter((p) => existsSync(p));
  for (const p of found) await run('rm', ['-f', p]);
  expect(found).toEqual([]);
});

describe('producer and consumer', () => {
  it('the demo runs both modes and leaves nothing behind', async () => {
    const before = readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit-demo-'));
    const r = await run(process.execPath, [dist('demo.js')], { cwd: appDir, timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [fifoRound, semaphoreRound] = r.stdout.split('demo: --sync semaphore\n');
    for (const output of [fifoRound!, semaphoreRound!]) {
      for (let i = 1; i <= 4; i++)
        expect(output).toContain(`consumer: message ${i}: Hello #${i} from producer`);
    }
    expect(fifoRound).toContain(
      '--sync fifo: producer exited 0, consumer exited 0; left behind: nothing',
    );
    expect(semaphoreRound).toContain(
      '--sync semaphore: producer exited 0, consumer exited 0; left behind: nothing',
    );
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit-demo-'))).toEqual(before);
  });

  it('the producer cleans up on SIGINT and SIGTERM, waiting or running', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const { shm, fifo } = names();
      const producer = node('producer.js', ['--name', shm, '--fifo', fifo, '--interval', '50']);
      const result = exited(producer);
      await waitForLine(producer, /waiting for a consumer/);
      expect(existsSync(`/dev/shm${shm}`)).toBe(true);
      expect(existsSync(fifo)).toBe(true);
      producer.kill(sig);
      const r = await result;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(sig === 'SIGINT' ? 130 : 143);
      expect(existsSync(`/dev/shm${shm}`)).toBe(false);
      expect(existsSync(fifo)).toBe(false);
    }
    // Interrupted while sending, with a consumer attached.
    const { shm, fifo } = names();
    const producer = node('producer.js', ['--name', shm, '--fifo', fifo, '--interval', '50']);
    const presult = exited(producer);
    const consumer = node('consumer.js', ['--name', shm, '--fifo', fifo]);
    const cresult = exited(consumer);
    await waitForLine(consumer, /message 3:/);
    producer.kill('SIGINT');
    const [p, c] = await Promise.all([presult, cresult]);
    expect(p.code).toBe(130);
    // The producer going away ends the consumer's stream: it exits cleanly.
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/consumer: done after \d+ messages/);
  });

  it('an interrupted consumer detaches and the producer waits for the next one', async () => {
    const { shm, fifo } = names();
    const producer = node('producer.js', ['--name', shm, '--fifo', fifo, '--interval', '50']);
    const presult = exited(producer);
    const first = node('consumer.js', ['--name', shm, '--fifo', fifo]);
    const firstResult = exited(first);
    await waitForLine(first, /message 2:/);
    first.kill('SIGINT');
    expect((await firstResult).code).toBe(130);
    await waitForLine(producer, /consumer left/);
    const second = node('consumer.js', ['--name', shm, '--fifo', fifo, '--count', '2']);
    const secondResult = await exited(second);
    expect(secondResult.code).toBe(0);
    expect(secondResult.stdout).toMatch(/consumer: message \d+: Hello #\d+ from producer/);
    producer.kill('SIGTERM');
    expect((await presult).code).toBe(143);
  });
});

describe('--sync semaphore', () => {
  const sem = (shm: string, ...more: string[]) => ['--name', shm, '--sync', 'semaphore', ...more];

  it('hands every message to the consumer, in order, even with no pause between them', async () => {
    const { shm } = names();
    // The consumer first: it waits for the object and the producer's setup.
    const consumer = node('consumer.js', sem(shm));
    const cresult = exited(consumer);
    const p = await run(process.execPath, [
      dist('producer.js'),
      ...sem(shm, '--interval', '0', '--count', '40'),
    ]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('(8192 bytes), channel');
    const c = await cresult;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    // A FIFO consumer reads whatever is newest; here nothing is skipped.
    expect(received(c.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(c.stdout).toContain('consumer: done after 40 messages');
  });

  it('two consumers share the messages: each one is taken exactly once', async () => {
    const { shm } = names();
    const first = node('consumer.js', sem(shm));
    const second = node('consumer.js', sem(shm));
    const results = Promise.all([exited(first), exited(second)]);
    const p = await run(process.execPath, [
      dist('producer.js'),
      ...sem(shm, '--interval', '5', '--count', '30'),
    ]);
    expect(p.code).toBe(0);
    const [a, b] = await results;
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    // The end token reached both.
    expect(a.stdout).toMatch(/consumer: done after \d+ messages/);
    expect(b.stdout).toMatch(/consumer: done after \d+ messages/);
    const all = [...received(a.stdout), ...received(b.stdout)].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('an interrupted consumer loses nothing: the next one continues with the next message', async () => {
    const { shm } = names();
    const producer = node('producer.js', sem(shm, '--interval', '20'));
    const presult = exited(producer);
    const first = node('consumer.js', sem(shm));
    const firstResult = exited(first);
    await waitForLine(first, /message 3:/);
    const left = waitForLine(producer, /consumer left/); // listen before it can happen
    first.kill('SIGINT');
    const a = await firstResult;
    expect(a.code).toBe(130);
    expect(a.stdout).toContain('consumer: interrupted, detaching');
    await left;
    const b = await exited(node('consumer.js', sem(shm, '--count', '3')));
    expect(b.code).toBe(0);
    const seen = received(a.stdout);
    const last = seen[seen.length - 1]!;
    expect(seen).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(received(b.stdout)).toEqual([last + 1, last + 2, last + 3]);
    producer.kill('SIGTERM');
    const p = await presult;
    expect(p.stderr).toBe('');
    expect(p.code).toBe(143);
    expect(existsSync(`/dev/shm${shm}`)).toBe(false);
  });

  it('the producer cleans up on SIGINT waiting for a consumer and on SIGTERM waiting for a free slot', async () => {
    const { shm } = names();
    const idle = node('producer.js', sem(shm));
    const idleResult = exited(idle);
    await waitForLine(idle, /waiting for a consumer/);
    expect(existsSync(`/dev/shm${shm}`)).toBe(true);
    idle.kill('SIGINT');
    expect((await idleResult).code).toBe(130);
    expect(existsSync(`/dev/shm${shm}`)).toBe(false);

    // A consumer that is attached but stopped (SIGSTOP): the producer
    // writes at most one more message, then sits in "slot free" until told
    // to stop.
    const busy = node('producer.js', sem(shm, '--interval', '10'));
    const busyResult = exited(busy);
    let sent = '';
    busy.stdout.on('data', (d: string) => (sent += d));
    const consumer = node('consumer.js', sem(shm));
    const cresult = exited(consumer);
    await waitForLine(consumer, /message 1:/);
    consumer.kill('SIGSTOP');
    const settled = async () => {
      let before;
      do {
        before = sent;
        await new Promise((r) => setTimeout(r, 300));
      } while (sent !== before);
      return before;
    };
    const stuck = await settled();
    busy.kill('SIGTERM');
    const p = await busyResult;
    expect(p.stderr).toBe('');
    expect(p.code).toBe(143);
    expect(p.stdout).toBe(stuck + 'producer: received SIGTERM, cleaning up\n');
    expect(existsSync(`/dev/shm${shm}`)).toBe(false);
    const numbers = [...stuck.matchAll(/sent message (\d+)/g)].map((m) => Number(m[1]));
    // Resumed, the consumer gets every message from its mapping, then the end.
    consumer.kill('SIGCONT');
    const c = await cresult;
    expect(c.code).toBe(0);
    expect(received(c.stdout)).toEqual(numbers);
    expect(c.stdout).toContain(`consumer: done after ${numbers.length} messages`);
  });

  it('a consumer notices a producer killed with SIGKILL', async () => {
    const { shm } = names();
    const producer = node('producer.js', sem(shm, '--interval', '50'));
    const consumer = node('consumer.js', sem(shm));
    const cresult = exited(consumer);
    await waitForLine(consumer, /message 2:/);
    producer.kill('SIGKILL');
    const c = await cresult;
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`consumer: producer ${producer.pid} died without closing`);
    // What a killed producer cannot remove, the test does.
    await run('rm', ['-f', `/dev/shm${shm}`]);
  });

  it('bad combinations are usage errors; a FIFO producer is not mistaken for a semaphore one', async () => {
    for (const args of [
      ['--sync', 'pigeon'],
      ['--sync', 'toString'],
      ['--sync', 'semaphore', '--fifo', '/tmp/x.fifo'],
    ]) {
      const r = await run(process.execPath, [dist('consumer.js'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        /^shmkit-consumer: (--sync must be one of fifo, semaphore|--fifo does not apply)/,
      );
    }
    const { shm, fifo } = names();
    const producer = node('producer.js', ['--name', shm, '--fifo', fifo]);
    const presult = exited(producer);
    await waitForLine(producer, /waiting for a consumer/);
    const c = await run(process.execPath, [dist('consumer.js'), ...sem(shm, '--wait', '300')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain(
      // Runtime errors carry the same prefix as usage errors: the command's name.
      `shmkit-consumer: no semaphore producer: '${shm}' is 4096 bytes, not 8192: is its producer using --sync semaphore?`,
    );
    producer.kill('SIGINT');
    expect((await presult).code).toBe(130);
    const bad = await run(process.execPath, [dist('producer.js'), '--count', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^shmkit-producer: --count must be a whole number, got 'many'/);
  });

  it('--help prints the usage to stdout and exits 0', async () => {
    for (const program of ['producer.js', 'consumer.js']) {
      const r = await run(process.execPath, [dist(program), '--help']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: shmkit-(producer|consumer) \[options\]/);
    }
  });
});

// The tutorial's mmap_comm producer and consumer in C, with its bugs fixed:
// mode 0600 instead of 0/0660, every call checked, the size checked before
// mapping, the message area's sequence lock (see layout.ts) instead of an
// unsynchronised strcpy, and cleanup on exit.
const C_COMMON = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define AREA_SIZE 4096
#define TEXT_OFFSET 8
#define TEXT_CAPACITY (AREA_SIZE - TEXT_OFFSET)
static void die(const char *what) { perror(what); exit(1); }
static void pause_ms(long ms) { struct timespec t = { ms / 1000, (ms % 1000) * 1000000L }; nanosleep(&t, NULL); }
`;

const C_PRODUCER = String.raw`${C_COMMON}
int main(int argc, char **argv) {
  const char *name = argv[1], *fifo = argv[2];
  int count = atoi(argv[3]);
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) die("shm_open");
  if (ftruncate(fd, AREA_SIZE) != 0) die("ftruncate");
  unsigned char *area = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (area == MAP_FAILED) die("mmap");
  close(fd);
  if (mkfifo(fifo, 0600) != 0) die("mkfifo");
  int fifo_fd = open(fifo, O_WRONLY); /* blocks until the consumer opens it */
  if (fifo_fd < 0) die("open fifo");
  int32_t *seq = (int32_t *)area;
  uint32_t *length = (uint32_t *)(area + 4);
  for (int i = 1; i <= count; i++) {
    char text[128];
    int n = snprintf(text, sizeof text, "Hello %d from C", i);
    __atomic_fetch_add(seq, 1, __ATOMIC_ACQ_REL); /* odd: writing */
    *length = (uint32_t)n;
    memset(area + TEXT_OFFSET, 0, TEXT_CAPACITY);
    memcpy(area + TEXT_OFFSET, text, n);
    int32_t number = __atomic_add_fetch(seq, 1, __ATOMIC_RELEASE) / 2; /* even: stable */
    if (write(fifo_fd, &number, sizeof number) != sizeof number) die("write");
    pause_ms(50);
  }
  close(fifo_fd);
  munmap(area, AREA_SIZE);
  if (shm_unlink(name) != 0) die("shm_unlink");
  if (unlink(fifo) != 0) die("unlink");
  return 0;
}
`;

const C_CONSUMER = String.raw`${C_COMMON}
int main(int argc, char **argv) {
  const char *name = argv[1], *fifo = argv[2];
  int fd = -1;
  for (int tries = 0; fd < 0; tries++) { /* wait for the producer */
    fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0 && (errno != ENOENT || tries > 200)) die("shm_open");
    if (fd < 0) pause_ms(50);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  if (st.st_size < AREA_SIZE) { fprintf(stderr, "object too small\n"); return 1; }
  const unsigned char *area = mmap(NULL, AREA_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  if (area == MAP_FAILED) die("mmap");
  close(fd);
  int fifo_fd = -1;
  for (int tries = 0; fifo_fd < 0; tries++) {
    fifo_fd = open(fifo, O_RDONLY);
    if (fifo_fd < 0 && (errno != ENOENT || tries > 200)) die("open fifo");
    if (fifo_fd < 0) pause_ms(50);
  }
  const int32_t *seq = (const int32_t *)area;
  int32_t announced;
  ssize_t got;
  while ((got = read(fifo_fd, &announced, sizeof announced)) == sizeof announced) {
    char text[TEXT_CAPACITY + 1];
    int32_t before, after;
    do {
      before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
      uint32_t n = *(const uint32_t *)(area + 4);
      if (n > TEXT_CAPACITY) n = TEXT_CAPACITY;
      memcpy(text, area + TEXT_OFFSET, n);
      text[n] = 0;
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      after = __atomic_load_n(seq, __ATOMIC_RELAXED);
    } while ((before & 1) || before != after);
    printf("C consumer: message %d: %s\n", before / 2, text);
    fflush(stdout);
  }
  if (got < 0) die("read");
  printf("C consumer: producer gone\n");
  return 0;
}
`;

// --sync semaphore in C: the same message area, plus the sync page with two
// glibc sem_t at 4128 ("item ready") and 4160 ("slot free") used with
// sem_wait/sem_post directly (see src/notify-semaphore.ts and the README).
const C_SEM_COMMON = String.raw`${C_COMMON}
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/syscall.h>
#define OBJECT_SIZE 8192
#define SYNC_OFFSET 4096
#define ITEMS_OFFSET 4128
#define SLOTS_OFFSET 4160
enum { STATE, PRODUCER, CONSUMERS, PUBLISHED, CONSUMED };
enum { SETTING_UP, OPEN, CLOSED };
static long futex(int32_t *word, int op, int value, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}
`;

const C_SEM_PRODUCER = String.raw`${C_SEM_COMMON}
int main(int argc, char **argv) {
  const char *name = argv[1];
  int count = atoi(argv[2]);
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) die("shm_open");
  if (ftruncate(fd, OBJECT_SIZE) != 0) die("ftruncate");
  unsigned char *area = mmap(NULL, OBJECT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (area == MAP_FAILED) die("mmap");
  close(fd);
  int32_t *w = (int32_t *)(area + SYNC_OFFSET);
  sem_t *items = (sem_t *)(area + ITEMS_OFFSET), *slots = (sem_t *)(area + SLOTS_OFFSET);
  if (sem_init(items, 1, 0) != 0 || sem_init(slots, 1, 1) != 0) die("sem_init");
  __atomic_store_n(&w[PRODUCER], getpid(), __ATOMIC_SEQ_CST);
  __atomic_store_n(&w[STATE], OPEN, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&w[CONSUMERS], __ATOMIC_SEQ_CST) == 0) { /* wait for a consumer */
    struct timespec t = { 10, 0 };
    if (futex(&w[CONSUMERS], FUTEX_WAIT, 0, &t) != 0 && errno == ETIMEDOUT) { fprintf(stderr, "no consumer\n"); return 1; }
  }
  int32_t *seq = (int32_t *)area;
  for (int i = 1; i <= count; i++) {
    while (sem_wait(slots) != 0) if (errno != EINTR) die("sem_wait");
    char text[128];
    int n = snprintf(text, sizeof text, "Hello %d from C", i);
    __atomic_fetch_add(seq, 1, __ATOMIC_ACQ_REL);
    *(uint32_t *)(area + 4) = (uint32_t)n;
    memset(area + TEXT_OFFSET, 0, TEXT_CAPACITY);
    memcpy(area + TEXT_OFFSET, text, n);
    int32_t number = __atomic_add_fetch(seq, 1, __ATOMIC_RELEASE) / 2;
    __atomic_store_n(&w[PUBLISHED], number, __ATOMIC_SEQ_CST);
    if (sem_post(items) != 0) die("sem_post");
  }
  __atomic_store_n(&w[STATE], CLOSED, __ATOMIC_SEQ_CST);
  if (sem_post(items) != 0) die("sem_post"); /* the end token */
  munmap(area, OBJECT_SIZE);
  if (shm_unlink(name) != 0) die("shm_unlink");
  return 0;
}
`;

const C_SEM_CONSUMER = String.raw`${C_SEM_COMMON}
int main(int argc, char **argv) {
  const char *name = argv[1];
  int fd = -1;
  struct stat st = { 0 };
  for (int tries = 0; fd < 0 || st.st_size < OBJECT_SIZE; tries++) { /* wait for the producer */
    if (tries > 400) { fprintf(stderr, "no producer\n"); return 1; }
    if (fd < 0) fd = shm_open(name, O_RDWR, 0);
    if (fd < 0 && errno != ENOENT) die("shm_open");
    if (fd >= 0 && fstat(fd, &st) != 0) die("fstat");
    if (fd < 0 || st.st_size < OBJECT_SIZE) pause_ms(20);
  }
  unsigned char *area = mmap(NULL, OBJECT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (area == MAP_FAILED) die("mmap");
  close(fd);
  int32_t *w = (int32_t *)(area + SYNC_OFFSET);
  for (int tries = 0; __atomic_load_n(&w[STATE], __ATOMIC_SEQ_CST) == SETTING_UP; tries++) {
    if (tries > 400) { fprintf(stderr, "never set up\n"); return 1; }
    pause_ms(5);
  }
  sem_t *items = (sem_t *)(area + ITEMS_OFFSET), *slots = (sem_t *)(area + SLOTS_OFFSET);
  __atomic_add_fetch(&w[CONSUMERS], 1, __ATOMIC_SEQ_CST);
  futex(&w[CONSUMERS], FUTEX_WAKE, INT_MAX, NULL);
  for (;;) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    if (sem_timedwait(items, &deadline) != 0) {
      if (errno == EINTR) continue;
      die("sem_timedwait");
    }
    int32_t published = __atomic_load_n(&w[PUBLISHED], __ATOMIC_SEQ_CST);
    if (published > __atomic_load_n(&w[CONSUMED], __ATOMIC_SEQ_CST)) {
      __atomic_store_n(&w[CONSUMED], published, __ATOMIC_SEQ_CST);
      /* Handed off: the producer waits for the slot, so the area is stable. */
      int32_t number = __atomic_load_n((int32_t *)area, __ATOMIC_ACQUIRE) / 2;
      uint32_t n = *(uint32_t *)(area + 4);
      if (n > TEXT_CAPACITY) n = TEXT_CAPACITY;
      printf("C consumer: message %d (announced %d): %.*s\n", number, published, (int)n, area + TEXT_OFFSET);
      fflush(stdout);
      if (sem_post(slots) != 0) die("sem_post");
    } else if (__atomic_load_n(&w[STATE], __ATOMIC_SEQ_CST) == CLOSED) {
      sem_post(items); /* pass the end token on */
      break;
    }
  }
  __atomic_sub_fetch(&w[CONSUMERS], 1, __ATOMIC_SEQ_CST);
  munmap(area, OBJECT_SIZE);
  printf("C consumer: producer done\n");
  return 0;
}
`;

describe('interop with C', () => {
  it("the tutorial's producer in C (fixed) feeds our consumer", async () => {
    const { shm, fifo } = names();
    const consumer = node('consumer.js', ['--name', shm, '--fifo', fifo]);
    const cresult = exited(consumer);
    const producer = await run(compileC(C_PRODUCER, ['-lrt']), [shm, fifo, '3']);
    expect(producer.stderr).toBe('');
    expect(producer.code).toBe(0);
    const c = await cresult;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    for (let i = 1; i <= 3; i++)
      expect(c.stdout).toContain(`consumer: message ${i}: Hello ${i} from C\n`);
    expect(c.stdout).toContain('consumer: done after 3 messages');
  });

  it('our producer feeds a C consumer', async () => {
    const { shm, fifo } = names();
    const consumer = run(compileC(C_CONSUMER, ['-lrt']), [shm, fifo]);
    const p = await run(process.execPath, [
      dist('producer.js'),
      '--name',
      shm,
      '--fifo',
      fifo,
      '--interval',
      '30',
      '--count',
      '3',
    ]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const c = await consumer;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    for (let i = 1; i <= 3; i++)
      expect(c.stdout).toMatch(
        new RegExp(`C consumer: message ${i}: Hello #${i} from producer \\d+\\n`),
      );
    expect(c.stdout).toContain('C consumer: producer gone');
  });
  it('--sync semaphore: a C producer (sem_wait/sem_post) hands its messages to our consumer', async () => {
    const { shm } = names();
    const consumer = node('consumer.js', ['--name', shm, '--sync', 'semaphore']);
    const cresult = exited(consumer);
    const producer = await run(compileC(C_SEM_PRODUCER, ['-lrt', '-lpthread']), [shm, '25']);
    expect(producer.stderr).toBe('');
    expect(producer.code).toBe(0);
    const c = await cresult;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const lines = [...c.stdout.matchAll(/consumer: message (\d+): Hello (\d+) from C\n/g)];
    expect(lines.map((m) => [Number(m[1]), Number(m[2])])).toEqual(
      Array.from({ length: 25 }, (_, i) => [i + 1, i + 1]),
    );
    expect(c.stdout).toContain('consumer: done after 25 messages');
  });

  it('--sync semaphore: our producer hands its messages to a C consumer', async () => {
    const { shm } = names();
    const consumer = run(compileC(C_SEM_CONSUMER, ['-lrt', '-lpthread']), [shm]);
    const p = await run(process.execPath, [
      dist('producer.js'),
      '--name',
      shm,
      '--sync',
      'semaphore',
      '--interval',
      '0',
      '--count',
      '25',
    ]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const c = await consumer;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const lines = [
      ...c.stdout.matchAll(
        /C consumer: message (\d+) \(announced (\d+)\): Hello #(\d+) from producer \d+\n/g,
      ),
    ];
    expect(lines.map((m) => [Number(m[1]), Number(m[2]), Number(m[3])])).toEqual(
      Array.from({ length: 25 }, (_, i) => [i + 1, i + 1, i + 1]),
    );
    expect(c.stdout).toContain('C consumer: producer done');
  });
});
