/* meshrt — actors: classes, spawn, lifecycle, monitors and links.
 *
 * An actor class is a static descriptor: name, state size, on_start, on_stop
 * and a handler table keyed by message type. An actor lives on one executor
 * and its handlers never run concurrently. spawn returns a ref at once;
 * on_start runs (on the executor) before any message; messages sent earlier
 * wait. If on_start fails, the actor stops and its pending asks fail with
 * on_start's error.
 *
 * Stopping: mrt_actor_stop ends the actor after the message it is handling (the
 * rest of its mailbox is discarded: drop hooks run, asks answered -ESRCH);
 * mrt_actor_kill does the same but counts as an abnormal exit that trapping
 * cannot soften; mrt_actor_fail (from inside) stops with an error and reason.
 * A stop never needs memory: out of memory, it still happens, with its kind
 * kept and the reason "... (reason lost: out of memory)".
 * Monitors receive mrt_msg_down; linked actors are stopped when their peer exits
 * abnormally, unless they trap exits (then they receive mrt_msg_exit).
 */
#ifndef MESHRT_ACTOR_H
#define MESHRT_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>
#include <meshrt/types.h>

struct event_base;

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mrt_exit_kind {
  MRT_EXIT_NORMAL = 0,   /* mrt_actor_stop, or on_start/handlers finished normally */
  MRT_EXIT_SHUTDOWN = 1, /* the runtime shut down */
  MRT_EXIT_FAILED = 2,   /* a handler/on_start/timer returned an error, or mrt_actor_fail */
  MRT_EXIT_KILLED = 3,   /* mrt_actor_kill */
  MRT_EXIT_LINKED = 4,   /* a linked actor exited abnormally */
  MRT_EXIT_NOPROC = 5,   /* (DOWN only) the monitored actor was already gone */
} mrt_exit_kind;

#define MRT_EXIT_REASON_MAX 96

typedef struct mrt_exit {
  mrt_exit_kind kind;
  int error;                        /* negative errno for FAILED, else 0 */
  char reason[MRT_EXIT_REASON_MAX]; /* human-readable, may be empty */
} mrt_exit;

/* True for FAILED, KILLED and LINKED: exits that propagate over links and that
 * a transient restart policy restarts. */
MRT_API bool mrt_exit_is_abnormal(const mrt_exit *e);
MRT_API const char *mrt_exit_kind_name(mrt_exit_kind kind);

typedef struct mrt_handler_entry {
  const mrt_msg_type *type;
  mrt_handler_fn fn;
} mrt_handler_entry;

typedef struct mrt_actor_class {
  const char *name;
  size_t state_size;  /* zeroed state allocated at spawn, freed at stop */
  size_t args_size;   /* bytes copied from spawn's args (0: args ignored) */
  /* Runs before any message, in the actor's context. A negative return stops
   * the actor (kind FAILED). Optional. */
  int (*on_start)(mrt_actor *self, void *state, const void *args);
  /* Runs once when the actor stops (only if on_start succeeded). Optional. */
  void (*on_stop)(mrt_actor *self, void *state, const mrt_exit *why);
  /* Releases what spawn args own if on_start never ran. Optional. */
  void (*args_drop)(void *args);
  /* Handler table terminated by {NULL, NULL}. */
  const mrt_handler_entry *handlers;
  /* Optional catch-all: if set, the class accepts every message type and
   * types not in `handlers` go here. */
  mrt_handler_fn handle_any;
} mrt_actor_class;

#define MRT_EXECUTOR_AUTO (-1)

/* Placement. An actor runs on one executor at a time. With several executors
 * started, the runtime moves an actor to the executor of the actor that wakes
 * it, and hands ready actors to idle executors, so actors that talk share a
 * thread and independent work spreads. Actors that own timers or fd watches,
 * that called mrt_actor_event_base, or that were spawned on an explicit
 * `executor` never move. A hand-driven runtime never moves actors. */
typedef struct mrt_spawn_opts {
  int executor;              /* an index: start and stay there; MRT_EXECUTOR_AUTO: the
                                executor of `near` if set, else the spawner's (spawned
                                from an actor), else round robin */
  uint32_t mailbox_capacity; /* 0: unbounded; else tells, asks and bus deliveries
                                beyond it get -EAGAIN (runtime notices, replies and
                                the STOP of a graceful shutdown are never refused) */
  bool trap_exits;
  mrt_ref *link_to;          /* link to this actor right away (atomically with spawn:
                                if the link cannot be made, nothing is spawned) */
  mrt_ref *parent;           /* recorded for mrt_actor_parent (e.g. a supervisor); a
                                reference is held while the actor lives */
  mrt_ref *near;             /* with MRT_EXECUTOR_AUTO: start on the executor this actor
                                is on now, unpinned (a hint for host threads spawning
                                actors that will talk); borrowed; same runtime */
} mrt_spawn_opts;

