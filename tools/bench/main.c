/* SPDX-License-Identifier: MIT */
/* meshrt-bench — the benchmark tool's command line, statistics and output.
 *
 * Each selected benchmark runs --runs times (every run on a fresh runtime) and
 * reports the median time per operation with the minimum and maximum, so one
 * noisy run cannot move the figure. Output is a readable table, or with
 * --json one JSON object per benchmark per line for scripts and CI.
 *
 * By default every benchmark runs in a child process of its own (fork), so
 * peak_rss_kb — getrusage's high-water mark — belongs to that benchmark alone
 * rather than to whatever ran before it, and no benchmark inherits another's
 * heap. --no-fork runs everything in this process (handy under a profiler).
 *
 * --matrix runs every selected benchmark at 1, 2 and (on a machine with 4 or
 * more CPUs) 4 executors, one executor count after the other for each
 * benchmark so that the numbers compared were taken close together, and
 * prints one table with the 2-executor / 1-executor ratio.
 *
 * Threads: main() is single-threaded; the runtimes a benchmark starts are
 * shut down before it returns, so fork() never copies a running executor.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"

#define EXIT_USAGE 2
#define MAX_RUNS 1000
#define MAX_THREADS 256 /* the runtime's executor limit */

typedef struct bench_def {
  const char *name;
  uint64_t default_ops;
  bench_fn run;
  const char *extra_key; /* JSON key of the extra metric, or NULL */
  const char *what;      /* one line for --list */
  /* Why the benchmark cannot run here (it is then skipped, not failed), or
   * NULL when it can. Optional. */
  const char *(*unavailable)(void);
} bench_def;

static const bench_def benches[] = {
    {"pingpong", 1000000, bench_pingpong, NULL,
     "2 actors, one message in flight; ns per round trip", NULL},
    {"counting", 1000000, bench_counting, NULL,
     "producer -> counter, chunked with credits; ns per message", NULL},
    {"threadring", 1000000, bench_threadring, NULL,
     "100 actors in a ring pass one token; ns per hop", NULL},
    {"fjcreate", 40000, bench_fjcreate, NULL,
     "spawn, one message, stop, until all are gone; ns per actor", NULL},
    {"ask", 1000000, bench_ask, NULL,
     "actor -> actor ask, continuation asks again; ns per round trip", NULL},
    {"ask_sync", 200000, bench_ask_sync, NULL,
     "host thread -> actor mrt_ask_sync; ns per round trip", NULL},
    {"xthread", 1000000, bench_xthread, NULL,
     "host thread tells an actor; ns per message until all handled", NULL},
    {"idle_actor_bytes", 100000, bench_idle_actor_bytes, "bytes_per_actor",
     "RSS growth per idle actor (state excluded); ns per spawn+start", NULL},
    {"bus_fanout", 10000000, bench_bus_fanout, NULL,
     "1 publisher, 100 subscribers, 100,000 publishes; ns per delivery", NULL},
    {"netmon_storm", 10000, bench_netmon_storm, "events",
     "(root) 10,000 address changes in a netns; CPU ns per raw netlink message",
     netmon_storm_unavailable},
    {"probe_rtt", 10000, bench_probe_rtt, "crypto_pct",
     "2 DirectManagers on loopback, direct_ping_peer; ns per authenticated round trip", NULL},
    {"peers_1000", 10000, bench_peers_1000, "cpu_ms_per_s",
     "a node pinging 1,000 silent peers for ops ms; CPU ns per ms of wall time", NULL},
    {"rebind_recover", 200, bench_rebind_recover, "port_kept_pct",
     "2 DirectManagers on loopback; A rebinds: ns until A's path is confirmed again", NULL},
    {"rebind_recover_newport", 50, bench_rebind_recover_newport, NULL,
     "A restarts on another port (same key): ns until B's path points at it", NULL},
    {"idle_cpu", 10000, bench_idle_cpu, "cpu_pct",
     "1,000 idle actors, a host tell every 100 ms, for ops ms; CPU ns per ms of wall time", NULL},
};
#define N_BENCHES (sizeof benches / sizeof benches[0])

