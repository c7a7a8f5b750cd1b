/* SPDX-License-Identifier: MIT */
/* meshrt — STUN (RFC 5389) Binding codec.
 *
 * DirectManager learns its reflexive address, DerpLatencyMeasurer times DERP
 * servers and the responder answers peers, all with one exchange: a Binding
 * request and its response. This file encodes and decodes exactly that, and
 * treats every datagram as hostile: it arrives from the network on a socket
 * that also carries other protocols, so each length is checked before it is
 * used and every failure is a negative errno, never an abort or a read past
 * `len`, with the rule that failed (mrt_stun_reject) for the caller's
 * statistics. Many deployed servers still answer in the RFC 3489 manner, so
 * responses may carry that RFC's attributes; they are checked and skipped.
 *
 * Threading: the codec is pure. It keeps no state, allocates nothing and
 * touches only the buffers its caller passes, so every function is reentrant
 * and callable from any thread.
 */
#include <meshrt/stun.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

/* An attribute is a 4-byte type/length header and a value padded to 4. */
#define ATTR_HEADER_LEN 4
#define FINGERPRINT_ATTR_LEN (ATTR_HEADER_LEN + 4)
#define MESSAGE_INTEGRITY_LEN 20
/* ERROR-CODE: 4 bytes of class/number, then a reason phrase as long as a
 * SOFTWARE value may be. */
#define ERROR_CODE_MAX_LEN (4 + MRT_STUN_SOFTWARE_MAX_LEN)
#define ADDR_FAMILY_IPV4 0x01
#define ADDR_FAMILY_IPV6 0x02
#define ADDR_V4_LEN 8
#define ADDR_V6_LEN 20

/* What one pass over the attributes found. Values point into the message. */
struct attr_scan {
  bool response;             /* RFC 3489 attributes are understood */
  const uint8_t *xor_addr;   /* first XOR-MAPPED-ADDRESS, validated */
  const uint8_t *plain_addr; /* first MAPPED-ADDRESS, validated */
  const uint8_t *error_code; /* first ERROR-CODE, validated */
  bool seen_integrity;       /* later attributes are to be ignored */
  bool seen_fingerprint;     /* nothing may follow it */
  bool have_unknown;         /* an attribute we must understand but don't... */
  uint16_t unknown_required; /* ...and the first such type */
  uint16_t bad_attr;         /* the attribute a failed check was about */
};

static const char *const reject_names[] = {
    [MRT_STUN_REJECT_NONE] = "accepted",
    [MRT_STUN_REJECT_SHORT] = "shorter than a STUN header",
    [MRT_STUN_REJECT_NOT_STUN] = "not STUN (top type bits set)",
    [MRT_STUN_REJECT_LENGTH] = "header length does not match the datagram",
    [MRT_STUN_REJECT_COOKIE] = "no magic cookie",
    [MRT_STUN_REJECT_TRUNCATED] = "attribute runs past the end",
    [MRT_STUN_REJECT_BAD_ADDRESS] = "address attribute with a bad length or family",
    [MRT_STUN_REJECT_BAD_ERROR_CODE] = "malformed ERROR-CODE",
    [MRT_STUN_REJECT_BAD_LENGTH] = "attribute with an impossible length",
    [MRT_STUN_REJECT_AFTER_FINGERPRINT] = "attribute after FINGERPRINT",
    [MRT_STUN_REJECT_FINGERPRINT] = "FINGERPRINT does not verify",
    [MRT_STUN_REJECT_UNKNOWN_REQUIRED] = "unknown comprehension-required attribute",
    [MRT_STUN_REJECT_WRONG_TYPE] = "not a Binding message of the expected class",
    [MRT_STUN_REJECT_NO_ADDRESS] = "success response without a mapped address",
    [MRT_STUN_REJECT_NO_ERROR_CODE] = "error response without ERROR-CODE",
};

const char *mrt_stun_reject_name(mrt_stun_reject why) {
  size_t i = (size_t)why;
  return i < sizeof(reject_names) / sizeof(reject_names[0]) && reject_names[i] ? reject_names[i]
                                                                               : "unknown";
}

/* The errno a verdict is reported as: the message was STUN and well-formed
 * but not for us (-ENOTSUP), or it was not (-EBADMSG). */
