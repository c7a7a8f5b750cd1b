/* SPDX-License-Identifier: MIT */
/* meshrt — supervisors: child specs, restart strategies, backoff, restart
 * limits, operator control, runtime state, events and metrics.
 *
 * A supervisor is an actor that starts child actors from child specs and keeps
 * them running. Erlang/OTP's supervisor is the semantic reference.
 *
 * Starting. Children start in spec order; each waits until the previous one's
 * on_start has run (a nested supervisor counts as started once each of its own
 * children was started once). Children run on the supervisor's executor and
 * are spawned with the supervisor as their parent (mrt_actor_parent()), which
 * is how they report readiness and heartbeats (mrt_supervisor_report_ready(),
 * mrt_supervisor_heartbeat()). The supervisor monitors every child.
 *
 * Restarting. When a child exits on its own, its restart policy decides:
 * permanent children always restart, transient ones only after an abnormal
 * exit (mrt_exit_is_abnormal()), temporary ones never. The strategy decides
 * who restarts with it: one-for-one restarts only the child; one-for-all
 * stops every other child (in reverse start order, one at a time) and
 * restarts all of them in start order; rest-for-one does the same for the
 * children started after it. Each restart waits for the child's backoff gate
 * (<meshrt/backoff.h>: 500 ms doubling to 60 s, 5 crashes in 60 s -> 5 min
 * crash-loop cooldown, by default); children restarted together wait, in start
 * order, for the gates of the ones before them. If memory runs out just
 * when a gate's timer must be set, the next message the supervisor handles
 * (a query, a report, a command) sets it.
 *
 * Restart limit. At most max_restarts automatic restarts within restart_window_ns
 * (operator restarts do not count). One more exceeds the limit: the supervisor
 * stops all its children (reverse start order, with their shutdown policy) and
 * then fails itself with MRT_SUPERVISOR_EINTENSITY and the reason "intensity
 * exceeded ...", so its own supervisor sees an abnormal exit and applies its
 * policy. A supervisor without a supervisor logs the escalation at error level.
 *
 * Shutdown policy (grace, then kill). An actor cannot refuse mrt_actor_stop(),
 * so a child gets a chance to finish first: the supervisor tells it
 * mrt_msg_supervisor_stop_request. A class that handles that message cleans up
 * and calls mrt_actor_stop(self) (now or later, e.g. after a flush);
 * mrt_supervisor_stop_request_default() stops at once. A class that does not
 * handle it is stopped with mrt_actor_stop() at once. Either way the supervisor
 * waits up to the grace period for the child's exit; if the grace period
 * expires it kills the child (mrt_actor_kill()) and records a stop failure
 * (phase MRT_STOP_PHASE_WAIT_COMPLETION and a reason) in the child's record, in
 * the outcome of operator commands and as an MRT_SUP_EV_STOP_FAILED event.
 * Exits the supervisor asked for never count as crashes; whether the child
 * comes back then depends on why it was stopped (a group restart, an operator
 * restart), not on its restart policy — except that temporary children never
 * come back with a group. A supervisor that gets a stop request (as a nested
 * child) or the runtime's shutdown signal stops its own tree the same way,
 * then exits normally.
 *
 * Operator control (pause, resume, remove, quarantine, restart, add) is
 * idempotent and answered with an outcome record; an operator command always
 * wins over an automatic restart racing with it. State, events and metrics are
 * read with asks, so they see the supervisor between two messages.
 *
 * Threads. A supervisor's state is touched only by its own handlers. The
 * blocking functions below (those taking an mrt_ref *sup) use mrt_ask_sync():
 * call them from host threads, not from actors (-EDEADLK); actors send the
 * same requests with the typed ask wrappers of the message types declared at
 * the end (MRT_ASK(supervisor_control, ), ...). The child helpers
 * (mrt_supervisor_report_ready(), ...) run in the child's own context.
 */
#ifndef MESHRT_SUPERVISOR_H
#define MESHRT_SUPERVISOR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/actor.h>
#include <meshrt/backoff.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest child id and supervisor name, including the terminating NUL. */
#define MRT_CHILD_ID_MAX 64
#define MRT_SUPERVISOR_NAME_MAX 48

