/* SPDX-License-Identifier: MIT */
/* meshrt — the Linux link monitor: rtnetlink through libmnl.
 *
 * watch() opens a non-blocking NETLINK_ROUTE socket subscribed to link,
 * IPv4/IPv6 address and IPv4/IPv6 route notifications, with a receive buffer
 * sized for bursts, so that a failure (no netlink, no permission) is reported
 * to the caller at once. The watcher actor then owns the socket: it registers
 * it on its executor's loop (mrt_io_watch), dumps links, addresses and routes
 * one after another into an interface-state snapshot (link_snapshot.c), and
 * from then on feeds every notification to the snapshot, which says which
 * interesting facts changed; those become raw changes for the debouncer.
 *
 * When the kernel reports ENOBUFS, notifications were lost: the monitor dumps
 * everything again and diffs (a raw change with the RESYNC flag if anything
 * interesting differed, listing what differed). Dump replies are never
 * dropped by the kernel (a dump advances only as we read), so a dump in
 * flight always completes; a resync asked for meanwhile starts after it.
 *
 * Threads: the source runs in the watcher's context; counters are atomics so
 * mrt_link_monitor_get_stats may read them from anywhere.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "link_snapshot.h"
#include "monitor.h"
#include "mrt_grow.h"

#define DEFAULT_RCVBUF (4 * 1024 * 1024)
#define DUMPS 3 /* links, addresses, routes */

typedef struct netlink_monitor {
  mrt_link_monitor base;
  char **ignored;
  size_t n_ignored;
  int rcvbuf;
  void (*on_raw)(const mrt_link_change *raw, const char *what, void *ud);
  void *on_raw_ud;
  pthread_mutex_t mu;
  mrt_ref *watcher; /* the one watch's watcher (reference held), or NULL */
  _Atomic uint64_t messages, malformed, raw_events, resyncs;
} netlink_monitor;

typedef struct nl_source {
  netlink_monitor *mon;
  struct mnl_socket *nl;
  mrt__link_snapshot *snap;
  uint32_t seq;
  int dumps_sent; /* dumps requested in the current resync */
  bool dump_inflight;
  bool initial;       /* the first resync: its differences are not changes */
  bool resync_wanted; /* ENOBUFS during a dump: resync after it */
  uint64_t last_messages, last_malformed;
  struct recv_batch *batch; /* receive buffers (256 KiB: too big for a stack) */
  uint64_t io_id;           /* the socket's watch */
} nl_source;

/* ---- socket -------------------------------------------------------------- */

static int open_socket(int rcvbuf, struct mnl_socket **out) {
  struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (nl == NULL)
    return -errno;
  unsigned groups =
      RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
    int err = -errno;
    mnl_socket_close(nl);
    return err;
  }
  int fd = mnl_socket_get_fd(nl);
  /* FORCE lifts the rmem_max cap when we may (root); else take what we get. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  *out = nl;
  return 0;
}

static int request_dump(nl_source *s, int which) {
  uint64_t storage[64]; /* 8-byte aligned; a dump request is tiny */
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(storage);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++s->seq;
  if (which == 0) {
    nlh->nlmsg_type = RTM_GETLINK;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
  } else if (which == 1) {
    nlh->nlmsg_type = RTM_GETADDR;
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_UNSPEC;
  } else {
    nlh->nlmsg_type = RTM_GETROUTE;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = AF_UNSPEC;
  }
  if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  s->dump_inflight = true;
  s->dumps_sent = which + 1;
  return 0;
}

static int begin_resync(nl_source *s) {
  s->resync_wanted = false;
  int rc = mrt__link_snapshot_begin_resync(s->snap);
  return rc < 0 ? rc : request_dump(s, 0);
}

/* ---- receiving ----------------------------------------------------------- */

static void raise_raw(mrt_actor *self, nl_source *s, const mrt__link_changes *c, const char *what) {
  if (c->flags == 0)
    return;
  atomic_fetch_add_explicit(&s->mon->raw_events, 1, memory_order_relaxed);
  if (s->mon->on_raw != NULL) {
    /* A view of `c`, borrowed for the call (nothing to free). */
    mrt_link_change raw = {.flags = c->flags,
                           .raw_events = 1,
                           .n_changes = c->n,
                           .more_changes = c->more,
                           .changes = c->n ? (mrt_link_change_item *)c->items : NULL};
    s->mon->on_raw(&raw, what, s->mon->on_raw_ud);
  }
  mrt__netmon_raw(self, c);
}

