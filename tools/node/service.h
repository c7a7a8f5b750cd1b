/* SPDX-License-Identifier: MIT */
/* meshrt-node — the service thread: one libevent loop, on a thread of its own,
 * that serves the control socket and the metrics endpoint. It is a host
 * thread (not an executor), so its handlers may use mrt_ask_sync(). */
#ifndef MESHRT_TOOLS_SERVICE_H
#define MESHRT_TOOLS_SERVICE_H

struct event_base;
typedef struct mn_service mn_service;

/* Creates the loop (not yet running). Returns 0, -ENOMEM, -EIO. */
int mn_service_new(mn_service **out);

/* The loop, for registering listeners before mn_service_start, and from
 * callbacks running on the service thread. */
struct event_base *mn_service_base(mn_service *s);

/* Starts the thread. Returns 0 or a negative errno. */
int mn_service_start(mn_service *s);

/* Stops the loop and joins the thread (idempotent; safe if never started).
 * Call from the thread that started it. */
void mn_service_stop(mn_service *s);

/* Frees the loop; stop it and free what is registered on it first. */
void mn_service_free(mn_service *s);

#endif
