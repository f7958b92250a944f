/* A C program using a pthread_mutex_t that @shmkit/sync's PthreadMutex
 * initialised (robust, process-shared) in a shared file. Usage:
 *   pthread-user <file> <offset> count <n>   lock, ++counter (int after the mutex), unlock, n times
 *   pthread-user <file> <offset> hold        lock, print "locked", wait to be killed
 *   pthread-user <file> <offset> lock        lock once, print ok/owner-died, unlock
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror("open"); return 1; }
  long offset = atol(argv[2]);
  char *base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 1; }
  pthread_mutex_t *mutex = (pthread_mutex_t *)(base + offset);
  volatile int *counter = (volatile int *)(base + offset + sizeof(pthread_mutex_t));
  if (strcmp(argv[3], "count") == 0) {
    long n = atol(argv[4]);
    for (long i = 0; i < n; i++) {
      int r = pthread_mutex_lock(mutex);
      if (r == EOWNERDEAD) pthread_mutex_consistent(mutex);
      else if (r != 0) { fprintf(stderr, "lock: %s\n", strerror(r)); return 1; }
      *counter = *counter + 1;
      if ((r = pthread_mutex_unlock(mutex)) != 0) { fprintf(stderr, "unlock: %s\n", strerror(r)); return 1; }
    }
    printf("done\n");
  } else if (strcmp(argv[3], "hold") == 0) {
    pthread_mutex_lock(mutex);
    printf("locked\n");
    fflush(stdout);
    for (;;) pause();
  } else if (strcmp(argv[3], "lock") == 0) {
    int r = pthread_mutex_lock(mutex);
    printf("%s\n", r == 0 ? "ok" : r == EOWNERDEAD ? "owner-died" : strerror(r));
    if (r == EOWNERDEAD) pthread_mutex_consistent(mutex);
    if (r == 0 || r == EOWNERDEAD) pthread_mutex_unlock(mutex);
  }
  return 0;
}
