/* SPDX-License-Identifier: MIT */
/* meshrt — the netlink monitor in a build without the network_monitor
 * feature: creating it fails with -ENOTSUP so that a host can report, before
 * starting anything, that the build cannot monitor links. */
#include "monitor.h"

int mrt_netlink_monitor_new(const mrt_netlink_monitor_config *cfg, mrt_link_monitor **out) {
  (void)cfg;
  if (out != NULL)
    *out = NULL;
  /* Quiet on purpose: callers probe with this (mrt_node_network_monitor_
   * available) and say themselves why it matters. */
  return -ENOTSUP;
}
