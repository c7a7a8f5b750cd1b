/* SPDX-License-Identifier: MIT */
/* Tests for the STUN Binding codec (actors/stun.c): the RFC 5769 sample
 * messages, responses of classic RFC 3489-era servers (SOURCE-ADDRESS,
 * CHANGED-ADDRESS and the other attributes RFC 5389 reserved), every
 * malformation the parsers must refuse and the reason they give, build/parse
 * round trips, and a fixed-seed fuzz loop. Fuzz inputs live in heap blocks of
 * exactly their length so ASan and valgrind catch any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <meshrt/stun.h>

/* ---- RFC 5769 sample messages (IETF test vectors) ---- */

static const mrt_stun_txid rfc_txid = {{
    0xb7,
    0xe7,
    0xa7,
    0x01,
    0xbc,
    0x34,
    0xd6,
    0x86,
    0xfa,
    0x87,
    0xdf,
    0xae,
}};

/* §2.1: Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
 * MESSAGE-INTEGRITY and FINGERPRINT. */
static const uint8_t rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* §2.2: success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. Layout:
 * header 0..19, SOFTWARE 20..35, XOR-MAPPED-ADDRESS 36..47,
 * MESSAGE-INTEGRITY 48..71, FINGERPRINT 72..79. */
static const uint8_t rfc_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* §2.3: success response, XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. Address attribute at 36..59,
 * MESSAGE-INTEGRITY 60..83, FINGERPRINT 84..91. */
static const uint8_t rfc_response_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* ---- classic (RFC 3489-era) server responses, to the RFC 5769 txid ---- */

/* What a classic server that also speaks RFC 5389 answers: MAPPED-ADDRESS
 * 10.0.0.5:32853 (as an address-rewriting NAT left it), SOURCE-ADDRESS
 * 198.51.100.10:3478, CHANGED-ADDRESS 198.51.100.11:3479,
 * XOR-MAPPED-ADDRESS 192.0.2.1:32853, SOFTWARE "classic", FINGERPRINT.
 * Layout: MAPPED 20..31, SOURCE 32..43, CHANGED 44..55, XOR 56..67,
 * SOFTWARE 68..79, FINGERPRINT 80..87. */
static const uint8_t classic_response[] = {
    0x01, 0x01, 0x00, 0x44, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 0x0a, 0x00,
    0x00, 0x05, 0x00, 0x04, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x96, 0xc6, 0x33, 0x64, 0x0a, 0x00,
    0x05, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x97, 0xc6, 0x33, 0x64, 0x0b, 0x00, 0x20, 0x00, 0x08,
    0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x80, 0x22, 0x00, 0x07, 0x63, 0x6c, 0x61,
    0x73, 0x73, 0x69, 0x63, 0x00, 0x80, 0x28, 0x00, 0x04, 0xe2, 0xd7, 0xf5, 0xb8,
};

/* A pure RFC 3489 server (no FINGERPRINT, no XOR-MAPPED-ADDRESS at 0x0020):
 * MAPPED-ADDRESS 192.0.2.1:32853, SOURCE-ADDRESS, CHANGED-ADDRESS, and the
 * pre-RFC XOR-MAPPED-ADDRESS draft code point 0x8020 (comprehension-optional,
 * so skipped) holding 203.0.113.5:1. */
static const uint8_t classic_mapped_only[] = {
    0x01, 0x01, 0x00, 0x30, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
    0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x80, 0x55,
    0xc0, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x96, 0xc6, 0x33,
    0x64, 0x0a, 0x00, 0x05, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x97, 0xc6, 0x33, 0x64, 0x0b,
    0x80, 0x20, 0x00, 0x08, 0x00, 0x01, 0x21, 0x13, 0xea, 0x12, 0xd5, 0x47,
};

/* ---- a tiny independent message writer for hand-made cases ---- */

struct msg {
  uint8_t b[2048];
  size_t len;
};

static void msg_begin(struct msg *m, uint16_t type, const mrt_stun_txid *txid) {
  memset(m, 0, sizeof(*m));
  m->b[0] = (uint8_t)(type >> 8);
  m->b[1] = (uint8_t)type;
  m->b[4] = 0x21, m->b[5] = 0x12, m->b[6] = 0xa4, m->b[7] = 0x42;
  memcpy(m->b + 8, txid->bytes, 12);
  m->len = 20;
}

/* Appends an attribute whose length field says `declared` while `vlen`
 * bytes of `val` are written (then zero padding to 4). */
static void msg_attr_raw(struct msg *m, uint16_t type, uint16_t declared, const void *val,
                         size_t vlen) {
  uint8_t *p = m->b + m->len;
  p[0] = (uint8_t)(type >> 8), p[1] = (uint8_t)type;
  p[2] = (uint8_t)(declared >> 8), p[3] = (uint8_t)declared;
  if (vlen)
    memcpy(p + 4, val, vlen);
  m->len += 4 + ((vlen + 3) & ~(size_t)3);
}

static void msg_attr(struct msg *m, uint16_t type, const void *val, size_t vlen) {
  msg_attr_raw(m, type, (uint16_t)vlen, val, vlen);
}

static void msg_set_length(struct msg *m) {
  m->b[2] = (uint8_t)((m->len - 20) >> 8);
  m->b[3] = (uint8_t)(m->len - 20);
}

/* Sets the header length and optionally appends a correct FINGERPRINT. */
static void msg_end(struct msg *m, bool with_fingerprint) {
  if (with_fingerprint) {
    m->len += 8;
    msg_set_length(m);
    m->len -= 8;
    uint32_t fp = (uint32_t)crc32(0L, m->b, (uInt)m->len) ^ 0x5354554eu;
    uint8_t v[4] = {(uint8_t)(fp >> 24), (uint8_t)(fp >> 16), (uint8_t)(fp >> 8), (uint8_t)fp};
    msg_attr(m, MRT_STUN_ATTR_FINGERPRINT, v, 4);
  }
  msg_set_length(m);
}

/* A plain (non-XOR) IPv4 address value. */
static void plain_v4(uint8_t v[8], const char *ip, uint16_t port) {
  v[0] = 0, v[1] = 1, v[2] = (uint8_t)(port >> 8), v[3] = (uint8_t)port;
  assert_int_equal(inet_pton(AF_INET, ip, v + 4), 1);
}

