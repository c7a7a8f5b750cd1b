/* SPDX-License-Identifier: MIT */
/* meshrt-node — the host program: a meshrt node from a config file, or the
 * built-in demo when there is none.
 *
 * Start-up order matters and is the same in both modes: the runtime, the
 * observer (so it sees the supervision events of the boot), the link
 * monitor, the node, then the control socket and metrics on the service
 * thread, and last the config reconciler. Shutdown goes the other way:
 * services first (no request can be in flight into a stopping node), then
 * the node's tree, then the runtime, and only then what actors borrowed (the
 * monitor, the demo's world, the configs).
 *
 * Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 2 usage or config error
 * (nothing was started), 1 runtime failure (something could not start, or
 * the node's supervisor gave up).
 *
 * Threading: the main thread parses, starts, then waits for signals with
 * sigtimedwait (they are blocked in every thread, so they all arrive here)
 * and does reloads and shutdown itself; actors run on the runtime's
 * executor; the service thread serves the control socket and metrics.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "demo.h"
#include "service.h"

/* How long the actors get to stop at SIGINT/SIGTERM; past it the exit code
 * is 1 (README.md and meshrt-node(1) quote this figure). */
#define STOP_TIMEOUT MRT_MS(1500)
#define DEMO_METRICS "127.0.0.1:9464"

static void usage(FILE *out) {
  fprintf(out,
          "usage: meshrt-node [--config FILE] [options]\n"
          "Without --config, runs the built-in demo on this machine alone.\n"
          "  -c, --config FILE            run a node from a JSON config\n"
          "      --check                  validate the config and exit\n"
          "      --control-socket PATH    control socket (default: see meshrt-node(1))\n"
          "      --no-control             no control socket\n"
          "      --metrics [ADDR:]PORT    serve Prometheus metrics (ADDR defaults to 127.0.0.1)\n"
          "      --no-metrics             no metrics endpoint\n"
          "      --network-monitor KIND   netlink, manual or off\n"
          "      --log-format FORMAT      human (default) or json\n"
          "      --log-level LEVEL        error, warn, info (default), debug, trace\n"
          "      --reconcile-interval S   seconds between config reconciler passes (30)\n"
          "      --journal-size N         events the journal keeps (1024)\n"
          "  -h, --help                   this text\n"
          "  -V, --version                the version\n");
}

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "meshrt-node: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  usage(stderr);
  return -1;
}

/* Returns 0 (run), 1 (done: help or version printed), -1 (usage error). */
static int parse_option(int c, const char *arg, mn_options *o) {
  struct sockaddr_storage ss;
  char *end;
  switch (c) {
  case 'c': o->config_path = arg; return 0;
  case 'k': o->check = true; return 0;
  case 's': o->control_path = arg; return 0;
  case 'S': o->no_control = true; return 0;
  case 'm':
    o->metrics = arg;
    return mn_metrics_addr_parse(arg, &ss) < 0
               ? bad_usage("--metrics %s: expected [ADDR:]PORT", arg)
               : 0;
  case 'M': o->no_metrics = true; return 0;
  case 'n':
    o->network_monitor = mn_monitor_kind_parse(arg);
    if (o->network_monitor < 0)
      return bad_usage("--network-monitor %s: expected netlink, manual or off", arg);
    /* A usage error (exit 2, nothing started), as its config twin is. */
    if (o->network_monitor == MN_MONITOR_NETLINK && !mrt_node_network_monitor_available())
      return bad_usage("--network-monitor %s: %s", arg, MN_NO_NETLINK_FEATURE);
    return 0;
  case 'f':
    o->log_format = mn_log_format_parse(arg);
    return o->log_format < 0 ? bad_usage("--log-format %s: expected human or json", arg) : 0;
  case 'l':
    o->log_level = mrt_log_level_parse(arg);
    return o->log_level < 0
               ? bad_usage("--log-level %s: expected error, warn, info, debug or trace", arg)
               : 0;
  case 'r': {
    unsigned long s = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || s == 0 || s > 86400)
      return bad_usage("--reconcile-interval %s: expected seconds, 1-86400", arg);
    o->reconcile_interval_ns = MRT_SEC(s);
    return 0;
  }
  case 'j': {
    unsigned long n = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || n == 0 || n > 1000000)
      return bad_usage("--journal-size %s: expected events, 1-1000000", arg);
    o->journal_size = (size_t)n;
    return 0;
  }
  case 'h': usage(stdout); return 1;
  case 'V': printf("meshrt-node %s\n", MN_VERSION); return 1;
  default: usage(stderr); return -1;
  }
}

