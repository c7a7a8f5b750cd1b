/* SPDX-License-Identifier: MIT */
/* meshrt — rtnetlink messages applied to a link snapshot.
 *
 * Every buffer the link monitor receives is handed to
 * mrt__link_snapshot_apply, which walks its messages, validates them and
 * applies links, addresses and default routes to the state kept by
 * link_snapshot.c, reporting the interesting difference each made. The data
 * comes from the kernel but is still treated as hostile: every length is
 * checked before use, every attribute validated with libmnl, and malformed
 * messages are counted and skipped without touching the state. During a
 * resync, dump replies go to the pending snapshot only (see link_snapshot.h).
 *
 * Threading: none. A snapshot is owned by the monitor and used from one thread
 * at a time; nothing here blocks, allocates without bound or keeps globals.
 */
#include "link_state.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* Capacity limit, like those in link_snapshot.c: nexthops kept per route
 * message; further ones are validated but not kept. */
#define MAX_NEXTHOPS 32

/* Outcome of one message, merged per buffer into apply's return value. */
struct msg_status {
  bool malformed;
  bool nomem;
  int error; /* kernel-reported error code, negative */
};

/* ---- attribute parsing ------------------------------------------------ */

/* Collect the attributes of [base, base+len) into tb[0..max], skipping
 * unknown types. Unlike mnl_attr_parse, which walks up to the *aligned* end
 * of the message and silently stops at a broken attribute, this walks the
 * exact region and rejects it unless it is a clean sequence of attributes,
 * so a truncated or lying length is never half-trusted. */
static int parse_attrs(const void *base, size_t len, const struct nlattr **tb, uint16_t max) {
  size_t off = 0;

  memset(tb, 0, ((size_t)max + 1) * sizeof *tb);
  while (len - off >= MNL_ATTR_HDRLEN) {
    const struct nlattr *a = (const struct nlattr *)((const char *)base + off);

    if (!mnl_attr_ok(a, (int)(len - off)))
      return -EBADMSG;
    if (mnl_attr_type_valid(a, max) > 0)
      tb[mnl_attr_get_type(a)] = a;
    off += MNL_ALIGN(a->nla_len);
    if (off > len) /* the last attribute's padding may be cut off */
      off = len;
  }
  return off == len ? 0 : -EBADMSG;
}

/* Check that the message holds its fixed header of `hdrlen` bytes and parse
 * the attributes that follow it. */
static int parse_msg(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
                     uint16_t max) {
  size_t plen = mnl_nlmsg_get_payload_len(nlh);
  size_t start = MNL_ALIGN(hdrlen);

  if (plen < hdrlen)
    return -EBADMSG;
  if (start > plen)
    start = plen;
  return parse_attrs((const char *)mnl_nlmsg_get_payload(nlh) + start, plen - start, tb, max);
}

static int attr_u32(const struct nlattr *a, uint32_t *out) {
  if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
    return -EBADMSG;
  *out = mnl_attr_get_u32(a);
  return 0;
}

/* An ifindex carried as u32: 0 and values beyond int are invalid. */
static int attr_ifindex(const struct nlattr *a, int *out) {
  uint32_t v;

  if (attr_u32(a, &v) < 0 || v == 0 || v > INT_MAX)
    return -EBADMSG;
  *out = (int)v;
  return 0;
}

static int attr_inaddr(const struct nlattr *a, size_t alen, uint8_t *out) {
  if (mnl_attr_validate2(a, MNL_TYPE_BINARY, alen) < 0)
    return -EBADMSG;
  memcpy(out, mnl_attr_get_payload(a), alen);
  return 0;
}

static int attr_ifname(const struct nlattr *a, char name[IFNAMSIZ]) {
  size_t n;

  memset(name, 0, IFNAMSIZ);
  if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
    return -EBADMSG;
  /* The validator only checks the final NUL; the name itself must be
     * non-empty and fit IFNAMSIZ. */
  n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
  if (n == 0 || n >= IFNAMSIZ)
    return -EBADMSG;
  memcpy(name, mnl_attr_get_str(a), n);
  name[n] = '\0';
  return 0;
}

/* ---- links ------------------------------------------------------------ */

