/* SPDX-License-Identifier: MIT */
/* meshrt — the path probe protocol: authenticated ping/pong datagrams.
 *
 * DirectManager confirms a direct UDP path to a peer by sending it a ping and
 * receiving the peer's pong. Both are sealed with libsodium public-key boxes
 * (crypto_box: X25519 + XSalsa20-Poly1305), so only the holder of the peer's
 * secret key can produce a pong we accept, and nobody on the path can read
 * or alter the transaction id it answers.
 *
 * Wire format (all datagrams):
 *
 *   0   4  magic "MRTP" (never a STUN header: STUN's top two bits are 0)
 *   4   1  version (1)
 *   5  32  sender's public probe key
 *  37  24  nonce (random)
 *  61  ..  crypto_box_easy(plaintext): 16-byte MAC, then
 *            ping: kind (1) | txid (12)
 *            pong: kind (2) | txid (12) | observed source of the ping:
 *                  16-byte IPv6 (IPv4 as ::ffff:a.b.c.d) | port (2, big endian)
 *            endpoints: kind (3) | format (1) | epoch (8) | seq (8) |
 *                  count (1, at most 16) | count x (16-byte IPv6 | port (2))
 *
 * A ping is MRT_PROBE_PING_LEN (90) bytes, a pong MRT_PROBE_PONG_LEN (108).
 * An endpoint update ("call me maybe": the sender's current endpoints, so a
 * peer that only knew an old address can reach it again) is 96 + 18 x count
 * bytes in format 1; integers are big endian. Its (epoch, seq) pair grows
 * with every update a sender seals: epoch is the sender's wall clock in
 * nanoseconds when its DirectManager started, seq counts up from 1 within
 * that epoch, so a receiver that keeps the highest pair per peer refuses any
 * replay, including one of a message from before the sender restarted.
 * Versioning: a receiver reads the format-1 fields of any format >= 1 and
 * ignores bytes after them, so a later format may only append; nodes that
 * predate updates reject the unfamiliar length as malformed and carry on.
 * Frames longer than MRT_PROBE_MAX_FRAME are never accepted.
 *
 * Besides the codec this header offers the two small tables the protocol
 * needs against replays: mrt_probe_pending (our outstanding pings; a pong is
 * accepted once, for a live transaction) and mrt_probe_seen (ping ids a peer
 * recently sent us; a repeated one is not answered again).
 *
 * Threading: everything here is reentrant. Sessions, pending tables and seen
 * rings are plain caller-owned structs with no internal locking: use one from
 * one thread (an actor) at a time. The key functions may be called from any
 * thread. Errors are negative errnos, never aborts, whatever the input bytes:
 *   -EINVAL   a NULL pointer or an unusable argument (e.g. a weak key);
 *   -ENOSPC   the output buffer is too small;
 *   -EBADMSG  not a probe datagram, or a truncated / wrongly sized one;
 *   -EACCES   a well-formed datagram that does not authenticate: another
 *             sender key than the session's peer, or a MAC that fails.
 */
#ifndef MESHRT_PROBE_H
#define MESHRT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MRT_PROBE_KEY_LEN 32    /* crypto_box_PUBLICKEYBYTES */
#define MRT_PROBE_SECRET_LEN 32 /* crypto_box_SECRETKEYBYTES */
#define MRT_PROBE_TXID_LEN 12
#define MRT_PROBE_HEADER_LEN 61
#define MRT_PROBE_PING_LEN 90
#define MRT_PROBE_PONG_LEN 108
#define MRT_PROBE_MAX_ENDPOINTS 16
#define MRT_PROBE_ENDPOINTS_LEN(n) (96 + 18 * (n)) /* format 1 */
/* The longest datagram this build seals. */
#define MRT_PROBE_MAX_LEN MRT_PROBE_ENDPOINTS_LEN(MRT_PROBE_MAX_ENDPOINTS)
/* The longest datagram it opens (later formats may append fields). */
#define MRT_PROBE_MAX_FRAME 1024

