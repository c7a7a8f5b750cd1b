/* SPDX-License-Identifier: MIT */
/* meshrt — private structures of the supervisor (supervisor*.c).
 *
 * Object map: a supervisor actor's state (mrt__sup) owns its child records
 * (mrt__child, in start order), an immutable spec (mrt__sup_def, refcounted
 * because a nested supervisor's spec is shared between the parent's child
 * record and the nested actor's spawn args), the restart-limit window, the
 * event journal and the counters. Everything here is touched only from the
 * supervisor's own context (handlers, timers, continuations, on_start/on_stop),
 * except the def refcount.
 */
#ifndef MESHRT_SUPERVISOR_INTERNAL_H
#define MESHRT_SUPERVISOR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <meshrt/meshrt.h>
#include <meshrt/supervisor.h>

#define MRT__SUP_LOG "supervisor"

typedef struct mrt__sup_def mrt__sup_def;

/* A validated, owned copy of a child spec. */
typedef struct mrt__child_def {
  char id[MRT_CHILD_ID_MAX];
  const mrt_actor_class *cls; /* the supervisor class for nested supervisors */
  void *args;                 /* cls->args_size bytes (owned), NULL if none */
  mrt__sup_def *nested;       /* nested supervisor spec (reference held) or NULL */
  mrt_restart_policy restart;
  uint64_t grace_ns; /* resolved: > 0, MRT_SHUTDOWN_INFINITY for no limit */
  bool kill;
  mrt_backoff_config backoff; /* validated */
  mrt_readiness_policy readiness;
  uint64_t stale_ns;
  uint32_t mailbox_capacity;
} mrt__child_def;

struct mrt__sup_def {
  /* Only the count is shared across threads (a spawn arg may be dropped on
   * another executor); the rest is immutable after build. */
  _Atomic uint32_t refs;
  char name[MRT_SUPERVISOR_NAME_MAX];
  mrt_supervisor_strategy strategy;
  uint32_t max_restarts;
  uint64_t window_ns;
  uint32_t journal_capacity;
  size_t n_children;
  mrt__child_def *children;
};

/* supervisor_spec.c */
int mrt__sup_def_build(const mrt_supervisor_spec *spec, unsigned depth, mrt__sup_def **out);
mrt__sup_def *mrt__sup_def_ref(mrt__sup_def *d);
void mrt__sup_def_unref(mrt__sup_def *d);
int mrt__child_def_build(const mrt_child_spec *spec, unsigned depth, mrt__child_def *out);
int mrt__child_def_copy(mrt__child_def *dst, const mrt__child_def *src);
void mrt__child_def_clear(mrt__child_def *d);
bool mrt__child_id_valid(const char *id);

/* The supervisor class; args: one mrt__sup_def * (a reference). */
extern const mrt_actor_class mrt__supervisor_class;

/* A list of deferred reply tokens. */
typedef struct mrt__replies {
  mrt_reply **v;
  size_t n, cap;
} mrt__replies;
int mrt__replies_push(mrt__replies *l, mrt_reply *r);
void mrt__replies_free(mrt__replies *l);

/* An operator waiting (command with wait) for a child's stop to complete. */
typedef struct mrt__waiter {
  mrt_reply *reply;
  mrt_child_outcome outcome;
} mrt__waiter;

typedef struct mrt__child {
  uint64_t uid; /* unique per supervisor; timers refer to it */
  mrt__child_def def;
  mrt_ref *ref; /* the running attempt, or NULL */
  uint64_t actor_id, attempt, generation;
  mrt_child_status status;
  mrt_child_operation operation;
  mrt_readiness readiness;
  bool boot_pending;         /* part of the initial boot, not yet attempted */
  bool want_start;           /* start when allowed (gate, order) */
  bool force_start;          /* operator restart: start despite operation/gate */
  bool stop_queued;          /* a strategy stop will stop it (one at a time) */
  bool restart_after_stop;   /* restart once the strategy stop completed */
  uint64_t epoch;            /* restart group: gated members hold back later ones */
  mrt_stop_cause stop_cause; /* why the running attempt is being stopped */
  mrt_stop_state stop_state;
  uint64_t grace_timer, stale_timer; /* 0: none */
  bool has_heartbeat, stale;
  uint64_t last_heartbeat_ns;
  bool has_stop_failure, has_last_failure;
  mrt_child_failure stop_failure, last_failure;
  bool removal_had_attempt;
  mrt_child_operation removed_from; /* operation before remove */
  mrt_backoff backoff;
  uint64_t starts, restarts, failures, stale_count, stop_failures, backoff_ns_total;
  mrt__waiter *waiters;
  size_t n_waiters, cap_waiters;
} mrt__child;

