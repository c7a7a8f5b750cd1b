/* SPDX-License-Identifier: MIT */
/* Install test (tests/test-install.sh): a host of libmeshrt alone, built
 * against the installed pkg-config file `meshrt` as strict C11. It is the
 * README's "Using the runtime" example: an actor that adds, a tell and an
 * ask from the host thread on a started runtime. Exit 0 when the sum is
 * right. Threads: the main thread is the host; the runtime has its own. */
#include <stdio.h>

#include <meshrt/meshrt.h>

typedef struct {
  int n;
} add_req;
MRT_MESSAGE_DECLARE(, add, add_req, int);
MRT_MESSAGE_DEFINE(add, add_req, int, NULL, NULL);

typedef struct {
  int sum;
} acc_state;

static int on_add(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  acc_state *st = state;
  st->sum += mrt_payload_add(p)->n;
  return r ? MRT_REPLY(add, r, &st->sum) : 0;
}

static const mrt_handler_entry acc_handlers[] = {{&mrt_msg_add, on_add}, {NULL, NULL}};
static const mrt_actor_class acc_class = {
    .name = "acc", .state_size = sizeof(acc_state), .handlers = acc_handlers};

int main(void) {
  mrt_runtime *rt;
  mrt_ref *acc;
  if (mrt_runtime_new(NULL, &rt) < 0 || mrt_runtime_start(rt) < 0 ||
      mrt_actor_spawn(rt, &acc_class, NULL, NULL, &acc) < 0)
    return 1;
  int sum = 0;
  int rc = MRT_TELL(add, acc, &(add_req){2});
  if (rc == 0) /* a generous bound: only a hang could reach it */
    rc = MRT_ASK_SYNC(add, acc, &(add_req){3}, &sum, MRT_SEC(60));
  mrt_ref_unref(acc);
  mrt_runtime_unref(rt);
  if (rc < 0 || sum != 5) {
    fprintf(stderr, "install-meshrt: rc=%s sum=%d, expected 5\n", mrt_strerror(rc), sum);
    return 1;
  }
  printf("install-meshrt: 2 + 3 = %d\n", sum);
  return 0;
}
