/* SPDX-License-Identifier: MIT */
/* Tests: the control socket under abuse, against the demo node run with a
 * descriptor limit of its own (as systemd's default soft limit of 1024):
 *
 *   - 1,100 control connections under a limit of 1,024: the node caps its
 *     clients below the limit (idle ones make room for new ones), keeps
 *     answering, does not spin, and logs a bounded number of lines;
 *   - descriptors exhausted by other connections (metrics clients, under a
 *     limit too low for their cap) until accept() fails with EMFILE:
 *     accepting pauses instead of spinning (a few log lines, not millions),
 *     and resumes once descriptors are free;
 *   - more metrics connections than their cap: the extra ones are refused
 *     and closed, and the node serves metrics again once they are gone;
 *   - clients that pipeline requests and never read the replies: the node
 *     stops reading them, bounds what it buffers for all of them together
 *     (peak RSS), and keeps answering others;
 *   - many clients that each send most of a maximal request and never end
 *     the line: what the node buffers for all of them together is bounded
 *     (peak RSS; the clients holding the most are disconnected), and a new
 *     client's status is answered.
 *
 * "Does not spin" is measured as the node's CPU time (utime + stime from
 * /proc/PID/stat) over a 3 s window, which must stay under half a core. A
 * node spinning on accept() uses a whole core; a healthy one a few percent.
 * The bound cannot fail on an overloaded machine: contention only lowers
 * the CPU a process gets, never raises it.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>

#include "test-node-proc.h"

#define FLOOD 1100

/* Starts meshrt-node (demo, manual monitor) with RLIMIT_NOFILE = nofile. */
static bool start_limited(node_proc *n, rlim_t nofile, const char *metrics) {
  in_dir("control.sock", n->sock, sizeof n->sock);
  in_dir("node.log", n->log, sizeof n->log);
  n->pid = fork();
  if (n->pid < 0)
    return false;
  if (n->pid == 0) {
    struct rlimit rl = {nofile, nofile};
    int log = open(n->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDWR);
    if (log < 0 || null < 0 || setrlimit(RLIMIT_NOFILE, &rl) < 0)
      _exit(127);
    dup2(null, 0);
    dup2(null, 1);
    dup2(log, 2);
    /* Under AddressSanitizer (the asan test setup), freed memory waits in a
     * quarantine of 256 MB by default: keep it small, so the node's peak RSS
     * is about what it holds, not what it freed. */
    const char *asan = getenv("ASAN_OPTIONS");
    if (asan != NULL) {
      char opts[512];
      snprintf(opts, sizeof opts, "%s:quarantine_size_mb=4", asan);
      setenv("ASAN_OPTIONS", opts, 1);
    }
    if (metrics != NULL)
      execl(node_bin, node_bin, "--control-socket", n->sock, "--network-monitor", "manual",
            "--metrics", metrics, (char *)NULL);
    else
      execl(node_bin, node_bin, "--control-socket", n->sock, "--network-monitor", "manual",
            "--no-metrics", (char *)NULL);
    _exit(127);
  }
  live_add(n->pid);
  json_t *s = node_wait_status(n, status_up, 10000);
  json_decref(s);
  return s != NULL;
}

/* utime + stime of pid in clock ticks. */
static uint64_t cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f != NULL)
    fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return 0;
  return ut + st;
}

/* Share of one core the node used over ms milliseconds from now. */
static double cpu_share(pid_t pid, int ms) {
  uint64_t t0 = cpu_ticks(pid), w0 = mono_ms();
  sleep_ms(ms);
  uint64_t t1 = cpu_ticks(pid), w1 = mono_ms();
  double hz = (double)sysconf(_SC_CLK_TCK);
  return (double)(t1 - t0) / hz / ((double)(w1 - w0) / 1000.0);
}

/* A field of /proc/PID/status in kB (VmRSS, VmHWM). */
static long status_kb(pid_t pid, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
      kb = strtol(line + strlen(key) + 1, NULL, 10);
  if (f != NULL)
    fclose(f);
  return kb;
}

static long open_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  long n = 0;
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return n;
}

static long log_lines(const node_proc *n) {
  char *log = file_read(n->log);
  long lines = 0;
  for (const char *p = log; *p; p++)
    lines += *p == '\n';
  free(log);
  return lines;
}

/* A non-blocking connect to the control socket, retried while its backlog
 * is full (EAGAIN) until deadline; -1 if it never got in. */
static int connect_until(const char *path, uint64_t deadline) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
      return -1;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
      return fd;
    int err = errno;
    close(fd);
    if (err != EAGAIN || mono_ms() >= deadline)
      return -1;
    sleep_ms(5);
  }
}