static int reject_errno(mrt_stun_reject why) {
  return why == MRT_STUN_REJECT_UNKNOWN_REQUIRED || why == MRT_STUN_REJECT_WRONG_TYPE ? -ENOTSUP
                                                                                      : -EBADMSG;
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

static size_t pad4(size_t n) {
  return (n + 3) & ~(size_t)3;
}

/* RFC 5389 §15.5: CRC-32 of everything before the FINGERPRINT attribute,
 * xor'ed with a constant so that it never equals the CRC another protocol
 * sharing the port might append. */
static uint32_t fingerprint(const uint8_t *msg, size_t len) {
  return (uint32_t)crc32(0L, msg, (uInt)len) ^ MRT_STUN_FINGERPRINT_XOR;
}

/* Checks the fixed header and returns the message type through `type`.
 * Insisting that the length field matches the datagram exactly (rather
 * than just fits) is what lets the attribute walk trust `len`. */
static mrt_stun_reject check_header(const uint8_t *msg, size_t len, uint16_t *type) {
  if (len < MRT_STUN_HEADER_LEN)
    return MRT_STUN_REJECT_SHORT;
  /* The two top bits distinguish STUN from other protocols on the port. */
  if (msg[0] & 0xC0)
    return MRT_STUN_REJECT_NOT_STUN;
  size_t body = get16(msg + 2);
  if (body % 4 != 0 || body != len - MRT_STUN_HEADER_LEN)
    return MRT_STUN_REJECT_LENGTH;
  /* Our requests carry the cookie, and a classic RFC 3489 server echoes
     * it as the first 4 bytes of its 128-bit transaction id, so an answer
     * to us always has it; anything without it is not one. */
  if (get32(msg + 4) != MRT_STUN_MAGIC_COOKIE)
    return MRT_STUN_REJECT_COOKIE;
  *type = get16(msg);
  return MRT_STUN_REJECT_NONE;
}

/* An address value is reserved(1) family(1) port(2) address(4 or 16); the
 * length must match the family exactly. Valid for both address types since
 * XOR only changes the bits, not the layout. */
static bool address_ok(const uint8_t *val, size_t vlen) {
  if (vlen == ADDR_V4_LEN)
    return val[1] == ADDR_FAMILY_IPV4;
  if (vlen == ADDR_V6_LEN)
    return val[1] == ADDR_FAMILY_IPV6;
  return false;
}

/* ERROR-CODE: 21 reserved bits (ignored, as §15.6 asks), class 3..6 in
 * three bits, number 0..99, then the reason phrase. */
static bool error_code_ok(const uint8_t *val, size_t vlen) {
  if (vlen < 4 || vlen > ERROR_CODE_MAX_LEN)
    return false;
  int cls = val[2] & 0x07;
  return cls >= 3 && cls <= 6 && val[3] <= 99;
}

/* Records the first valid occurrence of an address or error attribute;
 * RFC 5389 §15 has receivers process only the first of each type, but an
 * invalid first occurrence still condemns the message. */
static mrt_stun_reject take_first(const uint8_t **slot, const uint8_t *val, bool ok,
                                  mrt_stun_reject bad) {
  if (!ok)
    return bad;
  if (!*slot)
    *slot = val;
  return MRT_STUN_REJECT_NONE;
}

static mrt_stun_reject length_ok(bool ok) {
  return ok ? MRT_STUN_REJECT_NONE : MRT_STUN_REJECT_BAD_LENGTH;
}

/* The RFC 3489 attributes a classic server may put in a Binding response.
 * None changes what we take from the response: the address ones name the
 * server's own or alternate addresses (not ours), the rest belong to
 * requests or to the Shared Secret exchange. They are still held to their
 * RFC 3489 shapes, so a malformed one condemns the message like any other.
 * Returns -1 for a type that is not one of them. */
static int take_classic(uint16_t type, const uint8_t *val, size_t vlen) {
  switch (type) {
  case MRT_STUN_ATTR_RESPONSE_ADDRESS:
  case MRT_STUN_ATTR_SOURCE_ADDRESS:
  case MRT_STUN_ATTR_CHANGED_ADDRESS:
  case MRT_STUN_ATTR_REFLECTED_FROM:
    return address_ok(val, vlen) ? MRT_STUN_REJECT_NONE : MRT_STUN_REJECT_BAD_ADDRESS;
  case MRT_STUN_ATTR_CHANGE_REQUEST: /* 32 bits of flags */ return length_ok(vlen == 4);
  case MRT_STUN_ATTR_USERNAME:
  case MRT_STUN_ATTR_PASSWORD: return length_ok(vlen <= MRT_STUN_USERNAME_MAX_LEN);
  case MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES: /* a list of 16-bit types */
    return length_ok(vlen % 2 == 0);
  default: return -1;
  }
}

/* Judges one attribute whose bounds the caller already checked. Attributes
 * that this codec understands have fixed or capped lengths; anything else is
 * a hard error, so oversized values never reach the decoders. */
static mrt_stun_reject take_attr(struct attr_scan *s, uint16_t type, const uint8_t *val,
                                 size_t vlen) {
  /* §15.4: after MESSAGE-INTEGRITY only FINGERPRINT counts. */
  if (s->seen_integrity && type != MRT_STUN_ATTR_FINGERPRINT)
    return MRT_STUN_REJECT_NONE;
  switch (type) {
  case MRT_STUN_ATTR_XOR_MAPPED_ADDRESS:
    return take_first(&s->xor_addr, val, address_ok(val, vlen), MRT_STUN_REJECT_BAD_ADDRESS);
  case MRT_STUN_ATTR_MAPPED_ADDRESS:
    return take_first(&s->plain_addr, val, address_ok(val, vlen), MRT_STUN_REJECT_BAD_ADDRESS);
  case MRT_STUN_ATTR_ERROR_CODE:
    return take_first(&s->error_code, val, error_code_ok(val, vlen),
                      MRT_STUN_REJECT_BAD_ERROR_CODE);
  case MRT_STUN_ATTR_SOFTWARE: return length_ok(vlen <= MRT_STUN_SOFTWARE_MAX_LEN);
  case MRT_STUN_ATTR_MESSAGE_INTEGRITY:
    /* We hold no STUN credentials, so there is nothing to verify it
         * against; it is understood (its length is checked) and skipped. */
    s->seen_integrity = true;
    return length_ok(vlen == MESSAGE_INTEGRITY_LEN);
  case MRT_STUN_ATTR_FINGERPRINT: s->seen_fingerprint = true; return length_ok(vlen == 4);
  default: break;
  }
  if (s->response) {
    int rc = take_classic(type, val, vlen);
    if (rc >= 0)
      return (mrt_stun_reject)rc;
  }
  if (type < 0x8000 && !s->have_unknown) {
    s->have_unknown = true;
    s->unknown_required = type;
  }
  return MRT_STUN_REJECT_NONE;
}

/* Walks the attributes of a message whose header check_header() accepted,
 * then verifies the FINGERPRINT if there was one. s->response must be set;
 * the rest of *s is reset here. */
static mrt_stun_reject scan_attrs(const uint8_t *msg, size_t len, struct attr_scan *s) {
  size_t off = MRT_STUN_HEADER_LEN;
  bool response = s->response;

  memset(s, 0, sizeof(*s));
  s->response = response;
  while (off < len) {
    if (len - off < ATTR_HEADER_LEN)
      return MRT_STUN_REJECT_TRUNCATED;
    uint16_t type = get16(msg + off);
    size_t vlen = get16(msg + off + 2);
    s->bad_attr = type;
    /* FINGERPRINT covers everything before it; only last is it
         * meaningful, so anything after it makes the message malformed. */
    if (s->seen_fingerprint)
      return MRT_STUN_REJECT_AFTER_FINGERPRINT;
    /* The padding belongs to the attribute; it must fit too. */
    if (pad4(vlen) > len - off - ATTR_HEADER_LEN)
      return MRT_STUN_REJECT_TRUNCATED;
    mrt_stun_reject rc = take_attr(s, type, msg + off + ATTR_HEADER_LEN, vlen);
    if (rc != MRT_STUN_REJECT_NONE)
      return rc;
    off += ATTR_HEADER_LEN + pad4(vlen);
  }
  s->bad_attr = MRT_STUN_ATTR_FINGERPRINT;
  if (s->seen_fingerprint) {
    /* It is last, so the header length already counts it, exactly as
         * the sender's did when it computed the CRC. */
    size_t covered = len - FINGERPRINT_ATTR_LEN;
    if (get32(msg + len - 4) != fingerprint(msg, covered))
      return MRT_STUN_REJECT_FINGERPRINT;
  }
  s->bad_attr = 0;
  return MRT_STUN_REJECT_NONE;
}

/* Decodes a validated address value into `ss`. For XOR-MAPPED-ADDRESS the
 * mask is the cookie followed by the transaction id, which is exactly header
 * bytes 4..19: the port uses its first 2 bytes, IPv4 its first 4, IPv6 all
 * 16. The port is in network order either way, so it is copied, not
 * converted. */
static socklen_t decode_address(const uint8_t *msg, const uint8_t *val, bool xored,
                                struct sockaddr_storage *ss) {
  const uint8_t *mask = msg + 4;
  uint8_t port[2], addr[16];
  size_t alen = val[1] == ADDR_FAMILY_IPV4 ? 4 : 16;

  for (size_t i = 0; i < 2; i++)
    port[i] = (uint8_t)(val[2 + i] ^ (xored ? mask[i] : 0));
  for (size_t i = 0; i < alen; i++)
    addr[i] = (uint8_t)(val[4 + i] ^ (xored ? mask[i] : 0));

  memset(ss, 0, sizeof(*ss));
  if (alen == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_port, port, 2);
    memcpy(&sin->sin_addr, addr, 4);
    return sizeof(*sin);
  }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  sin6->sin6_family = AF_INET6;
  memcpy(&sin6->sin6_port, port, 2);
  memcpy(&sin6->sin6_addr, addr, 16);
  return sizeof(*sin6);
}

