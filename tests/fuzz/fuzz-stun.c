/* SPDX-License-Identifier: MIT */
/* Fuzz target: STUN datagrams, as both STUN clients (DirectManager,
 * DerpLatencyMeasurer) read responses and the responder reads requests.
 *
 * Properties:
 *   - a parsed response says why on failure (a reason other than "none",
 *     with a clean description) and leaves no address behind; on success it
 *     has no reason, and a success response carries an IPv4 or IPv6 address
 *     of the matching length, which survives a round trip through our own
 *     response writer (same transaction id, same address);
 *   - a parsed request's transaction id survives a round trip through our
 *     own request writer;
 *   - whatever parses looks like STUN to the cheap demultiplexing test.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/stun.h>

#include "fuzz.h"

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family)
    return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void response(const uint8_t *data, size_t size) {
  mrt_stun_response r;
  int rc = mrt_stun_parse_binding_response(data, size, &r);
  const char *why = mrt_stun_reject_name(r.reject);
  FUZZ_CHECK(why != NULL && fuzz_clean_text(why, strlen(why)), "reason text");
  if (rc < 0) {
    FUZZ_CHECK(rc == -EBADMSG || rc == -ENOTSUP || rc == -EINVAL, "rc %d", rc);
    FUZZ_CHECK(r.reject != MRT_STUN_REJECT_NONE, "refused without a reason");
    FUZZ_CHECK(r.mapped.ss_family == AF_UNSPEC && r.mapped_len == 0, "address left behind");
    return;
  }
  FUZZ_CHECK(mrt_stun_is_stun(data, size), "parsed but not STUN to the demultiplexer");
  FUZZ_CHECK(r.reject == MRT_STUN_REJECT_NONE, "accepted with a reason");
  if (r.is_error) {
    FUZZ_CHECK(r.error_code >= 300 && r.error_code <= 699, "error code %d", r.error_code);
    return;
  }
  FUZZ_CHECK((r.mapped.ss_family == AF_INET && r.mapped_len == sizeof(struct sockaddr_in)) ||
                 (r.mapped.ss_family == AF_INET6 && r.mapped_len == sizeof(struct sockaddr_in6)),
             "mapped address");
  uint8_t buf[MRT_STUN_RESPONSE_MAX_LEN];
  int n =
      mrt_stun_build_binding_response(buf, sizeof buf, &r.txid, (const struct sockaddr *)&r.mapped);
  FUZZ_CHECK(n > 0, "cannot write the response back: %d", n);
  mrt_stun_response back;
  FUZZ_CHECK(mrt_stun_parse_binding_response(buf, (size_t)n, &back) == 0, "our own response");
  FUZZ_CHECK(mrt_stun_txid_equal(&back.txid, &r.txid) && same_addr(&back.mapped, &r.mapped),
             "round trip changed the response");
}

static void request(const uint8_t *data, size_t size) {
  mrt_stun_txid t;
  memset(&t, 0xa5, sizeof t);
  int rc = mrt_stun_parse_binding_request(data, size, &t);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EBADMSG || rc == -ENOTSUP || rc == -EINVAL, "rc %d", rc);
    return;
  }
  FUZZ_CHECK(mrt_stun_is_stun(data, size), "parsed but not STUN to the demultiplexer");
  uint8_t buf[256];
  int n = mrt_stun_build_binding_request(buf, sizeof buf, &t, MRT_STUN_SOFTWARE);
  FUZZ_CHECK(n > 0, "cannot write the request back");
  mrt_stun_txid back;
  FUZZ_CHECK(mrt_stun_parse_binding_request(buf, (size_t)n, &back) == 0, "our own request");
  FUZZ_CHECK(mrt_stun_txid_equal(&back, &t), "round trip changed the transaction id");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  response(data, size);
  request(data, size);
  return 0;
}