static int link_update(mrt__link_snapshot *s, int ifindex, const char *name, unsigned ifi_flags,
                       struct change_sink *k) {
  struct iface *ifc;
  struct iface_view before;
  bool was_up, was_interesting;
  int rc = mrt__link_iface_get_or_add(s, ifindex, &ifc);

  if (rc < 0)
    return rc;
  before = mrt__link_view_of(ifc);
  was_interesting = mrt__link_iface_interesting(ifc);
  was_up = ifc->known && (ifc->flags & IFF_UP);
  memcpy(ifc->name, name, IFNAMSIZ);
  ifc->flags = ifi_flags & MRT__LINK_KEPT_IFF;
  ifc->known = true;
  ifc->ignored = mrt__link_name_ignored(s, ifc->name);
  /* Setting an interface down flushes its routes, and the kernel sends no
     * RTM_DELROUTE for the IPv4 ones; mirror the flush so a stale default
     * route does not come back with the link. */
  if (was_up && !(ifc->flags & IFF_UP))
    mrt__link_routes_drop(s, AF_UNSPEC, ifindex, NULL);
  mrt__link_note_view(k, s, s, ifindex, ifc->name, before, mrt__link_view_of(ifc),
                      was_interesting && !mrt__link_iface_interesting(ifc));
  return 0;
}

static int link_delete(mrt__link_snapshot *s, int ifindex, struct change_sink *k) {
  struct iface *ifc = mrt__link_iface_find(s, ifindex);
  char name[IFNAMSIZ];

  if (!ifc)
    return 0;
  /* Report first: the addresses it loses are listed from the table. */
  memcpy(name, ifc->name, IFNAMSIZ);
  mrt__link_note_view(k, s, s, ifindex, name, mrt__link_view_of(ifc), mrt__link_view_of(NULL),
                      true);
  mrt__link_iface_remove(s, ifc);
  mrt__link_table_drop_ifindex(&s->st.addrs, ifindex);
  mrt__link_routes_drop(s, AF_UNSPEC, ifindex, NULL);
  return 0;
}

static int apply_link(mrt__link_snapshot *s, const struct nlmsghdr *nlh, struct change_sink *k) {
  const struct nlattr *tb[IFLA_MAX + 1];
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  char name[IFNAMSIZ];

  if (parse_msg(nlh, sizeof *ifi, tb, IFLA_MAX) < 0)
    return -EBADMSG;
  /* Per-family link messages (AF_BRIDGE) describe bridge ports; a bridge
     * RTM_DELLINK only means a port left its bridge, not that it is gone. */
  if (ifi->ifi_family != AF_UNSPEC)
    return 0;
  if (ifi->ifi_index <= 0)
    return -EBADMSG;
  if (nlh->nlmsg_type == RTM_DELLINK)
    return link_delete(s, ifi->ifi_index, k);
  if (attr_ifname(tb[IFLA_IFNAME], name) < 0)
    return -EBADMSG;
  return link_update(s, ifi->ifi_index, name, ifi->ifi_flags, k);
}

/* ---- addresses -------------------------------------------------------- */

/* Keep an interface's address counters in step with the table. */
static void iface_count(struct iface *ifc, const struct addr_key *k, int delta) {
  ifc->naddrs += (size_t)delta;
  if (k->family == AF_INET)
    ifc->nv4 += (size_t)delta;
  if (mrt__link_addr_routable(k))
    ifc->nroutable += (size_t)delta;
}

static int addr_add(mrt__link_snapshot *s, int ifindex, const struct addr_key *k,
                    struct change_sink *sink) {
  struct iface *ifc;
  int rc;

  /* A repeated RTM_NEWADDR (new lifetimes, DAD finished) is not news. */
  if (mrt__link_table_find(&s->st.addrs, ifindex, k) != SIZE_MAX)
    return 0;
  rc = mrt__link_iface_get_or_add(s, ifindex, &ifc);
  if (rc < 0)
    return rc;
  rc = mrt__link_table_insert(&s->st.addrs, ifindex, k);
  if (rc < 0) {
    if (!ifc->known && ifc->naddrs == 0)
      mrt__link_iface_remove(s, ifc);
    return rc;
  }
  iface_count(ifc, k, +1);
  if (mrt__link_addr_routable(k) && mrt__link_iface_interesting(ifc))
    mrt__link_note_addr(sink, ifindex, ifc->name, k, MRT_LINK_CHANGE_ADDR_ADDED);
  return 0;
}

