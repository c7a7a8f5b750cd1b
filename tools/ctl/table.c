/* SPDX-License-Identifier: MIT */
/* meshrt-ctl — aligned text tables for the human-readable output.
 *
 * Rows are collected first so every column can be as wide as its widest
 * cell; the last column is not padded. Memory problems drop rows rather
 * than abort (the output is for reading, not parsing). Single-threaded.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct ctl_table {
  size_t cols;
  size_t n, cap;
  char **cells; /* n * cols, row-major; row 0 is the header */
};

static void add_cells(ctl_table *t, char **cells) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    char **grown = realloc(t->cells, cap * t->cols * sizeof *grown);
    if (grown == NULL) {
      for (size_t i = 0; i < t->cols; i++)
        free(cells[i]);
      return;
    }
    t->cells = grown;
    t->cap = cap;
  }
  memcpy(t->cells + t->n * t->cols, cells, t->cols * sizeof *cells);
  t->n++;
}

ctl_table *ctl_table_new(const char *const *header) {
  ctl_table *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  while (t->cols < CTL_TABLE_COLS && header[t->cols] != NULL)
    t->cols++;
  char *cells[CTL_TABLE_COLS];
  for (size_t i = 0; i < t->cols; i++)
    cells[i] = strdup(header[i]);
  add_cells(t, cells);
  return t;
}

void ctl_table_row(ctl_table *t, const char *fmt, ...) {
  if (t == NULL)
    return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  char *cells[CTL_TABLE_COLS];
  char *p = line;
  for (size_t i = 0; i < t->cols; i++) {
    char *tab = p != NULL ? strchr(p, '\t') : NULL;
    if (tab != NULL)
      *tab = '\0';
    cells[i] = strdup(p != NULL ? p : "");
    p = tab != NULL ? tab + 1 : NULL;
  }
  add_cells(t, cells);
}

void ctl_table_print(ctl_table *t, FILE *out) {
  if (t == NULL)
    return;
  size_t width[CTL_TABLE_COLS] = {0};
  for (size_t r = 0; r < t->n; r++)
    for (size_t c = 0; c < t->cols; c++) {
      const char *cell = t->cells[r * t->cols + c];
      size_t w = cell ? strlen(cell) : 0;
      if (w > width[c])
        width[c] = w;
    }
  char line[4096];
  for (size_t r = 0; r < t->n; r++) {
    size_t used = 0;
    for (size_t c = 0; c < t->cols && used < sizeof line; c++) {
      const char *cell = t->cells[r * t->cols + c];
      used += (size_t)snprintf(line + used, sizeof line - used, "%-*s  ",
                               c + 1 < t->cols ? (int)width[c] : 0, cell ? cell : "");
    }
    if (used >= sizeof line)
      used = sizeof line - 1;
    while (used > 0 && line[used - 1] == ' ') /* no trailing blanks */
      used--;
    fprintf(out, "%.*s\n", (int)used, line);
  }
  for (size_t i = 0; i < t->n * t->cols; i++)
    free(t->cells[i]);
  free(t->cells);
  free(t);
}