/* Defaults applied to zero fields of the specs. */
#define MRT_SUPERVISOR_DEFAULT_MAX_RESTARTS 3u
#define MRT_SUPERVISOR_DEFAULT_WINDOW MRT_SEC(5)
#define MRT_SUPERVISOR_DEFAULT_JOURNAL 256u
#define MRT_SUPERVISOR_JOURNAL_MAX 65536u
#define MRT_CHILD_DEFAULT_GRACE MRT_SEC(5)
/* A grace period that never ends: the supervisor waits for the exit forever
 * (the default for nested supervisors, which stop their own trees first). */
#define MRT_SHUTDOWN_INFINITY UINT64_MAX

/* The error a supervisor fails with when its restart limit is exceeded. */
#define MRT_SUPERVISOR_EINTENSITY (-EMLINK)

typedef enum mrt_restart_policy {
  MRT_RESTART_PERMANENT = 0, /* always restart */
  MRT_RESTART_TRANSIENT = 1, /* restart only after an abnormal exit */
  MRT_RESTART_TEMPORARY = 2, /* never restart; the record stays, without attempt */
} mrt_restart_policy;

typedef enum mrt_supervisor_strategy {
  MRT_STRATEGY_ONE_FOR_ONE = 0,
  MRT_STRATEGY_ONE_FOR_ALL = 1,
  MRT_STRATEGY_REST_FOR_ONE = 2,
} mrt_supervisor_strategy;

typedef enum mrt_readiness_policy {
  MRT_READINESS_IMMEDIATE = 0, /* ready as soon as on_start has run */
  MRT_READINESS_EXPLICIT = 1,  /* ready when the child reports it */
} mrt_readiness_policy;

typedef struct mrt_supervisor_spec mrt_supervisor_spec;

/* One child. Everything is copied when the spec is accepted. */
typedef struct mrt_child_spec {
  const char *id; /* unique within the supervisor, 1..63 bytes */
  /* The actor class (static) and its start args: cls->args_size bytes copied
   * once and passed to every attempt, so they must be plain data — a class
   * with args_drop is refused (-EINVAL). */
  const mrt_actor_class *cls;
  const void *args;
  /* Instead of cls/args: the child is a nested supervisor built from this spec
   * (deep-copied). */
  const mrt_supervisor_spec *supervisor;
  mrt_restart_policy restart;
  /* Shutdown policy: how long a child may take to exit after a stop request
   * before it is killed. 0: MRT_CHILD_DEFAULT_GRACE for actors,
   * MRT_SHUTDOWN_INFINITY for nested supervisors. */
  uint64_t shutdown_grace_ns;
  bool shutdown_kill;                /* no stop request, no grace: kill at once */
  const mrt_backoff_config *backoff; /* NULL: mrt_backoff_config_default() */
  mrt_readiness_policy readiness;
  /* A child that reported a heartbeat and then stays silent this long is
   * "stale" (state, event, metric). 0: heartbeats are recorded, never stale. */
  uint64_t heartbeat_stale_ns;
  uint32_t mailbox_capacity; /* the child's mailbox; 0: unbounded */
} mrt_child_spec;

struct mrt_supervisor_spec {
  const char *name; /* for logs, events and metric labels; 1..47 bytes */
  mrt_supervisor_strategy strategy;
  uint32_t max_restarts;      /* restart limit; 0: MRT_SUPERVISOR_DEFAULT_MAX_RESTARTS
                                   (children that must never restart are temporary) */
  uint64_t restart_window_ns; /* 0: MRT_SUPERVISOR_DEFAULT_WINDOW */
  uint32_t journal_capacity;  /* events kept; 0: MRT_SUPERVISOR_DEFAULT_JOURNAL */
  const mrt_child_spec *children;
  size_t n_children;
};

/* Spawns a supervisor from a deep copy of *spec (the caller keeps *spec).
 * opts as for mrt_actor_spawn (may be NULL); its mailbox is always unbounded,
 * so no child exit can be lost. The children start right after. Any thread.
 * Returns 0, -EINVAL (invalid spec: logged with the reason), -ENOMEM,
 * -ESHUTDOWN. */
MRT_API int mrt_supervisor_spawn(mrt_runtime *rt, const mrt_supervisor_spec *spec,
                                 const mrt_spawn_opts *opts, mrt_ref **out);

/* Waits until every child of the initial spec was started once (on a
 * hand-driven runtime this drives it). Host thread. Returns 0, -ETIMEDOUT,
 * -ESRCH (the supervisor stopped), -EINVAL, -EDEADLK. timeout_ns 0: 5 s. */
