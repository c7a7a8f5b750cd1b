/* SPDX-License-Identifier: MIT */
/* meshrt-ctl — talks to a running meshrt-node over its control socket.
 *
 *   meshrt-ctl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS]
 *   status [--peers all|N] | children | rebind | measure | pause CHILD | resume CHILD |
 *   restart CHILD | events [--follow] [--after N] [--limit N] |
 *   link-change [FLAGS] [--interface NAME [--address ADDR[/LEN]]]
 *
 * One request line of JSON, one reply line (events --follow then keeps
 * reading event lines until the node goes away or the user interrupts).
 * Without --socket it uses the same default path as meshrt-node (util.c).
 * Output: tables for people, or with --json the reply's "result" (events
 * --follow --json: one event object per line). Exit codes: 0 success, 1 the
 * node refused or could not be reached, 2 usage. Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"

#define CTL_VERSION "0.1.0"

/* status without --peers: people get a summary and this many rows, scripts
 * (--json) every peer. */
#define PEERS_SHOWN_DEFAULT 20
#define PEERS_ALL (-1)
#define PEERS_UNSET (-2)

typedef struct opts {
  const char *socket;
  bool json, follow;
  long long after, limit;
  long long peers; /* status: rows asked for, PEERS_ALL, or PEERS_UNSET */
  int timeout_ms;
  const char *cmd;
  const char *arg;
  const char *interface, *address; /* link-change: where it happened */
} opts;

/* The longest reply line we accept. A status reply takes about 260 bytes
 * per peer (2.6 MB for 10,000 peers); past this the node is not one we
 * understand, and buffering on would only let it grow our memory. */
#define REPLY_MAX (64u << 20)
#define READ_CHUNK (64u << 10)

/* The connection and what was read from it but not yet returned as lines;
 * the buffer grows with the longest line seen (a reply has no fixed size). */
typedef struct conn {
  int fd;
  char *buf;
  size_t len, cap;
} conn;

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: meshrt-ctl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS]\n"
      "commands:\n"
      "  status [--peers all|N] endpoints, peers and paths, regions, home region, link monitor;\n"
      "                         a peer summary and the first N peers (20; --json: all)\n"
      "  children               the node supervisor's children\n"
      "  rebind                 rebind the node's UDP socket now\n"
      "  measure                re-measure DERP region latency and show it\n"
      "  pause|resume|restart CHILD   operator control of a child\n"
      "  events [--follow] [--after N] [--limit N]   the node's event journal\n"
      "  link-change [FLAGS] [--interface NAME [--address ADDR[/LEN]]]\n"
      "                         inject a link change (manual link monitor only)\n");
}

/* ---- connection ------------------------------------------------------------------------- */

static int ctl_connect(const char *path, conn *c) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun.sun_path)
    return -ENAMETOOLONG;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -errno;
  if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
    int err = -errno;
    close(c->fd);
    c->fd = -1;
    return err;
  }
  c->len = 0;
  return 0;
}

static int send_request(conn *c, json_t *req) {
  char *text = json_dumps(req, JSON_COMPACT);
  if (text == NULL)
    return -ENOMEM;
  size_t len = strlen(text);
  text[len] = '\n'; /* json_dumps' NUL becomes the line's end */
  size_t off = 0;
  int rc = 0;
  while (off < len + 1 && rc == 0) {
    ssize_t n = send(c->fd, text + off, len + 1 - off, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR)
      rc = -errno;
    else if (n > 0)
      off += (size_t)n;
  }
  free(text);
  return rc;
}

/* Room for at least READ_CHUNK more bytes (never past REPLY_MAX + 1, so a
 * line one byte too long is still seen as too long). */
static int conn_reserve(conn *c) {
  if (c->cap - c->len >= READ_CHUNK || c->cap > REPLY_MAX)
    return 0;
  size_t cap = c->cap ? c->cap : READ_CHUNK;
  while (cap - c->len < READ_CHUNK)
    cap *= 2;
  if (cap > REPLY_MAX + 1)
    cap = REPLY_MAX + 1;
  char *grown = realloc(c->buf, cap);
  if (grown == NULL)
    return -ENOMEM;
  c->buf = grown;
  c->cap = cap;
  return 0;
}

