/* SPDX-License-Identifier: MIT */
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

/* True for FAILED, KILLED, LINKED and NOPROC: exits that propagate over links
 * and that a transient restart policy restarts. False for NULL. Reads only
 * *e (borrowed). Any thread. */
MRT_API bool mrt_exit_is_abnormal(const mrt_exit *e);
/* "normal", "shutdown", "failed", "killed", "linked", "noproc"; "?" for a
 * value outside the enum. A static string, never NULL. Any thread. */
MRT_API const char *mrt_exit_kind_name(mrt_exit_kind kind);

typedef struct mrt_handler_entry {
  const mrt_msg_type *type;
  mrt_handler_fn fn;
} mrt_handler_entry;

typedef struct mrt_actor_class {
  const char *name;
  size_t state_size; /* zeroed state allocated at spawn, freed at stop */
  size_t args_size;  /* bytes copied from spawn's args (0: args ignored) */
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
  mrt_ref *link_to; /* link to this actor right away (atomically with spawn:
                                if the link cannot be made, nothing is spawned) */
  mrt_ref *parent;  /* recorded for mrt_actor_parent (e.g. a supervisor); a
                                reference is held while the actor lives */
  mrt_ref *near;    /* with MRT_EXECUTOR_AUTO: start on the executor this actor
                                is on now, unpinned (a hint for host threads spawning
                                actors that will talk); borrowed; same runtime */
} mrt_spawn_opts;

/* Spawns an actor of `cls` with a copy of cls->args_size bytes of `args`.
 * *out receives a new reference (caller owns it; may be NULL if not wanted;
 * set to NULL on failure). `cls` is borrowed for the actor's life (a static
 * descriptor). What the args point to belongs to the actor once spawn
 * succeeds (on_start takes it over; args_drop releases it if on_start never
 * runs) and stays the caller's on failure. Any thread, including handlers.
 * Returns 0, -EINVAL (NULL, bad class, args NULL with args_size > 0, bad
 * executor index, `near` from another runtime), -ESHUTDOWN (shutdown has
 * begun), -ENOMEM (also when the link to opts->link_to cannot be made). */
MRT_API int mrt_actor_spawn(mrt_runtime *rt, const mrt_actor_class *cls, const void *args,
                            const mrt_spawn_opts *opts, mrt_ref **out);

/* Takes another reference to the actor's control block (the caller owns it
 * and drops it with mrt_ref_unref). A reference never keeps a stopped actor
 * alive, only the handle valid. NULL-safe; returns ref. Any thread. */
MRT_API mrt_ref *mrt_ref_ref(mrt_ref *ref);
/* Drops one reference; the last one frees the control block (a running actor
 * is not affected: the runtime holds its own reference until it stops).
 * NULL-safe; returns NULL (`r = mrt_ref_unref(r);`). Any thread, including
 * handlers. */
MRT_API mrt_ref *mrt_ref_unref(mrt_ref *ref);
/* The actor's id: unique in its runtime, never reused. 0 for NULL. Any
 * thread. */
MRT_API uint64_t mrt_ref_id(const mrt_ref *ref);
/* True until the actor begins to stop; false for NULL. From other threads a
 * racy answer (it may stop right after): sends still check for themselves
 * (-ESRCH). Any thread. */
MRT_API bool mrt_ref_alive(const mrt_ref *ref);
/* True if the actor's class handles `type` (sends of it would not get
 * -ENOTSUP); false for NULL arguments. Any thread. */
MRT_API bool mrt_ref_accepts(const mrt_ref *ref, const mrt_msg_type *type);
/* The class name, for logs: the class's own string (static), "?" for NULL or
 * a nameless class. Never NULL. Any thread. */
MRT_API const char *mrt_ref_name(const mrt_ref *ref);

/* Stops the actor after the message it is handling now (or at once if idle).
 * Any thread, including the actor's own handlers. Returns 0 (also when it is
 * already stopping: idempotent), -ESRCH if it has stopped, -EINVAL for NULL. */
MRT_API int mrt_actor_stop(mrt_ref *ref);

/* As mrt_actor_stop, but the exit is KILLED: abnormal, so linked actors stop
 * too (or, if they trap exits, receive mrt_msg_exit with kind KILLED). The
 * first stop, kill or fail request wins. Any thread. Returns 0, -ESRCH (it
 * has stopped), -EINVAL (NULL). */
MRT_API int mrt_actor_kill(mrt_ref *ref);

