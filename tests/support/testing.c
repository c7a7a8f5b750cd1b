/* SPDX-License-Identifier: MIT */
/* meshrt-testing — fixture and stand-in actors (see <meshrt/testing.h>).
 *
 * Each stand-in is an ordinary actor class; queries are asks of private
 * message types so they are serialised with the traffic being observed.
 * Threads: as any actor; queries use mrt_ask_sync and so must come from a
 * non-executor thread (the test's).
 */
#include <stdlib.h>
#include <string.h>

#include <meshrt/testing.h>

#include "mrt_grow.h"

int mrt_test_runtime_new(unsigned executors, mrt_runtime **out) {
  mrt_runtime_config cfg = {
      .executors = executors,
      .virtual_clock = true,
      .virtual_start_ns = MRT_TEST_START_NS,
  };
  return mrt_runtime_new(&cfg, out);
}

/* ---- counter ------------------------------------------------------------- */

MRT_MESSAGE_DECLARE(, test_counter_get, mrt_none, int64_t);
MRT_MESSAGE_DEFINE(test_counter_get, mrt_none, int64_t, NULL, NULL);

typedef struct counter_state {
  int64_t count;
} counter_state;

static int counter_any(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  (void)reply;
  ((counter_state *)state)->count++;
  return 0;
}

static int counter_get(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  return MRT_REPLY(test_counter_get, reply, &((counter_state *)state)->count);
}

static const mrt_handler_entry counter_handlers[] = {
    {&mrt_msg_test_counter_get, counter_get},
    {NULL, NULL},
};

static const mrt_actor_class counter_class = {
    .name = "test-counter",
    .state_size = sizeof(counter_state),
    .handlers = counter_handlers,
    .handle_any = counter_any,
};

int mrt_test_counter_spawn(mrt_runtime *rt, mrt_ref **out) {
  return mrt_actor_spawn(rt, &counter_class, NULL, NULL, out);
}

int64_t mrt_test_counter_get(mrt_ref *counter) {
  int64_t n = 0;
  int rc = MRT_ASK_SYNC(test_counter_get, counter, &(mrt_none){0}, &n, 0);
  return rc < 0 ? rc : n;
}

/* ---- tap ----------------------------------------------------------------- */

typedef struct tap_args {
  const mrt_msg_type *types[MRT_TEST_TAP_TYPES_MAX];
  size_t n;
} tap_args;

typedef struct tap_state {
  tap_args want;
  mrt_test_tap_record *records;
  size_t len, cap;
} tap_state;

typedef struct tap_query {
  const mrt_msg_type *type;
  size_t index;
} tap_query;

typedef struct tap_answer {
  int64_t count;
  bool found;
  mrt_test_tap_record record;
} tap_answer;

MRT_MESSAGE_DECLARE(, test_tap_query, tap_query, tap_answer);
MRT_MESSAGE_DEFINE(test_tap_query, tap_query, tap_answer, NULL, NULL);

static int tap_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((tap_state *)state)->want = *(const tap_args *)args;
  return 0;
}

static void tap_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  free(((tap_state *)state)->records);
}

static bool tap_wants(const tap_state *st, const mrt_msg_type *type) {
  for (size_t i = 0; i < st->want.n; i++)
    if (st->want.types[i] == type)
      return true;
  return false;
}

static int tap_any(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)reply; /* unanswered: the asker gets -ECANCELED */
  tap_state *st = state;
  const mrt_msg_type *type = mrt_actor_msg_type(self);
  if (!tap_wants(st, type))
    return 0;
  mrt_test_tap_record *r = mrt__grow(st->records, &st->cap, st->len, sizeof *r, 16);
  if (r == NULL)
    return -ENOMEM;
  st->records = r;
  mrt_test_tap_record *rec = &st->records[st->len];
  memset(rec, 0, sizeof *rec);
  rec->type = type;
  rec->at_ns = mrt_actor_now(self);
  rec->seq = st->len++;
  rec->size = type->payload_size < sizeof rec->data ? type->payload_size : sizeof rec->data;
  memcpy(rec->data, payload, rec->size);
  return 0;
}