MRT_API int mrt_supervisor_await_boot(mrt_ref *sup, uint64_t timeout_ns);

/* Stops the tree in order: no more restarts, children stopped in reverse
 * start order with their shutdown policies, then the supervisor itself
 * (normal exit). Returns once all is done: 0, or -ETIMEDOUT, -ESRCH, -EINVAL,
 * -EDEADLK, -ENOMEM (nothing was stopped; it may be asked again). Host
 * thread. timeout_ns 0: 30 s. */
MRT_API int mrt_supervisor_shutdown(mrt_ref *sup, uint64_t timeout_ns);

/* ---- runtime state --------------------------------------------------------- */

typedef enum mrt_child_status {
  MRT_CHILD_STARTING = 0, /* spawned, on_start not yet confirmed */
  MRT_CHILD_RUNNING = 1,  /* on_start ran; not (or no longer) reported ready */
  MRT_CHILD_READY = 2,    /* running and ready */
  MRT_CHILD_STOPPING = 3, /* a stop was requested; waiting for the exit */
  MRT_CHILD_STOPPED = 4,  /* no attempt is running */
} mrt_child_status;

typedef enum mrt_child_operation {
  MRT_OP_ACTIVE = 0,      /* supervised normally */
  MRT_OP_PAUSED = 1,      /* stopped by an operator; no restart until resumed */
  MRT_OP_QUARANTINED = 2, /* stopped; never restarted until resumed or restarted */
  MRT_OP_REMOVED = 3,     /* being removed; the record goes once the child exited */
} mrt_child_operation;

typedef enum mrt_readiness {
  MRT_READINESS_UNREPORTED = 0,
  MRT_READINESS_READY = 1,
  MRT_READINESS_NOT_READY = 2,
} mrt_readiness;

typedef enum mrt_stop_state {
  MRT_STOP_NONE = 0,              /* no stop asked of the current attempt */
  MRT_STOP_NO_ACTIVE_ATTEMPT = 1, /* nothing is running (nothing to stop) */
  MRT_STOP_REQUESTED = 2,         /* stop delivered; waiting up to the grace period */
  MRT_STOP_COMPLETED = 3,         /* the attempt exited after the stop, in time */
  MRT_STOP_FAILED = 4,            /* the grace period expired; the attempt was killed */
} mrt_stop_state;

typedef enum mrt_stop_phase {
  MRT_STOP_PHASE_NONE = 0,
  MRT_STOP_PHASE_DELIVER = 1,         /* the stop request could not be delivered */
  MRT_STOP_PHASE_WAIT_COMPLETION = 2, /* the child did not exit within its grace */
} mrt_stop_phase;

/* Why a stop went wrong (stop failures), or how an attempt ended (last failure:
 * phase NONE, exit_kind/error/reason from the exit). */
typedef struct mrt_child_failure {
  mrt_stop_phase phase;
  mrt_exit_kind exit_kind;
  int error;
  uint64_t at_ns;
  char reason[MRT_EXIT_REASON_MAX];
} mrt_child_failure;

/* The supervisor's restart limit as of the read. */
typedef struct mrt_restart_limit_state {
  uint32_t limit;     /* restarts allowed per window */
  uint32_t used;      /* restarts inside the window ending now */
  uint32_t remaining; /* limit - used */
  bool exhausted;     /* remaining == 0: the next automatic restart escalates */
  uint64_t window_ns;
  uint64_t updated_at_ns; /* last change (a restart counted), 0 if none */
} mrt_restart_limit_state;

/* One child's runtime record. */
typedef struct mrt_child_record {
  char id[MRT_CHILD_ID_MAX];
  mrt_restart_policy restart;
  bool active;         /* an attempt is running (or starting, or stopping) */
  uint64_t actor_id;   /* the running attempt's actor id, 0 if none */
  uint64_t attempt;    /* 1-based start count of the running attempt; 0 if none */
  uint64_t generation; /* supervisor restart generation the attempt started in; 0 if none */
  mrt_child_status status;
  mrt_child_operation operation;
  mrt_readiness readiness;
  bool has_heartbeat; /* a heartbeat arrived during the running attempt */
  uint64_t last_heartbeat_ns;
  uint64_t heartbeat_age_ns;
  bool heartbeat_stale; /* active, has_heartbeat, threshold > 0 and age >= threshold */
  uint64_t heartbeat_stale_threshold_ns;
  mrt_restart_limit_state restart_limit;
  mrt_backoff_status backoff; /* gate as of now (IDLE / BACKING_OFF / CRASH_LOOPING until) */
  uint64_t next_backoff_ns;   /* gate the next crash would apply */
  mrt_stop_state stop_state;
  bool has_stop_failure;
  mrt_child_failure stop_failure;
  bool has_last_failure; /* the last abnormal exit of any attempt */
  mrt_child_failure last_failure;
  uint64_t starts, restarts, failures;
} mrt_child_record;