/* A node's probe key pair. The secret never leaves the node. */
typedef struct mrt_probe_keypair {
  uint8_t pub[MRT_PROBE_KEY_LEN];
  uint8_t sec[MRT_PROBE_SECRET_LEN];
} mrt_probe_keypair;

/* A transaction id: 96 random bits chosen by the pinger. */
typedef struct mrt_probe_txid {
  uint8_t bytes[MRT_PROBE_TXID_LEN];
} mrt_probe_txid;

static inline bool mrt_probe_txid_equal(const mrt_probe_txid *a, const mrt_probe_txid *b) {
  return memcmp(a->bytes, b->bytes, MRT_PROBE_TXID_LEN) == 0;
}

/* The X25519 shared key between our key pair and one peer's public key,
 * computed once (crypto_box_beforenm) so that each datagram costs only the
 * symmetric cipher. Fields belong to probe.c; the struct is public so it can
 * live inside a caller's own state. */
typedef struct mrt_probe_session {
  uint8_t self_pub[MRT_PROBE_KEY_LEN];
  uint8_t peer_pub[MRT_PROBE_KEY_LEN];
  uint8_t shared[32]; /* crypto_box_BEFORENMBYTES */
} mrt_probe_session;

typedef enum mrt_probe_kind {
  MRT_PROBE_PING = 1,
  MRT_PROBE_PONG = 2,
  MRT_PROBE_ENDPOINTS = 3,
} mrt_probe_kind;

/* A decoded (or to-be-encoded) probe. */
typedef struct mrt_probe_msg {
  mrt_probe_kind kind;
  mrt_probe_txid txid;
  /* Pong only: where the pong's sender saw the ping come from (AF_INET or
   * AF_INET6, with port). Ignored for pings. */
  struct sockaddr_storage observed;
  /* Endpoint update only: its place in the sender's sequence (epoch, then
   * seq, both compared as unsigned) and the sender's endpoints (AF_INET or
   * AF_INET6 with port). */
  uint64_t epoch, seq;
  uint8_t n_endpoints;
  struct sockaddr_storage endpoints[MRT_PROBE_MAX_ENDPOINTS];
} mrt_probe_msg;

/* Fills *out with a fresh random key pair. Returns 0 or -EINVAL (NULL), or
 * -EIO if libsodium cannot initialise (its RNG cannot be opened). Any thread. */
MRT_API int mrt_probe_keypair_generate(mrt_probe_keypair *out);

/* Derives the public key of `secret` into *out (for keys loaded from a file).
 * Returns 0, -EINVAL. Any thread. */
MRT_API int mrt_probe_keypair_from_secret(const uint8_t secret[MRT_PROBE_SECRET_LEN],
                                          mrt_probe_keypair *out);

/* Prepares a session between `self` and the peer whose public key is
 * `peer_pub`. Returns 0, or -EINVAL for NULL or a key libsodium rejects (a
 * low-order point). The session holds a copy of the shared secret: wipe it
 * with mrt_probe_session_wipe() when done. */
MRT_API int mrt_probe_session_init(mrt_probe_session *s, const mrt_probe_keypair *self,
                                   const uint8_t peer_pub[MRT_PROBE_KEY_LEN]);
/* Zeroes the session (its shared secret included) in a way the compiler
 * cannot skip; the storage stays the caller's. NULL-safe. */
MRT_API void mrt_probe_session_wipe(mrt_probe_session *s);

/* Fills *out (caller's storage) with a random transaction id (libsodium's
 * RNG). Returns 0, -EINVAL for NULL, -EIO if libsodium cannot initialise (its
 * RNG cannot be opened); *out is then unchanged and must not be sent. Any
 * thread. */
MRT_API int mrt_probe_txid_random(mrt_probe_txid *out);

/* Cheap test used to tell probes from STUN and other traffic sharing the
 * socket: the magic and version. True does not mean authentic. False for a
 * NULL buf. */
MRT_API bool mrt_probe_is_probe(const void *buf, size_t len);

/* Copies the sender key of a probe datagram to `key` (to find the session to
 * open it with). Returns 0 or -EINVAL / -EBADMSG. */
MRT_API int mrt_probe_sender_key(const void *buf, size_t len, uint8_t key[MRT_PROBE_KEY_LEN]);

