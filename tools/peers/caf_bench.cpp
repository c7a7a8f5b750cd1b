// SPDX-License-Identifier: MIT
// caf_bench — meshrt-bench's actor workloads written for the C++ Actor
// Framework (CAF 0.17, Debian's libcaf-dev), so meshrt can be compared with a
// peer framework on the same machine in the same run (tools/peers/run.sh).
//
// Workloads (kept step for step with tools/bench/bench_messaging.c and
// bench_spawn.c; see tools/peers/README.md for what still differs):
//   pingpong    2 actors, one message in flight; ns per round trip
//   counting    producer -> counter, chunks of 1000 with 2 credits in flight;
//               ns per message
//   threadring  100 actors pass one token; ns per hop
//   fjcreate    a forker actor spawns workers from a handler, tells each one
//               message, each reports and quits; ns per actor, until all gone
//   ask         actor -> actor request, the continuation issues the next one;
//               ns per round trip
//
// Method (as meshrt-bench): every run builds a fresh actor_system with
// --threads scheduler workers (default 1, like meshrt's one executor), spawns
// the actors, waits until each has started (a "ready" request from a
// scoped_actor), then the host stamps the start time and sends the first
// message. The handler that sees the last operation stamps the end time
// itself and opens a latch, so the host's wake-up is not measured. Teardown
// (exit messages, actor_system destructor) is untimed. Each benchmark runs
// --runs times in a child process of its own (fork, before any actor_system
// exists); the median ns/op is reported with min and max.
//
// Threads: main() is single-threaded; an actor_system's threads are joined by
// its destructor before a run function returns, so fork() never copies a
// running scheduler.

#include <caf/all.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// ---- failure handling ---------------------------------------------------------

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("caf_bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(1);
}

constexpr int exit_usage = 2;
constexpr int latch_timeout_sec = 120;

uint64_t now_ns() {
  // steady_clock is CLOCK_MONOTONIC on Linux/glibc, as meshrt-bench's clock.
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

long peak_rss_kb() {
  rusage ru{};
  return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

// ---- completion latch -----------------------------------------------------------
// Signalled from a handler on a scheduler thread; the host waits on it.

struct latch {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  uint64_t value = 0;
  uint64_t end_ns = 0;

  void signal(uint64_t v) {
    uint64_t t = now_ns();  // before the lock: the workload is done now
    std::lock_guard<std::mutex> g(mu);
    value = v;
    end_ns = t;
    done = true;
    cv.notify_one();
  }

  uint64_t wait(const char* bench) {
    std::unique_lock<std::mutex> g(mu);
    if (!cv.wait_for(g, std::chrono::seconds(latch_timeout_sec), [this] { return done; }))
      die("%s: workload did not finish within %d s (lost message?)", bench,
          latch_timeout_sec);
    return value;
  }
};

// ---- messages -----------------------------------------------------------------------
// CAF 0.17 names message kinds with atoms; every message also carries its
// sender, which is how a receiver learns whom to answer.

using ready_atom = caf::atom_constant<caf::atom("ready")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
using more_atom = caf::atom_constant<caf::atom("more")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

// Every benchmark actor answers "ready", so the host can make sure it has
// started (run its initialisation) before the clock starts.
caf::atom_value on_ready(ready_atom) {
  return ready_atom::value;
}

// ---- runs -----------------------------------------------------------------------------

struct run_cfg {
  unsigned threads;
  uint64_t ops;
  caf::duration ask_timeout;  // timeout armed on every ask request
};

// A fresh actor system with `threads` scheduler workers. CAF 0.17 spells the
// key "scheduler.max-threads" (0.18 and later: "caf.scheduler.max-threads").
struct system_holder {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  explicit system_holder(unsigned threads) {
    cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
    sys.reset(new caf::actor_system(cfg));
    size_t workers = sys->scheduler().num_workers();
    if (workers != threads)
      die("actor_system has %zu scheduler workers, wanted %u", workers, threads);
  }
};

void wait_ready(caf::scoped_actor& host, const caf::actor& a) {
  bool ok = false;
  host->request(a, std::chrono::seconds(30), ready_atom::value)
      .receive([&](caf::atom_value) { ok = true; },
               [&](caf::error& err) {
                 die("ready request failed: %s", host->system().render(err).c_str());
               });
  if (!ok)
    die("ready request got no answer");
}

// Untimed teardown: every actor still alive gets an exit message, then the
// actor_system destructor waits for all actors and joins its threads.
void stop_all(const std::vector<caf::actor>& actors) {
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// ==== pingpong ==========================================================================
// The pinger sends ping, the ponger answers pong to the ping's sender. One op
// = one round trip (two sends, two handler runs).

struct pinger_state {
  uint64_t rounds = 0;
};

caf::behavior pinger(caf::stateful_actor<pinger_state>* self, caf::actor peer,
                     uint64_t rounds, latch* done) {
  self->state.rounds = rounds;
  return {
      [=](pong_atom) {
        if (--self->state.rounds == 0) {
          done->signal(0);
          return;
        }
        self->send(peer, ping_atom::value);
      },
      on_ready,
  };
}

caf::behavior ponger(caf::event_based_actor* self) {
  return {
      [=](ping_atom) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), pong_atom::value);
      },
      on_ready,
  };
}