typedef enum mrt_supervisor_phase {
  MRT_SUPERVISOR_BOOTING = 0, /* initial children still starting */
  MRT_SUPERVISOR_RUNNING = 1,
  MRT_SUPERVISOR_STOPPING = 2,   /* shutting its tree down */
  MRT_SUPERVISOR_ESCALATING = 3, /* restart limit exceeded; stopping, then failing */
} mrt_supervisor_phase;

typedef struct mrt_supervisor_state {
  char name[MRT_SUPERVISOR_NAME_MAX];
  uint64_t actor_id;
  mrt_supervisor_strategy strategy;
  mrt_supervisor_phase phase;
  uint64_t now_ns;     /* runtime clock at the read */
  uint64_t generation; /* restarts so far (automatic and operator) */
  uint64_t last_event_seq;
  mrt_restart_limit_state restart_limit;
  size_t n_children;
  mrt_child_record children[]; /* in start order */
} mrt_supervisor_state;

/* Reads every child's record. *out is the caller's; free it with
 * mrt_supervisor_state_free(). Host thread. Returns 0, -EINVAL, -ESRCH,
 * -ETIMEDOUT, -EDEADLK, -ENOMEM. */
MRT_API int mrt_supervisor_current_state(mrt_ref *sup, mrt_supervisor_state **out);
/* Frees a state from mrt_supervisor_current_state (one allocation; records
 * found in it die with it). NULL-safe. Any thread. */
MRT_API void mrt_supervisor_state_free(mrt_supervisor_state *state);
/* The record of child `id` in *state (borrowed: valid until the state is
 * freed), or NULL (no such child, NULL argument). Any thread. */
MRT_API const mrt_child_record *mrt_supervisor_state_find(const mrt_supervisor_state *state,
                                                          const char *id);

/* A new reference to child `id`'s running attempt (*out; the caller unrefs).
 * Host thread. Returns 0, -ENOENT (no such child, or no attempt running),
 * -EINVAL, -ESRCH, -ETIMEDOUT, -EDEADLK. */
MRT_API int mrt_supervisor_child_ref(mrt_ref *sup, const char *id, mrt_ref **out);

/* ---- operator control --------------------------------------------------------
 *
 * pause       stop the running attempt; no automatic restart until resumed.
 * resume      back to ACTIVE from PAUSED or QUARANTINED; starts the child when
 *             its backoff gate allows.
 * remove      stop the running attempt and delete the record once it exited.
 * quarantine  as pause, but meant "do not touch": only resume or restart
 *             release it.
 * restart     stop the running attempt (if any) and start a new one at once,
 *             bypassing and resetting the backoff gate; releases PAUSED and
 *             QUARANTINED. Does not count against the restart limit.
 * add         a new child, appended to the start order and started.
 * A command that finds the child already as asked changes nothing and reports
 * idempotent (no stop is delivered twice); pausing a quarantined child is
 * idempotent too (quarantine is the stronger hold). Commands on a removed or unknown
 * child fail with -ENOENT; while the supervisor stops its tree, -ESHUTDOWN.
 */
typedef enum mrt_child_command_kind {
  MRT_CHILD_CMD_NONE = 0,
  MRT_CHILD_CMD_PAUSE = 1,
  MRT_CHILD_CMD_RESUME = 2,
  MRT_CHILD_CMD_REMOVE = 3,
  MRT_CHILD_CMD_QUARANTINE = 4,
  MRT_CHILD_CMD_RESTART = 5,
  MRT_CHILD_CMD_ADD = 6,
} mrt_child_command_kind;
#define MRT_CHILD_CMD_COUNT 7