/* Reads one line (without '\n') into a new string; timeout_ms bounds each
 * wait for more bytes (< 0: wait forever), so a long reply that keeps
 * arriving is never cut off. Returns 0, -ETIMEDOUT, -ECONNRESET (closed),
 * -EMSGSIZE (longer than REPLY_MAX), -ENOMEM. */
static int read_line(conn *c, int timeout_ms, char **out) {
  size_t scanned = 0; /* no '\n' before this offset: a long line is scanned once */
  for (;;) {
    char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
    if (nl != NULL) {
      size_t n = (size_t)(nl - c->buf);
      *out = strndup(c->buf, n);
      memmove(c->buf, nl + 1, c->len - n - 1);
      c->len -= n + 1;
      return *out ? 0 : -ENOMEM;
    }
    scanned = c->len;
    if (c->len > REPLY_MAX)
      return -EMSGSIZE;
    int rc = conn_reserve(c);
    if (rc < 0)
      return rc;
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int p = poll(&pfd, 1, timeout_ms);
    if (p < 0 && errno == EINTR)
      continue;
    if (p == 0)
      return -ETIMEDOUT;
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -ECONNRESET;
    c->len += (size_t)r;
  }
}

/* Sends `req` (taken) and returns the reply's result, or NULL after
 * printing why (error reply, no reply). */
static json_t *call(conn *c, json_t *req, int timeout_ms) {
  int rc = send_request(c, req);
  json_decref(req);
  char *line = NULL;
  if (rc == 0)
    rc = read_line(c, timeout_ms, &line);
  if (rc == -EMSGSIZE) {
    fprintf(stderr,
            "meshrt-ctl: the node's reply is longer than %u MiB, the most meshrt-ctl "
            "reads; not a reply it understands\n",
            REPLY_MAX >> 20);
    return NULL;
  }
  if (rc < 0) {
    fprintf(stderr, "meshrt-ctl: no reply from the node: %s\n",
            rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
    return NULL;
  }
  json_error_t jerr;
  json_t *reply = json_loads(line, 0, &jerr);
  free(line);
  if (!json_is_object(reply)) {
    fprintf(stderr, "meshrt-ctl: the node's reply is not a JSON object\n");
    json_decref(reply);
    return NULL;
  }
  if (!json_is_true(json_object_get(reply, "ok"))) {
    const json_t *e = json_object_get(reply, "error");
    fprintf(stderr, "meshrt-ctl: %s: %s\n", ctl_str(e, "code", "error"),
            ctl_str(e, "message", "(no message)"));
    json_decref(reply);
    return NULL;
  }
  json_t *result = json_incref(json_object_get(reply, "result"));
  json_decref(reply);
  return result != NULL ? result : json_object();
}

static void print_json(const json_t *v, bool compact) {
  char *text = json_dumps(v, compact ? JSON_COMPACT : JSON_INDENT(2));
  if (text != NULL)
    printf("%s\n", text);
  free(text);
}

/* ---- commands ---------------------------------------------------------------------------- */

static uint64_t now_ms(void) {
  return mn_now_ns() / 1000000u;
}

/* measure: ask for a round, then wait for it to show up in status. */
static int cmd_measure(conn *c, const opts *o) {
  json_t *r = call(c, json_pack("{s:s}", "cmd", "measure"), o->timeout_ms);
  if (r == NULL)
    return 1;
  long long before = ctl_int(r, "rounds");
  json_decref(r);
  uint64_t deadline = now_ms() + (uint64_t)o->timeout_ms;
  while (now_ms() < deadline) {
    /* Only the regions are wanted: no peer rows, however many there are. */
    json_t *s = call(c, json_pack("{s:s, s:i}", "cmd", "status", "peers", 0), o->timeout_ms);
    if (s == NULL)
      return 1;
    if (ctl_int(s, "measurements") > before) {
      if (o->json) {
        json_t *m = json_pack("{s:O, s:O, s:O}", "measurements", json_object_get(s, "measurements"),
                              "regions", json_object_get(s, "regions"), "home_region",
                              json_object_get(s, "home_region"));
        print_json(m, false);
        json_decref(m);
      } else
        ctl_render_regions(s, stdout);
      json_decref(s);
      return 0;
    }
    json_decref(s);
    usleep(100 * 1000);
  }
  fprintf(stderr, "meshrt-ctl: no new measurement within %d ms\n", o->timeout_ms);
  return 1;
}

static int cmd_events(conn *c, const opts *o) {
  json_t *req = json_pack("{s:s, s:I, s:I, s:b}", "cmd", "events", "after", (json_int_t)o->after,
                          "limit", (json_int_t)o->limit, "follow", o->follow);
  json_t *r = call(c, req, o->timeout_ms);
  if (r == NULL)
    return 1;
  const json_t *events = json_object_get(r, "events");
  if (o->json && !o->follow)
    print_json(r, false);
  else if (o->json) {
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev) {
      print_json(ev, true);
    }
  } else if (o->follow) {
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev) {
      ctl_render_event_line(ev, stdout);
    }
  } else {
    ctl_render_events(events, stdout);
  }
  json_decref(r);
  fflush(stdout);
  if (!o->follow)
    return 0;
  for (char *line = NULL; read_line(c, -1, &line) == 0; line = NULL) {
    json_t *msg = json_loads(line, 0, NULL);
    free(line);
    const json_t *ev = json_object_get(msg, "event");
    if (json_is_object(ev)) {
      if (o->json)
        print_json(ev, true);
      else
        ctl_render_event_line(ev, stdout);
      fflush(stdout);
    }
    json_decref(msg);
  }
  return 0; /* the node went away: following ends */
}