/* Spawns an actor of `cls` with a copy of cls->args_size bytes of `args`.
 * *out receives a new reference (caller owns it; may be NULL if not wanted).
 * Any thread, including handlers. Returns 0, -EINVAL (NULL, bad class, bad
 * executor index, `near` from another runtime), -ESHUTDOWN, -ENOMEM. */
MRT_API int mrt_actor_spawn(mrt_runtime *rt, const mrt_actor_class *cls, const void *args,
                            const mrt_spawn_opts *opts, mrt_ref **out);

/* Refs. mrt_ref_ref/unref are NULL-safe, any thread; unref returns NULL. */
MRT_API mrt_ref *mrt_ref_ref(mrt_ref *ref);
MRT_API mrt_ref *mrt_ref_unref(mrt_ref *ref);
/* The actor's id: unique in its runtime, never reused. 0 for NULL. */
MRT_API uint64_t mrt_ref_id(const mrt_ref *ref);
/* True until the actor begins to stop. A racy answer from other threads. */
MRT_API bool mrt_ref_alive(const mrt_ref *ref);
/* True if the actor's class handles `type` (sends of it would not get
 * -ENOTSUP). Any thread. */
MRT_API bool mrt_ref_accepts(const mrt_ref *ref, const mrt_msg_type *type);
/* The class name, for logs. */
MRT_API const char *mrt_ref_name(const mrt_ref *ref);

/* Stops the actor after the message it is handling now (or at once if idle).
 * Any thread, including the actor's own handlers. Returns 0 (also when it is
 * already stopping: idempotent), -ESRCH if it has stopped, -EINVAL for NULL. */
MRT_API int mrt_actor_stop(mrt_ref *ref);

/* As mrt_actor_stop, but the exit is KILLED: abnormal, so linked actors stop
 * too (or, if they trap exits, receive mrt_msg_exit with kind KILLED). */
MRT_API int mrt_actor_kill(mrt_ref *ref);

/* From inside (self's context): stop with kind FAILED, error `err` (< 0) and a
 * printf-style reason. Takes effect after the current handler returns. */
MRT_API int mrt_actor_fail(mrt_actor *self, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Context helpers, valid in self's context. mrt_actor_event_base pins the
 * actor to its executor from then on (events on that base run on its thread). */
MRT_API mrt_runtime *mrt_actor_runtime(const mrt_actor *self);
MRT_API struct event_base *mrt_actor_event_base(const mrt_actor *self);
MRT_API uint64_t mrt_actor_now(const mrt_actor *self);
MRT_API void *mrt_actor_state(mrt_actor *self);
/* A new reference to self (for storing or handing out). */
MRT_API mrt_ref *mrt_actor_ref(mrt_actor *self);
MRT_API int mrt_actor_trap_exits(mrt_actor *self, bool trap);
/* The parent given at spawn (borrowed; valid while self runs), or NULL. */
MRT_API mrt_ref *mrt_actor_parent(const mrt_actor *self);
/* Inside a handler: the type of the message being handled (what a catch-all
 * handler needs). NULL elsewhere. */
MRT_API const mrt_msg_type *mrt_actor_msg_type(const mrt_actor *self);

/* Monitors: self receives mrt_msg_down when target stops (once; immediately,
 * with kind NOPROC, if it is already gone). Returns 0, -ENOTSUP if self's class
 * does not handle mrt_msg_down, -EINVAL, -ENOMEM (no monitor; the DOWN's
 * memory is taken now, so an accepted monitor delivers even when memory runs
 * out later). Monitoring twice delivers twice. */
MRT_API int mrt_monitor(mrt_actor *self, mrt_ref *target);
/* Removes one monitor of target by self. 0 or -ENOENT. */
MRT_API int mrt_demonitor(mrt_actor *self, mrt_ref *target);

/* Links self and other both ways. If either exits abnormally the other stops
 * with kind LINKED, or, if it traps exits, receives mrt_msg_exit. Linking to a
 * stopped actor acts as if it just exited with NOPROC (an abnormal exit).
 * Returns 0, -EINVAL, -ENOTSUP (self traps exits but lacks an mrt_msg_exit
 * handler), -ENOMEM (no link; as for monitors, an accepted link needs no
 * memory later). */
MRT_API int mrt_link(mrt_actor *self, mrt_ref *other);
MRT_API int mrt_unlink(mrt_actor *self, mrt_ref *other);

/* Shutdown signal: self receives mrt_msg_shutdown when runtime shutdown begins
 * (before any actor is stopped). Returns 0, -ENOTSUP if the class lacks a
 * handler, -ESHUTDOWN if shutdown already began. */
MRT_API int mrt_shutdown_watch(mrt_actor *self);

/* Payload of mrt_msg_down and mrt_msg_exit. `who` is a reference owned by the
 * message (released by its drop hook; take your own with mrt_ref_ref). */
typedef struct mrt_down {
  mrt_ref *who;
  uint64_t id;
  mrt_exit exit;
} mrt_down;

MRT_MESSAGE_DECLARE(MRT_API, down, mrt_down, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, exit, mrt_down, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, shutdown, mrt_none, mrt_none);

#ifdef __cplusplus
}
#endif
#endif
