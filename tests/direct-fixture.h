/* SPDX-License-Identifier: MIT */
/* Shared helpers for the DirectManager tests (test-direct*.c).
 *
 * Nodes are DirectManagers bound to loopback on hand-driven runtimes with the
 * virtual clock. Real datagrams cross loopback, so waiting for one means
 * driving the runtimes (mrt_runtime_run_until_idle polls each executor's
 * event loop) until a condition holds, with short real sleeps in between and
 * a real-time deadline (drive_until). A "puppet" is a plain socket with a
 * probe key pair that the test operates by hand, to play a peer exactly (or
 * an attacker). Everything is static inline so each test file uses what it
 * needs without unused-function warnings. Only loopback addresses are used.
 */
#ifndef MESHRT_TEST_DIRECT_FIXTURE_H
#define MESHRT_TEST_DIRECT_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <meshrt/mesh.h>
#include <meshrt/testing.h>

/* Real-time deadline of every wait for something to happen: only what never
 * happens reaches it, even on an overloaded machine or under valgrind. */
#define DRIVE_DEADLINE_NS MRT_SEC(30)

static inline uint64_t real_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline void real_sleep_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

/* ---- addresses ------------------------------------------------------------- */

static inline struct sockaddr_storage loop4(uint8_t last, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(0x7f000000u | last);
  in->sin_port = htons(port);
  return ss;
}

static inline struct sockaddr_storage loop6(uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_addr = in6addr_loopback;
  in6->sin6_port = htons(port);
  return ss;
}

static inline uint16_t port_of(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return 0;
}

static inline bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family || port_of(a) != port_of(b))
    return false;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
  return false;
}

static inline bool ipv6_loopback_works(void) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0)
    return false;
  struct sockaddr_storage ss = loop6(0);
  bool ok = bind(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in6)) == 0;
  close(fd);
  return ok;
}

/* ---- driving --------------------------------------------------------------- */

typedef bool (*cond_fn)(void *ud);

/* Drives every runtime until cond(ud) holds or DRIVE_DEADLINE_NS of real
 * time passed. Virtual time does not move. */
static inline bool drive_until(mrt_runtime *const *rts, size_t n, cond_fn cond, void *ud) {
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  for (;;) {
    for (size_t i = 0; i < n; i++)
      mrt_runtime_run_until_idle(rts[i]);
    if (cond(ud))
      return true;
    if (real_now_ns() > deadline)
      return false;
    real_sleep_us(200);
  }
}

/* Drives until nothing more arrives for a few rounds. These count polls, not
 * time: loopback delivery completes inside the sender's sendto() (under
 * stress-ng --cpu 4 with two loopback floods, 0 of 400,000 datagrams were
 * late), so each poll reads what was sent before it however loaded the
 * machine is. */
static inline void drive_settle(mrt_runtime *const *rts, size_t n) {
  for (int quiet = 0; quiet < 3;) {
    int turns = 0;
    for (size_t i = 0; i < n; i++)
      turns += mrt_runtime_run_until_idle(rts[i]);
    quiet = turns > 0 ? 0 : quiet + 1;
    real_sleep_us(200);
  }
}

/* ---- nodes ------------------------------------------------------------------- */

typedef struct node {
  mrt_runtime *rt;
  mrt_ref *dm;
  uint64_t id;
  mrt_probe_keypair key;
  struct sockaddr_storage ep; /* where peers reach it */
} node;

/* Loopback-bound, no interface addresses in advertisements. */
static inline mrt_direct_config fixture_config(void) {
  mrt_direct_config cfg = mrt_direct_config_default();
  cfg.listen_addr = loop4(1, 0);
  cfg.advertise_local = false;
  return cfg;
}

static inline mrt_sock_info sock_info_of(mrt_ref *dm) {
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, 0), 0);
  return si;
}

static inline void node_start_cfg(node *n, mrt_runtime *rt, uint64_t id, mrt_direct_config cfg) {
  memset(n, 0, sizeof *n);
  n->rt = rt;
  n->id = id;
  assert_int_equal(mrt_probe_keypair_generate(&n->key), 0);
  cfg.key = n->key;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &n->dm), 0);
  mrt_sock_info si = sock_info_of(n->dm);
  assert_false(si.inert);
  n->ep = loop4(1, si.port);
}

static inline void node_start(node *n, mrt_runtime *rt, uint64_t id) {
  node_start_cfg(n, rt, id, fixture_config());
}

static inline void node_stop(node *n) {
  if (n->dm != NULL)
    mrt_actor_stop(n->dm);
  n->dm = mrt_ref_unref(n->dm);
}