static int addr_del(mrt__link_snapshot *s, int ifindex, const struct addr_key *k,
                    struct change_sink *sink) {
  size_t i = mrt__link_table_find(&s->st.addrs, ifindex, k);
  struct iface *ifc = mrt__link_iface_find(s, ifindex);

  if (i == SIZE_MAX || !ifc)
    return 0;
  mrt__link_table_remove_at(&s->st.addrs, i);
  iface_count(ifc, k, -1);
  if (mrt__link_addr_routable(k) && mrt__link_iface_interesting(ifc))
    mrt__link_note_addr(sink, ifindex, ifc->name, k, MRT_LINK_CHANGE_ADDR_REMOVED);
  /* Removing the last IPv4 address disables IPv4 on the interface and the
     * kernel flushes its IPv4 routes without notifying; do the same. */
  if (k->family == AF_INET && ifc->nv4 == 0)
    mrt__link_routes_drop(s, AF_INET, ifindex, NULL);
  if (!ifc->known && ifc->naddrs == 0)
    mrt__link_iface_remove(s, ifc);
  return 0;
}

static int apply_addr(mrt__link_snapshot *s, const struct nlmsghdr *nlh, struct change_sink *sink) {
  const struct nlattr *tb[IFA_MAX + 1];
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
  const struct nlattr *a;
  struct addr_key k;
  size_t alen;

  if (parse_msg(nlh, sizeof *ifa, tb, IFA_MAX) < 0)
    return -EBADMSG;
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
    return 0;
  alen = ifa->ifa_family == AF_INET ? 4 : 16;
  if (ifa->ifa_index == 0 || ifa->ifa_index > INT_MAX || ifa->ifa_prefixlen > alen * 8)
    return -EBADMSG;
  /* IFA_LOCAL is our own address; IFA_ADDRESS is the peer on IPv4
     * point-to-point links and the only address attribute otherwise. */
  a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  memset(&k, 0, sizeof k);
  if (!a || attr_inaddr(a, alen, k.addr) < 0)
    return -EBADMSG;
  k.family = ifa->ifa_family;
  k.prefixlen = ifa->ifa_prefixlen;
  if (nlh->nlmsg_type == RTM_NEWADDR)
    return addr_add(s, (int)ifa->ifa_index, &k, sink);
  return addr_del(s, (int)ifa->ifa_index, &k, sink);
}

/* ---- routes ----------------------------------------------------------- */

/* Validate and collect the nexthops of an RTA_MULTIPATH attribute. Each
 * struct rtnexthop carries its own length; none is trusted until it is shown
 * to fit. Nexthops beyond `cap` are validated but not kept. */
static int parse_multipath(const struct nlattr *mp, const struct droute *tmpl, struct droute *out,
                           size_t cap, size_t *n) {
  const char *p;
  size_t len, off = 0;

  if (mnl_attr_validate(mp, MNL_TYPE_BINARY) < 0)
    return -EBADMSG;
  p = mnl_attr_get_payload(mp);
  len = mnl_attr_get_payload_len(mp);
  while (len - off >= sizeof(struct rtnexthop)) {
    const struct rtnexthop *nh = (const struct rtnexthop *)(p + off);
    const struct nlattr *tb[RTA_MAX + 1];
    struct droute r = *tmpl;

    if (nh->rtnh_len < sizeof *nh || nh->rtnh_len > len - off || nh->rtnh_ifindex <= 0)
      return -EBADMSG;
    if (parse_attrs(p + off + sizeof *nh, nh->rtnh_len - sizeof *nh, tb, RTA_MAX) < 0)
      return -EBADMSG;
    r.oif = nh->rtnh_ifindex;
    if (tb[RTA_GATEWAY] && attr_inaddr(tb[RTA_GATEWAY], r.gw_len, r.gw) < 0)
      return -EBADMSG;
    if (!tb[RTA_GATEWAY])
      r.gw_len = 0;
    if (*n < cap)
      out[(*n)++] = r;
    off += RTNH_ALIGN(nh->rtnh_len);
    if (off > len)
      off = len;
  }
  return off == len ? 0 : -EBADMSG;
}

/* The nexthops of a default route: one from RTA_OIF/RTA_GATEWAY, or several
 * from RTA_MULTIPATH. None for routes through nexthop objects or with no
 * device (blackhole-like), which cannot be attributed to an interface. */
