/* SPDX-License-Identifier: MIT */
/* meshrt — per-server STUN statistics (see stun_table.h and
 * <meshrt/stun_stats.h>).
 *
 * Both STUN clients count, per server, what they sent, what they accepted
 * and what they refused with the last reason, so an operator can tell a
 * silent server from one that answers in a way we refuse. The reasons are
 * built here from fixed text and numbers only: nothing a server sends is
 * ever copied into them, so they are safe to log and to show.
 *
 * Threading: a table belongs to one actor and is touched only in its context;
 * mrt_stun_server_list_release() may run on any thread (it frees a copy).
 */
#include "stun_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/log.h>

void mrt_stun_server_list_release(mrt_stun_server_list *list) {
  if (list == NULL)
    return;
  free(list->servers);
  memset(list, 0, sizeof *list);
}

/* ---- addresses -------------------------------------------------------------------- */

/* Total order on (family, address bytes, port); 0 for equal endpoints. */
static int addr_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family)
    return a->ss_family < b->ss_family ? -1 : 1;
  const void *x = NULL, *y = NULL;
  size_t len = 0;
  in_port_t px = 0, py = 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *p = (const void *)a, *q = (const void *)b;
    x = &p->sin_addr, y = &q->sin_addr, len = sizeof p->sin_addr;
    px = p->sin_port, py = q->sin_port;
  } else if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *p = (const void *)a, *q = (const void *)b;
    x = &p->sin6_addr, y = &q->sin6_addr, len = sizeof p->sin6_addr;
    px = p->sin6_port, py = q->sin6_port;
  } else {
    return 0;
  }
  int c = memcmp(x, y, len);
  if (c != 0)
    return c < 0 ? -1 : 1;
  px = ntohs(px), py = ntohs(py);
  return (px > py) - (px < py);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const void *)ss;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    port = ntohs(in->sin_port);
    snprintf(buf, len, "%s:%u", ip, port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const void *)ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    port = ntohs(in6->sin6_port);
    snprintf(buf, len, "[%s]:%u", ip, port);
  } else {
    snprintf(buf, len, "?");
  }
}

/* ---- the index ---------------------------------------------------------------------- */

/* The index order: address, then region. qsort() takes no context pointer
 * and a global would be shared by actors on different executors, so the
 * index is sorted by a small merge sort that is handed the rows. */
static int row_cmp(const mrt_stun_server_stats *rows, size_t i, size_t j) {
  int c = addr_cmp(&rows[i].server, &rows[j].server);
  if (c != 0)
    return c;
  return (rows[i].region_id > rows[j].region_id) - (rows[i].region_id < rows[j].region_id);
}

/* Bottom-up merge sort of idx[0..n) by row_cmp, using tmp[0..n). Stable, so
 * equal keys keep map order. */
static void sort_index(const mrt_stun_server_stats *rows, size_t *idx, size_t *tmp, size_t n) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi)
        tmp[k++] = row_cmp(rows, idx[b], idx[a]) < 0 ? idx[b++] : idx[a++];
      while (a < mid)
        tmp[k++] = idx[a++];
      while (b < hi)
        tmp[k++] = idx[b++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
  }
}

