#!/usr/bin/env python3
"""Load generator for tests/bench/notify.sh: POSTs Flux-shaped events to the
notifier's receiver over keep-alive HTTP/1.1 connections from several
processes, and reports the accepted rate, per-request latency percentiles
(client side, so an upper bound on the server's handling) and the
notifier's RSS sampled during the run.

usage: notify_load.py PORT PID EVENTS OBJECTS PROCS CONNS
"""
import json, multiprocessing as mp, socket, sys, time

port, pid, events, objects, procs, conns = (int(a) for a in sys.argv[1:7])


def body(i):
    name = f"k{i % objects}"
    # Every object alternates: fail for a while, recover, fail again...
    failing = (i // objects) % 3 == 0
    return json.dumps({
        "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": name,
                           "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
                           "apiVersion": "kustomize.toolkit.fluxcd.io/v1"},
        "severity": "error" if failing else "info",
        "timestamp": "2026-12-02T07:00:00Z",
        "message": "Health check failed after 2m0s" if failing else "Applied revision",
        "reason": "HealthCheckFailed" if failing else "ReconciliationSucceeded",
        "metadata": {"kustomize.toolkit.fluxcd.io/revision": f"sha256:{i:064x}"},
        "reportingController": "kustomize-controller",
    }).encode()


def request(b):
    return (b"POST /flux HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(b)).encode() + b"\r\n\r\n" + b)


def read_answer(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += sock.recv(65536)
    return status, rest[length:]


def worker(args):
    first, count = args
    # Several connections per process, taken round-robin.
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
    for s in socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bufs = [b""] * conns
    lat, refused = [], 0
    for n in range(count):
        i = first + n
        k = n % conns
        t = time.perf_counter()
        socks[k].sendall(request(body(i)))
        status, bufs[k] = read_answer(socks[k], bufs[k])
        lat.append(time.perf_counter() - t)
        if status != 202:
            refused += 1
    return lat, refused


def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    per = events // procs
    rss = [rss_kb()]
    start = time.perf_counter()
    with mp.Pool(procs) as pool:
        pending = pool.map_async(worker, [(p * per, per) for p in range(procs)])
        while not pending.ready():
            pending.wait(0.5)
            rss.append(rss_kb())
        results = pending.get()
    elapsed = time.perf_counter() - start
    rss.append(rss_kb())
    lat = sorted(x for r in results for x in r[0])
    refused = sum(r[1] for r in results)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(json.dumps({
        "events": len(lat), "refused": refused, "seconds": round(elapsed, 2),
        "perSecond": round(len(lat) / elapsed), "p50ms": round(q(0.50), 3),
        "p99ms": round(q(0.99), 3), "maxms": round(lat[-1] * 1000, 3),
        "rssKbStart": rss[0], "rssKbMax": max(rss), "rssKbEnd": rss[-1],
    }))