typedef struct mrt_child_outcome {
  char child_id[MRT_CHILD_ID_MAX];
  mrt_child_command_kind command;
  uint64_t command_id; /* unique per supervisor, > 0 */
  mrt_child_operation operation_before, operation_after;
  bool stop_delivered; /* this command sent a stop to a running attempt */
  bool idempotent;     /* the child already was as asked: nothing changed */
  /* The attempt as of the reply (with wait: after the stop completed). */
  bool active;
  uint64_t attempt, generation; /* the attempt targeted (0 when none was running) */
  mrt_child_status status;
  mrt_stop_state stop_state;
  bool has_failure; /* a stop of this child failed (grace ignored) */
  mrt_child_failure failure;
  mrt_restart_limit_state restart_limit;
} mrt_child_outcome;

struct mrt__child_def;

/* The request behind every command (the payload of mrt_msg_supervisor_control,
 * for actors that ask asynchronously). Build it with mrt_child_command_init()
 * or mrt_child_command_init_add(); the latter allocates a copy of the child
 * spec that the message owns once sent — if sending fails, release it with
 * mrt_child_command_clear(). */
typedef struct mrt_child_command {
  mrt_child_command_kind kind;
  char child_id[MRT_CHILD_ID_MAX];
  /* Reply only once the stop this command delivered (or found in progress)
   * has completed, so the outcome shows COMPLETED or FAILED and the failure. */
  bool wait;
  struct mrt__child_def *add; /* ADD only; private */
  uint64_t nonce;             /* private (0): set by mrt_supervisor_control */
} mrt_child_command;

/* Fills *cmd (caller's storage; it owns nothing, clearing is optional) for a
 * command on child `child_id` (copied). Any thread. Returns 0 or -EINVAL
 * (NULL, bad kind — ADD has its own init —, bad id). */
MRT_API int mrt_child_command_init(mrt_child_command *cmd, mrt_child_command_kind kind,
                                   const char *child_id);
/* Fills *cmd for ADD with a validated deep copy of *spec (the caller keeps
 * *spec). The command owns the copy until it is sent (mrt_supervisor_control
 * takes it in every case; MRT_TELL of mrt_msg_supervisor_control takes it on
 * success) or cleared with mrt_child_command_clear. Any thread. Returns 0,
 * -EINVAL (invalid spec, logged), -ENOMEM. */
MRT_API int mrt_child_command_init_add(mrt_child_command *cmd, const mrt_child_spec *spec);
/* Releases what an unsent ADD command owns (nothing for other kinds).
 * NULL-safe. Any thread. */
MRT_API void mrt_child_command_clear(mrt_child_command *cmd);

/* Sends a command and waits for its outcome (*out may be NULL). Ownership of
 * cmd->add passes to the call in every case. Host thread. timeout_ns 0: 30 s.
 * Returns 0, or -ENOENT, -EEXIST (ADD of an id that exists with another
 * class), -ESHUTDOWN, -EINVAL, -ESRCH, -ETIMEDOUT, -EDEADLK, -ENOMEM. */
MRT_API int mrt_supervisor_control(mrt_ref *sup, mrt_child_command *cmd, mrt_child_outcome *out,
                                   uint64_t timeout_ns);

/* Shorthands for mrt_supervisor_control without wait (the outcome is the
 * supervisor's answer when the command was applied, before a stop it sent
 * has completed), with its 30 s deadline. Each copies `id` (1..63 bytes) and
 * fills *out if not NULL. Host thread. Returns 0, or -EINVAL (NULL sup, bad
 * id), -ENOENT (unknown or removed child), -ESHUTDOWN (the supervisor is
 * stopping its tree), or the errors of mrt_ask_sync (-ESRCH, -ETIMEDOUT,
 * -EDEADLK, -ENOMEM). */

/* Pause: stop the running attempt; no automatic restart until resumed. */
MRT_API int mrt_supervisor_pause(mrt_ref *sup, const char *id, mrt_child_outcome *out);
/* Resume: back to ACTIVE from PAUSED or QUARANTINED; the child starts when
 * its backoff gate allows. Errors as mrt_supervisor_pause. */
MRT_API int mrt_supervisor_resume(mrt_ref *sup, const char *id, mrt_child_outcome *out);
/* Remove: stop the running attempt and delete the record once it exited.
 * Errors as mrt_supervisor_pause. */