static void assert_v4(const mrt_stun_response *r, const char *ip, uint16_t port) {
  const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->mapped;
  char got[INET_ADDRSTRLEN];

  assert_int_equal(r->mapped.ss_family, AF_INET);
  assert_int_equal(r->mapped_len, sizeof(struct sockaddr_in));
  assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, got, sizeof(got)));
  assert_string_equal(got, ip);
  assert_int_equal(ntohs(sin->sin_port), port);
}

static void assert_v6(const mrt_stun_response *r, const char *ip, uint16_t port) {
  const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r->mapped;
  char got[INET6_ADDRSTRLEN];

  assert_int_equal(r->mapped.ss_family, AF_INET6);
  assert_int_equal(r->mapped_len, sizeof(struct sockaddr_in6));
  assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, got, sizeof(got)));
  assert_string_equal(got, ip);
  assert_int_equal(ntohs(sin6->sin6_port), port);
}

static int parse_resp(const void *buf, size_t len) {
  mrt_stun_response r;
  return mrt_stun_parse_binding_response(buf, len, &r);
}

/* ---- RFC 5769 vectors ---- */

static void rfc5769_ipv4_response(void **state) {
  mrt_stun_response r;
  (void)state;

  assert_true(mrt_stun_is_stun(rfc_response_v4, sizeof(rfc_response_v4)));
  assert_int_equal(mrt_stun_parse_binding_response(rfc_response_v4, sizeof(rfc_response_v4), &r),
                   0);
  assert_false(r.is_error);
  assert_int_equal(r.error_code, 0);
  assert_true(mrt_stun_txid_equal(&r.txid, &rfc_txid));
  assert_v4(&r, "192.0.2.1", 32853);
}

static void rfc5769_ipv6_response(void **state) {
  mrt_stun_response r;
  (void)state;

  assert_int_equal(mrt_stun_parse_binding_response(rfc_response_v6, sizeof(rfc_response_v6), &r),
                   0);
  assert_false(r.is_error);
  assert_true(mrt_stun_txid_equal(&r.txid, &rfc_txid));
  assert_v6(&r, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
}

/* The sample request is an ICE check: USERNAME and PRIORITY are
 * comprehension-required and unknown to us, so a responder must not answer
 * it with a success (RFC 5389 §7.3.1). Its FINGERPRINT is checked first:
 * tampering with it turns -ENOTSUP into -EBADMSG. */
static void rfc5769_request(void **state) {
  uint8_t copy[sizeof(rfc_request)];
  mrt_stun_txid txid;
  (void)state;

  assert_true(mrt_stun_is_stun(rfc_request, sizeof(rfc_request)));
  assert_int_equal(mrt_stun_parse_binding_request(rfc_request, sizeof(rfc_request), &txid),
                   -ENOTSUP);
  memcpy(copy, rfc_request, sizeof(copy));
  copy[sizeof(copy) - 1] ^= 0x01;
  assert_int_equal(mrt_stun_parse_binding_request(copy, sizeof(copy), &txid), -EBADMSG);
  /* A request is not a response. */
  assert_int_equal(parse_resp(rfc_request, sizeof(rfc_request)), -ENOTSUP);
}

/* Our encoder produces the RFC's XOR-MAPPED-ADDRESS bytes for its samples. */
static void rfc5769_xor_encoding(void **state) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(32853)};
  struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(32853)};
  uint8_t out[MRT_STUN_RESPONSE_MAX_LEN];
  (void)state;

  inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
  assert_int_equal(
      mrt_stun_build_binding_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&sin), 52);
  assert_memory_equal(out + 20, rfc_response_v4 + 36, 12);

  inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &sin6.sin6_addr);
  assert_int_equal(
      mrt_stun_build_binding_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&sin6), 64);
  assert_memory_equal(out + 20, rfc_response_v6 + 36, 24);
}

/* ---- classic servers ---- */

static void classic_response_with_xor(void **state) {
  mrt_stun_response r;
  (void)state;

  assert_true(mrt_stun_is_stun(classic_response, sizeof(classic_response)));
  assert_int_equal(mrt_stun_parse_binding_response(classic_response, sizeof(classic_response), &r),
                   0);
  assert_int_equal(r.reject, MRT_STUN_REJECT_NONE);
  assert_false(r.is_error);
  assert_true(mrt_stun_txid_equal(&r.txid, &rfc_txid));
  /* XOR-MAPPED-ADDRESS wins over the rewritten MAPPED-ADDRESS. */
  assert_v4(&r, "192.0.2.1", 32853);
}

static void classic_response_mapped_only(void **state) {
  mrt_stun_response r;
  (void)state;

  assert_int_equal(
      mrt_stun_parse_binding_response(classic_mapped_only, sizeof(classic_mapped_only), &r), 0);
  assert_false(r.is_error);
  assert_true(mrt_stun_txid_equal(&r.txid, &rfc_txid));
  assert_v4(&r, "192.0.2.1", 32853);
}

/* Every attribute RFC 5389 §18.2 carried over or reserved from RFC 3489 is
 * understood in a response, in its RFC 3489 shape; in a request the classic
 * ones still mean "unknown, required" (we cannot answer elsewhere or from
 * another address). */
static void classic_attributes_each(void **state) {
  static const struct {
    uint16_t type;
    uint8_t val[12];
    size_t len;
  } attrs[] = {
      {MRT_STUN_ATTR_RESPONSE_ADDRESS, {0, 1, 0x0d, 0x96, 198, 51, 100, 1}, 8},
      {MRT_STUN_ATTR_CHANGE_REQUEST, {0, 0, 0, 6}, 4},
      {MRT_STUN_ATTR_SOURCE_ADDRESS, {0, 1, 0x0d, 0x96, 198, 51, 100, 2}, 8},
      {MRT_STUN_ATTR_CHANGED_ADDRESS, {0, 1, 0x0d, 0x97, 198, 51, 100, 3}, 8},
      {MRT_STUN_ATTR_USERNAME, {'u', 's', 'e', 'r'}, 4},
      {MRT_STUN_ATTR_PASSWORD, {'p', 'a', 's', 's', 'w', 'o', 'r', 'd'}, 8},
      {MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES, {0x00, 0x24, 0x00, 0x24}, 4},
      {MRT_STUN_ATTR_REFLECTED_FROM, {0, 1, 0x30, 0x39, 192, 0, 2, 99}, 8},
  };
  struct msg m;
  uint8_t plain[8];
  mrt_stun_response r;
  mrt_stun_txid txid;
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
    msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
    msg_attr(&m, attrs[i].type, attrs[i].val, attrs[i].len);
    msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
    msg_end(&m, true);
    assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
    assert_v4(&r, "198.51.100.7", 4242);

    msg_begin(&m, MRT_STUN_BINDING_REQUEST, &rfc_txid);
    msg_attr(&m, attrs[i].type, attrs[i].val, attrs[i].len);
    msg_end(&m, true);
    assert_int_equal(mrt_stun_parse_binding_request(m.b, m.len, &txid), -ENOTSUP);
  }
  /* An IPv6 SOURCE-ADDRESS (RFC 5389's address shape) is fine too. */
  uint8_t v6[20] = {0, 2, 0x0d, 0x96, 0x20, 0x01, 0x0d, 0xb8};
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_SOURCE_ADDRESS, v6, 20);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, false);
  assert_int_equal(parse_resp(m.b, m.len), 0);
  /* An error response may list what the server did not understand. */
  uint8_t ec[4] = {0, 0, 4, 20}, list[2] = {0x00, 0x24};
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, ec, 4);
  msg_attr(&m, MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 2);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_int_equal(r.error_code, 420);
}

