/* SPDX-License-Identifier: MIT */
/* Netlink parsing tests for the link monitor's interface-state snapshot.
 *
 * Every test builds canned rtnetlink buffers with libmnl's builder (the same
 * bytes the kernel would send), feeds them to mrt__link_snapshot_apply and
 * checks both the reported change flags and the resulting snapshot. Hostile
 * and truncated buffers are built by mutating valid ones, and must be
 * rejected without touching the state and without reading out of bounds
 * (run under ASan/valgrind). Single-threaded; no sockets, no privileges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "link_snapshot.h"

#define UP_RUNNING (IFF_UP | IFF_RUNNING)
#define F_UP MRT_LINK_CHANGE_LINK_UP
#define F_DOWN MRT_LINK_CHANGE_LINK_DOWN
#define F_ADD MRT_LINK_CHANGE_ADDR_ADDED
#define F_DEL MRT_LINK_CHANGE_ADDR_REMOVED
#define F_ROUTE MRT_LINK_CHANGE_DEFAULT_ROUTE
#define F_RESYNC MRT_LINK_CHANGE_RESYNC

/* ---- buffer building -------------------------------------------------- */

/* A receive buffer: the union keeps it 4-byte aligned, as recv() buffers
 * declared with integer types are. */
struct nlbuf {
  union {
    uint32_t align;
    char bytes[16384];
  } u;
  size_t len;
};

static void nb_reset(struct nlbuf *b) {
  memset(b, 0, sizeof *b);
}

static struct nlmsghdr *nb_msg(struct nlbuf *b, uint16_t type, uint16_t nlflags) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->u.bytes + b->len);

  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = nlflags;
  return nlh;
}

static void nb_end(struct nlbuf *b, const struct nlmsghdr *nlh) {
  b->len += MNL_ALIGN(nlh->nlmsg_len);
  assert_true(b->len <= sizeof b->u.bytes);
}

/* Append raw bytes to a message, for hand-made (broken) attributes. */
static void put_raw(struct nlmsghdr *nlh, const void *bytes, size_t n) {
  memcpy((char *)nlh + nlh->nlmsg_len, bytes, n);
  nlh->nlmsg_len += (uint32_t)n;
}

static struct nlmsghdr *link_hdr(struct nlbuf *b, uint16_t type, uint16_t nlflags, int ifindex,
                                 unsigned flags) {
  struct nlmsghdr *nlh = nb_msg(b, type, nlflags);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);

  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = flags;
  ifi->ifi_change = 0xffffffffu;
  return nlh;
}

static void put_link(struct nlbuf *b, uint16_t type, uint16_t nlflags, int ifindex,
                     const char *name, unsigned flags) {
  struct nlmsghdr *nlh = link_hdr(b, type, nlflags, ifindex, flags);

  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
  mnl_attr_put_u8(nlh, IFLA_OPERSTATE, (flags & IFF_RUNNING) ? 6 : 2);
  nb_end(b, nlh);
}

static int family_of(const char *text) {
  return strchr(text, ':') ? AF_INET6 : AF_INET;
}

static size_t alen_of(int family) {
  return family == AF_INET ? 4 : 16;
}

static void pton(const char *text, uint8_t out[16]) {
  memset(out, 0, 16);
  assert_int_equal(inet_pton(family_of(text), text, out), 1);
}

static struct nlmsghdr *addr_hdr(struct nlbuf *b, uint16_t type, uint16_t nlflags, int family,
                                 int ifindex, uint8_t plen) {
  struct nlmsghdr *nlh = nb_msg(b, type, nlflags);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);

  ifa->ifa_family = (uint8_t)family;
  ifa->ifa_prefixlen = plen;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (uint32_t)ifindex;
  return nlh;
}

/* Like the kernel: IPv4 carries IFA_ADDRESS (the peer on point-to-point
 * links) and IFA_LOCAL; IPv6 carries IFA_ADDRESS only. */
static void put_addr_peer(struct nlbuf *b, uint16_t type, uint16_t nlflags, int ifindex,
                          const char *local, const char *peer, uint8_t plen) {
  int family = family_of(local);
  struct nlmsghdr *nlh = addr_hdr(b, type, nlflags, family, ifindex, plen);
  uint8_t a[16], p[16];

  pton(local, a);
  pton(peer, p);
  mnl_attr_put(nlh, IFA_ADDRESS, alen_of(family), p);
  if (family == AF_INET)
    mnl_attr_put(nlh, IFA_LOCAL, 4, a);
  mnl_attr_put_u32(nlh, IFA_FLAGS, 0x80 /* IFA_F_PERMANENT */);
  nb_end(b, nlh);
}

static void put_addr(struct nlbuf *b, uint16_t type, uint16_t nlflags, int ifindex,
                     const char *text, uint8_t plen) {
  put_addr_peer(b, type, nlflags, ifindex, text, text, plen);
}

struct rt {
  int family;
  uint8_t table;       /* rtm_table; 0 means RT_TABLE_MAIN */
  uint32_t table_attr; /* RTA_TABLE; 0 means same as rtm_table */
  uint8_t type;        /* 0 means RTN_UNICAST */
  const char *dst;
  uint8_t dst_len;
  int oif;
  uint32_t metric;
  const char *gw;
};

static struct nlmsghdr *route_hdr(struct nlbuf *b, uint16_t type, uint16_t nlflags,
                                  const struct rt *r) {
  struct nlmsghdr *nlh = nb_msg(b, type, nlflags);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  uint8_t a[16];

  rtm->rtm_family = (uint8_t)r->family;
  rtm->rtm_dst_len = r->dst_len;
  rtm->rtm_table = r->table ? r->table : RT_TABLE_MAIN;
  rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  mnl_attr_put_u32(nlh, RTA_TABLE, r->table_attr ? r->table_attr : rtm->rtm_table);
  if (r->dst) {
    pton(r->dst, a);
    mnl_attr_put(nlh, RTA_DST, alen_of(r->family), a);
  }
  if (r->metric)
    mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
  if (r->gw) {
    pton(r->gw, a);
    mnl_attr_put(nlh, RTA_GATEWAY, alen_of(r->family), a);
  }
  return nlh;
}

static void put_route(struct nlbuf *b, uint16_t type, uint16_t nlflags, const struct rt *r) {
  struct nlmsghdr *nlh = route_hdr(b, type, nlflags, r);

  if (r->oif)
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
  nb_end(b, nlh);
}

/* An IPv6 default route with an RTA_MULTIPATH of (ifindex, gateway) pairs. */
static void put_multipath6(struct nlbuf *b, uint16_t type, const int *oifs, size_t n,
                           uint32_t metric) {
  struct rt r = {.family = AF_INET6, .metric = metric};
  struct nlmsghdr *nlh = route_hdr(b, type, 0, &r);
  struct nlattr *nest = mnl_attr_nest_start(nlh, RTA_MULTIPATH);

  for (size_t i = 0; i < n; i++) {
    struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);
    uint8_t gw[16];

    nlh->nlmsg_len += RTNH_ALIGN(sizeof *nh);
    nh->rtnh_ifindex = oifs[i];
    pton("fe80::1", gw);
    mnl_attr_put(nlh, RTA_GATEWAY, 16, gw);
    nh->rtnh_len = (unsigned short)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nh);
  }
  mnl_attr_nest_end(nlh, nest);
  nb_end(b, nlh);
}

static void put_done(struct nlbuf *b, int err) {
  struct nlmsghdr *nlh = nb_msg(b, NLMSG_DONE, NLM_F_MULTI);
  int *p = mnl_nlmsg_put_extra_header(nlh, sizeof err);

  *p = err;
  nb_end(b, nlh);
}

static void put_error(struct nlbuf *b, int err) {
  struct nlmsghdr *nlh = nb_msg(b, NLMSG_ERROR, 0);
  struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);

  e->error = err;
  e->msg.nlmsg_len = sizeof e->msg;
  nb_end(b, nlh);
}

/* ---- applying --------------------------------------------------------- */

static void check_flags(uint32_t got, uint32_t want, const char *file, int line) {
  char g[128], w[128];

  if (got == want)
    return;
  print_error("flags %s, expected %s\n", mrt_link_change_flags_str(got, g, sizeof g),
              mrt_link_change_flags_str(want, w, sizeof w));
  _fail(file, line);
}
#define assert_flags(got, want) check_flags((got), (want), __FILE__, __LINE__)

/* Apply a well-formed buffer: every message must be accepted. */
static uint32_t apply_ok(mrt__link_snapshot *s, const struct nlbuf *b) {
  uint32_t f = 0;
  int rc = mrt__link_snapshot_apply(s, b->u.bytes, b->len, &f, NULL);

  assert_true(rc >= 0);
  return f;
}

static uint32_t link_msg(mrt__link_snapshot *s, uint16_t type, int ifindex, const char *name,
                         unsigned flags) {
  struct nlbuf b;

  nb_reset(&b);
  put_link(&b, type, 0, ifindex, name, flags);
  return apply_ok(s, &b);
}

static uint32_t addr_msg(mrt__link_snapshot *s, uint16_t type, int ifindex, const char *text,
                         uint8_t plen) {
  struct nlbuf b;

  nb_reset(&b);
  put_addr(&b, type, 0, ifindex, text, plen);
  return apply_ok(s, &b);
}

static uint32_t route_msg(mrt__link_snapshot *s, uint16_t type, uint16_t nlflags,
                          const struct rt *r) {
  struct nlbuf b;

  nb_reset(&b);
  put_route(&b, type, nlflags, r);
  return apply_ok(s, &b);
}

static uint32_t default4(mrt__link_snapshot *s, uint16_t type, uint16_t nlflags, int oif,
                         uint32_t metric) {
  struct rt r = {.family = AF_INET, .oif = oif, .metric = metric, .gw = "192.0.2.1"};
  return route_msg(s, type, nlflags, &r);
}

