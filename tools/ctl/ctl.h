/* SPDX-License-Identifier: MIT */
/* meshrt-ctl — shared declarations of the client (main.c) and its
 * human-readable output (render.c, table.c). */
#ifndef MESHRT_TOOLS_CTL_H
#define MESHRT_TOOLS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* ---- tables (table.c) ------------------------------------------------------------ */

#define CTL_TABLE_COLS 8

typedef struct ctl_table ctl_table;

/* A table with the given header cells (NULL-terminated, at most 8). */
ctl_table *ctl_table_new(const char *const *header);
/* Appends a row of printf-formatted cells: one format string per column
 * separated by '\t' in `fmt`. Cells beyond the header's count are ignored. */
void ctl_table_row(ctl_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the table with aligned columns and frees it. */
void ctl_table_print(ctl_table *t, FILE *out);

/* ---- rendering (render.c) --------------------------------------------------------- */

/* Each prints a command's "result" for people. */
void ctl_render_status(const json_t *r, FILE *out);
void ctl_render_children(const json_t *r, FILE *out);
void ctl_render_outcome(const json_t *r, FILE *out);
void ctl_render_rebind(const json_t *r, FILE *out);
void ctl_render_regions(const json_t *status, FILE *out);
/* Events as a table (a JSON array of journal events). */
void ctl_render_events(const json_t *events, FILE *out);
/* One event as a line (for --follow). */
void ctl_render_event_line(const json_t *ev, FILE *out);

/* Helpers for the renderers. */
const char *ctl_str(const json_t *o, const char *key, const char *dflt);
long long ctl_int(const json_t *o, const char *key);
double ctl_real(const json_t *o, const char *key);

#endif
