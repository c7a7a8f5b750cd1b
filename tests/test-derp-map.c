/* SPDX-License-Identifier: MIT */
/* Tests for DERP map parsing (actors/derp_map.c).
 *
 * A well-formed map with every feature (several regions out of order, IPv4 and
 * IPv6, STUN-only nodes, default and custom ports, disabled STUN, unknown
 * fields) must come out exactly as written, sorted by region id; partial maps
 * (regions without nodes, nodes without addresses) are valid. Then a table of
 * hostile documents, each of which must be rejected with -EBADMSG and a message
 * naming the offending field. Finally copy, refcount, STUN server listing and
 * file parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <meshrt/derp_map.h>

static const char VALID_MAP[] =
    "{\"OmitDefaultRegions\": false, \"HomeParams\": {\"RegionScore\": {\"1\": 2.0}},"
    " \"Regions\": {"
    "  \"10\": {\"RegionID\": 10, \"RegionCode\": \"sfo\", \"RegionName\": \"San Francisco\","
    "          \"Avoid\": true,"
    "          \"Nodes\": [{\"Name\": \"10a\", \"RegionID\": 10, \"HostName\": \"derp10.example\","
    "                      \"IPv4\": \"192.0.2.10\", \"IPv6\": \"2001:db8::10\","
    "                      \"STUNPort\": 3479, \"DERPPort\": 8443, \"CanPort80\": true},"
    "                     {\"Name\": \"10b\", \"RegionID\": 10, \"HostName\": \"stun10.example\","
    "                      \"IPv4\": \"192.0.2.11\", \"STUNOnly\": true}]},"
    "  \"2\": {\"RegionID\": 2, \"RegionCode\": \"fra\", \"RegionName\": \"Frankfurt\","
    "         \"Nodes\": [{\"Name\": \"2a\", \"RegionID\": 2, \"HostName\": \"derp2.example\","
    "                     \"IPv4\": \"none\", \"IPv6\": \"2001:db8::2\", \"STUNPort\": 0,"
    "                     \"Extra\": {\"deep\": [1, [2, [3]]]}}]},"
    "  \"1\": {\"RegionID\": 1, \"RegionCode\": \"nyc\", \"RegionName\": \"New York\","
    "         \"Nodes\": [{\"Name\": \"1a\", \"RegionID\": 1, \"HostName\": \"derp1.example\","
    "                     \"IPv4\": \"192.0.2.1\", \"IPv6\": \"2001:db8::1\", \"STUNPort\": -1},"
    "                    {\"Name\": \"1b\", \"RegionID\": 1, \"HostName\": \"derp1b.example\","
    "                     \"STUNOnly\": false}]}"
    " }}";

static mrt_derp_map *parse_ok(const char *json) {
  char err[MRT_DERP_MAP_ERR_LEN] = "untouched";
  mrt_derp_map *m = NULL;
  int rc = mrt_derp_map_parse(json, strlen(json), &m, err, sizeof(err));

  if (rc != 0)
    fail_msg("parse failed (%d): %s", rc, err);
  assert_non_null(m);
  assert_string_equal(err, "");
  return m;
}

static void assert_v4(struct in_addr a, const char *want) {
  char buf[INET_ADDRSTRLEN];
  assert_non_null(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
  assert_string_equal(buf, want);
}

static void assert_v6(const struct in6_addr *a, const char *want) {
  char buf[INET6_ADDRSTRLEN];
  assert_non_null(inet_ntop(AF_INET6, a, buf, sizeof(buf)));
  assert_string_equal(buf, want);
}

/* jansson's syntax message quotes the bytes near the error, and type errors
 * quote the value: control characters there reach the message escaped, never
 * raw (found by fuzzing; tests/fuzz/corpus/derp-map/crash-jansson-quotes-control-character). */
