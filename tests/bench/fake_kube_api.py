#!/usr/bin/env python3
"""A minimal Kubernetes API endpoint for tests/bench/flux-publish.sh: answers
what a `nixflux publish --kubeconfig ... --flux-bucket NS/NAME` sends (GET
of the kube-system Namespace, GET and PATCH of the Bucket and of the
Kustomization) with realistic JSON (only the metadata to a client asking
for `as=PartialObjectMetadata`, as the API server does), and appends one
line per request to LOG: `<arrival time.time_ns()> <method> <path>`.

Usage: fake_kube_api.py PORT LOG BUNDLE_JSON [NAMESPACE/NAME]
The Kustomization's status.inventory lists the objects of BUNDLE_JSON (a
bundle's bundle.json), as Flux would after applying that bundle."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, bundle_json = int(sys.argv[1]), sys.argv[2], sys.argv[3]
namespace, name = (sys.argv[4] if len(sys.argv) > 4 else "flux-system/nixflux").split("/", 1)
with open(bundle_json) as f:
    bundle = json.load(f)
inventory = [{"id": o["id"], "v": "v1"} for file in bundle["files"] for o in file["objects"]]
# Encoded once: the API server (Go) encodes thousands of entries in well
# under a millisecond; Python's json takes several, on the cores the
# publisher being measured runs on.
INVENTORY = "@inventory@"
inventory_json = json.dumps(inventory)
revision = "sha256:" + "0" * 64
log = open(log_path, "a", buffering=1)
lock = threading.Lock()
annotations = {"bucket": {}, "kustomization": {}}


def meta(n, ns, kind_key, uid):
    m = {
        "name": n,
        "uid": uid,
        "resourceVersion": "4242",
        "generation": 1,
        "creationTimestamp": "2026-11-01T00:00:00Z",
    }
    if ns:
        m["namespace"] = ns
    if kind_key:
        m["annotations"] = dict(annotations[kind_key])
    return m


def ready(reason):
    return [{
        "type": "Ready", "status": "True", "reason": reason, "message": "ok",
        "observedGeneration": 1, "lastTransitionTime": "2026-11-01T00:00:00Z",
    }]


def bucket():
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
        "metadata": meta(name, namespace, "bucket", "b5c1c7a0-0000-4000-8000-000000000001"),
        "spec": {"provider": "generic", "bucketName": "flux", "endpoint": "127.0.0.1:9000", "insecure": True,
                 "interval": "10m", "prefix": "steady/", "region": "us-east-1",
                 "secretRef": {"name": "nixflux-s3"}, "ignore": "/generations/\n/nixflux.lock\n"},
        "status": {"observedGeneration": 1, "conditions": ready("Succeeded"),
                   "artifact": {"path": "bucket/x.tar.gz", "url": "http://source-controller/x.tar.gz",
                                "revision": revision, "digest": revision, "size": 1,
                                "lastUpdateTime": "2026-11-01T00:00:00Z"}},
    }


def kustomization():
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": meta(name, namespace, "kustomization", "b5c1c7a0-0000-4000-8000-000000000002"),
        "spec": {"interval": "10m", "path": "./steady", "prune": True, "wait": True, "timeout": "5m",
                 "sourceRef": {"kind": "Bucket", "name": name}},
        "status": {"observedGeneration": 1, "conditions": ready("ReconciliationSucceeded"),
                   "lastAppliedRevision": revision, "lastAttemptedRevision": revision,
                   "inventory": {"entries": INVENTORY}},
    }


def kube_system():
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta("kube-system", None, None, "6d1b9f2e-0000-4000-8000-00000000c1a5"),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


BUCKET = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{namespace}/buckets/{name}"
KUSTOMIZATION = f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{namespace}/kustomizations/{name}"
OBJECTS = {BUCKET: ("bucket", bucket), KUSTOMIZATION: ("kustomization", kustomization),
           "/api/v1/namespaces/kube-system": (None, kube_system)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as the API server (Go) sets on every connection: headers
    # and body go out as two writes, and with Nagle's algorithm the body
    # would wait for the client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send_json(self, status, body):
        data = json.dumps(body).replace(json.dumps(INVENTORY), inventory_json).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        at = time.time_ns()
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        log.write(f"{at} {self.command} {path}\n")
        if path not in OBJECTS:
            self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "NotFound", "code": 404, "message": f"{path} not found"})
            return
        key, render = OBJECTS[path]
        if self.command == "PATCH" and key:
            patch = json.loads(body or b"{}")
            with lock:
                annotations[key].update(patch.get("metadata", {}).get("annotations", {}))
        elif self.command != "GET":
            self.send_json(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "MethodNotAllowed", "code": 405, "message": self.command})
            return
        body = render()
        # What the API server answers a client that asks for the metadata alone.
        if "as=PartialObjectMetadata" in (self.headers.get("Accept") or ""):
            body = {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": body["metadata"]}
        self.send_json(200, body)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = handle_any


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.serve_forever()
