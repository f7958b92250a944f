/*
 * A C peer for the interop tests, built on c/shmkit_channel.h. The message
 * stream is the one test/peers/stream.mjs sends and checks.
 *   peer send <name> <count> <seed>
 *   peer recv <name> <count|all> <senders> <seeds: a,b,...>
 */
#define SHMKIT_CHANNEL_IMPLEMENTATION
#include "../../c/shmkit_channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t length_of(uint32_t seed, uint32_t i, uint32_t max) {
  uint32_t x = ((i + 1) * 0x9e3779b1u) ^ seed;
  x = (x ^ (x >> 15)) * 0x85ebca6bu;
  return 8 + x % (max - 7);
}

static void fill(uint8_t *m, uint32_t length, uint32_t s, uint32_t i) {
  memcpy(m, &s, 4);
  memcpy(m + 4, &i, 4);
  for (uint32_t k = 8; k < length; k++) m[k] = (uint8_t)((i * 31 + s + k) & 0xff);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  shmkit_channel ch;
  int rc = shmkit_channel_open(&ch, argv[2]);
  if (rc != 0) {
    fprintf(stderr, "open: %d\n", rc);
    return 1;
  }
  uint8_t buf[4096];
  if (strcmp(argv[1], "send") == 0) {
    uint32_t count = (uint32_t)strtoul(argv[3], NULL, 10);
    shmkit_sender tx;
    if ((rc = shmkit_sender_attach(&tx, &ch)) != 0) {
      fprintf(stderr, "attach: %d\n", rc);
      return 1;
    }
    /* 'slot': the sender id is the slot; 'id:N': it is N; seed = id + 1. */
    uint32_t id = strcmp(argv[4], "slot") == 0 ? tx.ring
                  : strncmp(argv[4], "id:", 3) == 0 ? (uint32_t)strtoul(argv[4] + 3, NULL, 10)
                                                     : 0;
    uint32_t seed = strcmp(argv[4], "slot") == 0 || strncmp(argv[4], "id:", 3) == 0
                        ? id + 1
                        : (uint32_t)strtoul(argv[4], NULL, 10);
    for (uint32_t i = 0; i < count; i++) {
      uint32_t length = length_of(seed, i, 300);
      fill(buf, length, id, i);
      if ((rc = shmkit_send(&tx, buf, length, 10000)) != 0) {
        fprintf(stderr, "send %u: %d\n", i, rc);
        return 1;
      }
    }
    shmkit_sender_leave(&tx);
    printf("sent %u\n", count);
  } else {
    uint32_t count = strcmp(argv[3], "all") == 0 ? UINT32_MAX : (uint32_t)strtoul(argv[3], NULL, 10);
    uint32_t senders = (uint32_t)strtoul(argv[4], NULL, 10);
    uint32_t seeds[64] = {0}, next[64] = {0};
    char *list = argc > 5 ? argv[5] : "";
    for (uint32_t s = 0; s < senders && *list; s++) {
      seeds[s] = (uint32_t)strtoul(list, &list, 10);
      if (*list == ',') list++;
    }
    shmkit_receiver rx;
    if ((rc = shmkit_receiver_attach(&rx, &ch)) != 0) {
      fprintf(stderr, "attach: %d\n", rc);
      return 1;
    }
    printf("ready\n");
    fflush(stdout);
    uint32_t received = 0, bad = 0, length;
    int end = 0;
    while (received < count) {
      rc = shmkit_receive(&rx, buf, sizeof buf, &length, 10000);
      if (rc == SHMKIT_ENDED && count != UINT32_MAX) {
        /* Every sender gone for a moment: wait for the next one. */
        usleep(1000);
        continue;
      }
      if (rc == SHMKIT_ENDED || rc == SHMKIT_PEER_DIED) {
        end = rc;
        break;
      }
      if (rc != 0) {
        fprintf(stderr, "receive %u: %d\n", received, rc);
        return 1;
      }
      uint32_t s, i;
      memcpy(&s, buf, 4);
      memcpy(&i, buf + 4, 4);
      if (s >= senders || i != next[s] || length != length_of(seeds[s], i, 300)) {
        bad++;
        continue;
      }
      for (uint32_t k = 8; k < length; k++)
        if (buf[k] != (uint8_t)((i * 31 + s + k) & 0xff)) {
          bad++;
          break;
        }
      next[s] = i + 1;
      received++;
    }
    shmkit_receiver_leave(&rx);
    printf("{\"received\":%u,\"bad\":%u,\"end\":\"%s\",\"next\":[", received, bad,
           end == SHMKIT_ENDED ? "ended" : end == SHMKIT_PEER_DIED ? "died" : "count");
    for (uint32_t s = 0; s < senders; s++) printf("%s%u", s ? "," : "", next[s]);
    printf("]}\n");
  }
  shmkit_channel_close(&ch);
  return 0;
}