struct find_addr {
  int family;
  uint8_t addr[16];
  mrt__link_addr_info found;
  int hits;
};

static int find_cb(const mrt__link_addr_info *info, void *arg) {
  struct find_addr *fa = arg;

  if (info->family == fa->family && memcmp(info->addr, fa->addr, alen_of(fa->family)) == 0) {
    fa->found = *info;
    fa->found.ifname = NULL; /* only valid during the callback */
    fa->hits++;
  }
  return 0;
}

/* How many times `text` occurs in the snapshot; details of the last hit. */
static int find_addr(const mrt__link_snapshot *s, const char *text, mrt__link_addr_info *out) {
  struct find_addr fa;

  memset(&fa, 0, sizeof fa);
  fa.family = family_of(text);
  pton(text, fa.addr);
  assert_int_equal(mrt__link_snapshot_foreach_addr(s, find_cb, &fa), 0);
  if (out)
    *out = fa.found;
  return fa.hits;
}

static mrt__link_stats stats_of(const mrt__link_snapshot *s) {
  mrt__link_stats st;

  mrt__link_snapshot_get_stats(s, &st);
  return st;
}

/* A typical host: lo, eth0 (2) and wlan0 (3) up, addresses on each, IPv4
 * default via eth0 and IPv6 default via wlan0. */
static void put_world(struct nlbuf *b, uint16_t nlflags) {
  struct rt r4 = {.family = AF_INET, .oif = 2, .metric = 100, .gw = "192.0.2.1"};
  struct rt r6 = {.family = AF_INET6, .oif = 3, .metric = 600, .gw = "fe80::1"};

  put_link(b, RTM_NEWLINK, nlflags, 1, "lo", UP_RUNNING | IFF_LOOPBACK);
  put_link(b, RTM_NEWLINK, nlflags, 2, "eth0", UP_RUNNING);
  put_link(b, RTM_NEWLINK, nlflags, 3, "wlan0", UP_RUNNING);
  put_addr(b, RTM_NEWADDR, nlflags, 1, "127.0.0.1", 8);
  put_addr(b, RTM_NEWADDR, nlflags, 2, "192.0.2.10", 24);
  put_addr(b, RTM_NEWADDR, nlflags, 2, "fe80::2", 64);
  put_addr(b, RTM_NEWADDR, nlflags, 3, "2001:db8::3", 64);
  put_route(b, RTM_NEWROUTE, nlflags, &r4);
  put_route(b, RTM_NEWROUTE, nlflags, &r6);
}

static mrt__link_snapshot *world_snapshot(void) {
  mrt__link_snapshot *s;
  struct nlbuf b;

  assert_int_equal(mrt__link_snapshot_new(&s), 0);
  nb_reset(&b);
  put_world(&b, 0);
  assert_flags(apply_ok(s, &b), F_UP | F_ADD | F_ROUTE);
  return s;
}

static int setup(void **state) {
  mrt__link_snapshot *s;

  if (mrt__link_snapshot_new(&s) < 0)
    return -1;
  *state = s;
  return 0;
}

static int teardown(void **state) {
  mrt__link_snapshot_free(*state);
  return 0;
}

/* ---- links, addresses, filtering --------------------------------------- */

static void test_link_up_down(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_iface_info info;

  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", 0), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", IFF_UP), F_UP);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING), F_UP);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING), 0);
  assert_int_equal(mrt__link_snapshot_iface(s, 2, &info), 0);
  assert_string_equal(info.name, "eth0");
  assert_true(info.known && info.up && info.running && !info.loopback && !info.ignored);
  /* Carrier loss, then admin down: each step is a loss of usability. */
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", IFF_UP), F_DOWN);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", 0), F_DOWN);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING), F_UP);
  assert_flags(link_msg(s, RTM_DELLINK, 2, "eth0", UP_RUNNING), F_DOWN);
  assert_int_equal(mrt__link_snapshot_iface(s, 2, &info), -ENOENT);
  assert_flags(link_msg(s, RTM_DELLINK, 2, "eth0", 0), 0);
  /* A new interface that appears already up is a link-up. */
  assert_flags(link_msg(s, RTM_NEWLINK, 5, "usb0", UP_RUNNING), F_UP);
}

static void test_bridge_family_link_messages(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_iface_info info;
  struct nlbuf b;
  struct nlmsghdr *nlh;

  assert_flags(link_msg(s, RTM_NEWLINK, 4, "veth0", UP_RUNNING), F_UP);
  /* A port leaving its bridge sends an AF_BRIDGE RTM_DELLINK; the
     * interface itself stays. */
  nb_reset(&b);
  nlh = link_hdr(&b, RTM_DELLINK, 0, 4, UP_RUNNING);
  ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family = AF_BRIDGE;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "veth0");
  nb_end(&b, nlh);
  assert_flags(apply_ok(s, &b), 0);
  assert_int_equal(mrt__link_snapshot_iface(s, 4, &info), 0);
}

static void test_addr_v4_add_remove(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_addr_info info;
  uint8_t want[16];
  struct nlbuf b;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24), F_ADD);
  assert_int_equal(find_addr(s, "192.0.2.10", &info), 1);
  pton("192.0.2.10", want);
  assert_memory_equal(info.addr, want, 4);
  assert_int_equal(info.family, AF_INET);
  assert_int_equal(info.prefixlen, 24);
  assert_int_equal(info.ifindex, 2);
  assert_true(info.routable && info.interesting);
  assert_flags(addr_msg(s, RTM_DELADDR, 2, "192.0.2.10", 24), F_DEL);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
  assert_flags(addr_msg(s, RTM_DELADDR, 2, "192.0.2.10", 24), 0);
  /* Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer. */
  nb_reset(&b);
  put_addr_peer(&b, RTM_NEWADDR, 0, 2, "10.9.0.1", "10.9.0.2", 32);
  assert_flags(apply_ok(s, &b), F_ADD);
  assert_int_equal(find_addr(s, "10.9.0.1", NULL), 1);
  assert_int_equal(find_addr(s, "10.9.0.2", NULL), 0);
}

static void test_addr_v6_add_remove(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_addr_info info;

  link_msg(s, RTM_NEWLINK, 3, "wlan0", UP_RUNNING);
  assert_flags(addr_msg(s, RTM_NEWADDR, 3, "2001:db8::5", 64), F_ADD);
  assert_int_equal(find_addr(s, "2001:db8::5", &info), 1);
  assert_int_equal(info.family, AF_INET6);
  assert_int_equal(info.prefixlen, 64);
  assert_int_equal(info.ifindex, 3);
  /* Same address, other prefix length: a distinct entry, as in the kernel. */
  assert_flags(addr_msg(s, RTM_NEWADDR, 3, "2001:db8::5", 128), F_ADD);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 2);
  assert_flags(addr_msg(s, RTM_DELADDR, 3, "2001:db8::5", 64), F_DEL);
  assert_flags(addr_msg(s, RTM_DELADDR, 3, "2001:db8::5", 128), F_DEL);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
}

static void test_duplicate_newaddr_ignored(void **state) {
  mrt__link_snapshot *s = *state;
  struct nlbuf b;
  uint32_t f = 0;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24), F_ADD);
  for (int i = 0; i < 20; i++)
    assert_flags(addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24), 0);
  /* Twenty copies in one buffer: one change, twenty accepted messages. */
  nb_reset(&b);
  for (int i = 0; i < 20; i++)
    put_addr(&b, RTM_NEWADDR, 0, 2, "2001:db8::7", 64);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), 20);
  assert_flags(f, F_ADD);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 2);
}

static void test_loopback_ignored(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_addr_info info;

  assert_flags(link_msg(s, RTM_NEWLINK, 1, "lo", UP_RUNNING | IFF_LOOPBACK), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 1, "127.0.0.1", 8), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 1, "::1", 128), 0);
  /* Even a routable address on the loopback device is not interesting. */
  assert_flags(addr_msg(s, RTM_NEWADDR, 1, "192.0.2.99", 32), 0);
  assert_int_equal(find_addr(s, "192.0.2.99", &info), 1);
  assert_true(info.routable && !info.interesting);
  assert_int_equal(find_addr(s, "127.0.0.1", &info), 1);
  assert_false(info.routable);
  assert_flags(link_msg(s, RTM_NEWLINK, 1, "lo", IFF_LOOPBACK), 0);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 3);
}

static void test_unroutable_addresses_ignored(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_addr_info info;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "fe80::1", 64), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "febf::1", 64), 0); /* still fe80::/10 */
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "ff02::1", 128), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "169.254.7.7", 16), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "224.0.0.5", 32), 0);
  assert_flags(addr_msg(s, RTM_DELADDR, 2, "fe80::1", 64), 0);
  /* They are still recorded, faithfully, just not interesting. */
  assert_int_equal(find_addr(s, "ff02::1", &info), 1);
  assert_false(info.routable);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 4);
  /* The filter is not a blanket one. */
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "fec0::1", 64), F_ADD);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "2001:db8::1", 64), F_ADD);
}