/* The few benchmarks with a second extra metric (bench_sample.extra2), kept
 * apart so the table above keeps its shape. */
static const struct {
  const char *bench, *key;
} extra2_keys[] = {{"peers_1000", "bytes_per_peer"}, {"idle_cpu", "spin_pct"}};

/* JSON key of b's second extra metric, or NULL. */
static const char *extra2_key(const bench_def *b) {
  for (size_t i = 0; i < sizeof extra2_keys / sizeof extra2_keys[0]; i++)
    if (strcmp(extra2_keys[i].bench, b->name) == 0)
      return extra2_keys[i].key;
  return NULL;
}

#define MAX_MATRIX 3

typedef struct options {
  bool json;
  bool fork;
  bool matrix;
  bool threads_set;
  uint32_t spin_ns; /* 0: the runtime's default */
  unsigned threads;
  unsigned runs;
  uint64_t ops; /* 0: each benchmark's default */
  size_t n_selected;
  size_t selected[N_BENCHES]; /* indexes into benches[], in run order */
} options;

/* What a benchmark's runs add up to; plain data, so a child can send it
 * through a pipe. */
typedef struct summary {
  uint64_t ops;
  unsigned runs;
  double median_ns, min_ns, max_ns; /* per op */
  double extra, extra2;             /* medians of the extra metrics */
  long peak_rss_kb;
} summary;

/* ---- command line ---------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "Usage: meshrt-bench [OPTIONS]\n"
             "Runs meshrt runtime benchmarks and reports the median time per operation.\n"
             "\n"
             "  --bench NAME[,NAME...]  run only these benchmarks (repeatable; default all)\n"
             "  --threads N             executors per runtime (default 1)\n"
             "  --matrix                every benchmark at 1, 2 and (with 4 CPUs or more) 4\n"
             "                          executors, one table with the 2/1 ratio\n"
             "  --spin-ns N|off         how long an idle executor, or a host thread waiting in\n"
             "                          mrt_ask_sync, spins before sleeping (default: the\n"
             "                          runtime's, 10000; at most 1000000)\n"
             "  --runs N                runs per benchmark; the median is reported (default 5)\n"
             "  --ops N                 operations per run instead of each benchmark's default\n"
             "  --json                  one JSON object per benchmark per line\n"
             "  --no-fork               run benchmarks in this process (for profilers);\n"
             "                          peak_rss_kb is then the process-wide high-water mark\n"
             "  --sched-stats           after each run, print the runtime's scheduling\n"
             "                          counters (moves, donations, spins, wake-ups) to stderr\n"
             "  --list                  list the benchmarks and exit\n"
             "  --help                  show this help and exit\n");
}

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("meshrt-bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'meshrt-bench --help'.\n", stderr);
  exit(EXIT_USAGE);
}

static void list_benches(void) {
  for (size_t i = 0; i < N_BENCHES; i++)
    printf("%-22s %9llu ops  %s\n", benches[i].name, (unsigned long long)benches[i].default_ops,
           benches[i].what);
}

/* Parses a decimal count in [1, max]; anything else is a usage error. */
static uint64_t parse_count(const char *opt, const char *s, uint64_t max) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = (s[0] >= '0' && s[0] <= '9') ? strtoull(s, &end, 10) : 0;
  if (end == NULL || *end != '\0' || errno != 0 || v < 1 || v > max)
    usage_error("%s wants a whole number from 1 to %llu, not '%s'", opt, (unsigned long long)max,
                s);
  return v;
}

static void select_bench(options *o, const char *name, size_t len) {
  for (size_t i = 0; i < N_BENCHES; i++) {
    if (strlen(benches[i].name) != len || strncmp(benches[i].name, name, len) != 0)
      continue;
    for (size_t j = 0; j < o->n_selected; j++)
      if (o->selected[j] == i)
        return; /* named twice: run once */
    o->selected[o->n_selected++] = i;
    return;
  }
  usage_error("unknown benchmark '%.*s' (see --list)", (int)len, name);
}