static int parse_args(int argc, char **argv, mn_options *o) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"check", no_argument, NULL, 'k'},
                                       {"control-socket", required_argument, NULL, 's'},
                                       {"no-control", no_argument, NULL, 'S'},
                                       {"metrics", required_argument, NULL, 'm'},
                                       {"no-metrics", no_argument, NULL, 'M'},
                                       {"network-monitor", required_argument, NULL, 'n'},
                                       {"log-format", required_argument, NULL, 'f'},
                                       {"log-level", required_argument, NULL, 'l'},
                                       {"reconcile-interval", required_argument, NULL, 'r'},
                                       {"journal-size", required_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof *o);
  o->network_monitor = o->log_level = o->log_format = -1;
  int c, rc;
  while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1)
    if ((rc = parse_option(c, optarg, o)) != 0)
      return rc;
  if (optind < argc)
    return bad_usage("unexpected argument: %s", argv[optind]);
  if (o->check && o->config_path == NULL)
    return bad_usage("%s", "--check needs --config FILE");
  return 0;
}

/* ---- start-up ------------------------------------------------------------------------------ */

static void on_raw_link_change(const mrt_link_change *raw, const char *what, void *ud) {
  mn_app *app = ud;
  /* Best effort: a storm may fill the observer; count what it could not take. */
  if (mn_observer_link_change(app->observer, raw, what, "netlink") == -EAGAIN)
    mn_view_note_dropped_link(&app->view);
}

/* Picks the link monitor and creates it (the node borrows it). */
static int open_monitor(mn_app *app) {
  int kind = app->opt.network_monitor;
  if (kind < 0 && !app->demo)
    kind = app->config->network_monitor;
  if (kind < 0) { /* the demo: the real one when possible */
    char why[160];
    kind = mn_demo_netlink_usable(why, sizeof why) ? MN_MONITOR_NETLINK : MN_MONITOR_MANUAL;
    if (kind == MN_MONITOR_MANUAL) {
      snprintf(app->monitor_note, sizeof app->monitor_note, "netlink unavailable: %s", why);
      mrt_log(MRT_LOG_WARN, MN_LOG,
              "demo: using the manual link monitor because %s; inject link changes with "
              "`meshrt-ctl link-change`",
              why);
    }
  }
  app->monitor_kind = (mn_monitor_kind)kind;
  if (kind == MN_MONITOR_MANUAL)
    return mrt_manual_monitor_new(&app->monitor);
  if (kind == MN_MONITOR_OFF)
    return 0;
  mrt_netlink_monitor_config nc = {
      .ignored_interfaces = app->config ? (const char *const *)app->config->ignored : NULL,
      .on_raw = on_raw_link_change,
      .on_raw_ud = app};
  int rc = mrt_netlink_monitor_new(&nc, &app->monitor);
  if (rc < 0)
    mrt_log(MRT_LOG_ERROR, MN_LOG, "netlink link monitor unavailable err=%s%s", mrt_strerror(rc),
            rc == -ENOTSUP ? " (meshrt was built without the network_monitor feature)" : "");
  return rc;
}

static struct sockaddr_storage loopback_any(void) {
  struct sockaddr_storage ss;
  mn_parse_ip("127.0.0.1", &ss);
  return ss;
}

static int start_node(mn_app *app, mrt_derp_map *demo_map, mrt_peer_map *demo_peers) {
  mrt_node_config cfg;
  int rc = 0;
  if (app->demo) {
    cfg = mrt_node_config_default();
    cfg.listen_addr = cfg.measure_addr = loopback_any(); /* the demo stays on loopback */
    cfg.advertise_local = false;
    cfg.derp_map = demo_map;
    cfg.peers = demo_peers;
    /* Our key now, so the peer knows it before our first probe arrives. */
    rc = mrt_probe_keypair_generate(&cfg.key);
    if (rc == 0)
      rc = mn_demo_set_node(app->world, cfg.key.pub, 0);
  } else {
    mn_config_to_node(app->config, &cfg);
  }
  cfg.network_monitor = app->monitor != NULL;
  cfg.monitor = app->monitor;
  if (rc == 0)
    rc = mrt_node_start(app->rt, &cfg, &app->node);
  sodium_memzero(&cfg.key, sizeof cfg.key); /* the node keeps its own copy */
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "the node did not start err=%s", mrt_strerror(rc));
    return rc;
  }
  mrt_node_public_key(app->node, app->public_key);
  return mn_observer_attach(app->observer, mrt_node_supervisor(app->node));
}

