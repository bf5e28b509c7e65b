#!/usr/bin/env python3
"""Writes a nixflux spec with N apps shaped like the example's typical app:
Namespace, ServiceAccount, Deployment, Service, Ingress, NetworkPolicy
(6 objects each). Usage: gen_spec.py N [changed-app-index] [--via-map] [--features] [--integrations] > spec.json
With --via-map every app names its image symbolically, resolved through the
spec's `images` map (N entries).

With --features the apps come in sites of four sharing a namespace and a
host, using the app-model features of issue 11: a frontend on `/` that
`allowTo`s its API; the API on `/api` plus an Exact `/hooks` route, env
references to a Secret (made by a raw ExternalSecret), a ConfigMap (raw,
with `${VAR}`s from `vars`) and a field, a container patch; a database
(backend profile, `allowFrom` the API, node selector, toleration, TCP
probes, a claim, a pod patch); a nightly CronJob that `allowTo`s the
database. Every env value naming a neighbour's Service is allowed, so
the reachability check runs (and finds nothing). A partial last site is
made of plain apps.

With --integrations every app also uses the integrations of issue 13 (see
`integrations` below)."""
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


def site_apps(i):
    """The four apps of site i//4 when it is complete."""
    site = f"site{i // 4:05d}"
    names = [f"{site}-{r}" for r in ("front", "api", "db", "job")]
    front, api, db, job = names
    host = f"{site}.home.example.org"
    tls = {"secretName": f"{site}-tls"}
    issuer = {"cert-manager.io/cluster-issuer": "letsencrypt"}
    res = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
    secret = {"secretKeyRef": {"name": f"{site}-db", "key": "password"}}
    k = i % 4
    if k == 0:
        return front, {
            "namespace": site,
            "image": image(front),
            "port": 3000,
            "health": "/",
            "env": {"API_URL": f"http://{api}.{site}.svc:80", "TZ": "Europe/Berlin"},
            "resources": res,
            "networkPolicy": {"profile": "web-app-internal", "allowTo": [{"app": api, "ports": ["http"]}]},
            "ingress": {"host": host, "path": "/", "tls": tls, "annotations": issuer},
        }
    if k == 1:
        return api, {
            "namespace": site,
            "image": image(api),
            "port": 8080,
            "extraPorts": {"metrics": {"port": 9090}},
            "health": "/healthz",
            "env": {
                "DB_HOST": f"{db}.{site}.svc",
                "DB_PASSWORD": secret,
                "MODE": {"configMapKeyRef": {"name": f"{site}-settings", "key": "mode"}},
                "POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
            },
            "resources": res,
            "networkPolicy": {"profile": "web-app-internal"},
            "containerPatch": {"lifecycle": {"preStop": {"exec": {"command": ["/bin/drain"]}}}},
            "ingress": {"host": host, "path": "/api", "tls": tls, "annotations": issuer},
            "routes": {"hooks": {"host": host, "path": "/hooks", "pathType": "Exact", "tls": tls}},
            "objects": [
                {
                    "apiVersion": "external-secrets.io/v1",
                    "kind": "ExternalSecret",
                    "metadata": {"name": f"{site}-db"},
                    "spec": {
                        "secretStoreRef": {"kind": "ClusterSecretStore", "name": "sops"},
                        "target": {"name": f"{site}-db"},
                        "data": [{"secretKey": "password", "remoteRef": {"key": "${SECRET_PREFIX}/" + site + "/db"}}],
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"{site}-settings"},
                    "data": {"mode": "fast", "url": f"https://{site}.${{DOMAIN}}/", "tz": "${TZ:=UTC}"},
                },
            ],
        }
    if k == 2:
        return db, {
            "namespace": site,
            "image": image(db),
            "port": 5432,
            "servicePort": 5432,
            "env": {"POSTGRES_PASSWORD": secret},
            "resources": res,
            "probes": {"readiness": {"tcpSocket": {}}, "liveness": {"tcpSocket": {}, "failureThreshold": 6}},
            "nodeSelector": {"homelab.example.org/disk": "ssd"},
            "tolerations": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
            "podAnnotations": {"homelab.example.org/backup": "nightly"},
            "podPatch": {"terminationGracePeriodSeconds": 60},
            "networkPolicy": {"profile": "backend", "allowFrom": [{"app": api, "ports": ["http"]}]},
            "volumes": {"data": {"mountPath": "/var/lib/postgresql", "persistentVolumeClaim": {"size": "1Gi"}}},
        }
    return job, {
        "namespace": site,
        "image": image(job),
        "schedule": f"{i % 60} 3 * * *",
        "job": {"timeZone": "Europe/Berlin", "successfulJobsHistoryLimit": 7},
        "command": ["/bin/backup", "/dump"],
        "env": {"PGHOST": f"{db}.{site}.svc", "PGPASSWORD": secret},
        "resources": res,
        "networkPolicy": {"allowTo": [{"app": db, "ports": ["http"]}]},
        "initContainers": [{"name": "prepare", "image": image(job), "command": ["/bin/prepare"], "volumes": ["dump"]}],
        "volumes": {"dump": {"mountPath": "/dump", "emptyDir": {}}},
    }


