/* SPDX-License-Identifier: MIT */
/* meshrt — the path probe protocol (see <meshrt/probe.h> for the format).
 *
 * A direct path is only worth using if the peer at its far end really is the
 * peer: otherwise anyone able to send a datagram could steer traffic. So each
 * ping and pong is a libsodium box between the two nodes' probe keys, and a
 * pong counts only once, for a ping we actually sent. This file is the codec
 * and the two replay tables; DirectManager owns the policy (when to ping, what
 * a pong means for the best path).
 *
 * Every datagram is hostile until its MAC verifies: lengths are checked
 * before anything is read, and the plaintext is only looked at after
 * crypto_box_open succeeded.
 *
 * Threading: no global state besides libsodium's one-time initialisation
 * (sodium_init is thread-safe and idempotent). Sessions and tables belong to
 * their caller and are used from one thread at a time.
 */
#include <meshrt/probe.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include <meshrt/log.h>

#define MAGIC "MRTP"
#define MAGIC_LEN 4
#define VERSION 1
#define OFF_VERSION 4
#define OFF_KEY 5
#define OFF_NONCE (OFF_KEY + MRT_PROBE_KEY_LEN)
#define OFF_BOX (OFF_NONCE + crypto_box_NONCEBYTES)
#define PING_PLAIN (1 + MRT_PROBE_TXID_LEN)
#define PONG_PLAIN (1 + MRT_PROBE_TXID_LEN + 16 + 2)
#define ADDR_LEN 18                        /* 16-byte IPv6 (IPv4 v4-mapped) + port */
#define ENDPOINTS_HEAD (1 + 1 + 8 + 8 + 1) /* kind, format, epoch, seq, count */
#define ENDPOINTS_FORMAT 1
#define ENDPOINTS_PLAIN(n) (ENDPOINTS_HEAD + ADDR_LEN * (n))
#define FRAME_OVERHEAD (OFF_BOX + crypto_box_MACBYTES)
#define PLAIN_MAX (MRT_PROBE_MAX_FRAME - FRAME_OVERHEAD)

_Static_assert(OFF_BOX == MRT_PROBE_HEADER_LEN, "header layout");
_Static_assert(MRT_PROBE_PING_LEN == OFF_BOX + crypto_box_MACBYTES + PING_PLAIN, "ping size");
_Static_assert(MRT_PROBE_PONG_LEN == OFF_BOX + crypto_box_MACBYTES + PONG_PLAIN, "pong size");
_Static_assert(MRT_PROBE_ENDPOINTS_LEN(3) == FRAME_OVERHEAD + ENDPOINTS_PLAIN(3), "update size");
_Static_assert(MRT_PROBE_ENDPOINTS_LEN(0) > MRT_PROBE_PING_LEN, "lengths tell pings apart");
_Static_assert(sizeof(((mrt_probe_session *)0)->shared) == crypto_box_BEFORENMBYTES,
               "shared key size");
_Static_assert(MRT_PROBE_KEY_LEN == crypto_box_PUBLICKEYBYTES, "public key size");
_Static_assert(MRT_PROBE_SECRET_LEN == crypto_box_SECRETKEYBYTES, "secret key size");

/* A caller's bug (NULL, bad kind), never a network input: worth a log line.
 * Datagram errors are only returned, so a flood cannot flood the log. */
static int bad_arg(const char *what) {
  mrt_log(MRT_LOG_WARN, "probe", "%s refused: bad argument", what);
  return -EINVAL;
}

static bool sodium_ready(void) {
  /* 0: initialised now, 1: already was; -1 only if the RNG cannot open. */
  return sodium_init() >= 0;
}

/* For calls that need libsodium's RNG: 0, or -EIO (logged) if it cannot
 * initialise. */
static int need_sodium(const char *what) {
  if (sodium_ready())
    return 0;
  mrt_log(MRT_LOG_WARN, "probe", "%s refused: libsodium cannot initialise", what);
  return -EIO;
}

int mrt_probe_keypair_generate(mrt_probe_keypair *out) {
  if (out == NULL)
    return bad_arg("keypair_generate");
  int rc = need_sodium("keypair_generate");
  if (rc < 0)
    return rc;
  return crypto_box_keypair(out->pub, out->sec) == 0 ? 0 : -EINVAL;
}

