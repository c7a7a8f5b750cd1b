/* SPDX-License-Identifier: MIT */
/* meshrt — STUN (RFC 5389) Binding codec.
 *
 * Encodes and decodes the only STUN exchange meshrt needs: a Binding request
 * and its success or error response. DirectManager uses it to learn its
 * reflexive (server-seen) address, DerpLatencyMeasurer to time DERP STUN
 * servers, and the STUN responder to answer peers.
 *
 * The codec is pure: no allocation, no I/O, no global state, no randomness.
 * Every function is reentrant and may be called from any thread. Callers own
 * every buffer they pass in; nothing is retained after a call returns.
 * Transaction ids are chosen by the caller (use randombytes_buf()).
 *
 * Errors are negative errnos, never aborts, whatever the input bytes:
 *   -EINVAL   a NULL pointer or an argument the codec cannot encode;
 *   -ENOSPC   the output buffer is too small (nothing useful was written);
 *   -EBADMSG  the datagram is not a well-formed STUN message, or its
 *             FINGERPRINT does not verify;
 *   -ENOTSUP  a well-formed STUN message this call does not handle: another
 *             method or class, or one carrying an attribute the receiver is
 *             required to understand but this codec does not (RFC 5389
 *             §7.3: such a request deserves a 420, such a response fails).
 */
#ifndef MESHRT_STUN_H
#define MESHRT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <meshrt/export.h>

#define MRT_STUN_MAGIC_COOKIE 0x2112A442u
#define MRT_STUN_FINGERPRINT_XOR 0x5354554eu
#define MRT_STUN_HEADER_LEN 20
#define MRT_STUN_TXID_LEN 12

/* Message types (method and class already interleaved). */
#define MRT_STUN_BINDING_REQUEST 0x0001
#define MRT_STUN_BINDING_SUCCESS 0x0101
#define MRT_STUN_BINDING_ERROR 0x0111

/* Attribute types. 0x0000-0x7FFF must be understood by the receiver;
 * 0x8000-0xFFFF may be skipped when unknown. */
#define MRT_STUN_ATTR_MAPPED_ADDRESS 0x0001
#define MRT_STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define MRT_STUN_ATTR_ERROR_CODE 0x0009
/* RFC 3489 attributes. RFC 5389 §18.2 keeps USERNAME and UNKNOWN-ATTRIBUTES
 * and reserves the others ("was RESPONSE-ADDRESS", ...), but classic servers
 * still send SOURCE-ADDRESS and CHANGED-ADDRESS in every Binding response, so
 * the response parser understands (checks and skips) all of them. */
#define MRT_STUN_ATTR_RESPONSE_ADDRESS 0x0002
#define MRT_STUN_ATTR_CHANGE_REQUEST 0x0003
#define MRT_STUN_ATTR_SOURCE_ADDRESS 0x0004
#define MRT_STUN_ATTR_CHANGED_ADDRESS 0x0005
#define MRT_STUN_ATTR_USERNAME 0x0006
#define MRT_STUN_ATTR_PASSWORD 0x0007
#define MRT_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define MRT_STUN_ATTR_REFLECTED_FROM 0x000B
#define MRT_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define MRT_STUN_ATTR_SOFTWARE 0x8022
#define MRT_STUN_ATTR_FINGERPRINT 0x8028

/* The SOFTWARE value meshrt sends, and the longest one RFC 5389 allows. */
#define MRT_STUN_SOFTWARE "tailnode"
#define MRT_STUN_SOFTWARE_MAX_LEN 763

/* Bytes mrt_stun_build_binding_request() writes for a SOFTWARE value of
 * `swlen` bytes (0 = no SOFTWARE attribute): header, padded SOFTWARE,
 * FINGERPRINT. 40 for "tailnode". */
#define MRT_STUN_REQUEST_LEN(swlen)                                                                \
  (MRT_STUN_HEADER_LEN + ((swlen) ? 4 + (((size_t)(swlen) + 3) & ~(size_t)3) : 0) + 8)

/* The most bytes mrt_stun_build_binding_response() writes (an IPv6
 * mapped address): header, XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT. */
#define MRT_STUN_RESPONSE_MAX_LEN (MRT_STUN_HEADER_LEN + 24 + 12 + 8)