# --- integrations mode (issue 13) ---
def integrations(i, name, app, images):
    """Turns every integration on for one app, in place; adds the images it
    names to `images`: its ingress as IngressRoutes on both entrypoints of
    `defaults.traefik` with forward auth (every tenth app public), TLS from
    the wildcard certificate; `secretEnv` and `secretFiles` from the
    ClusterSecretStore; a database on the shared CloudNativePG Cluster; a
    Helm chart (HelmRepository + HelmRelease, two image values through the
    `images` map)."""
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
    if "ingress" in app:
        app["ingress"] = {"host": f"{name}.home.example.org"}
    if i % 10 == 0:
        app["public"] = True
    app["secretEnv"] = {"OIDC_CLIENT_SECRET": {"key": f"apps/{name}/oidc", "property": "client-secret"}}
    app["secretFiles"] = {"tls": {"mountPath": "/etc/app/tls", "files": {"ca.crt": {"key": "pki/home", "property": "ca"}}}}
    app["database"] = {"postgres": {"password": {"key": f"postgres/{name}", "property": "password"}}}


def integration_defaults(spec):
    """What the integrations need declared once in the spec."""
    d = spec.setdefault("defaults", {})
    d.pop("ingressClassName", None)
    d["traefik"] = {
        "entryPoints": {"websecure": {"tls": True}, "tunnel": {"tls": False}},
        "auth": {"name": "sso", "forwardAuth": {"address": "http://oauth2-proxy.auth.svc.cluster.local/oauth2/auth"}},
    }
    d["tls"] = {"issuers": {"letsencrypt": {"kind": "ClusterIssuer"}}, "wildcard": {"domain": "home.example.org", "issuer": "letsencrypt"}}
    d["secretStores"] = {"vault": {"kind": "ClusterSecretStore", "refreshInterval": "1h"}}
    d["postgres"] = {"name": "pg", "namespace": "databases", "instances": 2, "storage": {"size": "10Gi"}, "image": "postgres"}
    spec.setdefault("images", {})["postgres"] = "ghcr.io/cloudnative-pg/postgresql:16.4@sha256:" + hashlib.sha256(b"pg").hexdigest()
    return spec
# --- end integrations mode ---


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    via_map = "--via-map" in sys.argv
    features = "--features" in sys.argv
    with_integrations = "--integrations" in sys.argv
    n = int(args[0])
    changed = int(args[1]) if len(args) > 1 else -1
    full_sites = n // 4 * 4 if features else 0
    spec = {
        "apiVersion": "nixflux/v1alpha1",
        "defaults": {"ingressClassName": "traefik"},
        "apps": dict(site_apps(i) if i < full_sites else app(i, changed, via_map) for i in range(n)),
    }
    if features:
        spec["vars"] = {"DOMAIN": "home.example.org", "SECRET_PREFIX": "sites"}
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
