/* SPDX-License-Identifier: MIT */
/* meshrt-node — config reload on SIGHUP, through a periodic reconciler.
 *
 * The desired state is a loaded config (mn_config); the reconciler's pass
 * compares it with what was applied and publishes what changed: the DERP map
 * and the peer map go out on the node's bus (DirectManager and
 * DerpLatencyMeasurer pick them up), the log level and format switch at once.
 * Settings bound at start (listen address and port, key, link monitor,
 * ignored interfaces, control socket, metrics address) are reported as
 * needing a restart instead of being half-applied. Passes also run every
 * interval, so the node converges even if a publish was lost.
 *
 * A config that fails to load is refused whole: the error (file, field,
 * expectation) is logged and journalled and the config in force stays.
 *
 * Threading: mn_reload_request runs on the main thread (blocking file I/O);
 * the pass runs in the reconciler's context and reads the desired config,
 * which is immutable once handed over. A config is freed only after a pass
 * that started after its successor was set has finished (run_now_sync), so
 * no pass can still be reading it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define RETIRED_MAX 64

typedef struct mn_reload mn_reload;

struct mn_reload {
  mn_app *app;
  mrt_ref *reconciler;
  mn_config *desired;              /* main thread: the last config handed over */
  mn_config *retired[RETIRED_MAX]; /* handed over but maybe still read: freed at exit */
  size_t n_retired;
  /* Reconciler context only: */
  char *applied_derp, *applied_peers;
  const mn_config *warned; /* restart-only changes already reported for it */
};

