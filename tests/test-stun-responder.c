/* SPDX-License-Identifier: MIT */
/* Tests for the STUN binding responder actor: it answers a Binding request
 * with the client's own address XOR-mapped (IPv4 and IPv6 loopback), ignores
 * malformed datagrams and non-requests without answering, holds answers for
 * its artificial delay on the virtual clock (and a changed delay), answers
 * in the classic (RFC 3489-era) styles when asked to, and refuses bad spawn
 * arguments. Real sockets on loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include <meshrt/stun.h>

#include "direct-fixture.h"

static mrt_ref *spawn_responder(mrt_runtime *rt, const struct sockaddr_storage *addr,
                                uint64_t delay) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.listen_addr = *addr;
  cfg.delay_ns = delay;
  mrt_ref *r = NULL;
  assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), 0);
  return r;
}

static mrt_stun_responder_info info_of(mrt_ref *r) {
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, r, &(mrt_none){0}, &info, 0), 0);
  return info;
}

static int client_socket(int family, struct sockaddr_storage *local) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  struct sockaddr_storage ss = family == AF_INET ? loop4(1, 0) : loop6(0);
  socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
  len = sizeof *local;
  assert_int_equal(getsockname(fd, (struct sockaddr *)local, &len), 0);
  return fd;
}

static void send_to(int fd, const struct sockaddr_storage *to, const void *buf, size_t len) {
  socklen_t sl =
      to->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sl), (ssize_t)len);
}

static size_t send_request(int fd, const struct sockaddr_storage *to, mrt_stun_txid *txid) {
  uint8_t req[64];
  for (size_t i = 0; i < sizeof txid->bytes; i++)
    txid->bytes[i] = (uint8_t)rand();
  int n = mrt_stun_build_binding_request(req, sizeof req, txid, MRT_STUN_SOFTWARE);
  assert_true(n > 0);
  send_to(fd, to, req, (size_t)n);
  return (size_t)n;
}

/* Drives `rt` until a datagram is there; -1 at the deadline. */
static ssize_t recv_driving(int fd, mrt_runtime *rt, uint8_t *buf, size_t cap) {
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  for (;;) {
    ssize_t n = recv(fd, buf, cap, 0);
    if (n >= 0 || real_now_ns() > deadline)
      return n;
    mrt_runtime_run_until_idle(rt);
    real_sleep_us(100);
  }
}

static void answers_with_the_mapped_address(int family) {
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  struct sockaddr_storage bind_at = family == AF_INET ? loop4(1, 0) : loop6(0);
  mrt_ref *r = spawn_responder(rt, &bind_at, 0);
  mrt_stun_responder_info info = info_of(r);
  assert_int_equal(info.local.ss_family, family);
  assert_true(info.port != 0);

  struct sockaddr_storage me;
  int fd = client_socket(family, &me);
  mrt_stun_txid txid;
  send_request(fd, &info.local, &txid);
  uint8_t buf[256];
  ssize_t n = recv_driving(fd, rt, buf, sizeof buf);
  assert_true(n > 0);
  mrt_stun_response resp;
  assert_int_equal(mrt_stun_parse_binding_response(buf, (size_t)n, &resp), 0);
  assert_false(resp.is_error);
  assert_true(mrt_stun_txid_equal(&resp.txid, &txid));
  assert_true(same_addr(&resp.mapped, &me));
  info = info_of(r);
  assert_int_equal(info.requests, 1);
  assert_int_equal(info.answered, 1);
  close(fd);
  mrt_ref_unref(r);
  mrt_runtime_unref(rt);
}

static void answers_ipv4(void **unused) {
  (void)unused;
  answers_with_the_mapped_address(AF_INET);
}

static void answers_ipv6(void **unused) {
  (void)unused;
  if (!ipv6_loopback_works())
    skip();
  answers_with_the_mapped_address(AF_INET6);
}

static void ignores_malformed(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  struct sockaddr_storage at = loop4(1, 0);
  mrt_ref *r = spawn_responder(rt, &at, 0);
  struct sockaddr_storage to = info_of(r).local, me;
  int fd = client_socket(AF_INET, &me);

  uint8_t req[64];
  mrt_stun_txid txid = {{9, 9, 9}};
  int n = mrt_stun_build_binding_request(req, sizeof req, &txid, MRT_STUN_SOFTWARE);
  send_to(fd, &to, "hello", 5);         /* not STUN */
  send_to(fd, &to, req, (size_t)n - 4); /* truncated */
  req[n - 1] ^= 0xff;                   /* bad FINGERPRINT */
  send_to(fd, &to, req, (size_t)n);
  uint8_t resp[128];
  int rn = mrt_stun_build_binding_response(resp, sizeof resp, &txid, (struct sockaddr *)&me);
  send_to(fd, &to, resp, (size_t)rn); /* a response, not a request */
  send_to(fd, &to, "", 0);            /* empty */
  drive_settle(&rt, 1);
  mrt_stun_responder_info info = info_of(r);
  assert_int_equal(info.ignored, 5);
  assert_int_equal(info.requests, 0);
  assert_int_equal(info.answered, 0);
  uint8_t buf[256];
  assert_int_equal(recv(fd, buf, sizeof buf, 0), -1); /* nothing came back */
  assert_int_equal(errno, EAGAIN);
  /* Still serving. */
  send_request(fd, &to, &txid);
  assert_true(recv_driving(fd, rt, buf, sizeof buf) > 0);
  close(fd);
  mrt_ref_unref(r);
  mrt_runtime_unref(rt);
}