mrt_stun_server_stats *mrt__stun_table_find(const mrt__stun_table *t, int region_id,
                                            const struct sockaddr_storage *addr) {
  size_t lo = 0, hi = t->n; /* lower bound of addr in order */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (addr_cmp(&t->rows[t->order[mid]].server, addr) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (; lo < t->n && addr_cmp(&t->rows[t->order[lo]].server, addr) == 0; lo++) {
    mrt_stun_server_stats *row = &t->rows[t->order[lo]];
    if (region_id == 0 || row->region_id == region_id)
      return row;
  }
  return NULL;
}

/* ---- loading ------------------------------------------------------------------------- */

/* Counts the STUN servers of `map` of `family` and, when `rows` is not NULL,
 * writes them there (counters zero) in the order of
 * mrt_derp_map_stun_servers(). */
static size_t walk_servers(const mrt_derp_map *map, int family, mrt_stun_server_stats *rows) {
  static const int families[] = {AF_INET, AF_INET6};
  size_t n = 0, nreg = mrt_derp_map_region_count(map);
  for (size_t i = 0; i < nreg; i++) {
    const mrt_derp_region *r = mrt_derp_map_region_at(map, i);
    for (size_t j = 0; j < r->n_nodes; j++) {
      for (int f = 0; f < 2; f++) {
        struct sockaddr_storage ss;
        if ((family != AF_UNSPEC && family != families[f]) ||
            mrt_derp_node_stun_addr(&r->nodes[j], families[f], &ss) < 0)
          continue;
        if (rows != NULL) {
          memset(&rows[n], 0, sizeof rows[n]);
          rows[n].server = ss;
          rows[n].region_id = r->region_id;
        }
        n++;
      }
    }
  }
  return n;
}

int mrt__stun_table_load(mrt__stun_table *t, const mrt_derp_map *map, int family) {
  size_t n = map != NULL ? walk_servers(map, family, NULL) : 0;
  mrt_stun_server_stats *rows = calloc(n ? n : 1, sizeof *rows);
  size_t *order = calloc(n ? n : 1, sizeof *order);
  size_t *tmp = calloc(n ? n : 1, sizeof *tmp);
  if (rows == NULL || order == NULL || tmp == NULL) {
    free(rows);
    free(order);
    free(tmp);
    return -ENOMEM;
  }
  if (n > 0)
    walk_servers(map, family, rows);
  for (size_t i = 0; i < n; i++) {
    order[i] = i;
    const mrt_stun_server_stats *old = mrt__stun_table_find(t, rows[i].region_id, &rows[i].server);
    if (old != NULL)
      rows[i] = *old; /* same address and region: its history carries over */
  }
  sort_index(rows, order, tmp, n);
  free(tmp);
  free(t->rows);
  free(t->order);
  t->rows = rows;
  t->order = order;
  t->n = n;
  return 0;
}

void mrt__stun_table_free(mrt__stun_table *t) {
  free(t->rows);
  free(t->order);
  memset(t, 0, sizeof *t);
}

/* ---- counting ------------------------------------------------------------------------ */

static bool power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

void mrt__stun_table_reject(mrt__stun_table *t, mrt_stun_server_stats *row,
                            const struct sockaddr_storage *src, uint64_t now, const char *component,
                            const char *reason) {
  uint64_t *count = row != NULL ? &row->rejected : &t->other_rejected;
  char *last = row != NULL ? row->last_reason : t->other_last_reason;
  bool changed = strncmp(last, reason, MRT_STUN_REASON_MAX - 1) != 0;
  (*count)++;
  if (row != NULL)
    row->last_rejected_ns = now;
  snprintf(last, MRT_STUN_REASON_MAX, "%s", reason);
  if (!changed && !power_of_two(*count))
    return;
  char from[INET6_ADDRSTRLEN + 16];
  addr_text(src, from, sizeof from);
  if (row != NULL)
    mrt_log(MRT_LOG_DEBUG, component, "STUN answer rejected from=%s region=%d rejected=%llu: %s",
            from, row->region_id, (unsigned long long)*count, reason);
  else
    mrt_log(MRT_LOG_DEBUG, component,
            "STUN datagram rejected from=%s (no STUN server) rejected=%llu: %s", from,
            (unsigned long long)*count, reason);
}

int mrt__stun_table_copy(const mrt__stun_table *t, mrt_stun_server_list *out) {
  memset(out, 0, sizeof *out);
  out->servers = calloc(t->n ? t->n : 1, sizeof *out->servers);
  if (out->servers == NULL)
    return -ENOMEM;
  if (t->n > 0)
    memcpy(out->servers, t->rows, t->n * sizeof *t->rows);
  out->n = t->n;
  out->other_rejected = t->other_rejected;
  memcpy(out->other_last_reason, t->other_last_reason, sizeof out->other_last_reason);
  return 0;
}

void mrt__stun_reason_of(const mrt_stun_response *r, char *buf, size_t len) {
  const char *rule = mrt_stun_reject_name(r->reject);
  if (r->reject_attr != 0 || r->reject == MRT_STUN_REJECT_UNKNOWN_REQUIRED)
    snprintf(buf, len, "%s (attribute 0x%04x)", rule, (unsigned)r->reject_attr);
  else
    snprintf(buf, len, "%s", rule);
}