uint64_t bench_pingpong(const run_cfg& rc) {
  latch done;
  uint64_t t0;
  {
    system_holder h(rc.threads);
    caf::scoped_actor host{*h.sys};
    auto pong = h.sys->spawn(ponger);
    auto ping = h.sys->spawn(pinger, pong, rc.ops, &done);
    wait_ready(host, pong);
    wait_ready(host, ping);
    t0 = now_ns();
    // The host sends the first ping on the pinger's behalf.
    caf::send_as(ping, pong, ping_atom::value);
    done.wait("pingpong");
    stop_all({ping, pong});
  }
  return done.end_ns - t0;
}

// ==== counting ==========================================================================
// The producer sends `ops` increments in chunks of count_chunk, each chunk
// followed by a credit marker; the counter, reaching the marker, asks the
// producer for the next chunk. chunks_in_flight credits are outstanding, so
// the counter never waits while its mailbox stays bounded.

constexpr uint64_t count_chunk = 1000;
constexpr int chunks_in_flight = 2;

struct producer_state {
  uint64_t sent = 0;
};

caf::behavior producer(caf::stateful_actor<producer_state>* self, caf::actor counter,
                       uint64_t total) {
  return {
      [=](more_atom) {
        auto& st = self->state;
        if (st.sent >= total)
          return;  // a credit for a chunk that was never needed
        uint64_t n = std::min(total - st.sent, count_chunk);
        for (uint64_t i = 0; i < n; i++)
          self->send(counter, inc_atom::value);
        st.sent += n;
        if (st.sent == total)
          self->send(counter, finish_atom::value);
        else
          self->send(counter, credit_atom::value);
      },
      on_ready,
  };
}

struct counter_state {
  uint64_t count = 0;
};

caf::behavior counter(caf::stateful_actor<counter_state>* self, latch* done) {
  return {
      [=](inc_atom) { self->state.count++; },
      [=](credit_atom) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), more_atom::value);
      },
      [=](finish_atom) { done->signal(self->state.count); },
      on_ready,
  };
}

uint64_t bench_counting(const run_cfg& rc) {
  latch done;
  uint64_t t0;
  {
    system_holder h(rc.threads);
    caf::scoped_actor host{*h.sys};
    auto cnt = h.sys->spawn(counter, &done);
    auto prod = h.sys->spawn(producer, cnt, rc.ops);
    wait_ready(host, cnt);
    wait_ready(host, prod);
    t0 = now_ns();
    for (int i = 0; i < chunks_in_flight; i++)
      caf::anon_send(prod, more_atom::value);
    uint64_t counted = done.wait("counting");
    if (counted != rc.ops)
      die("counting: counter saw %llu of %llu messages", (unsigned long long)counted,
          (unsigned long long)rc.ops);
    stop_all({prod, cnt});
  }
  return done.end_ns - t0;
}

// ==== threadring ========================================================================
// ring_size actors pass one token; each hop decrements it, and the actor that
// receives 0 signals. One op = one hop (one send + one handler run).

constexpr int ring_size = 100;

struct ring_state {
  caf::actor next;
};

caf::behavior ring_member(caf::stateful_actor<ring_state>* self, latch* done) {
  return {
      [=](link_atom, const caf::actor& next) { self->state.next = next; },
      [=](token_atom, uint64_t left) {
        if (left == 0) {
          done->signal(0);
          return;
        }
        self->send(self->state.next, token_atom::value, left - 1);
      },
      on_ready,
  };
}

