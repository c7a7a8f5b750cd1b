/* SPDX-License-Identifier: MIT */
/* Tests (netns suite, root): meshrt-node with the real netlink link monitor
 * in a private network namespace. A link flap on the node's interface (a
 * veth, set down and up again) must show up in `meshrt-ctl events` as
 * link-change events followed by the rebind that answered them (a new port,
 * listing those link changes' sequence numbers), the link-change naming the
 * interface ("v0: link down", in JSON and in the table); a change on an
 * ignored interface must not. The node's sockets stay on loopback. Exits 77 (skip)
 * without root or namespaces. Arguments: the meshrt-node and meshrt-ctl
 * binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "netns-fixture.h"

#include <sched.h>

#include <meshrt/mesh.h>

#include "test-node-proc.h"

static bool watching(const json_t *s) {
  const json_t *m = json_object_get(s, "link_monitor");
  const char *state = json_string_value(json_object_get(m, "state"));
  return state != NULL && strcmp(state, "watching") == 0;
}

/* Events after `after` (a new reference to the array). */
static json_t *events_after(const char *sock, long long after) {
  char arg[32];
  snprintf(arg, sizeof arg, "--after=%lld", after);
  char *argv[] = {(char *)ctl_bin, "--socket", (char *)sock, "--json", "events", arg, NULL};
  char *out = NULL;
  json_t *r = NULL;
  if (run_capture(argv, NP_WAIT_MS, &out, NULL) == 0)
    r = json_loads(out, 0, NULL);
  free(out);
  json_t *events = json_incref(json_object_get(r, "events"));
  json_decref(r);
  return events != NULL ? events : json_array();
}

static const char *kind_of(const json_t *ev) {
  return json_string_value(json_object_get(ev, "kind"));
}

/* A rebind answering a link-down among `events`; *link_seq gets its seq. */
static const json_t *rebind_after_flap(const json_t *events, json_int_t *link_seq) {
  size_t i;
  const json_t *ev;
  *link_seq = 0;
  json_array_foreach(events, i, ev) {
    if (!strcmp(kind_of(ev), "link-change") && *link_seq == 0 &&
        strstr(json_string_value(json_object_get(ev, "flags")), "link-down") != NULL)
      *link_seq = json_integer_value(json_object_get(ev, "seq"));
    if (!strcmp(kind_of(ev), "rebind") && *link_seq != 0) {
      size_t j;
      const json_t *s;
      json_array_foreach(json_object_get(ev, "link_changes"), j, s) {
        if (json_integer_value(s) == *link_seq)
          return ev;
      }
    }
  }
  return NULL;
}

/* The seq of the newest journal event once none arrived for `quiet_ms`
 * (the node's start-up changes are over; at most NP_WAIT_MS). */
static long long last_seq_when_quiet(const char *sock, uint64_t quiet_ms) {
  long long last = -1;
  uint64_t since = mono_ms(), end = mono_ms() + NP_WAIT_MS;
  for (;;) {
    json_t *all = events_after(sock, 0);
    long long seq =
        json_integer_value(json_object_get(json_array_get(all, json_array_size(all) - 1), "seq"));
    json_decref(all);
    if (seq != last) {
      last = seq;
      since = mono_ms();
    }
    if (mono_ms() - since >= quiet_ms || mono_ms() > end)
      return last;
    sleep_ms(100);
  }
}

/* Changes on an ignored interface journal no link change and no rebind. The
 * wait is a few debounce periods: a slow machine can make the check weaker,
 * never make it fail. */
static void expect_quiet_on_ignored(const char *sock, long long last) {
  sh("ip link add dummy0 type veth peer name dummy1 && ip link set dummy1 up && "
     "ip link set dummy0 up && ip addr add 10.78.0.1/24 dev dummy0 && ip link del dummy0");
  sleep_ms(600);
  json_t *quiet = events_after(sock, last);
  size_t i;
  const json_t *ev;
  json_array_foreach(quiet, i, ev) {
    if (!strcmp(kind_of(ev), "link-change") || !strcmp(kind_of(ev), "rebind"))
      fail_msg("an ignored interface caused a %s event", kind_of(ev));
  }
  json_decref(quiet);
}

