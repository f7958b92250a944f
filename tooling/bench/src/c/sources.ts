// C programs and the C addon that give the floors and ceilings. Each is
// compiled by the bench itself (see cc.ts), so the baselines are measured on
// the same machine, in the same run, as the Node numbers they frame.

/** A Node-API addon whose only export does nothing: the floor of a native call. */
export const NOOP_ADDON = String.raw`
#include <node_api.h>

static napi_value noop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  return NULL; /* NULL from a callback reads as undefined in JS */
}

/* What a typical binding does before and after its work: fetch up to 8
   arguments and its data pointer, and return a real undefined value. */
static napi_value noop_args(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], this_arg, result;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, &this_arg, &data) != napi_ok) return NULL;
  if (napi_get_undefined(env, &result) != napi_ok) return NULL;
  return result;
}

static int export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) != napi_ok) return 0;
  return napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_EXPORT napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  if (!export_fn(env, exports, "noop", noop) || !export_fn(env, exports, "noopArgs", noop_args)) return NULL;
  return exports;
}
`;

/** The spin-wait hint both spinning programs use: PAUSE on x86, YIELD on arm64. */
const CPU_RELAX = String.raw`
static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}
`;

/**
 * Two processes (fork) bounce one word over a MAP_SHARED file mapping, either
 * parking with a shared futex or spinning. Usage:
 *   pingpong futex|spin PATH SAMPLES WARMUP BATCH
 * Prints one JSON line: per-round-trip nanoseconds (median, p99 over samples;
 * each sample is the mean of BATCH round trips).
 */
export const PINGPONG = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

${CPU_RELAX}
static int spin_mode;

/* Shared futex (no FUTEX_PRIVATE_FLAG): the waiters live in two processes. */
static void wait_for(_Atomic int *w, int want) {
  unsigned n = 0;
  for (;;) {
    int v = atomic_load_explicit(w, memory_order_acquire);
    if (v == want) return;
    if (spin_mode) {
      cpu_relax();
      /* Yield now and then so two spinners on a busy 2-core box still progress. */
      if (++n == (1u << 14)) { sched_yield(); n = 0; }
    } else {
      syscall(SYS_futex, (int *)w, FUTEX_WAIT, v, NULL, NULL, 0);
    }
  }
}

static void post(_Atomic int *w, int v) {
  atomic_store_explicit(w, v, memory_order_release);
  if (!spin_mode) syscall(SYS_futex, (int *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: pingpong futex|spin PATH SAMPLES WARMUP BATCH\n"); return 2; }
  spin_mode = strcmp(argv[1], "spin") == 0;
  long samples = atol(argv[3]), warmup = atol(argv[4]), batch = atol(argv[5]);
  int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open/ftruncate"); return 1; }
  _Atomic int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) { perror("mmap"); return 1; }
  close(fd);
  unlink(argv[2]);
  long total = (warmup + samples) * batch;
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    for (long i = 0; i < total; i++) { wait_for(w, 1); post(w, 0); }
    _exit(0);
  }
  double *s = malloc(sizeof(double) * (size_t)samples);
  for (long i = 0; i < warmup * batch; i++) { post(w, 1); wait_for(w, 0); }
  for (long i = 0; i < samples; i++) {
    double t0 = now_ns();
    for (long j = 0; j < batch; j++) { post(w, 1); wait_for(w, 0); }
    s[i] = (now_ns() - t0) / (double)batch;
  }
  waitpid(pid, NULL, 0);
  qsort(s, (size_t)samples, sizeof(double), cmp);
  long p99 = (long)(0.99 * (double)samples + 0.999999) - 1;
  if (p99 < 0) p99 = 0;
  printf("{\"median\":%.1f,\"p99\":%.1f,\"count\":%ld}\n", s[samples / 2], s[p99], samples);
  return 0;
}
`;

/**
 * One process copies TOTAL bytes in CHUNK-sized memcpy calls from PATTERNS
 * source chunks in rotation into a ring of SLOTS chunks: the shape of the
 * shared-memory producer, without a consumer.
 * Usage: memcpy TOTAL CHUNK SLOTS PATTERNS REPEATS.
 * Prints one JSON line with the nanoseconds of each repeat.
 */
export const MEMCPY = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: memcpy TOTAL CHUNK SLOTS PATTERNS REPEATS\n"); return 2; }
  size_t total = strtoull(argv[1], NULL, 10), chunk = strtoull(argv[2], NULL, 10);
  size_t slots = strtoull(argv[3], NULL, 10), patterns = strtoull(argv[4], NULL, 10);
  int repeats = atoi(argv[5]);
  unsigned char *src = malloc(chunk * patterns), *ring = malloc(chunk * slots);
  if (!src || !ring) { perror("malloc"); return 1; }
  for (size_t i = 0; i < chunk * patterns; i++) src[i] = (unsigned char)(i * 31 + 7);
  memset(ring, 0, chunk * slots); /* fault the pages in before timing */
  unsigned sink = 0;
  printf("{\"ns\":[");
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ns();
    size_t slot = 0, k = 0;
    for (size_t done = 0; done < total; done += chunk) {
      memcpy(ring + slot * chunk, src + k * chunk, chunk);
      if (++slot == slots) slot = 0;
      if (++k == patterns) k = 0;
    }
    double t = now_ns() - t0;
    sink += ring[chunk - 1];
    printf("%s%.0f", r ? "," : "", t);
  }
  printf("],\"sink\":%u}\n", sink);
  return 0;
}
`;

