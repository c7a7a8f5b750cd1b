/* SPDX-License-Identifier: MIT */
/* Install test (tests/test-install.sh): a host's own test on
 * libmeshrt-testing, built against the installed pkg-config file
 * `meshrt-testing` as strict C11: a counter stand-in on the fixture's
 * virtual-clock runtime gets two tells. Exit 0 when it counted them.
 * Threads: the main thread drives the hand-driven runtime. */
#include <stdio.h>

#include <meshrt/testing.h>

MRT_MESSAGE_DECLARE(, ping, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(ping, mrt_none, mrt_none, NULL, NULL);

int main(void) {
  mrt_runtime *rt;
  mrt_ref *counter;
  if (mrt_test_runtime_new(1, &rt) < 0 || mrt_test_counter_spawn(rt, &counter) < 0) {
    fprintf(stderr, "install-testing: setup failed\n");
    return 1;
  }
  int rc = MRT_TELL(ping, counter, &(mrt_none){0});
  if (rc == 0)
    rc = MRT_TELL(ping, counter, &(mrt_none){0});
  int64_t n = rc == 0 ? mrt_test_counter_get(counter) : rc;
  mrt_ref_unref(counter);
  mrt_runtime_unref(rt);
  if (n != 2) {
    fprintf(stderr, "install-testing: counted %lld, expected 2\n", (long long)n);
    return 1;
  }
  printf("install-testing: the counter counted 2\n");
  return 0;
}