/* --bench a,b,c */
static void select_list(options *o, const char *list) {
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0)
      usage_error("empty benchmark name in '--bench %s'", list);
    select_bench(o, p, len);
    if (comma == NULL)
      return;
    p = comma + 1;
  }
}

enum {
  OPT_BENCH = 256,
  OPT_THREADS,
  OPT_RUNS,
  OPT_OPS,
  OPT_JSON,
  OPT_NO_FORK,
  OPT_LIST,
  OPT_HELP,
  OPT_MATRIX,
  OPT_SPIN,
  OPT_SCHED_STATS
};

static const struct option long_opts[] = {
    {"bench", required_argument, NULL, OPT_BENCH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"ops", required_argument, NULL, OPT_OPS},
    {"json", no_argument, NULL, OPT_JSON},
    {"no-fork", no_argument, NULL, OPT_NO_FORK},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, OPT_HELP},
    {"matrix", no_argument, NULL, OPT_MATRIX},
    {"spin-ns", required_argument, NULL, OPT_SPIN},
    {"sched-stats", no_argument, NULL, OPT_SCHED_STATS},
    {NULL, 0, NULL, 0},
};

/* getopt_long returned '?': `arg` is the argument it just passed over. */
static _Noreturn void bad_option(const char *arg) {
  /* A bad short option is in optopt (its cluster may not be consumed yet). */
  if (optopt > 0 && optopt < OPT_BENCH)
    usage_error("unknown option '-%c'", optopt);
  const char *eq = strchr(arg, '=');
  if (strncmp(arg, "--", 2) == 0 && eq != NULL) {
    size_t len = (size_t)(eq - arg) - 2;
    for (const struct option *lo = long_opts; lo->name != NULL; lo++)
      if (strlen(lo->name) == len && strncmp(lo->name, arg + 2, len) == 0)
        usage_error("option '--%s' takes no value", lo->name);
  }
  usage_error("unknown option '%s'", arg);
}

static void parse_args(int argc, char **argv, options *o) {
  *o = (options){.fork = true, .threads = 1, .runs = 5};
  opterr = 0; /* we word the errors ourselves, and exit 2 */
  int c;
  while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
    switch (c) {
    case OPT_BENCH: select_list(o, optarg); break;
    case OPT_THREADS:
      o->threads = (unsigned)parse_count("--threads", optarg, MAX_THREADS);
      o->threads_set = true;
      break;
    case OPT_MATRIX: o->matrix = true; break;
    case OPT_SPIN:
      o->spin_ns = strcmp(optarg, "off") == 0
                       ? MRT_SPIN_OFF
                       : (uint32_t)parse_count("--spin-ns", optarg, MRT_SPIN_MAX_NS);
      break;
    case OPT_RUNS: o->runs = (unsigned)parse_count("--runs", optarg, MAX_RUNS); break;
    case OPT_OPS: o->ops = parse_count("--ops", optarg, UINT64_MAX / 2); break;
    case OPT_JSON: o->json = true; break;
    case OPT_NO_FORK: o->fork = false; break;
    case OPT_SCHED_STATS: bench_sched_stats = true; break;
    case OPT_LIST: list_benches(); exit(0);
    case OPT_HELP: usage(stdout); exit(0);
    case ':': usage_error("option '%s' needs a value", argv[optind - 1]);
    default: bad_option(argv[optind - 1]);
    }
  }
  if (optind < argc)
    usage_error("unexpected argument '%s'", argv[optind]);
  if (o->matrix && o->threads_set)
    usage_error("--matrix chooses the executor counts itself; drop --threads");
  if (o->n_selected == 0)
    for (size_t i = 0; i < N_BENCHES; i++)
      o->selected[o->n_selected++] = i;
}