/* Header and attribute checks shared by both parsers; returns the type. */
static mrt_stun_reject parse_message(const uint8_t *msg, size_t len, uint16_t *type,
                                     struct attr_scan *s) {
  mrt_stun_reject rc = check_header(msg, len, type);
  if (rc != MRT_STUN_REJECT_NONE)
    return rc;
  rc = scan_attrs(msg, len, s);
  if (rc != MRT_STUN_REJECT_NONE)
    return rc;
  /* §7.3: a request with such an attribute earns a 420 and a response
     * with one fails the transaction; either way we cannot use it. */
  if (s->have_unknown) {
    s->bad_attr = s->unknown_required;
    return MRT_STUN_REJECT_UNKNOWN_REQUIRED;
  }
  return MRT_STUN_REJECT_NONE;
}

/* Checks a response and fills `out` (zeroed by the caller). */
static mrt_stun_reject parse_response(const uint8_t *msg, size_t len, mrt_stun_response *out,
                                      struct attr_scan *s) {
  uint16_t type;

  s->response = true;
  mrt_stun_reject rc = parse_message(msg, len, &type, s);
  if (rc != MRT_STUN_REJECT_NONE)
    return rc;
  if (type != MRT_STUN_BINDING_SUCCESS && type != MRT_STUN_BINDING_ERROR)
    return MRT_STUN_REJECT_WRONG_TYPE;

  if (type == MRT_STUN_BINDING_ERROR) {
    /* §7.3.4: an error response without ERROR-CODE is unusable. */
    if (!s->error_code)
      return MRT_STUN_REJECT_NO_ERROR_CODE;
    out->is_error = true;
    out->error_code = (s->error_code[2] & 0x07) * 100 + s->error_code[3];
  } else if (s->xor_addr) {
    out->mapped_len = decode_address(msg, s->xor_addr, true, &out->mapped);
  } else if (s->plain_addr) {
    /* Classic servers send only this; the NAT may have rewritten it,
         * but it is all they say. */
    out->mapped_len = decode_address(msg, s->plain_addr, false, &out->mapped);
  } else {
    /* A success response that does not say where it saw us is useless
         * to every caller, and RFC 5389 §10.1.2 obliges servers to send it. */
    return MRT_STUN_REJECT_NO_ADDRESS;
  }
  memcpy(out->txid.bytes, msg + 8, MRT_STUN_TXID_LEN);
  return MRT_STUN_REJECT_NONE;
}

