/* SPDX-License-Identifier: MIT */
/* Install test (tests/test-install.sh): a host of libmeshrt-netmon, built
 * against the installed pkg-config file `meshrt-netmon` as strict C11. A
 * manual link monitor is watched by an actor on the virtual clock; one
 * triggered change arrives, debounced, once the clock has moved past the
 * settle time. Exit 0 when it did. Threads: the main thread drives the
 * hand-driven runtime, so the handler runs on it too. */
#include <stdio.h>

#include <meshrt/meshrt.h>
#include <meshrt/netmon.h>

static unsigned changes;
static uint32_t last_flags;

static int on_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  changes++;
  last_flags = mrt_payload_link_change(p)->flags;
  return 0;
}

static const mrt_handler_entry handlers[] = {{&mrt_msg_link_change, on_change}, {NULL, NULL}};
static const mrt_actor_class watcher_class = {.name = "target", .handlers = handlers};

int main(void) {
  mrt_runtime *rt;
  mrt_ref *target;
  mrt_link_monitor *mon;
  mrt_link_watch *watch;
  mrt_runtime_config cfg = {.virtual_clock = true, .virtual_start_ns = MRT_SEC(1000)};
  if (mrt_runtime_new(&cfg, &rt) < 0 ||
      mrt_actor_spawn(rt, &watcher_class, NULL, NULL, &target) < 0 ||
      mrt_manual_monitor_new(&mon) < 0 ||
      mrt_link_monitor_watch(mon, rt, target, NULL, &watch) < 0) {
    fprintf(stderr, "install-netmon: setup failed\n");
    return 1;
  }
  if (!mrt_manual_monitor_trigger(mon, MRT_LINK_CHANGE_LINK_UP) ||
      mrt_runtime_advance(rt, MRT_SEC(2)) < 0) {
    fprintf(stderr, "install-netmon: trigger failed\n");
    return 1;
  }
  char flags[64];
  mrt_link_change_flags_str(last_flags, flags, sizeof flags);
  mrt_link_watch_destroy(watch);
  mrt_link_monitor_free(mon);
  mrt_ref_unref(target);
  mrt_runtime_unref(rt);
  if (changes != 1 || last_flags != MRT_LINK_CHANGE_LINK_UP) {
    fprintf(stderr, "install-netmon: %u changes, flags %s; expected one link-up\n", changes, flags);
    return 1;
  }
  printf("install-netmon: one change: %s\n", flags);
  return 0;
}