/* ---- running ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v in place and returns its median. */
static double median(double *v, unsigned n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void run_in_process(const bench_def *b, const options *o, unsigned threads, summary *s) {
  bench_cfg cfg = {
      .threads = threads, .ops = o->ops ? o->ops : b->default_ops, .spin_ns = o->spin_ns};
  double *ns = calloc(o->runs, sizeof *ns);
  double *extra = calloc(o->runs, sizeof *extra);
  double *extra2 = calloc(o->runs, sizeof *extra2);
  if (ns == NULL || extra == NULL || extra2 == NULL)
    bench_die("out of memory");
  for (unsigned r = 0; r < o->runs; r++) {
    bench_sample sample = {0, 0.0, 0.0};
    b->run(&cfg, &sample);
    ns[r] = (double)sample.elapsed_ns / (double)cfg.ops;
    extra[r] = sample.extra;
    extra2[r] = sample.extra2;
  }
  *s = (summary){.ops = cfg.ops, .runs = o->runs};
  s->median_ns = median(ns, o->runs);
  s->min_ns = ns[0];
  s->max_ns = ns[o->runs - 1];
  s->extra = median(extra, o->runs);
  s->extra2 = median(extra2, o->runs);
  s->peak_rss_kb = bench_peak_rss_kb();
  free(ns);
  free(extra);
  free(extra2);
}

static bool read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* Runs the benchmark in a child and reads its summary back. The child's
 * errors go to the shared stderr; here we only report that it failed. */
static bool run_forked(const bench_def *b, const options *o, unsigned threads, summary *s) {
  int fds[2];
  if (pipe(fds) != 0)
    bench_die("pipe: %s", strerror(errno));
  fflush(NULL); /* or the child would repeat our buffered output */
  pid_t pid = fork();
  if (pid < 0)
    bench_die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    run_in_process(b, o, threads, s);
    ssize_t n = write(fds[1], s, sizeof *s); /* < PIPE_BUF: one atomic write */
    _exit(n == (ssize_t)sizeof *s ? 0 : 1);
  }
  close(fds[1]);
  bool ok = read_all(fds[0], s, sizeof *s);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED(status))
    fprintf(stderr, "meshrt-bench: %s: killed by signal %d\n", b->name, WTERMSIG(status));
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- output -------------------------------------------------------------------- */

static double ops_per_sec(double ns_per_op) {
  return ns_per_op > 0 ? 1e9 / ns_per_op : 0.0;
}

static void print_json(const bench_def *b, unsigned threads, const summary *s) {
  printf("{\"bench\":\"%s\",\"ops\":%llu,", b->name, (unsigned long long)s->ops);
  if (b->extra_key != NULL)
    printf("\"%s\":%.1f,", b->extra_key, s->extra);
  if (extra2_key(b) != NULL)
    printf("\"%s\":%.1f,", extra2_key(b), s->extra2);
  printf("\"ns_per_op\":%.2f,\"ops_per_sec\":%.0f,\"peak_rss_kb\":%ld,"
         "\"runs\":%u,\"min_ns_per_op\":%.2f,\"max_ns_per_op\":%.2f,\"threads\":%u}\n",
         s->median_ns, ops_per_sec(s->median_ns), s->peak_rss_kb, s->runs, s->min_ns, s->max_ns,
         threads);
}

static void print_table_header(const options *o) {
  printf("meshrt-bench: %u executor%s, median of %u run%s\n\n", o->threads,
         o->threads == 1 ? "" : "s", o->runs, o->runs == 1 ? "" : "s");
  printf("%-22s %9s %11s %11s %11s %13s %11s  %s\n", "benchmark", "ops", "ns/op", "min", "max",
         "ops/s", "peak RSS kB", "other");
}

static void print_table_row(const bench_def *b, const summary *s) {
  printf("%-22s %9llu %11.2f %11.2f %11.2f %13.0f %11ld", b->name, (unsigned long long)s->ops,
         s->median_ns, s->min_ns, s->max_ns, ops_per_sec(s->median_ns), s->peak_rss_kb);
  if (b->extra_key != NULL)
    printf("  %s=%.1f", b->extra_key, s->extra);
  if (extra2_key(b) != NULL)
    printf("  %s=%.1f", extra2_key(b), s->extra2);
  putchar('\n');
}