/* From inside (self's context): stop with kind FAILED, error `err` (< 0) and a
 * printf-style reason (cut at MRT_EXIT_REASON_MAX - 1 bytes; fmt may be NULL).
 * Takes effect after the current handler returns; an earlier stop request
 * wins. Returns 0, or -EINVAL (not in self's context, or err >= 0). */
MRT_API int mrt_actor_fail(mrt_actor *self, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Context helpers, valid in self's context. */

/* The runtime self belongs to (borrowed: valid while the runtime lives), or
 * NULL for NULL. */
MRT_API mrt_runtime *mrt_actor_runtime(const mrt_actor *self);
/* The event_base of self's executor (borrowed; owned by the runtime, or by
 * the host for an attached executor 0), or NULL for NULL. Pins the actor to
 * that executor from then on: events registered on the base run on its
 * thread, outside the actor's turns, so prefer mrt_io_watch and timers, whose
 * callbacks run in the actor's context. */
MRT_API struct event_base *mrt_actor_event_base(const mrt_actor *self);
/* The runtime clock (mrt_runtime_now), or 0 for NULL. */
MRT_API uint64_t mrt_actor_now(const mrt_actor *self);
/* self's state (state_size zeroed bytes, allocated at spawn, freed by the
 * runtime after on_stop), or NULL for NULL, a class without state, or an
 * actor that has stopped. Touch it only in self's context. */
MRT_API void *mrt_actor_state(mrt_actor *self);
/* A new reference to self (for storing or handing out; the caller unrefs
 * it). NULL-safe. */
MRT_API mrt_ref *mrt_actor_ref(mrt_actor *self);
/* Turns exit trapping on or off: with it, an abnormal exit of a linked actor
 * arrives as mrt_msg_exit instead of stopping self. Returns 0, -EINVAL (not in
 * self's context), -ENOTSUP (trap on, but the class has no mrt_msg_exit
 * handler). */
MRT_API int mrt_actor_trap_exits(mrt_actor *self, bool trap);
/* The parent given at spawn (borrowed; valid while self runs), or NULL (none,
 * or self has stopped). */
MRT_API mrt_ref *mrt_actor_parent(const mrt_actor *self);
/* Inside a handler: the type of the message being handled (what a catch-all
 * handler needs). NULL elsewhere. */
MRT_API const mrt_msg_type *mrt_actor_msg_type(const mrt_actor *self);

/* Monitors: self receives mrt_msg_down when target stops (once; immediately,
 * with kind NOPROC, if it is already gone). In self's context; target is
 * borrowed (the DOWN message carries a reference of its own). Returns 0,
 * -ENOTSUP if self's class does not handle mrt_msg_down, -EINVAL (NULL, not
 * in self's context, target of another runtime), -ENOMEM (no monitor; the
 * DOWN's memory is taken now, so an accepted monitor delivers even when
 * memory runs out later). Monitoring twice delivers twice. */
MRT_API int mrt_monitor(mrt_actor *self, mrt_ref *target);
/* Removes one monitor of target by self (a DOWN already queued still
 * arrives). In self's context. Returns 0, -ENOENT (no such monitor, or it
 * has fired), -EINVAL (as mrt_monitor). */
MRT_API int mrt_demonitor(mrt_actor *self, mrt_ref *target);

/* Links self and other both ways. If either exits abnormally the other stops
 * with kind LINKED, or, if it traps exits, receives mrt_msg_exit. Linking to a
 * stopped actor acts as if it just exited with NOPROC (an abnormal exit).
 * Linking an actor to itself, or twice, is a no-op. In self's context; other
 * is borrowed. Returns 0, -EINVAL (NULL, not in self's context, other of
 * another runtime), -ENOMEM (no link; as for monitors, an accepted link needs
 * no memory later). */
MRT_API int mrt_link(mrt_actor *self, mrt_ref *other);
/* Removes the link between self and other, both ways (an EXIT already queued
 * still arrives). In self's context. Returns 0, -ENOENT (not linked), -EINVAL
 * (as mrt_link). */
MRT_API int mrt_unlink(mrt_actor *self, mrt_ref *other);

/* Shutdown signal: self receives mrt_msg_shutdown when runtime shutdown begins
 * (before any actor is stopped; never refused by a full mailbox). In self's
 * context; the runtime holds a reference to self until the signal is sent.
 * Returns 0, -EINVAL (not in self's context), -ENOTSUP if the class lacks a
 * handler, -ESHUTDOWN if shutdown already began, -ENOMEM. */
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
