/*
 * shmkit_channel.h: a C sender and receiver for @shmkit/channel channels
 * (spsc and mpsc kinds), following LAYOUT.md beside this file. One header,
 * no dependencies beyond Linux and a C11 compiler with GCC/Clang atomics.
 *
 *   #define SHMKIT_CHANNEL_IMPLEMENTATION   (in one .c file)
 *   #include "shmkit_channel.h"
 *
 * Every word a peer can write is checked where it is read: garbage gives
 * SHMKIT_CORRUPT, never an access outside the mapping.
 */
#ifndef SHMKIT_CHANNEL_H
#define SHMKIT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

enum {
  SHMKIT_OK = 0,
  SHMKIT_TIMEOUT = 1,     /* the timeout passed */
  SHMKIT_ENDED = 2,       /* every sender left and every message was taken */
  SHMKIT_CORRUPT = -1000, /* a shared word holds garbage, or not a channel */
  SHMKIT_BUSY = -1001,    /* every slot is held by a live process */
  SHMKIT_PEER_DIED = -1002,
  SHMKIT_NO_RECEIVER = -1003,
  SHMKIT_TOO_LARGE = -1004, /* message larger than max_message, or buffer too small */
};

typedef struct {
  int fd;
  uint8_t *base;
  size_t size;
  uint32_t kind; /* 1 spsc, 2 mpsc, 3 broadcast */
  uint32_t capacity, mask, max_message;
  uint32_t rings, receiver_slots, header_bytes;
} shmkit_channel;

typedef struct {
  shmkit_channel *ch;
  uint32_t ring, tail, head, seq;
} shmkit_sender;

typedef struct {
  shmkit_channel *ch;
  uint32_t ring; /* current ring */
  uint32_t pos[64], tail[64];
} shmkit_receiver;

/* Opens and checks a channel made by shmkit (or by anyone following LAYOUT.md). 0 or -errno / SHMKIT_CORRUPT. */
int shmkit_channel_open(shmkit_channel *ch, const char *name);
void shmkit_channel_close(shmkit_channel *ch);

int shmkit_sender_attach(shmkit_sender *tx, shmkit_channel *ch);
/* Sends one message and publishes it; waits up to timeout_ms for room (-1: forever). */
int shmkit_send(shmkit_sender *tx, const void *data, uint32_t length, int timeout_ms);
void shmkit_sender_leave(shmkit_sender *tx);

int shmkit_receiver_attach(shmkit_receiver *rx, shmkit_channel *ch);
/* Receives one message into buf; *length gets its size. Waits up to timeout_ms (-1: forever). */
int shmkit_receive(shmkit_receiver *rx, void *buf, uint32_t buf_size, uint32_t *length, int timeout_ms);
void shmkit_receiver_leave(shmkit_receiver *rx);

#ifdef SHMKIT_CHANNEL_IMPLEMENTATION

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Word offsets (bytes) from LAYOUT.md. */
#define SC_W_SENDER_EVER 128
#define SC_W_LAST_EXIT 132
#define SC_W_RECEIVER_EVER 136
#define SC_W_DEATHS 140
#define SC_W_RECEIVER_WAITING 256
/* A hint from a spinning receiver; this sender publishes every message anyway. */
#define SC_W_RECEIVER_SPINNING 260
#define SC_RINGS 384
#define SC_RING_STRIDE 384
#define SC_R_TAIL 0
#define SC_R_SEQ 4
#define SC_R_HEAD 128
#define SC_R_OWNER 256
#define SC_R_OWNER_START 260
#define SC_R_SENDER_WAITING 264
#define SC_R_EXIT 268
#define SC_R_DEATHS 272
#define SC_R_LAST_DEAD 276
#define SC_SLOT_STRIDE 128
#define SC_PADDING 0xffffffffu
#define SC_SLICE_MS 200

