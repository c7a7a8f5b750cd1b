/* SPDX-License-Identifier: MIT */
/* meshrt-node — the control socket: a Unix stream socket speaking
 * newline-delimited JSON (one request per line, one reply per line; see
 * request.c and commands.c for the requests and meshrt-ctl(1) for the
 * protocol).
 *
 * Robustness rules: a request line longer than MAX_LINE gets an error reply
 * and the connection is closed (the rest of the line cannot be told from the
 * next request); malformed JSON gets an error reply and the connection stays
 * usable; a client that vanishes mid-request or mid-reply only frees its
 * connection. Nobody can grow our memory or take our descriptors:
 *   - clients are capped below the descriptor limit (RLIMIT_NOFILE less what
 *     the node already uses and a reserve for the rest of it, at most
 *     MAX_CLIENTS; counted by the accept guard, as the metrics endpoint's
 *     are); at the cap a new client takes the place of the least recently
 *     active idle one (nothing in flight, not following), or, if there is
 *     none, gets a "busy" error and is closed;
 *   - if accept() fails for want of descriptors anyway, accepting pauses and
 *     is retried later (accept_guard.c) instead of spinning;
 *   - a client whose unsent replies pass CLIENT_HIGH is not read until they
 *     drained (requests wait in its socket), and a follower of the journal
 *     that far behind FOLLOW_MAX is dropped;
 *   - all clients' unsent replies together stay under TOTAL_MAX: past it, the
 *     client whose replies went unread the longest is disconnected;
 *   - all clients' buffered input (requests in the making, and requests a
 *     throttled client sent ahead) together stays under INPUT_MAX: past it,
 *     the client holding the most is disconnected (each client's own input is
 *     bounded by MAX_LINE, but a thousand of them could pin 64 MiB);
 *   - repeated conditions are logged rate-limited.
 *
 * Security: the socket is created under umask 0177 and chmod'ed 0600, in a
 * directory created 0700 when missing, so only the node's user can connect.
 *
 * Threading: everything runs on the service thread's event loop; the
 * handlers block on asks (they are host-thread code), so requests are served
 * one after the other, in arrival order. Opening runs on the main thread
 * before the loop starts.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "accept_guard.h"
#include "app.h"
#include "ratelimit.h"

#define MAX_LINE (64 * 1024)
#define MAX_CLIENTS 1024
/* Descriptors the cap leaves to the rest of the node: sockets of rebinds and
 * STUN, netlink, metrics connections (at most 32, metrics.c), the config and
 * key files. */
#define FD_RESERVE 128
#define CLIENT_HIGH (256 * 1024)
#define FOLLOW_MAX (4 * 1024 * 1024)
#define TOTAL_MAX (16 * 1024 * 1024)
/* Room for 128 maximal requests in the making at once, half of TOTAL_MAX:
 * real requests are a few hundred bytes, so only clients sending near-maximal
 * lines by the hundred ever reach it. */
#define INPUT_MAX (8 * 1024 * 1024)
#define FOLLOW_PERIOD_MS 100
#define FOLLOW_BATCH 256
#define LOG_INTERVAL_NS (10 * UINT64_C(1000000000))

typedef struct client client;

struct mn_control {
  mn_app *app;
  struct event_base *base;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  struct evconnlistener *listener;
  mn_accept_guard *guard;
  struct event *follow_timer;
  client *head, *tail;                                  /* most recently active first */
  uint64_t evicted_idle, dropped_unread, dropped_input; /* counts, for the log */
  mn_ratelimit rl_dropped, rl_input;
};

struct client {
  struct mn_control *ctl;
  struct bufferevent *bev;
  struct evbuffer_cb_entry *out_cb;
  bool closing;   /* close once the output is flushed */
  bool throttled; /* not reading until the output drained */
  bool follow;
  uint64_t after;       /* followers: the last journal seq sent */
  uint64_t progress_ns; /* when the client last took some of its output (or connected) */
  client *prev, *next;
};

/* ---- the client list ------------------------------------------------------------------ */

static void list_unlink(client *c) {
  struct mn_control *ctl = c->ctl;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    ctl->head = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  else
    ctl->tail = c->prev;
  c->prev = c->next = NULL;
}

static void list_push_head(client *c) {
  struct mn_control *ctl = c->ctl;
  c->next = ctl->head;
  c->prev = NULL;
  if (ctl->head != NULL)
    ctl->head->prev = c;
  else
    ctl->tail = c;
  ctl->head = c;
}

/* The client did something: it becomes the most recently active. */
static void touch(client *c) {
  if (c->ctl->head != c) {
    list_unlink(c);
    list_push_head(c);
  }
}

