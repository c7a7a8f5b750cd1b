/* SPDX-License-Identifier: MIT */
/* meshrt-node — the event journal (see journal.h).
 *
 * A ring of jansson objects under one mutex. Jansson values are not safe to
 * share between threads (their reference counts and iteration are unlocked),
 * so the ring owns its objects outright and every reader gets deep copies
 * made under the mutex. Appends come from the observer actor, the control
 * thread and the main thread; reads from the control and metrics thread.
 */
#include "journal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct mn_journal {
  pthread_mutex_t mu;
  json_t **ring;
  size_t cap;
  uint64_t next_seq; /* seq of the next append; the ring holds (next - n, next) */
  size_t n;
  uint64_t lost; /* appends that failed for memory */
};

int mn_journal_new(size_t capacity, mn_journal **out) {
  if (out == NULL || capacity == 0)
    return -EINVAL;
  mn_journal *j = calloc(1, sizeof *j);
  if (j == NULL || (j->ring = calloc(capacity, sizeof *j->ring)) == NULL) {
    free(j);
    return -ENOMEM;
  }
  pthread_mutex_init(&j->mu, NULL);
  j->cap = capacity;
  j->next_seq = 1;
  *out = j;
  return 0;
}

void mn_journal_free(mn_journal *j) {
  if (j == NULL)
    return;
  for (size_t i = 0; i < j->cap; i++)
    json_decref(j->ring[i]);
  pthread_mutex_destroy(&j->mu);
  free(j->ring);
  free(j);
}

static json_t *stamp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[32], out[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, sizeof out, "%s.%03dZ", buf, (int)(ts.tv_nsec / 1000000));
  return json_string(out);
}

uint64_t mn_journal_append(mn_journal *j, const char *kind, json_t *fields) {
  json_t *ev = fields != NULL ? fields : json_object();
  if (j == NULL || ev == NULL || !json_is_object(ev)) {
    json_decref(ev);
    return 0;
  }
  json_object_set_new(ev, "kind", json_string(kind));
  json_object_set_new(ev, "time", stamp_now());
  pthread_mutex_lock(&j->mu);
  uint64_t seq = j->next_seq++;
  if (json_object_set_new(ev, "seq", json_integer((json_int_t)seq)) < 0) {
    j->lost++;
    pthread_mutex_unlock(&j->mu);
    json_decref(ev);
    return 0;
  }
  size_t slot = (size_t)(seq % j->cap);
  json_decref(j->ring[slot]);
  j->ring[slot] = ev;
  if (j->n < j->cap)
    j->n++;
  pthread_mutex_unlock(&j->mu);
  return seq;
}

int mn_journal_read(mn_journal *j, uint64_t after_seq, size_t limit, json_t **out,
                    uint64_t *last_seq, uint64_t *dropped) {
  json_t *arr = json_array();
  if (arr == NULL)
    return -ENOMEM;
  pthread_mutex_lock(&j->mu);
  uint64_t last = j->next_seq - 1, first = j->next_seq - j->n; /* oldest held */
  uint64_t from = after_seq + 1 > first ? after_seq + 1 : first;
  *dropped = after_seq + 1 < first ? first - (after_seq + 1) : 0;
  *last_seq = last;
  int rc = 0;
  for (uint64_t s = from; s <= last && (limit == 0 || json_array_size(arr) < limit); s++) {
    json_t *copy = json_deep_copy(j->ring[s % j->cap]);
    if (copy == NULL || json_array_append_new(arr, copy) < 0) {
      rc = -ENOMEM;
      break;
    }
  }
  pthread_mutex_unlock(&j->mu);
  if (rc < 0) {
    json_decref(arr);
    return rc;
  }
  *out = arr;
  return 0;
}

uint64_t mn_journal_last_seq(mn_journal *j) {
  pthread_mutex_lock(&j->mu);
  uint64_t last = j->next_seq - 1;
  pthread_mutex_unlock(&j->mu);
  return last;
}