static int tap_query_handler(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  const tap_state *st = state;
  const tap_query *q = payload;
  tap_answer ans = {0};
  for (size_t i = 0; i < st->len; i++) {
    if (q->type != NULL && st->records[i].type != q->type)
      continue;
    if ((size_t)ans.count == q->index) {
      ans.found = true;
      ans.record = st->records[i];
    }
    ans.count++;
  }
  return MRT_REPLY(test_tap_query, reply, &ans);
}

static const mrt_handler_entry tap_handlers[] = {
    {&mrt_msg_test_tap_query, tap_query_handler},
    {NULL, NULL},
};

static const mrt_actor_class tap_class = {
    .name = "test-tap",
    .state_size = sizeof(tap_state),
    .args_size = sizeof(tap_args),
    .on_start = tap_start,
    .on_stop = tap_stop,
    .handlers = tap_handlers,
    .handle_any = tap_any,
};

int mrt_test_tap_spawn(mrt_runtime *rt, const mrt_msg_type *const *types, size_t n, mrt_ref **out) {
  if (n > MRT_TEST_TAP_TYPES_MAX || (n > 0 && types == NULL))
    return -EINVAL;
  tap_args args = {.n = n};
  for (size_t i = 0; i < n; i++)
    args.types[i] = types[i];
  return mrt_actor_spawn(rt, &tap_class, &args, NULL, out);
}

static int tap_ask(mrt_ref *tap, const mrt_msg_type *type, size_t index, tap_answer *ans) {
  tap_query q = {.type = type, .index = index};
  return MRT_ASK_SYNC(test_tap_query, tap, &q, ans, 0);
}

int64_t mrt_test_tap_count(mrt_ref *tap, const mrt_msg_type *type) {
  tap_answer *ans = malloc(sizeof *ans);
  if (ans == NULL)
    return -ENOMEM;
  int rc = tap_ask(tap, type, SIZE_MAX, ans);
  int64_t count = rc < 0 ? rc : ans->count;
  free(ans);
  return count;
}

int mrt_test_tap_get(mrt_ref *tap, const mrt_msg_type *type, size_t index,
                     mrt_test_tap_record *out) {
  if (out == NULL)
    return -EINVAL;
  tap_answer *ans = malloc(sizeof *ans);
  if (ans == NULL)
    return -ENOMEM;
  int rc = tap_ask(tap, type, index, ans);
  if (rc >= 0 && !ans->found)
    rc = -ENOENT;
  if (rc >= 0)
    *out = ans->record;
  free(ans);
  return rc < 0 ? rc : 0;
}

/* ---- scripted responder -------------------------------------------------- */

#define RESPONDER_STEPS_MAX 32

typedef struct responder_step {
  mrt_test_step step;
  void *reply_copy;
} responder_step;

typedef struct responder_args {
  responder_step steps[RESPONDER_STEPS_MAX];
  size_t n;
} responder_args;

typedef struct responder_state {
  responder_args script;
  size_t played[RESPONDER_STEPS_MAX]; /* asks seen, per step's type (by first step index) */
  int64_t received_total;
  int64_t received[RESPONDER_STEPS_MAX];
} responder_state;

typedef struct responder_query {
  const mrt_msg_type *type;
} responder_query;

MRT_MESSAGE_DECLARE(, test_responder_count, responder_query, int64_t);
MRT_MESSAGE_DEFINE(test_responder_count, responder_query, int64_t, NULL, NULL);

static void responder_args_drop(void *p) {
  responder_args *a = p;
  for (size_t i = 0; i < a->n; i++)
    free(a->steps[i].reply_copy);
}

static int responder_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((responder_state *)state)->script = *(const responder_args *)args;
  return 0;
}

