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
  it('the demo runs both and leaves nothing behind', async () => {
    const before = readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit-demo-'));
    const r = await run(process.execPath, [dist('demo.js')], { cwd: appDir, timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (let i = 1; i <= 4; i++)
      expect(r.stdout).toContain(`consumer: message ${i}: Hello #${i} from producer`);
    expect(r.stdout).toContain('left behind: nothing');
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
});
