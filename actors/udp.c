/* SPDX-License-Identifier: MIT */
/* meshrt — the UDP underlay socket: binding, batched receive, send, addresses.
 *
 * DirectManager and the STUN responder both need "a UDP socket bound as well
 * as this host allows": a wildcard socket is IPv6 dual-stack when possible, so
 * one socket reaches IPv4 and IPv6 peers; a pinned port that another process
 * holds must not stop the node, so it falls back to an ephemeral port. A
 * dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; everything above
 * this file sees them as plain AF_INET (normalised here on receive, mapped
 * back on send) so candidates compare equal whatever socket they came from.
 *
 * Datagrams are read with recvmmsg, MRT__RX_SLOTS per system call, which
 * matters when a peer (or an attacker) floods the socket.
 *
 * Keeping the port across a rebind. Peers know us by address and port, so a
 * rebind that moves the port breaks every path until they learn the new one.
 * Closing the old socket and binding again would leave the port free for an
 * instant (another process, or the kernel's ephemeral allocation for someone
 * else, could take it) and drop whatever arrives meanwhile. So the new socket
 * is bound beside the old one: SO_REUSEPORT is switched on for the old socket
 * and the new one just for the swap (the kernel lets only sockets of the same
 * user that both ask for it share a port, so no other user's process can slip
 * in), a one-instruction classic BPF program tells the kernel to deliver every
 * datagram that arrives from then on to the new socket (index 1 of the port's
 * group), the caller reads what was already queued on the old socket and
 * closes it, and SO_REUSEPORT is switched off again, so outside a swap nobody
 * at all can join the port (a second node configured with the same port still
 * falls back to an ephemeral one, as before). A datagram in flight is thus
 * either queued on the old socket, and read before it closes, or delivered to
 * the new one.
 *
 * Threading: these helpers keep no state; a socket is used by one actor.
 */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <meshrt/error.h>
#include <meshrt/log.h>

/* The log tag these helpers have always used; req->who names the user. */
#define MRT__LOG "direct"

/* ---- addresses ---------------------------------------------------------------- */

void mrt__addr_normalize(struct sockaddr_storage *ss) {
  if (ss->ss_family != AF_INET6)
    return;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
    return;
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = in6->sin6_port};
  memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
  memset(ss, 0, sizeof *ss);
  memcpy(ss, &in, sizeof in);
}

int mrt__addr_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family)
    return a->ss_family < b->ss_family ? -1 : 1;
  int c = 0;
  if (a->ss_family == AF_INET) {
    c = memcmp(&((const struct sockaddr_in *)a)->sin_addr,
               &((const struct sockaddr_in *)b)->sin_addr, 4);
  } else if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    c = memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    if (c == 0 && x->sin6_scope_id != y->sin6_scope_id)
      c = x->sin6_scope_id < y->sin6_scope_id ? -1 : 1;
  }
  if (c != 0)
    return c < 0 ? -1 : 1;
  uint16_t pa = mrt__addr_port(a), pb = mrt__addr_port(b);
  return pa == pb ? 0 : pa < pb ? -1 : 1;
}

bool mrt__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  return (a->ss_family == AF_INET || a->ss_family == AF_INET6) && mrt__addr_cmp(a, b) == 0;
}

uint16_t mrt__addr_port(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return 0;
}

void mrt__addr_set_port(struct sockaddr_storage *ss, uint16_t port) {
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)ss)->sin_port = htons(port);
  else if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

socklen_t mrt__addr_len(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET    ? (socklen_t)sizeof(struct sockaddr_in)
         : ss->ss_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                     : 0;
}

const char *mrt__addr_str(const struct sockaddr_storage *ss, char buf[MRT__ADDR_STRLEN]) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof host);
    snprintf(buf, MRT__ADDR_STRLEN, "%s:%u", host, mrt__addr_port(ss));
  } else if (ss->ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof host);
    snprintf(buf, MRT__ADDR_STRLEN, "[%s]:%u", host, mrt__addr_port(ss));
  } else {
    snprintf(buf, MRT__ADDR_STRLEN, "none");
  }
  return buf;
}

/* ---- binding ------------------------------------------------------------------- */

static int set_reuseport(int fd, bool on) {
  int v = on ? 1 : 0;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v) < 0 ? -errno : 0;
}