static bool str_differs(const char *a, const char *b) {
  return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static bool ignored_differs(char *const *a, char *const *b) {
  size_t i = 0;
  for (; a != NULL && b != NULL && a[i] != NULL && b[i] != NULL; i++)
    if (strcmp(a[i], b[i]) != 0)
      return true;
  return (a != NULL && a[i] != NULL) || (b != NULL && b[i] != NULL);
}

/* Fields a running node cannot change: listed, never applied. */
static void restart_only(const mn_config *boot, const mn_config *c, json_t *out) {
  if (memcmp(&boot->listen_addr, &c->listen_addr, sizeof c->listen_addr) != 0)
    json_array_append_new(out, json_string("listen_address"));
  if (boot->listen_port != c->listen_port)
    json_array_append_new(out, json_string("listen_port"));
  if (boot->disable_ipv6 != c->disable_ipv6)
    json_array_append_new(out, json_string("disable_ipv6"));
  if (boot->advertise_local != c->advertise_local)
    json_array_append_new(out, json_string("advertise_local"));
  if (str_differs(boot->key_file, c->key_file) ||
      memcmp(boot->key.pub, c->key.pub, sizeof c->key.pub) != 0)
    json_array_append_new(out, json_string("key_file"));
  if (boot->network_monitor != c->network_monitor)
    json_array_append_new(out, json_string("network_monitor"));
  if (ignored_differs(boot->ignored, c->ignored))
    json_array_append_new(out, json_string("ignored_interfaces"));
  if (str_differs(boot->control_socket, c->control_socket))
    json_array_append_new(out, json_string("control_socket"));
  if (str_differs(boot->metrics, c->metrics))
    json_array_append_new(out, json_string("metrics"));
}

/* Publishes the maps that changed; names them in `applied`. */
static int apply_maps(mn_reload *r, const mn_config *c, json_t *applied) {
  mrt_runtime *rt = r->app->rt;
  if (str_differs(r->applied_derp, c->derp_canon)) {
    int rc = mrt_node_publish_derp_map(rt, mrt_derp_map_ref(c->derp_map));
    char *copy = rc >= 0 ? strdup(c->derp_canon) : NULL;
    if (copy == NULL)
      return rc < 0 ? rc : -ENOMEM; /* not recorded: the next pass tries again */
    free(r->applied_derp);
    r->applied_derp = copy;
    json_array_append_new(applied, json_string("derp_map"));
  }
  if (str_differs(r->applied_peers, c->peers_canon)) {
    int rc = mrt_node_publish_peer_map(rt, mrt_peer_map_ref(c->peers));
    char *copy = rc >= 0 ? strdup(c->peers_canon) : NULL;
    if (copy == NULL)
      return rc < 0 ? rc : -ENOMEM;
    free(r->applied_peers);
    r->applied_peers = copy;
    json_array_append_new(applied, json_string("peers"));
  }
  return 0;
}

/* The command line wins over the config for logging. */
static void apply_logging(mn_reload *r, const mn_config *c, json_t *applied) {
  const mn_options *o = &r->app->opt;
  if (o->log_level < 0 && c->log_level >= 0 && (int)mrt_log_get_level() != c->log_level) {
    mrt_log_set_level((mrt_log_level)c->log_level);
    json_array_append_new(applied, json_string("log_level"));
  }
  if (o->log_format < 0 && c->log_format >= 0 && c->log_format != (int)r->app->log_format) {
    r->app->log_format = (mn_log_format)c->log_format;
    mn_log_install(r->app->log_format, stderr);
    json_array_append_new(applied, json_string("log_format"));
  }
}

static int pass(mrt_actor *self, const mrt_reconcile_input *in, void *ud) {
  (void)self;
  mn_reload *r = ud;
  const mn_config *c = in->desired;
  json_t *applied = json_array(), *restart = json_array();
  int rc = apply_maps(r, c, applied);
  apply_logging(r, c, applied);
  if (c != r->warned) {
    restart_only(r->app->config, c, restart);
    r->warned = c;
  }
  if (json_array_size(applied) > 0 || json_array_size(restart) > 0) {
    char *a = json_dumps(applied, JSON_COMPACT), *n = json_dumps(restart, JSON_COMPACT);
    mrt_log(MRT_LOG_INFO, MN_LOG, "config applied path=%s changed=%s", c->path, a ? a : "?");
    if (json_array_size(restart) > 0)
      mrt_log(MRT_LOG_WARN, MN_LOG, "config changes that need a restart were not applied: %s",
              n ? n : "?");
    free(a);
    free(n);
    mn_journal_append(r->app->journal, "config",
                      json_pack("{s:b, s:o, s:O, s:O}", "ok", 1, "path", mn_json_text(c->path),
                                "applied", applied, "needs_restart", restart));
  }
  json_decref(applied);
  json_decref(restart);
  return rc;
}

int mn_reload_start(mn_app *app) {
  mn_reload *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->app = app;
  r->desired = app->config;
  r->warned = app->config;
  r->applied_derp = strdup(app->config->derp_canon);
  r->applied_peers = strdup(app->config->peers_canon);
  app->reload = r;
  if (r->applied_derp == NULL || r->applied_peers == NULL)
    return -ENOMEM;
  mrt_reconciler_config cfg = {
      .name = "config-reload",
      .interval_ns = app->opt.reconcile_interval_ns,
      .pass = pass,
      .desired = app->config,
      .ud = r,
  };
  return mrt_reconciler_spawn(app->rt, &cfg, NULL, &r->reconciler);
}

static void retire(mn_reload *r, mn_config *c) {
  if (c == r->app->config)
    return; /* the boot config lives as long as the app */
  if (r->n_retired < RETIRED_MAX) {
    r->retired[r->n_retired++] = c;
    return;
  }
  /* Past the bound we prefer a small leak to a possible use after free. */
  mrt_log(MRT_LOG_WARN, MN_LOG, "too many unconfirmed reloads; a config stays allocated");
}

void mn_reload_request(mn_app *app) {
  mn_reload *r = app->reload;
  if (r == NULL) {
    mrt_log(MRT_LOG_INFO, MN_LOG, "SIGHUP: the demo has no config file to reload");
    return;
  }
  mrt_log(MRT_LOG_INFO, MN_LOG, "SIGHUP: reloading the config path=%s", app->config->path);
  char err[MN_CONFIG_ERR_MAX];
  mn_config *c = NULL;
  int rc = mn_config_load(app->config->path, 0, &c, err, sizeof err);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "config reload refused, the config in force stays: %s", err);
    mn_journal_append(app->journal, "config",
                      json_pack("{s:b, s:o, s:o}", "ok", 0, "path", mn_json_text(app->config->path),
                                "error", mn_json_text(err)));
    return;
  }
  rc = mrt_reconciler_set_desired(r->reconciler, c);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "config reload failed err=%s", mrt_strerror(rc));
    mn_config_free(c);
    return;
  }
  mrt_reconcile_result res;
  rc = mrt_reconciler_run_now_sync(r->reconciler, &res, MRT_SEC(5));
  mn_config *prev = r->desired;
  r->desired = c;
  if (rc == 0 && prev != app->config)
    mn_config_free(prev); /* a pass that began after c was set has ended: nobody reads prev */
  else
    retire(r, prev);
  if (rc < 0 || res.status < 0)
    mrt_log(MRT_LOG_WARN, MN_LOG, "config reload pass err=%s; the reconciler retries",
            mrt_strerror(rc < 0 ? rc : res.status));
}

void mn_reload_free(mn_reload *r) {
  if (r == NULL)
    return;
  mrt_ref_unref(r->reconciler);
  for (size_t i = 0; i < r->n_retired; i++)
    mn_config_free(r->retired[i]);
  if (r->desired != r->app->config)
    mn_config_free(r->desired);
  free(r->applied_derp);
  free(r->applied_peers);
  free(r);
}
