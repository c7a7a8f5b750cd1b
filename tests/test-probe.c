/* SPDX-License-Identifier: MIT */
/* Tests for the probe protocol codec and its replay tables (actors/probe.c):
 * a valid ping and pong (IPv4 and IPv6 observed addresses), the wrong key
 * (another sender, another recipient, a tampered header key or box), every
 * truncation and an extra byte, a replayed pong and a stale transaction, the
 * pending table's eviction and expiry, the seen-ping ring, argument checks,
 * endpoint updates (round trip, limits, a later format's appended fields
 * ignored, a format-1 update with trailing bytes or a count that disagrees
 * with its length refused), and a fixed-seed fuzz loop of random datagrams
 * under a known sender key. */
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

#include <sodium.h>

#include <meshrt/probe.h>
#include <meshrt/stun.h>
#include <meshrt/types.h>

typedef struct pair {
  mrt_probe_keypair a, b, c;
  mrt_probe_session ab, ba, ca, bc;
} pair;

static void make_pair(pair *p) {
  assert_int_equal(mrt_probe_keypair_generate(&p->a), 0);
  assert_int_equal(mrt_probe_keypair_generate(&p->b), 0);
  assert_int_equal(mrt_probe_keypair_generate(&p->c), 0);
  assert_int_equal(mrt_probe_session_init(&p->ab, &p->a, p->b.pub), 0);
  assert_int_equal(mrt_probe_session_init(&p->ba, &p->b, p->a.pub), 0);
  assert_int_equal(mrt_probe_session_init(&p->ca, &p->c, p->a.pub), 0);
  assert_int_equal(mrt_probe_session_init(&p->bc, &p->b, p->c.pub), 0);
}

static int seal_ping(const mrt_probe_session *s, const mrt_probe_txid *txid, uint8_t *buf) {
  mrt_probe_msg m = {.kind = MRT_PROBE_PING, .txid = *txid};
  return mrt_probe_seal(s, &m, buf, MRT_PROBE_MAX_LEN);
}

static void keys(void **unused) {
  (void)unused;
  mrt_probe_keypair k, again;
  assert_int_equal(mrt_probe_keypair_generate(&k), 0);
  assert_int_equal(mrt_probe_keypair_from_secret(k.sec, &again), 0);
  assert_memory_equal(k.pub, again.pub, MRT_PROBE_KEY_LEN);
  assert_int_equal(mrt_probe_keypair_from_secret(again.sec, &again), 0); /* aliasing */
  assert_memory_equal(k.pub, again.pub, MRT_PROBE_KEY_LEN);
  /* The all-zero key is a low-order point: no safe shared secret. */
  mrt_probe_session s;
  uint8_t zero[MRT_PROBE_KEY_LEN] = {0};
  assert_int_equal(mrt_probe_session_init(&s, &k, zero), -EINVAL);
  assert_int_equal(mrt_probe_keypair_generate(NULL), -EINVAL);
  assert_int_equal(mrt_probe_session_init(NULL, &k, k.pub), -EINVAL);
}

