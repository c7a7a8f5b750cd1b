/* SPDX-License-Identifier: MIT */
/* meshrt — the STUN Binding responder actor (see <meshrt/stun_responder.h>).
 *
 * A STUN server in a few lines: parse each datagram as a Binding request
 * with the shared codec (which checks every length and the FINGERPRINT),
 * and answer with the source address XOR-mapped. Everything that does not
 * parse is ignored, never answered, so the responder cannot be used to
 * reflect garbage at a third party.
 *
 * The artificial delay lets tests and the demo give loopback "regions"
 * different latencies. Delayed answers wait in a queue ordered by due time
 * (bounded, so a flood cannot grow memory) served by one timer.
 *
 * Threading: like DirectManager, the socket is watched with mrt_io_watch, so
 * its callback runs in the actor's context; all state is touched only there.
 */
#include <meshrt/stun_responder.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/stun.h>

#include "udp.h"

#define READ_BATCHES 16

typedef struct pending_answer {
  uint64_t due_ns;
  struct sockaddr_storage to;
  mrt_stun_txid txid;
} pending_answer;

typedef struct responder {
  mrt__udp sock;
  mrt__rx *rx;
  mrt_stun_responder_style style;
  uint64_t delay_ns;
  pending_answer *queue; /* sorted by due_ns */
  size_t n_queue;
  uint64_t timer; /* 0: none armed */
  mrt_stun_responder_info stats;
} responder;

MRT_MESSAGE_DEFINE(stun_responder_info, mrt_none, mrt_stun_responder_info, NULL, NULL);
MRT_MESSAGE_DEFINE(stun_responder_set_delay, uint64_t, mrt_none, NULL, NULL);

/* A classic server's answer: it names its own address and the alternate one
 * (a port up) next to ours. */
static int build_classic(responder *s, uint8_t *buf, size_t cap, const mrt_stun_txid *txid,
                         const struct sockaddr_storage *to) {
  struct sockaddr_storage changed = s->sock.local;
  mrt__addr_set_port(&changed, (uint16_t)(s->sock.port + 1));
  return mrt_stun_build_classic_response(
      buf, cap, txid, (const struct sockaddr *)to, (const struct sockaddr *)&s->sock.local,
      (const struct sockaddr *)&changed, s->style == MRT_STUN_RESPONDER_CLASSIC);
}

static void answer(responder *s, const struct sockaddr_storage *to, const mrt_stun_txid *txid) {
  uint8_t buf[MRT_STUN_CLASSIC_RESPONSE_MAX_LEN];
  int n = s->style == MRT_STUN_RESPONDER_RFC5389
              ? mrt_stun_build_binding_response(buf, sizeof buf, txid, (const struct sockaddr *)to)
              : build_classic(s, buf, sizeof buf, txid, to);
  if (n < 0 || mrt__udp_send(&s->sock, to, buf, (size_t)n) < 0) {
    s->stats.dropped++;
    return;
  }
  s->stats.answered++;
}

static int queue_tick(mrt_actor *self, void *state, void *ud);

static void arm(mrt_actor *self, responder *s) {
  if (s->timer != 0 || s->n_queue == 0)
    return;
  uint64_t now = mrt_actor_now(self);
  uint64_t due = s->queue[0].due_ns;
  if (mrt_timer_start(self, due > now ? due - now : 0, 0, queue_tick, NULL, &s->timer) < 0)
    s->timer = 0;
}

static int queue_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  responder *s = state;
  s->timer = 0;
  uint64_t now = mrt_actor_now(self);
  size_t done = 0;
  while (done < s->n_queue && s->queue[done].due_ns <= now) {
    answer(s, &s->queue[done].to, &s->queue[done].txid);
    done++;
  }
  memmove(s->queue, s->queue + done, (s->n_queue - done) * sizeof *s->queue);
  s->n_queue -= done;
  arm(self, s);
  return 0;
}

static void enqueue(mrt_actor *self, responder *s, const struct sockaddr_storage *to,
                    const mrt_stun_txid *txid) {
  if (s->n_queue == MRT_STUN_RESPONDER_QUEUE_MAX) {
    s->stats.dropped++;
    return;
  }
  uint64_t due = mrt_actor_now(self) + s->delay_ns;
  size_t at = s->n_queue;
  while (at > 0 && s->queue[at - 1].due_ns > due) /* a shorter new delay jumps ahead */
    at--;
  memmove(s->queue + at + 1, s->queue + at, (s->n_queue - at) * sizeof *s->queue);
  s->queue[at] = (pending_answer){.due_ns = due, .to = *to, .txid = *txid};
  s->n_queue++;
  if (at == 0 && s->timer != 0) { /* the new head is due sooner */
    mrt_timer_cancel(self, s->timer);
    s->timer = 0;
  }
  arm(self, s);
}

