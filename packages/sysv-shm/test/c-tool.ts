// A small C program that speaks System V shared memory the way any C client
// would: the other side of the interop tests.
import { compileC } from '@shmkit/testing';

const source = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static void fail(const char *what) { perror(what); exit(2); }

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "create") && argc == 5) {            /* create KEY SIZE TEXT */
    key_t key = (key_t)strtoul(argv[2], NULL, 0);
    int id = shmget(key, strtoul(argv[3], NULL, 0), IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) fail("shmget");
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) fail("shmat");
    strcpy(p + 8, argv[4]);
    __atomic_store_n((int *)p, 1, __ATOMIC_RELEASE);
    shmdt(p);
    printf("%d\n", id);
  } else if (!strcmp(cmd, "read") && argc == 5) {       /* read ID OFFSET LEN */
    char *p = shmat(atoi(argv[2]), NULL, SHM_RDONLY);
    if (p == (void *)-1) fail("shmat");
    fwrite(p + atoi(argv[3]), 1, atoi(argv[4]), stdout);
    shmdt(p);
  } else if (!strcmp(cmd, "add") && argc == 4) {        /* add ID TIMES */
    int *p = shmat(atoi(argv[2]), NULL, 0);
    if (p == (void *)-1) fail("shmat");
    for (long i = 0, n = atol(argv[3]); i < n; i++) __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
    shmdt(p);
  } else if (!strcmp(cmd, "stat") && argc == 3) {       /* stat ID */
    struct shmid_ds ds;
    if (shmctl(atoi(argv[2]), IPC_STAT, &ds) < 0) fail("shmctl");
    printf("key=%u uid=%u gid=%u cuid=%u cgid=%u mode=%u size=%zu atime=%ld dtime=%ld ctime=%ld cpid=%d lpid=%d nattch=%lu\n",
           (unsigned)ds.shm_perm.__key, ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid, ds.shm_perm.cgid,
           (unsigned)ds.shm_perm.mode, ds.shm_segsz, (long)ds.shm_atime, (long)ds.shm_dtime, (long)ds.shm_ctime,
           ds.shm_cpid, ds.shm_lpid, (unsigned long)ds.shm_nattch);
  } else if (!strcmp(cmd, "ftok") && argc == 4) {       /* ftok PATH PROJ */
    key_t key = ftok(argv[2], atoi(argv[3]));
    printf("%u\n", (unsigned)key);
  } else {
    return 64;
  }
  return 0;
}
`;

/** Path of the compiled tool (compiled once per source version). */
export function cTool(): string {
  return compileC(source);
}