uint64_t bench_threadring(const run_cfg& rc) {
  latch done;
  uint64_t t0;
  {
    system_holder h(rc.threads);
    caf::scoped_actor host{*h.sys};
    std::vector<caf::actor> ring;
    ring.reserve(ring_size);
    for (int i = 0; i < ring_size; i++)
      ring.push_back(h.sys->spawn(ring_member, &done));
    for (int i = 0; i < ring_size; i++)
      host->send(ring[i], link_atom::value, ring[(i + 1) % ring_size]);
    for (auto& a : ring)
      wait_ready(host, a);  // queued behind the link: linked and started
    t0 = now_ns();
    caf::anon_send(ring[0], token_atom::value, rc.ops);
    done.wait("threadring");
    stop_all(ring);
  }
  return done.end_ns - t0;
}

// ==== fjcreate ==========================================================================
// A forker spawns the workers from inside a handler (as a supervisor would)
// and sends each one message; a worker reports to the message's sender and
// quits. The clock stops once the forker has every report and the system's
// running-actor count is back to what it was, so every worker's termination
// is inside the measurement.

caf::behavior fj_worker(caf::event_based_actor* self) {
  return {
      [=](work_atom) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), done_atom::value);
        self->quit();
      },
  };
}

struct forker_state {
  uint64_t reported = 0;
};

caf::behavior forker(caf::stateful_actor<forker_state>* self, uint64_t workers,
                     latch* done) {
  return {
      [=](go_atom) {
        for (uint64_t i = 0; i < workers; i++) {
          auto w = self->spawn(fj_worker);
          self->send(w, work_atom::value);
        }
      },
      [=](done_atom) {
        if (++self->state.reported == workers)
          done->signal(self->state.reported);
      },
      on_ready,
  };
}

uint64_t bench_fjcreate(const run_cfg& rc) {
  latch done;
  uint64_t t0, end;
  {
    system_holder h(rc.threads);
    caf::scoped_actor host{*h.sys};
    auto fork_actor = h.sys->spawn(forker, rc.ops, &done);
    wait_ready(host, fork_actor);
    auto& reg = h.sys->registry();
    size_t live_before = reg.running();
    t0 = now_ns();
    caf::anon_send(fork_actor, go_atom::value);
    done.wait("fjcreate");
    // Every worker has reported, but some may still be in their exit path;
    // they are not gone until the running count drops back.
    end = done.end_ns;
    if (reg.running() != live_before) {
      while (reg.running() != live_before)
        sched_yield();
      end = now_ns();
    }
    stop_all({fork_actor});
  }
  return end - t0;
}

// ==== ask ================================================================================
// An asker requests a server `ops` times, one at a time: each continuation
// checks the reply and issues the next request. One op = one round trip
// (request, handler, response, continuation in the asker's context).
// meshrt arms a deadline on every ask (5 s by default); so does this, with
// --ask-timeout-ms (0: caf::infinite, no timer).

caf::behavior ask_server(caf::event_based_actor*) {
  return {
      [](inc_atom, uint64_t v) -> uint64_t { return v + 1; },
      on_ready,
  };
}

struct asker_state {
  uint64_t seq = 0;
};

void asker_issue(caf::stateful_actor<asker_state>* self, const caf::actor& server,
                 uint64_t rounds, caf::duration timeout, latch* done) {
  self->request(server, timeout, inc_atom::value, self->state.seq)
      .then(
          [=](uint64_t reply) {
            auto& st = self->state;
            if (reply != st.seq + 1)
              die("ask: reply %llu to request %llu", (unsigned long long)reply,
                  (unsigned long long)st.seq);
            if (++st.seq == rounds) {
              done->signal(st.seq);
              return;
            }
            asker_issue(self, server, rounds, timeout, done);
          },
          [=](caf::error& err) {
            die("ask: request failed: %s", self->system().render(err).c_str());
          });
}

caf::behavior asker(caf::stateful_actor<asker_state>* self, caf::actor server,
                    uint64_t rounds, caf::duration timeout, latch* done) {
  return {
      [=](go_atom) { asker_issue(self, server, rounds, timeout, done); },
      on_ready,
  };
}

uint64_t bench_ask(const run_cfg& rc) {
  latch done;
  uint64_t t0;
  {
    system_holder h(rc.threads);
    caf::scoped_actor host{*h.sys};
    auto server = h.sys->spawn(ask_server);
    auto client = h.sys->spawn(asker, server, rc.ops, rc.ask_timeout, &done);
    wait_ready(host, server);
    wait_ready(host, client);
    t0 = now_ns();
    caf::anon_send(client, go_atom::value);
    done.wait("ask");
    stop_all({client, server});
  }
  return done.end_ns - t0;
}

// ---- the table of benchmarks ---------------------------------------------------------

using bench_fn = uint64_t (*)(const run_cfg&);

struct bench_def {
  const char* name;
  uint64_t default_ops;
  bench_fn run;
  const char* what;
};

