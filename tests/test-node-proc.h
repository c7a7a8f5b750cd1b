/* SPDX-License-Identifier: MIT */
/* Shared helpers of the tests that run the built meshrt-node and meshrt-ctl
 * (test-node-demo.c, test-node-config.c, test-node-control.c,
 * test-node-metrics.c, test-netns-node-events.c, ...): the binaries' paths
 * come from the test's arguments (meson passes them), processes are spawned
 * with their output in files under a private temporary directory (no pipes
 * to fill up), meshrt-ctl's JSON output is parsed, a raw control-socket
 * client speaks the protocol byte by byte, and the metrics endpoint is
 * fetched over HTTP/1.0. Every wait has a deadline, so a
 * broken node fails a test instead of hanging it. Loopback and temporary
 * paths only; no fixed ports.
 */
#ifndef MESHRT_TEST_NODE_PROC_H
#define MESHRT_TEST_NODE_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#define NP __attribute__((unused)) static

/* The deadline of every wait for something the node must do (answer, reach a
 * state, exit). A wait returns as soon as its condition holds, so the deadline
 * costs nothing when the node works; it is long so that only a node that never
 * does it fails, not one on an overloaded machine (tools/dev.sh stress-test)
 * or under valgrind. How fast the node is belongs in meshrt-bench. */
#define NP_WAIT_MS 30000

extern char **environ;

/* Set by main() from argv. */
static const char *node_bin, *ctl_bin;
static char test_dir[64];

NP uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

NP void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* ---- files and the test directory --------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

NP void dir_remove(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh private directory for one test (mode 0700). */
NP const char *dir_make(void) {
  snprintf(test_dir, sizeof test_dir, "/tmp/meshrt-test-XXXXXX");
  if (mkdtemp(test_dir) == NULL) {
    perror("mkdtemp");
    exit(1);
  }
  return test_dir;
}

NP const char *in_dir(const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s", test_dir, name);
  return buf;
}

NP char *file_read(const char *path) {
  FILE *f = fopen(path, "r");
  size_t cap = 4096, len = 0;
  char *text = malloc(cap);
  while (f != NULL && text != NULL) {
    if (len + 1 == cap) {
      char *grown = realloc(text, cap *= 2);
      if (grown == NULL)
        break;
      text = grown;
    }
    size_t n = fread(text + len, 1, cap - len - 1, f);
    if (n == 0)
      break;
    len += n;
  }
  if (f != NULL)
    fclose(f);
  if (text != NULL)
    text[len] = '\0';
  return text != NULL ? text : strdup("");
}

NP void file_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
}

/* ---- processes ------------------------------------------------------------------------ */

/* Starts argv[0] with stdout and stderr in the given files (NULL: /dev/null). */
NP pid_t spawn(char *const argv[], const char *out, const char *err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "spawn %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  return pid;
}

/* Waits up to timeout_ms for pid; returns its exit code, 128+signal if it
 * was killed, or -1 on timeout (the process is then killed and reaped). */
NP int wait_exit(pid_t pid, int timeout_ms) {
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (mono_ms() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    sleep_ms(5);
  }
}

/* Runs argv to completion (timeout_ms); *out gets stdout (caller frees). */
NP int run_capture(char *const argv[], int timeout_ms, char **out, char **err) {
  char o[300], e[300];
  static unsigned n;
  snprintf(o, sizeof o, "%s/run-%u.out", test_dir, n);
  snprintf(e, sizeof e, "%s/run-%u.err", test_dir, n++);
  pid_t pid = spawn(argv, o, e);
  int rc = pid > 0 ? wait_exit(pid, timeout_ms) : -1;
  if (out != NULL)
    *out = file_read(o);
  if (err != NULL)
    *err = file_read(e);
  unlink(o);
  unlink(e);
  return rc;
}

/* meshrt-ctl --socket SOCK --json ARGS...: the parsed output (NULL on a
 * non-zero exit or bad JSON; *exit_code gets the exit code if not NULL). */
NP json_t *ctl_json(const char *sock, int *exit_code, const char *cmd, const char *arg) {
  char *argv[] = {(char *)ctl_bin, "--socket",  (char *)sock, "--json",
                  (char *)cmd,     (char *)arg, NULL};
  char *out = NULL;
  int rc = run_capture(argv, NP_WAIT_MS, &out, NULL);
  if (exit_code != NULL)
    *exit_code = rc;
  json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
  free(out);
  return j;
}

/* meshrt-ctl --socket SOCK ARGS... (human output in *out). Returns the exit code. */
NP int ctl_text(const char *sock, char **out, char **err, const char *cmd, const char *arg) {
  char *argv[] = {(char *)ctl_bin, "--socket", (char *)sock, (char *)cmd, (char *)arg, NULL};
  return run_capture(argv, NP_WAIT_MS, out, err);
}

/* ---- a raw control-socket client ---------------------------------------------------------- */

NP int uconnect(const char *path) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun.sun_path)
    return -1;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

NP bool send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

/* Reads one line (up to 1 MiB) within timeout_ms; NULL on EOF or timeout.
 * Reads byte by byte: slow, simple, and it never consumes the next line. */
NP char *recv_line(int fd, int timeout_ms) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  while (buf != NULL) {
    int left = (int)(end > mono_ms() ? end - mono_ms() : 0);
    struct pollfd p = {fd, POLLIN, 0};
    char ch;
    if (poll(&p, 1, left) <= 0 || recv(fd, &ch, 1, 0) != 1)
      break;
    if (ch == '\n') {
      buf[len] = '\0';
      return buf;
    }
    if (len + 2 > cap && (len + 2 > (1u << 20) || (buf = realloc(buf, cap *= 2)) == NULL))
      break;
    buf[len++] = ch;
  }
  free(buf);
  return NULL;
}