static void valid_ping_and_pong(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  uint8_t buf[MRT_PROBE_MAX_LEN + 8];
  mrt_probe_txid tx, other;
  assert_int_equal(mrt_probe_txid_random(&tx), 0);
  assert_int_equal(mrt_probe_txid_random(&other), 0);
  assert_false(mrt_probe_txid_equal(&tx, &other)); /* 2^-96 to fail by chance */
  assert_int_equal(mrt_probe_txid_random(NULL), -EINVAL);
  int n = seal_ping(&p.ab, &tx, buf);
  assert_int_equal(n, MRT_PROBE_PING_LEN);
  assert_true(mrt_probe_is_probe(buf, (size_t)n));
  assert_false(mrt_stun_is_stun(buf, (size_t)n));
  uint8_t key[MRT_PROBE_KEY_LEN];
  assert_int_equal(mrt_probe_sender_key(buf, (size_t)n, key), 0);
  assert_memory_equal(key, p.a.pub, MRT_PROBE_KEY_LEN);
  mrt_probe_msg got;
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), 0);
  assert_int_equal(got.kind, MRT_PROBE_PING);
  assert_true(mrt_probe_txid_equal(&got.txid, &tx));

  /* The pong carries where the ping came from, IPv4 and IPv6. */
  mrt_probe_msg pong = {.kind = MRT_PROBE_PONG, .txid = tx};
  struct sockaddr_in *in = (struct sockaddr_in *)&pong.observed;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(0x7f000001);
  in->sin_port = htons(41641);
  n = mrt_probe_seal(&p.ba, &pong, buf, sizeof buf);
  assert_int_equal(n, MRT_PROBE_PONG_LEN);
  assert_int_equal(mrt_probe_open(&p.ab, buf, (size_t)n, &got), 0);
  assert_int_equal(got.kind, MRT_PROBE_PONG);
  assert_true(mrt_probe_txid_equal(&got.txid, &tx));
  assert_int_equal(got.observed.ss_family, AF_INET);
  assert_int_equal(((struct sockaddr_in *)&got.observed)->sin_port, htons(41641));
  assert_int_equal(((struct sockaddr_in *)&got.observed)->sin_addr.s_addr, htonl(0x7f000001));

  memset(&pong.observed, 0, sizeof pong.observed);
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&pong.observed;
  in6->sin6_family = AF_INET6;
  in6->sin6_addr = in6addr_loopback;
  in6->sin6_port = htons(7);
  n = mrt_probe_seal(&p.ba, &pong, buf, sizeof buf);
  assert_int_equal(mrt_probe_open(&p.ab, buf, (size_t)n, &got), 0);
  assert_int_equal(got.observed.ss_family, AF_INET6);
  assert_memory_equal(&((struct sockaddr_in6 *)&got.observed)->sin6_addr, &in6addr_loopback, 16);
  assert_int_equal(((struct sockaddr_in6 *)&got.observed)->sin6_port, htons(7));

  /* Two seals of the same message differ (fresh nonce). */
  uint8_t again[MRT_PROBE_MAX_LEN];
  seal_ping(&p.ab, &tx, buf);
  seal_ping(&p.ab, &tx, again);
  assert_memory_not_equal(buf, again, MRT_PROBE_PING_LEN);
}

static void wrong_key_is_unauthenticated(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_probe_txid tx;
  mrt_probe_txid_random(&tx);
  mrt_probe_msg got;

  /* C seals to A but claims to be... C: A's session with B rejects it. */
  int n = seal_ping(&p.ca, &tx, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), -EACCES);

  /* C writes B's key into the header: the MAC (keyed by C's secret) fails. */
  memcpy(buf + 5, p.b.pub, MRT_PROBE_KEY_LEN);
  assert_int_equal(mrt_probe_open(&p.ab, buf, (size_t)n, &got), -EACCES);

  /* A's ping to B opened with B's session for C: wrong sender. */
  n = seal_ping(&p.ab, &tx, buf);
  assert_int_equal(mrt_probe_open(&p.bc, buf, (size_t)n, &got), -EACCES);

  /* Every single-bit flip in nonce or box fails authentication. */
  for (int i = 37; i < n; i++) {
    buf[i] ^= 0x01;
    assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), -EACCES);
    buf[i] ^= 0x01;
  }
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), 0);
}

static void truncated_and_padded(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  static uint8_t buf[MRT_PROBE_MAX_FRAME + 1];
  mrt_probe_msg pong = {.kind = MRT_PROBE_PONG};
  pong.observed.ss_family = AF_INET;
  int n = mrt_probe_seal(&p.ab, &pong, buf, sizeof buf);
  assert_int_equal(n, MRT_PROBE_PONG_LEN);
  mrt_probe_msg got;
  uint8_t key[MRT_PROBE_KEY_LEN];
  for (int len = 0; len < n; len++) {
    /* A truncated pong may happen to have a ping's length, or one an
     * endpoint update may have: then it fails the MAC instead. Either way
     * it is refused. */
    bool framed = len == MRT_PROBE_PING_LEN || len >= MRT_PROBE_ENDPOINTS_LEN(0);
    int rc = mrt_probe_open(&p.ba, buf, (size_t)len, &got);
    assert_int_equal(rc, framed ? -EACCES : -EBADMSG);
    if (!framed)
      assert_int_equal(mrt_probe_sender_key(buf, (size_t)len, key), -EBADMSG);
  }
  buf[n] = 0;
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n + 1, &got), -EACCES);
  assert_int_equal(mrt_probe_open(&p.ba, buf, MRT_PROBE_MAX_FRAME + 1, &got), -EBADMSG);
  /* Wrong magic or version. */
  buf[0] = 'X';
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), -EBADMSG);
  buf[0] = 'M';
  buf[4] = 2;
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), -EBADMSG);
}