/* After each buffer: move the resync along (next dump, or finish). */
static int advance_resync(mrt_actor *self, nl_source *s) {
  if (!mrt__link_snapshot_resyncing(s->snap))
    return 0;
  int done = mrt__link_snapshot_resync_dumps_done(s->snap);
  if (done < s->dumps_sent)
    return 0; /* the dump in flight is not finished */
  s->dump_inflight = false;
  if (s->resync_wanted)
    return begin_resync(s);
  if (done < DUMPS)
    return request_dump(s, done);
  mrt__link_changes found = {0};
  int rc = mrt__link_snapshot_finish_resync(s->snap, NULL, &found);
  if (rc == MRT__LINK_RESYNC_INCONSISTENT)
    return begin_resync(s); /* the kernel says the dump raced with changes */
  if (s->initial) {
    s->initial = false;
    mrt_log(MRT_LOG_DEBUG, "netmon", "initial dump done addresses=%zu",
            mrt__link_snapshot_addr_count(s->snap));
    return 0;
  }
  atomic_fetch_add_explicit(&s->mon->resyncs, 1, memory_order_relaxed);
  raise_raw(self, s, &found, "resync");
  return 0;
}

static void update_counters(nl_source *s) {
  mrt__link_stats st;
  mrt__link_snapshot_get_stats(s->snap, &st);
  atomic_fetch_add_explicit(&s->mon->messages, st.messages - s->last_messages,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&s->mon->malformed, st.malformed - s->last_malformed,
                            memory_order_relaxed);
  s->last_messages = st.messages;
  s->last_malformed = st.malformed;
}

static void on_enobufs(nl_source *s) {
  mrt_log(MRT_LOG_INFO, "netmon", "netlink notifications lost (ENOBUFS): resynchronising");
  if (s->dump_inflight)
    s->resync_wanted = true; /* after the dump in flight completes */
  else if (begin_resync(s) < 0)
    mrt_log(MRT_LOG_WARN, "netmon", "resync request failed");
}

/* Datagrams read per recvmmsg call: each notification is its own datagram,
 * so batching saves a syscall per message in a storm. */
#define RECV_PAUSE MRT_MS(5)
#define RECV_BATCH 32
#define RECV_BUF 8192

typedef struct recv_batch {
  uint64_t bufs[RECV_BATCH][RECV_BUF / sizeof(uint64_t)]; /* 8-byte aligned */
  struct iovec iov[RECV_BATCH];
  struct sockaddr_nl from[RECV_BATCH];
  struct mmsghdr msgs[RECV_BATCH];
} recv_batch;

static void apply_datagram(mrt_actor *self, nl_source *s, const void *buf, size_t len,
                           const struct sockaddr_nl *from) {
  if (from->nl_pid != 0) {
    /* Only the kernel speaks rtnetlink to us; anything else is spoofing. */
    atomic_fetch_add_explicit(&s->mon->malformed, 1, memory_order_relaxed);
    return;
  }
  mrt__link_changes changes = {0};
  int rc = mrt__link_snapshot_apply(s->snap, buf, len, NULL, &changes);
  if (rc == -EBADMSG)
    mrt_log(MRT_LOG_DEBUG, "netmon", "malformed netlink data skipped");
  else if (rc == -ENOMEM)
    on_enobufs(s); /* the snapshot could not keep up: same cure */
  if (!s->initial)
    raise_raw(self, s, &changes, "notification");
  if (advance_resync(self, s) < 0)
    mrt_log(MRT_LOG_WARN, "netmon", "netlink dump request failed");
}

static int resume_reading(mrt_actor *self, void *state, void *ud) {
  (void)state;
  nl_source *s = ud;
  return mrt_io_enable(self, s->io_id, true);
}