/**
 * The C floor of map+close: COUNT x (mmap one page + munmap), anonymous
 * MAP_SHARED and MAP_SHARED of PATH's first page. Usage: mapclose PATH COUNT.
 * Prints one JSON line with nanoseconds per map+unmap of each kind.
 */
export const MAPCLOSE = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(int fd, long count) {
  double t0 = now_ns();
  for (long i = 0; i < count; i++) {
    void *p = fd < 0 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                     : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    munmap(p, 4096);
  }
  return (now_ns() - t0) / (double)count;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: mapclose PATH COUNT\n"); return 2; }
  long count = atol(argv[2]);
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror("open"); return 1; }
  run(-1, count / 10 + 1); /* warm-up */
  double anon = run(-1, count);
  run(fd, count / 10 + 1);
  double file = run(fd, count);
  printf("{\"anon\":%.1f,\"fd\":%.1f}\n", anon, file);
  return 0;
}
`;

/**
 * A minimal shared-futex addon: what a native futex call from Node costs
 * with nothing else in the way. Used by the reference sync adapter
 * (sync/reference.ts), never as a shmkit figure.
 *   futexWait(int32Array, index, expected) -> 0 woken, 1 not equal, 2 interrupted
 *   futexWake(int32Array, index, count) -> number woken
 */
export const FUTEX_ADDON = String.raw`
#include <errno.h>
#include <linux/futex.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static int *word(napi_env env, napi_value array, napi_value index) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  uint32_t i;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "expected an Int32Array");
    return NULL;
  }
  if (napi_get_value_uint32(env, index, &i) != napi_ok || i >= length) {
    napi_throw_range_error(env, NULL, "index out of range");
    return NULL;
  }
  return (int *)data + i; /* data already includes the view's byte offset */
}

static napi_value futex_wait(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int32_t expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return NULL;
  int *w = word(env, argv[0], argv[1]);
  if (w == NULL || napi_get_value_int32(env, argv[2], &expected) != napi_ok) return NULL;
  long r = syscall(SYS_futex, w, FUTEX_WAIT, expected, NULL, NULL, 0);
  napi_create_int32(env, r == 0 ? 0 : errno == EAGAIN ? 1 : 2, &out);
  return out;
}

static napi_value futex_wake(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int32_t count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return NULL;
  int *w = word(env, argv[0], argv[1]);
  if (w == NULL || napi_get_value_int32(env, argv[2], &count) != napi_ok) return NULL;
  long r = syscall(SYS_futex, w, FUTEX_WAKE, count, NULL, NULL, 0);
  napi_create_int32(env, (int32_t)r, &out);
  return out;
}

NAPI_MODULE_EXPORT napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "futexWait", NAPI_AUTO_LENGTH, futex_wait, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "futexWait", fn) != napi_ok ||
      napi_create_function(env, "futexWake", NAPI_AUTO_LENGTH, futex_wake, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "futexWake", fn) != napi_ok)
    return NULL;
  return exports;
}
`;

/**
 * The least a producer in another process can do to feed a ring of 64-byte
 * messages: write each 72-byte record (a sequence word, a spare word, the
 * payload) and publish it with a release store of its sequence word,
 * spinning while the consumer's position word says the ring is full. No
 * cursors, no batching, no wake-ups: the floor rows' consumer sees data
 * arrive from another core as fast as it can. Usage:
 *   ring-producer PATH SLOTS COUNT
 * The file holds the consumer's position at byte 0 and the records from
 * byte 256.
 */
export const RING_PRODUCER = String.raw`
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

${CPU_RELAX}
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  long slots = atol(argv[2]), count = atol(argv[3]);
  size_t size = 256 + (size_t)slots * 72;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror("open"); return 1; }
  char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 1; }
  close(fd);
  _Atomic int32_t *position = (_Atomic int32_t *)base;
  char payload[64];
  memset(payload, 7, sizeof payload);
  long consumed = 0, slot = 0;
  for (long i = 0; i < count; i++) {
    while (i - consumed >= slots) {
      consumed = atomic_load_explicit(position, memory_order_acquire);
      cpu_relax();
    }
    char *record = base + 256 + slot * 72;
    memcpy(record + 8, payload, sizeof payload);
    atomic_store_explicit((_Atomic int32_t *)record, (int32_t)(i + 1), memory_order_release);
    if (++slot == slots) slot = 0;
  }
  munmap(base, size);
  return 0;
}
`;