MRT_API int mrt_supervisor_remove(mrt_ref *sup, const char *id, mrt_child_outcome *out);
/* Quarantine: as pause, released only by resume or restart. Errors as
 * mrt_supervisor_pause. */
MRT_API int mrt_supervisor_quarantine(mrt_ref *sup, const char *id, mrt_child_outcome *out);
/* Restart: stop the running attempt (if any) and start a new one at once,
 * bypassing and resetting the backoff gate. Errors as mrt_supervisor_pause. */
MRT_API int mrt_supervisor_restart(mrt_ref *sup, const char *id, mrt_child_outcome *out);
/* Add: a new child from a deep copy of *spec (the caller keeps *spec),
 * appended to the start order and started. Errors as mrt_supervisor_pause,
 * plus -EINVAL for an invalid spec (logged) and -EEXIST for an id that
 * exists with another class. */
MRT_API int mrt_supervisor_add_child(mrt_ref *sup, const mrt_child_spec *spec,
                                     mrt_child_outcome *out);

/* ---- what children call (in their own context) ------------------------------ */

/* Report readiness / a heartbeat to the supervisor (the actor's parent), as
 * a tell: it takes effect when the supervisor handles it. In self's context.
 * Returns 0, -EINVAL (NULL self), -ESRCH (no parent, or it stopped), -ENOTSUP
 * (the parent is not a supervisor), -ENOMEM. */
MRT_API int mrt_supervisor_report_ready(mrt_actor *self);
/* Reports "not ready" (readiness NOT_READY; the child keeps running).
 * Same rules and errors as mrt_supervisor_report_ready. */
MRT_API int mrt_supervisor_report_not_ready(mrt_actor *self);
/* Reports a heartbeat: the child's record takes the time, and a child that
 * stays silent heartbeat_stale_ns after one is marked stale. Same rules and
 * errors as mrt_supervisor_report_ready. */
MRT_API int mrt_supervisor_heartbeat(mrt_actor *self);

/* Payload of mrt_msg_supervisor_stop_request: the supervisor wants the child
 * to exit and will kill it at deadline_ns (runtime clock; UINT64_MAX: never). */
typedef enum mrt_stop_cause {
  MRT_STOP_CAUSE_NONE = 0,
  MRT_STOP_CAUSE_OPERATOR = 1, /* pause, quarantine, remove */
  MRT_STOP_CAUSE_RESTART = 2,  /* operator restart */
  MRT_STOP_CAUSE_STRATEGY = 3, /* a sibling failed (one-for-all, rest-for-one) */
  MRT_STOP_CAUSE_SHUTDOWN = 4, /* the tree is stopping (shutdown, escalation) */
} mrt_stop_cause;

typedef struct mrt_stop_request {
  mrt_stop_cause cause;
  uint64_t grace_ns;
  uint64_t deadline_ns;
} mrt_stop_request;

/* A handler for mrt_msg_supervisor_stop_request that stops the actor at once
 * (for handler tables); runs in the child's context like any handler.
 * Returns 0. */
MRT_API int mrt_supervisor_stop_request_default(mrt_actor *self, void *state, const void *payload,
                                                mrt_reply *reply);

/* ---- events ------------------------------------------------------------------ */

typedef enum mrt_supervisor_event_kind {
  MRT_SUP_EV_STARTING = 0, /* an attempt was spawned */
  MRT_SUP_EV_RUNNING = 1,  /* its on_start ran */
  MRT_SUP_EV_READY = 2,
  MRT_SUP_EV_NOT_READY = 3,
  MRT_SUP_EV_FAILED = 4,            /* exited abnormally on its own */
  MRT_SUP_EV_EXITED = 5,            /* exited normally on its own */
  MRT_SUP_EV_BACKOFF_SCHEDULED = 6, /* a restart waits for the gate until until_ns */
  MRT_SUP_EV_RESTARTING = 7,        /* a restart begins (automatic or operator) */
  MRT_SUP_EV_PAUSED = 8,
  MRT_SUP_EV_RESUMED = 9,
  MRT_SUP_EV_QUARANTINED = 10,
  MRT_SUP_EV_REMOVED = 11,        /* the record was deleted */
  MRT_SUP_EV_STOP_DELIVERED = 12, /* a stop request (or stop) went to an attempt */
  MRT_SUP_EV_STOPPED = 13,        /* an attempt exited after a stop request */
  MRT_SUP_EV_STOP_FAILED = 14,    /* the grace period expired; killed */
  MRT_SUP_EV_HEARTBEAT_STALE = 15,
  MRT_SUP_EV_LIMIT_EXHAUSTED = 16, /* the restart limit has no restart left */
  MRT_SUP_EV_ESCALATED = 17,       /* the limit was exceeded: stopping the tree, then failing */
  MRT_SUP_EV_ADDED = 18,
} mrt_supervisor_event_kind;
#define MRT_SUP_EV_COUNT 19