/* What mrt_stun_build_classic_response() writes parses, and carries the
 * classic attributes where a classic server puts them. */
static void classic_build(void **state) {
  struct sockaddr_in mapped = {.sin_family = AF_INET, .sin_port = htons(32853)};
  struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons(3478)};
  struct sockaddr_in chg = {.sin_family = AF_INET, .sin_port = htons(3479)};
  struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
  struct {
    sa_family_t family;
  } unix_sa = {AF_UNIX}; /* a family STUN cannot carry */
  uint8_t out[MRT_STUN_CLASSIC_RESPONSE_MAX_LEN + 1];
  mrt_stun_response r;
  (void)state;

  inet_pton(AF_INET, "192.0.2.1", &mapped.sin_addr);
  inet_pton(AF_INET, "198.51.100.10", &src.sin_addr);
  inet_pton(AF_INET, "198.51.100.11", &chg.sin_addr);
  int n = mrt_stun_build_classic_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&mapped,
                                          (struct sockaddr *)&src, (struct sockaddr *)&chg, true);
  assert_int_equal(n, 20 + 3 * 12 + 12 + 12 + 8);
  assert_int_equal(mrt_stun_parse_binding_response(out, (size_t)n, &r), 0);
  assert_v4(&r, "192.0.2.1", 32853);
  /* MAPPED, SOURCE, CHANGED in that order, plain; then XOR-MAPPED. */
  static const uint8_t want[] = {0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 192, 0,  2,   1,
                                 0x00, 0x04, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x96, 198, 51, 100, 10,
                                 0x00, 0x05, 0x00, 0x08, 0x00, 0x01, 0x0d, 0x97, 198, 51, 100, 11};
  assert_memory_equal(out + 20, want, sizeof(want));
  assert_memory_equal(out + 56, rfc_response_v4 + 36, 12);
  assert_int_equal(out[n - 8], 0x80); /* FINGERPRINT last */
  assert_int_equal(out[n - 7], 0x28);

  /* Pure RFC 3489: the three addresses and nothing else. */
  n = mrt_stun_build_classic_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&mapped,
                                      (struct sockaddr *)&src, (struct sockaddr *)&chg, false);
  assert_int_equal(n, 20 + 3 * 12);
  assert_memory_equal(out + 20, want, sizeof(want));
  assert_int_equal(mrt_stun_parse_binding_response(out, (size_t)n, &r), 0);
  assert_v4(&r, "192.0.2.1", 32853);

  /* IPv6 everywhere is the longest answer. */
  inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
  n = mrt_stun_build_classic_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&v6,
                                      (struct sockaddr *)&v6, (struct sockaddr *)&v6, true);
  assert_int_equal(n, MRT_STUN_CLASSIC_RESPONSE_MAX_LEN);
  assert_int_equal(mrt_stun_parse_binding_response(out, (size_t)n, &r), 0);
  assert_v6(&r, "2001:db8::1", 1);

  /* Errors leave the buffer alone. */
  memset(out, 0xee, sizeof(out));
  assert_int_equal(mrt_stun_build_classic_response(out, MRT_STUN_CLASSIC_RESPONSE_MAX_LEN - 1,
                                                   &rfc_txid, (struct sockaddr *)&v6,
                                                   (struct sockaddr *)&v6, (struct sockaddr *)&v6,
                                                   true),
                   -ENOSPC);
  assert_int_equal(
      mrt_stun_build_classic_response(out, sizeof(out), &rfc_txid, (struct sockaddr *)&mapped,
                                      (struct sockaddr *)&unix_sa, (struct sockaddr *)&chg, false),
      -EINVAL);
  assert_int_equal(mrt_stun_build_classic_response(out, sizeof(out), &rfc_txid,
                                                   (struct sockaddr *)&mapped, NULL,
                                                   (struct sockaddr *)&chg, false),
                   -EINVAL);
  assert_int_equal(
      mrt_stun_build_classic_response(NULL, sizeof(out), &rfc_txid, (struct sockaddr *)&mapped,
                                      (struct sockaddr *)&src, (struct sockaddr *)&chg, false),
      -EINVAL);
  for (size_t i = 0; i < sizeof(out); i++)
    assert_int_equal(out[i], 0xee);
}

/* Expects the response parser to refuse m with `err`, `why` and `attr`. */
static void assert_rejected(const struct msg *m, int err, mrt_stun_reject why, uint16_t attr) {
  mrt_stun_response r;

  assert_int_equal(mrt_stun_parse_binding_response(m->b, m->len, &r), err);
  assert_int_equal(r.reject, why);
  assert_int_equal(r.reject_attr, attr);
  assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
  assert_false(r.is_error);
}

/* Classic attributes are understood, not waved through: each is held to its
 * shape, and the rest of the message to every usual rule. */
