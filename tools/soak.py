#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak and flood: tools/dev.sh soak [SECONDS] (root; network namespaces).

A meshrt-node (A) runs in one network namespace with a peer node (B) in
another, joined by a bridge in a third. For SECONDS a loop churns A's
network: a dummy interface flaps, addresses come and go on it, the default
route moves between it and the real link, and now and then the real link
itself drops for a moment. Every second A's RSS, open descriptors, rebinds
(socket generation, every 10 s) and control socket are sampled. Then a fourth namespace
floods A's UDP port with hostile and valid-looking datagrams (tests/
soak-flood.c) at the highest rate this machine sends.

It fails when, after a warm-up, A's RSS grows by more than 1 MB; when A or B
ends with more descriptors than after the warm-up (a leak); when A rebinds
more than once a second; when a node stops answering its control socket
(5 s), or the path between them does not come back after the churn; or when
the flood changes any path (the path, its candidates, the learned ones, our
endpoints, on either side).

The outcome is written as one line of meson's test-log format to
build-soak/testlog.json (CI counts it) and as a summary on stdout. Exit: 0
passed, 1 failed, 77 skipped (not root, no netns, or no netlink monitor).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(HERE, os.environ.get("MESHRT_BUILD", "build"))
NODE = os.path.join(BUILD, "tools/node/meshrt-node")
CTL = os.path.join(BUILD, "tools/ctl/meshrt-ctl")
FLOOD = os.path.join(BUILD, "tests/soak-flood")
RESULT = os.path.join(HERE, "build-soak", "testlog.json")

TAG = "mrtsoak%d" % os.getpid()
NS = {x: TAG + x for x in ("a", "b", "f", "hub")}
ADDR = {"a": "10.77.0.1", "b": "10.77.0.2", "f": "10.77.0.3"}
PORT = {"a": 41641, "b": 41642}
RSS_GROWTH_KB = 1024
MAX_EXTRA_ADDRS = 6
# The nodes' journal rings (--journal-size): until one wraps, its growth is
# expected, not a leak; this one wraps within the warm-up.
JOURNAL_CAP = 64


def log(*a):
    print("soak:", *a, flush=True)


def sh(*args, check=True, ns=None, timeout=30):
    cmd = (["ip", "netns", "exec", NS[ns]] if ns else []) + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def write_result(result, started, note):
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w") as f:
        f.write(json.dumps({"name": "soak", "result": result,
                            "duration": time.time() - started, "stdout": note}) + "\n")