const bench_def benches[] = {
    {"pingpong", 1000000, bench_pingpong, "2 actors, one message in flight; ns per round trip"},
    {"counting", 1000000, bench_counting,
     "producer -> counter, chunked with credits; ns per message"},
    {"threadring", 1000000, bench_threadring, "100 actors in a ring pass one token; ns per hop"},
    {"fjcreate", 40000, bench_fjcreate,
     "spawn, one message, quit, until all are gone; ns per actor"},
    {"ask", 1000000, bench_ask,
     "actor -> actor request, continuation requests again; ns per round trip"},
};
constexpr size_t n_benches = sizeof benches / sizeof benches[0];

// ---- command line ------------------------------------------------------------------------

struct options {
  bool json = false;
  bool fork = true;
  unsigned threads = 1;
  unsigned runs = 5;
  uint64_t ops = 0;  // 0: each benchmark's default
  uint64_t ask_timeout_ms = 5000;
  std::vector<size_t> selected;
};

void usage(FILE* f) {
  std::fprintf(
      f,
      "Usage: caf_bench [OPTIONS]\n"
      "meshrt-bench's actor workloads on the C++ Actor Framework (CAF %d.%d.%d);\n"
      "reports the median time per operation.\n"
      "\n"
      "  --bench NAME[,NAME...]  run only these benchmarks (repeatable; default all)\n"
      "  --threads N             CAF scheduler workers (default 1, like meshrt's one executor)\n"
      "  --runs N                runs per benchmark; the median is reported (default 5)\n"
      "  --ops N                 operations per run instead of each benchmark's default\n"
      "  --ask-timeout-ms N      timeout armed on each ask request (default 5000, meshrt's\n"
      "                          default deadline; 0: caf::infinite, no timer)\n"
      "  --json                  one JSON object per benchmark per line\n"
      "  --no-fork               run benchmarks in this process\n"
      "  --list                  list the benchmarks and exit\n"
      "  --help                  show this help and exit\n",
      CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION);
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void usage_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("caf_bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputs("\nTry 'caf_bench --help'.\n", stderr);
  std::exit(exit_usage);
}

uint64_t parse_count(const char* opt, const char* s, uint64_t min, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = (s[0] >= '0' && s[0] <= '9') ? std::strtoull(s, &end, 10) : 0;
  if (end == nullptr || *end != '\0' || errno != 0 || v < min || v > max)
    usage_error("%s wants a whole number from %llu to %llu, not '%s'", opt,
                (unsigned long long)min, (unsigned long long)max, s);
  return v;
}

void select_list(options& o, const std::string& list) {
  size_t pos = 0;
  for (;;) {
    size_t comma = list.find(',', pos);
    std::string name = list.substr(pos, comma == std::string::npos ? std::string::npos
                                                                   : comma - pos);
    if (name.empty())
      usage_error("empty benchmark name in '--bench %s'", list.c_str());
    size_t i = 0;
    while (i < n_benches && name != benches[i].name)
      i++;
    if (i == n_benches)
      usage_error("unknown benchmark '%s' (see --list)", name.c_str());
    if (std::find(o.selected.begin(), o.selected.end(), i) == o.selected.end())
      o.selected.push_back(i);
    if (comma == std::string::npos)
      return;
    pos = comma + 1;
  }
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto need_value = [&]() -> std::string {
      if (has_value)
        return value;
      if (i + 1 >= argc)
        usage_error("option '%s' needs a value", arg.c_str());
      return argv[++i];
    };
    auto no_value = [&] {
      if (has_value)
        usage_error("option '%s' takes no value", arg.c_str());
    };
    if (arg == "--bench") {
      select_list(o, need_value());
    } else if (arg == "--threads") {
      o.threads = (unsigned)parse_count("--threads", need_value().c_str(), 1, 256);
    } else if (arg == "--runs") {
      o.runs = (unsigned)parse_count("--runs", need_value().c_str(), 1, 1000);
    } else if (arg == "--ops") {
      o.ops = parse_count("--ops", need_value().c_str(), 1, UINT64_MAX / 2);
    } else if (arg == "--ask-timeout-ms") {
      o.ask_timeout_ms = parse_count("--ask-timeout-ms", need_value().c_str(), 0, 86400000);
    } else if (arg == "--json") {
      no_value();
      o.json = true;
    } else if (arg == "--no-fork") {
      no_value();
      o.fork = false;
    } else if (arg == "--list") {
      no_value();
      for (auto& b : benches)
        std::printf("%-18s %9llu ops  %s\n", b.name, (unsigned long long)b.default_ops,
                    b.what);
      std::exit(0);
    } else if (arg == "--help") {
      no_value();
      usage(stdout);
      std::exit(0);
    } else {
      usage_error("unknown option '%s'", argv[i]);
    }
  }
  if (o.selected.empty())
    for (size_t i = 0; i < n_benches; i++)
      o.selected.push_back(i);
  return o;
}