static void test_ignored_interface_names(void **state) {
  mrt__link_snapshot *s = *state;
  const char *rules[] = {"tailscale0", "wg*"};
  const char *bad[][1] = {{""}, {"a*b"}, {"**"}, {"abcdefghijklmnop"}, {NULL}};
  mrt__link_iface_info info;
  struct rt r = {.family = AF_INET, .oif = 7, .metric = 10};
  uint32_t f = 0;

  assert_int_equal(mrt__link_snapshot_set_ignored(s, rules, 2, &f), 0);
  assert_flags(f, 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 7, "tailscale0", UP_RUNNING), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 7, "100.64.0.1", 32), 0);
  assert_flags(route_msg(s, RTM_NEWROUTE, 0, &r), 0);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 8, "wg0", UP_RUNNING), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 9, "wg-home", UP_RUNNING), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 10, "tailscale01", UP_RUNNING), F_UP);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING), F_UP);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24), F_ADD);
  /* Renamed into an ignored name: it leaves the interesting set. */
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "wg-eth", UP_RUNNING), F_DOWN | F_DEL);
  assert_int_equal(mrt__link_snapshot_iface(s, 2, &info), 0);
  assert_true(info.ignored);
  /* Bad patterns are refused and the old rules stay. */
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(mrt__link_snapshot_set_ignored(s, bad[i], 1, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_set_ignored(s, NULL, 1, NULL), -EINVAL);
  assert_flags(addr_msg(s, RTM_NEWADDR, 7, "100.64.0.2", 32), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 11, "wg1", UP_RUNNING), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 12, "tailscale0x", UP_RUNNING), F_UP);
  /* Dropping the rules brings the tunnel and its default route back. */
  f = 0;
  assert_int_equal(mrt__link_snapshot_set_ignored(s, NULL, 0, &f), 0);
  assert_flags(f, F_UP | F_ADD | F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 7);
}

static void test_address_before_link(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_iface_info info;

  /* The interface is unknown, so nothing is interesting about it yet. */
  assert_flags(addr_msg(s, RTM_NEWADDR, 6, "198.51.100.6", 24), 0);
  assert_int_equal(mrt__link_snapshot_iface(s, 6, &info), 0);
  assert_false(info.known);
  assert_flags(link_msg(s, RTM_NEWLINK, 6, "eth6", UP_RUNNING), F_UP | F_ADD);
  assert_int_equal(mrt__link_snapshot_iface(s, 6, &info), 0);
  assert_true(info.known);
  assert_int_equal(info.naddrs, 1);
}

/* Thousands of distinct addresses: the table grows, fills with tombstones
 * as they go, and must still find every key exactly once. */
static void test_address_storm(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_iface_info info;
  struct nlbuf b;
  char text[64];
  uint32_t f = 0;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 3000; i++) {
      snprintf(text, sizeof text, "2001:db8:%x::%x", round, i);
      assert_flags(addr_msg(s, RTM_NEWADDR, 2, text, 64), F_ADD);
    }
    assert_int_equal(mrt__link_snapshot_addr_count(s), 3000);
    snprintf(text, sizeof text, "2001:db8:%x::%x", round, 1234);
    assert_flags(addr_msg(s, RTM_NEWADDR, 2, text, 64), 0);
    assert_int_equal(find_addr(s, text, NULL), 1);
    for (int i = 0; i < 3000; i++) {
      snprintf(text, sizeof text, "2001:db8:%x::%x", round, i);
      assert_flags(addr_msg(s, RTM_DELADDR, 2, text, 64), F_DEL);
    }
    assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
  }
  /* One address on two interfaces is two entries, however crowded the
     * probe sequences get. */
  for (int i = 0; i < 1000; i++) {
    snprintf(text, sizeof text, "10.2.%d.%d", i / 250, i % 250 + 1);
    assert_flags(addr_msg(s, RTM_NEWADDR, 2, text, 24), F_ADD);
    assert_flags(addr_msg(s, RTM_NEWADDR, 3, text, 24), F_ADD);
  }
  assert_int_equal(mrt__link_snapshot_addr_count(s), 2000);
  for (int i = 0; i < 1000; i++) {
    snprintf(text, sizeof text, "10.2.%d.%d", i / 250, i % 250 + 1);
    assert_flags(addr_msg(s, RTM_DELADDR, 3, text, 24), F_DEL);
    assert_int_equal(find_addr(s, text, NULL), 1);
    assert_flags(addr_msg(s, RTM_DELADDR, 2, text, 24), F_DEL);
  }
  assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24), F_ADD);
  assert_flags(addr_msg(s, RTM_NEWADDR, 3, "192.0.2.10", 24), F_ADD);
  assert_flags(addr_msg(s, RTM_DELADDR, 2, "192.0.2.10", 24), F_DEL);
  assert_int_equal(find_addr(s, "192.0.2.10", NULL), 1);
  /* Deleting an interface takes its addresses along. */
  nb_reset(&b);
  for (int i = 0; i < 100; i++) {
    snprintf(text, sizeof text, "10.1.%d.%d", i / 200, i % 200 + 1);
    put_addr(&b, RTM_NEWADDR, 0, 3, text, 16);
  }
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), 100);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 101);
  assert_flags(link_msg(s, RTM_DELLINK, 3, "eth1", UP_RUNNING), F_DOWN | F_DEL);
  assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING), F_UP);
  assert_int_equal(mrt__link_snapshot_iface(s, 3, &info), 0);
  assert_int_equal(info.naddrs, 0);
  assert_flags(addr_msg(s, RTM_NEWADDR, 3, "10.1.0.1", 16), F_ADD);
}

/* ---- routes ----------------------------------------------------------- */

static void test_default_route_v4(void **state) {
  mrt__link_snapshot *s = *state;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING);
  addr_msg(s, RTM_NEWADDR, 2, "192.0.2.10", 24);
  addr_msg(s, RTM_NEWADDR, 3, "198.51.100.10", 24);
  assert_flags(default4(s, RTM_NEWROUTE, 0, 2, 100), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 2);
  assert_flags(default4(s, RTM_NEWROUTE, 0, 2, 100), 0);
  assert_flags(default4(s, RTM_NEWROUTE, 0, 3, 50), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 3);
  assert_flags(default4(s, RTM_NEWROUTE, 0, 3, 200), 0);
  assert_flags(default4(s, RTM_DELROUTE, 0, 3, 50), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 2);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 0);
  /* "ip route replace": the route it displaced gets no RTM_DELROUTE. */
  assert_flags(default4(s, RTM_NEWROUTE, NLM_F_REPLACE, 3, 100), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 3);
  /* Admin down flushes eth1's routes silently; they stay gone after up. */
  assert_flags(link_msg(s, RTM_NEWLINK, 3, "eth1", 0), F_DOWN | F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
  assert_flags(link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING), F_UP);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
  /* Removing an interface's last IPv4 address flushes its IPv4 routes. */
  assert_flags(default4(s, RTM_NEWROUTE, 0, 2, 10), F_ROUTE);
  assert_flags(addr_msg(s, RTM_DELADDR, 2, "192.0.2.10", 24), F_DEL | F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
}

static void test_default_route_v6(void **state) {
  mrt__link_snapshot *s = *state;
  struct rt r = {.family = AF_INET6, .oif = 3, .metric = 1024, .gw = "fe80::1"};
  const int both[] = {3, 2}; /* order must not matter */
  struct nlbuf b;

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  link_msg(s, RTM_NEWLINK, 3, "wlan0", UP_RUNNING);
  assert_flags(route_msg(s, RTM_NEWROUTE, 0, &r), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 3);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
  r.oif = 2;
  r.metric = 100;
  assert_flags(route_msg(s, RTM_NEWROUTE, 0, &r), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 2);
  assert_flags(route_msg(s, RTM_DELROUTE, 0, &r), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 3);
  /* A multipath route at a lower metric; equal metrics go to the lowest
     * ifindex so the answer does not depend on message order. */
  nb_reset(&b);
  put_multipath6(&b, RTM_NEWROUTE, both, 2, 10);
  assert_flags(apply_ok(s, &b), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 2);
  assert_flags(link_msg(s, RTM_NEWLINK, 2, "eth0", 0), F_DOWN | F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 3);
  nb_reset(&b);
  put_multipath6(&b, RTM_DELROUTE, both, 2, 10);
  assert_flags(apply_ok(s, &b), 0); /* wlan0 at 1024 remains the answer */
  r.oif = 3;
  r.metric = 1024;
  assert_flags(route_msg(s, RTM_DELROUTE, 0, &r), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 0);
}

static void test_noise_routes_ignored(void **state) {
  mrt__link_snapshot *s = *state;
  const struct rt noise[] = {
      {.family = AF_INET6, .dst = "ff00::", .dst_len = 8, .oif = 2, .metric = 256},
      {.family = AF_INET6,
       .table = RT_TABLE_LOCAL,
       .type = RTN_MULTICAST,
       .dst = "ff00::",
       .dst_len = 8,
       .oif = 2},
      {.family = AF_INET6, .dst = "fe80::", .dst_len = 64, .oif = 2, .metric = 256},
      {.family = AF_INET6,
       .table = RT_TABLE_LOCAL,
       .type = RTN_LOCAL,
       .dst = "fe80::2",
       .dst_len = 128,
       .oif = 2},
      {.family = AF_INET, .dst = "224.0.0.0", .dst_len = 4, .oif = 2},
      {.family = AF_INET, .dst = "169.254.0.0", .dst_len = 16, .oif = 2, .metric = 1000},
      {.family = AF_INET,
       .table = RT_TABLE_LOCAL,
       .type = RTN_BROADCAST,
       .dst = "192.0.2.255",
       .dst_len = 32,
       .oif = 2},
      {.family = AF_INET, .table = 52, .oif = 2}, /* a host's own table */
      {.family = AF_INET, .table = RT_TABLE_COMPAT, .table_attr = 1000, .oif = 2},
      {.family = AF_INET, .type = RTN_BLACKHOLE, .metric = 5},
      {.family = AF_INET, .type = RTN_UNREACHABLE, .oif = 2},
      {.family = AF_INET, .metric = 7}, /* no device */
  };
  const struct rt real = {
      .family = AF_INET, .table = RT_TABLE_COMPAT, .table_attr = RT_TABLE_MAIN, .oif = 2};

  link_msg(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING);
  for (size_t i = 0; i < sizeof noise / sizeof noise[0]; i++) {
    assert_flags(route_msg(s, RTM_NEWROUTE, 0, &noise[i]), 0);
    assert_flags(route_msg(s, RTM_DELROUTE, 0, &noise[i]), 0);
  }
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 0);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET6), 0);
  /* RTA_TABLE overrides rtm_table: this one is a main-table default. */
  assert_flags(route_msg(s, RTM_NEWROUTE, 0, &real), F_ROUTE);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 2);
}

