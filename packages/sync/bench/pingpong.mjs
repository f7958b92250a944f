// Micro-benchmark (not a test): round trip between two processes through a
// shared futex word, blocking and spinning, next to the same in C.
// Usage: node bench/pingpong.mjs [roundTrips]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adoptMapping, native } from '@shmkit/core/internal';
import { futexWait, futexWake, SharedEvent } from '@shmkit/sync';

const N = Number(process.argv[2] ?? 20000);
const role = process.argv[3];
const path = process.argv[4] ?? join('/dev/shm', `shmkit-pingpong-${process.pid}`);

function map() {
  const fd = openSync(path, role ? 'r+' : 'w+', 0o600);
  if (!role) ftruncateSync(fd, 4096);
  const mapping = adoptMapping(native.mapFd(fd, 0, 4096, {}), { kind: 'file' });
  closeSync(fd);
  return mapping;
}

// Word 0 counts turns: the pinger makes it odd, the ponger even.
function pingPongFutex(words, me, spin) {
  const options = { spin };
  for (let i = 0; i < N; i++) {
    const want = 2 * i + me;
    if (me === 1) {
      Atomics.store(words, 0, want);
      futexWake(words, 0, 1);
      let v;
      while ((v = Atomics.load(words, 0)) !== want + 1) futexWait(words, 0, v, options);
    } else {
      let v;
      while ((v = Atomics.load(words, 0)) !== want - 1) futexWait(words, 0, v, options);
      Atomics.store(words, 0, want);
      futexWake(words, 0, 1);
    }
  }
}

function pingPongEvents(mapping, me, spin) {
  const ping = SharedEvent.attach(mapping, 64);
  const pong = SharedEvent.attach(mapping, 128);
  const options = { spin };
  for (let i = 0; i < N; i++) {
    if (me === 1) {
      ping.set();
      pong.wait(options);
    } else {
      ping.wait(options);
      pong.set();
    }
  }
}

// The pinger waits with waitAsync (a native thread per wait), the ponger sync.
async function pingPongEventsAsync(mapping, spin) {
  const ping = SharedEvent.attach(mapping, 64);
  const pong = SharedEvent.attach(mapping, 128);
  for (let i = 0; i < N; i++) {
    ping.set();
    await pong.waitAsync({ spin });
  }
}

const cSource = `
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static void fwait(_Atomic int *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
static void fwake(_Atomic int *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }
int main(int argc, char **argv) {
  int n = atoi(argv[1]), spin = atoi(argv[2]);
  _Atomic int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  struct timespec a, b;
  if (fork() == 0) {
    for (int i = 0; i < n; i++) {
      int v; while ((v = atomic_load(w)) != 2 * i + 1) { if (!spin) fwait(w, v); }
      atomic_store(w, 2 * i + 2); if (!spin) fwake(w);
    }
    _exit(0);
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    atomic_store(w, 2 * i + 1); if (!spin) fwake(w);
    int v; while ((v = atomic_load(w)) != 2 * i + 2) { if (!spin) fwait(w, v); }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.0f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}`;

function cRoundTrip(spin) {
  const src = join(tmpdir(), 'shmkit-pingpong.c');
  const bin = join(tmpdir(), 'shmkit-pingpong');
  writeFileSync(src, cSource);
  const cc = spawnSync('cc', ['-O2', '-o', bin, src]);
  if (cc.status !== 0) throw new Error(cc.stderr.toString());
  return Number(spawnSync(bin, [String(N), spin ? '1' : '0']).stdout.toString());
}

const modes = [
  ['futex blocking', 'futex', 0],
  ['futex spin', 'futex', 100000],
  ['event blocking', 'event', 0],
  ['event spin', 'event', 100000],
  ['event waitAsync', 'event-async', 0],
];

if (role) {
  const mapping = map();
  const [, kind, spin] = modes[Number(role)];
  process.stdout.write('ready\n');
  if (kind === 'futex') pingPongFutex(mapping.int32Array(0, 4), 2, spin);
  else pingPongEvents(mapping, 2, spin);
  process.exit(0);
}

const mapping = map();
try {
  console.log(`round trips: ${N}; 2 cores shared with other jobs, so expect noise`);
  console.log(`C futex blocking                ${cRoundTrip(false)} ns`);
  console.log(`C spin                          ${cRoundTrip(true)} ns`);
  for (let m = 0; m < modes.length; m++) {
    const [label, kind, spin] = modes[m];
    new Int32Array(mapping.buffer).fill(0);
    SharedEvent.init(mapping, 64, { mode: 'auto' });
    SharedEvent.init(mapping, 128, { mode: 'auto' });
    const child = spawn(
      process.execPath,
      [new URL(import.meta.url).pathname, String(N), String(m), path],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const start = process.hrtime.bigint();
    if (kind === 'futex') pingPongFutex(mapping.int32Array(0, 4), 1, spin);
    else if (kind === 'event-async') await pingPongEventsAsync(mapping, spin);
    else pingPongEvents(mapping, 1, spin);
    const ns = Number(process.hrtime.bigint() - start) / N;
    await new Promise((resolve) => child.once('exit', resolve));
    console.log(`node ${label.padEnd(26)} ${ns.toFixed(0)} ns`);
  }
} finally {
  mapping.close();
  rmSync(path, { force: true });
}