static size_t queued(const client *c) {
  return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static size_t input_len(const client *c) {
  return evbuffer_get_length(bufferevent_get_input(c->bev));
}

static size_t total_queued(const struct mn_control *ctl) {
  size_t sum = 0;
  for (const client *c = ctl->head; c != NULL; c = c->next)
    sum += queued(c);
  return sum;
}

static void client_free(client *c) {
  struct mn_control *ctl = c->ctl;
  list_unlink(c);
  mn_accept_guard_release(ctl->guard);
  /* The buffer may outlive this call inside libevent: it must not call us. */
  evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
  bufferevent_free(c->bev);
  free(c);
}

/* ---- budgets ------------------------------------------------------------------------------ */

/* While all unsent replies together pass TOTAL_MAX, disconnects the client
 * (other than `keep`) whose replies have gone unread the longest. */
static void enforce_budget(struct mn_control *ctl, const client *keep) {
  size_t total = total_queued(ctl);
  while (total >= TOTAL_MAX) {
    client *victim = NULL;
    for (client *c = ctl->head; c != NULL; c = c->next)
      if (c != keep && queued(c) > 0 && (victim == NULL || c->progress_ns < victim->progress_ns))
        victim = c;
    if (victim == NULL)
      return;
    size_t n = queued(victim);
    uint64_t held = 0;
    ctl->dropped_unread++;
    if (mn_ratelimit_allow(&ctl->rl_dropped, mn_now_ns(), LOG_INTERVAL_NS, &held))
      mrt_log(MRT_LOG_WARN, MN_LOG,
              "control socket: dropped a client that does not read its replies unsent=%zu "
              "total_unsent=%zu limit=%d dropped=%" PRIu64 " held_back=%" PRIu64,
              n, total, TOTAL_MAX, ctl->dropped_unread, held);
    total -= n;
    client_free(victim);
  }
}

/* While all clients' buffered input passes INPUT_MAX, disconnects the client
 * holding the most (of equals, the least recently active): what it sent is
 * no request yet, or requests it sent ahead of reading its replies. */
static void enforce_input_budget(struct mn_control *ctl) {
  size_t total = 0;
  for (const client *c = ctl->head; c != NULL; c = c->next)
    total += input_len(c);
  while (total >= INPUT_MAX) {
    client *victim = NULL;
    for (client *c = ctl->tail; c != NULL; c = c->prev)
      if (victim == NULL || input_len(c) > input_len(victim))
        victim = c;
    size_t n = input_len(victim);
    if (n == 0)
      return;
    uint64_t held = 0;
    ctl->dropped_input++;
    if (mn_ratelimit_allow(&ctl->rl_input, mn_now_ns(), LOG_INTERVAL_NS, &held))
      mrt_log(MRT_LOG_WARN, MN_LOG,
              "control socket: dropped the client with the most unserved input input=%zu "
              "total_input=%zu limit=%d dropped=%" PRIu64 " held_back=%" PRIu64,
              n, total, INPUT_MAX, ctl->dropped_input, held);
    total -= n;
    client_free(victim);
  }
}

/* ---- connections ------------------------------------------------------------------ */

static void send_json(client *c, json_t *reply) {
  char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
  struct evbuffer *out = bufferevent_get_output(c->bev);
  if (text != NULL) {
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
  } else {
    static const char oom[] =
        "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}\n";
    evbuffer_add(out, oom, sizeof oom - 1);
  }
  free(text);
}

/* Closes after the reply is out (or now, if nothing is pending). Returns
 * true if it freed c. */
static bool close_soon(client *c) {
  c->closing = true;
  bufferevent_disable(c->bev, EV_READ);
  if (queued(c) != 0)
    return false;
  client_free(c);
  return true;
}

static void handle_line(client *c, const char *line, size_t len) {
  bool follow = false;
  uint64_t after = 0;
  json_t *reply = mn_command_run(c->ctl->app, line, len, &follow, &after);
  send_json(c, reply);
  json_decref(reply);
  if (follow) {
    c->follow = true;
    c->after = after;
  }
}

static bool too_long(client *c) {
  json_t *e = mn_reply_error("too_long", "request longer than %d bytes", MAX_LINE);
  send_json(c, e);
  json_decref(e);
  return close_soon(c);
}

/* Serves the complete lines in the input. A client that sends requests
 * without reading the replies is throttled (no more reads) once its unsent
 * output passes CLIENT_HIGH, and resumed when that drained. Returns true if
 * it freed c. */
static bool serve_input(client *c) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  while (!c->closing) {
    if (queued(c) >= CLIENT_HIGH) {
      c->throttled = true;
      bufferevent_disable(c->bev, EV_READ);
      return false;
    }
    size_t len;
    char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
    if (line == NULL)
      break;
    if (len > 0 && line[len - 1] == '\r')
      line[--len] = '\0';
    bool refuse = len > MAX_LINE;
    if (len > 0 && !refuse) { /* blank lines are keep-alives */
      touch(c);
      handle_line(c, line, len);
      enforce_budget(c->ctl, c);
    }
    free(line);
    if (refuse)
      return too_long(c);
  }
  /* No complete line: what is buffered is one request in the making. */
  if (!c->closing && evbuffer_get_length(in) > MAX_LINE)
    return too_long(c);
  return false;
}