int mrt_stun_parse_binding_response(const void *buf, size_t len, mrt_stun_response *out) {
  struct attr_scan s;

  if (!out)
    return -EINVAL;
  memset(out, 0, sizeof(*out));
  if (!buf) {
    out->reject = MRT_STUN_REJECT_SHORT;
    return -EINVAL;
  }
  memset(&s, 0, sizeof(s));
  mrt_stun_reject rc = parse_response(buf, len, out, &s);
  if (rc == MRT_STUN_REJECT_NONE)
    return 0;
  memset(out, 0, sizeof(*out));
  out->reject = rc;
  out->reject_attr =
      rc >= MRT_STUN_REJECT_TRUNCATED && rc <= MRT_STUN_REJECT_UNKNOWN_REQUIRED ? s.bad_attr : 0;
  return reject_errno(rc);
}

int mrt_stun_parse_binding_request(const void *buf, size_t len, mrt_stun_txid *txid) {
  const uint8_t *msg = buf;
  struct attr_scan s;
  uint16_t type;

  if (!buf || !txid)
    return -EINVAL;
  memset(&s, 0, sizeof(s)); /* s.response false: a request */
  mrt_stun_reject rc = parse_message(msg, len, &type, &s);
  if (rc != MRT_STUN_REJECT_NONE)
    return reject_errno(rc);
  if (type != MRT_STUN_BINDING_REQUEST)
    return -ENOTSUP;
  memcpy(txid->bytes, msg + 8, MRT_STUN_TXID_LEN);
  return 0;
}

