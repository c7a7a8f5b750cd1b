/* SPDX-License-Identifier: MIT */
/* meshrt-node — the program's state, shared by its parts.
 *
 * main.c builds it at start-up and tears it down at exit; everything the
 * other threads read from it (handles, paths) is set before they start and
 * not changed until they have stopped. Mutable shared state lives behind its
 * own lock: the journal, the observer's view, the reload state.
 */
#ifndef MESHRT_TOOLS_APP_H
#define MESHRT_TOOLS_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <meshrt/mesh.h>

#include "config.h"
#include "journal.h"
#include "logsink.h"
#include "observer.h"
#include "request.h"
#include "text.h"
#include "util.h"

struct event_base;
struct mn_demo;
struct mn_service;
struct mn_control;
struct mn_metrics;
struct mn_reload;

#define MN_VERSION "0.1.0"

/* Command-line settings; they win over the config file. */
typedef struct mn_options {
  const char *config_path;  /* NULL: the built-in demo */
  const char *control_path; /* NULL: config, else the default */
  bool no_control;
  const char *metrics; /* NULL: config (demo: 127.0.0.1:9464) */
  bool no_metrics;
  int network_monitor; /* mn_monitor_kind, -1: config / demo choice */
  int log_level;       /* -1: config, else info */
  int log_format;      /* -1: config, else human */
  bool check;          /* validate the config and exit */
  uint64_t reconcile_interval_ns;
  size_t journal_size; /* events the journal keeps; 0: the default */
} mn_options;

typedef struct mn_app {
  mn_options opt;
  bool demo;
  mn_config *config; /* the config the node started with (config mode) */
  mrt_runtime *rt;
  mrt_node *node;
  mrt_ref *observer;
  mn_journal *journal;
  mn_view view;
  mrt_link_monitor *monitor; /* ours, injected into the node; NULL when off */
  mn_monitor_kind monitor_kind;
  char monitor_note[200]; /* why the monitor is what it is ("" if as asked) */
  struct mn_demo *world;  /* the demo's world, or NULL */
  struct mn_reload *reload;
  struct mn_service *service;
  struct mn_control *control;
  struct mn_metrics *metrics;
  char control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char metrics_addr[MN_ADDR_STR_MAX]; /* "" when not served */
  uint64_t started_ns;                /* mn_now_ns() at start */
  uint8_t public_key[MRT_PROBE_KEY_LEN];
  mn_log_format log_format; /* in force (the reload pass may switch it) */
} mn_app;

/* ---- control socket (control.c, commands.c, status.c) ---------------------------------- */

/* Binds the control socket at `path` (mode 0600; the directory is created
 * 0700 if missing; a stale socket is replaced, a live one is an error) and
 * serves it on `base`. Main thread, before the service thread starts. */
int mn_control_open(mn_app *app, const char *path, struct event_base *base,
                    struct mn_control **out);
/* Closes every connection and removes the socket. After the service thread
 * stopped. NULL-safe. */
void mn_control_close(struct mn_control *c);

/* Runs one request (a line of JSON): parses it (request.c), then executes it.
 * Returns the reply object, the request's id echoed (NULL only out of
 * memory). *follow is set when the client asked to follow the journal from
 * *after. Service thread. */
json_t *mn_command_run(mn_app *app, const char *line, size_t len, bool *follow, uint64_t *after);
/* Executes a parsed request; the reply echoes its id. Service thread. */
json_t *mn_command_exec(mn_app *app, const mn_request *req, bool *follow, uint64_t *after);
/* The status and children replies' "result" objects. Service thread. */
json_t *mn_status_json(mn_app *app);
json_t *mn_children_json(mn_app *app, int *err);

/* ---- metrics (metrics.c) ----------------------------------------------------------------- */

/* Serves GET /metrics on `addr` (port 0: any) on `base`; the bound address
 * is written to app->metrics_addr. Main thread, before the service starts.
 * Returns 0 or a negative errno (logged). */
int mn_metrics_open(mn_app *app, const struct sockaddr_storage *addr, struct event_base *base,
                    struct mn_metrics **out);
void mn_metrics_close(struct mn_metrics *m);
/* The exposition text (malloc'd; the caller frees). Host threads. */
char *mn_metrics_render(mn_app *app);

/* ---- config reload (reload.c) ------------------------------------------------------------- */

/* Starts the reconciler that applies app->config and later reloads. */
int mn_reload_start(mn_app *app);
/* SIGHUP: loads the config file again; applies it through the reconciler
 * if valid, else logs and journals why it was refused. Main thread. */
void mn_reload_request(mn_app *app);
/* Frees what reloads kept. After the runtime shut down. NULL-safe. */
void mn_reload_free(struct mn_reload *r);

#endif