static int bind_one(int family, const struct sockaddr_storage *addr, uint16_t port, bool v6only,
                    bool reuse, mrt__udp *out) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0)
    return -errno;
  if (reuse && set_reuseport(fd, true) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  if (family == AF_INET6) {
    int on = v6only ? 1 : 0;
    /* Dual-stack is a request the host may refuse (net.ipv6.bindv6only or a
     * v6-only build); then the caller falls back to an IPv4 socket. */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0 && !v6only) {
      int err = -errno;
      close(fd);
      return err;
    }
  }
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  if (addr != NULL && addr->ss_family == family) {
    memcpy(&sa, addr, mrt__addr_len(addr));
  } else {
    sa.ss_family = (sa_family_t)family; /* the wildcard: all-zero address */
  }
  mrt__addr_set_port(&sa, port);
  socklen_t len = sizeof sa;
  if (bind(fd, (struct sockaddr *)&sa, mrt__addr_len(&sa)) < 0 ||
      getsockname(fd, (struct sockaddr *)&out->local, &len) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  out->fd = fd;
  out->family = family;
  out->dual_stack = family == AF_INET6 && !v6only;
  mrt__addr_normalize(&out->local);
  out->port = mrt__addr_port(&out->local);
  return 0;
}

/* One family, with the port fallback. */
static int bind_family(const mrt__bind_req *req, int family, bool v6only, mrt__udp *out) {
  int rc = bind_one(family, req->addr, req->port, v6only, false, out);
  if (rc == -EADDRINUSE && req->port != 0 && !req->exact) {
    mrt_log(req->quiet_fallback ? MRT_LOG_DEBUG : MRT_LOG_WARN, MRT__LOG,
            "%s: port %u is taken, falling back to an ephemeral port family=%s", req->who,
            req->port, family == AF_INET6 ? "ipv6" : "ipv4");
    rc = bind_one(family, req->addr, 0, v6only, false, out);
  }
  return rc;
}

int mrt__udp_open(const mrt__bind_req *req, mrt__udp *out) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  int fam = req->addr != NULL ? req->addr->ss_family : AF_UNSPEC;
  if (fam == AF_INET || fam == AF_INET6) {
    /* A specific address: exactly that family (v6only for a v6 address that
     * is not the wildcard would make no difference, so leave the default). */
    return bind_family(req, fam, fam == AF_INET6, out);
  }
  int rc = -EAFNOSUPPORT;
  if (!req->disable_ipv6) {
    rc = bind_family(req, AF_INET6, false, out);
    if (rc == 0)
      return 0;
    mrt_log(MRT_LOG_INFO, MRT__LOG, "%s: no dual-stack socket, trying IPv4 err=%s", req->who,
            mrt_strerror(rc));
  }
  rc = bind_family(req, AF_INET, false, out);
  if (rc < 0)
    out->fd = -1;
  return rc;
}

int mrt__udp_open_exact(const mrt__bind_req *req, mrt__udp *out) {
  mrt__bind_req exact = *req;
  exact.exact = true;
  return mrt__udp_open(&exact, out);
}

/* Classic BPF for SO_ATTACH_REUSEPORT_CBPF: "deliver to socket 1", the one
 * bound last. With one socket left in the group the index is out of range
 * and the kernel falls back to its usual choice, the only socket. */
static int steer_to_newest(int fd) {
  struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 1}};
  struct sock_fprog prog;
  /* memset: the kernel copies the whole struct, padding after len included
   * (valgrind flags uninitialised bytes passed to a system call). */
  memset(&prog, 0, sizeof prog);
  prog.len = 1;
  prog.filter = code;
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0 ? -errno : 0;
}

int mrt__udp_open_beside(const mrt__udp *old, mrt__udp *out) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  if (old->fd < 0 || old->port == 0)
    return -EBADF;
  int rc = set_reuseport(old->fd, true);
  if (rc < 0)
    return rc;
  /* The old socket's own address: a dual-stack socket is AF_INET6 even if
   * `local` reads as IPv4 after normalisation (then it was the wildcard). */
  const struct sockaddr_storage *addr = old->local.ss_family == old->family ? &old->local : NULL;
  rc = bind_one(old->family, addr, old->port, old->family == AF_INET6 && !old->dual_stack, true,
                out);
  if (rc == 0 && (rc = steer_to_newest(out->fd)) < 0)
    mrt__udp_close(out);
  if (rc < 0) {
    out->fd = -1;
    (void)set_reuseport(old->fd, false);
  }
  return rc;
}

