#!/usr/bin/env python3
"""agent_http.py - drive a deskfs-agent over its unix socket, for the tests
that need many requests at once or timings (curl does the rest).

    agent_http.py SOCK TOKEN polls N TAG      N parked reads of TAG's stdout at
                                              its current end; prints "answered K
                                              health_max_ms X" once each has its data
    agent_http.py SOCK TOKEN lat PATH N [GAP_MS]   N GETs of PATH, GAP_MS apart:
                                              "n N p50 X p95 Y max Z" (ms, non-200 count)
    agent_http.py SOCK TOKEN rss              the agent's VmRSS and VmHWM in KiB (by pid
                                              from SO_PEERCRED of the socket)
    agent_http.py SOCK TOKEN rtt N [PROG]     N times: start PROG (true) and wait for its exit,
                                              then forget it: "p50 X p95 Y" ms (one connection)
    agent_http.py SOCK TOKEN many N           starts N `sleep 60` (m0..), prints the count
                                              of each answer ("201:256 503:1"), then ends
                                              and forgets them all

Standard library only.
"""
import http.client
import json
import socket
import struct
import sys
import threading
import time


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("x", timeout=timeout)
        self.path_ = path

    def connect(self):
        for _ in range(200):  # a full listen backlog: EAGAIN at once on a unix socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(self.path_)
                break
            except BlockingIOError:
                s.close()
                time.sleep(0.01)
        self.sock = s


def req(sock, tok, method, path, body=None, timeout=60):
    c = UnixConn(sock, timeout)
    c.request(method, path, body=body, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    data = r.read()
    hdr = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdr, data


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def lat(sock, tok, path, n, gap_ms):
    t, bad = [], 0
    for _ in range(n):
        t0 = time.monotonic()
        st, _, _ = req(sock, tok, "GET", path)
        t.append((time.monotonic() - t0) * 1000)
        bad += st != 200
        time.sleep(gap_ms / 1000)
    return t, bad


def polls(sock, tok, n, tag):
    st, _, data = req(sock, tok, "GET", "/v1/procs/" + tag)
    size = json.loads(data)["stdout_size"]
    got = [None] * n

    def one(i):
        try:
            st, hdr, body = req(sock, tok, "GET",
                                "/v1/procs/%s/stdout?offset=%d&wait_ms=30000" % (tag, size), timeout=40)
            got[i] = (st, body)
        except Exception as e:  # noqa
            got[i] = (0, repr(e).encode())

    th = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in th:
        t.start()
    # all parked: health answers at once meanwhile
    time.sleep(1.0)
    h, _ = lat(sock, tok, "/v1/health", 20, 10)
    req(sock, tok, "POST", "/v1/procs/%s/stdin" % tag, body=b"wake\n")
    for t in th:
        t.join(45)
    ok = sum(1 for g in got if g and g[0] == 200 and g[1] == b"wake\n")
    print("answered %d health_max_ms %.1f" % (ok, max(h)))


def rss(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    pid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    s.close()
    v = {}
    for line in open("/proc/%d/status" % pid):
        k, _, rest = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            v[k] = int(rest.split()[0])
    print("%d %d" % (v["VmRSS"], v["VmHWM"]))


def many(sock, tok, n):
    codes = {}
    for i in range(n):
        st, _, _ = req(sock, tok, "POST", "/v1/procs",
                       body=json.dumps({"tag": "m%d" % i, "argv": ["sleep", "60"]}).encode())
        codes[st] = codes.get(st, 0) + 1
    print(" ".join("%d:%d" % kv for kv in sorted(codes.items())))
    for i in range(n):
        req(sock, tok, "POST", "/v1/procs/m%d/ctl" % i, body=b"signal KILL")
    for i in range(n):
        req(sock, tok, "GET", "/v1/procs/m%d/exit?wait_ms=10000" % i)
        req(sock, tok, "DELETE", "/v1/procs/m%d" % i)


def rtt(sock, tok, n, prog):
    c = UnixConn(sock)
    h = {"Authorization": "Bearer " + tok}
    t = []

    def call(method, path, body=None):
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        d = r.read()
        return r.status, d

    for i in range(n):
        t0 = time.monotonic()
        st, _ = call("POST", "/v1/procs", json.dumps({"tag": "r%d" % i, "argv": [prog]}).encode())
        st2, d = call("GET", "/v1/procs/r%d/exit?wait_ms=10000" % i)
        t.append((time.monotonic() - t0) * 1000)
        call("DELETE", "/v1/procs/r%d" % i)
        if st != 201 or st2 != 200:
            print("failed", st, st2, d)
            return
    print("p50 %.2f p95 %.2f" % (pct(t, 0.5), pct(t, 0.95)))


def main():
    sock, tok, what = sys.argv[1:4]
    if what == "polls":
        polls(sock, tok, int(sys.argv[4]), sys.argv[5])
    elif what == "lat":
        t, bad = lat(sock, tok, sys.argv[4], int(sys.argv[5]), float(sys.argv[6]) if len(sys.argv) > 6 else 0)
        print("n %d p50 %.2f p95 %.2f max %.2f bad %d" % (len(t), pct(t, 0.5), pct(t, 0.95), max(t), bad))
    elif what == "rss":
        rss(sock)
    elif what == "rtt":
        rtt(sock, tok, int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "true")
    elif what == "many":
        many(sock, tok, int(sys.argv[4]))


if __name__ == "__main__":
    main()
