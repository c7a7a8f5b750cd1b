/* SPDX-License-Identifier: MIT */
/* meshrt embedding example: a host program that owns its libevent loop.
 *
 * This is the documented way to put a meshrt node inside an existing
 * program (the README points here). The host
 *   1. creates its event_base and attaches a runtime to it: the runtime's
 *      executor 0 then runs inside the host's loop, on the host's thread;
 *   2. keeps running its own loop (here: a heartbeat timer of its own);
 *   3. starts a node and talks to its actors from ANOTHER host thread —
 *      blocking calls (mrt_node_start, MRT_ASK_SYNC) must not run on the
 *      thread that drives an attached runtime (they return -EDEADLK there),
 *      since that thread is the one that has to run the actors;
 *   4. stops the node from that thread, wakes the loop through a pipe, and
 *      shuts the runtime down on the loop's thread before freeing the base.
 *
 * The node measures one DERP region served by an in-process STUN responder
 * on loopback, so the example is self-contained. Exit code 0 when every step
 * worked; the test suite builds and runs it.
 *
 * Threading: main thread = the host's loop (and the runtime's executor 0);
 * one worker thread = the host's application code using the node.
 *
 * Build: cc -std=c11 embed.c $(pkg-config --cflags --libs meshrt-mesh) -pthread
 * It is C11 plus POSIX.1-2008 (pipe, nanosleep, threads, sockets), which the
 * line below asks the C library for; meshrt's headers need nothing more.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <meshrt/mesh.h>

typedef struct host {
  mrt_runtime *rt;
  mrt_node *node;
  mrt_ref *stun;
  int wake[2];    /* worker -> loop: "I am done" */
  int status;     /* the worker's verdict: 0 ok, 1 failed */
  unsigned beats; /* the host's own timer ran this often */
} host;

#define CHECK(expr)                                                                                \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ < 0) {                                                                                 \
      fprintf(stderr, "embed: %s failed: %s\n", #expr, mrt_strerror(rc_));                         \
      return -1;                                                                                   \
    }                                                                                              \
  } while (0)

static struct sockaddr_storage loopback(void) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ss;
}

/* How long a blocking call may wait. Far more than any step needs: the suite
 * runs this example on loaded machines and under valgrind, where it must not
 * fail for being slow. */
#define PATIENCE MRT_SEC(30)

/* A STUN responder standing in for DERP region 1's server. */
static int start_stun(host *h, uint16_t *port) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.listen_addr = loopback();
  cfg.delay_ns = MRT_MS(5);
  CHECK(mrt_stun_responder_spawn(h->rt, &cfg, NULL, &h->stun));
  mrt_stun_responder_info info;
  CHECK(MRT_ASK_SYNC(stun_responder_info, h->stun, &(mrt_none){0}, &info, PATIENCE));
  *port = info.port;
  return 0;
}

/* Asks the measurer until it has chosen a home region. */
static int wait_home(host *h, int want) {
  for (uint64_t waited = 0; waited < PATIENCE; waited += MRT_MS(10)) {
    mrt_derp_latency_stats st;
    CHECK(MRT_ASK_SYNC(derp_latency_stats, mrt_node_derp_latency(h->node), &(mrt_none){0}, &st,
                       PATIENCE));
    if (st.home_region == want)
      return 0;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  }
  fprintf(stderr, "embed: no home region after 30 s\n");
  return -1;
}

static int use_the_node(host *h) {
  uint16_t stun_port;
  if (start_stun(h, &stun_port) < 0)
    return -1;
  mrt_node_config cfg = mrt_node_config_default();
  cfg.listen_addr = cfg.measure_addr = loopback();
  cfg.advertise_local = false;
  CHECK(mrt_node_start(h->rt, &cfg, &h->node)); /* blocks; the host's loop runs the actors */
  char map[512];
  int n = snprintf(map, sizeof map,
                   "{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"Nodes\":[{\"Name\":"
                   "\"1a\",\"RegionID\":1,\"HostName\":\"localhost\",\"IPv4\":\"127.0.0.1\","
                   "\"IPv6\":\"none\",\"STUNPort\":%u}]}}}",
                   stun_port);
  CHECK(mrt_node_set_derp_map_json(h->node, map, (size_t)n, NULL, 0));
  if (wait_home(h, 1) < 0)
    return -1;
  printf("embed: home region 1 chosen\n");
  /* Ask: where is the socket? Tell: rebind it. Ask again: it moved. */
  mrt_ref *dm = mrt_node_direct(h->node);
  mrt_sock_info before, after;
  CHECK(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &before, PATIENCE));
  CHECK(MRT_TELL(direct_rebind, dm, &(mrt_none){0}));
  CHECK(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &after, PATIENCE));
  /* Per sender, messages arrive in order: the ask saw the tell's effect. */
  if (after.generation != before.generation + 1) {
    fprintf(stderr, "embed: the rebind did not happen\n");
    return -1;
  }
  printf("embed: socket rebound, port %u -> %u\n", before.port, after.port);
  CHECK(mrt_node_stop(h->node, PATIENCE));
  return 0;
}

static void *worker(void *ud) {
  host *h = ud;
  h->status = use_the_node(h) < 0 ? 1 : 0;
  ssize_t w = write(h->wake[1], "x", 1); /* wake the host's loop */
  (void)w;
  return NULL;
}

static void on_wake(evutil_socket_t fd, short what, void *ud) {
  (void)fd;
  (void)what;
  event_base_loopbreak(ud);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *ud) {
  (void)fd;
  (void)what;
  ((host *)ud)->beats++; /* the host's own work goes on while meshrt runs */
}

int main(void) {
  host h;
  memset(&h, 0, sizeof h);
  struct event_base *base = event_base_new();
  if (base == NULL || pipe(h.wake) < 0 || mrt_runtime_new(NULL, &h.rt) < 0 ||
      mrt_runtime_attach(h.rt, base) < 0) {
    fprintf(stderr, "embed: setup failed\n");
    return 1;
  }
  struct event *wake = event_new(base, h.wake[0], EV_READ, on_wake, base);
  struct event *beat = event_new(base, -1, EV_PERSIST, on_heartbeat, &h);
  struct timeval every = {0, 5 * 1000};
  event_add(wake, NULL);
  event_add(beat, &every);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, &h) != 0)
    return 1;
  event_base_dispatch(base); /* the host's loop: until the worker is done */
  pthread_join(t, NULL);
  /* Shutdown from the attaching thread, before the base goes away; the node
   * is freed after the shutdown, as mrt_node_free asks. */
  mrt_runtime_shutdown(h.rt);
  mrt_node_free(h.node);
  mrt_ref_unref(h.stun);
  mrt_runtime_unref(h.rt);
  event_free(wake);
  event_free(beat);
  event_base_free(base);
  close(h.wake[0]);
  close(h.wake[1]);
  printf("embed: done (host heartbeats: %u)\n", h.beats);
  return h.status;
}