int mrt_probe_keypair_from_secret(const uint8_t secret[MRT_PROBE_SECRET_LEN],
                                  mrt_probe_keypair *out) {
  if (secret == NULL || out == NULL || !sodium_ready())
    return bad_arg("keypair_from_secret");
  uint8_t pub[MRT_PROBE_KEY_LEN];
  if (crypto_scalarmult_base(pub, secret) != 0)
    return -EINVAL;
  memmove(out->sec, secret, MRT_PROBE_SECRET_LEN); /* secret may alias out->sec */
  memcpy(out->pub, pub, sizeof pub);
  return 0;
}

int mrt_probe_session_init(mrt_probe_session *s, const mrt_probe_keypair *self,
                           const uint8_t peer_pub[MRT_PROBE_KEY_LEN]) {
  if (s == NULL || self == NULL || peer_pub == NULL || !sodium_ready())
    return bad_arg("session_init");
  /* beforenm fails for low-order public keys, whose shared secret would be
   * predictable; such a peer cannot be talked to safely. */
  if (crypto_box_beforenm(s->shared, peer_pub, self->sec) != 0) {
    sodium_memzero(s, sizeof *s);
    return -EINVAL;
  }
  memcpy(s->self_pub, self->pub, MRT_PROBE_KEY_LEN);
  memcpy(s->peer_pub, peer_pub, MRT_PROBE_KEY_LEN);
  return 0;
}

void mrt_probe_session_wipe(mrt_probe_session *s) {
  if (s != NULL)
    sodium_memzero(s, sizeof *s);
}

int mrt_probe_txid_random(mrt_probe_txid *out) {
  if (out == NULL)
    return bad_arg("txid_random");
  int rc = need_sodium("txid_random");
  if (rc < 0)
    return rc;
  randombytes_buf(out->bytes, sizeof out->bytes);
  return 0;
}

bool mrt_probe_is_probe(const void *buf, size_t len) {
  const uint8_t *b = buf;
  return b != NULL && len >= OFF_KEY && memcmp(b, MAGIC, MAGIC_LEN) == 0 &&
         b[OFF_VERSION] == VERSION;
}

static int check_frame(const void *buf, size_t len) {
  if (buf == NULL)
    return bad_arg("probe open");
  if (!mrt_probe_is_probe(buf, len))
    return -EBADMSG;
  /* A ping or a pong has one length each; an endpoint update any from its
   * smallest format-1 size up to the frame limit (later formats append). */
  if (len != MRT_PROBE_PING_LEN && len != MRT_PROBE_PONG_LEN &&
      (len < MRT_PROBE_ENDPOINTS_LEN(0) || len > MRT_PROBE_MAX_FRAME))
    return -EBADMSG; /* truncated, or carrying bytes no sender writes */
  return 0;
}

int mrt_probe_sender_key(const void *buf, size_t len, uint8_t key[MRT_PROBE_KEY_LEN]) {
  if (key == NULL)
    return bad_arg("sender_key");
  int rc = check_frame(buf, len);
  if (rc == 0)
    memcpy(key, (const uint8_t *)buf + OFF_KEY, MRT_PROBE_KEY_LEN);
  return rc;
}

/* Observed address <-> 16-byte IPv6 (v4-mapped for IPv4) + port. */
static int put_addr(uint8_t *p, const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    memset(p, 0, 10);
    p[10] = p[11] = 0xff;
    memcpy(p + 12, &in->sin_addr, 4);
    memcpy(p + 16, &in->sin_port, 2); /* already network order */
    return 0;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    memcpy(p, &in6->sin6_addr, 16);
    memcpy(p + 16, &in6->sin6_port, 2);
    return 0;
  }
  return -EINVAL;
}

static void get_addr(const uint8_t *p, struct sockaddr_storage *ss) {
  static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(ss, 0, sizeof *ss);
  if (memcmp(p, v4mapped, sizeof v4mapped) == 0) {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, p + 12, 4);
    memcpy(&in->sin_port, p + 16, 2);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, p, 16);
    memcpy(&in6->sin6_port, p + 16, 2);
  }
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* The plaintext of an endpoint update; returns its length or -EINVAL. */
static int put_endpoints(uint8_t *plain, const mrt_probe_msg *m) {
  if (m->n_endpoints > MRT_PROBE_MAX_ENDPOINTS)
    return bad_arg("seal (too many endpoints)");
  plain[1] = ENDPOINTS_FORMAT;
  put_u64(plain + 2, m->epoch);
  put_u64(plain + 10, m->seq);
  plain[18] = m->n_endpoints;
  for (size_t i = 0; i < m->n_endpoints; i++)
    if (put_addr(plain + ENDPOINTS_HEAD + ADDR_LEN * i, &m->endpoints[i]) < 0)
      return bad_arg("seal (an endpoint that is not an IP address)");
  return ENDPOINTS_PLAIN(m->n_endpoints);
}

