#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/NAME/seed-*) from
the tests' canned inputs: the RFC 5769 and classic STUN messages of
test-stun.c, the DERP map of test-derp-map.c, the example config and the
configs and control requests the node tests use, and rtnetlink buffers built
like test-netlink-parse.c builds them. Run it after changing those tests;
the seeds are committed. Minimised findings live beside them (crash-*,
named after what they found) and are never rewritten here."""
import os
import re
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))


def out(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def c_bytes(path, name):
    """The bytes of `static const uint8_t NAME[] = {...};` in a C file."""
    text = open(os.path.join(root, path)).read()
    m = re.search(r"static const uint8_t %s\[\] = \{(.*?)\};" % name, text, re.S)
    return bytes(int(x, 0) for x in re.findall(r"0x[0-9a-fA-F]+|\d+", m.group(1)))


def c_string(path, name):
    """The value of `static const char NAME[] = "..." "...";` in a C file."""
    text = open(os.path.join(root, path)).read()
    m = re.search(r"static const char %s\[\] =(.*?);\n" % name, text, re.S)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
    return "".join(parts).encode().decode("unicode_escape")


# ---- STUN -------------------------------------------------------------------------
for n in ("rfc_request", "rfc_response_v4", "rfc_response_v6", "classic_response",
          "classic_mapped_only"):
    out("stun", n, c_bytes("tests/test-stun.c", n))

# ---- DERP map ----------------------------------------------------------------------
out("derp-map", "valid", c_string("tests/test-derp-map.c", "VALID_MAP"))
out("derp-map", "empty", '{"Regions": {}}')
out("derp-map", "stun-only",
    '{"Regions": {"3": {"RegionID": 3, "RegionCode": "x\\u001b", "Nodes": [{"Name": "3a", '
    '"RegionID": 3, "HostName": "h", "IPv4": "127.0.0.1", "IPv6": "none", "STUNPort": 3478, '
    '"STUNOnly": true}]}}}')
out("derp-map", "bad-ipv4", '{"Regions": {"1": {"RegionID": 1, "Nodes": [{"RegionID": 1, '
    '"IPv4": "foo"}]}}}')
out("derp-map", "bad-key", '{"Regions": {"01": {"RegionID": 1}}}')

# ---- the node config ------------------------------------------------------------------
out("config", "example", open(os.path.join(root, "tools/node/meshrt-node.example.json")).read())
key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
out("config", "full",
    '{"listen_address": "127.0.0.1", "advertise_local": false, "key_file": "node.key", '
    '"network_monitor": "manual", "peers": [{"id": 9, "name": "absent", "public_key": "%s", '
    '"endpoints": ["127.0.0.1:9", "[::1]:9"]}], "derp_map": {"Regions": {"7": {"RegionID": 7, '
    '"RegionCode": "r7", "Nodes": [{"Name": "a", "RegionID": 7, "HostName": "localhost", '
    '"IPv4": "127.0.0.1", "IPv6": "none", "STUNPort": 3478}]}}}, "log_level": "debug", '
    '"listen_port": 1, "metrics": "9464", "ignored_interfaces": ["wg*"]}' % key)
out("config", "unknown-field", '{"listen\\u001b[2J": 1}')
out("config", "syntax", '{"listen_port": 1,}')
out("config", "wide-value", '{"listen_address": "%sx"}' % ("\u00e9" * 29))

# ---- control requests ------------------------------------------------------------------
for i, line in enumerate([
        '{"cmd":"status","id":1}', '{"cmd":"status","peers":20}', '{"cmd":"children"}',
        '{"cmd":"rebind"}', '{"cmd":"measure"}', '{"cmd":"pause","child":"derp-latency"}',
        '{"cmd":"resume","child":"netmon"}', '{"cmd":"restart","child":"direct","id":"x"}',
        '{"cmd":"events","after":3,"limit":10,"follow":true}',
        '{"cmd":"link-change","flags":"link-down,addr-removed","interface":"wl\\u001b[1man0",'
        '"address":"192.0.2.7/24"}',
        '{"cmd":"link-change","interface":"eth0","address":"2001:db8::1/64"}',
        'garbage', '{"cmd": "status"', '[1, 2]', '{"cmd": 5}',
        '{"cmd":"%s\u00e9\u00e9\u00e9","id":7}' % ("a" * 63),
        '{"cmd": "status", "cmd": "rebind"}', '[\x1b[2J]']):
    out("control", "%02d" % i, line)

# ---- the log sink: level, component NUL text -------------------------------------------------
for i, (lvl, comp, text) in enumerate([
        (2, "direct", "socket bound local=127.0.0.1:41641 dual_stack=0"),
        (1, "meshrt-node", "control socket: client refused refused=3 held_back=0"),
        (0, "x", "bad \xff\x1b[2J name=\xc3"),
        (3, "", "dup a=1 a=2 padded=007 neg=-5 zero=0"),
        (2, "netmon", "link change: wl\\x1b[1man0: address 192.0.2.7/24 removed (notification)"),
        (4, "c", "long value=" + "v" * 300)]):
    out("logsink", "%02d" % i, bytes([lvl]) + comp.encode("latin-1") + b"\0" +
        text.encode("latin-1"))

# ---- probe plaintexts (mode 1: sealed by the test peer) and datagrams (mode 0) -----------------
txid = bytes(range(1, 13))


def v6(addr16, port):
    return addr16 + struct.pack(">H", port)


v4m = bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 7])
out("probe", "ping", b"\x01" + b"\x01" + txid)
out("probe", "pong-v4", b"\x01" + b"\x02" + txid + v6(v4m, 41641))
out("probe", "pong-v6", b"\x01" + b"\x02" + txid + v6(b"\x20\x01\x0d\xb8" + bytes(11) + b"\x01", 9))
for n in (0, 1, 3):
    eps = b"".join(v6(v4m if i % 2 == 0 else b"\x20\x01\x0d\xb8" + bytes(12), 1000 + i)
                   for i in range(n))
    out("probe", "endpoints-%d" % n,
        b"\x01" + b"\x03\x01" + struct.pack(">QQ", 1 << 60, 7) + bytes([n]) + eps)
out("probe", "endpoints-format2-trailing",
    b"\x01" + b"\x03\x02" + struct.pack(">QQ", 5, 1) + b"\x01" + v6(v4m, 1) + b"later")
out("probe", "wire-header", b"\x00" + b"MRTP\x01" + bytes(32) + bytes(24) + bytes(29))
out("probe", "wire-forged", b"\x03" + b"\x01" + txid)

# ---- rtnetlink buffers (steps: op 0 = apply LEN16 bytes, 1 = begin resync, 2 = finish) ----------
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 16, 17, 20, 21, 24, 25
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI = 2
IFF_UP, IFF_RUNNING, IFF_LOOPBACK = 1, 0x40, 8


def align(b):
    return b + bytes((4 - len(b) % 4) % 4)


def attr(t, payload):
    return align(struct.pack("=HH", 4 + len(payload), t) + payload)


def msg(t, flags, body):
    return align(struct.pack("=IHHII", 16 + len(body), t, flags, 1, 0) + body)


def link(t, index, name, flags, nlflags=0):
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0xffffffff)
    body += attr(3, name.encode() + b"\0") + attr(4, struct.pack("=I", 1500))
    return msg(t, nlflags, body)


def addr(t, family, index, plen, a, nlflags=0):
    body = struct.pack("=BBBBI", family, plen, 0, 0, index)
    body += attr(1, a) + (attr(2, a) if family == 2 else b"")
    return msg(t, nlflags, body)


def route(t, family, oif, metric, nlflags=0, multipath=None):
    body = struct.pack("=BBBBBBBBI", family, 0, 0, 0, 254, 3, 0, 1, 0)
    body += attr(15, struct.pack("=I", 254)) + attr(6, struct.pack("=I", metric))
    if multipath:
        hops = b"".join(struct.pack("=HBBi", 8, 0, 0, i) for i in multipath)
        body += attr(9, hops)
    else:
        body += attr(4, struct.pack("=i", oif))
    return msg(t, nlflags, body)


def step(buf):
    return b"\x00" + struct.pack("<H", len(buf)) + buf


ip4 = bytes([192, 0, 2, 7])
ip6 = b"\x20\x01\x0d\xb8" + bytes(11) + b"\x07"
up = IFF_UP | IFF_RUNNING
boot = (link(RTM_NEWLINK, 1, "lo", IFF_UP | IFF_LOOPBACK) + link(RTM_NEWLINK, 2, "eth0", up) +
        link(RTM_NEWLINK, 3, "wg0", up) + addr(RTM_NEWADDR, 2, 2, 24, ip4) +
        addr(RTM_NEWADDR, 10, 2, 64, ip6) + route(RTM_NEWROUTE, 2, 2, 100) +
        route(RTM_NEWROUTE, 10, 2, 1024))
out("netlink", "boot", step(boot))
out("netlink", "link-flap", step(boot) + step(link(RTM_NEWLINK, 2, "eth0", IFF_UP)) +
    step(link(RTM_NEWLINK, 2, "eth0", up)) + step(link(RTM_DELLINK, 2, "eth0", 0)))
out("netlink", "addr-churn", step(boot) + step(addr(RTM_DELADDR, 2, 2, 24, ip4)) +
    step(addr(RTM_NEWADDR, 2, 2, 24, bytes([198, 51, 100, 9]))))
out("netlink", "route-move", step(boot + link(RTM_NEWLINK, 4, "wl\x1b[1man0", up)) +
    step(route(RTM_NEWROUTE, 2, 4, 50)) + step(route(RTM_DELROUTE, 2, 2, 100)) +
    step(route(RTM_NEWROUTE, 2, 0, 10, multipath=[2, 4])))
dump = (link(RTM_NEWLINK, 2, "eth0", up, NLM_F_MULTI) + addr(RTM_NEWADDR, 2, 2, 24, ip4, NLM_F_MULTI) +
        msg(NLMSG_DONE, NLM_F_MULTI, struct.pack("=i", 0)))
out("netlink", "resync", step(boot) + b"\x01" + step(dump) +
    step(route(RTM_NEWROUTE, 2, 2, 100, NLM_F_MULTI) + msg(NLMSG_DONE, NLM_F_MULTI, struct.pack("=i", 0))) +
    b"\x02")
out("netlink", "error", step(msg(NLMSG_ERROR, 0, struct.pack("=i", -105) + bytes(16))))
print("seeds written under", os.path.join(here, "corpus"))
