/* SPDX-License-Identifier: MIT */
/* meshrt — UDP sockets and socket addresses for the mesh actors (udp.c; not
 * installed): binding as well as the host allows (dual-stack, port
 * fallback, a second socket beside the first for a rebind that keeps the
 * port), batched receive, send, and address helpers. DirectManager and the
 * STUN responder both use them; neither reaches into the other's internals.
 *
 * Threading: the helpers keep no state; a socket is used by one actor.
 */
#ifndef MESHRT_UDP_H
#define MESHRT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct mmsghdr;

/* ---- addresses ------------------------------------------------------------ */

#define MRT__ADDR_STRLEN 64 /* "[v6%scope]:port" */

/* Rewrites an IPv4-mapped IPv6 address as AF_INET, in place. */
void mrt__addr_normalize(struct sockaddr_storage *ss);
/* Family, address and port equal (AF_INET / AF_INET6 only). */
bool mrt__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Total order: family, address bytes, port. */
int mrt__addr_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
uint16_t mrt__addr_port(const struct sockaddr_storage *ss);
void mrt__addr_set_port(struct sockaddr_storage *ss, uint16_t port);
socklen_t mrt__addr_len(const struct sockaddr_storage *ss);
/* "1.2.3.4:5" or "[::1]:5"; never fails (writes "?" for other families). */
const char *mrt__addr_str(const struct sockaddr_storage *ss, char buf[MRT__ADDR_STRLEN]);

/* ---- sockets -------------------------------------------------------------- */

typedef struct mrt__udp {
  int fd;          /* -1: none */
  int family;      /* of the socket */
  bool dual_stack; /* AF_INET6 with IPV6_V6ONLY off */
  struct sockaddr_storage local;
  uint16_t port;
} mrt__udp;

typedef struct mrt__bind_req {
  const struct sockaddr_storage *addr; /* AF_UNSPEC: wildcard */
  uint16_t port;                       /* preferred; 0 ephemeral */
  bool disable_ipv6;
  bool quiet_fallback; /* rebind: port fallback is expected */
  bool exact;          /* no ephemeral fallback */
  const char *who;     /* for logs */
} mrt__bind_req;

/* Opens and binds a non-blocking UDP socket per `req`: wildcard tries [::]
 * dual-stack first (unless disabled), then 0.0.0.0; a taken port falls back
 * to an ephemeral one (a warning unless quiet). Returns 0 with *out filled,
 * or the last negative errno (then out->fd is -1). */
int mrt__udp_open(const mrt__bind_req *req, mrt__udp *out);
/* Exactly req->port, no fallback and no family fallback beyond what
 * mrt__udp_open does for the wildcard. Returns 0 or a negative errno. */
int mrt__udp_open_exact(const mrt__bind_req *req, mrt__udp *out);
/* A second socket on `old`'s own address and port while `old` stays open
 * (SO_REUSEPORT for the overlap; from now on the kernel steers every new
 * datagram to the new socket). Returns 0 or a negative errno (then `old` is
 * as it was). After the swap, drain and close `old`, then call
 * mrt__udp_seal() on the new socket. */
int mrt__udp_open_beside(const mrt__udp *old, mrt__udp *out);
/* Ends the overlap: no other socket may join the port any more. */
void mrt__udp_seal(mrt__udp *u);
void mrt__udp_close(mrt__udp *u);
/* An address a peer could really send to: IPv4/IPv6, a port, not the
 * wildcard and not multicast. */
bool mrt__addr_usable(const struct sockaddr_storage *ss);

/* Sends one datagram to `to` (AF_INET is mapped for a dual-stack socket).
 * Returns 0 or a negative errno (-EAFNOSUPPORT when the socket cannot reach
 * that family). */
int mrt__udp_send(const mrt__udp *u, const struct sockaddr_storage *to, const void *buf,
                  size_t len);

/* A receive batch: slots of buffers and source addresses for recvmmsg. */
#define MRT__RX_SLOTS 64
#define MRT__RX_BUF 2048

typedef struct mrt__rx {
  struct mmsghdr *msgs;
  struct iovec iov[MRT__RX_SLOTS];
  struct sockaddr_storage src[MRT__RX_SLOTS];
  uint8_t buf[MRT__RX_SLOTS][MRT__RX_BUF];
  size_t len[MRT__RX_SLOTS];
  bool oversize[MRT__RX_SLOTS];
} mrt__rx;

mrt__rx *mrt__rx_new(void);
void mrt__rx_free(mrt__rx *rx);
/* Receives up to MRT__RX_SLOTS datagrams (sources normalised). Returns the
 * count (0 when nothing is waiting) or a negative errno. */
int mrt__rx_recv(mrt__rx *rx, int fd);

#endif
