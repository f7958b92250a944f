/* The Mutex word protocol of @shmkit/sync, implemented in C as the README
 * documents it. Usage:
 *   mutex-protocol <file> <offset> count <n>   lock, ++counter (next word), unlock, n times
 *   mutex-protocol <file> <offset> hold        lock, print "locked", wait to be killed
 *   mutex-protocol <file> <offset> lock        lock once, print the result, unlock (markConsistent first if owner died)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TID_MASK 0x3fffffffu
#define OWNER_DIED 0x40000000u
#define WAITERS 0x80000000u
#define NOT_RECOVERABLE 0x3fffffffu

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

static int owner_alive(uint32_t tid) {
  return !(kill((pid_t)tid, 0) == -1 && errno == ESRCH);
}

/* 0, EOWNERDEAD (now held, inconsistent) or ENOTRECOVERABLE. */
static int mutex_lock(_Atomic uint32_t *word, uint32_t tid) {
  uint32_t value = 0;
  if (atomic_compare_exchange_strong(word, &value, tid)) return 0;
  int contended = 0;
  for (;;) {
    value = atomic_load(word);
    uint32_t owner = value & TID_MASK;
    if (owner == NOT_RECOVERABLE) return ENOTRECOVERABLE;
    if (owner == 0) {
      uint32_t next = tid | (value & OWNER_DIED) | ((contended || (value & WAITERS)) ? WAITERS : 0);
      uint32_t seen = value;
      if (atomic_compare_exchange_strong(word, &seen, next)) return (value & OWNER_DIED) ? EOWNERDEAD : 0;
      continue;
    }
    uint32_t waiting = value | WAITERS;
    if (value != waiting) {
      uint32_t seen = value;
      if (!atomic_compare_exchange_strong(word, &seen, waiting)) continue;
    }
    contended = 1;
    struct timespec slice = {0, 100 * 1000 * 1000};
    if (futex(word, FUTEX_WAIT, waiting, &slice) == -1 && errno == ETIMEDOUT && !owner_alive(owner)) {
      uint32_t seen = atomic_load(word);
      if ((seen & TID_MASK) == owner && atomic_compare_exchange_strong(word, &seen, tid | OWNER_DIED | WAITERS))
        return EOWNERDEAD;
    }
  }
}

static int mutex_unlock(_Atomic uint32_t *word, uint32_t tid) {
  uint32_t value = tid;
  if (atomic_compare_exchange_strong(word, &value, 0)) return 0;
  value = atomic_load(word);
  if ((value & TID_MASK) != tid) return EPERM;
  if (value & OWNER_DIED) {
    atomic_store(word, NOT_RECOVERABLE);
    futex(word, FUTEX_WAKE, INT_MAX, NULL);
    return 0;
  }
  if (atomic_exchange(word, 0) & WAITERS) futex(word, FUTEX_WAKE, 1, NULL);
  return 0;
}

static void mutex_consistent(_Atomic uint32_t *word) {
  atomic_fetch_and(word, ~OWNER_DIED);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror("open"); return 1; }
  long offset = atol(argv[2]);
  char *base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 1; }
  _Atomic uint32_t *word = (_Atomic uint32_t *)(base + offset);
  volatile int32_t *counter = (volatile int32_t *)(base + offset + 4);
  uint32_t tid = (uint32_t)syscall(SYS_gettid);
  if (strcmp(argv[3], "count") == 0) {
    long n = atol(argv[4]);
    for (long i = 0; i < n; i++) {
      int r = mutex_lock(word, tid);
      if (r == ENOTRECOVERABLE) { fprintf(stderr, "not recoverable\n"); return 1; }
      if (r == EOWNERDEAD) mutex_consistent(word);
      *counter = *counter + 1;
      if (mutex_unlock(word, tid) != 0) { fprintf(stderr, "unlock failed\n"); return 1; }
    }
    printf("done\n");
  } else if (strcmp(argv[3], "hold") == 0) {
    mutex_lock(word, tid);
    printf("locked %u\n", tid);
    fflush(stdout);
    for (;;) pause();
  } else if (strcmp(argv[3], "lock") == 0) {
    int r = mutex_lock(word, tid);
    printf("%s\n", r == 0 ? "ok" : r == EOWNERDEAD ? "owner-died" : "not-recoverable");
    if (r == EOWNERDEAD) mutex_consistent(word);
    if (r != ENOTRECOVERABLE) mutex_unlock(word, tid);
  }
  return 0;
}
