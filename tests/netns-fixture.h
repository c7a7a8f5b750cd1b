/* SPDX-License-Identifier: MIT */
/* Shared by the netns suite's tests: entering a private network namespace (or
 * saying why the suite is skipped) and running `ip` commands that must work.
 * Include after <cmocka.h>. Header-only: each test is one executable. */
#ifndef MESHRT_TESTS_NETNS_FIXTURE_H
#define MESHRT_TESTS_NETNS_FIXTURE_H

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <meshrt/mesh.h>

/* Returns 0 once this process is alone in a new network namespace with its
 * loopback up, or 77 (meson's "skipped") with the reason on stderr: not
 * root, no namespaces, or (need_netlink) built without network_monitor.
 * Call first thing in main, before any thread exists. */
static inline int netns_enter_or_skip(bool need_netlink) {
  if (geteuid() != 0) {
    fprintf(stderr, "netns suite: needs root, skipping\n");
    return 77;
  }
  if (need_netlink && !mrt_node_network_monitor_available()) {
    fprintf(stderr, "netns suite: built without network_monitor, skipping\n");
    return 77;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    fprintf(stderr, "netns suite: unshare(CLONE_NEWNET): %s, skipping\n", strerror(errno));
    return 77;
  }
  if (system("ip link set lo up") != 0) {
    fprintf(stderr, "netns suite: 'ip link set lo up' failed, skipping\n");
    return 77;
  }
  return 0;
}

/* Runs a shell command that must succeed; fails the test otherwise. */
__attribute__((format(printf, 1, 2))) static inline void sh(const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  if (rc != 0)
    fail_msg("command failed (%d): %s", rc, cmd);
}

#endif