typedef struct mrt__sup {
  mrt__sup_def *def;
  mrt_actor *self;       /* borrowed: valid while the supervisor runs */
  mrt_ref *barrier;      /* see supervisor.c: "waiting for on_start" */
  mrt__child **children; /* start order */
  size_t n, cap;
  mrt_supervisor_phase phase;
  uint64_t next_uid, generation, next_epoch, command_seq;
  uint64_t awaiting_uid; /* the child whose on_start we wait for, 0: none */
  uint64_t await_token;
  uint64_t gate_timer, gate_at;
  bool gate_unarmed; /* a gate timer could not be started (no memory) */
  /* Restart limit: instants of the restarts inside the window, oldest first,
   * in a ring of max_restarts entries. */
  uint64_t *limit_at;
  uint32_t limit_head, limit_len;
  uint64_t limit_updated_ns;
  /* Event journal: a ring of journal_capacity events. */
  mrt_supervisor_event *journal;
  uint32_t j_head, j_len;
  uint64_t seq;
  uint64_t restarts, escalations, operations[MRT_CHILD_CMD_COUNT];
  char escalation_reason[MRT_EXIT_REASON_MAX];
  /* The operator command being handled (events it causes name it). */
  mrt_child_command_kind cur_command;
  uint64_t cur_command_id;
  bool booted, finished;
  /* Outcomes of commands told (not asked) with a nonce, for a fetch that
   * follows (see mrt_supervisor_control). */
  struct {
    uint64_t nonce;
    int rc;
    mrt_child_outcome outcome;
  } told[8];
  unsigned told_next;
  mrt__replies boot_waiters, stop_waiters;
} mrt__sup;

/* supervisor.c: the engine */
mrt__child *mrt__sup_find(mrt__sup *sup, const char *id);
mrt__child *mrt__sup_find_actor(mrt__sup *sup, uint64_t actor_id);
/* c's position in the start order (n if it is not there). */
size_t mrt__sup_index_of(const mrt__sup *sup, const mrt__child *c);
mrt__child *mrt__sup_child_add(mrt__sup *sup, const mrt__child_def *def);
void mrt__sup_child_delete(mrt__sup *sup, mrt__child *c);
/* Delivers a stop to c's running attempt (cause recorded, grace timer armed).
 * Returns true if a stop went out now. */
bool mrt__sup_stop_child(mrt__sup *sup, mrt__child *c, mrt_stop_cause cause);
void mrt__sup_cancel_restart(mrt__sup *sup, mrt__child *c);
void mrt__sup_begin_stop(mrt__sup *sup, mrt_supervisor_phase phase);
/* Decides and performs the next steps (stops, starts, gate timer). Called at
 * the end of every entry point that changed something. */
void mrt__sup_drive(mrt__sup *sup);
/* If a gate timer could not be started, drives again (handlers call it, so
 * the next message after a memory shortage gets a stalled restart going). */
void mrt__sup_heal(mrt__sup *sup);
uint64_t mrt__sup_now(const mrt__sup *sup);

/* supervisor_exit.c: ends of attempts */
void mrt__sup_record_failure(mrt__sup *sup, mrt__child *c, const mrt_exit *why);
/* Emits BACKOFF_SCHEDULED if c's gate is closed (and counts the wait). */
void mrt__sup_announce_gate(mrt__sup *sup, mrt__child *c);
int mrt__sup_on_down(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);

/* supervisor_observe.c: events, limit, snapshots, metrics */
void mrt__sup_event_init(mrt__sup *sup, const mrt__child *c, mrt_supervisor_event_kind kind,
                         mrt_supervisor_event *ev);
void mrt__sup_event_commit(mrt__sup *sup, mrt_supervisor_event *ev);
void mrt__sup_emit(mrt__sup *sup, const mrt__child *c, mrt_supervisor_event_kind kind);
int mrt__sup_journal_init(mrt__sup *sup);
void mrt__sup_limit_state(mrt__sup *sup, mrt_restart_limit_state *out);
void mrt__sup_fill_record(mrt__sup *sup, const mrt__child *c, uint64_t now, mrt_child_record *out);
int mrt__sup_on_state(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_events(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_metrics(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);

/* Fetches the outcome of a command told with a nonce: payload the nonce,
 * reply the outcome (or -ENOENT). */
extern const mrt_msg_type mrt__msg_sup_fetch;

/* supervisor_control.c: operator commands and other requests */
void mrt__sup_fill_outcome(mrt__sup *sup, const mrt__child *c, mrt_child_outcome *out);
void mrt__sup_answer_waiters(mrt__sup *sup, mrt__child *c);
int mrt__sup_on_control(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_child(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_await_boot(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_shutdown(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
int mrt__sup_on_fetch(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);

#endif
