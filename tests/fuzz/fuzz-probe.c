/* SPDX-License-Identifier: MIT */
/* Fuzz target: path probe datagrams (pings, pongs, endpoint updates), as
 * DirectManager opens them from the UDP socket.
 *
 * Byte 0 picks how the rest is used:
 *   bit 0 clear: the rest is a datagram off the wire, opened as ours from
 *     the test peer (framing, sender key and MAC checks);
 *   bit 0 set: the rest is a plaintext, sealed by the test peer to us with a
 *     fixed test key pair, so the decoder behind the MAC (kinds, lengths,
 *     addresses, the endpoint update's format, epoch, sequence and list)
 *     sees every byte; with bit 1 also set, it is sealed with a third key
 *     while the header claims the peer's.
 *
 * Properties:
 *   - a refused datagram leaves a zeroed message; the error is -EBADMSG or
 *     -EACCES, and never -EACCES for one the peer really sealed, never
 *     success for a forged one;
 *   - an accepted message is well-formed (kind 1-3, a pong's observed
 *     address and every endpoint IPv4 or IPv6 with a port, at most 16
 *     endpoints), and sealing it again gives a datagram that opens to the
 *     same message (a round trip).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include <meshrt/mesh.h>

#include "fuzz.h"

static mrt_probe_keypair us, peer, other;
static mrt_probe_session ours, peers, others; /* us<-peer, peer->us, other->us */

static void init_keys(void) {
  static bool done;
  if (done)
    return;
  uint8_t s[MRT_PROBE_SECRET_LEN];
  memset(s, 0x11, sizeof s);
  mrt_probe_keypair_from_secret(s, &us);
  memset(s, 0x22, sizeof s);
  mrt_probe_keypair_from_secret(s, &peer);
  memset(s, 0x33, sizeof s);
  mrt_probe_keypair_from_secret(s, &other);
  mrt_probe_session_init(&ours, &us, peer.pub);
  mrt_probe_session_init(&peers, &peer, us.pub);
  mrt_probe_session_init(&others, &other, us.pub);
  done = true;
}

static bool zeroed(const mrt_probe_msg *m) {
  static const mrt_probe_msg zero;
  return memcmp(m, &zero, sizeof *m) == 0;
}

static bool ip_with_port(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET)
    return true;
  return a->ss_family == AF_INET6;
}

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

static void check_accepted(const mrt_probe_msg *m) {
  FUZZ_CHECK(m->kind == MRT_PROBE_PING || m->kind == MRT_PROBE_PONG ||
                 m->kind == MRT_PROBE_ENDPOINTS,
             "kind %d", (int)m->kind);
  if (m->kind == MRT_PROBE_PONG)
    FUZZ_CHECK(ip_with_port(&m->observed), "pong without an observed address");
  FUZZ_CHECK(m->n_endpoints <= MRT_PROBE_MAX_ENDPOINTS, "%u endpoints", m->n_endpoints);
  for (unsigned i = 0; i < m->n_endpoints; i++)
    FUZZ_CHECK(ip_with_port(&m->endpoints[i]), "endpoint %u", i);
  /* Round trip: seal it again as the peer, open it as ours. */
  uint8_t buf[MRT_PROBE_MAX_LEN];
  int n = mrt_probe_seal(&peers, m, buf, sizeof buf);
  FUZZ_CHECK(n > 0, "an accepted message cannot be sealed again: %d", n);
  mrt_probe_msg back;
  FUZZ_CHECK(mrt_probe_open(&ours, buf, (size_t)n, &back) == 0, "our own seal refused");
  FUZZ_CHECK(back.kind == m->kind, "kind changed");
  if (m->kind != MRT_PROBE_ENDPOINTS)
    FUZZ_CHECK(mrt_probe_txid_equal(&back.txid, &m->txid), "txid changed");
  if (m->kind == MRT_PROBE_PONG)
    FUZZ_CHECK(same_addr(&back.observed, &m->observed), "observed changed");
  if (m->kind == MRT_PROBE_ENDPOINTS) {
    FUZZ_CHECK(back.epoch == m->epoch && back.seq == m->seq, "epoch or seq changed");
    FUZZ_CHECK(back.n_endpoints == m->n_endpoints, "endpoint count changed");
    for (unsigned i = 0; i < m->n_endpoints; i++)
      FUZZ_CHECK(same_addr(&back.endpoints[i], &m->endpoints[i]), "endpoint %u changed", i);
  }
}

/* The datagram `sender` seals around `plain`, with the peer's key in the
 * header: the framing of <meshrt/probe.h>, a fixed nonce. */
static size_t seal_raw(const mrt_probe_session *sender, const uint8_t *plain, size_t plen,
                       uint8_t *out) {
  memcpy(out, "MRTP", 4);
  out[4] = 1;
  memcpy(out + 5, peer.pub, MRT_PROBE_KEY_LEN);
  memset(out + 37, 0x5a, crypto_box_NONCEBYTES);
  crypto_box_easy_afternm(out + MRT_PROBE_HEADER_LEN, plain, plen, out + 37, sender->shared);
  return MRT_PROBE_HEADER_LEN + crypto_box_MACBYTES + plen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_keys();
  if (size == 0)
    return 0;
  uint8_t mode = data[0];
  data++, size--;
  mrt_probe_msg m;
  if (!(mode & 1)) {
    int rc = mrt_probe_open(&ours, data, size, &m);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EACCES, "rc %d", rc);
    if (rc < 0) {
      FUZZ_CHECK(zeroed(&m), "refused but not zeroed");
      FUZZ_CHECK(mrt_probe_is_probe(data, size) || rc == -EBADMSG, "not a probe yet %d", rc);
      return 0;
    }
    FUZZ_CHECK(mrt_probe_is_probe(data, size), "opened but not a probe");
    check_accepted(&m);
    return 0;
  }
  if (size > MRT_PROBE_MAX_FRAME)
    return 0;
  static uint8_t dgram[MRT_PROBE_MAX_FRAME + 128];
  bool forged = (mode & 2) != 0;
  size_t len = seal_raw(forged ? &others : &peers, data, size, dgram);
  int rc = mrt_probe_open(&ours, dgram, len, &m);
  if (rc < 0)
    FUZZ_CHECK(zeroed(&m), "refused but not zeroed");
  if (forged) {
    FUZZ_CHECK(rc == -EACCES || rc == -EBADMSG, "a forged datagram gave %d", rc);
    return 0;
  }
  FUZZ_CHECK(rc == 0 || rc == -EBADMSG, "the peer's own datagram gave %d", rc);
  if (rc == 0)
    check_accepted(&m);
  return 0;
}