/* The demo's peer needs our key and port, which exist only now. */
static int introduce_to_peer(mn_app *app) {
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  int rc =
      MRT_ASK_SYNC(direct_sock_info, mrt_node_direct(app->node), &(mrt_none){0}, &si, MRT_SEC(2));
  if (rc == 0)
    rc = mn_demo_set_node(app->world, app->public_key, si.port);
  return rc;
}

static int open_metrics(mn_app *app) {
  const char *spec = app->opt.metrics;
  bool demo_default = spec == NULL && app->demo;
  if (spec == NULL)
    spec = app->demo ? DEMO_METRICS : app->config->metrics;
  if (app->opt.no_metrics || spec == NULL)
    return 0;
  struct sockaddr_storage addr;
  if (mn_metrics_addr_parse(spec, &addr) < 0)
    return -EINVAL; /* checked when parsed: cannot happen */
  struct event_base *base = mn_service_base(app->service);
  int rc = mn_metrics_open(app, &addr, base, &app->metrics);
  if (rc == -EADDRINUSE && demo_default) { /* another demo has 9464: any port will do */
    mn_addr_set_port(&addr, 0);
    rc = mn_metrics_open(app, &addr, base, &app->metrics);
  }
  return rc;
}

static int open_services(mn_app *app) {
  int rc = mn_service_new(&app->service);
  const char *path = app->opt.control_path;
  if (path == NULL && app->config != NULL)
    path = app->config->control_socket;
  if (rc == 0 && path == NULL)
    rc = mn_default_control_path(app->control_path, sizeof app->control_path);
  else if (rc == 0)
    snprintf(app->control_path, sizeof app->control_path, "%s", path);
  if (rc == 0 && !app->opt.no_control)
    rc = mn_control_open(app, app->control_path, mn_service_base(app->service), &app->control);
  if (app->opt.no_control)
    app->control_path[0] = '\0';
  if (rc == 0)
    rc = open_metrics(app);
  if (rc == 0)
    rc = mn_service_start(app->service);
  return rc;
}

static int app_start(mn_app *app) {
  mrt_derp_map *map = NULL;
  mrt_peer_map *peers = NULL;
  app->started_ns = mn_now_ns();
  mn_view_init(&app->view);
  int rc = mn_journal_new(app->opt.journal_size ? app->opt.journal_size : MN_JOURNAL_DEFAULT_CAP,
                          &app->journal);
  if (rc == 0 && app->demo)
    rc = mn_demo_start(&app->world, &map, &peers);
  if (rc == 0)
    rc = mrt_runtime_new(NULL, &app->rt);
  if (rc == 0)
    rc = mrt_runtime_start(app->rt);
  mn_observer_args oa = {.view = &app->view, .journal = app->journal};
  if (rc == 0)
    rc = mn_observer_spawn(app->rt, &oa, &app->observer);
  if (rc == 0)
    rc = open_monitor(app);
  if (rc == 0)
    rc = start_node(app, map, peers);
  mrt_derp_map_unref(map); /* the node published its own references */
  mrt_peer_map_unref(peers);
  if (rc == 0 && app->demo)
    rc = introduce_to_peer(app);
  if (rc == 0)
    rc = open_services(app);
  if (rc == 0 && !app->demo)
    rc = mn_reload_start(app);
  return rc;
}

static void log_ready(mn_app *app) {
  char hex[2 * MRT_PROBE_KEY_LEN + 1];
  mrt_log(MRT_LOG_INFO, MN_LOG, "meshrt-node %s ready: %s, public_key=%s", MN_VERSION,
          app->demo ? "built-in demo" : app->config->path,
          mn_hex(app->public_key, sizeof app->public_key, hex, sizeof hex));
  if (app->control_path[0] != '\0')
    mrt_log(MRT_LOG_INFO, MN_LOG, "control socket %s (try: meshrt-ctl%s%s status)",
            app->control_path, app->opt.control_path ? " --socket " : "",
            app->opt.control_path ? app->control_path : "");
  if (app->metrics_addr[0] != '\0')
    mrt_log(MRT_LOG_INFO, MN_LOG, "metrics at http://%s/metrics", app->metrics_addr);
}