static void test_syntax_error_escapes_control_characters(void **state) {
  static const char doc[] = "{\"Regions\": {\x15}}";
  char err[MRT_DERP_MAP_ERR_LEN];
  mrt_derp_map *m = NULL;

  (void)state;
  assert_int_equal(mrt_derp_map_parse(doc, strlen(doc), &m, err, sizeof(err)), -EBADMSG);
  assert_null(m);
  assert_non_null(strstr(err, "invalid JSON"));
  assert_non_null(strstr(err, "\\x15"));
  for (const char *p = err; *p; p++)
    assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
  /* A quoted value with a C1 control (CSI) and a paragraph separator
     * (found by fuzzing; corpus/derp-map/crash-quoted-value-with-c1-control). */
  static const char c1[] = "\"\xc2\x9b"
                           "31m\xe2\x80\xa9\"";
  assert_int_equal(mrt_derp_map_parse(c1, strlen(c1), &m, err, sizeof(err)), -EBADMSG);
  assert_non_null(strstr(err, "(root): expected an object, got \"\\u009b31m\\xe2\\x80\\xa9\""));
}

static void test_valid_map_sorted_by_id(void **state) {
  mrt_derp_map *m = parse_ok(VALID_MAP);
  (void)state;

  /* Numeric order, not key-string order ("1", "10", "2"). */
  assert_int_equal(mrt_derp_map_region_count(m), 3);
  assert_int_equal(mrt_derp_map_region_at(m, 0)->region_id, 1);
  assert_int_equal(mrt_derp_map_region_at(m, 1)->region_id, 2);
  assert_int_equal(mrt_derp_map_region_at(m, 2)->region_id, 10);
  assert_null(mrt_derp_map_region_at(m, 3));
  assert_ptr_equal(mrt_derp_map_find_region(m, 10), mrt_derp_map_region_at(m, 2));
  assert_null(mrt_derp_map_find_region(m, 3));
  assert_string_equal(mrt_derp_map_find_region(m, 2)->region_code, "fra");
  assert_string_equal(mrt_derp_map_find_region(m, 2)->region_name, "Frankfurt");
  mrt_derp_map_unref(m);
}

static void test_valid_map_node_fields(void **state) {
  mrt_derp_map *m = parse_ok(VALID_MAP);
  const mrt_derp_region *r10 = mrt_derp_map_find_region(m, 10);
  const mrt_derp_region *r2 = mrt_derp_map_find_region(m, 2);
  const mrt_derp_region *r1 = mrt_derp_map_find_region(m, 1);
  (void)state;

  assert_int_equal(r10->n_nodes, 2);
  assert_string_equal(r10->nodes[0].name, "10a"); /* JSON order kept */
  assert_string_equal(r10->nodes[0].host_name, "derp10.example");
  assert_int_equal(r10->nodes[0].region_id, 10);
  assert_int_equal(r10->nodes[0].ipv4_mode, MRT_DERP_ADDR_FIXED);
  assert_v4(r10->nodes[0].ipv4, "192.0.2.10");
  assert_int_equal(r10->nodes[0].ipv6_mode, MRT_DERP_ADDR_FIXED);
  assert_v6(&r10->nodes[0].ipv6, "2001:db8::10");
  assert_int_equal(r10->nodes[0].stun_port, 3479);
  assert_int_equal(r10->nodes[0].derp_port, 8443);
  assert_false(r10->nodes[0].stun_only);
  /* Absent ports take Tailscale's defaults; absent IPv6 means DNS. */
  assert_true(r10->nodes[1].stun_only);
  assert_int_equal(r10->nodes[1].stun_port, MRT_DERP_DEFAULT_STUN_PORT);
  assert_int_equal(r10->nodes[1].derp_port, MRT_DERP_DEFAULT_DERP_PORT);
  assert_int_equal(r10->nodes[1].ipv6_mode, MRT_DERP_ADDR_DNS);
  /* "none" disables the family; STUNPort 0 is the default port. */
  assert_int_equal(r2->nodes[0].ipv4_mode, MRT_DERP_ADDR_DISABLED);
  assert_int_equal(r2->nodes[0].stun_port, 3478);
  /* STUNPort -1 disables STUN. */
  assert_int_equal(r1->nodes[0].stun_port, 0);
  /* A node with no addresses at all resolves its HostName. */
  assert_int_equal(r1->nodes[1].ipv4_mode, MRT_DERP_ADDR_DNS);
  assert_int_equal(r1->nodes[1].ipv6_mode, MRT_DERP_ADDR_DNS);
  mrt_derp_map_unref(m);
}