typedef struct mrt_supervisor_event {
  uint64_t seq; /* 1, 2, ... per supervisor, never reused */
  uint64_t at_ns;
  uint64_t supervisor_id; /* the supervisor's actor id */
  char supervisor[MRT_SUPERVISOR_NAME_MAX];
  mrt_supervisor_event_kind kind;
  char child_id[MRT_CHILD_ID_MAX]; /* "" for supervisor-wide events */
  uint64_t attempt, generation;    /* the child's running or last attempt (0: none yet) */
  mrt_child_status status;         /* the child's status after the event */
  mrt_child_operation operation_from, operation_to;
  mrt_child_command_kind command; /* the operator command behind it, or NONE */
  uint64_t command_id;
  mrt_backoff_phase backoff_phase; /* BACKOFF_SCHEDULED */
  uint64_t until_ns;
  mrt_exit_kind exit_kind; /* FAILED, EXITED, STOPPED, ESCALATED */
  int error;
  char reason[MRT_EXIT_REASON_MAX];
  mrt_stop_state stop_state;  /* STOP_DELIVERED, STOPPED, STOP_FAILED */
  mrt_stop_phase stop_phase;  /* STOP_FAILED */
  bool had_attempt;           /* REMOVED: an attempt ran when removal began */
  uint32_t limit_used, limit; /* LIMIT_EXHAUSTED, ESCALATED */
} mrt_supervisor_event;

/* Events are kept in a bounded journal (journal_capacity, oldest dropped) and
 * published on the runtime's bus (mrt_runtime_bus()) as
 * mrt_msg_supervisor_event, so actors can subscribe to every supervisor's
 * events. */
typedef struct mrt_supervisor_event_list {
  uint64_t last_seq; /* newest event so far (0: none) */
  uint64_t dropped;  /* events after after_seq no longer in the journal */
  size_t n;
  mrt_supervisor_event events[];
} mrt_supervisor_event_list;

/* Copies the journal's events with seq > after_seq, oldest first. Free *out
 * with mrt_supervisor_event_list_free(). Host thread. Returns 0, -EINVAL,
 * -ESRCH, -ETIMEDOUT, -EDEADLK, -ENOMEM. */
MRT_API int mrt_supervisor_events(mrt_ref *sup, uint64_t after_seq,
                                  mrt_supervisor_event_list **out);
/* Frees a list from mrt_supervisor_events (one allocation). NULL-safe. Any
 * thread. */
MRT_API void mrt_supervisor_event_list_free(mrt_supervisor_event_list *list);

/* ---- metrics ----------------------------------------------------------------- */

typedef struct mrt_child_metrics {
  char id[MRT_CHILD_ID_MAX];
  mrt_child_status status;
  mrt_child_operation operation;
  bool ready;
  uint64_t starts, restarts, failures;
  uint64_t stale_heartbeats; /* times a heartbeat went stale */
  uint64_t stop_failures;
  uint64_t backoff_ns_total; /* time restarts were scheduled to wait for gates */
} mrt_child_metrics;

typedef struct mrt_supervisor_metrics {
  char name[MRT_SUPERVISOR_NAME_MAX];
  uint64_t restarts; /* automatic restarts (one per strategy restart) */
  uint64_t escalations;
  uint64_t events;
  uint64_t operations[MRT_CHILD_CMD_COUNT]; /* commands received, by kind */
  uint32_t limit, limit_remaining;
  size_t n_children;
  mrt_child_metrics children[];
} mrt_supervisor_metrics;

/* Reads the counters and gauges. Free with mrt_supervisor_metrics_free().
 * Host thread. Returns 0, -EINVAL, -ESRCH, -ETIMEDOUT, -EDEADLK, -ENOMEM. */
MRT_API int mrt_supervisor_metrics_get(mrt_ref *sup, mrt_supervisor_metrics **out);
/* Frees metrics from mrt_supervisor_metrics_get (one allocation). NULL-safe.
 * Any thread. */