/* ---- resynchronisation ------------------------------------------------ */

/* Feed a world as three dumps (links, addresses, routes), each with its own
 * NLMSG_DONE, the way the monitor will after ENOBUFS. */
static void feed_dump(mrt__link_snapshot *s, const struct nlbuf *world) {
  const char *p = world->u.bytes;
  size_t off = 0;

  while (off < world->len) {
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)(p + off);
    uint16_t section = nlh->nlmsg_type & ~3u; /* RTM_NEW/DEL x LINK/ADDR/ROUTE */
    struct nlbuf b;

    nb_reset(&b);
    while (off < world->len) {
      nlh = (const struct nlmsghdr *)(p + off);
      if ((nlh->nlmsg_type & ~3u) != section)
        break;
      memcpy(b.u.bytes + b.len, nlh, nlh->nlmsg_len);
      b.len += MNL_ALIGN(nlh->nlmsg_len);
      off += MNL_ALIGN(nlh->nlmsg_len);
    }
    put_done(&b, 0);
    assert_flags(apply_ok(s, &b), 0);
  }
}

static void test_resync_without_difference(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  mrt__link_snapshot *ref = world_snapshot();
  struct nlbuf dump;
  uint32_t f = 0xdead;

  (void)state;
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  assert_true(mrt__link_snapshot_resyncing(s));
  nb_reset(&dump);
  put_world(&dump, NLM_F_MULTI);
  feed_dump(s, &dump);
  assert_int_equal(mrt__link_snapshot_resync_dumps_done(s), 3);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), 0);
  assert_flags(f, 0);
  assert_false(mrt__link_snapshot_resyncing(s));
  assert_true(mrt__link_snapshot_equal(s, ref));
  mrt__link_snapshot_free(s);
  mrt__link_snapshot_free(ref);
}

static void test_resync_with_difference(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  struct rt r4 = {.family = AF_INET, .oif = 4, .metric = 50, .gw = "203.0.113.1"};
  struct nlbuf dump;
  uint32_t f = 0;

  (void)state;
  /* Lost while the socket overflowed: eth0's address changed, usb0 came
     * up with a better IPv4 default route. */
  nb_reset(&dump);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 1, "lo", UP_RUNNING | IFF_LOOPBACK);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 2, "eth0", UP_RUNNING);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 3, "wlan0", UP_RUNNING);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 4, "usb0", UP_RUNNING);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 1, "127.0.0.1", 8);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 2, "192.0.2.20", 24);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 2, "fe80::2", 64);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 3, "2001:db8::3", 64);
  put_route(&dump, RTM_NEWROUTE, NLM_F_MULTI, &r4);
  r4.oif = 2;
  r4.metric = 100;
  r4.gw = "192.0.2.1";
  put_route(&dump, RTM_NEWROUTE, NLM_F_MULTI, &r4);
  put_route(&dump, RTM_NEWROUTE, NLM_F_MULTI,
            &(struct rt){.family = AF_INET6, .oif = 3, .metric = 600, .gw = "fe80::1"});
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  feed_dump(s, &dump);
  /* Until finish, the live state is untouched. */
  assert_int_equal(find_addr(s, "192.0.2.10", NULL), 1);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), 0);
  assert_flags(f, F_RESYNC | F_UP | F_ADD | F_DEL | F_ROUTE);
  assert_int_equal(find_addr(s, "192.0.2.10", NULL), 0);
  assert_int_equal(find_addr(s, "192.0.2.20", NULL), 1);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_INET), 4);
  mrt__link_snapshot_free(s);
}

static void test_resync_uninteresting_difference(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  mrt__link_snapshot *before = world_snapshot();
  struct nlbuf dump;
  uint32_t f = 0xdead;

  (void)state;
  /* Only a link-local address was lost: corrected, but no event. */
  nb_reset(&dump);
  put_world(&dump, NLM_F_MULTI);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 3, "fe80::3", 64);
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  feed_dump(s, &dump);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), 0);
  assert_flags(f, 0);
  assert_int_equal(find_addr(s, "fe80::3", NULL), 1);
  assert_false(mrt__link_snapshot_equal(s, before));
  mrt__link_snapshot_free(s);
  mrt__link_snapshot_free(before);
}

static void test_resync_routes_notifications(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  struct nlbuf dump, note;
  uint32_t f = 0;

  (void)state;
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  nb_reset(&dump);
  put_world(&dump, NLM_F_MULTI);
  feed_dump(s, &dump);
  /* A live notification after the dump went by: reported at once, and
     * also applied to the pending state, so finish sees no loss. */
  nb_reset(&note);
  put_addr(&note, RTM_NEWADDR, 0, 2, "198.51.100.1", 24);
  assert_flags(apply_ok(s, &note), F_ADD);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), 0);
  assert_flags(f, 0);
  assert_int_equal(find_addr(s, "198.51.100.1", NULL), 1);
  mrt__link_snapshot_free(s);
}

static void test_resync_inconsistent_and_abort(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  mrt__link_snapshot *ref = world_snapshot();
  struct nlbuf dump;
  uint32_t f = 0;

  (void)state;
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_resync_dumps_done(s), -EINVAL);
  /* The kernel flags a dump that raced with changes. */
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  nb_reset(&dump);
  put_world(&dump, NLM_F_MULTI | NLM_F_DUMP_INTR);
  feed_dump(s, &dump);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), MRT__LINK_RESYNC_INCONSISTENT);
  assert_true(stats_of(s).dump_interrupted > 0);
  /* A dump that ends in an error is incomplete, hence inconsistent too. */
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  nb_reset(&dump);
  put_done(&dump, -EBUSY);
  assert_int_equal(mrt__link_snapshot_apply(s, dump.u.bytes, dump.len, &f, NULL), -EBUSY);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), MRT__LINK_RESYNC_INCONSISTENT);
  assert_flags(f, F_RESYNC | F_DOWN | F_DEL | F_ROUTE); /* nothing was dumped */
  /* A refused dump request (NLMSG_ERROR, no NLMSG_DONE) still ends a dump,
     * so the caller is not left waiting. */
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  nb_reset(&dump);
  put_error(&dump, -ENOBUFS);
  assert_int_equal(mrt__link_snapshot_apply(s, dump.u.bytes, dump.len, NULL, NULL), -ENOBUFS);
  assert_int_equal(mrt__link_snapshot_resync_dumps_done(s), 1);
  nb_reset(&dump);
  put_error(&dump, 0); /* an ACK is not a dump */
  apply_ok(s, &dump);
  assert_int_equal(mrt__link_snapshot_resync_dumps_done(s), 1);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), MRT__LINK_RESYNC_INCONSISTENT);
  /* Abort leaves the live state as it was. */
  nb_reset(&dump);
  put_world(&dump, 0);
  apply_ok(s, &dump);
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0); /* restart */
  mrt__link_snapshot_abort_resync(s);
  assert_false(mrt__link_snapshot_resyncing(s));
  assert_true(mrt__link_snapshot_equal(s, ref));
  mrt__link_snapshot_free(s);
  mrt__link_snapshot_free(ref);
}

static void test_initial_dump_via_resync(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_snapshot *ref = world_snapshot();
  struct nlbuf dump;
  uint32_t f = 0;

  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  nb_reset(&dump);
  put_world(&dump, NLM_F_MULTI);
  feed_dump(s, &dump);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, NULL), 0);
  assert_flags(f, F_RESYNC | F_UP | F_ADD | F_ROUTE);
  assert_true(mrt__link_snapshot_equal(s, ref));
  assert_int_equal(mrt__link_snapshot_diff(s, ref, &f, NULL), 0);
  assert_flags(f, 0);
  mrt__link_snapshot_free(ref);
}

static void test_diff_and_equal(void **state) {
  mrt__link_snapshot *a = world_snapshot();
  mrt__link_snapshot *b = *state;
  struct nlbuf w;
  uint32_t f = 0;

  /* Same final state through another history and order. */
  link_msg(b, RTM_NEWLINK, 3, "wlan0", UP_RUNNING);
  addr_msg(b, RTM_NEWADDR, 2, "10.0.0.1", 8);
  nb_reset(&w);
  put_world(&w, 0);
  apply_ok(b, &w);
  addr_msg(b, RTM_DELADDR, 2, "10.0.0.1", 8);
  assert_true(mrt__link_snapshot_equal(a, b));
  assert_int_equal(mrt__link_snapshot_diff(a, b, &f, NULL), 0);
  assert_flags(f, 0);
  link_msg(b, RTM_NEWLINK, 3, "wlan0", IFF_UP);
  assert_false(mrt__link_snapshot_equal(a, b));
  assert_int_equal(mrt__link_snapshot_diff(a, b, &f, NULL), 0);
  assert_flags(f, F_DOWN);
  assert_int_equal(mrt__link_snapshot_diff(b, a, &f, NULL), 0);
  assert_flags(f, F_UP);
  /* A routable address on an uninteresting interface (lo) is no change. */
  addr_msg(b, RTM_NEWADDR, 1, "192.0.2.99", 32);
  assert_int_equal(mrt__link_snapshot_diff(a, b, &f, NULL), 0);
  assert_flags(f, F_DOWN); /* only wlan0's carrier, as above */
  addr_msg(b, RTM_DELADDR, 1, "192.0.2.99", 32);
  /* Same counts, different sets: unequal, yet no interesting change. */
  link_msg(b, RTM_NEWLINK, 3, "wlan0", UP_RUNNING);
  addr_msg(b, RTM_DELADDR, 2, "fe80::2", 64);
  addr_msg(b, RTM_NEWADDR, 2, "fe80::9", 64);
  assert_false(mrt__link_snapshot_equal(a, b));
  assert_int_equal(mrt__link_snapshot_diff(a, b, &f, NULL), 0);
  assert_flags(f, 0);
  addr_msg(b, RTM_DELADDR, 2, "fe80::9", 64);
  addr_msg(b, RTM_NEWADDR, 2, "fe80::2", 64);
  assert_true(mrt__link_snapshot_equal(a, b));
  assert_int_equal(mrt__link_snapshot_diff(a, NULL, &f, NULL), -EINVAL);
  mrt__link_snapshot_free(a);
}