class Node:
    def __init__(self, name, tmp):
        self.name, self.tmp = name, tmp
        self.sock = os.path.join(tmp, name + ".sock")
        self.cfg = os.path.join(tmp, name + ".json")
        self.logf = os.path.join(tmp, name + ".log")
        self.proc = None

    def write_config(self, peers):
        with open(self.cfg, "w") as f:
            json.dump({"listen_port": PORT[self.name], "key_file": self.name + ".key",
                       "network_monitor": "netlink", "control_socket": self.sock,
                       "peers": peers, "log_level": "info"}, f)

    def start(self):
        # MESHRT_SOAK_WRAP_A="valgrind --tool=massif ..." runs A under a tool
        # (to find what grows); the figures are then the tool's, not A's.
        wrap = os.environ.get("MESHRT_SOAK_WRAP_" + self.name.upper(), "").split()
        # A small journal fills during the warm-up: a ring still filling would
        # pass for growth.
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS[self.name]] + wrap +
                                     [NODE, "--config", self.cfg, "--journal-size",
                                      str(JOURNAL_CAP)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.logf, "w"))

    def status(self, timeout=5):
        try:
            r = subprocess.run([CTL, "--socket", self.sock, "--json", "--timeout", str(timeout),
                                "status"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def answers(self, timeout=5):
        """A cheap request (a journal read: no asks to the actors), so that
        sampling every second does not itself fill the runtime's envelope
        pools (bounded, 2 MiB per executor) and pass for growth."""
        try:
            r = subprocess.run([CTL, "--socket", self.sock, "--json", "--timeout", str(timeout),
                                "events", "--after", "999999999999", "--limit", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    def proc_kb(self, key):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return -1

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def cpu_s(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return None


def peer_view(status):
    """What a flood must not change: each peer's path and candidates, and
    our endpoints."""
    if status is None:
        return None
    peers = {p["id"]: {"has_path": p.get("has_path"), "path": p.get("path"),
                       "learned": p.get("learned_candidates"),
                       "candidates": sorted(c["addr"] for c in p.get("candidates", []))}
             for p in status.get("peers", [])}
    return {"peers": peers, "endpoints": sorted(status.get("endpoints", []))}


def has_path(node, peer_id):
    s = node.status()
    return s is not None and any(p["id"] == peer_id and p.get("has_path")
                                 for p in s.get("peers", []))


def setup_network():
    for n in NS.values():
        sh("ip", "netns", "add", n)
    sh("ip", "-n", NS["hub"], "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", NS["hub"], "link", "set", "br0", "up")
    for x in ("a", "b", "f"):
        sh("ip", "link", "add", "eth" + x, "netns", NS[x], "type", "veth", "peer", "name",
           "port" + x, "netns", NS["hub"])
        sh("ip", "-n", NS["hub"], "link", "set", "port" + x, "master", "br0", "up")
        sh("ip", "-n", NS[x], "link", "set", "lo", "up")
        sh("ip", "-n", NS[x], "link", "set", "eth" + x, "up")
        sh("ip", "-n", NS[x], "addr", "add", ADDR[x] + "/24", "dev", "eth" + x)
    # A second interface to flap and churn (a veth: dummy devices need a
    # kernel module containers often lack); its far end stays up, unbridged.
    sh("ip", "link", "add", "dummy0", "netns", NS["a"], "type", "veth", "peer", "name",
       "dummyend", "netns", NS["hub"])
    sh("ip", "-n", NS["hub"], "link", "set", "dummyend", "up")
    sh("ip", "-n", NS["a"], "link", "set", "dummy0", "up")
    sh("ip", "-n", NS["a"], "addr", "add", "192.0.2.1/24", "dev", "dummy0")
    sh("ip", "-n", NS["a"], "route", "add", "default", "dev", "etha")


def teardown_network():
    for n in NS.values():
        subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


class Churn(threading.Thread):
    """Flaps links and churns addresses and routes in A's namespace."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_at = None
        self.ops = 0
        self.rng = random.Random(4242)
        self.done = threading.Event()

    def run(self):
        a = NS["a"]
        added = []
        last_real_flap = time.time()
        while not self.done.is_set():
            op = self.rng.randrange(5)
            try:
                if op == 0:
                    sh("ip", "-n", a, "link", "set", "dummy0", "down", check=False)
                    sh("ip", "-n", a, "link", "set", "dummy0", "up", check=False)
                elif (op == 1 or (op == 2 and not added)) and len(added) < MAX_EXTRA_ADDRS:
                    # A bounded set: the state (addresses, endpoints) must stay
                    # the same size for growth to mean a leak.
                    ip = "198.51.100.%d/24" % self.rng.randrange(1, 250)
                    if sh("ip", "-n", a, "addr", "add", ip, "dev", "dummy0",
                          check=False).returncode == 0:
                        added.append(ip)
                elif op in (1, 2):
                    sh("ip", "-n", a, "addr", "del", added.pop(self.rng.randrange(len(added))),
                       "dev", "dummy0", check=False)
                elif op == 3:
                    dev = self.rng.choice(["dummy0", "etha"])
                    sh("ip", "-n", a, "route", "replace", "default", "dev", dev, check=False)
                elif time.time() - last_real_flap > 10:
                    # The real link drops for a moment: the path must come back.
                    sh("ip", "-n", a, "link", "set", "etha", "down", check=False)
                    time.sleep(0.3)
                    sh("ip", "-n", a, "link", "set", "etha", "up", check=False)
                    sh("ip", "-n", a, "route", "replace", "default", "dev", "etha", check=False)
                    last_real_flap = time.time()
                self.ops += 1
            except subprocess.TimeoutExpired:
                pass
            self.done.wait(self.rng.uniform(0.05, 0.4))
        sh("ip", "-n", a, "route", "replace", "default", "dev", "etha", check=False)


def churn_phase(a, b, secs, fails, figures):
    # Warm-up: at least 15 s and a fifth of the run, and until the journal
    # ring is full (half the run at most).
    warm = max(15, secs * 0.2)
    churn = Churn()
    start = time.time()
    churn.start()
    gen0 = a.status()["socket"]["generation"]
    rss, fds_a, fds_b = [], None, None
    rss_base = None
    s = None
    while time.time() - start < secs:
        t = time.time() - start
        if not a.answers():
            fails.append("A did not answer its control socket at t=%.0fs" % t)
        if int(t) % 10 == 0 or s is None:
            s = a.status()  # the full status, every 10 s
            if s is None:
                fails.append("A did not answer a status request at t=%.0fs" % t)
        if (rss_base is None and t >= warm and s is not None and
                s.get("journal_last_seq", 0) < JOURNAL_CAP + 16 and t < secs * 0.5):
            warm = t + 1
        if t >= warm:
            if rss_base is None:
                rss_base, fds_a, fds_b = a.proc_kb("VmRSS"), a.fds(), b.fds()
            rss.append(a.proc_kb("VmRSS"))
        if int(t) % 60 == 59 and s is not None:
            log("t=%3.0fs RSS %d kB, descriptors %d, rebinds %d, journal %d" % (
                t, a.proc_kb("VmRSS"), a.fds(), s["socket"]["generation"] - gen0,
                s.get("journal_last_seq", 0)))
        time.sleep(max(0.0, 1.0 - (time.time() - start - t)))
    churn.done.set()
    churn.join()
    took = time.time() - start
    s = a.status()
    gen = s["socket"]["generation"] if s else gen0
    rebinds = gen - gen0
    figures["churn ops"] = churn.ops
    figures["rebinds"] = "%d in %.0f s (%.2f/s)" % (rebinds, took, rebinds / took)
    if rebinds > took + 1:
        fails.append("more than one rebind a second: %d in %.0f s" % (rebinds, took))
    # Settle: the path comes back, then count descriptors again.
    if not wait_for(lambda: has_path(a, 2) and has_path(b, 1), 30):
        fails.append("the path between A and B did not come back after the churn")
    time.sleep(3)
    end_a, end_b = a.fds(), b.fds()
    figures["descriptors A"] = "%s after warm-up, %d at the end" % (fds_a, end_a)
    figures["descriptors B"] = "%s after warm-up, %d at the end" % (fds_b, end_b)
    if fds_a is not None and end_a > fds_a:
        fails.append("A leaks descriptors: %d after warm-up, %d at the end" % (fds_a, end_a))
    if fds_b is not None and end_b > fds_b:
        fails.append("B leaks descriptors: %d after warm-up, %d at the end" % (fds_b, end_b))
    if rss:
        growth = max(rss) - rss_base
        figures["RSS A"] = "%d kB after %.0f s warm-up, max %d kB, growth %d kB" % (
            rss_base, warm, max(rss), growth)
        if growth > RSS_GROWTH_KB:
            fails.append("A's RSS grew by %d kB after warm-up" % growth)


def flood_phase(a, b, secs, fails, figures):
    sa, sb = a.status(), b.status()
    before_a, before_b = peer_view(sa), peer_view(sb)
    rss0, cpu0, t0 = a.proc_kb("VmRSS"), a.cpu_s(), time.time()
    flood = subprocess.Popen(["ip", "netns", "exec", NS["f"], FLOOD,
                              "%s:%d" % (ADDR["a"], PORT["a"]), str(secs), sa["public_key"],
                              sb["public_key"]], stdout=subprocess.PIPE, text=True)
    while flood.poll() is None:
        if not a.answers():
            fails.append("A did not answer its control socket during the flood")
        time.sleep(1)
    out = flood.stdout.read().strip()
    cpu = (a.cpu_s() - cpu0) / (time.time() - t0)
    time.sleep(2)
    sa, sb = a.status(), b.status()
    after_a, after_b = peer_view(sa), peer_view(sb)
    figures["flood"] = "%s; A's CPU %.0f%% of a core; RSS %d -> %d kB" % (
        out, cpu * 100, rss0, a.proc_kb("VmRSS"))
    if sa is not None:
        p = sa["probes"]
        figures["flood refused by A"] = ", ".join(
            "%s=%s" % (k, p[k]) for k in ("rejected_unauthenticated", "rejected_malformed",
                                          "rejected_unknown_peer", "rejected_replayed"))
    if after_a != before_a:
        fails.append("the flood changed A's paths: %s -> %s" % (before_a, after_a))
    if after_b != before_b:
        fails.append("the flood changed B's paths: %s -> %s" % (before_b, after_b))


def prepare(tmp):
    a, b = Node("a", tmp), Node("b", tmp)
    for n in (a, b):
        n.write_config([])
        n.start()
    for n in (a, b):
        if not wait_for(n.status, 15):
            raise RuntimeError("node %s did not start: %s" % (n.name, open(n.logf).read()[-2000:]))
    pub = {n.name: n.status()["public_key"] for n in (a, b)}
    a.write_config([{"id": 2, "name": "b", "public_key": pub["b"],
                     "endpoints": ["%s:%d" % (ADDR["b"], PORT["b"])]}])
    b.write_config([{"id": 1, "name": "a", "public_key": pub["a"],
                     "endpoints": ["%s:%d" % (ADDR["a"], PORT["a"])]}])
    for n in (a, b):
        n.proc.send_signal(signal.SIGHUP)
    if not wait_for(lambda: has_path(a, 2) and has_path(b, 1), 30):
        raise RuntimeError("no path between A and B")
    return a, b


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    started = time.time()
    if os.geteuid() != 0 or shutil.which("ip") is None:
        write_result("SKIP", started, "needs root and iproute2")
        log("skipped: needs root and iproute2")
        return 77
    for path in (NODE, CTL, FLOOD):
        if not os.path.exists(path):
            log("missing %s: build first (tools/dev.sh soak builds)" % path)
            return 1
    probe = subprocess.run(["ip", "netns", "add", TAG + "probe"], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "del", TAG + "probe"], stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        write_result("SKIP", started, "cannot create network namespaces")
        log("skipped: cannot create network namespaces")
        return 77
    tmp = tempfile.mkdtemp(prefix="meshrt-soak-")
    fails, figures, nodes = [], {}, []
    try:
        setup_network()
        check = Node("a", tmp)
        check.write_config([])
        r = subprocess.run([NODE, "--check", "--config", check.cfg], stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0 and "network_monitor" in r.stderr:
            write_result("SKIP", started, "built without the netlink link monitor")
            log("skipped: built without the netlink link monitor")
            return 77
        nodes = list(prepare(tmp))
        a, b = nodes
        log("A and B have a path; churning A's network for %d s" % secs)
        churn_phase(a, b, secs, fails, figures)
        flood_secs = min(60, max(10, secs // 6))
        log("flooding A for %d s" % flood_secs)
        flood_phase(a, b, flood_secs, fails, figures)
        for n in nodes:
            if n.proc.poll() is not None:
                fails.append("node %s exited (%s)" % (n.name, n.proc.returncode))
    except Exception as e:  # a broken setup is a failure, with its reason
        fails.append("error: %s" % e)
    finally:
        for n in nodes:
            n.stop()
        teardown_network()
        if fails:
            for n in nodes:
                log("---- %s's log (tail) ----\n%s" % (n.name, open(n.logf).read()[-3000:]))
        shutil.rmtree(tmp, ignore_errors=True)
    for k, v in figures.items():
        log("%-20s %s" % (k + ":", v))
    for f in fails[:20]:
        log("FAIL:", f)
    note = "\n".join(["%s: %s" % kv for kv in figures.items()] + ["FAIL: " + f for f in fails])
    write_result("FAIL" if fails else "OK", started, note)
    log("passed" if not fails else "failed (%d)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