/* Runs one benchmark at `threads` executors as the options say. */
static bool run_one(const bench_def *b, const options *o, unsigned threads, summary *s) {
  if (o->fork)
    return run_forked(b, o, threads, s);
  run_in_process(b, o, threads, s);
  return true;
}

static void print_matrix_header(const options *o, const unsigned *counts, unsigned n) {
  printf("meshrt-bench --matrix: median ns/op of %u run%s at each executor count\n\n", o->runs,
         o->runs == 1 ? "" : "s");
  printf("%-18s %9s", "benchmark", "ops");
  for (unsigned i = 0; i < n; i++) {
    char h[24];
    snprintf(h, sizeof h, "%u ex", counts[i]);
    printf(" %11s", h);
  }
  printf(" %9s  %s\n", "2ex/1ex", "other (per executor count)");
}

static void print_matrix_row(const bench_def *b, const summary *s, const bool *ok, unsigned n) {
  printf("%-18s %9llu", b->name, (unsigned long long)s[0].ops);
  for (unsigned i = 0; i < n; i++)
    if (ok[i])
      printf(" %11.2f", s[i].median_ns);
    else
      printf(" %11s", "failed");
  if (n > 1 && ok[0] && ok[1] && s[0].median_ns > 0)
    printf(" %8.2fx", s[1].median_ns / s[0].median_ns);
  else
    printf(" %9s", "-");
  if (b->extra_key != NULL) {
    printf("  %s=", b->extra_key);
    for (unsigned i = 0; i < n; i++)
      printf("%s%.1f", i ? "/" : "", ok[i] ? s[i].extra : 0.0);
  }
  if (extra2_key(b) != NULL) {
    printf("  %s=", extra2_key(b));
    for (unsigned i = 0; i < n; i++)
      printf("%s%.2f", i ? "/" : "", ok[i] ? s[i].extra2 : 0.0);
  }
  putchar('\n');
}

static int run_matrix(const options *o) {
  unsigned counts[MAX_MATRIX] = {1, 2, 4};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = cpus >= 4 ? 3 : 2;
  if (!o->json)
    print_matrix_header(o, counts, n);
  int failures = 0;
  for (size_t i = 0; i < o->n_selected; i++) {
    const bench_def *b = &benches[o->selected[i]];
    const char *why = b->unavailable != NULL ? b->unavailable() : NULL;
    if (why != NULL) {
      if (o->json)
        printf("{\"bench\":\"%s\",\"skipped\":\"%s\"}\n", b->name, why);
      else
        printf("%-18s skipped: %s\n", b->name, why);
      continue;
    }
    summary s[MAX_MATRIX] = {0};
    bool ok[MAX_MATRIX] = {false};
    for (unsigned k = 0; k < n; k++) {
      ok[k] = run_one(b, o, counts[k], &s[k]);
      if (!ok[k]) {
        fprintf(stderr, "meshrt-bench: %s at %u executors failed\n", b->name, counts[k]);
        failures++;
      } else if (o->json) {
        print_json(b, counts[k], &s[k]);
      }
    }
    if (!o->json)
      print_matrix_row(b, s, ok, n);
    fflush(stdout);
  }
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  options o;
  parse_args(argc, argv, &o);
  if (o.matrix)
    return run_matrix(&o);
  if (!o.json)
    print_table_header(&o);
  int failures = 0;
  for (size_t i = 0; i < o.n_selected; i++) {
    const bench_def *b = &benches[o.selected[i]];
    summary s;
    const char *why = b->unavailable != NULL ? b->unavailable() : NULL;
    if (why != NULL) {
      if (o.json)
        printf("{\"bench\":\"%s\",\"skipped\":\"%s\"}\n", b->name, why);
      else
        printf("%-22s skipped: %s\n", b->name, why);
      continue;
    }
    if (!run_one(b, &o, o.threads, &s)) {
      fprintf(stderr, "meshrt-bench: %s failed\n", b->name);
      failures++;
      continue;
    }
    if (o.json)
      print_json(b, o.threads, &s);
    else
      print_table_row(b, &s);
    fflush(stdout);
  }
  return failures ? 1 : 0;
}