static void test_partial_maps(void **state) {
  mrt_derp_map *m;
  (void)state;

  m = parse_ok("{}");
  assert_int_equal(mrt_derp_map_region_count(m), 0);
  assert_null(mrt_derp_map_find_region(m, 1));
  mrt_derp_map_unref(m);

  m = parse_ok("{\"Regions\": null}");
  assert_int_equal(mrt_derp_map_region_count(m), 0);
  mrt_derp_map_unref(m);

  /* No Nodes, null Nodes, empty Nodes; absent code and name read as "". */
  m = parse_ok("{\"Regions\": {\"1\": {\"RegionID\": 1},"
               " \"2\": {\"RegionID\": 2, \"Nodes\": null},"
               " \"3\": {\"RegionID\": 3, \"Nodes\": [], \"RegionCode\": null}}}");
  assert_int_equal(mrt_derp_map_region_count(m), 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(mrt_derp_map_region_at(m, i)->n_nodes, 0);
    assert_null(mrt_derp_map_region_at(m, i)->nodes);
    assert_string_equal(mrt_derp_map_region_at(m, i)->region_code, "");
  }
  mrt_derp_map_unref(m);

  /* A node with only an IPv6 literal and an empty IPv4 (= use DNS). */
  m = parse_ok("{\"Regions\": {\"7\": {\"RegionID\": 7, \"Nodes\": [{\"RegionID\": 7,"
               " \"IPv4\": \"\", \"IPv6\": \"::1\"}]}}}");
  assert_int_equal(mrt_derp_map_find_region(m, 7)->nodes[0].ipv4_mode, MRT_DERP_ADDR_DNS);
  assert_string_equal(mrt_derp_map_find_region(m, 7)->nodes[0].name, "");
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_INET, NULL, 0), 0);
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_INET6, NULL, 0), 1);
  mrt_derp_map_unref(m);
}

/* A hostile document and a part its error message must contain. */
struct bad_case {
  const char *json;
  const char *want;
};

#define REGION1(inner) "{\"Regions\": {\"1\": {\"RegionID\": 1" inner "}}}"
#define NODE1(fields) REGION1(", \"Nodes\": [{\"RegionID\": 1" fields "}]")