static void classic_malformed_still_rejected(void **state) {
  static uint8_t big[MRT_STUN_USERNAME_MAX_LEN + 1];
  struct msg m;
  uint8_t plain[8], v[20] = {0};
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  v[1] = 0x03; /* SOURCE-ADDRESS of no such family */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr(&m, MRT_STUN_ATTR_SOURCE_ADDRESS, v, 8);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_ADDRESS, MRT_STUN_ATTR_SOURCE_ADDRESS);

  v[1] = 0x01; /* CHANGED-ADDRESS: IPv4 in 12 bytes */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr(&m, MRT_STUN_ATTR_CHANGED_ADDRESS, v, 12);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_ADDRESS, MRT_STUN_ATTR_CHANGED_ADDRESS);

  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid); /* REFLECTED-FROM, 4 bytes */
  msg_attr(&m, MRT_STUN_ATTR_REFLECTED_FROM, v, 4);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_ADDRESS, MRT_STUN_ATTR_REFLECTED_FROM);

  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid); /* CHANGE-REQUEST, 2 bytes */
  msg_attr(&m, MRT_STUN_ATTR_CHANGE_REQUEST, v, 2);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_LENGTH, MRT_STUN_ATTR_CHANGE_REQUEST);

  memset(big, 'u', sizeof(big)); /* USERNAME one byte over 513, and at it */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_USERNAME, big, sizeof(big));
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_LENGTH, MRT_STUN_ATTR_USERNAME);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_USERNAME, big, sizeof(big) - 1);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), 0);

  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid); /* odd UNKNOWN-ATTRIBUTES */
  msg_attr(&m, MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES, v, 3);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_LENGTH, MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES);

  /* A SOURCE-ADDRESS claiming more bytes than are left. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr_raw(&m, MRT_STUN_ATTR_SOURCE_ADDRESS, 12, plain, 8);
  msg_end(&m, false);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_TRUNCATED, MRT_STUN_ATTR_SOURCE_ADDRESS);

  /* Classic attributes do not make unknown required ones acceptable. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_SOURCE_ADDRESS, plain, 8);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr(&m, 0x0024, "abcd", 4); /* PRIORITY */
  msg_end(&m, true);
  assert_rejected(&m, -ENOTSUP, MRT_STUN_REJECT_UNKNOWN_REQUIRED, 0x0024);

  /* The canned classic response, damaged: each damage has its reason. */
  memcpy(m.b, classic_response, sizeof(classic_response));
  m.len = sizeof(classic_response);
  m.b[m.len - 1] ^= 0x01;
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_FINGERPRINT, MRT_STUN_ATTR_FINGERPRINT);
  memcpy(m.b, classic_response, sizeof(classic_response));
  m.len -= 8; /* cut inside: header length no longer matches */
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_LENGTH, 0);
  m.len = sizeof(classic_response);
  m.b[8] ^= 0xff; /* another transaction id: the FINGERPRINT covers it */
  mrt_stun_response r;
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), -EBADMSG);
  memcpy(m.b, classic_mapped_only, sizeof(classic_mapped_only));
  m.len = sizeof(classic_mapped_only);
  m.b[8] ^= 0xff; /* no FINGERPRINT to catch it: parses, with the other txid */
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_false(mrt_stun_txid_equal(&r.txid, &rfc_txid));
  m.b[25] = 0x07; /* MAPPED-ADDRESS of no such family */
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_ADDRESS, MRT_STUN_ATTR_MAPPED_ADDRESS);
}

/* Each rule names itself, and the names are printable fixed text. */
static void reject_reasons(void **state) {
  struct msg m;
  uint8_t plain[8];
  mrt_stun_response r;
  (void)state;

  assert_int_equal(mrt_stun_parse_binding_response(NULL, 0, &r), -EINVAL);
  assert_int_equal(r.reject, MRT_STUN_REJECT_SHORT);
  assert_int_equal(mrt_stun_parse_binding_response("hello, world", 12, &r), -EBADMSG);
  assert_int_equal(r.reject, MRT_STUN_REJECT_SHORT);

  memcpy(m.b, rfc_response_v4, sizeof(rfc_response_v4));
  m.len = sizeof(rfc_response_v4);
  m.b[0] |= 0x80;
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_NOT_STUN, 0);
  m.b[0] &= 0x3f;
  m.b[6] ^= 1;
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_COOKIE, 0);

  plain_v4(plain, "198.51.100.7", 4242);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  msg_attr(&m, MRT_STUN_ATTR_SOFTWARE, "late", 4);
  msg_set_length(&m);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_AFTER_FINGERPRINT, MRT_STUN_ATTR_SOFTWARE);

  msg_begin(&m, MRT_STUN_BINDING_REQUEST, &rfc_txid);
  msg_end(&m, true);
  assert_rejected(&m, -ENOTSUP, MRT_STUN_REJECT_WRONG_TYPE, 0);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_NO_ADDRESS, 0);
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_NO_ERROR_CODE, 0);
  uint8_t ec[4] = {0, 0, 7, 0};
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, ec, 4);
  msg_end(&m, true);
  assert_rejected(&m, -EBADMSG, MRT_STUN_REJECT_BAD_ERROR_CODE, MRT_STUN_ATTR_ERROR_CODE);

  for (int i = MRT_STUN_REJECT_NONE; i <= MRT_STUN_REJECT_NO_ERROR_CODE; i++) {
    const char *name = mrt_stun_reject_name((mrt_stun_reject)i);
    assert_non_null(name);
    assert_string_not_equal(name, "unknown");
    for (const char *c = name; *c; c++)
      assert_true(*c >= 0x20 && *c < 0x7f);
  }
  assert_string_equal(mrt_stun_reject_name((mrt_stun_reject)999), "unknown");
  assert_string_equal(mrt_stun_reject_name((mrt_stun_reject)-1), "unknown");
}

/* ---- truncation ---- */

static void truncated_everywhere(const uint8_t *full, size_t len) {
  for (size_t n = 0; n < len; n++) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, full, n);
    mrt_stun_txid txid;
    assert_false(mrt_stun_is_stun(p, n));
    assert_int_equal(parse_resp(p, n), -EBADMSG);
    assert_int_equal(mrt_stun_parse_binding_request(p, n, &txid), -EBADMSG);
    free(p);
  }
}

static void truncated_at_every_length(void **state) {
  uint8_t req[64];
  (void)state;

  truncated_everywhere(rfc_response_v4, sizeof(rfc_response_v4));
  truncated_everywhere(rfc_response_v6, sizeof(rfc_response_v6));
  truncated_everywhere(rfc_request, sizeof(rfc_request));
  truncated_everywhere(classic_response, sizeof(classic_response));
  truncated_everywhere(classic_mapped_only, sizeof(classic_mapped_only));
  int n = mrt_stun_build_binding_request(req, sizeof(req), &rfc_txid, MRT_STUN_SOFTWARE);
  assert_int_equal(n, 40);
  truncated_everywhere(req, (size_t)n);
}

/* Truncations whose header length was fixed up to match pass the header
 * check and exercise the attribute walk. Only cuts on an attribute boundary
 * after the address (before MESSAGE-INTEGRITY, or before FINGERPRINT) leave
 * a valid message; every other cut must fail. */