/* Reads the format-1 fields of an authentic update of any format >= 1. */
static int get_endpoints(const uint8_t *plain, size_t plen, mrt_probe_msg *out) {
  if (plen < ENDPOINTS_HEAD || plain[1] < ENDPOINTS_FORMAT)
    return -EBADMSG;
  size_t n = plain[18];
  if (n > MRT_PROBE_MAX_ENDPOINTS || plen < ENDPOINTS_PLAIN(n) ||
      (plain[1] == ENDPOINTS_FORMAT && plen != ENDPOINTS_PLAIN(n)))
    return -EBADMSG; /* format 1 carries nothing after its list */
  out->epoch = get_u64(plain + 2);
  out->seq = get_u64(plain + 10);
  out->n_endpoints = (uint8_t)n;
  for (size_t i = 0; i < n; i++)
    get_addr(plain + ENDPOINTS_HEAD + ADDR_LEN * i, &out->endpoints[i]);
  return 0;
}

int mrt_probe_seal(const mrt_probe_session *s, const mrt_probe_msg *m, void *buf, size_t cap) {
  if (s == NULL || m == NULL || buf == NULL)
    return bad_arg("seal");
  uint8_t plain[PLAIN_MAX];
  size_t plen;
  plain[0] = (uint8_t)m->kind;
  if (m->kind == MRT_PROBE_ENDPOINTS) {
    int n = put_endpoints(plain, m);
    if (n < 0)
      return n;
    plen = (size_t)n;
  } else if (m->kind == MRT_PROBE_PING) {
    memcpy(plain + 1, m->txid.bytes, MRT_PROBE_TXID_LEN);
    plen = PING_PLAIN;
  } else if (m->kind == MRT_PROBE_PONG) {
    memcpy(plain + 1, m->txid.bytes, MRT_PROBE_TXID_LEN);
    if (put_addr(plain + 1 + MRT_PROBE_TXID_LEN, &m->observed) < 0)
      return bad_arg("seal (pong without an observed address)");
    plen = PONG_PLAIN;
  } else {
    return bad_arg("seal (unknown kind)");
  }
  size_t total = OFF_BOX + crypto_box_MACBYTES + plen;
  if (cap < total)
    return -ENOSPC;
  uint8_t *b = buf;
  memcpy(b, MAGIC, MAGIC_LEN);
  b[OFF_VERSION] = VERSION;
  memcpy(b + OFF_KEY, s->self_pub, MRT_PROBE_KEY_LEN);
  randombytes_buf(b + OFF_NONCE, crypto_box_NONCEBYTES);
  if (crypto_box_easy_afternm(b + OFF_BOX, plain, plen, b + OFF_NONCE, s->shared) != 0)
    return -EINVAL;
  return (int)total;
}

int mrt_probe_open(const mrt_probe_session *s, const void *buf, size_t len, mrt_probe_msg *out) {
  if (out == NULL)
    return bad_arg("open");
  memset(out, 0, sizeof *out);
  if (s == NULL)
    return bad_arg("open");
  int rc = check_frame(buf, len);
  if (rc < 0)
    return rc;
  const uint8_t *b = buf;
  /* Constant time is not needed for a public key, but it costs nothing. */
  if (sodium_memcmp(b + OFF_KEY, s->peer_pub, MRT_PROBE_KEY_LEN) != 0)
    return -EACCES;
  uint8_t plain[PLAIN_MAX];
  size_t plen = len - OFF_BOX - crypto_box_MACBYTES;
  if (crypto_box_open_easy_afternm(plain, b + OFF_BOX, len - OFF_BOX, b + OFF_NONCE, s->shared) !=
      0)
    return -EACCES;
  /* Authentic from here on; the kind must still agree with the length, since
   * a peer's buggy or hostile build could seal anything. */
  rc = 0;
  if (plain[0] == MRT_PROBE_ENDPOINTS) {
    rc = get_endpoints(plain, plen, out);
  } else if ((plain[0] == MRT_PROBE_PING && plen == PING_PLAIN) ||
             (plain[0] == MRT_PROBE_PONG && plen == PONG_PLAIN)) {
    memcpy(out->txid.bytes, plain + 1, MRT_PROBE_TXID_LEN);
    if (plain[0] == MRT_PROBE_PONG)
      get_addr(plain + 1 + MRT_PROBE_TXID_LEN, &out->observed);
  } else {
    rc = -EBADMSG;
  }
  out->kind = (mrt_probe_kind)plain[0];
  sodium_memzero(plain, plen); /* only what was decrypted holds anything */
  if (rc < 0)
    memset(out, 0, sizeof *out);
  return rc;
}