/* The most bytes mrt_stun_build_classic_response() writes: header,
 * MAPPED-, SOURCE- and CHANGED-ADDRESS, then XOR-MAPPED-ADDRESS, SOFTWARE
 * and FINGERPRINT, all IPv6. */
#define MRT_STUN_CLASSIC_RESPONSE_MAX_LEN (MRT_STUN_HEADER_LEN + 3 * 24 + 24 + 12 + 8)

/* USERNAME is under 513 bytes (RFC 5389 §15.3); PASSWORD gets the same cap. */
#define MRT_STUN_USERNAME_MAX_LEN 513

/* Why a parser refused a datagram: one value per rule, so a client can count
 * and log rejections by kind without echoing a byte of the datagram. */
typedef enum mrt_stun_reject {
  MRT_STUN_REJECT_NONE = 0,          /* parsed */
  MRT_STUN_REJECT_SHORT,             /* shorter than a STUN header */
  MRT_STUN_REJECT_NOT_STUN,          /* top two type bits set */
  MRT_STUN_REJECT_LENGTH,            /* header length not the datagram's, or not 4n */
  MRT_STUN_REJECT_COOKIE,            /* no magic cookie */
  MRT_STUN_REJECT_TRUNCATED,         /* an attribute (or its padding) runs past the end */
  MRT_STUN_REJECT_BAD_ADDRESS,       /* an address attribute with a bad length or family */
  MRT_STUN_REJECT_BAD_ERROR_CODE,    /* ERROR-CODE too short, too long or out of range */
  MRT_STUN_REJECT_BAD_LENGTH,        /* another known attribute with a length it cannot have */
  MRT_STUN_REJECT_AFTER_FINGERPRINT, /* an attribute after FINGERPRINT */
  MRT_STUN_REJECT_FINGERPRINT,       /* FINGERPRINT does not verify */
  MRT_STUN_REJECT_UNKNOWN_REQUIRED,  /* a comprehension-required attribute we do not know */
  MRT_STUN_REJECT_WRONG_TYPE,        /* another method or class than the call handles */
  MRT_STUN_REJECT_NO_ADDRESS,        /* a success response without a mapped address */
  MRT_STUN_REJECT_NO_ERROR_CODE,     /* an error response without ERROR-CODE */
} mrt_stun_reject;

/* A short fixed English description of `why` ("attribute runs past the end",
 * ...); "unknown" for values outside the enum. Never NULL. Any thread. */
MRT_API const char *mrt_stun_reject_name(mrt_stun_reject why);

/* A STUN transaction id: 96 opaque bits. A struct so it copies by value. */
typedef struct mrt_stun_txid {
  uint8_t bytes[MRT_STUN_TXID_LEN];
} mrt_stun_txid;

/* What a Binding response says. */
typedef struct mrt_stun_response {
  mrt_stun_txid txid;
  /* false: a success response and `mapped` holds the reflexive address;
     * true: an error response and `error_code` holds its code. */
  bool is_error;
  /* 300..699 (class * 100 + number) for an error response, else 0. */
  int error_code;
  /* The address the server saw us at, taken from XOR-MAPPED-ADDRESS, or
     * from MAPPED-ADDRESS when the server sent only that (old servers).
     * ss_family is AF_INET or AF_INET6 on success, AF_UNSPEC otherwise;
     * mapped_len is the matching sizeof(struct sockaddr_in{,6}) or 0. */
  struct sockaddr_storage mapped;
  socklen_t mapped_len;
  /* On failure, why (MRT_STUN_REJECT_NONE on success), and for the
     * attribute rules the offending attribute's type (else 0). */
  mrt_stun_reject reject;
  uint16_t reject_attr;
} mrt_stun_response;

/* True when two transaction ids are equal. Any thread. */
static inline bool mrt_stun_txid_equal(const mrt_stun_txid *a, const mrt_stun_txid *b) {
  return memcmp(a->bytes, b->bytes, MRT_STUN_TXID_LEN) == 0;
}

/* Cheap test used to tell STUN datagrams from other traffic sharing a
 * socket: a STUN header (top two type bits clear, magic cookie, length a
 * multiple of 4 that matches `len`). True does not mean well-formed: parse
 * before trusting anything. NULL `buf` gives false. Any thread. */
MRT_API bool mrt_stun_is_stun(const void *buf, size_t len);