static const struct bad_case BAD[] = {
    /* Not an object at the root, or not JSON at all. */
    {"[]", "(root): expected an object, got an array"},
    {"\"map\"", "(root): expected an object, got \"map\""},
    {"null", "(root): expected an object, got null"},
    {"", "invalid JSON"},
    {"{\"Regions\": {\"1\": {\"RegionID\": 1,", "invalid JSON"},
    {"{} trailing", "invalid JSON"},
    {"{\"Regions\": {\"1\": {\"RegionID\": 99999999999999999999999}}}", "invalid JSON"},
    /* Regions and region objects. */
    {"{\"Regions\": []}", "Regions: expected an object, got an array"},
    {"{\"Regions\": \"x\"}", "Regions: expected an object, got \"x\""},
    {"{\"Regions\": {\"1\": 5}}", "Regions[\"1\"]: expected an object, got 5"},
    {"{\"Regions\": {\"1\": {}}}", "Regions[\"1\"].RegionID: required field is missing"},
    {REGION1("") "x", "invalid JSON"},
    {"{\"Regions\": {\"1\": {\"RegionID\": \"1\"}}}",
     "Regions[\"1\"].RegionID: expected an integer, got \"1\""},
    {"{\"Regions\": {\"1\": {\"RegionID\": 1.0}}}",
     "Regions[\"1\"].RegionID: expected an integer, got 1.0"},
    {"{\"Regions\": {\"0\": {\"RegionID\": 0}}}",
     "Regions[\"0\"].RegionID: expected an integer in 1..2147483647, got 0"},
    {"{\"Regions\": {\"-3\": {\"RegionID\": -3}}}", "expected an integer in 1..2147483647"},
    {"{\"Regions\": {\"4294967297\": {\"RegionID\": 4294967297}}}",
     "RegionID: expected an integer in 1..2147483647, got 4294967297"},
    {"{\"Regions\": {\"2\": {\"RegionID\": 1}}}", "Regions[\"2\"]: key does not match RegionID 1"},
    {"{\"Regions\": {\"01\": {\"RegionID\": 1}}}",
     "Regions[\"01\"]: key does not match RegionID 1"},
    {"{\"Regions\": {\"1\": {\"RegionID\": 1}, \"1\": {\"RegionID\": 1}}}", "duplicate object key"},
    {REGION1(", \"RegionCode\": 7"), "Regions[\"1\"].RegionCode: expected a string, got 7"},
    {REGION1(", \"RegionName\": {}"),
     "Regions[\"1\"].RegionName: expected a string, got an object"},
    {REGION1(", \"Nodes\": {}"), "Regions[\"1\"].Nodes: expected an array, got an object"},
    {REGION1(", \"Nodes\": [\"x\"]"), "Regions[\"1\"].Nodes[0]: expected an object, got \"x\""},
    /* Node fields. */
    {NODE1(", \"Name\": true"), "Regions[\"1\"].Nodes[0].Name: expected a string, got true"},
    {NODE1(", \"HostName\": []"),
     "Regions[\"1\"].Nodes[0].HostName: expected a string, got an array"},
    {REGION1(", \"Nodes\": [{}]"), "Regions[\"1\"].Nodes[0].RegionID: required field is missing"},
    {REGION1(", \"Nodes\": [{\"RegionID\": 1}, {\"RegionID\": 2}]"),
     "Regions[\"1\"].Nodes[1].RegionID: 2 does not match the region's RegionID 1"},
    {REGION1(", \"Nodes\": [{\"RegionID\": false}]"),
     "Regions[\"1\"].Nodes[0].RegionID: expected an integer, got false"},
    {NODE1(", \"IPv4\": \"foo\""),
     "Regions[\"1\"].Nodes[0].IPv4: expected an IPv4 address, got \"foo\""},
    {NODE1(", \"IPv4\": \"2001:db8::1\""), "IPv4: expected an IPv4 address, got \"2001:db8::1\""},
    {NODE1(", \"IPv4\": \"192.0.2.1:80\""), "IPv4: expected an IPv4 address"},
    {NODE1(", \"IPv4\": \" 192.0.2.1\""), "IPv4: expected an IPv4 address"},
    {NODE1(", \"IPv4\": \"256.0.0.1\""), "IPv4: expected an IPv4 address"},
    {NODE1(", \"IPv4\": 3221225985"), "IPv4: expected a string, got 3221225985"},
    {NODE1(", \"IPv6\": \"192.0.2.1\""),
     "Regions[\"1\"].Nodes[0].IPv6: expected an IPv6 address, got \"192.0.2.1\""},
    {NODE1(", \"IPv6\": \"fe80::1%eth0\""), "IPv6: expected an IPv6 address"},
    {NODE1(", \"IPv6\": \"2001:db8::1::2\""), "IPv6: expected an IPv6 address"},
    {NODE1(", \"STUNPort\": 65536"),
     "Regions[\"1\"].Nodes[0].STUNPort: expected an integer in -1..65535, got 65536"},
    {NODE1(", \"STUNPort\": -2"), "STUNPort: expected an integer in -1..65535, got -2"},
    {NODE1(", \"STUNPort\": 9223372036854775807"), "STUNPort: expected an integer in -1..65535"},
    {NODE1(", \"STUNPort\": \"3478\""), "STUNPort: expected an integer, got \"3478\""},
    {NODE1(", \"STUNPort\": 3478.5"), "STUNPort: expected an integer, got 3478.5"},
    {NODE1(", \"DERPPort\": -1"),
     "Regions[\"1\"].Nodes[0].DERPPort: expected an integer in 0..65535, got -1"},
    {NODE1(", \"DERPPort\": 100000"), "DERPPort: expected an integer in 0..65535, got 100000"},
    {NODE1(", \"STUNOnly\": \"true\""),
     "Regions[\"1\"].Nodes[0].STUNOnly: expected a boolean, got \"true\""},
    {NODE1(", \"STUNOnly\": 1"), "STUNOnly: expected a boolean, got 1"},
    {NODE1(", \"IPv4\": \"192.0.2.1\", \"IPv4\": \"192.0.2.2\""), "duplicate object key"},
};