// ---- running -------------------------------------------------------------------------------

// What a benchmark's runs add up to; plain data, so a child can pipe it back.
struct summary {
  uint64_t ops;
  unsigned runs;
  double median_ns, min_ns, max_ns;  // per op
  long peak_rss_kb;
};

summary run_in_process(const bench_def& b, const options& o) {
  run_cfg rc{o.threads, o.ops ? o.ops : b.default_ops,
             o.ask_timeout_ms ? caf::duration{std::chrono::milliseconds(o.ask_timeout_ms)}
                              : caf::infinite};
  std::vector<double> ns;
  for (unsigned r = 0; r < o.runs; r++)
    ns.push_back(static_cast<double>(b.run(rc)) / static_cast<double>(rc.ops));
  std::sort(ns.begin(), ns.end());
  size_t n = ns.size();
  summary s{};
  s.ops = rc.ops;
  s.runs = o.runs;
  s.median_ns = n % 2 ? ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0;
  s.min_ns = ns.front();
  s.max_ns = ns.back();
  s.peak_rss_kb = peak_rss_kb();
  return s;
}

bool read_all(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool run_forked(const bench_def& b, const options& o, summary& s) {
  int fds[2];
  if (pipe(fds) != 0)
    die("pipe: %s", std::strerror(errno));
  std::fflush(nullptr);  // or the child would repeat our buffered output
  pid_t pid = fork();
  if (pid < 0)
    die("fork: %s", std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    summary cs = run_in_process(b, o);
    ssize_t n = write(fds[1], &cs, sizeof cs);  // < PIPE_BUF: one atomic write
    _exit(n == static_cast<ssize_t>(sizeof cs) ? 0 : 1);
  }
  close(fds[1]);
  bool ok = read_all(fds[0], &s, sizeof s);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED(status))
    std::fprintf(stderr, "caf_bench: %s: killed by signal %d\n", b.name, WTERMSIG(status));
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double ops_per_sec(double ns_per_op) {
  return ns_per_op > 0 ? 1e9 / ns_per_op : 0.0;
}

void print_json(const bench_def& b, const options& o, const summary& s) {
  std::printf("{\"bench\":\"%s\",\"framework\":\"caf\",\"ops\":%llu,\"ns_per_op\":%.2f,"
              "\"ops_per_sec\":%.0f,\"runs\":%u,\"min_ns_per_op\":%.2f,"
              "\"max_ns_per_op\":%.2f,\"threads\":%u,\"peak_rss_kb\":%ld,"
              "\"version\":\"%d.%d.%d\"}\n",
              b.name, (unsigned long long)s.ops, s.median_ns, ops_per_sec(s.median_ns),
              s.runs, s.min_ns, s.max_ns, o.threads, s.peak_rss_kb, CAF_MAJOR_VERSION,
              CAF_MINOR_VERSION, CAF_PATCH_VERSION);
}

} // namespace

int main(int argc, char** argv) {
  options o = parse_args(argc, argv);
  if (!o.json) {
    std::printf("caf_bench: CAF %d.%d.%d, %u scheduler worker%s, median of %u run%s\n\n",
                CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION, o.threads,
                o.threads == 1 ? "" : "s", o.runs, o.runs == 1 ? "" : "s");
    std::printf("%-18s %9s %11s %11s %11s %13s %11s\n", "benchmark", "ops", "ns/op", "min",
                "max", "ops/s", "peak RSS kB");
  }
  int failures = 0;
  for (size_t idx : o.selected) {
    const bench_def& b = benches[idx];
    summary s{};
    if (o.fork) {
      if (!run_forked(b, o, s)) {
        std::fprintf(stderr, "caf_bench: %s failed\n", b.name);
        failures++;
        continue;
      }
    } else {
      s = run_in_process(b, o);
    }
    if (o.json)
      print_json(b, o, s);
    else
      std::printf("%-18s %9llu %11.2f %11.2f %11.2f %13.0f %11ld\n", b.name,
                  (unsigned long long)s.ops, s.median_ns, s.min_ns, s.max_ns,
                  ops_per_sec(s.median_ns), s.peak_rss_kb);
    std::fflush(stdout);
  }
  return failures ? 1 : 0;
}