/* A status request on a fresh connection is answered (the reply: ok, or a
 * "busy" refusal does not count). */
static bool answers_status(const char *sock) {
  int fd = connect_until(sock, mono_ms() + 10000);
  if (fd < 0)
    return false;
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  json_t *r = request(fd, "{\"cmd\":\"status\",\"peers\":0}");
  bool ok = r != NULL && json_is_true(json_object_get(r, "ok"));
  json_decref(r);
  close(fd);
  return ok;
}

static int setup(void **state) {
  proc_setup(state);
  /* The test itself holds more than a thousand descriptors. */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
  setrlimit(RLIMIT_NOFILE, &rl);
  return 0;
}

static void flood_of_connections_under_the_descriptor_limit(void **state) {
  (void)state;
  node_proc n;
  if (!start_limited(&n, 1024, NULL)) {
    dump_log(&n);
    fail_msg("the node did not start");
  }
  static int fds[FLOOD];
  uint64_t deadline = mono_ms() + 20000;
  int connected = 0;
  for (int i = 0; i < FLOOD; i++)
    connected += (fds[i] = connect_until(n.sock, deadline)) >= 0;
  print_message("connected %d of %d; node descriptors %ld\n", connected, FLOOD, open_fds(n.pid));
  assert_true(connected > 1024 - 128); /* at least everything up to the cap got in */
  assert_true(answers_status(n.sock));
  double share = cpu_share(n.pid, 3000);
  print_message("node CPU over 3 s with %d connections open: %.1f%% of a core\n", connected,
                share * 100);
  assert_true(share < 0.5);
  assert_true(answers_status(n.sock));
  assert_true(open_fds(n.pid) < 1024);
  for (int i = 0; i < FLOOD; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  assert_true(answers_status(n.sock));
  long lines = log_lines(&n);
  print_message("node log: %ld lines\n", lines);
  assert_true(lines < 200);
  int rc = node_stop(&n, SIGTERM, 5000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
}

/* The metrics port from the status ("http://127.0.0.1:PORT/metrics"). */
static uint16_t metrics_port(const char *sock) {
  json_t *s = ctl_json(sock, NULL, "status", NULL);
  char host[64];
  int port = 0;
  if (!status_metrics_addr(s, host, &port))
    port = 0;
  json_decref(s);
  return (uint16_t)port;
}

/* A TCP connection to loopback, given 200 ms to complete. One at a time:
 * a burst would overflow the listen backlog, and with SYN cookies a client
 * can then believe itself connected while the node never sees it. */
static int tcp_connect(uint16_t port) {
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&in, sizeof in) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  struct pollfd p = {fd, POLLOUT, 0};
  poll(&p, 1, 200);
  return fd;
}

static bool log_has(const node_proc *n, const char *a, const char *b) {
  char *log = file_read(n->log);
  bool found = strstr(log, a) != NULL || strstr(log, b) != NULL;
  free(log);
  return found;
}

/* The metrics endpoint takes at most 32 connections: under a limit of 48
 * descriptors (the node uses about 27 of them itself) its clients run the
 * node out of descriptors before they reach that cap. */
static void exhausted_descriptors_pause_accepting(void **state) {
  (void)state;
  enum { LIMIT = 48, METRICS_CLIENTS = 64, CONTROL_CLIENTS = 50 };
  node_proc n;
  if (!start_limited(&n, LIMIT, "127.0.0.1:0")) {
    dump_log(&n);
    fail_msg("the node did not start");
  }
  uint16_t port = metrics_port(n.sock);
  assert_true(port != 0);
  /* Metrics clients that send nothing: the HTTP server accepts them until
   * the node has no descriptor left. */
  static int mfds[METRICS_CLIENTS], cfds[CONTROL_CLIENTS];
  for (int i = 0; i < METRICS_CLIENTS; i++)
    mfds[i] = -1;
  bool exhausted = false;
  for (int i = 0; i < METRICS_CLIENTS && !exhausted; i++) {
    mfds[i] = tcp_connect(port);
    /* The old node's libevent says "accept()"; ours "cannot accept". */
    if (i % 8 == 7)
      exhausted = log_has(&n, "cannot accept connections", "accept()");
  }
  for (int i = 0; i < 100 && !exhausted; i++) {
    sleep_ms(100);
    exhausted = log_has(&n, "cannot accept connections", "accept()");
  }
  print_message("node descriptors: %ld of %d\n", open_fds(n.pid), LIMIT);
  assert_true(exhausted);
  /* Control clients now find accept() failing with EMFILE. */
  uint64_t deadline = mono_ms() + 5000;
  for (int i = 0; i < CONTROL_CLIENTS; i++)
    cfds[i] = connect_until(n.sock, deadline);
  double share = cpu_share(n.pid, 3000);
  long lines = log_lines(&n);
  print_message("node CPU over 3 s without descriptors: %.1f%% of a core; log: %ld lines\n",
                share * 100, lines);
  assert_true(share < 0.5);
  assert_true(lines < 100);
  /* Descriptors free again: the node accepts and answers. */
  for (int i = 0; i < METRICS_CLIENTS; i++)
    if (mfds[i] >= 0)
      close(mfds[i]);
  for (int i = 0; i < CONTROL_CLIENTS; i++)
    if (cfds[i] >= 0)
      close(cfds[i]);
  bool answered = false;
  for (int i = 0; i < 20 && !answered; i++)
    answered = answers_status(n.sock);
  assert_true(answered);
  int rc = node_stop(&n, SIGTERM, 5000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
}

/* True once the node closed fd (EOF, or a 503 then EOF), before `end`. */
static bool closed_by_node(int fd, uint64_t end) {
  char buf[256];
  while (mono_ms() < end) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN))
        return true;
    }
  }
  return false;
}