static void test_hostile_documents(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
    char err[MRT_DERP_MAP_ERR_LEN];
    mrt_derp_map *m = (mrt_derp_map *)&err; /* must be reset to NULL */
    int rc = mrt_derp_map_parse(BAD[i].json, strlen(BAD[i].json), &m, err, sizeof(err));

    if (rc != -EBADMSG || m != NULL || strstr(err, BAD[i].want) == NULL)
      fail_msg("case %zu %s: rc=%d map=%p err=[%s], want [%s]", i, BAD[i].json, rc, (void *)m, err,
               BAD[i].want);
  }
}

/* The example from the interface documentation, matched whole. */
static void test_error_message_exact(void **state) {
  const char *json = NODE1(", \"IPv4\": \"foo\"");
  char err[MRT_DERP_MAP_ERR_LEN];
  mrt_derp_map *m = NULL;
  (void)state;

  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof(err)), -EBADMSG);
  assert_string_equal(err, "Regions[\"1\"].Nodes[0].IPv4: expected an IPv4 address, got \"foo\"");
}

/* 100 000 nested arrays at the root, and 3 000 inside an ignored field: both
 * must fail cleanly (jansson's depth limit), not overflow the stack. */
static void test_deep_nesting(void **state) {
  enum { DEEP = 100000, INNER = 3000 };
  char err[MRT_DERP_MAP_ERR_LEN];
  char *buf = malloc(DEEP * 2 + 64);
  mrt_derp_map *m = NULL;
  size_t o = 0;
  (void)state;

  assert_non_null(buf);
  memset(buf, '[', DEEP);
  memset(buf + DEEP, ']', DEEP);
  assert_int_equal(mrt_derp_map_parse(buf, 2 * DEEP, &m, err, sizeof(err)), -EBADMSG);
  assert_null(m);
  assert_non_null(strstr(err, "depth"));

  static const char head[] = "{\"Extra\": ";
  memcpy(buf, head, sizeof head - 1);
  o = sizeof head - 1;
  for (size_t i = 0; i < INNER; i++) {
    buf[o + i] = '[';
    buf[o + INNER + i] = ']';
  }
  o += 2 * INNER;
  buf[o++] = '}';
  assert_int_equal(mrt_derp_map_parse(buf, o, &m, err, sizeof(err)), -EBADMSG);
  assert_non_null(strstr(err, "depth"));
  free(buf);
}

/* Keys and values from the network are quoted with escapes and shortened, so a
 * message never carries raw control characters or unbounded text. */
static void test_hostile_text_is_escaped_and_bounded(void **state) {
  char json[4096], err[MRT_DERP_MAP_ERR_LEN], longv[2001];
  mrt_derp_map *m = NULL;
  (void)state;

  snprintf(json, sizeof(json), "{\"Regions\": {\"1\\u0007\\\"x\": {\"RegionID\": 1}}}");
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof(err)), -EBADMSG);
  assert_string_equal(err, "Regions[\"1\\u0007\\\"x\"]: key does not match RegionID 1");

  /* C1 controls (U+0080..U+009F, here U+009B, a terminal's CSI) too. */
  snprintf(json, sizeof(json), "{\"Regions\": {\"1\\u009b[2J\": {\"RegionID\": 1}}}");
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof(err)), -EBADMSG);
  assert_string_equal(err, "Regions[\"1\\u009b[2J\"]: key does not match RegionID 1");

  memset(longv, 'a', sizeof(longv) - 1);
  longv[sizeof(longv) - 1] = '\0';
  snprintf(json, sizeof(json), NODE1(", \"IPv4\": \"%s\""), longv);
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof(err)), -EBADMSG);
  assert_non_null(strstr(err, "IPv4: expected an IPv4 address, got \"aaaa"));
  assert_non_null(strstr(err, "...\""));
  assert_true(strlen(err) < 120);
}