static void artificial_delay(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  struct sockaddr_storage at = loop4(1, 0);
  mrt_ref *r = spawn_responder(rt, &at, MRT_MS(50));
  struct sockaddr_storage to = info_of(r).local, me;
  int fd = client_socket(AF_INET, &me);
  mrt_stun_txid txid;
  send_request(fd, &to, &txid);
  drive_settle(&rt, 1);
  assert_int_equal(info_of(r).requests, 1);
  uint8_t buf[256];
  assert_int_equal(recv(fd, buf, sizeof buf, 0), -1); /* held back */
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(49)), 0);
  drive_settle(&rt, 1);
  assert_int_equal(recv(fd, buf, sizeof buf, 0), -1);
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(1)), 1);
  ssize_t n = recv_driving(fd, rt, buf, sizeof buf);
  mrt_stun_response resp;
  assert_int_equal(mrt_stun_parse_binding_response(buf, (size_t)n, &resp), 0);
  assert_true(mrt_stun_txid_equal(&resp.txid, &txid));

  /* A shorter delay set later applies to new requests. */
  assert_int_equal(
      MRT_ASK_SYNC(stun_responder_set_delay, r, &(uint64_t){MRT_MS(5)}, &(mrt_none){0}, 0), 0);
  assert_int_equal(info_of(r).delay_ns, MRT_MS(5));
  send_request(fd, &to, &txid);
  drive_settle(&rt, 1);
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(5)), 1);
  assert_true(recv_driving(fd, rt, buf, sizeof buf) > 0);
  close(fd);
  mrt_ref_unref(r);
  mrt_runtime_unref(rt);
}

/* Reads the plain address value of attribute `type` in `msg`; false if the
 * attribute is missing. */
static bool plain_attr(const uint8_t *msg, size_t len, uint16_t type, uint8_t out[8]) {
  for (size_t off = 20; off + 4 <= len;) {
    uint16_t t = (uint16_t)(msg[off] << 8 | msg[off + 1]);
    size_t vlen = (size_t)(msg[off + 2] << 8 | msg[off + 3]);
    if (t == type && vlen == 8 && off + 12 <= len) {
      memcpy(out, msg + off + 4, 8);
      return true;
    }
    off += 4 + ((vlen + 3) & ~(size_t)3);
  }
  return false;
}

static void classic_styles(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  const mrt_stun_responder_style styles[] = {MRT_STUN_RESPONDER_CLASSIC,
                                             MRT_STUN_RESPONDER_RFC3489};
  for (int i = 0; i < 2; i++) {
    mrt_stun_responder_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.listen_addr = loop4(1, 0);
    cfg.style = styles[i];
    mrt_ref *r = NULL;
    assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), 0);
    struct sockaddr_storage to = info_of(r).local, me;
    int fd = client_socket(AF_INET, &me);
    mrt_stun_txid txid;
    send_request(fd, &to, &txid);
    uint8_t buf[256];
    ssize_t n = recv_driving(fd, rt, buf, sizeof buf);
    assert_true(n > 0);
    mrt_stun_response resp;
    assert_int_equal(mrt_stun_parse_binding_response(buf, (size_t)n, &resp), 0);
    assert_true(mrt_stun_txid_equal(&resp.txid, &txid));
    assert_true(same_addr(&resp.mapped, &me));
    /* SOURCE-ADDRESS: where it answers from; CHANGED-ADDRESS: a port up. */
    uint8_t v[8];
    uint16_t port = port_of(&to);
    assert_true(plain_attr(buf, (size_t)n, MRT_STUN_ATTR_SOURCE_ADDRESS, v));
    assert_int_equal(v[2] << 8 | v[3], port);
    assert_memory_equal(v + 4, "\x7f\x00\x00\x01", 4);
    assert_true(plain_attr(buf, (size_t)n, MRT_STUN_ATTR_CHANGED_ADDRESS, v));
    assert_int_equal(v[2] << 8 | v[3], port + 1);
    /* RFC 3489 style: no FINGERPRINT, no XOR-MAPPED-ADDRESS. */
    assert_int_equal(n, i == 0 ? 20 + 3 * 12 + 12 + 12 + 8 : 20 + 3 * 12);
    close(fd);
    mrt_ref_unref(r);
  }
  mrt_runtime_unref(rt);
}

static void bad_arguments(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  mrt_ref *r = NULL;
  assert_int_equal(mrt_stun_responder_spawn(NULL, &cfg, NULL, &r), -EINVAL);
  assert_int_equal(mrt_stun_responder_spawn(rt, NULL, NULL, &r), -EINVAL);
  cfg.listen_addr.ss_family = AF_UNIX;
  assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), -EINVAL);
  cfg.listen_addr.ss_family = AF_UNSPEC;
  cfg.style = (mrt_stun_responder_style)(MRT_STUN_RESPONDER_RFC3489 + 1);
  assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), -EINVAL);
  assert_null(r);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(answers_ipv4),      cmocka_unit_test(answers_ipv6),
      cmocka_unit_test(ignores_malformed), cmocka_unit_test(artificial_delay),
      cmocka_unit_test(classic_styles),    cmocka_unit_test(bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