static void handle(mrt_actor *self, responder *s, size_t i) {
  mrt_stun_txid txid;
  const struct sockaddr_storage *src = &s->rx->src[i];
  if (s->rx->oversize[i] || (src->ss_family != AF_INET && src->ss_family != AF_INET6) ||
      mrt_stun_parse_binding_request(s->rx->buf[i], s->rx->len[i], &txid) < 0) {
    s->stats.ignored++;
    return;
  }
  s->stats.requests++;
  if (s->delay_ns == 0)
    answer(s, src, &txid);
  else
    enqueue(self, s, src, &txid);
}

/* At most READ_BATCHES batches per call; the level-triggered watch fires
 * again for the rest after other actors had a turn. */
static int on_readable(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)what;
  (void)ud;
  responder *s = state;
  for (int b = 0; b < READ_BATCHES; b++) {
    int n = mrt__rx_recv(s->rx, fd);
    for (int i = 0; i < n; i++)
      handle(self, s, (size_t)i);
    if (n < MRT__RX_SLOTS)
      break;
  }
  return 0;
}

static int on_info(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  responder *s = state;
  s->stats.local = s->sock.local;
  s->stats.port = s->sock.port;
  s->stats.delay_ns = s->delay_ns;
  return r != NULL ? MRT_REPLY(stun_responder_info, r, &s->stats) : 0;
}

static int on_set_delay(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  ((responder *)state)->delay_ns = *(const uint64_t *)payload;
  return r != NULL ? MRT_REPLY(stun_responder_set_delay, r, &(mrt_none){0}) : 0;
}

static void responder_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  responder *s = state;
  mrt__udp_close(&s->sock); /* the runtime removed the watch already */
  mrt__rx_free(s->rx);
  free(s->queue);
}

static int open_socket(mrt_actor *self, responder *s, const mrt_stun_responder_config *cfg) {
  mrt__bind_req req = {.addr = &cfg->listen_addr, .port = cfg->listen_port, .who = "stun"};
  int rc = mrt__udp_open(&req, &s->sock);
  if (rc < 0)
    return rc;
  return mrt_io_watch(self, s->sock.fd, MRT_IO_READ, on_readable, NULL, NULL);
}

static int responder_start(mrt_actor *self, void *state, const void *args) {
  responder *s = state;
  const mrt_stun_responder_config *cfg = args;
  s->sock.fd = -1;
  s->delay_ns = cfg->delay_ns;
  s->style = cfg->style;
  s->rx = mrt__rx_new();
  s->queue = calloc(MRT_STUN_RESPONDER_QUEUE_MAX, sizeof *s->queue);
  int rc = s->rx == NULL || s->queue == NULL ? -ENOMEM : open_socket(self, s, cfg);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, "stun", "responder cannot listen err=%s", mrt_strerror(rc));
    responder_stop(self, s, NULL); /* on_stop does not run after a failed start */
    return rc;
  }
  char a[MRT__ADDR_STRLEN];
  mrt_log(MRT_LOG_INFO, "stun", "responder listening local=%s delay_us=%llu",
          mrt__addr_str(&s->sock.local, a), (unsigned long long)(s->delay_ns / 1000));
  return 0;
}

static const mrt_handler_entry responder_handlers[] = {
    {&mrt_msg_stun_responder_info, on_info},
    {&mrt_msg_stun_responder_set_delay, on_set_delay},
    {NULL, NULL},
};

static const mrt_actor_class responder_class = {
    .name = "StunResponder",
    .state_size = sizeof(responder),
    .args_size = sizeof(mrt_stun_responder_config),
    .on_start = responder_start,
    .on_stop = responder_stop,
    .handlers = responder_handlers,
};

int mrt_stun_responder_spawn(mrt_runtime *rt, const mrt_stun_responder_config *cfg,
                             const mrt_spawn_opts *opts, mrt_ref **out) {
  int fam = cfg != NULL ? cfg->listen_addr.ss_family : AF_UNSPEC;
  const char *problem = rt == NULL || cfg == NULL ? "NULL argument"
                        : fam != AF_UNSPEC && fam != AF_INET && fam != AF_INET6
                            ? "bad listen_addr family"
                        : (unsigned)cfg->style > MRT_STUN_RESPONDER_RFC3489 ? "unknown style"
                                                                            : NULL;
  if (problem != NULL) {
    mrt_log(MRT_LOG_WARN, "stun", "responder spawn refused: %s", problem);
    return -EINVAL;
  }
  return mrt_actor_spawn(rt, &responder_class, cfg, opts, out);
}