/* ---- hostile and truncated input -------------------------------------- */

/* Valid messages joined into one buffer; their end offsets in `ends`. */
static size_t build_sample(struct nlbuf *b, size_t *ends) {
  struct rt r = {.family = AF_INET, .oif = 2, .metric = 100, .gw = "192.0.2.1"};
  size_t n = 0;

  nb_reset(b);
  put_link(b, RTM_NEWLINK, 0, 2, "eth0", UP_RUNNING);
  ends[n++] = b->len;
  put_addr(b, RTM_NEWADDR, 0, 2, "192.0.2.10", 24);
  ends[n++] = b->len;
  put_addr(b, RTM_NEWADDR, 0, 2, "2001:db8::10", 64);
  ends[n++] = b->len;
  put_route(b, RTM_NEWROUTE, 0, &r);
  ends[n++] = b->len;
  put_done(b, 0);
  ends[n++] = b->len;
  return n;
}

static void test_truncated_at_every_length(void **state) {
  struct nlbuf full;
  size_t ends[8];
  size_t n = build_sample(&full, ends);

  (void)state;
  for (size_t len = 0; len <= full.len; len++) {
    /* An exact-size heap copy, so any overread is caught by ASan. */
    void *p = malloc(len ? len : 1);
    mrt__link_snapshot *s;
    size_t whole = 0;
    uint32_t f = 0;
    int rc;

    assert_non_null(p);
    memcpy(p, full.u.bytes, len);
    while (whole < n && ends[whole] <= len)
      whole++;
    assert_int_equal(mrt__link_snapshot_new(&s), 0);
    rc = mrt__link_snapshot_apply(s, p, len, &f, NULL);
    if (whole > 0 && ends[whole - 1] == len) {
      assert_int_equal(rc, (int)whole);
    } else if (len == 0) {
      assert_int_equal(rc, 0);
    } else {
      assert_int_equal(rc, -EBADMSG);
      assert_int_equal(stats_of(s).malformed, 1);
    }
    assert_int_equal(stats_of(s).messages, whole);
    if (whole >= 4)
      assert_flags(f, F_UP | F_ADD | F_ROUTE);
    mrt__link_snapshot_free(s);
    free(p);
  }
}

/* Cut one address message short *inside* its own length field: each cut
 * must either be rejected or leave a sane snapshot. */
static void test_truncated_message_lengths(void **state) {
  struct nlbuf full;
  struct nlmsghdr *nlh;
  uint32_t full_len;

  (void)state;
  nb_reset(&full);
  put_addr(&full, RTM_NEWADDR, 0, 2, "192.0.2.10", 24);
  nlh = (struct nlmsghdr *)full.u.bytes;
  full_len = nlh->nlmsg_len;
  for (uint32_t cut = 0; cut < full_len; cut++) {
    size_t len = MNL_ALIGN(cut < sizeof *nlh ? sizeof *nlh : cut);
    void *p = malloc(len);
    mrt__link_snapshot *s;
    int rc;

    assert_non_null(p);
    memcpy(p, full.u.bytes, len);
    ((struct nlmsghdr *)p)->nlmsg_len = cut;
    assert_int_equal(mrt__link_snapshot_new(&s), 0);
    rc = mrt__link_snapshot_apply(s, p, len, NULL, NULL);
    assert_true(rc == -EBADMSG || rc == 1);
    if (cut < NLMSG_HDRLEN + sizeof(struct ifaddrmsg))
      assert_int_equal(rc, -EBADMSG);
    assert_int_equal(stats_of(s).malformed, rc == -EBADMSG ? 1 : 0);
    assert_true(mrt__link_snapshot_addr_count(s) <= 1);
    if (mrt__link_snapshot_addr_count(s) == 1)
      assert_int_equal(find_addr(s, "192.0.2.10", NULL), 1);
    mrt__link_snapshot_free(s);
    free(p);
  }
}

static void attr_raw(struct nlmsghdr *nlh, uint16_t len, uint16_t type, const void *data,
                     size_t n) {
  struct nlattr a = {.nla_len = len, .nla_type = type};

  put_raw(nlh, &a, sizeof a);
  put_raw(nlh, data, n);
}

static void h_attr_len_zero(struct nlmsghdr *nlh) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "evil0");
  attr_raw(nlh, 0, IFLA_MTU, "\0\0\0\0", 4);
}

static void h_attr_len_short(struct nlmsghdr *nlh) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "evil0");
  attr_raw(nlh, 3, IFLA_MTU, "\0\0\0\0", 4);
}

static void h_attr_len_huge(struct nlmsghdr *nlh) {
  attr_raw(nlh, 0xffff, IFLA_IFNAME, "evil0\0\0\0", 8);
}

static void h_attr_len_past_end(struct nlmsghdr *nlh) {
  attr_raw(nlh, 4 + 9, IFLA_IFNAME, "evil0\0\0\0", 8);
}

static void h_name_unterminated(struct nlmsghdr *nlh) {
  mnl_attr_put(nlh, IFLA_IFNAME, 5, "evil0");
}

static void h_name_too_long(struct nlmsghdr *nlh) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-very-long-interface-name");
}

static void h_name_empty(struct nlmsghdr *nlh) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "");
}

static void h_name_missing(struct nlmsghdr *nlh) {
  mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
}

static void h_trailing_junk(struct nlmsghdr *nlh) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "evil0");
  put_raw(nlh, "\x01\x02", 2);
}

struct hostile {
  const char *what;
  void (*build)(struct nlbuf *b);
};

#define HOSTILE_LINK(fn)                                                                           \
  static void b_##fn(struct nlbuf *b) {                                                            \
    struct nlmsghdr *nlh = link_hdr(b, RTM_NEWLINK, 0, 20, UP_RUNNING);                            \
    fn(nlh);                                                                                       \
    nb_end(b, nlh);                                                                                \
  }
HOSTILE_LINK(h_attr_len_zero)
HOSTILE_LINK(h_attr_len_short)
HOSTILE_LINK(h_attr_len_huge)
HOSTILE_LINK(h_attr_len_past_end)
HOSTILE_LINK(h_name_unterminated)
HOSTILE_LINK(h_name_too_long)
HOSTILE_LINK(h_name_empty)
HOSTILE_LINK(h_name_missing)
HOSTILE_LINK(h_trailing_junk)

static void b_link_bad_index(struct nlbuf *b) {
  struct nlmsghdr *nlh = link_hdr(b, RTM_NEWLINK, 0, -1, UP_RUNNING);

  mnl_attr_put_strz(nlh, IFLA_IFNAME, "evil0");
  nb_end(b, nlh);
}

static void b_link_short_header(struct nlbuf *b) {
  struct nlmsghdr *nlh = nb_msg(b, RTM_NEWLINK, 0);

  put_raw(nlh, "\0\0\0\0\0\0\0\0", 8); /* half an ifinfomsg */
  nb_end(b, nlh);
}

static void b_addr_wrong_size(struct nlbuf *b) {
  struct nlmsghdr *nlh = addr_hdr(b, RTM_NEWADDR, 0, AF_INET, 2, 24);

  mnl_attr_put(nlh, IFA_LOCAL, 5, "\xc0\x00\x02\x63\x00");
  nb_end(b, nlh);
}

static void b_addr6_v4_size(struct nlbuf *b) {
  struct nlmsghdr *nlh = addr_hdr(b, RTM_NEWADDR, 0, AF_INET6, 2, 64);

  mnl_attr_put(nlh, IFA_ADDRESS, 4, "\x20\x01\x0d\xb8");
  nb_end(b, nlh);
}

static void b_addr_bad_prefix(struct nlbuf *b) {
  struct nlmsghdr *nlh = addr_hdr(b, RTM_NEWADDR, 0, AF_INET, 2, 33);

  mnl_attr_put(nlh, IFA_LOCAL, 4, "\xc0\x00\x02\x63");
  nb_end(b, nlh);
}

static void b_addr_no_index(struct nlbuf *b) {
  struct nlmsghdr *nlh = addr_hdr(b, RTM_NEWADDR, 0, AF_INET, 0, 24);

  mnl_attr_put(nlh, IFA_LOCAL, 4, "\xc0\x00\x02\x63");
  nb_end(b, nlh);
}

static void b_addr_missing(struct nlbuf *b) {
  struct nlmsghdr *nlh = addr_hdr(b, RTM_NEWADDR, 0, AF_INET, 2, 24);

  mnl_attr_put_u32(nlh, IFA_FLAGS, 0);
  nb_end(b, nlh);
}

static void b_route_oif_u16(struct nlbuf *b) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET});

  mnl_attr_put_u16(nlh, RTA_OIF, 2);
  nb_end(b, nlh);
}

static void b_route_oif_zero(struct nlbuf *b) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET});

  mnl_attr_put_u32(nlh, RTA_OIF, 0);
  nb_end(b, nlh);
}

static void b_route_priority_u64(struct nlbuf *b) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET});

  mnl_attr_put_u64(nlh, RTA_PRIORITY, 1);
  mnl_attr_put_u32(nlh, RTA_OIF, 2);
  nb_end(b, nlh);
}

static void b_route_table_u16(struct nlbuf *b) {
  struct nlmsghdr *nlh = nb_msg(b, RTM_NEWROUTE, 0);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);

  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u16(nlh, RTA_TABLE, RT_TABLE_MAIN);
  mnl_attr_put_u32(nlh, RTA_OIF, 2);
  nb_end(b, nlh);
}