/* ---- outstanding pings ----------------------------------------------------- */

void mrt_probe_pending_clear(mrt_probe_pending *p) {
  if (p != NULL)
    memset(p, 0, sizeof *p);
}

int mrt_probe_pending_add(mrt_probe_pending *p, const mrt_probe_txid *txid, uint64_t now_ns,
                          uint32_t tag) {
  if (p == NULL || txid == NULL)
    return bad_arg("pending_add");
  size_t victim = 0;
  bool evicted = true;
  for (size_t i = 0; i < MRT_PROBE_PENDING_MAX; i++) {
    if (!p->slot[i].live) {
      victim = i;
      evicted = false;
      break;
    }
    if (p->slot[i].sent_ns < p->slot[victim].sent_ns)
      victim = i;
  }
  p->slot[victim].txid = *txid;
  p->slot[victim].sent_ns = now_ns;
  p->slot[victim].tag = tag;
  p->slot[victim].live = true;
  return evicted ? 1 : 0;
}

/* A clock that never goes backwards makes now < sent impossible; treat it as
 * "just sent" rather than letting the subtraction wrap. */
static bool expired(uint64_t sent_ns, uint64_t now_ns, uint64_t timeout_ns) {
  return now_ns > sent_ns && now_ns - sent_ns >= timeout_ns;
}

static void remember_answered(mrt_probe_pending *p, const mrt_probe_txid *txid) {
  p->answered[p->answered_next] = *txid;
  p->answered_next = (p->answered_next + 1) % MRT_PROBE_ANSWERED_MAX;
  if (p->answered_n < MRT_PROBE_ANSWERED_MAX)
    p->answered_n++;
}

int mrt_probe_pending_take(mrt_probe_pending *p, const mrt_probe_txid *txid, uint64_t now_ns,
                           uint64_t timeout_ns, uint64_t *sent_ns, uint32_t *tag) {
  if (p == NULL || txid == NULL)
    return bad_arg("pending_take");
  for (size_t i = 0; i < MRT_PROBE_PENDING_MAX; i++) {
    if (!p->slot[i].live || !mrt_probe_txid_equal(&p->slot[i].txid, txid))
      continue;
    p->slot[i].live = false;
    if (expired(p->slot[i].sent_ns, now_ns, timeout_ns))
      return -ETIMEDOUT;
    if (sent_ns != NULL)
      *sent_ns = p->slot[i].sent_ns;
    if (tag != NULL)
      *tag = p->slot[i].tag;
    remember_answered(p, txid);
    return 0;
  }
  for (uint32_t i = 0; i < p->answered_n; i++)
    if (mrt_probe_txid_equal(&p->answered[i], txid))
      return -EALREADY;
  return -ENOENT;
}

size_t mrt_probe_pending_expire(mrt_probe_pending *p, uint64_t now_ns, uint64_t timeout_ns) {
  size_t n = 0;
  if (p == NULL)
    return 0;
  for (size_t i = 0; i < MRT_PROBE_PENDING_MAX; i++) {
    if (p->slot[i].live && expired(p->slot[i].sent_ns, now_ns, timeout_ns)) {
      p->slot[i].live = false;
      n++;
    }
  }
  return n;
}

size_t mrt_probe_pending_count(const mrt_probe_pending *p) {
  size_t n = 0;
  for (size_t i = 0; p != NULL && i < MRT_PROBE_PENDING_MAX; i++)
    n += p->slot[i].live;
  return n;
}

bool mrt_probe_seen_insert(mrt_probe_seen *s, const mrt_probe_txid *txid) {
  if (s == NULL || txid == NULL)
    return false;
  for (uint32_t i = 0; i < s->n; i++)
    if (mrt_probe_txid_equal(&s->ids[i], txid))
      return false;
  s->ids[s->next] = *txid;
  s->next = (s->next + 1) % MRT_PROBE_SEEN_MAX;
  if (s->n < MRT_PROBE_SEEN_MAX)
    s->n++;
  return true;
}