static void on_read(struct bufferevent *bev, void *ud) {
  (void)bev;
  client *c = ud;
  struct mn_control *ctl = c->ctl;
  serve_input(c); /* may free c */
  enforce_input_budget(ctl);
}

/* The output drained (libevent calls this when it is empty). */
static void on_write(struct bufferevent *bev, void *ud) {
  client *c = ud;
  if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
    return;
  if (c->closing) {
    client_free(c);
  } else if (c->throttled) {
    c->throttled = false;
    bufferevent_enable(bev, EV_READ);
    serve_input(c);
  }
}

/* Bytes left the output buffer: the client is reading. */
static void on_output_change(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *ud) {
  (void)buf;
  if (info->n_deleted > 0)
    ((client *)ud)->progress_ns = mn_now_ns();
}

static void on_event(struct bufferevent *bev, short what, void *ud) {
  client *c = ud;
  (void)bev;
  if (what & BEV_EVENT_ERROR) {
    client_free(c); /* the peer is gone: nothing more can be delivered */
    return;
  }
  if (what & BEV_EVENT_EOF) {
    /* Half-closed: answer what was sent in full, then close. A partial
     * last line is a request cut off mid-way: dropped. */
    if (!serve_input(c) && !c->closing)
      close_soon(c);
  }
}

/* At the cap: the least recently active client with nothing in flight
 * (no partial request, no unsent reply, not following), or NULL. */
static client *idle_victim(struct mn_control *ctl) {
  for (client *c = ctl->tail; c != NULL; c = c->prev)
    if (!c->follow && !c->closing && queued(c) == 0 &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
      return c;
  return NULL;
}

/* Tells a client over the cap why it is closed, without blocking. */
static void refuse(evutil_socket_t fd) {
  static const char busy[] = "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many "
                             "control clients; try again\"}}\n";
  ssize_t n = send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;
  close(fd);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ud) {
  (void)l;
  (void)sa;
  (void)socklen;
  struct mn_control *ctl = ud;
  mn_accept_guard_ok(ctl->guard);
  client *v = mn_accept_guard_full(ctl->guard) ? idle_victim(ctl) : NULL;
  if (v != NULL) {
    ctl->evicted_idle++;
    client_free(v); /* gives its place back */
  }
  if (!mn_accept_guard_admit(ctl->guard)) {
    refuse(fd);
    return;
  }
  client *c = calloc(1, sizeof *c);
  struct bufferevent *bev =
      c != NULL ? bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
  struct evbuffer_cb_entry *cb =
      bev != NULL ? evbuffer_add_cb(bufferevent_get_output(bev), on_output_change, c) : NULL;
  if (cb == NULL) {
    if (bev != NULL)
      bufferevent_free(bev);
    else
      close(fd);
    free(c);
    mn_accept_guard_release(ctl->guard);
    return;
  }
  c->ctl = ctl;
  c->bev = bev;
  c->out_cb = cb;
  c->progress_ns = mn_now_ns();
  list_push_head(c);
  bufferevent_setcb(bev, on_read, on_write, on_event, c);
  /* Input beyond one maximal request is not read until it was served. */
  bufferevent_setwatermark(bev, EV_READ, 0, MAX_LINE + 2);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---- following the journal ------------------------------------------------------------ */

/* Sends a follower the events it has not seen; false if it was dropped. */
static bool feed(client *c) {
  json_t *events = NULL;
  uint64_t last = 0, dropped = 0;
  if (mn_journal_read(c->ctl->app->journal, c->after, FOLLOW_BATCH, &events, &last, &dropped) < 0)
    return true; /* out of memory: try again next tick */
  size_t i;
  json_t *ev;
  json_array_foreach(events, i, ev) {
    json_t *line = json_pack("{s:b, s:O}", "ok", 1, "event", ev);
    send_json(c, line);
    json_decref(line);
    c->after = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
  }
  json_decref(events);
  if (queued(c) > FOLLOW_MAX) {
    client_free(c); /* it stopped reading: do not buffer for it forever */
    return false;
  }
  return true;
}

static void on_follow_tick(evutil_socket_t fd, short what, void *ud) {
  (void)fd;
  (void)what;
  struct mn_control *ctl = ud;
  uint64_t last = mn_journal_last_seq(ctl->app->journal);
  bool fed = false;
  for (client *c = ctl->head, *next; c != NULL; c = next) {
    next = c->next;
    if (c->follow && !c->closing && c->after < last) {
      feed(c);
      fed = true;
    }
  }
  if (fed)
    enforce_budget(ctl, NULL);
}

/* Descriptors in use now (/proc/self/fd), or a guess without /proc. */
static long fds_in_use(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return 64;
  long n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* The client cap: below the descriptor limit, with room for the rest of the
 * node, and never more than MAX_CLIENTS. */
static size_t client_cap(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
    return MAX_CLIENTS;
  long room = (long)rl.rlim_cur - fds_in_use() - FD_RESERVE;
  if (room < 1)
    return 1;
  return room < MAX_CLIENTS ? (size_t)room : MAX_CLIENTS;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* Creates the socket's directory (0700) if it is missing; one level only,
 * so a typo does not grow a tree. A directory we did not create must be a
 * real directory owned by us or root and not writable by others: in a shared
 * place like /tmp, someone else's directory could hand our socket to them. */
static int ensure_dir(const char *path) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir)
    return 0;
  *slash = '\0';
  if (mkdir(dir, 0700) == 0)
    return 0;
  if (errno != EEXIST)
    return -errno;
  struct stat st;
  if (lstat(dir, &st) < 0)
    return -errno;
  bool sticky_shared = (st.st_mode & S_ISVTX) != 0; /* /tmp itself is fine */
  if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
      ((st.st_mode & 022) != 0 && !sticky_shared))
    return -EPERM;
  return 0;
}

/* A socket file already there: in use by a live node (-EADDRINUSE), or
 * stale (removed). */
static int clear_stale(const struct sockaddr_un *sun) {
  struct stat st;
  if (lstat(sun->sun_path, &st) < 0)
    return 0;
  if (!S_ISSOCK(st.st_mode))
    return -EEXIST;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
  int err = errno;
  close(fd);
  if (rc == 0)
    return -EADDRINUSE;
  if (err != ECONNREFUSED && err != ENOENT)
    return -err;
  return unlink(sun->sun_path) == 0 || errno == ENOENT ? 0 : -errno;
}

static int bind_socket(const char *path, int *fd_out) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun.sun_path)
    return -ENAMETOOLONG;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int rc = ensure_dir(path);
  if (rc == 0)
    rc = clear_stale(&sun);
  if (rc < 0)
    return rc;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  /* The socket file must never exist with looser permissions, even briefly. */
  mode_t old = umask(0177);
  rc = bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ? -errno : 0;
  umask(old);
  if (rc == 0 && chmod(path, 0600) < 0)
    rc = -errno;
  if (rc == 0 && listen(fd, 128) < 0)
    rc = -errno;
  if (rc < 0) {
    close(fd);
    return rc;
  }
  *fd_out = fd;
  return 0;
}