bool mrt_stun_is_stun(const void *buf, size_t len) {
  uint16_t type;

  return buf && check_header(buf, len, &type) == MRT_STUN_REJECT_NONE;
}

/* Writes a header with a zero length; finish() fills the length in. */
static size_t put_header(uint8_t *msg, uint16_t type, const mrt_stun_txid *txid) {
  put16(msg, type);
  put16(msg + 2, 0);
  put32(msg + 4, MRT_STUN_MAGIC_COOKIE);
  memcpy(msg + 8, txid->bytes, MRT_STUN_TXID_LEN);
  return MRT_STUN_HEADER_LEN;
}

/* Writes one attribute at `p` with zeroed padding (the RFC lets padding be
 * anything, but zeros keep our output deterministic); returns its size. */
static size_t put_attr(uint8_t *p, uint16_t type, const void *val, size_t vlen) {
  size_t padded = pad4(vlen);

  put16(p, type);
  put16(p + 2, (uint16_t)vlen);
  if (vlen)
    memcpy(p + ATTR_HEADER_LEN, val, vlen);
  memset(p + ATTR_HEADER_LEN + vlen, 0, padded - vlen);
  return ATTR_HEADER_LEN + padded;
}

/* Appends FINGERPRINT to the `len`-byte message. The length field must
 * already count the FINGERPRINT attribute when the CRC is taken (§15.5),
 * so it is set first. Returns the final message length. */
static size_t finish(uint8_t *msg, size_t len) {
  uint8_t crc[4];

  put16(msg + 2, (uint16_t)(len + FINGERPRINT_ATTR_LEN - MRT_STUN_HEADER_LEN));
  put32(crc, fingerprint(msg, len));
  return len + put_attr(msg + len, MRT_STUN_ATTR_FINGERPRINT, crc, sizeof(crc));
}

int mrt_stun_build_binding_request(void *buf, size_t cap, const mrt_stun_txid *txid,
                                   const char *software) {
  size_t swlen = software ? strnlen(software, MRT_STUN_SOFTWARE_MAX_LEN + 1) : 0;

  if (!buf || !txid || swlen > MRT_STUN_SOFTWARE_MAX_LEN)
    return -EINVAL;
  if (cap < MRT_STUN_REQUEST_LEN(swlen))
    return -ENOSPC;

  uint8_t *msg = buf;
  size_t len = put_header(msg, MRT_STUN_BINDING_REQUEST, txid);
  if (swlen)
    len += put_attr(msg + len, MRT_STUN_ATTR_SOFTWARE, software, swlen);
  return (int)finish(msg, len);
}

/* Encodes `sa` as an address value into `val` (20 bytes of room): XOR'ed
 * with the mask from the already written header for XOR-MAPPED-ADDRESS, or
 * plain; returns the value length, or 0 for a family STUN cannot carry. */