/* Sends one request line and parses the reply line (NULL on no reply). */
NP json_t *request(int fd, const char *line) {
  if (!send_all(fd, line, strlen(line)) || !send_all(fd, "\n", 1))
    return NULL;
  char *reply = recv_line(fd, NP_WAIT_MS);
  json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;
  free(reply);
  return j;
}

NP const char *error_code(const json_t *reply) {
  return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* ---- the metrics endpoint -------------------------------------------------------------------- */

/* One HTTP/1.0 request on a fresh connection to host (IPv4):port; returns
 * the whole response (caller frees), or NULL if it could not connect. */
NP char *http_request(const char *host, int port, const char *method, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sin.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  char req[256];
  snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: %s\r\n\r\n", method, path, host);
  send_all(fd, req, strlen(req));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 == cap)
      buf = realloc(buf, cap *= 2);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, NP_WAIT_MS) <= 0)
      break;
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(fd);
  return buf;
}

/* The metrics endpoint a status names ("http://HOST:PORT/metrics"): true
 * and host (64 bytes) and *port set if it names one. */
NP bool status_metrics_addr(const json_t *status, char host[64], int *port) {
  const char *url = json_string_value(json_object_get(status, "metrics"));
  return url != NULL && sscanf(url, "http://%63[^:]:%d", host, port) == 2;
}

/* ---- a node under test ------------------------------------------------------------------------
 */

typedef struct node_proc {
  pid_t pid;
  char sock[200];
  char log[200];
} node_proc;

/* Nodes started and not yet stopped: a failed test leaves none behind. */
static pid_t live_pids[16];

static void live_add(pid_t pid) {
  for (size_t i = 0; i < sizeof live_pids / sizeof *live_pids; i++)
    if (live_pids[i] == 0) {
      live_pids[i] = pid;
      return;
    }
}

static void live_remove(pid_t pid) {
  for (size_t i = 0; i < sizeof live_pids / sizeof *live_pids; i++)
    if (live_pids[i] == pid)
      live_pids[i] = 0;
}

/* Kills (SIGKILL) and reaps every node a test left running. For teardowns. */
NP void reap_all(void) {
  for (size_t i = 0; i < sizeof live_pids / sizeof *live_pids; i++)
    if (live_pids[i] > 0) {
      kill(live_pids[i], SIGKILL);
      waitpid(live_pids[i], NULL, 0);
      live_pids[i] = 0;
    }
}

/* Starts meshrt-node with the control socket in the test dir and extra
 * arguments (NULL-terminated); its stderr goes to node.log. */
NP bool node_start(node_proc *n, const char *const *extra) {
  char *argv[32];
  int i = 0;
  in_dir("control.sock", n->sock, sizeof n->sock);
  in_dir("node.log", n->log, sizeof n->log);
  argv[i++] = (char *)node_bin;
  argv[i++] = "--control-socket";
  argv[i++] = n->sock;
  for (; extra != NULL && *extra != NULL && i < 30; extra++)
    argv[i++] = (char *)*extra;
  argv[i] = NULL;
  n->pid = spawn(argv, NULL, n->log);
  if (n->pid > 0)
    live_add(n->pid);
  return n->pid > 0;
}

/* Polls `status` until pred(result) holds (or timeout); returns the last
 * result that satisfied it (caller decrefs) or NULL. */
NP json_t *node_wait_status(node_proc *n, bool (*pred)(const json_t *), int timeout_ms) {
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  while (mono_ms() < end) {
    if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
      live_remove(n->pid);
      n->pid = -1;
      return NULL; /* it died */
    }
    json_t *s = ctl_json(n->sock, NULL, "status", NULL);
    if (s != NULL && pred(s))
      return s;
    json_decref(s);
    sleep_ms(50);
  }
  return NULL;
}

/* SIGTERM (or another signal) and the exit code within timeout_ms. */
NP int node_stop(node_proc *n, int sig, int timeout_ms) {
  if (n->pid <= 0)
    return -2;
  kill(n->pid, sig);
  int rc = wait_exit(n->pid, timeout_ms);
  live_remove(n->pid);
  n->pid = -1;
  return rc;
}

NP void dump_log(const node_proc *n) {
  char *log = file_read(n->log);
  fprintf(stderr, "---- node log ----\n%s---- end ----\n", log);
  free(log);
}

NP bool status_ready(const json_t *s) {
  const json_t *home = json_object_get(s, "home_region");
  const json_t *peer = json_array_get(json_object_get(s, "peers"), 0);
  return json_integer_value(json_object_get(home, "id")) != 0 &&
         json_is_true(json_object_get(peer, "has_path"));
}

NP bool status_up(const json_t *s) {
  return json_is_object(s);
}

/* cmocka setup and teardown of a test that runs nodes: a fresh test
 * directory before; after, every node the test left running is killed and
 * the directory removed. */
NP int proc_setup(void **state) {
  (void)state;
  dir_make();
  return 0;
}

NP int proc_teardown(void **state) {
  (void)state;
  reap_all();
  dir_remove(test_dir);
  return 0;
}

/* main(): takes the binaries' paths from argv. */
NP void take_binaries(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MESHRT-NODE MESHRT-CTL\n", argv[0]);
    exit(2);
  }
  node_bin = argv[1];
  ctl_bin = argv[2];
}

#endif
