// A C program that speaks both kinds of kernel message queue the way any C
// client would: the other side of the interop tests.
import { compileC } from '@shmkit/testing';

const source = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <time.h>

static void fail(const char *what) { perror(what); exit(2); }

/* A deadline 10 s from now on CLOCK_REALTIME, as mq_timed* want it. */
static struct timespec soon(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 10;
  return ts;
}

struct msg { long mtype; char mtext[8192]; };

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "mq-create") && argc == 5) {          /* mq-create NAME MAXMSG MSGSIZE */
    struct mq_attr a = { .mq_maxmsg = atol(argv[3]), .mq_msgsize = atol(argv[4]) };
    mqd_t q = mq_open(argv[2], O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (q < 0) fail("mq_open");
    printf("created\n");
  } else if (!strcmp(cmd, "mq-send") && argc >= 4) {     /* mq-send NAME PRIO TEXT... */
    mqd_t q = mq_open(argv[2], O_WRONLY);
    if (q < 0) fail("mq_open");
    for (int i = 4; i < argc; i++) {
      struct timespec ts = soon();
      if (mq_timedsend(q, argv[i], strlen(argv[i]), atoi(argv[3]), &ts) < 0) fail("mq_send");
    }
    mq_close(q);
  } else if (!strcmp(cmd, "mq-recv") && argc == 4) {     /* mq-recv NAME COUNT: "prio text" lines */
    mqd_t q = mq_open(argv[2], O_RDONLY);
    if (q < 0) fail("mq_open");
    struct mq_attr a;
    mq_getattr(q, &a);
    char *buf = malloc(a.mq_msgsize + 1);
    for (int i = 0, n = atoi(argv[3]); i < n; i++) {
      unsigned prio;
      struct timespec ts = soon();
      ssize_t len = mq_timedreceive(q, buf, a.mq_msgsize, &prio, &ts);
      if (len < 0) fail("mq_receive");
      buf[len] = 0;
      printf("%u %s\n", prio, buf);
    }
    fflush(stdout);
    mq_close(q);
  } else if (!strcmp(cmd, "mq-attr") && argc == 3) {     /* mq-attr NAME */
    mqd_t q = mq_open(argv[2], O_RDONLY);
    if (q < 0) fail("mq_open");
    struct mq_attr a;
    if (mq_getattr(q, &a) < 0) fail("mq_getattr");
    printf("maxmsg=%ld msgsize=%ld curmsgs=%ld\n", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
  } else if (!strcmp(cmd, "msg-create") && argc == 3) {  /* msg-create KEY */
    int id = msgget((key_t)strtoul(argv[2], NULL, 0), IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) fail("msgget");
    printf("%d\n", id);
  } else if (!strcmp(cmd, "msg-send") && argc >= 5) {    /* msg-send ID TYPE TEXT... */
    struct msg m;
    m.mtype = strtol(argv[3], NULL, 0);
    for (int i = 4; i < argc; i++) {
      size_t len = strlen(argv[i]);
      memcpy(m.mtext, argv[i], len);
      if (msgsnd(atoi(argv[2]), &m, len, 0) < 0) fail("msgsnd");
    }
  } else if (!strcmp(cmd, "msg-recv") && argc == 5) {    /* msg-recv ID TYPE COUNT: "type text" lines */
    struct msg m;
    for (int i = 0, n = atoi(argv[4]); i < n; i++) {
      ssize_t len = msgrcv(atoi(argv[2]), &m, sizeof m.mtext - 1, strtol(argv[3], NULL, 0), 0);
      if (len < 0) fail("msgrcv");
      m.mtext[len] = 0;
      printf("%ld %s\n", m.mtype, m.mtext);
    }
    fflush(stdout);
  } else if (!strcmp(cmd, "msg-stat") && argc == 3) {    /* msg-stat ID */
    struct msqid_ds ds;
    if (msgctl(atoi(argv[2]), IPC_STAT, &ds) < 0) fail("msgctl");
    printf("key=%u uid=%u gid=%u cuid=%u cgid=%u mode=%u cbytes=%lu qnum=%lu qbytes=%lu lspid=%d lrpid=%d stime=%ld rtime=%ld ctime=%ld\n",
           (unsigned)ds.msg_perm.__key, ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.cuid, ds.msg_perm.cgid,
           (unsigned)ds.msg_perm.mode & 0777, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qnum,
           (unsigned long)ds.msg_qbytes, ds.msg_lspid, ds.msg_lrpid, (long)ds.msg_stime, (long)ds.msg_rtime,
           (long)ds.msg_ctime);
  } else {
    return 64;
  }
  return 0;
}
`;

/** Path of the compiled peer (compiled once per source version). */
export function cPeer(): string {
  return compileC(source, ['-lrt']);
}