static void responder_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  responder_args_drop(&((responder_state *)state)->script);
}

/* Index of the first script step for `type`, or -1. */
static int first_step(const responder_state *st, const mrt_msg_type *type) {
  for (size_t i = 0; i < st->script.n; i++)
    if (st->script.steps[i].step.type == type)
      return (int)i;
  return -1;
}

/* The step to play for the k-th ask of the type starting at `first`. */
static const responder_step *nth_step(const responder_state *st, int first, size_t k) {
  const responder_step *last = NULL;
  size_t seen = 0;
  for (size_t i = (size_t)first; i < st->script.n; i++) {
    if (st->script.steps[i].step.type != st->script.steps[first].step.type)
      continue;
    last = &st->script.steps[i];
    if (seen++ == k)
      return last;
  }
  return last;
}

static int responder_any(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)payload;
  responder_state *st = state;
  int first = first_step(st, mrt_actor_msg_type(self));
  st->received_total++;
  if (first < 0)
    return reply != NULL ? mrt_reply_error(reply, -ENOTSUP) : 0;
  st->received[first]++;
  if (reply == NULL)
    return 0;
  const responder_step *rs = nth_step(st, first, st->played[first]++);
  switch (rs->step.action) {
  case MRT_TEST_REPLY: return mrt_reply_send(reply, rs->reply_copy, rs->step.type->reply_size);
  case MRT_TEST_ERROR: return mrt_reply_error(reply, rs->step.error);
  case MRT_TEST_SILENCE:
    mrt_reply_defer(reply); /* held until the responder stops */
    return 0;
  }
  return 0;
}

static int responder_count(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  const responder_state *st = state;
  const responder_query *q = payload;
  int64_t n = 0;
  if (q->type == NULL)
    n = st->received_total;
  else if (first_step(st, q->type) >= 0)
    n = st->received[first_step(st, q->type)];
  return MRT_REPLY(test_responder_count, reply, &n);
}

static const mrt_handler_entry responder_handlers[] = {
    {&mrt_msg_test_responder_count, responder_count},
    {NULL, NULL},
};

static const mrt_actor_class responder_class = {
    .name = "test-responder",
    .state_size = sizeof(responder_state),
    .args_size = sizeof(responder_args),
    .on_start = responder_start,
    .on_stop = responder_stop,
    .args_drop = responder_args_drop,
    .handlers = responder_handlers,
    .handle_any = responder_any,
};

int mrt_test_responder_spawn(mrt_runtime *rt, const mrt_test_step *steps, size_t n, mrt_ref **out) {
  if (n == 0 || n > RESPONDER_STEPS_MAX || steps == NULL)
    return -EINVAL;
  responder_args args = {.n = n};
  for (size_t i = 0; i < n; i++) {
    const mrt_test_step *s = &steps[i];
    bool bad = s->type == NULL || (s->action == MRT_TEST_REPLY && s->reply == NULL) ||
               (s->action == MRT_TEST_ERROR && s->error >= 0);
    void *copy = bad || s->action != MRT_TEST_REPLY ? NULL : malloc(s->type->reply_size);
    if (bad || (s->action == MRT_TEST_REPLY && copy == NULL)) {
      args.n = i;
      responder_args_drop(&args);
      return bad ? -EINVAL : -ENOMEM;
    }
    if (copy != NULL)
      memcpy(copy, s->reply, s->type->reply_size);
    args.steps[i].step = *s;
    args.steps[i].reply_copy = copy;
  }
  int rc = mrt_actor_spawn(rt, &responder_class, &args, NULL, out);
  if (rc < 0)
    responder_args_drop(&args);
  return rc;
}

int64_t mrt_test_responder_count(mrt_ref *responder, const mrt_msg_type *type) {
  int64_t n = 0;
  responder_query q = {.type = type};
  int rc = MRT_ASK_SYNC(test_responder_count, responder, &q, &n, 0);
  return rc < 0 ? rc : n;
}