MRT_API void mrt_supervisor_metrics_free(mrt_supervisor_metrics *m);

/* Renders the metrics of n supervisors as Prometheus text exposition (one
 * HELP/TYPE header per family, samples labelled supervisor="..." and
 * child="..."). Writes at most size bytes including a NUL (buf may be NULL
 * when size is 0) and returns the length the full text needs, excluding the
 * NUL — like snprintf. Returns -EINVAL for NULL arguments. Any thread. */
MRT_API int mrt_supervisor_metrics_render(const mrt_supervisor_metrics *const *m, size_t n,
                                          char *buf, size_t size);

/* ---- names (static strings, never NULL) -------------------------------------- */

/* "starting", "running", "ready", "stopping", "stopped"; "?" outside the
 * enum. Any thread. */
MRT_API const char *mrt_child_status_name(mrt_child_status s);
/* "active", "paused", "quarantined", "removed"; "?" outside the enum. Any
 * thread. */
MRT_API const char *mrt_child_operation_name(mrt_child_operation op);
/* "unreported", "ready", "not_ready"; "?" outside the enum. Any thread. */
MRT_API const char *mrt_readiness_name(mrt_readiness r);
/* "none", "no_active_attempt", "requested", "completed", "failed"; "?"
 * outside the enum. Any thread. */
MRT_API const char *mrt_stop_state_name(mrt_stop_state s);
/* "none", "pause", "resume", "remove", "quarantine", "restart", "add"; "?"
 * outside the enum. Any thread. */
MRT_API const char *mrt_child_command_name(mrt_child_command_kind k);
/* The event kind in lower case with underscores ("backoff_scheduled",
 * "stop_failed", ...); "?" outside the enum. Any thread. */
MRT_API const char *mrt_supervisor_event_kind_name(mrt_supervisor_event_kind k);

/* ---- message types (for actors that ask asynchronously) ---------------------- */

/* Replies that carry an allocation own it: with mrt_ask_sync the caller owns
 * it after the call (free it as above); an async continuation sees it during
 * the call only (the reply's drop hook frees it afterwards). */
typedef struct mrt_supervisor_state_reply {
  mrt_supervisor_state *state;
} mrt_supervisor_state_reply;
typedef struct mrt_supervisor_events_query {
  uint64_t after_seq;
} mrt_supervisor_events_query;
typedef struct mrt_supervisor_events_reply {
  mrt_supervisor_event_list *list;
} mrt_supervisor_events_reply;
typedef struct mrt_supervisor_metrics_reply {
  mrt_supervisor_metrics *metrics;
} mrt_supervisor_metrics_reply;
typedef struct mrt_supervisor_child_query {
  char id[MRT_CHILD_ID_MAX];
} mrt_supervisor_child_query;
typedef struct mrt_supervisor_child_reply {
  mrt_ref *ref;
} mrt_supervisor_child_reply;

/* What children report (built by the helpers above). */
typedef enum mrt_child_report_kind {
  MRT_CHILD_REPORT_READY = 0,
  MRT_CHILD_REPORT_NOT_READY = 1,
  MRT_CHILD_REPORT_HEARTBEAT = 2,
  MRT_CHILD_REPORT_BOOTED = 3, /* a nested supervisor started all its children */
} mrt_child_report_kind;
typedef struct mrt_child_report {
  uint64_t child_actor_id;
  mrt_child_report_kind kind;
} mrt_child_report;

MRT_MESSAGE_DECLARE(MRT_API, supervisor_control, mrt_child_command, mrt_child_outcome);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_state, mrt_none, mrt_supervisor_state_reply);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_events, mrt_supervisor_events_query,
                    mrt_supervisor_events_reply);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_metrics, mrt_none, mrt_supervisor_metrics_reply);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_child, mrt_supervisor_child_query,
                    mrt_supervisor_child_reply);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_await_boot, mrt_none, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_shutdown, mrt_none, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_report, mrt_child_report, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, supervisor_stop_request, mrt_stop_request, mrt_none);
/* Published on the bus for every event (also for subscribers' handler tables). */
MRT_MESSAGE_DECLARE(MRT_API, supervisor_event, mrt_supervisor_event, mrt_none);

#ifdef __cplusplus
}
#endif
#endif