static int on_readable(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)state;
  (void)what;
  nl_source *s = ud;
  recv_batch *b = s->batch;
  for (int round = 0; round < 16; round++) { /* bounded: let other actors run */
    for (int i = 0; i < RECV_BATCH; i++) {
      b->iov[i] = (struct iovec){b->bufs[i], sizeof b->bufs[i]};
      b->msgs[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i],
                                           .msg_namelen = sizeof b->from[i],
                                           .msg_iov = &b->iov[i],
                                           .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, b->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == ENOBUFS) {
      on_enobufs(s);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    if (n <= 0) {
      mrt_log(MRT_LOG_WARN, "netmon", "netlink receive failed error=%s",
              mrt_strerror(n < 0 ? -errno : -EPIPE));
      mrt__netmon_source_closed(self);
      return 0;
    }
    for (int i = 0; i < n; i++)
      apply_datagram(self, s, b->bufs[i], b->msgs[i].msg_len, &b->from[i]);
    update_counters(s);
    if (n < RECV_BATCH)
      break;
  }
  /* A storm arrives one datagram at a time, and waking for each costs far
   * more than parsing it. Pause the watch briefly so the next wake-up finds a
   * batch; the delay is small beside the debouncer's settle time. */
  int rc = mrt_io_enable(self, s->io_id, false);
  if (rc == 0)
    rc = mrt_timer_start(self, RECV_PAUSE, 0, resume_reading, s, NULL);
  return rc;
}

/* ---- describing the snapshot (mrt_link_monitor_describe) ----------------------- */

typedef struct lines {
  char **v;
  size_t n, cap;
  bool oom;
} lines;

static void lines_add(lines *l, const char *text) {
  char **v = mrt__grow(l->v, &l->cap, l->n, sizeof *v, 32);
  if (v == NULL) {
    l->oom = true;
    return;
  }
  l->v = v;
  if ((l->v[l->n] = strdup(text)) == NULL)
    l->oom = true;
  else
    l->n++;
}

static int add_addr_line(const mrt__link_addr_info *a, void *arg) {
  char addr[INET6_ADDRSTRLEN], line[IFNAMSIZ + INET6_ADDRSTRLEN + 32];
  inet_ntop(a->family, a->addr, addr, sizeof addr);
  snprintf(line, sizeof line, "%s %s %s/%u", a->ifname, a->family == AF_INET ? "inet" : "inet6",
           addr, a->prefixlen);
  lines_add(arg, line);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *nl_describe(void *src) {
  nl_source *s = src;
  lines l = {0};
  mrt__link_snapshot_foreach_addr(s->snap, add_addr_line, &l);
  if (l.n > 1)
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
  static const int fams[] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; i++) {
    int idx = mrt__link_snapshot_default_ifindex(s->snap, fams[i]);
    mrt__link_iface_info info;
    if (idx > 0 && mrt__link_snapshot_iface(s->snap, idx, &info) == 0) {
      char line[IFNAMSIZ + 16];
      snprintf(line, sizeof line, "default%c %s", i == 0 ? '4' : '6', info.name);
      lines_add(&l, line);
    }
  }
  size_t len = 1;
  for (size_t i = 0; i < l.n; i++)
    len += strlen(l.v[i]) + 1;
  char *text = l.oom ? NULL : malloc(len);
  if (text != NULL) {
    char *p = text;
    for (size_t i = 0; i < l.n; i++)
      p += sprintf(p, "%s\n", l.v[i]);
    *p = '\0';
  }
  for (size_t i = 0; i < l.n; i++)
    free(l.v[i]);
  free(l.v);
  return text;
}

/* ---- source callbacks (watcher's context) ----------------------------------- */

static int nl_start(mrt_actor *self, void *src) {
  nl_source *s = src;
  int rc = mrt_io_watch(self, mnl_socket_get_fd(s->nl), MRT_IO_READ, on_readable, s, &s->io_id);
  return rc < 0 ? rc : begin_resync(s);
}

static void nl_stop(mrt_actor *self, void *src) {
  (void)self;
  nl_source *s = src;
  netlink_monitor *m = s->mon;
  mnl_socket_close(s->nl);
  mrt__link_snapshot_free(s->snap);
  free(s->batch);
  free(s);
  pthread_mutex_lock(&m->mu);
  mrt_ref *w = m->watcher;
  m->watcher = NULL;
  pthread_mutex_unlock(&m->mu);
  mrt_ref_unref(w);
}