static void truncated_with_fixed_length(void **state) {
  (void)state;

  for (size_t n = 0; n <= sizeof(rfc_response_v4); n++) {
    struct msg m;
    memset(&m, 0, sizeof(m));
    memcpy(m.b, rfc_response_v4, n);
    m.len = n;
    if (n >= 20)
      msg_set_length(&m);
    mrt_stun_response r;
    int rc = mrt_stun_parse_binding_response(m.b, n, &r);
    if (n == 48 || n == 72 || n == sizeof(rfc_response_v4)) {
      assert_int_equal(rc, 0);
      assert_v4(&r, "192.0.2.1", 32853);
    } else {
      assert_true(rc == -EBADMSG);
      assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
    }
  }
}

/* ---- header malformations ---- */

static void bad_header(void **state) {
  uint8_t b[sizeof(rfc_response_v4) + 4];
  (void)state;

  memcpy(b, rfc_response_v4, sizeof(rfc_response_v4));
  b[7] ^= 0x01; /* magic cookie */
  assert_false(mrt_stun_is_stun(b, sizeof(rfc_response_v4)));
  assert_int_equal(parse_resp(b, sizeof(rfc_response_v4)), -EBADMSG);

  memcpy(b, rfc_response_v4, sizeof(rfc_response_v4));
  b[0] |= 0x40; /* top bits must be zero */
  assert_false(mrt_stun_is_stun(b, sizeof(rfc_response_v4)));
  assert_int_equal(parse_resp(b, sizeof(rfc_response_v4)), -EBADMSG);

  memcpy(b, rfc_response_v4, sizeof(rfc_response_v4));
  memset(b + sizeof(rfc_response_v4), 0, 4); /* trailing bytes not counted */
  assert_int_equal(parse_resp(b, sizeof(b)), -EBADMSG);
  b[3] += 4; /* now counted, but then FINGERPRINT is no longer last */
  assert_int_equal(parse_resp(b, sizeof(b)), -EBADMSG);

  memcpy(b, rfc_response_v4, sizeof(rfc_response_v4));
  b[3] = 0x3b; /* length not a multiple of 4 */
  assert_false(mrt_stun_is_stun(b, 0x3b + 20));
  assert_int_equal(parse_resp(b, 0x3b + 20), -EBADMSG);
}

/* ---- FINGERPRINT ---- */

static void bad_fingerprint(void **state) {
  uint8_t b[sizeof(rfc_response_v6)];
  mrt_stun_response r;
  (void)state;

  memcpy(b, rfc_response_v6, sizeof(b));
  b[sizeof(b) - 1] ^= 0x80;
  assert_int_equal(parse_resp(b, sizeof(b)), -EBADMSG);

  /* A flipped bit in an ignored attribute (SOFTWARE text) is still caught. */
  memcpy(b, rfc_response_v6, sizeof(b));
  b[25] ^= 0x20;
  assert_int_equal(mrt_stun_parse_binding_response(b, sizeof(b), &r), -EBADMSG);
  assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
}

static void fingerprint_must_be_last(void **state) {
  struct msg m;
  uint8_t addr[8];
  (void)state;

  plain_v4(addr, "198.51.100.7", 4242);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), 0);
  msg_attr(&m, MRT_STUN_ATTR_SOFTWARE, "late", 4);
  msg_set_length(&m);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  /* Two FINGERPRINTs, each correct for what precedes it: the first is
     * not last, so the message is still malformed. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_end(&m, true);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  /* A FINGERPRINT of the wrong size is refused outright. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_attr(&m, MRT_STUN_ATTR_FINGERPRINT, "12345678", 8);
  msg_end(&m, false);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  /* Even when its last 4 bytes hold the CRC of everything before its
     * value, which a reader assuming the size would accept. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_attr_raw(&m, MRT_STUN_ATTR_FINGERPRINT, 8, "\0\0\0\0", 4);
  m.len += 4;
  msg_set_length(&m);
  uint32_t fp = (uint32_t)crc32(0L, m.b, (uInt)(m.len - 8)) ^ 0x5354554eu;
  m.b[m.len - 4] = (uint8_t)(fp >> 24), m.b[m.len - 3] = (uint8_t)(fp >> 16);
  m.b[m.len - 2] = (uint8_t)(fp >> 8), m.b[m.len - 1] = (uint8_t)fp;
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
}

/* ---- attribute malformations ---- */

static void oversized_attribute(void **state) {
  static char big[MRT_STUN_SOFTWARE_MAX_LEN + 1];
  struct msg m;
  uint8_t addr[24] = {0, 2};
  (void)state;

  /* IPv6 address value with 4 extra bytes. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, addr, 24);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  /* SOFTWARE one byte over the RFC limit, and exactly at it. */
  memset(big, 'x', sizeof(big));
  plain_v4(addr, "198.51.100.7", 4242);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_SOFTWARE, big, sizeof(big));
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_SOFTWARE, big, sizeof(big) - 1);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), 0);

  /* MESSAGE-INTEGRITY has a fixed size too. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, addr, 8);
  msg_attr(&m, MRT_STUN_ATTR_MESSAGE_INTEGRITY, big, 24);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
}

static void attribute_past_end(void **state) {
  uint8_t b[sizeof(rfc_response_v4)];
  (void)state;

  /* XOR-MAPPED-ADDRESS claims 255 bytes. */
  memcpy(b, rfc_response_v4, sizeof(b));
  b[38] = 0x00, b[39] = 0xff;
  assert_int_equal(parse_resp(b, sizeof(b)), -EBADMSG);

  /* FINGERPRINT claims 5 bytes: its padding would run past the end. */
  memcpy(b, rfc_response_v4, sizeof(b));
  b[75] = 0x05;
  assert_int_equal(parse_resp(b, sizeof(b)), -EBADMSG);

  /* An unknown optional attribute longer than what is left. */
  struct msg m;
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr_raw(&m, 0x8055, 9, "abcdefgh", 8);
  msg_end(&m, false);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
}

static void wrong_family(void **state) {
  struct msg m;
  uint8_t v[20] = {0};
  mrt_stun_response r;
  (void)state;

  v[1] = 0x03; /* no such family */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  v[1] = 0x02; /* IPv6 in 8 bytes */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  v[1] = 0x01; /* IPv4 in 20 bytes */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, v, 20);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), -EBADMSG);
  assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
}

/* ---- attribute selection rules ---- */

