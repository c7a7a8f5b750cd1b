/* SPDX-License-Identifier: MIT */
/* meshrt-node — the node's event journal: supervision events, link changes,
 * the rebinds that answered them, home-region and path changes, config
 * reloads. A bounded ring of JSON objects with sequence numbers, readable
 * from any thread (meshrt-ctl events reads it through the control socket). */
#ifndef MESHRT_TOOLS_JOURNAL_H
#define MESHRT_TOOLS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct mn_journal mn_journal;

#define MN_JOURNAL_DEFAULT_CAP 1024

/* Returns 0, -EINVAL, -ENOMEM. */
int mn_journal_new(size_t capacity, mn_journal **out);
void mn_journal_free(mn_journal *j);

/* Appends one event of `kind`: the journal takes `fields` (an object; NULL
 * means empty) and adds "seq", "time" (UTC, ms) and "kind". Returns the new
 * sequence number (> 0), or 0 if out of memory (the event is lost, counted).
 * Any thread. */
uint64_t mn_journal_append(mn_journal *j, const char *kind, json_t *fields);

/* Copies the events with seq > after_seq, oldest first, at most `limit`
 * (0: all) into a new array in *out. *last_seq is the newest seq so far,
 * *dropped how many events after after_seq were already overwritten. Any
 * thread. Returns 0 or -ENOMEM. */
int mn_journal_read(mn_journal *j, uint64_t after_seq, size_t limit, json_t **out,
                    uint64_t *last_seq, uint64_t *dropped);

uint64_t mn_journal_last_seq(mn_journal *j);

#endif