/* Writes a Binding request into `buf` (capacity `cap`): the header with
 * `txid`, a SOFTWARE attribute holding `software` (NULL or "" for none;
 * normally MRT_STUN_SOFTWARE), and a FINGERPRINT as the last attribute.
 * Returns the number of bytes written (MRT_STUN_REQUEST_LEN(strlen)),
 * -EINVAL for NULL `buf`/`txid` or `software` longer than
 * MRT_STUN_SOFTWARE_MAX_LEN, -ENOSPC when `cap` is too small.
 * The caller owns `buf`. Any thread. */
MRT_API int mrt_stun_build_binding_request(void *buf, size_t cap, const mrt_stun_txid *txid,
                                           const char *software);

/* Parses the datagram `buf[0..len)` as a Binding response (success or
 * error class) and fills `*out`. Every length is checked; a FINGERPRINT, if
 * present, must be last and must verify; MESSAGE-INTEGRITY is skipped (meshrt
 * uses no STUN credentials) and, as RFC 5389 §15.4 requires, so is every
 * attribute after it but FINGERPRINT; unknown comprehension-optional
 * attributes are skipped. The RFC 3489 attributes above are understood:
 * their lengths (and the address ones' families) are checked, their values
 * ignored. A success response must carry a mapped address (XOR-MAPPED-ADDRESS,
 * else MAPPED-ADDRESS), an error response an ERROR-CODE. Returns 0, or
 * -EINVAL / -EBADMSG / -ENOTSUP (see above); on failure `*out` is zeroed
 * (family AF_UNSPEC) but for `reject` and `reject_attr`, which say why
 * (with a NULL `buf`: MRT_STUN_REJECT_SHORT). The caller still has to match
 * `out->txid` against its own transactions. Any thread. */
MRT_API int mrt_stun_parse_binding_response(const void *buf, size_t len, mrt_stun_response *out);

/* Parses the datagram `buf[0..len)` as a Binding request, for a responder,
 * with the same checks as mrt_stun_parse_binding_response(); FINGERPRINT is
 * optional. The RFC 3489 attributes count as unknown here: a request with
 * RESPONSE-ADDRESS or CHANGE-REQUEST asks for behaviour we do not have. Stores the transaction id in `*txid` and returns 0, or returns
 * -EINVAL / -EBADMSG / -ENOTSUP (leaving `*txid` untouched): answer only
 * on 0. Any thread. */
MRT_API int mrt_stun_parse_binding_request(const void *buf, size_t len, mrt_stun_txid *txid);

/* Writes a Binding success response into `buf` (capacity `cap`):
 * XOR-MAPPED-ADDRESS holding `mapped` (a struct sockaddr_in or
 * sockaddr_in6, per its sa_family), SOFTWARE MRT_STUN_SOFTWARE, and
 * FINGERPRINT last. Returns the number of bytes written (at most
 * MRT_STUN_RESPONSE_MAX_LEN), -EINVAL for NULL pointers or a family other
 * than AF_INET/AF_INET6, -ENOSPC when `cap` is too small. The caller owns
 * both buffers. Any thread. */
MRT_API int mrt_stun_build_binding_response(void *buf, size_t cap, const mrt_stun_txid *txid,
                                            const struct sockaddr *mapped);

/* Writes a Binding success response the way classic (RFC 3489-era) servers
 * still do, to test interoperability with them: MAPPED-ADDRESS `mapped`,
 * SOURCE-ADDRESS `source` (where the server answers from) and
 * CHANGED-ADDRESS `changed` (its alternate address), then, when `rfc5389`,
 * XOR-MAPPED-ADDRESS `mapped`, SOFTWARE MRT_STUN_SOFTWARE and FINGERPRINT as
 * servers that speak both versions send (without: what a pure RFC 3489
 * server sends). Returns the bytes written (at most
 * MRT_STUN_CLASSIC_RESPONSE_MAX_LEN), -EINVAL for NULL pointers or a family
 * other than AF_INET/AF_INET6, -ENOSPC when `cap` is too small (`buf` is then
 * untouched). Any thread. */
MRT_API int mrt_stun_build_classic_response(void *buf, size_t cap, const mrt_stun_txid *txid,
                                            const struct sockaddr *mapped,
                                            const struct sockaddr *source,
                                            const struct sockaddr *changed, bool rfc5389);

#endif
