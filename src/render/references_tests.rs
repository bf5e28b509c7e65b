//! References through `render`: every workload kind's pod template, what
//! the bundle's operators make, `external`, and optional references.

use serde_json::{json, Value};

use crate::spec::Problem;

const IMG: &str = "nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-web.tar";

fn problems(spec: Value) -> Vec<Problem> {
    let spec = crate::spec::parse(&spec.to_string(), "test").unwrap();
    match crate::render::render(&spec) {
        Ok(_) => Vec::new(),
        Err(ps) => ps,
    }
}

fn pod(secret: &str) -> Value {
    json!({ "containers": [ { "name": "c", "image": IMG, "envFrom": [ { "secretRef": { "name": secret } } ] } ] })
}

fn workload(kind: &str, secret: &str) -> Value {
    let (api, spec) = match kind {
        "Pod" => ("v1", pod(secret)),
        "Job" => ("batch/v1", json!({ "template": { "spec": pod(secret) } })),
        "CronJob" => (
            "batch/v1",
            json!({ "schedule": "@daily", "jobTemplate": { "spec": { "template": { "spec": pod(secret) } } } }),
        ),
        _ => (
            "apps/v1",
            json!({ "selector": { "matchLabels": { "a": "b" } },
                    "template": { "metadata": { "labels": { "a": "b" } }, "spec": pod(secret) } }),
        ),
    };
    json!({ "apiVersion": api, "kind": kind, "metadata": { "name": "w" }, "spec": spec })
}

#[test]
fn every_raw_workload_kind_is_checked_at_its_field() {
    for (kind, base) in [
        ("Deployment", "spec.template.spec"),
        ("StatefulSet", "spec.template.spec"),
        ("DaemonSet", "spec.template.spec"),
        ("Job", "spec.template.spec"),
        ("CronJob", "spec.jobTemplate.spec.template.spec"),
        ("Pod", "spec"),
    ] {
        let ps = problems(json!({ "apiVersion": "nixflux/v1alpha1",
            "apps": { "x": { "objects": [ workload(kind, "nope") ] } } }));
        assert_eq!(ps.len(), 1, "{kind}: {ps:?}");
        assert_eq!(ps[0].path.to_string(), format!("apps.x.objects[0].{base}.containers[0].envFrom[0].secretRef.name"));
        assert!(ps[0].message.contains("names Secret `x/nope`"), "{kind}: {}", ps[0].message);
    }
}

#[test]
fn secrets_made_in_the_bundle_or_declared_resolve() {
    let made = json!([
        { "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": { "name": "es" },
          "spec": { "target": { "name": "from-es" } } },
        { "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": { "name": "own-name" }, "spec": {} },
        { "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": { "name": "c" },
          "spec": { "secretName": "from-cert", "issuerRef": { "name": "ca", "kind": "ClusterIssuer" } } },
        workload("Deployment", "from-es"),
        { "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": { "name": "s" }, "spec": {
            "selector": {}, "template": { "spec": { "serviceAccountName": "default", "containers": [ { "name": "c", "image": IMG,
              "env": [ { "name": "A", "valueFrom": { "secretKeyRef": { "name": "own-name", "key": "k" } } },
                       { "name": "B", "valueFrom": { "configMapKeyRef": { "name": "maybe", "key": "k", "optional": true } } } ] } ],
              "volumes": [ { "name": "v", "secret": { "secretName": "from-cert" } },
                           { "name": "r", "configMap": { "name": "kube-root-ca.crt" } },
                           { "name": "e", "configMap": { "name": "outside" } } ] } } } }
    ]);
    let spec = json!({ "apiVersion": "nixflux/v1alpha1", "external": { "x": { "configMaps": [ "outside" ] } },
        "defaults": { "tls": { "issuers": { "ca": {} } } },
        "apps": { "x": { "objects": made } } });
    assert_eq!(problems(spec), Vec::new());
}

#[test]
fn ingress_shim_makes_tls_secrets_and_backends_resolve_by_number() {
    let ing = |annotations: Value| {
        json!({ "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": { "name": "i", "annotations": annotations },
            "spec": { "tls": [ { "hosts": [ "a.example.org" ], "secretName": "a-tls" } ],
              "rules": [ { "host": "a.example.org", "http": { "paths": [ { "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": "web", "port": { "number": 80 } } } } ] } } ] } })
    };
    let spec = |annotations: Value| {
        json!({ "apiVersion": "nixflux/v1alpha1",
            "apps": { "web": { "image": IMG, "port": 8080, "objects": [ ing(annotations) ] } } })
    };
    assert_eq!(problems(spec(json!({ "cert-manager.io/cluster-issuer": "le" }))), Vec::new());
    let ps = problems(spec(json!({})));
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path.to_string(), "apps.web.objects[0].spec.tls[0].secretName");
}

#[test]
fn a_route_may_reach_another_apps_service_in_its_namespace() {
    let spec = |service: &str| {
        json!({ "apiVersion": "nixflux/v1alpha1", "apps": {
            "ml": { "namespace": "photos", "image": IMG, "port": 3003 },
            "edge": { "namespace": "photos", "routes": { "ml": { "host": "ml.example.org", "service": service } } } } })
    };
    assert_eq!(problems(spec("ml")), Vec::new());
    let ps = problems(spec("mll"));
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path.to_string(), "apps.edge.routes.ml");
    assert_eq!(ps[0].hint.as_deref(), Some("did you mean `ml`? (if something outside the bundle creates `mll`, declare it in `external.photos.services`)"));
}