static int route_nexthops(const struct nlattr **tb, const struct droute *tmpl, struct droute *out,
                          size_t *n) {
  *n = 0;
  if (tb[RTA_OIF]) {
    out[0] = *tmpl;
    if (attr_ifindex(tb[RTA_OIF], &out[0].oif) < 0)
      return -EBADMSG;
    if (!tb[RTA_GATEWAY])
      out[0].gw_len = 0;
    else if (attr_inaddr(tb[RTA_GATEWAY], out[0].gw_len, out[0].gw) < 0)
      return -EBADMSG;
    *n = 1;
    return 0;
  }
  if (tb[RTA_MULTIPATH])
    return parse_multipath(tb[RTA_MULTIPATH], tmpl, out, MAX_NEXTHOPS, n);
  return 0;
}

static int route_store(mrt__link_snapshot *s, const struct nlmsghdr *nlh, const struct droute *nhs,
                       size_t n) {
  if (nlh->nlmsg_type == RTM_DELROUTE) {
    for (size_t i = 0; i < n; i++) {
      ssize_t at = mrt__link_route_index(s, &nhs[i]);
      if (at >= 0)
        mrt__link_route_remove_at(s, (size_t)at);
    }
    return 0;
  }
  /* A replace is announced alone: no RTM_DELROUTE follows for the route it
     * displaced (same family, prefix, table and metric). Dump replies reuse
     * that flag bit as NLM_F_ROOT, hence the NLM_F_MULTI check. */
  if ((nlh->nlmsg_flags & NLM_F_REPLACE) && !(nlh->nlmsg_flags & NLM_F_MULTI))
    mrt__link_routes_drop(s, nhs[0].family, 0, &nhs[0].metric);
  for (size_t i = 0; i < n; i++) {
    int rc = mrt__link_route_add(s, &nhs[i]);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int apply_route(mrt__link_snapshot *s, const struct nlmsghdr *nlh) {
  const struct nlattr *tb[RTA_MAX + 1];
  const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
  struct droute tmpl, nhs[MAX_NEXTHOPS];
  uint32_t table;
  size_t n;

  if (parse_msg(nlh, sizeof *rtm, tb, RTA_MAX) < 0)
    return -EBADMSG;
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
    return 0;
  table = rtm->rtm_table;
  if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &table) < 0)
    return -EBADMSG;
  /* Only the main table's unicast default route says where traffic
     * leaves; multicast, link-local and prefix routes and the host's own
     * tables are noise here. */
  if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len != 0 ||
      rtm->rtm_src_len != 0)
    return 0;
  memset(&tmpl, 0, sizeof tmpl);
  tmpl.family = rtm->rtm_family;
  tmpl.gw_len = rtm->rtm_family == AF_INET ? 4 : 16;
  if (tb[RTA_PRIORITY] && attr_u32(tb[RTA_PRIORITY], &tmpl.metric) < 0)
    return -EBADMSG;
  if (route_nexthops(tb, &tmpl, nhs, &n) < 0)
    return -EBADMSG;
  return n ? route_store(s, nlh, nhs, n) : 0;
}

/* ---- message dispatch ------------------------------------------------- */

/* Apply one RTM_* message to one snapshot and report what it changed to
 * `k`. Returns 0, -EBADMSG or -ENOMEM. */
static int apply_rtm(mrt__link_snapshot *s, const struct nlmsghdr *nlh, struct change_sink *k) {
  struct default_view before, after;
  uint16_t type = nlh->nlmsg_type;
  int rc;

  if (type != RTM_NEWLINK && type != RTM_DELLINK && type != RTM_NEWADDR && type != RTM_DELADDR &&
      type != RTM_NEWROUTE && type != RTM_DELROUTE)
    return 0; /* other families (neighbours, rules) are not ours */
  /* Any of them can move a default route (a link going down takes its
     * routes along), so compare before and after. */
  mrt__link_defaults_get(s, &before);
  if (type == RTM_NEWLINK || type == RTM_DELLINK)
    rc = apply_link(s, nlh, k);
  else if (type == RTM_NEWADDR || type == RTM_DELADDR)
    rc = apply_addr(s, nlh, k);
  else
    rc = apply_route(s, nlh);
  mrt__link_defaults_get(s, &after);
  mrt__link_note_defaults(k, &before, &after);
  return rc;
}

/* Record a kernel error code. Valid codes are negative errnos; anything else
 * is mapped to -EIO so a hostile value cannot pose as success or a count. */
