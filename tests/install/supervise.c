/* SPDX-License-Identifier: MIT */
/* Install test (tests/test-install.sh): a host of libmeshrt-supervise, built
 * against the installed pkg-config file `meshrt-supervise` as strict C11. A
 * supervisor starts one child on a hand-driven runtime (the calls below
 * drive it, so nothing waits on real time), the backoff tracker gates a
 * crash, and the tree shuts down. Exit 0 when each step worked. Threads:
 * the main thread drives everything. */
#include <stdio.h>

#include <meshrt/supervise.h>

static const mrt_handler_entry idle_handlers[] = {{NULL, NULL}};
static const mrt_actor_class idle_class = {.name = "idle", .handlers = idle_handlers};

#define CHECK(expr)                                                                                \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ < 0) {                                                                                 \
      fprintf(stderr, "install-supervise: %s: %s\n", #expr, mrt_strerror(rc_));                    \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(void) {
  mrt_backoff bt;
  mrt_backoff_config bcfg = mrt_backoff_config_default();
  mrt_backoff_status st;
  CHECK(mrt_backoff_init(&bt, &bcfg));
  CHECK(mrt_backoff_observe_start(&bt, 0));
  CHECK(mrt_backoff_observe_crash(&bt, MRT_SEC(1)));
  CHECK(mrt_backoff_state(&bt, MRT_SEC(1), &st));
  if (st.phase != MRT_BACKOFF_BACKING_OFF) {
    fprintf(stderr, "install-supervise: a crash did not close the gate\n");
    return 1;
  }

  mrt_runtime *rt;
  mrt_runtime_config cfg = {.virtual_clock = true, .virtual_start_ns = MRT_SEC(1000)};
  CHECK(mrt_runtime_new(&cfg, &rt));
  mrt_child_spec child = {.id = "worker", .cls = &idle_class, .restart = MRT_RESTART_PERMANENT};
  mrt_supervisor_spec spec = {
      .name = "root", .strategy = MRT_STRATEGY_ONE_FOR_ONE, .children = &child, .n_children = 1};
  mrt_ref *sup, *worker;
  CHECK(mrt_supervisor_spawn(rt, &spec, NULL, &sup));
  CHECK(mrt_supervisor_await_boot(sup, MRT_SEC(60)));
  CHECK(mrt_supervisor_child_ref(sup, "worker", &worker));
  mrt_ref_unref(worker);
  CHECK(mrt_supervisor_shutdown(sup, MRT_SEC(60)));
  mrt_ref_unref(sup);
  mrt_runtime_unref(rt);
  printf("install-supervise: supervisor booted and shut down; backoff gated a crash\n");
  return 0;
}
