/* SPDX-License-Identifier: MIT */
/* meshrt — supervisor and child specs: validation and owned copies.
 *
 * A spec handed to mrt_supervisor_spawn() or to an ADD command is checked once
 * here and turned into an owned, immutable definition, so the supervisor never
 * reads caller memory after the call returns and never has to re-validate.
 * Nested supervisor specs are copied recursively (with a depth limit, so a
 * spec that contains itself is refused instead of recursing forever) and are
 * refcounted: a parent's child record and each nested attempt's spawn args
 * share one copy. Also the helpers that build operator commands.
 *
 * Threads: pure functions on caller-owned memory, callable from any thread;
 * the def refcount is atomic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrt_grow.h"
#include "supervisor_internal.h"

/* Nesting deeper than this is surely a spec that refers to itself. */
#define MAX_DEPTH 16
/* A sanity bound that keeps sizes far from overflow. */
#define MAX_CHILDREN 4096

static int refuse(const char *what, const char *id) {
  mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "spec refused: %s id=%s", what, id ? id : "(none)");
  return -EINVAL;
}

static bool name_valid(const char *s, size_t max) {
  if (s == NULL)
    return false;
  size_t n = strnlen(s, max);
  if (n == 0 || n >= max)
    return false;
  /* Control characters would garble log lines and metric labels. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return false;
  return true;
}

bool mrt__child_id_valid(const char *id) {
  return name_valid(id, MRT_CHILD_ID_MAX);
}

static bool class_valid(const mrt_actor_class *cls) {
  return cls->name != NULL && (cls->handlers != NULL || cls->handle_any != NULL);
}

/* Checks everything but the class/args or nested spec. */
static int check_policies(const mrt_child_spec *spec, mrt_backoff_config *backoff) {
  if ((unsigned)spec->restart > MRT_RESTART_TEMPORARY)
    return refuse("unknown restart policy", spec->id);
  if ((unsigned)spec->readiness > MRT_READINESS_EXPLICIT)
    return refuse("unknown readiness policy", spec->id);
  *backoff = spec->backoff != NULL ? *spec->backoff : mrt_backoff_config_default();
  mrt_backoff probe;
  if (mrt_backoff_init(&probe, backoff) < 0)
    return refuse("invalid backoff config", spec->id);
  return 0;
}

static int build_target(const mrt_child_spec *spec, unsigned depth, mrt__child_def *out) {
  if (spec->supervisor != NULL) {
    if (spec->cls != NULL || spec->args != NULL)
      return refuse("a nested supervisor takes no class or args", spec->id);
    out->cls = &mrt__supervisor_class;
    return mrt__sup_def_build(spec->supervisor, depth + 1, &out->nested);
  }
  if (spec->cls == NULL || !class_valid(spec->cls))
    return refuse("missing or invalid actor class", spec->id);
  /* Every attempt gets the same bytes, so they must not own anything. */
  if (spec->cls->args_drop != NULL)
    return refuse("class owns its args (args_drop): restarts would share them", spec->id);
  if (spec->cls->args_size > 0 && spec->args == NULL)
    return refuse("class takes args but none given", spec->id);
  out->cls = spec->cls;
  if (spec->cls->args_size > 0) {
    out->args = malloc(spec->cls->args_size);
    if (out->args == NULL)
      return -ENOMEM;
    memcpy(out->args, spec->args, spec->cls->args_size);
  }
  return 0;
}

int mrt__child_def_build(const mrt_child_spec *spec, unsigned depth, mrt__child_def *out) {
  if (spec == NULL || out == NULL)
    return refuse("NULL child spec", NULL);
  if (!mrt__child_id_valid(spec->id))
    return refuse("child id must be 1..63 printable bytes", spec->id);
  mrt__child_def d = {0};
  int rc = check_policies(spec, &d.backoff);
  if (rc < 0)
    return rc;
  rc = build_target(spec, depth, &d);
  if (rc < 0) {
    mrt__child_def_clear(&d);
    return rc;
  }
  snprintf(d.id, sizeof d.id, "%s", spec->id);
  d.restart = spec->restart;
  d.readiness = spec->readiness;
  d.kill = spec->shutdown_kill;
  d.grace_ns = spec->shutdown_grace_ns;
  if (d.grace_ns == 0)
    d.grace_ns = d.nested != NULL ? MRT_SHUTDOWN_INFINITY : MRT_CHILD_DEFAULT_GRACE;
  d.stale_ns = spec->heartbeat_stale_ns;
  d.mailbox_capacity = spec->mailbox_capacity;
  *out = d;
  return 0;
}

int mrt__child_def_copy(mrt__child_def *dst, const mrt__child_def *src) {
  *dst = *src;
  dst->args = NULL;
  if (src->args != NULL) {
    dst->args = malloc(src->cls->args_size);
    if (dst->args == NULL)
      return -ENOMEM;
    memcpy(dst->args, src->args, src->cls->args_size);
  }
  dst->nested = mrt__sup_def_ref(src->nested);
  return 0;
}

void mrt__child_def_clear(mrt__child_def *d) {
  if (d == NULL)
    return;
  free(d->args);
  d->args = NULL;
  mrt__sup_def_unref(d->nested);
  d->nested = NULL;
}

/* ---- supervisor specs ------------------------------------------------------- */

static int check_sup_spec(const mrt_supervisor_spec *spec, unsigned depth) {
  if (spec == NULL)
    return refuse("NULL supervisor spec", NULL);
  if (depth > MAX_DEPTH)
    return refuse("supervisors nested too deep (a spec containing itself?)", spec->name);
  if (!name_valid(spec->name, MRT_SUPERVISOR_NAME_MAX))
    return refuse("supervisor name must be 1..47 printable bytes", NULL);
  if ((unsigned)spec->strategy > MRT_STRATEGY_REST_FOR_ONE)
    return refuse("unknown strategy", spec->name);
  if (spec->n_children > MAX_CHILDREN || (spec->n_children > 0 && spec->children == NULL))
    return refuse("bad children array", spec->name);
  if (spec->journal_capacity > MRT_SUPERVISOR_JOURNAL_MAX)
    return refuse("journal capacity too large", spec->name);
  for (size_t i = 0; i < spec->n_children; i++)
    for (size_t j = 0; j < i; j++)
      if (spec->children[i].id != NULL && spec->children[j].id != NULL &&
          strcmp(spec->children[i].id, spec->children[j].id) == 0)
        return refuse("duplicate child id", spec->children[i].id);
  return 0;
}

int mrt__sup_def_build(const mrt_supervisor_spec *spec, unsigned depth, mrt__sup_def **out) {
  *out = NULL;
  int rc = check_sup_spec(spec, depth);
  if (rc < 0)
    return rc;
  mrt__sup_def *d = calloc(1, sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  atomic_init(&d->refs, 1);
  snprintf(d->name, sizeof d->name, "%s", spec->name);
  d->strategy = spec->strategy;
  d->max_restarts = spec->max_restarts ? spec->max_restarts : MRT_SUPERVISOR_DEFAULT_MAX_RESTARTS;
  d->window_ns = spec->restart_window_ns ? spec->restart_window_ns : MRT_SUPERVISOR_DEFAULT_WINDOW;
  d->journal_capacity =
      spec->journal_capacity ? spec->journal_capacity : MRT_SUPERVISOR_DEFAULT_JOURNAL;
  if (spec->n_children > 0) {
    d->children = calloc(spec->n_children, sizeof *d->children);
    if (d->children == NULL) {
      free(d);
      return -ENOMEM;
    }
  }
  for (size_t i = 0; i < spec->n_children; i++) {
    rc = mrt__child_def_build(&spec->children[i], depth, &d->children[i]);
    if (rc < 0) {
      mrt__sup_def_unref(d);
      return rc;
    }
    d->n_children++;
  }
  *out = d;
  return 0;
}

mrt__sup_def *mrt__sup_def_ref(mrt__sup_def *d) {
  /* Relaxed: a new reference is taken from one already held. */
  if (d != NULL)
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
  return d;
}

void mrt__sup_def_unref(mrt__sup_def *d) {
  /* acq_rel: the last holder must see the others' use finished before free. */
  if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (size_t i = 0; i < d->n_children; i++)
    mrt__child_def_clear(&d->children[i]);
  free(d->children);
  free(d);
}

/* ---- commands ----------------------------------------------------------------- */

int mrt_child_command_init(mrt_child_command *cmd, mrt_child_command_kind kind,
                           const char *child_id) {
  if (cmd == NULL || kind <= MRT_CHILD_CMD_NONE || kind >= MRT_CHILD_CMD_ADD ||
      !mrt__child_id_valid(child_id)) {
    mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "command refused: %s",
            cmd == NULL ? "NULL command"
            : (kind <= MRT_CHILD_CMD_NONE || kind >= MRT_CHILD_CMD_ADD)
                ? "bad kind (ADD uses mrt_child_command_init_add)"
                : "bad child id");
    return -EINVAL;
  }
  memset(cmd, 0, sizeof *cmd);
  cmd->kind = kind;
  snprintf(cmd->child_id, sizeof cmd->child_id, "%s", child_id);
  return 0;
}

int mrt_child_command_init_add(mrt_child_command *cmd, const mrt_child_spec *spec) {
  if (cmd == NULL) {
    mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "command refused: NULL command");
    return -EINVAL;
  }
  memset(cmd, 0, sizeof *cmd);
  mrt__child_def *d = calloc(1, sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  int rc = mrt__child_def_build(spec, 0, d);
  if (rc < 0) {
    free(d);
    return rc;
  }
  cmd->kind = MRT_CHILD_CMD_ADD;
  snprintf(cmd->child_id, sizeof cmd->child_id, "%s", d->id);
  cmd->add = d;
  return 0;
}

void mrt_child_command_clear(mrt_child_command *cmd) {
  if (cmd == NULL || cmd->add == NULL)
    return;
  mrt__child_def_clear(cmd->add);
  free(cmd->add);
  cmd->add = NULL;
}

/* ---- reply lists ------------------------------------------------------------- */

int mrt__replies_push(mrt__replies *l, mrt_reply *r) {
  mrt_reply **v = mrt__grow(l->v, &l->cap, l->n, sizeof *v, 4);
  if (v == NULL)
    return -ENOMEM;
  l->v = v;
  l->v[l->n++] = r;
  return 0;
}

/* Unanswered tokens belong to the runtime, which answers them -ESRCH when the
 * supervisor stops; only the array is ours. */
void mrt__replies_free(mrt__replies *l) {
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}
