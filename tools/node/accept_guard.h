/* SPDX-License-Identifier: MIT */
/* meshrt-node — listeners that survive descriptor exhaustion.
 *
 * When accept() fails with EMFILE or ENFILE (or the kernel is short of
 * memory), the pending connection stays queued and the listening socket
 * stays readable: a loop that simply retries spins a core and, with
 * libevent's default warning, logs a line per spin. A guard pauses the
 * listener instead, retries after 100 ms (doubling up to 2 s while it keeps
 * failing) and logs at most one line per 10 s saying how often it paused.
 *
 * A guard also counts the connections its owner keeps, against a cap: the
 * owner asks for a place before keeping a new connection and gives it back
 * when the connection ends; at the cap the connection is refused (the owner
 * closes it, after saying why if it can), and refusals are logged at most
 * once per 10 s, with a count. The control socket and the metrics endpoint
 * both cap their clients this way.
 *
 * Threading: the listener's event loop (the service thread) only.
 */
#ifndef MESHRT_TOOLS_ACCEPT_GUARD_H
#define MESHRT_TOOLS_ACCEPT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evconnlistener;

typedef struct mn_accept_guard mn_accept_guard;

/* Guards `l` (borrowed: free the guard before the listener) on `base`;
 * `what` names it in the log ("control socket"; a string literal). Returns 0
 * -ENOMEM, or -ENOSPC when too many guards exist. */
int mn_accept_guard_new(struct event_base *base, struct evconnlistener *l, const char *what,
                        mn_accept_guard **out);

/* An accept succeeded: the next pause starts from the shortest delay. */
void mn_accept_guard_ok(mn_accept_guard *g);

/* Pauses so far (for tests and status). */
uint64_t mn_accept_guard_pauses(const mn_accept_guard *g);

/* At most `cap` connections at once (0: no cap, the default). */
void mn_accept_guard_set_cap(mn_accept_guard *g, size_t cap);
size_t mn_accept_guard_cap(const mn_accept_guard *g);

/* True when every place is taken: an owner that can make room (close an
 * idle connection) does so before mn_accept_guard_admit. */
bool mn_accept_guard_full(const mn_accept_guard *g);

/* A new connection takes a place: true if it may stay (give the place back
 * with mn_accept_guard_release when it ends); false at the cap, when the
 * refusal is counted and logged (rate-limited) and the caller closes it. */
bool mn_accept_guard_admit(mn_accept_guard *g);

/* A connection admitted earlier ended. NULL-safe. */
void mn_accept_guard_release(mn_accept_guard *g);

/* NULL-safe. */
void mn_accept_guard_free(mn_accept_guard *g);

#endif