static int source_new(netlink_monitor *m, nl_source **out) {
  nl_source *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->mon = m;
  s->initial = true;
  s->batch = malloc(sizeof *s->batch);
  int rc = s->batch != NULL ? mrt__link_snapshot_new(&s->snap) : -ENOMEM;
  if (rc == 0)
    rc = mrt__link_snapshot_set_ignored(s->snap, (const char *const *)m->ignored, m->n_ignored,
                                        NULL);
  if (rc == 0)
    rc = open_socket(m->rcvbuf, &s->nl);
  if (rc < 0) {
    mrt__link_snapshot_free(s->snap);
    free(s->batch);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int nl_watch(mrt_link_monitor *base, mrt_runtime *rt, mrt_ref *target,
                    const mrt_debounce_config *cfg, mrt_link_watch **out) {
  netlink_monitor *m = (netlink_monitor *)base;
  pthread_mutex_lock(&m->mu);
  int rc = m->watcher != NULL ? -EALREADY : 0;
  nl_source *s = NULL;
  if (rc == 0)
    rc = source_new(m, &s);
  if (rc == 0) {
    mrt__netmon_source src = {nl_start, nl_stop, NULL, nl_describe, s};
    rc = mrt__netmon_watch_start(base, rt, target, cfg, &src, out);
    if (rc == 0) {
      m->watcher = mrt_ref_ref(mrt__netmon_watcher(*out));
    } else {
      mnl_socket_close(s->nl); /* no watcher took the source */
      mrt__link_snapshot_free(s->snap);
      free(s->batch);
      free(s);
    }
  }
  pthread_mutex_unlock(&m->mu);
  if (rc < 0)
    mrt_log(MRT_LOG_WARN, "netmon", "netlink monitor cannot watch error=%s", mrt_strerror(rc));
  return rc;
}

/* ---- the monitor object ------------------------------------------------------ */

static void nl_free(mrt_link_monitor *base) {
  netlink_monitor *m = (netlink_monitor *)base;
  for (size_t i = 0; i < m->n_ignored; i++)
    free(m->ignored[i]);
  free(m->ignored);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static void nl_stats(mrt_link_monitor *base, mrt_netlink_monitor_stats *out) {
  netlink_monitor *m = (netlink_monitor *)base;
  /* Relaxed: counters for display; each is individually consistent. */
  out->messages = atomic_load_explicit(&m->messages, memory_order_relaxed);
  out->malformed = atomic_load_explicit(&m->malformed, memory_order_relaxed);
  out->raw_events = atomic_load_explicit(&m->raw_events, memory_order_relaxed);
  out->resyncs = atomic_load_explicit(&m->resyncs, memory_order_relaxed);
}

static mrt_ref *nl_watcher(mrt_link_monitor *base) {
  netlink_monitor *m = (netlink_monitor *)base;
  pthread_mutex_lock(&m->mu);
  mrt_ref *w = mrt_ref_ref(m->watcher);
  pthread_mutex_unlock(&m->mu);
  return w;
}

static const mrt__link_monitor_ops netlink_ops = {"netlink", nl_watch, nl_free, nl_stats,
                                                  nl_watcher};

static int copy_ignored(netlink_monitor *m, const char *const *names) {
  size_t n = 0;
  while (names != NULL && names[n] != NULL)
    n++;
  m->ignored = calloc(n ? n : 1, sizeof *m->ignored);
  if (m->ignored == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if ((m->ignored[i] = strdup(names[i])) == NULL)
      return -ENOMEM;
    m->n_ignored++;
  }
  /* Validate the patterns now, so a bad one fails creation, not watch(). */
  mrt__link_snapshot *probe;
  int rc = mrt__link_snapshot_new(&probe);
  if (rc == 0) {
    rc = mrt__link_snapshot_set_ignored(probe, (const char *const *)m->ignored, n, NULL);
    mrt__link_snapshot_free(probe);
  }
  return rc;
}

int mrt_netlink_monitor_new(const mrt_netlink_monitor_config *cfg, mrt_link_monitor **out) {
  if (out == NULL || (cfg != NULL && cfg->rcvbuf_bytes < 0)) {
    mrt_log(MRT_LOG_WARN, "netmon", "netlink monitor refused: bad argument");
    return -EINVAL;
  }
  *out = NULL;
  netlink_monitor *m = calloc(1, sizeof *m);
  if (m == NULL)
    return -ENOMEM;
  mrt__link_monitor_init(&m->base, &netlink_ops);
  pthread_mutex_init(&m->mu, NULL);
  m->rcvbuf = cfg && cfg->rcvbuf_bytes ? cfg->rcvbuf_bytes : DEFAULT_RCVBUF;
  m->on_raw = cfg ? cfg->on_raw : NULL;
  m->on_raw_ud = cfg ? cfg->on_raw_ud : NULL;
  int rc = copy_ignored(m, cfg ? cfg->ignored_interfaces : NULL);
  if (rc < 0) {
    mrt_log(MRT_LOG_WARN, "netmon", "netlink monitor refused: bad ignored-interface pattern");
    nl_free(&m->base);
    return rc;
  }
  *out = &m->base;
  return 0;
}