static struct sockaddr_storage v4(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  inet_pton(AF_INET, ip, &in->sin_addr);
  return ss;
}

static void endpoint_update_round_trip(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  static mrt_probe_msg m, got;
  memset(&m, 0, sizeof m);
  m.kind = MRT_PROBE_ENDPOINTS;
  m.epoch = UINT64_C(0x0123456789abcdef);
  m.seq = 42;
  m.n_endpoints = MRT_PROBE_MAX_ENDPOINTS;
  for (int i = 0; i < MRT_PROBE_MAX_ENDPOINTS; i++)
    m.endpoints[i] = v4("192.0.2.1", (uint16_t)(1000 + i));
  struct sockaddr_in6 *six = (struct sockaddr_in6 *)&m.endpoints[3];
  memset(&m.endpoints[3], 0, sizeof m.endpoints[3]);
  six->sin6_family = AF_INET6;
  six->sin6_port = htons(41641);
  inet_pton(AF_INET6, "2001:db8::7", &six->sin6_addr);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  int n = mrt_probe_seal(&p.ab, &m, buf, sizeof buf);
  assert_int_equal(n, MRT_PROBE_ENDPOINTS_LEN(MRT_PROBE_MAX_ENDPOINTS));
  assert_int_equal(n, MRT_PROBE_MAX_LEN);
  assert_true(mrt_probe_is_probe(buf, (size_t)n));
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), 0);
  assert_int_equal(got.kind, MRT_PROBE_ENDPOINTS);
  assert_true(got.epoch == m.epoch);
  assert_int_equal(got.seq, 42);
  assert_int_equal(got.n_endpoints, MRT_PROBE_MAX_ENDPOINTS);
  assert_memory_equal(&got.endpoints[0], &m.endpoints[0], sizeof(struct sockaddr_in));
  assert_memory_equal(&got.endpoints[3], &m.endpoints[3], sizeof(struct sockaddr_in6));
  /* Another recipient cannot open it; nobody can alter it. */
  assert_int_equal(mrt_probe_open(&p.bc, buf, (size_t)n, &got), -EACCES);
  buf[n - 1] ^= 1;
  assert_int_equal(mrt_probe_open(&p.ba, buf, (size_t)n, &got), -EACCES);
  /* Empty is fine; too many or a non-IP endpoint is the caller's bug. */
  m.n_endpoints = 0;
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, sizeof buf), MRT_PROBE_ENDPOINTS_LEN(0));
  m.n_endpoints = MRT_PROBE_MAX_ENDPOINTS + 1;
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, sizeof buf), -EINVAL);
  m.n_endpoints = 1;
  m.endpoints[0].ss_family = AF_UNIX;
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, sizeof buf), -EINVAL);
  m.endpoints[0] = v4("192.0.2.1", 1);
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, 50), -ENOSPC);
}

/* Seals a hand-made update plaintext with libsodium, as another build would. */
static size_t seal_raw(const pair *p, const uint8_t *plain, size_t plen, uint8_t *out) {
  memcpy(out, "MRTP\x01", 5);
  memcpy(out + 5, p->a.pub, MRT_PROBE_KEY_LEN);
  randombytes_buf(out + 37, crypto_box_NONCEBYTES);
  assert_int_equal(crypto_box_easy(out + 61, plain, plen, out + 37, p->b.pub, p->a.sec), 0);
  return 61 + crypto_box_MACBYTES + plen;
}