/* RTA_MULTIPATH whose single nexthop has the given header fields. */
static void multipath_raw(struct nlbuf *b, unsigned short rtnh_len, int ifindex) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET6});
  struct rtnexthop nh = {.rtnh_len = rtnh_len, .rtnh_ifindex = ifindex};

  mnl_attr_put(nlh, RTA_MULTIPATH, sizeof nh, &nh);
  nb_end(b, nlh);
}

static void b_multipath_short(struct nlbuf *b) {
  multipath_raw(b, 4, 2);
}

static void b_multipath_long(struct nlbuf *b) {
  multipath_raw(b, 64, 2);
}

/* A nexthop whose length spills into the route's next attribute, a
 * well-formed RTA_GATEWAY: only the bound on rtnh_len rejects it. */
static void b_multipath_spill(struct nlbuf *b) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET6});
  struct rtnexthop nh = {.rtnh_len = sizeof nh + 20, .rtnh_ifindex = 2};
  uint8_t gw[16];

  pton("fe80::1", gw);
  mnl_attr_put(nlh, RTA_MULTIPATH, sizeof nh, &nh);
  mnl_attr_put(nlh, RTA_GATEWAY, sizeof gw, gw);
  nb_end(b, nlh);
}

static void b_multipath_no_index(struct nlbuf *b) {
  multipath_raw(b, sizeof(struct rtnexthop), 0);
}

static void b_multipath_bad_gateway(struct nlbuf *b) {
  struct nlmsghdr *nlh = route_hdr(b, RTM_NEWROUTE, 0, &(struct rt){.family = AF_INET6});
  struct nlattr *nest = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
  struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);

  nlh->nlmsg_len += sizeof *nh;
  nh->rtnh_ifindex = 2;
  mnl_attr_put(nlh, RTA_GATEWAY, 4, "\xfe\x80\0\0"); /* IPv4-sized in IPv6 */
  nh->rtnh_len = (unsigned short)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nh);
  mnl_attr_nest_end(nlh, nest);
  nb_end(b, nlh);
}

static void b_error_short(struct nlbuf *b) {
  struct nlmsghdr *nlh = nb_msg(b, NLMSG_ERROR, 0);

  put_raw(nlh, "\xff\xff\xff\xff", 4); /* an error code, no echoed header */
  nb_end(b, nlh);
}

static const struct hostile hostile_cases[] = {
    {"attribute length 0", b_h_attr_len_zero},
    {"attribute length below its header", b_h_attr_len_short},
    {"attribute length 0xffff", b_h_attr_len_huge},
    {"attribute one byte past the message", b_h_attr_len_past_end},
    {"ifname without NUL", b_h_name_unterminated},
    {"ifname longer than IFNAMSIZ", b_h_name_too_long},
    {"empty ifname", b_h_name_empty},
    {"RTM_NEWLINK without ifname", b_h_name_missing},
    {"junk after the attributes", b_h_trailing_junk},
    {"negative ifindex", b_link_bad_index},
    {"half an ifinfomsg", b_link_short_header},
    {"5-byte IPv4 address", b_addr_wrong_size},
    {"4-byte IPv6 address", b_addr6_v4_size},
    {"IPv4 prefix length 33", b_addr_bad_prefix},
    {"address on ifindex 0", b_addr_no_index},
    {"RTM_NEWADDR without an address", b_addr_missing},
    {"u16 RTA_OIF", b_route_oif_u16},
    {"RTA_OIF 0", b_route_oif_zero},
    {"u64 RTA_PRIORITY", b_route_priority_u64},
    {"u16 RTA_TABLE", b_route_table_u16},
    {"rtnexthop shorter than itself", b_multipath_short},
    {"rtnexthop longer than RTA_MULTIPATH", b_multipath_long},
    {"rtnexthop spilling into the next attribute", b_multipath_spill},
    {"rtnexthop on ifindex 0", b_multipath_no_index},
    {"4-byte gateway in an IPv6 nexthop", b_multipath_bad_gateway},
    {"NLMSG_ERROR without its header", b_error_short},
};

/* Apply a lone hostile message from an exact-size heap copy, so that any
 * read past its end lands in an ASan/valgrind redzone. */
static void expect_rejected_alone(const struct nlbuf *b, const char *what) {
  void *p = malloc(b->len);
  mrt__link_snapshot *s;
  int rc;

  assert_non_null(p);
  memcpy(p, b->u.bytes, b->len);
  assert_int_equal(mrt__link_snapshot_new(&s), 0);
  rc = mrt__link_snapshot_apply(s, p, b->len, NULL, NULL);
  if (rc != -EBADMSG || mrt__link_snapshot_addr_count(s) != 0) {
    print_error("hostile case '%s' alone: rc %d\n", what, rc);
    fail();
  }
  mrt__link_snapshot_free(s);
  free(p);
}

/* Each hostile message is skipped without touching the state, counted, and
 * does not stop a valid message after it in the same buffer. */
static void test_hostile_messages(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof hostile_cases / sizeof hostile_cases[0]; i++) {
    mrt__link_snapshot *s = world_snapshot();
    mrt__link_snapshot *ref = world_snapshot();
    struct nlbuf b;
    uint32_t f = 0;
    int rc;

    nb_reset(&b);
    hostile_cases[i].build(&b);
    expect_rejected_alone(&b, hostile_cases[i].what);
    put_link(&b, RTM_NEWLINK, 0, 9, "canary", UP_RUNNING);
    rc = mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL);
    link_msg(ref, RTM_NEWLINK, 9, "canary", UP_RUNNING);
    if (rc != -EBADMSG || f != F_UP || stats_of(s).malformed != 1 ||
        !mrt__link_snapshot_equal(s, ref)) {
      print_error("hostile case '%s': rc %d, flags 0x%x, malformed %llu\n", hostile_cases[i].what,
                  rc, (unsigned)f, (unsigned long long)stats_of(s).malformed);
      fail();
    }
    mrt__link_snapshot_free(s);
    mrt__link_snapshot_free(ref);
  }
}

/* A lying nlmsg_len makes the rest of the buffer unframeable. 0xffffffff
 * passes libmnl's own mnl_nlmsg_ok (signed comparison). */
static void test_hostile_frames(void **state) {
  static const uint32_t lies[] = {0, 8, 15, 0x7fffffffu, 0x80000000u, 0xffffffffu};
  mrt__link_snapshot *s = *state;

  for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
    struct nlbuf b;
    uint32_t f = 0;

    nb_reset(&b);
    put_link(&b, RTM_NEWLINK, 0, 2, "eth0", UP_RUNNING);
    ((struct nlmsghdr *)b.u.bytes)->nlmsg_len = lies[i];
    assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), -EBADMSG);
    assert_flags(f, 0);
    assert_int_equal(stats_of(s).malformed, i + 1);
    assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
    assert_int_equal(mrt__link_snapshot_iface(s, 2, &(mrt__link_iface_info){0}), -ENOENT);
  }
  /* One byte more than the buffer holds. */
  {
    struct nlbuf b;

    nb_reset(&b);
    put_link(&b, RTM_NEWLINK, 0, 2, "eth0", UP_RUNNING);
    ((struct nlmsghdr *)b.u.bytes)->nlmsg_len = (uint32_t)b.len + 1;
    assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, NULL, NULL), -EBADMSG);
  }
}

static void test_unknown_skipped(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_iface_info info;
  struct nlbuf b;
  struct nlmsghdr *nlh;
  uint32_t f = 0;

  nb_reset(&b);
  nlh = link_hdr(&b, RTM_NEWLINK, 0, 2, UP_RUNNING);
  mnl_attr_put_u32(nlh, IFLA_MAX + 1, 7);
  mnl_attr_put(nlh, 0x3fff, 7, "ignored");
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
  mnl_attr_put_u32(nlh, NLA_F_NESTED | (IFLA_MAX + 9), 1);
  nb_end(&b, nlh);
  /* Message types and families that are not ours. */
  nlh = nb_msg(&b, RTM_NEWNEIGH, 0);
  put_raw(nlh, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
  nb_end(&b, nlh);
  nlh = nb_msg(&b, 0x7777, 0);
  nb_end(&b, nlh);
  nlh = nb_msg(&b, NLMSG_NOOP, 0);
  nb_end(&b, nlh);
  nlh = addr_hdr(&b, RTM_NEWADDR, 0, AF_PACKET, 2, 0);
  nb_end(&b, nlh);
  nlh = route_hdr(&b, RTM_NEWROUTE, 0, &(struct rt){.family = 28 /* AF_MPLS */});
  nb_end(&b, nlh);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), 6);
  assert_flags(f, F_UP);
  assert_int_equal(mrt__link_snapshot_iface(s, 2, &info), 0);
  assert_string_equal(info.name, "eth0");
  assert_int_equal(mrt__link_snapshot_addr_count(s), 0);
  assert_int_equal(stats_of(s).malformed, 0);
}

static void test_error_and_done(void **state) {
  mrt__link_snapshot *s = *state;
  struct nlmsghdr *nlh;
  struct nlbuf b;
  uint32_t f = 0;

  nb_reset(&b);
  put_error(&b, 0); /* ACK */
  put_done(&b, 0);
  nlh = nb_msg(&b, NLMSG_DONE, NLM_F_MULTI); /* older kernels: no payload */
  nb_end(&b, nlh);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), 3);
  assert_int_equal(stats_of(s).errors, 0);
  /* An error does not stop the messages around it. */
  nb_reset(&b);
  put_link(&b, RTM_NEWLINK, 0, 2, "eth0", UP_RUNNING);
  put_error(&b, -EPERM);
  put_addr(&b, RTM_NEWADDR, 0, 2, "192.0.2.10", 24);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, NULL), -EPERM);
  assert_flags(f, F_UP | F_ADD);
  assert_int_equal(stats_of(s).errors, 1);
  assert_int_equal(stats_of(s).last_error, -EPERM);
  nb_reset(&b);
  put_done(&b, -EMSGSIZE);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, NULL, NULL), -EMSGSIZE);
  /* Codes that are not negative errnos cannot pose as counts. */
  nb_reset(&b);
  put_error(&b, 5);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, NULL, NULL), -EIO);
  nb_reset(&b);
  put_error(&b, INT_MIN);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, NULL, NULL), -EIO);
  /* Malformed data outranks a kernel error in the return value. */
  nb_reset(&b);
  put_error(&b, -EPERM);
  b_error_short(&b);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, NULL, NULL), -EBADMSG);
}