static size_t encode_address(const uint8_t *msg, const struct sockaddr *sa, uint8_t *val,
                             bool xored) {
  static const uint8_t no_mask[16];
  const uint8_t *mask = xored ? msg + 4 : no_mask;
  const uint8_t *port, *addr;
  size_t alen;

  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
    port = (const uint8_t *)&sin->sin_port;
    addr = (const uint8_t *)&sin->sin_addr;
    alen = 4;
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
    port = (const uint8_t *)&sin6->sin6_port;
    addr = (const uint8_t *)&sin6->sin6_addr;
    alen = 16;
  } else {
    return 0;
  }
  val[0] = 0;
  val[1] = alen == 4 ? ADDR_FAMILY_IPV4 : ADDR_FAMILY_IPV6;
  for (size_t i = 0; i < 2; i++)
    val[2 + i] = (uint8_t)(port[i] ^ mask[i]);
  for (size_t i = 0; i < alen; i++)
    val[4 + i] = (uint8_t)(addr[i] ^ mask[i]);
  return 4 + alen;
}

int mrt_stun_build_binding_response(void *buf, size_t cap, const mrt_stun_txid *txid,
                                    const struct sockaddr *mapped) {
  static const char software[] = MRT_STUN_SOFTWARE;
  uint8_t hdr[MRT_STUN_HEADER_LEN], val[ADDR_V6_LEN];

  if (!buf || !txid || !mapped)
    return -EINVAL;
  /* The XOR mask comes from the header, so build it aside first: `buf`
     * must stay untouched when the answer is -EINVAL or -ENOSPC. */
  put_header(hdr, MRT_STUN_BINDING_SUCCESS, txid);
  size_t vlen = encode_address(hdr, mapped, val, true);
  if (vlen == 0)
    return -EINVAL;
  size_t need = MRT_STUN_HEADER_LEN + ATTR_HEADER_LEN + vlen + ATTR_HEADER_LEN +
                pad4(sizeof(software) - 1) + FINGERPRINT_ATTR_LEN;
  if (cap < need)
    return -ENOSPC;

  uint8_t *msg = buf;
  memcpy(msg, hdr, sizeof(hdr));
  size_t len = sizeof(hdr);
  len += put_attr(msg + len, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS, val, vlen);
  len += put_attr(msg + len, MRT_STUN_ATTR_SOFTWARE, software, sizeof(software) - 1);
  return (int)finish(msg, len);
}

int mrt_stun_build_classic_response(void *buf, size_t cap, const mrt_stun_txid *txid,
                                    const struct sockaddr *mapped, const struct sockaddr *source,
                                    const struct sockaddr *changed, bool rfc5389) {
  static const char software[] = MRT_STUN_SOFTWARE;
  static const uint16_t types[] = {MRT_STUN_ATTR_MAPPED_ADDRESS, MRT_STUN_ATTR_SOURCE_ADDRESS,
                                   MRT_STUN_ATTR_CHANGED_ADDRESS, MRT_STUN_ATTR_XOR_MAPPED_ADDRESS};
  uint8_t hdr[MRT_STUN_HEADER_LEN], val[4][ADDR_V6_LEN];
  size_t vlen[4], need = MRT_STUN_HEADER_LEN, n_addr = rfc5389 ? 4 : 3;

  if (!buf || !txid || !mapped || !source || !changed)
    return -EINVAL;
  /* As in mrt_stun_build_binding_response: measure aside, then write. */
  put_header(hdr, MRT_STUN_BINDING_SUCCESS, txid);
  const struct sockaddr *addrs[4] = {mapped, source, changed, mapped};
  for (size_t i = 0; i < n_addr; i++) {
    vlen[i] = encode_address(hdr, addrs[i], val[i], i == 3);
    if (vlen[i] == 0)
      return -EINVAL;
    need += ATTR_HEADER_LEN + vlen[i];
  }
  if (rfc5389)
    need += ATTR_HEADER_LEN + pad4(sizeof(software) - 1) + FINGERPRINT_ATTR_LEN;
  if (cap < need)
    return -ENOSPC;

  uint8_t *msg = buf;
  memcpy(msg, hdr, sizeof(hdr));
  size_t len = sizeof(hdr);
  for (size_t i = 0; i < n_addr; i++)
    len += put_attr(msg + len, types[i], val[i], vlen[i]);
  if (!rfc5389) {
    /* RFC 3489 has no FINGERPRINT: just the length. */
    put16(msg + 2, (uint16_t)(len - MRT_STUN_HEADER_LEN));
    return (int)len;
  }
  len += put_attr(msg + len, MRT_STUN_ATTR_SOFTWARE, software, sizeof(software) - 1);
  return (int)finish(msg, len);
}