static bool scrape_ok(uint16_t port) {
  char *resp = http_request("127.0.0.1", port, "GET", "/metrics");
  int status = 0;
  bool ok = resp != NULL && sscanf(resp, "HTTP/1.%*d %d", &status) == 1 && status == 200;
  free(resp);
  return ok;
}

/* More metrics connections than the cap (32): the node keeps 32, answers
 * each of the others 503 and closes it; once they are gone it serves
 * metrics again, and a place is given back after every scrape. */
static void metrics_connections_are_capped(void **state) {
  (void)state;
  enum { CAP = 32, EXTRA = 16 };
  node_proc n;
  if (!start_limited(&n, 1024, "127.0.0.1:0")) {
    dump_log(&n);
    fail_msg("the node did not start");
  }
  uint16_t port = metrics_port(n.sock);
  assert_true(port != 0);
  long base_fds = open_fds(n.pid);
  static int fds[CAP + EXTRA];
  for (int i = 0; i < CAP + EXTRA; i++)
    assert_true((fds[i] = tcp_connect(port)) >= 0);
  /* The node accepts in order: the first CAP hold places. */
  int closed = 0;
  uint64_t deadline = mono_ms() + NP_WAIT_MS;
  for (int i = CAP; i < CAP + EXTRA; i++)
    closed += closed_by_node(fds[i], deadline);
  print_message("metrics connections: %d extra of %d closed\n", closed, CAP + EXTRA);
  assert_int_equal(closed, EXTRA);
  /* A refused descriptor is closed once libevent has finalized it. */
  long held_fds = open_fds(n.pid);
  for (uint64_t end = mono_ms() + NP_WAIT_MS; held_fds > base_fds + CAP + 2 && mono_ms() < end;) {
    sleep_ms(20);
    held_fds = open_fds(n.pid);
  }
  print_message("node descriptors: %ld, %ld before\n", held_fds, base_fds);
  assert_true(held_fds <= base_fds + CAP + 2);
  assert_true(answers_status(n.sock)); /* the control socket is not affected */
  for (int i = 0; i < CAP + EXTRA; i++)
    close(fds[i]);
  /* The held connections' places come back once the node sees them close. */
  bool served = false;
  for (uint64_t end = mono_ms() + NP_WAIT_MS; !served && mono_ms() < end;)
    if (!(served = scrape_ok(port)))
      sleep_ms(50);
  assert_true(served);
  for (int i = 0; i < 2 * CAP; i++)
    assert_true(scrape_ok(port));
  int rc = node_stop(&n, SIGTERM, 5000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
}

/* Sends what a non-blocking fd takes of data within 2 s (the node may stop
 * reading it, or close it, before all of it is in). */
static void send_for_a_while(int fd, const char *data, size_t len) {
  size_t off = 0;
  uint64_t until = mono_ms() + 2000;
  while (off < len && mono_ms() < until) {
    ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (w > 0)
      off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR)
      break; /* disconnected */
    else
      sleep_ms(2);
  }
}

/* Clients that pipeline status requests and never read: the node buffers a
 * bounded amount for all of them together (16 MiB of replies) and keeps
 * serving others. Without the bound each of them could pin 4 MiB. */