static void test_bad_arguments(void **state) {
  mrt__link_snapshot *s = *state;
  struct nlbuf b;
  mrt__link_stats st;

  nb_reset(&b);
  put_link(&b, RTM_NEWLINK, 0, 2, "eth0", UP_RUNNING);
  assert_int_equal(mrt__link_snapshot_apply(NULL, b.u.bytes, b.len, NULL, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_apply(s, NULL, 16, NULL, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes + 2, b.len - 4, NULL, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, (size_t)INT_MAX + 1, NULL, NULL),
                   -EINVAL);
  assert_int_equal(mrt__link_snapshot_apply(s, NULL, 0, NULL, NULL), 0);
  assert_int_equal(mrt__link_snapshot_new(NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_default_ifindex(s, AF_UNIX), -EINVAL);
  assert_int_equal(mrt__link_snapshot_default_ifindex(NULL, AF_INET), -EINVAL);
  assert_int_equal(mrt__link_snapshot_foreach_addr(s, NULL, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_iface(s, 2, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_begin_resync(NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_set_ignored(NULL, NULL, 0, NULL), -EINVAL);
  assert_int_equal(mrt__link_snapshot_addr_count(NULL), 0);
  mrt__link_snapshot_get_stats(NULL, &st);
  assert_int_equal(st.messages, 0);
  mrt__link_snapshot_abort_resync(NULL);
  mrt__link_snapshot_free(NULL);
  assert_int_equal(stats_of(s).messages, 0);
}

static void test_flags_str(void **state) {
  char buf[128];
  char *small;

  (void)state;
  assert_string_equal(mrt_link_change_flags_str(0, buf, sizeof buf), "none");
  assert_string_equal(mrt_link_change_flags_str(F_UP | F_ADD, buf, sizeof buf),
                      "link-up,addr-added");
  assert_string_equal(mrt_link_change_flags_str(MRT_LINK_CHANGE_ALL, buf, sizeof buf),
                      "link-up,link-down,addr-added,addr-removed,default-route,resync");
  assert_string_equal(mrt_link_change_flags_str(F_DOWN | (1u << 8), buf, sizeof buf),
                      "link-down,0x100");
  assert_string_equal(mrt_link_change_flags_str(F_UP | F_DOWN, buf, 8), "link-up");
  assert_string_equal(mrt_link_change_flags_str(F_UP | F_DOWN, buf, 5), "link");
  /* Exact-size heap buffer: items after the first overflow must not be
     * written past it (ASan would see that). */
  small = malloc(8);
  assert_non_null(small);
  assert_string_equal(mrt_link_change_flags_str(F_UP | F_DOWN | F_ADD | F_DEL, small, 8),
                      "link-up");
  free(small);
  assert_string_equal(mrt_link_change_flags_str(F_UP, buf, 1), "");
  assert_string_equal(mrt_link_change_flags_str(F_UP, NULL, 10), "");
  assert_string_equal(mrt_link_change_flags_str(F_UP, buf, 0), "");
}

/* ---- what changed where ------------------------------------------------ */

/* Apply a well-formed buffer and render the changes it listed. */
static const char *applied_text(mrt__link_snapshot *s, const struct nlbuf *b, char *text,
                                size_t cap) {
  mrt__link_changes c;
  uint32_t f = 0;

  memset(&c, 0, sizeof c);
  assert_true(mrt__link_snapshot_apply(s, b->u.bytes, b->len, &f, &c) >= 0);
  assert_int_equal(c.flags, f); /* the list's flags are the apply's */
  mrt_link_change ev = {.flags = c.flags,
                        .raw_events = 1,
                        .n_changes = c.n,
                        .more_changes = c.more,
                        .changes = c.items};
  return mrt_link_change_list_str(&ev, text, cap);
}

static const char *link_text(mrt__link_snapshot *s, uint16_t type, int ifindex, const char *name,
                             unsigned flags, char *text, size_t cap) {
  struct nlbuf b;

  nb_reset(&b);
  put_link(&b, type, 0, ifindex, name, flags);
  return applied_text(s, &b, text, cap);
}

static const char *addr_text(mrt__link_snapshot *s, uint16_t type, int ifindex, const char *addr,
                             uint8_t plen, char *text, size_t cap) {
  struct nlbuf b;

  nb_reset(&b);
  put_addr(&b, type, 0, ifindex, addr, plen);
  return applied_text(s, &b, text, cap);
}

static const char *route4_text(mrt__link_snapshot *s, uint16_t type, int oif, uint32_t metric,
                               char *text, size_t cap) {
  struct rt r = {.family = AF_INET, .oif = oif, .metric = metric, .gw = "192.0.2.1"};
  struct nlbuf b;

  nb_reset(&b);
  put_route(&b, type, 0, &r);
  return applied_text(s, &b, text, cap);
}

static void test_changes_say_where(void **state) {
  mrt__link_snapshot *s = *state;
  struct rt r6 = {.family = AF_INET6, .oif = 4, .metric = 1024, .gw = "fe80::1"};
  mrt__link_changes c;
  uint8_t want[16];
  char t[1024];
  struct nlbuf b;
  uint32_t f = 0;

  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", IFF_UP, t, sizeof t),
                      "eth0: link up, no carrier");
  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING, t, sizeof t),
                      "eth0: link up");
  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", IFF_UP, t, sizeof t),
                      "eth0: link down (no carrier)");
  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING, t, sizeof t),
                      "eth0: link up");
  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", UP_RUNNING, t, sizeof t), "");
  assert_string_equal(addr_text(s, RTM_NEWADDR, 2, "192.0.2.7", 24, t, sizeof t),
                      "eth0: address 192.0.2.7/24 added");
  assert_string_equal(addr_text(s, RTM_NEWADDR, 2, "192.0.2.7", 24, t, sizeof t), "");
  /* Unroutable addresses are not news. */
  assert_string_equal(addr_text(s, RTM_NEWADDR, 2, "fe80::2", 64, t, sizeof t), "");
  link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING);
  link_msg(s, RTM_NEWLINK, 4, "wlan0", UP_RUNNING);
  addr_msg(s, RTM_NEWADDR, 3, "198.51.100.10", 24);
  assert_string_equal(addr_text(s, RTM_NEWADDR, 4, "2001:db8::5", 64, t, sizeof t),
                      "wlan0: address 2001:db8::5/64 added");
  /* The default route: where it goes, and where it was. */
  assert_string_equal(route4_text(s, RTM_NEWROUTE, 2, 100, t, sizeof t),
                      "default route now via eth0");
  assert_string_equal(route4_text(s, RTM_NEWROUTE, 3, 50, t, sizeof t),
                      "default route now via eth1 (was eth0)");
  assert_string_equal(route4_text(s, RTM_DELROUTE, 3, 50, t, sizeof t),
                      "default route now via eth0 (was eth1)");
  nb_reset(&b);
  put_route(&b, RTM_NEWROUTE, 0, &r6);
  assert_string_equal(applied_text(s, &b, t, sizeof t), "IPv6 default route now via wlan0");
  /* Admin down takes the link and its routes. */
  assert_string_equal(link_text(s, RTM_NEWLINK, 2, "eth0", 0, t, sizeof t),
                      "eth0: link down; default route gone (was via eth0)");
  assert_string_equal(addr_text(s, RTM_DELADDR, 2, "192.0.2.7", 24, t, sizeof t),
                      "eth0: address 192.0.2.7/24 removed");
  /* A deleted interface, its addresses still listed in the snapshot. */
  assert_string_equal(link_text(s, RTM_DELLINK, 3, "eth1", UP_RUNNING, t, sizeof t),
                      "eth1: link removed; eth1: address 198.51.100.10/24 removed");
  /* The items carry the facts, not only the text. */
  nb_reset(&b);
  put_addr(&b, RTM_DELADDR, 0, 4, "2001:db8::5", 64);
  memset(&c, 0, sizeof c);
  assert_true(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, &c) >= 0);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.more, 0);
  assert_flags(c.items[0].flags, F_DEL);
  assert_int_equal(c.items[0].ifindex, 4);
  assert_string_equal(c.items[0].ifname, "wlan0");
  assert_int_equal(c.items[0].family, AF_INET6);
  assert_int_equal(c.items[0].prefixlen, 64);
  pton("2001:db8::5", want);
  assert_memory_equal(c.items[0].addr, want, 16);
}

/* Interface names are the kernel's bytes: kept exact in the item, escaped in
 * every text. */
static void test_changes_hostile_names(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_changes c;
  char t[256];
  struct nlbuf b;
  uint32_t f = 0;

  nb_reset(&b);
  put_link(&b, RTM_NEWLINK, 0, 7, "e\x1b[2J\r\n", UP_RUNNING);
  memset(&c, 0, sizeof c);
  assert_true(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, &c) >= 0);
  assert_int_equal(c.n, 1);
  assert_string_equal(c.items[0].ifname, "e\x1b[2J\r\n");
  assert_string_equal(mrt_link_change_item_str(&c.items[0], t, sizeof t),
                      "e\\x1b[2J\\x0d\\x0a: link up");
  assert_string_equal(link_text(s, RTM_NEWLINK, 8, "\xff\xfe\\ x", UP_RUNNING, t, sizeof t),
                      "\\xff\\xfe\\x5c\\x20x: link up");
  for (const char *p = t; *p; p++)
    assert_true(*p > 0x20 - 1 && *p < 0x7f);
}

