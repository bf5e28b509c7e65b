#!/usr/bin/env python3
"""Writes a nixflux spec with N apps shaped like the example's typical app:
Namespace, ServiceAccount, Deployment, Service, Ingress, NetworkPolicy
(6 objects each). Usage: gen_spec.py N [changed-app-index] [--via-map] > spec.json
With --via-map every app names its image symbolically, resolved through the
spec's `images` map (N entries)."""
import hashlib
import json
import sys

ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"


def store_hash(name):
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(ALPHABET[b % 32] for b in digest[:32])


def image(name):
    return f"nix:0/nix/store/{store_hash(name)}-nix-image-{name}.tar"


def app(i, changed, via_map):
    name = f"app{i:05d}"
    return name, {
        "image": f"img-{name}" if via_map else image(name),
        "port": 8080,
        "health": "/healthz",
        "env": {"TZ": "Europe/Berlin", "LOG_LEVEL": "debug" if i == changed else "info", "APP_ID": str(i)},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "ingress": {
            "host": f"{name}.home.example.org",
            "tls": {"secretName": f"{name}-tls"},
            # cert-manager makes the TLS Secret (so the reference resolves).
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        },
    }


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    via_map = "--via-map" in sys.argv
    n = int(args[0])
    changed = int(args[1]) if len(args) > 1 else -1
    spec = {
        "apiVersion": "nixflux/v1alpha1",
        "defaults": {"ingressClassName": "traefik"},
        "apps": dict(app(i, changed, via_map) for i in range(n)),
    }
    if via_map:
        spec["images"] = {f"img-app{i:05d}": image(f"app{i:05d}") for i in range(n)}
    json.dump(spec, sys.stdout)


if __name__ == "__main__":
    main()