static void mapped_address_fallback_and_preference(void **state) {
  struct msg m;
  uint8_t plain[8], xored[MRT_STUN_RESPONSE_MAX_LEN];
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1000)};
  mrt_stun_response r;
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, false);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_v4(&r, "198.51.100.7", 4242);

  /* Both present, MAPPED first: XOR-MAPPED still wins. Borrow a valid
     * XOR value for 203.0.113.9:1000 from the encoder. */
  inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
  assert_int_equal(
      mrt_stun_build_binding_response(xored, sizeof(xored), &rfc_txid, (struct sockaddr *)&sin),
      52);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, xored + 24, 8);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_v4(&r, "203.0.113.9", 1000);

  /* Only the first of two XOR-MAPPED-ADDRESSes counts (RFC 5389 §15). */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, xored + 24, 8);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, rfc_response_v4 + 40, 8);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_v4(&r, "203.0.113.9", 1000);

  /* No address at all: a useless success response. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_SOFTWARE, "x", 1);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
}

static void unknown_attributes(void **state) {
  struct msg m;
  uint8_t plain[8];
  mrt_stun_txid txid;
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  /* Comprehension-optional, odd length (padding must be skipped). */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, 0x8055, "abcde", 5);
  msg_attr(&m, 0xffff, NULL, 0);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), 0);

  /* Comprehension-required: the transaction fails. */
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr(&m, 0x7fff, "abcd", 4);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -ENOTSUP);

  msg_begin(&m, MRT_STUN_BINDING_REQUEST, &rfc_txid);
  msg_attr(&m, 0x0024, "abcd", 4); /* PRIORITY */
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_request(m.b, m.len, &txid), -ENOTSUP);
}

/* RFC 5389 §15.4: only FINGERPRINT counts after MESSAGE-INTEGRITY, so a
 * garbage address or an unknown required attribute there is ignored. */
static void attributes_after_integrity_ignored(void **state) {
  struct msg m;
  uint8_t plain[8], mi[20] = {0}, junk[8] = {0, 9};
  mrt_stun_response r;
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  msg_begin(&m, MRT_STUN_BINDING_SUCCESS, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
  msg_attr(&m, MRT_STUN_ATTR_MESSAGE_INTEGRITY, mi, 20);
  msg_attr(&m, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, junk, 8);
  msg_attr(&m, 0x0042, "abcd", 4);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_v4(&r, "198.51.100.7", 4242);
}

static void error_response(void **state) {
  struct msg m;
  uint8_t ec[4 + 11] = {0, 0, 4, 20, 'B', 'a', 'd', ' ', 'R', 'e', 'q', 'u', 'e', 's', 't'};
  mrt_stun_response r;
  (void)state;

  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, ec, sizeof(ec));
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_true(r.is_error);
  assert_int_equal(r.error_code, 420);
  assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
  assert_true(mrt_stun_txid_equal(&r.txid, &rfc_txid));

  /* Missing ERROR-CODE, class out of range, number out of range. */
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  ec[2] = 7;
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, ec, sizeof(ec));
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  ec[2] = 5, ec[3] = 100;
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, ec, sizeof(ec));
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);

  /* Too short for class and number; reason phrase over the RFC limit. */
  static uint8_t long_ec[4 + MRT_STUN_SOFTWARE_MAX_LEN + 1] = {0, 0, 4, 0};
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, long_ec, 3);
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, long_ec, sizeof(long_ec));
  msg_end(&m, true);
  assert_int_equal(parse_resp(m.b, m.len), -EBADMSG);
  msg_begin(&m, MRT_STUN_BINDING_ERROR, &rfc_txid);
  msg_attr(&m, MRT_STUN_ATTR_ERROR_CODE, long_ec, sizeof(long_ec) - 1);
  msg_end(&m, true);
  assert_int_equal(mrt_stun_parse_binding_response(m.b, m.len, &r), 0);
  assert_int_equal(r.error_code, 400);
}

static void other_methods_and_classes(void **state) {
  static const uint16_t types[] = {0x0011 /* indication */, 0x0003 /* Allocate */, 0x0103, 0x0113};
  struct msg m;
  mrt_stun_txid txid;
  uint8_t plain[8];
  (void)state;

  plain_v4(plain, "198.51.100.7", 4242);
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    msg_begin(&m, types[i], &rfc_txid);
    msg_attr(&m, MRT_STUN_ATTR_MAPPED_ADDRESS, plain, 8);
    msg_end(&m, true);
    assert_true(mrt_stun_is_stun(m.b, m.len));
    assert_int_equal(parse_resp(m.b, m.len), -ENOTSUP);
    assert_int_equal(mrt_stun_parse_binding_request(m.b, m.len, &txid), -ENOTSUP);
  }
  assert_int_equal(mrt_stun_parse_binding_request(rfc_response_v4, sizeof(rfc_response_v4), &txid),
                   -ENOTSUP);
}

/* ---- builders and round trips ---- */

static void request_round_trip(void **state) {
  static const uint8_t want[40] = {
      0x00, 0x01, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc,
      0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x08, 't',  'a',
      'i',  'l',  'n',  'o',  'd',  'e',  0x80, 0x28, 0x00, 0x04, /* CRC checked below */
  };
  uint8_t b[128];
  mrt_stun_txid txid = {{0}};
  (void)state;

  assert_int_equal(MRT_STUN_REQUEST_LEN(strlen(MRT_STUN_SOFTWARE)), 40);
  assert_int_equal(mrt_stun_build_binding_request(b, sizeof(b), &rfc_txid, MRT_STUN_SOFTWARE), 40);
  assert_memory_equal(b, want, 36);
  uint32_t fp = (uint32_t)crc32(0L, b, 32) ^ 0x5354554eu;
  assert_int_equal(((uint32_t)b[36] << 24 | (uint32_t)b[37] << 16 | (uint32_t)b[38] << 8 | b[39]),
                   fp);
  assert_true(mrt_stun_is_stun(b, 40));
  assert_int_equal(mrt_stun_parse_binding_request(b, 40, &txid), 0);
  assert_true(mrt_stun_txid_equal(&txid, &rfc_txid));

  /* Odd-length SOFTWARE is padded with zeros; no SOFTWARE is allowed. */
  memset(b, 0xaa, sizeof(b));
  assert_int_equal(mrt_stun_build_binding_request(b, sizeof(b), &rfc_txid, "abcde"),
                   (int)MRT_STUN_REQUEST_LEN(5));
  assert_memory_equal(b + 24, "abcde\0\0\0", 8);
  assert_int_equal(mrt_stun_parse_binding_request(b, MRT_STUN_REQUEST_LEN(5), &txid), 0);
  assert_int_equal(mrt_stun_build_binding_request(b, sizeof(b), &rfc_txid, NULL), 28);
  assert_int_equal(mrt_stun_parse_binding_request(b, 28, &txid), 0);
  /* A bare 20-byte request (what many tools send) is fine too. */
  b[3] = 0;
  assert_int_equal(mrt_stun_parse_binding_request(b, 20, &txid), 0);
}