/* Whether link-change event `ev` lists `text` on interface `ifname`. */
static bool names_change(const json_t *ev, const char *ifname, const char *text) {
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(ev, "changes"), i, c) {
    const char *name = json_string_value(json_object_get(c, "interface"));
    const char *t = json_string_value(json_object_get(c, "text"));
    if (name != NULL && t != NULL && !strcmp(name, ifname) && !strcmp(t, text))
      return true;
  }
  return false;
}

/* A link-down event, then a rebind to a new port that lists it. */
static void expect_rebind_after_flap(node_proc *n, long long last) {
  const json_t *rebind = NULL;
  json_t *events = NULL;
  json_int_t link_seq = 0;
  for (uint64_t end = mono_ms() + NP_WAIT_MS; rebind == NULL && mono_ms() < end;) {
    json_decref(events);
    events = events_after(n->sock, last);
    rebind = rebind_after_flap(events, &link_seq);
    if (rebind == NULL)
      sleep_ms(50);
  }
  if (rebind == NULL) {
    dump_log(n);
    fail_msg("no rebind answering the link flap within %d ms", NP_WAIT_MS);
  }
  assert_string_equal(json_string_value(json_object_get(rebind, "cause")), "link-change");
  assert_true(json_is_true(json_object_get(rebind, "ok")));
  assert_int_equal(json_integer_value(json_object_get(rebind, "old_port")),
                   json_integer_value(json_object_get(rebind, "new_port")));
  assert_string_equal(json_string_value(json_object_get(rebind, "port")), "kept");
  /* The link-down event says where. */
  size_t i;
  const json_t *ev;
  bool named = false;
  json_array_foreach(events, i, ev) {
    if (json_integer_value(json_object_get(ev, "seq")) == link_seq)
      named = names_change(ev, "v0", "v0: link down");
  }
  assert_true(named);
  json_decref(events);
}

static void link_flap_shows_up_with_its_rebind(void **state) {
  (void)state;
  /* addrgenmode none: no IPv6 link-local addresses, whose duplicate address
   * detection would change the interface at times the test does not control. */
  sh("ip link add v0 type veth peer name v1 && ip link set v0 addrgenmode none && "
     "ip link set v1 addrgenmode none && ip addr add 10.77.0.1/24 dev v0 && "
     "ip link set v1 up && ip link set v0 up");
  char cfg[300];
  file_write(in_dir("node.json", cfg, sizeof cfg),
             "{\"listen_address\": \"127.0.0.1\", \"advertise_local\": false,"
             " \"network_monitor\": \"netlink\", \"ignored_interfaces\": [\"v1\", \"dummy*\"]}");
  node_proc n;
  const char *args[] = {"--config", cfg, "--no-metrics", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, watching, NP_WAIT_MS);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(s, "link_monitor"), "kind")), "netlink");
  json_decref(s);
  /* Past the debounce and the 1 s rebind interval of any start-up change. */
  long long last = last_seq_when_quiet(n.sock, 1500);

  expect_quiet_on_ignored(n.sock, last);
  sh("ip link set v0 down && ip link set v0 up");
  expect_rebind_after_flap(&n, last);

  /* The table says so too. */
  char *out = NULL;
  assert_int_equal(ctl_text(n.sock, &out, NULL, "events", NULL), 0);
  assert_non_null(strstr(out, "v0: link down"));
  assert_non_null(strstr(out, "(link-change #"));
  free(out);

  assert_int_equal(node_stop(&n, SIGTERM, NP_WAIT_MS), 0);
}

static int teardown(void **state) {
  (void)state;
  reap_all();
  if (system("ip link del v0 2>/dev/null") != 0) {
    /* already gone */
  }
  dir_remove(test_dir);
  return 0;
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  int skip = netns_enter_or_skip(true);
  if (skip != 0)
    return skip;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(link_flap_shows_up_with_its_rebind, proc_setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
