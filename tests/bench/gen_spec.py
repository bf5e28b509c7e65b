#!/usr/bin/env python3
"""Writes a nixflux spec with N apps shaped like the example's typical app:
Namespace, ServiceAccount, Deployment, Service, Ingress, NetworkPolicy
(6 objects each). Usage: gen_spec.py N [changed-app-index] > spec.json"""
import hashlib
import json
import sys

ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"


def store_hash(name):
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(ALPHABET[b % 32] for b in digest[:32])


def app(i, changed):
    name = f"app{i:05d}"
    return name, {
        "image": f"nix:0/nix/store/{store_hash(name)}-nix-image-{name}.tar",
        "port": 8080,
        "health": "/healthz",
        "env": {"TZ": "Europe/Berlin", "LOG_LEVEL": "debug" if i == changed else "info", "APP_ID": str(i)},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "ingress": {"host": f"{name}.home.example.org", "tls": {"secretName": f"{name}-tls"}},
    }


def main():
    n = int(sys.argv[1])
    changed = int(sys.argv[2]) if len(sys.argv) > 2 else -1
    spec = {
        "apiVersion": "nixflux/v1alpha1",
        "defaults": {"ingressClassName": "traefik"},
        "apps": dict(app(i, changed) for i in range(n)),
    }
    json.dump(spec, sys.stdout)


if __name__ == "__main__":
    main()