static int cmd_simple(conn *c, const opts *o) {
  json_t *req = json_pack("{s:s}", "cmd", o->cmd);
  bool child_cmd =
      !strcmp(o->cmd, "pause") || !strcmp(o->cmd, "resume") || !strcmp(o->cmd, "restart");
  if (child_cmd)
    json_object_set_new(req, "child", json_string(o->arg));
  if (!strcmp(o->cmd, "link-change") && o->arg != NULL)
    json_object_set_new(req, "flags", json_string(o->arg));
  long long peers = o->peers == PEERS_UNSET && !o->json ? PEERS_SHOWN_DEFAULT : o->peers;
  if (!strcmp(o->cmd, "status") && peers >= 0)
    json_object_set_new(req, "peers", json_integer((json_int_t)peers));
  if (o->interface != NULL)
    json_object_set_new(req, "interface", json_string(o->interface));
  if (o->address != NULL)
    json_object_set_new(req, "address", json_string(o->address));
  json_t *r = call(c, req, o->timeout_ms);
  if (r == NULL)
    return 1;
  if (o->json)
    print_json(r, false);
  else if (!strcmp(o->cmd, "status"))
    ctl_render_status(r, stdout);
  else if (!strcmp(o->cmd, "children"))
    ctl_render_children(r, stdout);
  else if (!strcmp(o->cmd, "rebind"))
    ctl_render_rebind(r, stdout);
  else if (child_cmd)
    ctl_render_outcome(r, stdout);
  else if (ctl_str(r, "summary", "")[0] != '\0')
    printf("link change injected: %s: %s\n", ctl_str(r, "flags", "-"), ctl_str(r, "summary", ""));
  else
    printf("link change injected: %s\n", ctl_str(r, "flags", "-"));
  json_decref(r);
  return 0;
}

/* ---- arguments ------------------------------------------------------------------------------ */

static int parse_number(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v < 0)
    return -1;
  *out = v;
  return 0;
}