static int record_error(mrt__link_snapshot *s, int err) {
  if (err >= 0 || err < -4095)
    err = -EIO;
  s->stats.errors++;
  s->stats.last_error = err;
  return err;
}

static void apply_control(mrt__link_snapshot *s, const struct nlmsghdr *nlh,
                          struct msg_status *st) {
  size_t plen = mnl_nlmsg_get_payload_len(nlh);
  bool dump_part = s->pending && (nlh->nlmsg_flags & NLM_F_MULTI);
  int err = 0;

  if (nlh->nlmsg_type == NLMSG_ERROR) {
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    if (plen < sizeof *e) {
      st->malformed = true;
      return;
    }
    if (e->error == 0) /* an ACK */
      return;
    st->error = record_error(s, e->error);
    /* A dump request refused outright is answered by NLMSG_ERROR, not
         * NLMSG_DONE; count it as a dump that ended, failed, so a resync
         * moves on (and is retried) instead of waiting forever. */
    if (s->pending) {
      s->pending_dumps_done++;
      s->pending_inconsistent = true;
    }
    return;
  }
  /* NLMSG_DONE carries the dump's result code (older kernels: nothing). */
  if (plen >= sizeof err)
    memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
  if (err != 0)
    st->error = record_error(s, err);
  if (dump_part) {
    s->pending_dumps_done++;
    if (err != 0) /* a failed dump leaves the pending state incomplete */
      s->pending_inconsistent = true;
  }
}

static void merge_rc(struct msg_status *st, int rc) {
  if (rc == -EBADMSG)
    st->malformed = true;
  else if (rc == -ENOMEM)
    st->nomem = true;
}

/* Route one message: during a resync, dump replies (NLM_F_MULTI) build the
 * pending snapshot only, and live notifications update both, so the final
 * diff shows just what was lost. */
static void apply_one(mrt__link_snapshot *s, const struct nlmsghdr *nlh, struct change_sink *k,
                      struct msg_status *st) {
  struct change_sink discard = {0, NULL};
  bool dump_part = nlh->nlmsg_flags & NLM_F_MULTI;

  if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
    s->stats.dump_interrupted++;
    if (s->pending && dump_part)
      s->pending_inconsistent = true;
  }
  if (nlh->nlmsg_type == NLMSG_NOOP)
    return;
  if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
    apply_control(s, nlh, st);
    return;
  }
  if (s->pending && dump_part) {
    merge_rc(st, apply_rtm(s->pending, nlh, &discard));
    return;
  }
  merge_rc(st, apply_rtm(s, nlh, k));
  if (s->pending)
    merge_rc(st, apply_rtm(s->pending, nlh, &discard));
}

/* libmnl's mnl_nlmsg_ok compares nlmsg_len through a signed cast, so a
 * length of 2^31 or more passes; check it as unsigned too. */
static bool frame_ok(const struct nlmsghdr *nlh, size_t remaining) {
  return mnl_nlmsg_ok(nlh, (int)remaining) && nlh->nlmsg_len <= remaining;
}

int mrt__link_snapshot_apply(mrt__link_snapshot *snap, const void *buf, size_t len,
                             uint32_t *flags_out, mrt__link_changes *changes_out) {
  struct msg_status total = {false, false, 0};
  struct change_sink k = {0, changes_out};
  size_t off = 0;
  int accepted = 0;

  if (!snap || (!buf && len) || len > INT_MAX || ((uintptr_t)buf & 3u))
    return -EINVAL;
  while (off < len) {
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)buf + off);
    struct msg_status st = {false, false, 0};

    /* A frame that does not fit leaves nothing after it parseable. */
    if (!frame_ok(nlh, len - off)) {
      snap->stats.malformed++;
      total.malformed = true;
      break;
    }
    apply_one(snap, nlh, &k, &st);
    if (st.malformed) {
      snap->stats.malformed++;
    } else {
      snap->stats.messages++;
      accepted++;
    }
    total.malformed |= st.malformed;
    total.nomem |= st.nomem;
    if (st.error)
      total.error = st.error;
    off += MNL_ALIGN(nlh->nlmsg_len);
  }
  if (flags_out)
    *flags_out |= k.flags;
  if (changes_out)
    changes_out->flags |= k.flags; /* also what was only counted */
  if (total.nomem)
    return -ENOMEM;
  if (total.malformed)
    return -EBADMSG;
  return total.error ? total.error : accepted;
}
