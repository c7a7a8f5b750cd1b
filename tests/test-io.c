/* SPDX-License-Identifier: MIT */
/* Tests: actor-owned fd watches — callbacks run in the actor's context (they
 * may start timers), cancel, removal when the actor stops, and a failing
 * callback failing its actor. Real socketpairs, hand-driven runtime. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

MRT_MESSAGE_DECLARE(, watch_fd, int, uint64_t);
MRT_MESSAGE_DEFINE(watch_fd, int, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, unwatch, uint64_t, int);
MRT_MESSAGE_DEFINE(unwatch, uint64_t, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, query, mrt_none, int);
MRT_MESSAGE_DEFINE(query, mrt_none, int, NULL, NULL);

typedef struct io_state {
  int bytes;
  int timer_fired;
} io_state;

static int timer_cb(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  ((io_state *)state)->timer_fired++;
  return 0;
}

static int readable(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)ud;
  io_state *st = state;
  assert_true(what & MRT_IO_READ);
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0 && buf[0] == 'X')
    return -EPROTO; /* a poisoned input fails the actor */
  if (n > 0)
    st->bytes += (int)n;
  /* In the actor's context: timers work here. */
  return mrt_timer_start(self, MRT_MS(10), 0, timer_cb, NULL, NULL);
}

static int on_watch(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  uint64_t id = 0;
  int rc = mrt_io_watch(self, *(const int *)p, MRT_IO_READ, readable, NULL, &id);
  if (rc < 0)
    return mrt_reply_error(r, rc);
  return MRT_REPLY(watch_fd, r, &id);
}

static int on_unwatch(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  int rc = mrt_io_cancel(self, *(const uint64_t *)p);
  return MRT_REPLY(unwatch, r, &rc);
}

static int on_query(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  io_state *st = state;
  int v = st->bytes * 1000 + st->timer_fired;
  return MRT_REPLY(query, r, &v);
}

static const mrt_handler_entry io_handlers[] = {{&mrt_msg_watch_fd, on_watch},
                                                {&mrt_msg_unwatch, on_unwatch},
                                                {&mrt_msg_query, on_query},
                                                {NULL, NULL}};
static const mrt_actor_class io_class = {
    .name = "io", .state_size = sizeof(io_state), .handlers = io_handlers};

static int query(mrt_ref *a) {
  int v = -1;
  assert_int_equal(MRT_ASK_SYNC(query, a, &(mrt_none){0}, &v, 0), 0);
  return v;
}

static void watch_read_cancel(void **unused) {
  (void)unused;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &io_class, NULL, NULL, &a), 0);
  uint64_t id = 0;
  assert_int_equal(MRT_ASK_SYNC(watch_fd, a, &sv[0], &id, 0), 0);
  assert_int_equal(write(sv[1], "hello", 5), 5);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(query(a), 5000);
  mrt_runtime_advance(rt, MRT_MS(10));
  assert_int_equal(query(a), 5001);
  int rc = 1;
  assert_int_equal(MRT_ASK_SYNC(unwatch, a, &id, &rc, 0), 0);
  assert_int_equal(rc, 0);
  assert_int_equal(MRT_ASK_SYNC(unwatch, a, &id, &rc, 0), 0);
  assert_int_equal(rc, -ENOENT);
  assert_int_equal(write(sv[1], "more", 4), 4);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(query(a), 5001); /* not watched any more */
  /* Outside the actor's context the calls refuse. */
  assert_int_equal(mrt_io_watch(a, sv[0], MRT_IO_READ, readable, NULL, NULL), -EINVAL);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
  close(sv[0]);
  close(sv[1]);
}

static void watch_dies_with_actor_and_failure_fails_it(void **unused) {
  (void)unused;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
  mrt_runtime *rt;
  mrt_ref *a, *b;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &io_class, NULL, NULL, &a), 0);
  assert_int_equal(mrt_actor_spawn(rt, &io_class, NULL, NULL, &b), 0);
  uint64_t id;
  assert_int_equal(MRT_ASK_SYNC(watch_fd, a, &sv[0], &id, 0), 0);
  assert_int_equal(write(sv[1], "X", 1), 1);
  mrt_runtime_run_until_idle(rt);
  assert_false(mrt_ref_alive(a));
  /* b watches the same fd; a's watch is gone, so only b reads now. */
  assert_int_equal(MRT_ASK_SYNC(watch_fd, b, &sv[0], &id, 0), 0);
  assert_int_equal(mrt_actor_stop(b), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(write(sv[1], "late", 4), 4);
  mrt_runtime_run_until_idle(rt); /* no callback on a stopped actor, no crash */
  char buf[8];
  assert_int_equal(read(sv[0], buf, sizeof buf), 4); /* still unread */
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_runtime_unref(rt);
  close(sv[0]);
  close(sv[1]);
}

/* A watch whose callback reads one datagram per call and sends nothing:
 * only the callbacks themselves are work. */
typedef struct one_args {
  int fd;
  int *reads;
} one_args;

static int read_one(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)self;
  (void)state;
  (void)what;
  char buf[64];
  if (recv(fd, buf, sizeof buf, 0) > 0)
    (*(int *)ud)++;
  return 0;
}

static int one_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  const one_args *a = args;
  return mrt_io_watch(self, a->fd, MRT_IO_READ, read_one, a->reads, NULL);
}

static const mrt_handler_entry no_handlers[] = {{NULL, NULL}};
static const mrt_actor_class one_class = {.name = "read-one",
                                          .args_size = sizeof(one_args),
                                          .on_start = one_start,
                                          .handlers = no_handlers};

/* run_until_idle returns once no I/O is pending: a callback that reads a
 * bounded amount (one datagram here) is called again while its descriptor
 * stays readable, though it sends no message, and the callbacks count. */
static void run_until_idle_drains_io_callbacks(void **unused) {
  (void)unused;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
  mrt_runtime *rt;
  mrt_ref *a;
  int reads = 0;
  one_args args = {sv[0], &reads};
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &one_class, &args, NULL, &a), 0);
  assert_true(mrt_runtime_run_until_idle(rt) > 0); /* on_start */
  assert_int_equal(mrt_runtime_run_until_idle(rt), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(send(sv[1], "d", 1, 0), 1);
  assert_int_equal(mrt_runtime_run_until_idle(rt), 3);
  assert_int_equal(reads, 3);
  assert_int_equal(mrt_runtime_run_until_idle(rt), 0);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
  close(sv[0]);
  close(sv[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(watch_read_cancel),
      cmocka_unit_test(watch_dies_with_actor_and_failure_fails_it),
      cmocka_unit_test(run_until_idle_drains_io_callbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