/* Seals `m` from the session's own key to its peer into buf (capacity cap),
 * with a fresh random nonce. Returns the datagram length (MRT_PROBE_PING_LEN,
 * MRT_PROBE_PONG_LEN or MRT_PROBE_ENDPOINTS_LEN(n)), -EINVAL (NULL, bad
 * kind, pong without an AF_INET/AF_INET6 observed address, an update with
 * more than MRT_PROBE_MAX_ENDPOINTS or a non-IP endpoint) or -ENOSPC. */
MRT_API int mrt_probe_seal(const mrt_probe_session *s, const mrt_probe_msg *m, void *buf,
                           size_t cap);

/* Opens a datagram that the session's peer sent to us: checks the framing,
 * that the sender key is the peer's, and the MAC. Returns 0 with *out filled
 * (a pong's observed address as AF_INET when it was IPv4), or -EINVAL,
 * -EBADMSG, -EACCES (see above); *out is zeroed on failure. */
MRT_API int mrt_probe_open(const mrt_probe_session *s, const void *buf, size_t len,
                           mrt_probe_msg *out);

/* ---- outstanding pings ---------------------------------------------------
 * Our pings that still await a pong, and the ids of those recently answered
 * (so that a replayed pong is told apart from an unknown one). When full, add
 * evicts the oldest outstanding ping. */
#define MRT_PROBE_PENDING_MAX 64
#define MRT_PROBE_ANSWERED_MAX 16

typedef struct mrt_probe_pending {
  struct {
    mrt_probe_txid txid;
    uint64_t sent_ns;
    uint32_t tag; /* the caller's: which candidate the ping went to */
    bool live;
  } slot[MRT_PROBE_PENDING_MAX];
  mrt_probe_txid answered[MRT_PROBE_ANSWERED_MAX];
  uint32_t answered_next;
  uint32_t answered_n;
} mrt_probe_pending;

/* Empties the table (also forgetting answered ids); a zero-filled table is
 * empty too. NULL-safe. */
MRT_API void mrt_probe_pending_clear(mrt_probe_pending *p);

/* Records a ping sent at now_ns. Returns 0, 1 if the oldest entry was
 * evicted to make room, or -EINVAL. */
MRT_API int mrt_probe_pending_add(mrt_probe_pending *p, const mrt_probe_txid *txid, uint64_t now_ns,
                                  uint32_t tag);

/* Takes the ping a pong with `txid` answers. Returns 0 with *sent_ns and *tag
 * (either may be NULL) when it is outstanding and younger than timeout_ns
 * (then it is removed and remembered as answered); -EALREADY if that id was
 * answered before (a replay); -ETIMEDOUT if it is outstanding but too old
 * (removed); -ENOENT if unknown; -EINVAL. */
MRT_API int mrt_probe_pending_take(mrt_probe_pending *p, const mrt_probe_txid *txid,
                                   uint64_t now_ns, uint64_t timeout_ns, uint64_t *sent_ns,
                                   uint32_t *tag);

/* Drops outstanding pings older than timeout_ns; returns how many (0 for
 * NULL). */
MRT_API size_t mrt_probe_pending_expire(mrt_probe_pending *p, uint64_t now_ns, uint64_t timeout_ns);

/* Outstanding pings now (0 for NULL). */
MRT_API size_t mrt_probe_pending_count(const mrt_probe_pending *p);

/* ---- pings seen ------------------------------------------------------------
 * The last MRT_PROBE_SEEN_MAX ping ids a peer sent: a ping whose id is among
 * them is a replay and is not answered again. */
#define MRT_PROBE_SEEN_MAX 32

typedef struct mrt_probe_seen {
  mrt_probe_txid ids[MRT_PROBE_SEEN_MAX];
  uint32_t next;
  uint32_t n;
} mrt_probe_seen;

/* Returns true and remembers `txid` if it is new; false if it was seen (or
 * for NULL arguments). */
MRT_API bool mrt_probe_seen_insert(mrt_probe_seen *s, const mrt_probe_txid *txid);

#ifdef __cplusplus
}
#endif
#endif