static void test_error_buffer_edges(void **state) {
  const char *json = "[]";
  char small[8];
  mrt_derp_map *m = NULL;
  (void)state;

  assert_int_equal(mrt_derp_map_parse(json, 2, &m, small, sizeof(small)), -EBADMSG);
  assert_int_equal(strlen(small), sizeof(small) - 1); /* truncated, terminated */
  assert_int_equal(mrt_derp_map_parse(json, 2, &m, NULL, 0), -EBADMSG);
  assert_int_equal(mrt_derp_map_parse(NULL, 0, &m, small, sizeof(small)), -EINVAL);
  assert_int_equal(mrt_derp_map_parse("{}", 2, NULL, NULL, 0), -EINVAL);
  /* The length is honoured: the text need not be NUL-terminated. */
  assert_int_equal(mrt_derp_map_parse("{}garbage", 2, &m, NULL, 0), 0);
  assert_non_null(m);
  mrt_derp_map_unref(m);
}

static void test_copy_is_deep(void **state) {
  mrt_derp_map *m = parse_ok(VALID_MAP), *c = NULL;
  const mrt_derp_region *a, *b;
  (void)state;

  assert_int_equal(mrt_derp_map_copy(m, &c), 0);
  assert_non_null(c);
  assert_ptr_not_equal(c, m);
  assert_int_equal(mrt_derp_map_region_count(c), 3);
  for (size_t i = 0; i < 3; i++) {
    a = mrt_derp_map_region_at(m, i);
    b = mrt_derp_map_region_at(c, i);
    assert_int_equal(a->region_id, b->region_id);
    assert_string_equal(a->region_name, b->region_name);
    assert_ptr_not_equal(a->region_name, b->region_name);
    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_ptr_not_equal(a->nodes, b->nodes);
    for (size_t j = 0; j < a->n_nodes; j++) {
      assert_string_equal(a->nodes[j].host_name, b->nodes[j].host_name);
      assert_ptr_not_equal(a->nodes[j].host_name, b->nodes[j].host_name);
      assert_memory_equal(&a->nodes[j].ipv6, &b->nodes[j].ipv6, sizeof(struct in6_addr));
      assert_int_equal(a->nodes[j].stun_port, b->nodes[j].stun_port);
    }
  }
  /* The copy outlives the original (ASan/valgrind catch any sharing). */
  assert_null(mrt_derp_map_unref(m));
  assert_string_equal(mrt_derp_map_find_region(c, 10)->nodes[1].host_name, "stun10.example");
  mrt_derp_map_unref(c);
  assert_int_equal(mrt_derp_map_copy(NULL, &c), -EINVAL);
  assert_null(c);
}

static void test_refcount(void **state) {
  mrt_derp_map *m = parse_ok(VALID_MAP);
  (void)state;

  assert_ptr_equal(mrt_derp_map_ref(m), m);
  assert_ptr_equal(mrt_derp_map_ref(m), m);
  assert_null(mrt_derp_map_unref(m));
  assert_null(mrt_derp_map_unref(m));
  /* Still alive with one reference left. */
  assert_int_equal(mrt_derp_map_region_count(m), 3);
  assert_null(mrt_derp_map_unref(m));
  assert_null(mrt_derp_map_ref(NULL));
  assert_null(mrt_derp_map_unref(NULL));
}

static void assert_sockaddr(const struct sockaddr_storage *ss, const char *addr, int port) {
  char buf[INET6_ADDRSTRLEN];

  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
    assert_int_equal(ntohs(sin->sin_port), port);
  } else {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    assert_int_equal(ss->ss_family, AF_INET6);
    assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
    assert_int_equal(ntohs(sin6->sin6_port), port);
  }
  assert_string_equal(buf, addr);
}

