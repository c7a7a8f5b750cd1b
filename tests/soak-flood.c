/* SPDX-License-Identifier: MIT */
/* soak-flood: UDP datagrams at a node as fast as this machine sends them,
 * for the flood phase of tools/soak.sh (not a test by itself).
 *
 *   soak-flood ADDR:PORT SECONDS NODE_PUBKEY_HEX PEER_PUBKEY_HEX
 *
 * It cycles through a pool of hostile and valid-looking datagrams: random
 * bytes; STUN Binding responses and requests with random transaction ids
 * (well-formed, answering nothing); probe datagrams that claim to come from
 * the node's real peer but carry a random box (they cannot authenticate);
 * genuine pings, pongs and endpoint updates sealed to the node by a key it
 * does not know; and probes whose framing is damaged. None of it may change
 * a path. Prints how many datagrams it sent and the rate, as
 * "sent=N seconds=S rate=R/s".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <meshrt/mesh.h>
#include <meshrt/stun.h>

#define POOL 1024
#define BATCH 64

static uint8_t pool[POOL][MRT_PROBE_MAX_LEN + 64];
static size_t pool_len[POOL];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int unhex(const char *t, uint8_t *out, size_t n) {
  if (strlen(t) != 2 * n)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(t + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

/* Datagram i of the pool, by kind i % 6. */
static size_t make(size_t i, const uint8_t *node_pub, const uint8_t *peer_pub,
                   const mrt_probe_session *stranger, uint8_t *b) {
  mrt_stun_txid tx;
  randombytes_buf(&tx, sizeof tx);
  struct sockaddr_in mapped = {.sin_family = AF_INET, .sin_port = htons(4242)};
  mapped.sin_addr.s_addr = htonl(0xc0000207);
  mrt_probe_msg m;
  memset(&m, 0, sizeof m);
  int n;
  switch (i % 6) {
  case 0: /* random bytes, random length */
    n = 1 + (int)randombytes_uniform(600);
    randombytes_buf(b, (size_t)n);
    return (size_t)n;
  case 1: /* STUN, answering or asking nothing */
    n = i % 12 == 1 ? mrt_stun_build_binding_response(b, MRT_STUN_RESPONSE_MAX_LEN, &tx,
                                                      (struct sockaddr *)&mapped)
                    : mrt_stun_build_binding_request(b, 256, &tx, "flood");
    return n > 0 ? (size_t)n : 0;
  case 2: /* claims to be the real peer; the box cannot open */
    n = MRT_PROBE_PING_LEN + (int)(i % 3) * (MRT_PROBE_PONG_LEN - MRT_PROBE_PING_LEN);
    memcpy(b, "MRTP\x01", 5);
    memcpy(b + 5, peer_pub, MRT_PROBE_KEY_LEN);
    randombytes_buf(b + 37, (size_t)n - 37);
    return (size_t)n;
  case 3: /* genuine, sealed by a key the node does not know */
  case 4:
    m.kind = i % 3 == 0 ? MRT_PROBE_PING : i % 3 == 1 ? MRT_PROBE_PONG : MRT_PROBE_ENDPOINTS;
    randombytes_buf(&m.txid, sizeof m.txid);
    memcpy(&m.observed, &mapped, sizeof mapped);
    m.epoch = 1, m.seq = i;
    m.n_endpoints = 1;
    memcpy(&m.endpoints[0], &mapped, sizeof mapped);
    n = mrt_probe_seal(stranger, &m, b, MRT_PROBE_MAX_LEN);
    return n > 0 ? (size_t)n : 0;
  default: /* damaged framing: wrong version, truncated, our own key */
    memcpy(b, "MRTP", 4);
    b[4] = (uint8_t)(i % 2 ? 2 : 1);
    memcpy(b + 5, i % 4 == 1 ? node_pub : peer_pub, MRT_PROBE_KEY_LEN);
    n = 37 + (int)randombytes_uniform(60);
    randombytes_buf(b + 37, (size_t)n - 37);
    return (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: soak-flood ADDR:PORT SECONDS NODE_PUBKEY PEER_PUBKEY\n");
    return 2;
  }
  char host[64];
  snprintf(host, sizeof host, "%s", argv[1]);
  char *colon = strrchr(host, ':');
  uint8_t node_pub[32], peer_pub[32];
  struct sockaddr_in to = {.sin_family = AF_INET};
  if (colon == NULL || sodium_init() < 0 || unhex(argv[3], node_pub, 32) < 0 ||
      unhex(argv[4], peer_pub, 32) < 0) {
    fprintf(stderr, "soak-flood: bad arguments\n");
    return 2;
  }
  *colon = '\0';
  to.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
    fprintf(stderr, "soak-flood: bad address %s\n", host);
    return 2;
  }
  mrt_probe_keypair stranger_key;
  mrt_probe_session stranger;
  mrt_probe_keypair_generate(&stranger_key);
  if (mrt_probe_session_init(&stranger, &stranger_key, node_pub) < 0)
    return 1;
  for (size_t i = 0; i < POOL; i++)
    pool_len[i] = make(i, node_pub, peer_pub, &stranger, pool[i]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("soak-flood: socket");
    return 1;
  }
  double secs = atof(argv[2]), start = now_s(), end = start + secs;
  unsigned long long sent = 0;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  size_t next = 0;
  while (now_s() < end) {
    for (int k = 0; k < BATCH; k++) {
      while (pool_len[next] == 0)
        next = (next + 1) % POOL;
      iov[k].iov_base = pool[next];
      iov[k].iov_len = pool_len[next];
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      next = (next + 1) % POOL;
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0)
      sent += (unsigned long long)n;
    else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
      break;
  }
  double took = now_s() - start;
  printf("sent=%llu seconds=%.1f rate=%.0f/s\n", sent, took, (double)sent / took);
  close(fd);
  return 0;
}
