/* SPDX-License-Identifier: MIT */
/* Shared helpers of the node-level tests (test-derp-latency.c,
 * test-netmon-supervisor.c, test-node.c, test-netns-node.c,
 * test-node-bounded.c, test-node-flood.c).
 *
 *   - a log capture: the records of chosen levels, kept so a test can check
 *     that an error was logged (and that nothing was logged it did not want);
 *   - loopback addresses;
 *   - peer maps, and DirectManager's peer count;
 *   - DERP maps whose regions are loopback STUN responders;
 *   - driving a hand-driven, virtual-clock runtime while real datagrams cross
 *     loopback: time moves in small steps and the runtime polls its sockets
 *     between them, so a response sent at virtual time t is read at t.
 * Everything is static and marked unused; each test uses a subset. Only
 * loopback addresses are used.
 */
#ifndef MESHRT_TEST_NODE_FIXTURE_H
#define MESHRT_TEST_NODE_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <meshrt/mesh.h>
#include <meshrt/testing.h>

#define NF __attribute__((unused)) static

/* ---- log capture ------------------------------------------------------------ */

#define CAPTURE_MAX 256
typedef struct capture_rec {
  mrt_log_level level;
  char component[32];
  char text[256];
} capture_rec;

static struct {
  pthread_mutex_t mu;
  capture_rec recs[CAPTURE_MAX];
  size_t n;
} capture = {PTHREAD_MUTEX_INITIALIZER, {{0, "", ""}}, 0};

static void capture_sink(const mrt_log_record *rec, void *user) {
  (void)user;
  if (rec->level <= MRT_LOG_WARN)
    fprintf(stderr, "[%s] %s: %s\n", mrt_log_level_name(rec->level), rec->component, rec->text);
  pthread_mutex_lock(&capture.mu);
  if (capture.n < CAPTURE_MAX) {
    capture_rec *c = &capture.recs[capture.n++];
    c->level = rec->level;
    snprintf(c->component, sizeof c->component, "%s", rec->component);
    snprintf(c->text, sizeof c->text, "%s", rec->text);
  }
  pthread_mutex_unlock(&capture.mu);
}

/* Starts capturing (forgetting what was captured before). */
NF void capture_start(void) {
  pthread_mutex_lock(&capture.mu);
  capture.n = 0;
  pthread_mutex_unlock(&capture.mu);
  mrt_log_set_sink(capture_sink, NULL);
}

NF void capture_stop(void) {
  mrt_log_set_sink(NULL, NULL);
}

/* Records at `level` (or more severe) whose text contains `needle`. */
NF int capture_count(mrt_log_level level, const char *needle) {
  int n = 0;
  pthread_mutex_lock(&capture.mu);
  for (size_t i = 0; i < capture.n; i++)
    n += capture.recs[i].level <= level && strstr(capture.recs[i].text, needle) != NULL;
  pthread_mutex_unlock(&capture.mu);
  return n;
}

/* ---- addresses --------------------------------------------------------------- */

NF struct sockaddr_storage lo4(uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in->sin_port = htons(port);
  return ss;
}

NF uint16_t port_of_addr(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return 0;
}

/* ---- peers -------------------------------------------------------------------------- */

/* A map of `n` peers (ids from 100, fresh keys, endpoints on loopback ports
 * from 9 that never answer), or NULL if one could not be made. */
NF mrt_peer_map *peers(size_t n) {
  mrt_peer_map *m;
  if (mrt_peer_map_new(&m) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    mrt_probe_keypair kp;
    struct sockaddr_storage ep = lo4((uint16_t)(9 + i));
    if (mrt_probe_keypair_generate(&kp) < 0 || mrt_peer_map_add(m, 100 + i, kp.pub, &ep, 1) < 0)
      return mrt_peer_map_unref(m);
  }
  return m;
}

/* DirectManager's peer count, or the ask's negative errno (-EAGAIN while its
 * mailbox is full). */
NF long direct_peers(mrt_ref *dm) {
  mrt_direct_status *ds = NULL;
  int rc = MRT_ASK_SYNC(direct_state, dm, &(mrt_none){0}, &ds, MRT_SEC(30));
  if (rc < 0)
    return rc;
  long n = (long)ds->n_peers;
  mrt_direct_status_free(ds);
  return n;
}

/* ---- STUN responders as DERP regions ----------------------------------------------- */

#define REGIONS_MAX 8

typedef struct region_spec {
  int id;
  const char *code;
  uint16_t ports[2]; /* STUN ports of its nodes on 127.0.0.1; 0: no such node */
} region_spec;

/* A DERP map of the regions, nodes on 127.0.0.1 at the given ports. */
NF mrt_derp_map *derp_map_of(const region_spec *r, size_t n) {
  char json[4096];
  size_t len = (size_t)snprintf(json, sizeof json, "{\"Regions\":{");
  for (size_t i = 0; i < n; i++) {
    len += (size_t)snprintf(json + len, sizeof json - len,
                            "%s\"%d\":{\"RegionID\":%d,\"RegionCode\":\"%s\",\"Nodes\":[",
                            i ? "," : "", r[i].id, r[i].id, r[i].code);
    for (int j = 0; j < 2 && r[i].ports[j] != 0; j++)
      len += (size_t)snprintf(json + len, sizeof json - len,
                              "%s{\"Name\":\"%d%c\",\"RegionID\":%d,\"HostName\":\"lo\","
                              "\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"STUNPort\":%u}",
                              j ? "," : "", r[i].id, 'a' + j, r[i].id, r[i].ports[j]);
    len += (size_t)snprintf(json + len, sizeof json - len, "]}");
  }
  len += (size_t)snprintf(json + len, sizeof json - len, "}}");
  mrt_derp_map *m = NULL;
  char err[MRT_DERP_MAP_ERR_LEN];
  if (mrt_derp_map_parse(json, len, &m, err, sizeof err) < 0)
    fprintf(stderr, "derp map: %s\n", err);
  return m;
}

/* A STUN responder on 127.0.0.1 answering after `delay_ns` (runtime clock). */
NF mrt_ref *responder_on(mrt_runtime *rt, uint64_t delay_ns, uint16_t *port) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.listen_addr = lo4(0);
  cfg.delay_ns = delay_ns;
  mrt_ref *r = NULL;
  if (mrt_stun_responder_spawn(rt, &cfg, NULL, &r) < 0)
    return NULL;
  mrt_stun_responder_info info;
  memset(&info, 0, sizeof info);
  if (MRT_ASK_SYNC(stun_responder_info, r, &(mrt_none){0}, &info, 0) < 0)
    return mrt_ref_unref(r);
  *port = info.port;
  return r;
}

/* ---- driving ------------------------------------------------------------------------ */

NF void real_pause_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

/* Runs the runtime until it stays idle across a few polls of its sockets. */
NF void settle_io(mrt_runtime *rt) {
  for (int quiet = 0; quiet < 3;) {
    int turns = mrt_runtime_run_until_idle(rt);
    quiet = turns > 0 ? 0 : quiet + 1;
    if (quiet > 0)
      real_pause_us(20);
  }
}

/* Moves virtual time by `total_ns` in `step_ns` steps, settling I/O at each
 * step (loopback datagrams are read at the virtual time they were sent). */
NF void step_time(mrt_runtime *rt, uint64_t total_ns, uint64_t step_ns) {
  settle_io(rt);
  for (uint64_t done = 0; done < total_ns;) {
    uint64_t d = total_ns - done < step_ns ? total_ns - done : step_ns;
    mrt_runtime_advance(rt, d);
    settle_io(rt);
    done += d;
  }
}

#endif