static void test_stun_servers(void **state) {
  mrt_derp_map *m = parse_ok(VALID_MAP);
  struct sockaddr_storage ss[8];
  (void)state;

  /* Region 1: 1a has STUN disabled, 1b has no fixed address. Region 2: IPv4
     * "none", IPv6 fixed. Region 10: 10a both families on 3479, 10b IPv4. */
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_UNSPEC, NULL, 0), 4);
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_UNSPEC, ss, 8), 4);
  assert_sockaddr(&ss[0], "2001:db8::2", 3478);
  assert_sockaddr(&ss[1], "192.0.2.10", 3479);
  assert_sockaddr(&ss[2], "2001:db8::10", 3479);
  assert_sockaddr(&ss[3], "192.0.2.11", 3478);

  assert_int_equal(mrt_derp_map_stun_servers(m, AF_INET, ss, 8), 2);
  assert_sockaddr(&ss[0], "192.0.2.10", 3479);
  assert_sockaddr(&ss[1], "192.0.2.11", 3478);
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_INET6, ss, 8), 2);
  assert_sockaddr(&ss[1], "2001:db8::10", 3479);

  /* A short array gets the first entries and the full count. */
  memset(ss, 0xAB, sizeof(ss));
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_UNSPEC, ss, 1), 4);
  assert_sockaddr(&ss[0], "2001:db8::2", 3478);
  assert_int_equal(ss[1].ss_family, (sa_family_t)0xABAB);

  assert_int_equal(mrt_derp_map_stun_servers(m, AF_UNIX, ss, 8), -EINVAL);
  assert_int_equal(mrt_derp_map_stun_servers(m, AF_INET, NULL, 1), -EINVAL);
  assert_int_equal(mrt_derp_map_stun_servers(NULL, AF_INET, ss, 8), -EINVAL);
  assert_int_equal(mrt_derp_node_stun_addr(&mrt_derp_map_find_region(m, 1)->nodes[0], AF_INET, ss),
                   -ENOENT);
  assert_int_equal(mrt_derp_node_stun_addr(&mrt_derp_map_find_region(m, 2)->nodes[0], AF_INET, ss),
                   -ENOENT);
  mrt_derp_map_unref(m);
}

static char *write_temp(const char *text, size_t len) {
  char *path = strdup("/tmp/test-derp-map-XXXXXX");
  int fd;

  assert_non_null(path);
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  return path;
}

static void test_parse_file(void **state) {
  char err[MRT_DERP_MAP_ERR_LEN], *path;
  mrt_derp_map *m = NULL;
  (void)state;

  path = write_temp(VALID_MAP, strlen(VALID_MAP));
  assert_int_equal(mrt_derp_map_parse_file(path, &m, err, sizeof(err)), 0);
  assert_int_equal(mrt_derp_map_region_count(m), 3);
  m = mrt_derp_map_unref(m);
  unlink(path);
  free(path);

  path = write_temp("{\"Regions\": 1}", 14);
  assert_int_equal(mrt_derp_map_parse_file(path, &m, err, sizeof(err)), -EBADMSG);
  assert_string_equal(err, "Regions: expected an object, got 1");
  unlink(path);
  free(path);

  assert_int_equal(mrt_derp_map_parse_file("/nonexistent/derp.json", &m, err, sizeof(err)),
                   -ENOENT);
  assert_null(m);
  assert_non_null(strstr(err, "/nonexistent/derp.json"));
  assert_int_equal(mrt_derp_map_parse_file(NULL, &m, err, sizeof(err)), -EINVAL);
}

/* A file over the size limit is refused before it is parsed (a sparse file, so
 * the test writes nothing to disk). */
static void test_parse_file_too_big(void **state) {
  char err[MRT_DERP_MAP_ERR_LEN], *path = write_temp("", 0);
  mrt_derp_map *m = NULL;
  (void)state;

  assert_int_equal(truncate(path, (off_t)MRT_DERP_MAP_MAX_FILE_SIZE + 1), 0);
  assert_int_equal(mrt_derp_map_parse_file(path, &m, err, sizeof(err)), -EFBIG);
  assert_null(m);
  assert_int_equal(truncate(path, (off_t)MRT_DERP_MAP_MAX_FILE_SIZE), 0);
  /* Exactly at the limit it is read, and then fails as JSON (NUL bytes). */
  assert_int_equal(mrt_derp_map_parse_file(path, &m, err, sizeof(err)), -EBADMSG);
  unlink(path);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_syntax_error_escapes_control_characters),
      cmocka_unit_test(test_valid_map_sorted_by_id),
      cmocka_unit_test(test_valid_map_node_fields),
      cmocka_unit_test(test_partial_maps),
      cmocka_unit_test(test_hostile_documents),
      cmocka_unit_test(test_error_message_exact),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_hostile_text_is_escaped_and_bounded),
      cmocka_unit_test(test_error_buffer_edges),
      cmocka_unit_test(test_copy_is_deep),
      cmocka_unit_test(test_refcount),
      cmocka_unit_test(test_stun_servers),
      cmocka_unit_test(test_parse_file),
      cmocka_unit_test(test_parse_file_too_big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