int mn_control_open(mn_app *app, const char *path, struct event_base *base,
                    struct mn_control **out) {
  int fd = -1;
  int rc = bind_socket(path, &fd);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "control socket unavailable path=%s err=%s%s", path,
            strerror(-rc), rc == -EADDRINUSE ? " (another meshrt-node is running there)" : "");
    return rc;
  }
  struct mn_control *ctl = calloc(1, sizeof *ctl);
  if (ctl == NULL) {
    close(fd);
    unlink(path);
    return -ENOMEM;
  }
  ctl->app = app;
  ctl->base = base;
  snprintf(ctl->path, sizeof ctl->path, "%s", path);
  ctl->listener = evconnlistener_new(base, on_accept, ctl, LEV_OPT_CLOSE_ON_FREE, 0, fd);
  ctl->follow_timer = event_new(base, -1, EV_PERSIST, on_follow_tick, ctl);
  struct timeval tv = {0, FOLLOW_PERIOD_MS * 1000};
  if (ctl->listener == NULL ||
      mn_accept_guard_new(base, ctl->listener, "control socket", &ctl->guard) < 0 ||
      ctl->follow_timer == NULL || event_add(ctl->follow_timer, &tv) < 0) {
    if (ctl->listener == NULL)
      close(fd);
    mn_control_close(ctl);
    return -ENOMEM;
  }
  mn_accept_guard_set_cap(ctl->guard, client_cap());
  mrt_log(MRT_LOG_DEBUG, MN_LOG, "control socket serving path=%s max_clients=%zu", path,
          mn_accept_guard_cap(ctl->guard));
  *out = ctl;
  return 0;
}

void mn_control_close(struct mn_control *ctl) {
  if (ctl == NULL)
    return;
  while (ctl->head != NULL)
    client_free(ctl->head);
  mn_accept_guard_free(ctl->guard);
  if (ctl->listener != NULL)
    evconnlistener_free(ctl->listener);
  if (ctl->follow_timer != NULL)
    event_free(ctl->follow_timer);
  unlink(ctl->path);
  free(ctl);
}