void mrt__udp_seal(mrt__udp *u) {
  if (u->fd >= 0 && set_reuseport(u->fd, false) < 0)
    mrt_log(MRT_LOG_WARN, MRT__LOG, "could not end the port overlap err=%s", mrt_strerror(-errno));
}

bool mrt__addr_usable(const struct sockaddr_storage *ss) {
  if (mrt__addr_port(ss) == 0)
    return false;
  if (ss->ss_family == AF_INET) {
    uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
    return a != INADDR_ANY && a != INADDR_BROADCAST && !IN_MULTICAST(a);
  }
  if (ss->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_V4MAPPED(a);
  }
  return false;
}

void mrt__udp_close(mrt__udp *u) {
  if (u->fd >= 0)
    close(u->fd);
  u->fd = -1;
}

int mrt__udp_send(const mrt__udp *u, const struct sockaddr_storage *to, const void *buf,
                  size_t len) {
  if (u->fd < 0)
    return -ENETDOWN;
  struct sockaddr_storage dst;
  memcpy(&dst, to, sizeof dst);
  if (u->family == AF_INET6 && to->ss_family == AF_INET) {
    if (!u->dual_stack)
      return -EAFNOSUPPORT;
    const struct sockaddr_in *in = (const struct sockaddr_in *)to;
    struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = in->sin_port};
    m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&m.sin6_addr.s6_addr[12], &in->sin_addr, 4);
    memset(&dst, 0, sizeof dst);
    memcpy(&dst, &m, sizeof m);
  } else if (u->family == AF_INET && to->ss_family != AF_INET) {
    return -EAFNOSUPPORT;
  }
  for (;;) {
    ssize_t n = sendto(u->fd, buf, len, 0, (const struct sockaddr *)&dst, mrt__addr_len(&dst));
    if (n >= 0)
      return 0;
    if (errno != EINTR)
      return -errno;
  }
}

/* ---- batched receive ------------------------------------------------------------ */

mrt__rx *mrt__rx_new(void) {
  mrt__rx *rx = calloc(1, sizeof *rx);
  if (rx == NULL)
    return NULL;
#ifdef __linux__
  rx->msgs = calloc(MRT__RX_SLOTS, sizeof *rx->msgs);
  if (rx->msgs == NULL) {
    free(rx);
    return NULL;
  }
#endif
  return rx;
}

void mrt__rx_free(mrt__rx *rx) {
  if (rx == NULL)
    return;
#ifdef __linux__
  free(rx->msgs);
#endif
  free(rx);
}

#ifdef __linux__
int mrt__rx_recv(mrt__rx *rx, int fd) {
  for (int i = 0; i < MRT__RX_SLOTS; i++) {
    rx->iov[i] = (struct iovec){.iov_base = rx->buf[i], .iov_len = MRT__RX_BUF};
    rx->msgs[i].msg_hdr = (struct msghdr){.msg_name = &rx->src[i],
                                          .msg_namelen = sizeof rx->src[i],
                                          .msg_iov = &rx->iov[i],
                                          .msg_iovlen = 1};
    rx->msgs[i].msg_len = 0;
  }
  int n;
  do
    n = recvmmsg(fd, rx->msgs, MRT__RX_SLOTS, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    rx->len[i] = rx->msgs[i].msg_len;
    rx->oversize[i] = (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    if (rx->msgs[i].msg_hdr.msg_namelen == 0)
      rx->src[i].ss_family = AF_UNSPEC;
    mrt__addr_normalize(&rx->src[i]);
  }
  return n;
}
#else
/* Without recvmmsg: the same batch, one recvfrom at a time. */
int mrt__rx_recv(mrt__rx *rx, int fd) {
  int n = 0;
  while (n < MRT__RX_SLOTS) {
    socklen_t sl = sizeof rx->src[n];
    ssize_t r = recvfrom(fd, rx->buf[n], MRT__RX_BUF, MSG_DONTWAIT | MSG_TRUNC,
                         (struct sockaddr *)&rx->src[n], &sl);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      return n > 0 ? n : -errno;
    }
    rx->oversize[n] = (size_t)r > MRT__RX_BUF;
    rx->len[n] = rx->oversize[n] ? MRT__RX_BUF : (size_t)r;
    mrt__addr_normalize(&rx->src[n]);
    n++;
  }
  return n;
}
#endif