static void endpoint_update_formats(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  uint8_t plain[400], buf[MRT_PROBE_MAX_FRAME];
  static mrt_probe_msg got;
  memset(plain, 0, sizeof plain);
  plain[0] = MRT_PROBE_ENDPOINTS;
  plain[1] = 2;  /* a later format */
  plain[17] = 9; /* seq 9 */
  plain[18] = 1; /* one endpoint */
  plain[19 + 10] = plain[19 + 11] = 0xff;
  plain[19 + 12] = 192, plain[19 + 13] = 0, plain[19 + 14] = 2, plain[19 + 15] = 5;
  plain[19 + 17] = 80;
  /* Format 2 appends 20 bytes format 1 does not know: read the rest. */
  size_t n = seal_raw(&p, plain, 19 + 18 + 20, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), 0);
  assert_int_equal(got.n_endpoints, 1);
  assert_int_equal(got.seq, 9);
  struct sockaddr_storage want = v4("192.0.2.5", 80);
  assert_memory_equal(&got.endpoints[0], &want, sizeof(struct sockaddr_in));
  /* Format 1 with the same trailing bytes: malformed. */
  plain[1] = 1;
  n = seal_raw(&p, plain, 19 + 18 + 20, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), -EBADMSG);
  /* A count beyond what the length holds, or beyond the limit. */
  plain[18] = 3;
  n = seal_raw(&p, plain, 19 + 18 * 2, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), -EBADMSG);
  plain[18] = MRT_PROBE_MAX_ENDPOINTS + 1;
  n = seal_raw(&p, plain, 19 + 18 * 17, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), -EBADMSG);
  /* Format 0 never existed; a kind nobody knows is malformed too. */
  plain[1] = 0;
  plain[18] = 0;
  n = seal_raw(&p, plain, 19, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), -EBADMSG);
  plain[0] = 9;
  n = seal_raw(&p, plain, 40, buf);
  assert_int_equal(mrt_probe_open(&p.ba, buf, n, &got), -EBADMSG);
}

static void replayed_pong_and_stale_transaction(void **unused) {
  (void)unused;
  mrt_probe_pending pend;
  mrt_probe_pending_clear(&pend);
  mrt_probe_txid t1, t2, t3;
  mrt_probe_txid_random(&t1);
  mrt_probe_txid_random(&t2);
  mrt_probe_txid_random(&t3);
  const uint64_t timeout = MRT_SEC(5);
  assert_int_equal(mrt_probe_pending_add(&pend, &t1, MRT_SEC(100), 7), 0);
  assert_int_equal(mrt_probe_pending_add(&pend, &t2, MRT_SEC(100), 8), 0);
  assert_int_equal(mrt_probe_pending_count(&pend), 2);

  uint64_t sent = 0;
  uint32_t tag = 0;
  /* A valid pong takes its transaction once... */
  assert_int_equal(mrt_probe_pending_take(&pend, &t1, MRT_SEC(101), timeout, &sent, &tag), 0);
  assert_int_equal(sent, MRT_SEC(100));
  assert_int_equal(tag, 7);
  /* ...and its replay is recognised as such. */
  assert_int_equal(mrt_probe_pending_take(&pend, &t1, MRT_SEC(101), timeout, &sent, &tag),
                   -EALREADY);
  /* A transaction we never started. */
  assert_int_equal(mrt_probe_pending_take(&pend, &t3, MRT_SEC(101), timeout, NULL, NULL), -ENOENT);
  /* A pong after the timeout is stale, and the ping is gone afterwards. */
  assert_int_equal(mrt_probe_pending_take(&pend, &t2, MRT_SEC(105), timeout, NULL, NULL),
                   -ETIMEDOUT);
  assert_int_equal(mrt_probe_pending_take(&pend, &t2, MRT_SEC(105), timeout, NULL, NULL), -ENOENT);
  assert_int_equal(mrt_probe_pending_count(&pend), 0);

  /* Expiry drops exactly the old ones. */
  assert_int_equal(mrt_probe_pending_add(&pend, &t2, MRT_SEC(200), 1), 0);
  assert_int_equal(mrt_probe_pending_add(&pend, &t3, MRT_SEC(203), 2), 0);
  assert_int_equal(mrt_probe_pending_expire(&pend, MRT_SEC(205), timeout), 1);
  assert_int_equal(mrt_probe_pending_take(&pend, &t3, MRT_SEC(206), timeout, NULL, &tag), 0);
  assert_int_equal(tag, 2);

  mrt_probe_pending_clear(&pend);
  assert_int_equal(mrt_probe_pending_take(&pend, &t1, MRT_SEC(101), timeout, NULL, NULL), -ENOENT);
  assert_int_equal(mrt_probe_pending_add(NULL, &t1, 0, 0), -EINVAL);
  assert_int_equal(mrt_probe_pending_take(&pend, NULL, 0, 0, NULL, NULL), -EINVAL);
}