static void request_build_errors(void **state) {
  static char big[MRT_STUN_SOFTWARE_MAX_LEN + 2];
  uint8_t b[1024];
  (void)state;

  for (size_t cap = 0; cap < 40; cap++) {
    memset(b, 0xaa, sizeof(b));
    assert_int_equal(mrt_stun_build_binding_request(b, cap, &rfc_txid, MRT_STUN_SOFTWARE), -ENOSPC);
    assert_int_equal(b[0], 0xaa);
  }
  assert_int_equal(mrt_stun_build_binding_request(NULL, 64, &rfc_txid, NULL), -EINVAL);
  assert_int_equal(mrt_stun_build_binding_request(b, 64, NULL, NULL), -EINVAL);
  memset(big, 'x', sizeof(big) - 1);
  assert_int_equal(mrt_stun_build_binding_request(b, sizeof(b), &rfc_txid, big), -EINVAL);
  big[MRT_STUN_SOFTWARE_MAX_LEN] = '\0';
  int n = mrt_stun_build_binding_request(b, sizeof(b), &rfc_txid, big);
  assert_int_equal(n, (int)MRT_STUN_REQUEST_LEN(MRT_STUN_SOFTWARE_MAX_LEN));
  mrt_stun_txid txid;
  assert_int_equal(mrt_stun_parse_binding_request(b, (size_t)n, &txid), 0);
}

static void response_round_trip_v4(void **state) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(41641)};
  mrt_stun_txid txid = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  uint8_t b[MRT_STUN_RESPONSE_MAX_LEN];
  mrt_stun_response r;
  (void)state;

  inet_pton(AF_INET, "100.64.0.1", &sin.sin_addr);
  int n = mrt_stun_build_binding_response(b, sizeof(b), &txid, (struct sockaddr *)&sin);
  assert_int_equal(n, 52);
  assert_int_equal(mrt_stun_parse_binding_response(b, (size_t)n, &r), 0);
  assert_false(r.is_error);
  assert_true(mrt_stun_txid_equal(&r.txid, &txid));
  assert_v4(&r, "100.64.0.1", 41641);
  /* The SOFTWARE we promise is in it. */
  assert_memory_equal(b + 32, "\x80\x22\x00\x08tailnode", 12);
}

static void response_round_trip_v6(void **state) {
  struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(3478)};
  mrt_stun_txid txid = {{0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0}};
  uint8_t b[MRT_STUN_RESPONSE_MAX_LEN];
  mrt_stun_response r;
  (void)state;

  inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr);
  int n = mrt_stun_build_binding_response(b, sizeof(b), &txid, (struct sockaddr *)&sin6);
  assert_int_equal(n, MRT_STUN_RESPONSE_MAX_LEN);
  assert_int_equal(mrt_stun_parse_binding_response(b, (size_t)n, &r), 0);
  assert_true(mrt_stun_txid_equal(&r.txid, &txid));
  assert_v6(&r, "2001:db8::42", 3478);
}

static void response_build_errors(void **state) {
  struct sockaddr_in sin = {.sin_family = AF_INET};
  struct sockaddr unix_sa = {.sa_family = AF_UNIX};
  uint8_t b[MRT_STUN_RESPONSE_MAX_LEN];
  mrt_stun_response r;
  mrt_stun_txid txid;
  (void)state;

  for (size_t cap = 0; cap < 52; cap++) {
    memset(b, 0xaa, sizeof(b));
    assert_int_equal(mrt_stun_build_binding_response(b, cap, &rfc_txid, (struct sockaddr *)&sin),
                     -ENOSPC);
    assert_int_equal(b[0], 0xaa);
  }
  assert_int_equal(mrt_stun_build_binding_response(b, sizeof(b), &rfc_txid, &unix_sa), -EINVAL);
  assert_int_equal(mrt_stun_build_binding_response(b, sizeof(b), &rfc_txid, NULL), -EINVAL);
  assert_int_equal(mrt_stun_build_binding_response(b, sizeof(b), NULL, (struct sockaddr *)&sin),
                   -EINVAL);
  assert_int_equal(mrt_stun_build_binding_response(NULL, 64, &rfc_txid, (struct sockaddr *)&sin),
                   -EINVAL);
  assert_int_equal(mrt_stun_parse_binding_response(NULL, 10, &r), -EINVAL);
  assert_int_equal(mrt_stun_parse_binding_response(b, 10, NULL), -EINVAL);
  assert_int_equal(mrt_stun_parse_binding_request(NULL, 10, &txid), -EINVAL);
  assert_int_equal(mrt_stun_parse_binding_request(b, 10, NULL), -EINVAL);
  assert_false(mrt_stun_is_stun(NULL, 20));
}

/* ---- fuzz ---- */

/* xorshift64*: a fixed, libc-independent sequence so failures reproduce. */
static uint64_t rng_state;

static uint32_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Runs every parser over buf[0..len) held in a block of exactly len bytes
 * and checks that results are consistent whatever the input. */
static void feed(const uint8_t *buf, size_t len) {
  uint8_t *p = malloc(len ? len : 1);
  mrt_stun_response r;
  mrt_stun_txid txid;

  assert_non_null(p);
  memcpy(p, buf, len);
  bool stun = mrt_stun_is_stun(p, len);
  int rc = mrt_stun_parse_binding_response(p, len, &r);
  assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP);
  /* A reason exactly when it failed, and one of the named ones. */
  assert_true((rc == 0) == (r.reject == MRT_STUN_REJECT_NONE));
  assert_string_not_equal(mrt_stun_reject_name(r.reject), "unknown");
  if (rc == 0) {
    assert_true(stun);
    if (r.is_error)
      assert_true(r.error_code >= 300 && r.error_code <= 699);
    else
      assert_true(r.mapped.ss_family == AF_INET || r.mapped.ss_family == AF_INET6);
  } else {
    assert_int_equal(r.mapped.ss_family, AF_UNSPEC);
  }
  rc = mrt_stun_parse_binding_request(p, len, &txid);
  assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP);
  assert_true(rc != 0 || stun);
  free(p);
}