/* However many changes one buffer (or a burst) holds, the list keeps the
 * first MRT_LINK_CHANGE_LIST_MAX in order and counts the rest. */
static void test_changes_bounded_in_a_storm(void **state) {
  mrt__link_snapshot *s = *state;
  mrt__link_changes c;
  char text[32], t[4096];
  struct nlbuf b;
  uint32_t f = 0;

  link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING);
  nb_reset(&b);
  for (int i = 0; i < 100; i++) {
    snprintf(text, sizeof text, "10.1.%d.%d", i / 200, i % 200 + 1);
    put_addr(&b, RTM_NEWADDR, 0, 3, text, 16);
  }
  memset(&c, 0, sizeof c);
  assert_int_equal(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, &c), 100);
  assert_int_equal(c.n, MRT_LINK_CHANGE_LIST_MAX);
  assert_int_equal(c.more, 100 - MRT_LINK_CHANGE_LIST_MAX);
  assert_string_equal(mrt_link_change_item_str(&c.items[0], t, sizeof t),
                      "eth1: address 10.1.0.1/16 added");
  assert_string_equal(mrt_link_change_item_str(&c.items[15], t, sizeof t),
                      "eth1: address 10.1.0.16/16 added");
  /* The interface goes with all 100: listed from the table once, counted
     * when the list is full. */
  nb_reset(&b);
  put_link(&b, RTM_DELLINK, 0, 3, "eth1", UP_RUNNING);
  memset(&c, 0, sizeof c);
  assert_true(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, &c) >= 0);
  assert_int_equal(c.n, MRT_LINK_CHANGE_LIST_MAX);
  assert_int_equal(c.more, 101 - MRT_LINK_CHANGE_LIST_MAX);
  assert_flags(c.flags, F_DOWN | F_DEL);
  mrt_link_change ev = {.flags = c.flags,
                        .raw_events = 1,
                        .n_changes = c.n,
                        .more_changes = c.more,
                        .changes = c.items};
  mrt_link_change_list_str(&ev, t, sizeof t);
  assert_non_null(strstr(t, "eth1: link removed; eth1: address 10.1."));
  assert_non_null(strstr(t, " (+85 more)"));
  /* Already full: a second buffer only counts. */
  link_msg(s, RTM_NEWLINK, 3, "eth1", UP_RUNNING);
  nb_reset(&b);
  put_addr(&b, RTM_NEWADDR, 0, 3, "10.2.0.1", 16);
  assert_true(mrt__link_snapshot_apply(s, b.u.bytes, b.len, &f, &c) >= 0);
  assert_int_equal(c.n, MRT_LINK_CHANGE_LIST_MAX);
  assert_int_equal(c.more, 102 - MRT_LINK_CHANGE_LIST_MAX);
}

/* A resync lists what the re-dump found, each change marked. */
static void test_resync_lists_differences(void **state) {
  mrt__link_snapshot *s = world_snapshot();
  struct rt r4 = {.family = AF_INET, .oif = 4, .metric = 50, .gw = "203.0.113.1"};
  mrt__link_changes c;
  struct nlbuf dump;
  uint32_t f = 0;
  char t[2048];

  (void)state;
  nb_reset(&dump);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 1, "lo", UP_RUNNING | IFF_LOOPBACK);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 2, "eth0", UP_RUNNING);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 3, "wlan0", IFF_UP);
  put_link(&dump, RTM_NEWLINK, NLM_F_MULTI, 4, "usb0", UP_RUNNING);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 1, "127.0.0.1", 8);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 2, "192.0.2.20", 24);
  put_addr(&dump, RTM_NEWADDR, NLM_F_MULTI, 3, "2001:db8::3", 64);
  put_route(&dump, RTM_NEWROUTE, NLM_F_MULTI, &r4);
  put_route(&dump, RTM_NEWROUTE, NLM_F_MULTI,
            &(struct rt){.family = AF_INET6, .oif = 3, .metric = 600, .gw = "fe80::1"});
  assert_int_equal(mrt__link_snapshot_begin_resync(s), 0);
  feed_dump(s, &dump);
  memset(&c, 0, sizeof c);
  assert_int_equal(mrt__link_snapshot_finish_resync(s, &f, &c), 0);
  assert_flags(f, F_RESYNC | F_UP | F_DOWN | F_ADD | F_DEL | F_ROUTE);
  assert_flags(c.flags, f);
  for (uint32_t i = 0; i < c.n; i++)
    assert_true(c.items[i].flags & F_RESYNC);
  mrt_link_change ev = {.flags = c.flags,
                        .raw_events = 1,
                        .n_changes = c.n,
                        .more_changes = c.more,
                        .changes = c.items};
  assert_string_equal(mrt_link_change_list_str(&ev, t, sizeof t),
                      "wlan0: link down (no carrier) (resync); usb0: link up (resync); "
                      "eth0: address 192.0.2.10/24 removed (resync); "
                      "eth0: address 192.0.2.20/24 added (resync); "
                      "default route now via usb0 (was eth0) (resync)");
  mrt__link_snapshot_free(s);
}

static void test_item_text(void **state) {
  mrt_link_change_item it;
  char t[256], small[12];

  (void)state;
  memset(&it, 0, sizeof it);
  it.flags = F_DOWN;
  it.ifindex = 9;
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t), "ifindex 9: link down");
  it.gone = 1;
  memcpy(it.ifname, "eth0", 5);
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t), "eth0: link removed");
  it.flags = F_DEL; /* an address item that names no address */
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t), "eth0: address removed");
  memset(&it, 0, sizeof it);
  it.flags = F_ROUTE | F_RESYNC;
  it.family = AF_INET6;
  memcpy(it.old_ifname, "wlan0", 6);
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t),
                      "IPv6 default route gone (was via wlan0) (resync)");
  it.flags = F_ROUTE;
  it.old_ifname[0] = '\0';
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t), "IPv6 default route changed");
  /* A name of 16 bytes without a NUL is read bounded. */
  memset(&it, 0, sizeof it);
  it.flags = F_UP;
  it.level = MRT_LINK_LEVEL_UP;
  memset(it.ifname, 'a', sizeof it.ifname);
  assert_string_equal(mrt_link_change_item_str(&it, t, sizeof t), "aaaaaaaaaaaaaaa: link up");
  /* Truncation never cuts an escape in half, and always terminates. */
  assert_string_equal(mrt_link_ifname_str("ab\x01", small, 6), "ab");
  assert_string_equal(mrt_link_ifname_str("", small, sizeof small), "?");
  assert_string_equal(mrt_link_ifname_str("x", NULL, 4), "");
  assert_string_equal(mrt_link_change_item_str(NULL, t, sizeof t), "");
  assert_string_equal(mrt_link_change_item_str(&it, small, sizeof small), "aaaaaaaaaaa");
  /* A list that does not fit counts what it left out. */
  mrt_link_change_item items[3];
  for (int i = 0; i < 3; i++)
    items[i] = it;
  mrt_link_change ev = {
      .flags = F_UP, .raw_events = 3, .n_changes = 3, .more_changes = 2, .changes = items};
  assert_string_equal(mrt_link_change_list_str(&ev, t, sizeof t),
                      "aaaaaaaaaaaaaaa: link up; aaaaaaaaaaaaaaa: link up; "
                      "aaaaaaaaaaaaaaa: link up (+2 more)");
  assert_string_equal(mrt_link_change_list_str(&ev, t, 60), "aaaaaaaaaaaaaaa: link up (+4 more)");
  ev.n_changes = 0;
  ev.more_changes = 0;
  assert_string_equal(mrt_link_change_list_str(&ev, t, sizeof t), "");
  /* Copies are deep; release empties. */
  mrt_link_change copy;
  ev.n_changes = 3;
  assert_int_equal(mrt_link_change_copy(&copy, &ev), 0);
  assert_ptr_not_equal(copy.changes, items);
  assert_memory_equal(copy.changes, items, sizeof items);
  mrt_link_change_release(&copy);
  assert_null(copy.changes);
  assert_int_equal(copy.n_changes, 0);
  mrt_link_change_release(NULL);
  ev.n_changes = MRT_LINK_CHANGE_LIST_MAX + 1;
  assert_int_equal(mrt_link_change_copy(&copy, &ev), -EINVAL);
  assert_int_equal(mrt_link_change_copy(NULL, &ev), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
      T(test_link_up_down),
      T(test_bridge_family_link_messages),
      T(test_addr_v4_add_remove),
      T(test_addr_v6_add_remove),
      T(test_duplicate_newaddr_ignored),
      T(test_loopback_ignored),
      T(test_unroutable_addresses_ignored),
      T(test_ignored_interface_names),
      T(test_address_before_link),
      T(test_address_storm),
      T(test_default_route_v4),
      T(test_default_route_v6),
      T(test_noise_routes_ignored),
      T(test_resync_without_difference),
      T(test_resync_with_difference),
      T(test_resync_uninteresting_difference),
      T(test_resync_routes_notifications),
      T(test_resync_inconsistent_and_abort),
      T(test_initial_dump_via_resync),
      T(test_diff_and_equal),
      T(test_truncated_at_every_length),
      T(test_truncated_message_lengths),
      T(test_hostile_messages),
      T(test_hostile_frames),
      T(test_unknown_skipped),
      T(test_error_and_done),
      T(test_bad_arguments),
      T(test_flags_str),
      T(test_changes_say_where),
      T(test_changes_hostile_names),
      T(test_changes_bounded_in_a_storm),
      T(test_resync_lists_differences),
      T(test_item_text),
#undef T
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