/* ---- running and stopping ------------------------------------------------------------------- */

/* Waits for signals. Returns the exit code. */
static int run(mn_app *app, const sigset_t *set) {
  log_ready(app);
  for (;;) {
    struct timespec tick = {0, 500 * 1000 * 1000};
    int sig = sigtimedwait(set, NULL, &tick);
    if (sig == SIGHUP) {
      mn_reload_request(app);
    } else if (sig == SIGINT || sig == SIGTERM) {
      mrt_log(MRT_LOG_INFO, MN_LOG, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      return 0;
    } else if (!mrt_ref_alive(mrt_node_supervisor(app->node))) {
      mrt_log(MRT_LOG_ERROR, MN_LOG, "the node's supervisor stopped: giving up");
      return 1;
    }
  }
}

static int app_stop(mn_app *app) {
  int rc = 0;
  mn_service_stop(app->service);
  mn_control_close(app->control);
  mn_metrics_close(app->metrics);
  mn_service_free(app->service);
  if (app->node != NULL && (rc = mrt_node_stop(app->node, STOP_TIMEOUT)) < 0)
    mrt_log(MRT_LOG_ERROR, MN_LOG, "the node did not stop in time err=%s", mrt_strerror(rc));
  if (app->rt != NULL)
    mrt_runtime_shutdown(app->rt);
  mrt_node_free(app->node); /* after the runtime's shutdown, as it asks */
  mrt_ref_unref(app->observer);
  mrt_runtime_unref(app->rt);
  mn_reload_free(app->reload);
  mn_demo_free(app->world);
  mrt_link_monitor_free(app->monitor);
  mn_journal_free(app->journal);
  mn_view_destroy(&app->view);
  mn_config_free(app->config);
  return rc;
}

/* Loads the config and applies its logging settings (the command line wins). */
static int load_config(mn_app *app) {
  char err[MN_CONFIG_ERR_MAX];
  /* A check has no side effect: it reads an existing key file but does not
   * create a missing one. */
  unsigned flags = app->opt.check ? MN_CONFIG_NO_CREATE : 0;
  int rc = mn_config_load(app->opt.config_path, flags, &app->config, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "meshrt-node: config error: %s\n", err);
    return rc;
  }
  if (app->opt.log_level < 0 && app->config->log_level >= 0)
    mrt_log_set_level((mrt_log_level)app->config->log_level);
  if (app->opt.log_format < 0 && app->config->log_format >= 0) {
    app->log_format = (mn_log_format)app->config->log_format;
    mn_log_install(app->log_format, stderr);
  }
  if (app->config->key_created)
    mrt_log(MRT_LOG_INFO, MN_LOG, "created a new key file path=%s", app->config->key_file);
  return 0;
}

int main(int argc, char **argv) {
  mn_app app;
  memset(&app, 0, sizeof app);
  int rc = parse_args(argc, argv, &app.opt);
  if (rc != 0)
    return rc > 0 ? 0 : 2;
  /* Blocked before any thread exists, so every thread inherits the mask and
   * the signals wait for sigtimedwait on this thread. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN); /* a control client that vanished is an error return, not death */
  app.demo = app.opt.config_path == NULL;
  app.log_format = app.opt.log_format >= 0 ? (mn_log_format)app.opt.log_format : MN_LOG_HUMAN;
  mn_log_install(app.log_format, stderr);
  mn_log_route_libevent();
  if (app.opt.log_level >= 0)
    mrt_log_set_level((mrt_log_level)app.opt.log_level);
  if (!app.demo && load_config(&app) < 0)
    return 2;
  if (app.opt.check) {
    char key[PATH_MAX + 8];
    if (app.config->key_missing)
      mn_text_clean(app.config->key_file, strlen(app.config->key_file), key, sizeof key);
    printf("%s: OK%s%s%s\n", app.opt.config_path, app.config->key_missing ? " (the key file " : "",
           app.config->key_missing ? key : "",
           app.config->key_missing ? " does not exist: a start will create it)" : "");
    mn_config_free(app.config);
    return 0;
  }
  rc = app_start(&app);
  if (rc < 0)
    mrt_log(MRT_LOG_ERROR, MN_LOG, "start-up failed err=%s", mrt_strerror(rc));
  int status = rc < 0 ? 1 : run(&app, &set);
  if (app_stop(&app) < 0 && status == 0)
    status = 1;
  mn_log_uninstall();
  return status;
}
