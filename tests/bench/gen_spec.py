#!/usr/bin/env python3
"""Writes a nixflux spec with N apps shaped like the example's typical app:
Namespace, ServiceAccount, Deployment, Service, Ingress, NetworkPolicy
(6 objects each). Usage: gen_spec.py N [changed-app-index] [--via-map] [--integrations] > spec.json
With --via-map every app names its image symbolically, resolved through the
spec's `images` map (N entries). With --integrations every app also uses
the integrations of issue 13 (see `integrations` below)."""
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


# --- integrations mode (issue 13) ---
def integrations(i, name, app, images):
    """Turns every integration on for one app, in place; adds the images
    it names to `images`. Today: a Helm chart (HelmRepository + HelmRelease,
    values with two image values through the `images` map): 8 objects per app."""
    images[f"chart-{name}"] = f"ghcr.io/example/{name}:1.{i % 100}.0@sha256:" + hashlib.sha256(name.encode()).hexdigest()
    images[f"chart-{name}-sidecar"] = image(f"{name}-sidecar")
    app["helm"] = {
        "repository": "https://charts.example.org/stable",
        "chart": f"chart-{i % 50}",
        "version": f"2.{i % 10}.1",
        "values": {"replicaCount": 1, "persistence": {"enabled": True, "size": "1Gi"}, "env": {"APP_ID": str(i)}},
        "valuesFrom": [{"kind": "Secret", "name": f"{name}-values"}],
        "imageValues": [
            {"path": "image", "image": f"chart-{name}", "registryKey": "registry"},
            {"path": "sidecar.image", "image": f"chart-{name}-sidecar"},
        ],
    }
    # TODO(issue 13, traefik branch): the app's route as an IngressRoute on
    # every entrypoint of `defaults`, forward auth on, a cert-manager
    # Certificate for its host (set the route fields here).
    # TODO(issue 13, secretsdb branch): `secretEnv` from an ExternalSecret
    # against the ClusterSecretStore of `defaults`, and `database.postgres`
    # on the shared CNPG Cluster (set those fields here, and the
    # `defaults` they need in `integration_defaults`).


def integration_defaults(spec):
    """What the integrations need declared once in the spec (nothing yet for Helm)."""
    # TODO(issue 13): entrypoints, auth middleware, secret store, CNPG cluster.
    return spec
# --- end integrations mode ---


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    via_map = "--via-map" in sys.argv
    with_integrations = "--integrations" in sys.argv
    n = int(args[0])
    changed = int(args[1]) if len(args) > 1 else -1
    spec = {
        "apiVersion": "nixflux/v1alpha1",
        "defaults": {"ingressClassName": "traefik"},
        "apps": dict(app(i, changed, via_map) for i in range(n)),
    }
    if via_map:
        spec["images"] = {f"img-app{i:05d}": image(f"app{i:05d}") for i in range(n)}
    if with_integrations:
        images = spec.setdefault("images", {})
        for i, (name, entry) in enumerate(spec["apps"].items()):
            integrations(i, name, entry, images)
        integration_defaults(spec)
    json.dump(spec, sys.stdout)


if __name__ == "__main__":
    main()