static uint32_t *sc_word(const shmkit_channel *ch, size_t byte_offset) {
  return (uint32_t *)(ch->base + byte_offset);
}
static uint32_t *sc_ring_word(const shmkit_channel *ch, uint32_t r, size_t w) {
  return sc_word(ch, SC_RINGS + (size_t)r * SC_RING_STRIDE + w);
}
static uint32_t *sc_slot_word(const shmkit_channel *ch, uint32_t s, size_t w) {
  return sc_word(ch, SC_RINGS + (size_t)ch->rings * SC_RING_STRIDE + (size_t)s * SC_SLOT_STRIDE + w);
}
static uint32_t sc_load(uint32_t *w) { return __atomic_load_n(w, __ATOMIC_SEQ_CST); }
static void sc_store(uint32_t *w, uint32_t v) { __atomic_store_n(w, v, __ATOMIC_SEQ_CST); }
static uint32_t sc_exchange(uint32_t *w, uint32_t v) { return __atomic_exchange_n(w, v, __ATOMIC_SEQ_CST); }
static int sc_cas(uint32_t *w, uint32_t expected, uint32_t v) {
  return __atomic_compare_exchange_n(w, &expected, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static void sc_wake(uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0); }
static void sc_wait(uint32_t *w, uint32_t expected, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  syscall(SYS_futex, w, FUTEX_WAIT, expected, &ts, NULL, 0); /* shared: no FUTEX_PRIVATE_FLAG */
}
static double sc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
/* ms left before the deadline (INT_MAX when there is none), at most one slice. */
static int sc_slice(double deadline) {
  if (deadline < 0) return SC_SLICE_MS;
  double left = deadline - sc_now_ms();
  if (left <= 0) return 0;
  return left < SC_SLICE_MS ? (int)left + 1 : SC_SLICE_MS;
}

/* Field 22 of /proc/<tid>/stat, low 32 bits; sets *gone for zombies. 0 when unreadable. */
static uint32_t sc_start_time(int tid, int *gone) {
  char path[64], buf[1024];
  if (tid == 0)
    snprintf(path, sizeof path, "/proc/thread-self/stat");
  else
    snprintf(path, sizeof path, "/proc/%d/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] == 0) return 0;
  p += 2;
  if (gone != NULL) *gone = (*p == 'Z' || *p == 'X' || *p == 'x');
  for (int field = 3; field < 22 && p != NULL; field++) {
    p = strchr(p, ' ');
    if (p != NULL) p++;
  }
  return p == NULL ? 0 : (uint32_t)strtoull(p, NULL, 10);
}
static int sc_alive(uint32_t tid, uint32_t start) {
  if (tid == 0 || tid > 4194304) return 0;
  if (kill((pid_t)tid, 0) != 0 && errno == ESRCH) return 0;
  int gone = 0;
  uint32_t now = sc_start_time((int)tid, &gone);
  if (gone) return 0;
  return start == 0 || now == 0 || now == start;
}
static uint32_t sc_self_tid(void) { return (uint32_t)syscall(SYS_gettid); }

static int sc_claim(uint32_t *owner, uint32_t *start) {
  if (!sc_cas(owner, 0, sc_self_tid())) return 0;
  sc_store(start, sc_start_time(0, NULL));
  return 1;
}
static void sc_release(uint32_t *owner, uint32_t *start) {
  uint32_t me = sc_self_tid();
  if (sc_load(owner) != me) return;
  sc_store(start, 0);
  sc_cas(owner, me, 0);
}

int shmkit_channel_open(shmkit_channel *ch, const char *name) {
  memset(ch, 0, sizeof *ch);
  ch->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (ch->fd < 0) return -errno;
  struct stat st;
  if (fstat(ch->fd, &st) != 0 || st.st_size < 4096) goto corrupt;
  uint32_t h[16];
  if (pread(ch->fd, h, sizeof h, 0) != (ssize_t)sizeof h) goto corrupt;
  if (h[0] != 0x6b6d6873u || h[1] != 0x6e616863u || h[2] != 1) goto corrupt;
  uint32_t kind = h[3], log2 = h[4], rings = h[5], slots = h[6];
  if (kind < 1 || kind > 3 || log2 < 12 || log2 > 30) goto corrupt;
  if (rings < 1 || rings > (kind == 2 ? 64u : 1u) || slots < 1 || slots > (kind == 3 ? 256u : 1u)) goto corrupt;
  uint32_t header = (uint32_t)((SC_RINGS + rings * SC_RING_STRIDE + slots * SC_SLOT_STRIDE + 4095) / 4096 * 4096);
  if (h[7] != header) goto corrupt;
  ch->kind = kind;
  ch->capacity = 1u << log2;
  ch->mask = ch->capacity - 1;
  ch->max_message = ch->capacity / 2 - 8;
  ch->rings = rings;
  ch->receiver_slots = slots;
  ch->header_bytes = header;
  ch->size = (size_t)header + (size_t)rings * ch->capacity;
  if ((size_t)st.st_size < ch->size) goto corrupt;
  ch->base = mmap(NULL, ch->size, PROT_READ | PROT_WRITE, MAP_SHARED, ch->fd, 0);
  if (ch->base == MAP_FAILED) {
    int e = errno;
    close(ch->fd);
    return -e;
  }
  return SHMKIT_OK;
corrupt:
  close(ch->fd);
  return SHMKIT_CORRUPT;
}

void shmkit_channel_close(shmkit_channel *ch) {
  if (ch->base != NULL && ch->base != MAP_FAILED) munmap(ch->base, ch->size);
  if (ch->fd >= 0) close(ch->fd);
  ch->base = NULL;
  ch->fd = -1;
}

static void sc_reclaim_ring(shmkit_channel *ch, uint32_t r) {
  uint32_t *owner = sc_ring_word(ch, r, SC_R_OWNER), *start = sc_ring_word(ch, r, SC_R_OWNER_START);
  uint32_t dead = sc_load(owner);
  if (dead == 0 || sc_alive(dead, sc_load(start))) return;
  sc_store(start, 0);
  if (!sc_cas(owner, dead, 0)) return;
  sc_store(sc_ring_word(ch, r, SC_R_LAST_DEAD), dead);
  sc_store(sc_ring_word(ch, r, SC_R_EXIT), 2);
  __atomic_add_fetch(sc_ring_word(ch, r, SC_R_DEATHS), 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(sc_word(ch, SC_W_DEATHS), 1, __ATOMIC_SEQ_CST);
  sc_store(sc_word(ch, SC_W_LAST_EXIT), 2);
}

int shmkit_sender_attach(shmkit_sender *tx, shmkit_channel *ch) {
  tx->ch = ch;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t r = 0; r < ch->rings; r++) {
      if (!sc_claim(sc_ring_word(ch, r, SC_R_OWNER), sc_ring_word(ch, r, SC_R_OWNER_START))) continue;
      uint32_t tail = sc_load(sc_ring_word(ch, r, SC_R_TAIL)), head = sc_load(sc_ring_word(ch, r, SC_R_HEAD));
      if ((tail & 7) || (head & 7) || tail - head > ch->capacity) {
        sc_release(sc_ring_word(ch, r, SC_R_OWNER), sc_ring_word(ch, r, SC_R_OWNER_START));
        return SHMKIT_CORRUPT;
      }
      tx->ring = r;
      tx->tail = tail;
      tx->head = head;
      tx->seq = sc_load(sc_ring_word(ch, r, SC_R_SEQ));
      sc_store(sc_word(ch, SC_W_SENDER_EVER), 1);
      return SHMKIT_OK;
    }
    for (uint32_t r = 0; r < ch->rings; r++) sc_reclaim_ring(ch, r);
  }
  return SHMKIT_BUSY;
}

static void sc_publish(shmkit_sender *tx) {
  shmkit_channel *ch = tx->ch;
  sc_store(sc_ring_word(ch, tx->ring, SC_R_SEQ), tx->seq);
  sc_store(sc_ring_word(ch, tx->ring, SC_R_TAIL), tx->tail);
  uint32_t *waiting = sc_word(ch, SC_W_RECEIVER_WAITING);
  if (sc_load(waiting) != 0 && sc_exchange(waiting, 0) != 0) sc_wake(waiting);
}

/* 1 when total more bytes fit, 0 when not, SHMKIT_CORRUPT for an impossible head. */
static int sc_has_room(shmkit_sender *tx, uint32_t total) {
  uint32_t head = sc_load(sc_ring_word(tx->ch, tx->ring, SC_R_HEAD));
  if ((head & 7) || head - tx->head > tx->tail - tx->head) return SHMKIT_CORRUPT;
  tx->head = head;
  return (uint64_t)(tx->tail - head) + total <= tx->ch->capacity;
}

int shmkit_send(shmkit_sender *tx, const void *data, uint32_t length, int timeout_ms) {
  shmkit_channel *ch = tx->ch;
  if (length > ch->max_message) return SHMKIT_TOO_LARGE;
  uint32_t need = 8 + ((length + 7) & ~7u);
  uint32_t off = tx->tail & ch->mask, room = ch->capacity - off;
  uint32_t total = need <= room ? need : room + need;
  double deadline = timeout_ms < 0 ? -1 : sc_now_ms() + timeout_ms;
  uint32_t *waiting = sc_ring_word(ch, tx->ring, SC_R_SENDER_WAITING);
  for (;;) {
    int ok = sc_has_room(tx, total);
    if (ok < 0) return ok;
    if (ok) break;
    sc_store(waiting, 1);
    ok = sc_has_room(tx, total);
    if (ok != 0) {
      sc_store(waiting, 0);
      if (ok < 0) return ok;
      break;
    }
    uint32_t receiver = sc_load(sc_slot_word(ch, 0, 0));
    if (receiver == 0 && sc_load(sc_word(ch, SC_W_RECEIVER_EVER)) != 0) return SHMKIT_NO_RECEIVER;
    if (receiver != 0 && !sc_alive(receiver, sc_load(sc_slot_word(ch, 0, 4)))) return SHMKIT_PEER_DIED;
    int slice = sc_slice(deadline);
    if (slice == 0) {
      sc_store(waiting, 0);
      return SHMKIT_TIMEOUT;
    }
    sc_wait(waiting, 1, slice);
  }
  uint8_t *ring = ch->base + ch->header_bytes + (size_t)tx->ring * ch->capacity;
  if (need > room) {
    uint32_t *pad = (uint32_t *)(ring + off);
    pad[0] = SC_PADDING;
    pad[1] = tx->seq;
    tx->tail += room;
    off = 0;
  }
  uint32_t *header = (uint32_t *)(ring + off);
  header[0] = length;
  header[1] = tx->seq;
  memcpy(ring + off + 8, data, length);
  tx->tail += need;
  tx->seq++;
  sc_publish(tx);
  return SHMKIT_OK;
}

void shmkit_sender_leave(shmkit_sender *tx) {
  shmkit_channel *ch = tx->ch;
  sc_store(sc_ring_word(ch, tx->ring, SC_R_EXIT), 1);
  sc_store(sc_word(ch, SC_W_LAST_EXIT), 1);
  sc_release(sc_ring_word(ch, tx->ring, SC_R_OWNER), sc_ring_word(ch, tx->ring, SC_R_OWNER_START));
  uint32_t *waiting = sc_word(ch, SC_W_RECEIVER_WAITING);
  if (sc_exchange(waiting, 0) != 0) sc_wake(waiting);
}

int shmkit_receiver_attach(shmkit_receiver *rx, shmkit_channel *ch) {
  if (ch->kind == 3) return SHMKIT_CORRUPT; /* broadcast readers: see LAYOUT.md */
  rx->ch = ch;
  rx->ring = 0;
  uint32_t *owner = sc_slot_word(ch, 0, 0), *start = sc_slot_word(ch, 0, 4);
  if (!sc_claim(owner, start)) {
    uint32_t dead = sc_load(owner);
    if (dead != 0 && !sc_alive(dead, sc_load(start))) {
      sc_store(start, 0);
      sc_cas(owner, dead, 0);
    }
    if (!sc_claim(owner, start)) return SHMKIT_BUSY;
  }
  for (uint32_t r = 0; r < ch->rings; r++) {
    uint32_t head = sc_load(sc_ring_word(ch, r, SC_R_HEAD));
    if (head & 7) return SHMKIT_CORRUPT;
    rx->pos[r] = rx->tail[r] = head;
  }
  sc_store(sc_word(ch, SC_W_RECEIVER_EVER), 1);
  return SHMKIT_OK;
}

static void sc_release_head(shmkit_receiver *rx, uint32_t r) {
  uint32_t *waiting = sc_ring_word(rx->ch, r, SC_R_SENDER_WAITING);
  sc_store(sc_ring_word(rx->ch, r, SC_R_HEAD), rx->pos[r]);
  if (sc_load(waiting) != 0 && sc_exchange(waiting, 0) != 0) sc_wake(waiting);
}

/* Finds a ring with a message: 1 found (rx->ring set), 0 none, SHMKIT_CORRUPT. */
static int sc_find(shmkit_receiver *rx) {
  shmkit_channel *ch = rx->ch;
  for (uint32_t k = 0; k < ch->rings; k++) {
    uint32_t r = (rx->ring + k) % ch->rings;
    if (rx->pos[r] != rx->tail[r]) {
      rx->ring = r;
      return 1;
    }
    uint32_t tail = sc_load(sc_ring_word(ch, r, SC_R_TAIL));
    if (tail == rx->tail[r]) continue;
    if ((tail & 7) || tail - rx->pos[r] > ch->capacity) return SHMKIT_CORRUPT;
    rx->tail[r] = tail;
    rx->ring = r;
    return 1;
  }
  return 0;
}

int shmkit_receive(shmkit_receiver *rx, void *buf, uint32_t buf_size, uint32_t *length, int timeout_ms) {
  shmkit_channel *ch = rx->ch;
  double deadline = timeout_ms < 0 ? -1 : sc_now_ms() + timeout_ms;
  uint32_t *waiting = sc_word(ch, SC_W_RECEIVER_WAITING);
  for (;;) {
    int found = sc_find(rx);
    if (found < 0) return found;
    if (found) {
      uint32_t r = rx->ring, pos = rx->pos[r], avail = rx->tail[r] - pos, off = pos & ch->mask;
      uint8_t *ring = ch->base + ch->header_bytes + (size_t)r * ch->capacity;
      uint32_t len = ((volatile uint32_t *)(ring + off))[0];
      if (len == SC_PADDING) {
        if (ch->capacity - off > avail) return SHMKIT_CORRUPT;
        rx->pos[r] = pos + (ch->capacity - off);
        continue;
      }
      uint32_t size = 8 + ((len + 7) & ~7u);
      if (len > ch->max_message || size > avail || off + size > ch->capacity) return SHMKIT_CORRUPT;
      if (len > buf_size) return SHMKIT_TOO_LARGE;
      memcpy(buf, ring + off + 8, len);
      *length = len;
      rx->pos[r] = pos + size;
      sc_release_head(rx, r);
      return SHMKIT_OK;
    }
    /* Nothing: check for the end (owners before tails), then sleep. */
    sc_store(waiting, 1);
    found = sc_find(rx);
    if (found != 0) {
      sc_store(waiting, 0);
      if (found < 0) return found;
      continue;
    }
    for (uint32_t r = 0; r < ch->rings; r++) sc_reclaim_ring(ch, r);
    int anyone = 0;
    for (uint32_t r = 0; r < ch->rings; r++) anyone |= sc_load(sc_ring_word(ch, r, SC_R_OWNER)) != 0;
    if (!anyone && sc_load(sc_word(ch, SC_W_SENDER_EVER)) != 0) {
      found = sc_find(rx);
      if (found != 0) {
        sc_store(waiting, 0);
        if (found < 0) return found;
        continue;
      }
      sc_store(waiting, 0);
      return sc_load(sc_word(ch, SC_W_LAST_EXIT)) == 2 ? SHMKIT_PEER_DIED : SHMKIT_ENDED;
    }
    int slice = sc_slice(deadline);
    if (slice == 0) {
      sc_store(waiting, 0);
      return SHMKIT_TIMEOUT;
    }
    sc_wait(waiting, 1, slice);
    sc_store(waiting, 0);
  }
}

void shmkit_receiver_leave(shmkit_receiver *rx) {
  shmkit_channel *ch = rx->ch;
  sc_release(sc_slot_word(ch, 0, 0), sc_slot_word(ch, 0, 4));
  for (uint32_t r = 0; r < ch->rings; r++) {
    uint32_t *waiting = sc_ring_word(ch, r, SC_R_SENDER_WAITING);
    if (sc_exchange(waiting, 0) != 0) sc_wake(waiting);
  }
}

#endif /* SHMKIT_CHANNEL_IMPLEMENTATION */
#endif /* SHMKIT_CHANNEL_H */