/* Random bytes behind a plausible header, so the walk is reached. */
static void fuzz_random(void **state) {
  uint8_t b[256];
  (void)state;

  rng_state = 0x5eed5eed5eed5eedULL;
  for (int i = 0; i < 30000; i++) {
    size_t len = rng() % sizeof(b);
    for (size_t j = 0; j < len; j++)
      b[j] = (uint8_t)rng();
    if (len >= 20 && rng() % 4 != 0) {
      b[0] &= 0x01, b[1] = rng() % 2 ? 0x01 : 0x11;
      len &= ~(size_t)3;
      b[2] = (uint8_t)((len - 20) >> 8), b[3] = (uint8_t)(len - 20);
      b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
    }
    feed(b, len);
  }
}

/* Mutations of valid messages: byte and bit flips, attribute-length
 * rewrites, truncations and extensions, with the header length (and then
 * the FINGERPRINT) sometimes repaired so the damage gets past those checks
 * to the attribute walk and the decoders. */
static void fuzz_mutate(void **state) {
  static const struct {
    const uint8_t *b;
    size_t len;
  } seeds[] = {
      {rfc_response_v4, sizeof(rfc_response_v4)},
      {rfc_response_v6, sizeof(rfc_response_v6)},
      {rfc_request, sizeof(rfc_request)},
      {classic_response, sizeof(classic_response)},
      {classic_mapped_only, sizeof(classic_mapped_only)},
  };
  uint8_t b[256];
  (void)state;

  rng_state = 0xc0ffee1234567ULL;
  for (int i = 0; i < 30000; i++) {
    size_t s = rng() % (sizeof(seeds) / sizeof(seeds[0])), len = seeds[s].len;
    memcpy(b, seeds[s].b, len);
    for (int k = 0, edits = 1 + rng() % 4; k < edits && len > 0; k++) {
      size_t at = rng() % len;
      switch (rng() % 5) {
      case 0: b[at] = (uint8_t)rng(); break;
      case 1: b[at] ^= (uint8_t)(1u << (rng() % 8)); break;
      case 2: b[(at & ~(size_t)3) | 3] = (uint8_t)rng(); break; /* a length low byte */
      case 3: len = at; break;
      default:
        if (len + 4 <= sizeof(b)) {
          for (int j = 0; j < 4; j++)
            b[len++] = (uint8_t)rng();
        }
      }
    }
    if (len >= 20 && rng() % 2) {
      b[2] = (uint8_t)((len - 20) >> 8), b[3] = (uint8_t)(len - 20);
      /* Re-sign a trailing FINGERPRINT so damage reaches the decoders. */
      if (len >= 28 && b[len - 8] == 0x80 && b[len - 7] == 0x28 && rng() % 2) {
        uint32_t fp = (uint32_t)crc32(0L, b, (uInt)(len - 8)) ^ 0x5354554eu;
        b[len - 4] = (uint8_t)(fp >> 24), b[len - 3] = (uint8_t)(fp >> 16);
        b[len - 2] = (uint8_t)(fp >> 8), b[len - 1] = (uint8_t)fp;
      }
    }
    feed(b, len);
  }
}

/* Random addresses and ids survive build then parse unchanged. */
static void fuzz_round_trip(void **state) {
  uint8_t b[MRT_STUN_RESPONSE_MAX_LEN];
  (void)state;

  rng_state = 0xabcdef987654321ULL;
  for (int i = 0; i < 20000; i++) {
    struct sockaddr_storage ss;
    mrt_stun_txid txid;
    mrt_stun_response r;
    memset(&ss, 0, sizeof(ss));
    for (size_t j = 0; j < sizeof(txid.bytes); j++)
      txid.bytes[j] = (uint8_t)rng();
    size_t alen = rng() % 2 ? 4 : 16;
    uint8_t *addr, *port;
    if (alen == 4) {
      struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
      sin->sin_family = AF_INET;
      addr = (uint8_t *)&sin->sin_addr;
      port = (uint8_t *)&sin->sin_port;
    } else {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
      sin6->sin6_family = AF_INET6;
      addr = (uint8_t *)&sin6->sin6_addr;
      port = (uint8_t *)&sin6->sin6_port;
    }
    for (size_t j = 0; j < alen; j++)
      addr[j] = (uint8_t)rng();
    port[0] = (uint8_t)rng(), port[1] = (uint8_t)rng();
    int n = mrt_stun_build_binding_response(b, sizeof(b), &txid, (struct sockaddr *)&ss);
    assert_true(n > 0);
    assert_int_equal(mrt_stun_parse_binding_response(b, (size_t)n, &r), 0);
    assert_true(mrt_stun_txid_equal(&r.txid, &txid));
    assert_memory_equal(&r.mapped, &ss, r.mapped_len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc5769_ipv4_response),
      cmocka_unit_test(rfc5769_ipv6_response),
      cmocka_unit_test(rfc5769_request),
      cmocka_unit_test(rfc5769_xor_encoding),
      cmocka_unit_test(classic_response_with_xor),
      cmocka_unit_test(classic_response_mapped_only),
      cmocka_unit_test(classic_attributes_each),
      cmocka_unit_test(classic_malformed_still_rejected),
      cmocka_unit_test(classic_build),
      cmocka_unit_test(reject_reasons),
      cmocka_unit_test(truncated_at_every_length),
      cmocka_unit_test(truncated_with_fixed_length),
      cmocka_unit_test(bad_header),
      cmocka_unit_test(bad_fingerprint),
      cmocka_unit_test(fingerprint_must_be_last),
      cmocka_unit_test(oversized_attribute),
      cmocka_unit_test(attribute_past_end),
      cmocka_unit_test(wrong_family),
      cmocka_unit_test(mapped_address_fallback_and_preference),
      cmocka_unit_test(unknown_attributes),
      cmocka_unit_test(attributes_after_integrity_ignored),
      cmocka_unit_test(error_response),
      cmocka_unit_test(other_methods_and_classes),
      cmocka_unit_test(request_round_trip),
      cmocka_unit_test(request_build_errors),
      cmocka_unit_test(response_round_trip_v4),
      cmocka_unit_test(response_round_trip_v6),
      cmocka_unit_test(response_build_errors),
      cmocka_unit_test(fuzz_random),
      cmocka_unit_test(fuzz_mutate),
      cmocka_unit_test(fuzz_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