/* One peer-map entry. */
typedef struct peer_spec {
  uint64_t id;
  const uint8_t *key;
  size_t n;
  struct sockaddr_storage eps[40];
} peer_spec;

static inline void publish_specs(mrt_runtime *rt, const peer_spec *specs, size_t n) {
  /* Retained even when no DirectManager has been spawned yet. */
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  mrt_peer_map *m = NULL;
  assert_int_equal(mrt_peer_map_new(&m), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(mrt_peer_map_add(m, specs[i].id, specs[i].key, specs[i].eps, specs[i].n), 0);
  assert_true(mrt_node_publish_peer_map(rt, m) >= 0);
}

/* Publishes, on `rt`'s bus, a map of every node with its one endpoint. */
static inline void publish_nodes(mrt_runtime *rt, node *const *nodes, size_t n) {
  peer_spec *specs = calloc(n, sizeof *specs);
  assert_non_null(specs);
  for (size_t i = 0; i < n; i++) {
    specs[i].id = nodes[i]->id;
    specs[i].key = nodes[i]->key.pub;
    specs[i].n = 1;
    specs[i].eps[0] = nodes[i]->ep;
  }
  publish_specs(rt, specs, n);
  free(specs);
}

static inline mrt_direct_status *status_of(mrt_ref *dm) {
  mrt_direct_status *s = NULL;
  assert_int_equal(MRT_ASK_SYNC(direct_state, dm, &(mrt_none){0}, &s, 0), 0);
  assert_non_null(s);
  return s;
}

static inline mrt_direct_counters counters_of(mrt_ref *dm) {
  mrt_direct_status *s = status_of(dm);
  mrt_direct_counters c = s->counters;
  mrt_direct_status_free(s);
  return c;
}

static inline mrt_path_latency latency_of(mrt_ref *dm, uint64_t peer) {
  mrt_path_latency pl;
  memset(&pl, 0, sizeof pl);
  assert_int_equal(MRT_ASK_SYNC(direct_path_latency, dm, &(mrt_path_latency_req){peer}, &pl, 0), 0);
  return pl;
}

typedef struct has_path_arg {
  mrt_ref *dm;
  uint64_t peer;
} has_path_arg;

static inline bool cond_has_path(void *ud) {
  has_path_arg *a = ud;
  return latency_of(a->dm, a->peer).has_path;
}

/* ---- puppets: a hand-operated peer ------------------------------------------------ */

typedef struct puppet {
  int fd;
  uint64_t id;
  mrt_probe_keypair key;
  struct sockaddr_storage ep;
} puppet;

static inline void puppet_open(puppet *p, uint64_t id) {
  memset(p, 0, sizeof *p);
  p->id = id;
  assert_int_equal(mrt_probe_keypair_generate(&p->key), 0);
  p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(p->fd >= 0);
  struct sockaddr_storage ss = loop4(1, 0);
  assert_int_equal(bind(p->fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
  socklen_t len = sizeof p->ep;
  assert_int_equal(getsockname(p->fd, (struct sockaddr *)&p->ep, &len), 0);
}

static inline void puppet_close(puppet *p) {
  if (p->fd >= 0)
    close(p->fd);
  p->fd = -1;
}

static inline void puppet_send(const puppet *p, const struct sockaddr_storage *to, const void *buf,
                               size_t len) {
  ssize_t n =
      sendto(p->fd, buf, len, 0, (const struct sockaddr *)to,
             to->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
  assert_int_equal(n, (ssize_t)len);
}

/* Drives `rt` until the puppet receives a datagram (returns its length, or -1
 * at the deadline). */
static inline ssize_t puppet_recv(const puppet *p, mrt_runtime *rt, uint8_t *buf, size_t cap,
                                  struct sockaddr_storage *from) {
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  for (;;) {
    socklen_t len = sizeof *from;
    ssize_t n = recvfrom(p->fd, buf, cap, 0, (struct sockaddr *)from, &len);
    if (n >= 0)
      return n;
    if (real_now_ns() > deadline)
      return -1;
    if (rt != NULL)
      mrt_runtime_run_until_idle(rt);
    real_sleep_us(100);
  }
}

/* ---- descriptor limit: makes the next socket() fail with EMFILE ----------------- */

typedef struct fd_limit {
  struct rlimit saved;
} fd_limit;

static inline void fd_limit_squeeze(fd_limit *l) {
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &l->saved), 0);
  int lowest = dup(0); /* the descriptor the next socket() would get */
  assert_true(lowest >= 0);
  close(lowest);
  struct rlimit r = l->saved;
  r.rlim_cur = (rlim_t)lowest;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &r), 0);
}

static inline void fd_limit_restore(fd_limit *l) {
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &l->saved), 0);
}

#endif