static void pending_evicts_the_oldest(void **unused) {
  (void)unused;
  mrt_probe_pending pend;
  mrt_probe_pending_clear(&pend);
  mrt_probe_txid ids[MRT_PROBE_PENDING_MAX + 1];
  for (int i = 0; i <= MRT_PROBE_PENDING_MAX; i++) {
    mrt_probe_txid_random(&ids[i]);
    int rc = mrt_probe_pending_add(&pend, &ids[i], MRT_SEC(10) + (uint64_t)i, (uint32_t)i);
    assert_int_equal(rc, i < MRT_PROBE_PENDING_MAX ? 0 : 1);
  }
  assert_int_equal(mrt_probe_pending_count(&pend), MRT_PROBE_PENDING_MAX);
  assert_int_equal(mrt_probe_pending_take(&pend, &ids[0], MRT_SEC(11), MRT_SEC(5), NULL, NULL),
                   -ENOENT);
  uint32_t tag = 0;
  assert_int_equal(mrt_probe_pending_take(&pend, &ids[MRT_PROBE_PENDING_MAX], MRT_SEC(11),
                                          MRT_SEC(5), NULL, &tag),
                   0);
  assert_int_equal(tag, MRT_PROBE_PENDING_MAX);
}

static void seen_ring(void **unused) {
  (void)unused;
  mrt_probe_seen seen;
  memset(&seen, 0, sizeof seen);
  mrt_probe_txid first, t;
  mrt_probe_txid_random(&first);
  assert_true(mrt_probe_seen_insert(&seen, &first));
  assert_false(mrt_probe_seen_insert(&seen, &first)); /* a replayed ping */
  for (int i = 0; i < MRT_PROBE_SEEN_MAX - 1; i++) {
    mrt_probe_txid_random(&t);
    assert_true(mrt_probe_seen_insert(&seen, &t));
  }
  assert_false(mrt_probe_seen_insert(&seen, &first)); /* still remembered */
  mrt_probe_txid_random(&t);
  assert_true(mrt_probe_seen_insert(&seen, &t)); /* pushes `first` out */
  assert_true(mrt_probe_seen_insert(&seen, &first));
  assert_false(mrt_probe_seen_insert(NULL, &first));
}

static void argument_checks(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_probe_msg m = {.kind = MRT_PROBE_PING};
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, MRT_PROBE_PING_LEN - 1), -ENOSPC);
  assert_int_equal(mrt_probe_seal(NULL, &m, buf, sizeof buf), -EINVAL);
  m.kind = (mrt_probe_kind)9;
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, sizeof buf), -EINVAL);
  m.kind = MRT_PROBE_PONG; /* without an observed address */
  assert_int_equal(mrt_probe_seal(&p.ab, &m, buf, sizeof buf), -EINVAL);
  mrt_probe_msg got;
  assert_int_equal(mrt_probe_open(&p.ab, NULL, 90, &got), -EINVAL);
  assert_int_equal(mrt_probe_open(&p.ab, buf, 90, NULL), -EINVAL);
  assert_false(mrt_probe_is_probe(NULL, 90));
  uint8_t stun[64];
  mrt_stun_txid st = {{1, 2, 3}};
  int n = mrt_stun_build_binding_request(stun, sizeof stun, &st, MRT_STUN_SOFTWARE);
  assert_false(mrt_probe_is_probe(stun, (size_t)n));
}

/* Random bodies behind a valid header and a known sender key: never
 * accepted, never a crash. Fixed seed, so a failure reproduces. */
static void fuzz(void **unused) {
  (void)unused;
  pair p;
  make_pair(&p);
  srand(12345);
  mrt_probe_msg got;
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = iter % 3 == 0   ? MRT_PROBE_PING_LEN
                 : iter % 3 == 1 ? MRT_PROBE_PONG_LEN
                                 : (size_t)(rand() % 200);
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)rand();
    if (len >= MRT_PROBE_HEADER_LEN) {
      memcpy(buf, "MRTP", 4);
      buf[4] = 1;
      memcpy(buf + 5, p.a.pub, MRT_PROBE_KEY_LEN);
    }
    int rc = mrt_probe_open(&p.ba, buf, len, &got);
    assert_true(rc == -EACCES || rc == -EBADMSG);
    free(buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keys),
      cmocka_unit_test(valid_ping_and_pong),
      cmocka_unit_test(wrong_key_is_unauthenticated),
      cmocka_unit_test(endpoint_update_round_trip),
      cmocka_unit_test(endpoint_update_formats),
      cmocka_unit_test(truncated_and_padded),
      cmocka_unit_test(replayed_pong_and_stale_transaction),
      cmocka_unit_test(pending_evicts_the_oldest),
      cmocka_unit_test(seen_ring),
      cmocka_unit_test(argument_checks),
      cmocka_unit_test(fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