static void clients_that_never_read(void **state) {
  (void)state;
  enum { CLIENTS = 60, REQUESTS = 2000 };
  node_proc n;
  if (!start_limited(&n, 1024, NULL)) {
    dump_log(&n);
    fail_msg("the node did not start");
  }
  long base_kb = status_kb(n.pid, "VmHWM");
  static const char req[] = "{\"cmd\":\"status\"}\n";
  char *batch = malloc(REQUESTS * (sizeof req - 1));
  for (int i = 0; i < REQUESTS; i++)
    memcpy(batch + i * (sizeof req - 1), req, sizeof req - 1);
  static int fds[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    fds[i] = uconnect(n.sock);
    assert_true(fds[i] >= 0);
    /* Non-blocking: the node stops reading, the socket fills, we move on. */
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    send_for_a_while(fds[i], batch, REQUESTS * (sizeof req - 1));
  }
  free(batch);
  /* Let the node work through what it will serve: until its CPU rests. */
  for (int i = 0; i < 60 && cpu_share(n.pid, 500) > 0.05; i++) {
  }
  assert_true(answers_status(n.sock));
  long peak_kb = status_kb(n.pid, "VmHWM");
  print_message("node peak RSS: %ld kB before, %ld kB with %d clients not reading\n", base_kb,
                peak_kb, CLIENTS);
  assert_true(peak_kb - base_kb < 64 * 1024);
  for (int i = 0; i < CLIENTS; i++)
    close(fds[i]);
  assert_true(answers_status(n.sock));
  int rc = node_stop(&n, SIGTERM, 5000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
}

/* Clients that each send 60,000 bytes of a request (the limit of one line
 * is 64 KiB) and never the newline: each is within its own bound, but 1,000
 * of them would pin 60 MB. The node keeps all of them together under 8 MiB
 * by disconnecting the ones holding the most, and answers a new client. The
 * peak RSS may grow by 40 MiB: the 8 MiB, the clients' buffers and what
 * AddressSanitizer adds (its quarantine, redzones and shadow), in the asan
 * setup +27 MB; without the bound it grows by 60 MB and more. */
static void clients_with_partial_lines(void **state) {
  (void)state;
  enum { CLIENTS = 1000, PARTIAL = 60000 };
  node_proc n;
  if (!start_limited(&n, 4096, NULL)) {
    dump_log(&n);
    fail_msg("the node did not start");
  }
  long base_kb = status_kb(n.pid, "VmHWM");
  char *partial = malloc(PARTIAL);
  memset(partial, ' ', PARTIAL);
  static const char head[] = "{\"cmd\":\"status\",\"pad\":\"";
  memcpy(partial, head, sizeof head - 1);
  static int fds[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    fds[i] = uconnect(n.sock);
    assert_true(fds[i] >= 0);
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    send_for_a_while(fds[i], partial, PARTIAL);
  }
  free(partial);
  for (int i = 0; i < 60 && cpu_share(n.pid, 500) > 0.05; i++) {
  }
  assert_true(answers_status(n.sock));
  long peak_kb = status_kb(n.pid, "VmHWM");
  int dropped = 0;
  for (int i = 0; i < CLIENTS; i++) {
    char ch;
    ssize_t r = recv(fds[i], &ch, 1, MSG_DONTWAIT);
    dropped += r == 0 || (r < 0 && errno != EAGAIN); /* EOF, or ECONNRESET: input unread */
  }
  print_message("node peak RSS: %ld kB before, %ld kB with %d clients holding partial lines; "
                "%d disconnected\n",
                base_kb, peak_kb, CLIENTS, dropped);
  assert_true(peak_kb - base_kb < 40 * 1024);
  assert_true(dropped > 0);
  for (int i = 0; i < CLIENTS; i++)
    close(fds[i]);
  assert_true(answers_status(n.sock));
  int rc = node_stop(&n, SIGTERM, 5000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
}

int main(int argc, char **argv) {
  /* valgrind keeps descriptors of its own below the limit these tests set and
   * replaces RSS with its own; the node they test runs outside it anyway. */
  if (getenv("MESHRT_TEST_VALGRIND") != NULL) {
    fprintf(stderr, "skipped under valgrind (descriptor limits and RSS are valgrind's)\n");
    return 77;
  }
  take_binaries(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(flood_of_connections_under_the_descriptor_limit, setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(exhausted_descriptors_pause_accepting, setup, proc_teardown),
      cmocka_unit_test_setup_teardown(metrics_connections_are_capped, setup, proc_teardown),
      cmocka_unit_test_setup_teardown(clients_that_never_read, setup, proc_teardown),
      cmocka_unit_test_setup_teardown(clients_with_partial_lines, setup, proc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