/* The command and its argument: returns 0, or 2 (usage error, printed). */
static int check_command(opts *o, int argc, char **argv) {
  static const char *const plain[] = {"status", "children", "rebind", "measure", "events", NULL};
  static const char *const with_child[] = {"pause", "resume", "restart", NULL};
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  o->cmd = argv[optind++];
  o->arg = optind < argc ? argv[optind++] : NULL;
  bool extra = optind < argc, valid = false;
  if ((o->interface != NULL || o->address != NULL) && strcmp(o->cmd, "link-change") != 0) {
    fprintf(stderr, "meshrt-ctl: --interface and --address go with link-change only\n");
    return 2;
  }
  if (o->address != NULL && o->interface == NULL) {
    fprintf(stderr, "meshrt-ctl: --address needs --interface\n");
    return 2;
  }
  for (int i = 0; plain[i]; i++)
    valid = valid || (!strcmp(o->cmd, plain[i]) && o->arg == NULL);
  for (int i = 0; with_child[i]; i++)
    valid = valid || (!strcmp(o->cmd, with_child[i]) && o->arg != NULL && !extra);
  valid = valid || (!strcmp(o->cmd, "link-change") && !extra);
  if (valid && o->peers != PEERS_UNSET && strcmp(o->cmd, "status") != 0) {
    fprintf(stderr, "meshrt-ctl: --peers goes with status only\n");
    return 2;
  }
  if (valid)
    return 0;
  fprintf(stderr, "meshrt-ctl: %s: unknown command or wrong arguments\n", o->cmd);
  usage(stderr);
  return 2;
}

static int parse_args(int argc, char **argv, opts *o) {
  static const struct option lopts[] = {
      {"socket", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
      {"timeout", required_argument, NULL, 't'}, {"follow", no_argument, NULL, 'f'},
      {"after", required_argument, NULL, 'a'},   {"limit", required_argument, NULL, 'l'},
      {"peers", required_argument, NULL, 'p'},   {"interface", required_argument, NULL, 'i'},
      {"address", required_argument, NULL, 'A'}, {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
  int ch;
  long long v;
  while ((ch = getopt_long(argc, argv, "s:jt:fhV", lopts, NULL)) != -1) {
    switch (ch) {
    case 's': o->socket = optarg; break;
    case 'j': o->json = true; break;
    case 'f': o->follow = true; break;
    case 't':
      if (parse_number(optarg, &v) < 0 || v == 0 || v > 3600)
        return fprintf(stderr, "meshrt-ctl: --timeout: expected seconds, 1-3600\n"), 2;
      o->timeout_ms = (int)v * 1000;
      break;
    case 'a':
    case 'l':
      if (parse_number(optarg, ch == 'a' ? &o->after : &o->limit) < 0)
        return fprintf(stderr, "meshrt-ctl: --%s: expected a number\n",
                       ch == 'a' ? "after" : "limit"),
               2;
      break;
    case 'p':
      if (strcmp(optarg, "all") == 0)
        o->peers = PEERS_ALL;
      else if (parse_number(optarg, &o->peers) < 0)
        return fprintf(stderr, "meshrt-ctl: --peers: expected all or a number\n"), 2;
      break;
    case 'i': o->interface = optarg; break;
    case 'A': o->address = optarg; break;
    case 'h': usage(stdout); return 1;
    case 'V': printf("meshrt-ctl %s\n", CTL_VERSION); return 1;
    default: usage(stderr); return 2;
    }
  }
  return check_command(o, argc, argv);
}

int main(int argc, char **argv) {
  opts o = {.timeout_ms = 10000, .peers = PEERS_UNSET};
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (o.socket == NULL) {
    if (mn_default_control_path(path, sizeof path) < 0) {
      fprintf(stderr, "meshrt-ctl: the default control socket path is too long; use --socket\n");
      return 2;
    }
    o.socket = path;
  }
  signal(SIGPIPE, SIG_IGN);
  conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return 1;
  rc = ctl_connect(o.socket, c);
  if (rc < 0) {
    fprintf(stderr, "meshrt-ctl: cannot connect to %s: %s (is meshrt-node running?)\n", o.socket,
            strerror(-rc));
    free(c);
    return 1;
  }
  if (!strcmp(o.cmd, "measure"))
    rc = cmd_measure(c, &o);
  else if (!strcmp(o.cmd, "events"))
    rc = cmd_events(c, &o);
  else
    rc = cmd_simple(c, &o);
  close(c->fd);
  free(c->buf);
  free(c);
  return rc;
}
