//! Self-tests of the fake API server (`tests/common/fake_kube`) through the
//! real kube client: what nixflux's Flux tests rely on it to do as the real
//! API server and Flux's controllers do.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::{json, Value};

use super::common::fake_kube::controller::REQUESTED_AT;
use super::common::fake_kube::*;

const WAIT: Duration = Duration::from_secs(10);

pub fn bucket(name: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
        "metadata": { "name": name, "namespace": "flux-system" },
        "spec": { "bucketName": "flux", "endpoint": "127.0.0.1:9000", "provider": "generic", "interval": "10m", "prefix": "home/" },
    })
}

pub fn kustomization(name: &str, source: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": name, "namespace": "flux-system" },
        "spec": { "interval": "10m", "timeout": "2m", "path": "./home", "prune": true, "wait": true,
                  "sourceRef": { "kind": "Bucket", "name": source } },
    })
}

pub fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub fn request(value: &str) -> Value {
    json!({ "metadata": { "annotations": { REQUESTED_AT: value } } })
}

#[tokio::test]
async fn get_and_list_answer_as_the_api_server() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket", "metadata": { "name": "other", "namespace": "default", "labels": { "team": "a" } }, "spec": {} }));
    let client = kube.client().await;

    let ns = api(&client, &NAMESPACE, None).get("kube-system").await.unwrap();
    assert_eq!(ns.metadata.uid.as_deref(), Some(kube.namespace_uid("kube-system").as_str()));
    assert!(!kube.namespace_uid("kube-system").is_empty());

    let home = api(&client, &BUCKET, Some("flux-system")).get("home").await.unwrap();
    assert_eq!(home.data["spec"]["prefix"], "home/");
    assert_eq!(home.metadata.generation, Some(1));
    let list = api(&client, &BUCKET, Some("flux-system")).list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.metadata.resource_version, Some(kube.resource_version().to_string()));
    let all = api(&client, &BUCKET, None).list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 2);
    let labelled = api(&client, &BUCKET, None).list(&ListParams::default().labels("team=a")).await.unwrap();
    assert_eq!(labelled.items.iter().map(|o| o.metadata.name.clone().unwrap()).collect::<Vec<_>>(), ["other"]);
    let named = api(&client, &BUCKET, None).list(&ListParams::default().fields("metadata.name=home")).await.unwrap();
    assert_eq!(named.items.len(), 1);

    let raw = http_request(
        kube.port(),
        "GET",
        "/apis/source.toolkit.fluxcd.io/v1/buckets",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    );
    let raw: Value = serde_json::from_slice(&raw.1).unwrap();
    assert_eq!(raw["kind"], "BucketList");
    assert_eq!(raw["apiVersion"], "source.toolkit.fluxcd.io/v1");
}

#[tokio::test]
async fn merge_patch_moves_generation_only_for_spec() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    let client = kube.client().await;
    let buckets = api(&client, &BUCKET, Some("flux-system"));
    let rv = |o: &kube::api::DynamicObject| o.metadata.resource_version.clone().unwrap().parse::<u64>().unwrap();
    let before = buckets.get("home").await.unwrap();

    let annotated =
        buckets.patch("home", &PatchParams::default(), &Patch::Merge(request("2026-12-02T00:00:00.1Z"))).await.unwrap();
    assert_eq!(annotated.metadata.generation, Some(1), "annotations do not move the generation");
    assert!(rv(&annotated) > rv(&before));
    assert_eq!(annotated.metadata.annotations.as_ref().unwrap()[REQUESTED_AT], "2026-12-02T00:00:00.1Z");

    let same =
        buckets.patch("home", &PatchParams::default(), &Patch::Merge(request("2026-12-02T00:00:00.1Z"))).await.unwrap();
    assert_eq!(rv(&same), rv(&annotated), "a patch that changes nothing writes nothing");

    let spec = buckets
        .patch("home", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "interval": "1m", "prefix": null } })))
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(2));
    assert_eq!(spec.data["spec"]["interval"], "1m");
    assert!(spec.data["spec"].get("prefix").is_none(), "null removes a field (RFC 7386)");
    assert_eq!(spec.data["spec"]["bucketName"], "flux", "other fields stay");

    let ignored = buckets
        .patch("home", &PatchParams::default(), &Patch::Merge(json!({ "status": { "observedGeneration": 9 } })))
        .await
        .unwrap();
    assert!(ignored.data.get("status").is_none(), "status is only written through /status");
    let status = buckets
        .patch_status(
            "home",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "observedGeneration": 2 }, "spec": { "interval": "5m" } })),
        )
        .await
        .unwrap();
    assert_eq!(status.data["status"]["observedGeneration"], 2);
    assert_eq!(status.data["spec"]["interval"], "1m", "/status writes only the status");
    assert_eq!(status.metadata.generation, Some(2));

    let path = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/buckets/home";
    let auth = format!("Bearer {TOKEN}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/strategic-merge-patch+json")];
    let (code, body) = http_request(kube.port(), "PATCH", path, &headers, b"{}");
    assert_eq!(code, 415, "{}", String::from_utf8_lossy(&body));

    let patches: Vec<Request> = kube.requests().into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches[0].path, "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/buckets/home");
    assert_eq!(patches[0].headers["content-type"], "application/merge-patch+json");
    assert_eq!(patches[0].json(), request("2026-12-02T00:00:00.1Z"));
    assert_eq!(patches[4].path, "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/buckets/home/status");
    assert!(patches.windows(2).all(|w| w[0].at <= w[1].at));
}

/// The next watch event, or a panic after `WAIT`.
async fn next<S>(stream: &mut S) -> WatchEvent<kube::api::DynamicObject>
where
    S: futures::Stream<Item = Result<WatchEvent<kube::api::DynamicObject>, kube::Error>> + Unpin,
{
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a watch event in time")
        .expect("the stream goes on")
        .expect("an event")
}

#[tokio::test]
async fn watch_streams_changes_and_bookmarks() {
    let kube = FakeKube::start();
    kube.set_bookmark_interval(Duration::from_millis(50));
    kube.put(bucket("home"));
    kube.put(bucket("other"));
    let client = kube.client().await;
    let buckets = api(&client, &BUCKET, Some("flux-system"));

    let mut initial = buckets.watch(&WatchParams::default().fields("metadata.name=home"), "0").await.unwrap().boxed();
    match next(&mut initial).await {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("home")),
        e => panic!("expected ADDED, got {e:?}"),
    }

    let rv = buckets.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = buckets.watch(&WatchParams::default().timeout(5), &rv).await.unwrap().boxed();
    kube.patch(&BUCKET, "flux-system", "home", &request("t1"));
    kube.patch_status(&BUCKET, "flux-system", "other", &json!({ "status": { "observedGeneration": 1 } }));
    let mut seen = Vec::new();
    let mut bookmark = None;
    while seen.len() < 2 || bookmark.is_none() {
        match next(&mut stream).await {
            WatchEvent::Modified(o) => seen.push((o.metadata.name.unwrap(), o.metadata.resource_version.unwrap())),
            WatchEvent::Bookmark(b) => bookmark = Some(b.metadata.resource_version),
            e => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(seen.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["home", "other"]);
    assert_eq!(bookmark, Some(kube.resource_version().to_string()));

    let watch = kube.requests().into_iter().rfind(Request::is_watch).unwrap();
    assert_eq!(watch.query["resourceVersion"], rv);
    assert_eq!(watch.query["allowWatchBookmarks"], "true");
    assert_eq!(watch.query["timeoutSeconds"], "5");

    // The stream ends at timeoutSeconds.
    let mut short = buckets
        .watch(&WatchParams::default().timeout(1).disable_bookmarks(), &kube.resource_version().to_string())
        .await
        .unwrap()
        .boxed();
    let end = tokio::time::timeout(Duration::from_secs(5), short.next()).await.expect("the watch ends in time");
    assert!(end.is_none(), "no event, then the end: {end:?}");
}

#[tokio::test]
async fn stale_watch_gets_410_and_a_relist_recovers() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    let client = kube.client().await;
    let buckets = api(&client, &BUCKET, Some("flux-system"));
    let old = buckets.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = buckets.watch(&WatchParams::default(), &old).await.unwrap().boxed();

    kube.expire_watches();
    match next(&mut stream).await {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        e => panic!("expected a 410 ERROR event, got {e:?}"),
    }
    let mut again = buckets.watch(&WatchParams::default(), &old).await.unwrap().boxed();
    match next(&mut again).await {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert!(e.message.starts_with(&format!("too old resource version: {old} (")), "{}", e.message);
        }
        e => panic!("expected a 410 ERROR event, got {e:?}"),
    }

    let fresh = buckets.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = buckets.watch(&WatchParams::default(), &fresh).await.unwrap().boxed();
    kube.patch(&BUCKET, "flux-system", "home", &request("t2"));
    match next(&mut stream).await {
        WatchEvent::Modified(o) => assert_eq!(o.metadata.annotations.unwrap()[REQUESTED_AT], "t2"),
        e => panic!("expected MODIFIED, got {e:?}"),
    }

    kube.set_expired_as_http(true);
    assert_eq!(api_error(buckets.watch(&WatchParams::default(), &old).await.map(|_| ())).code, 410);
}

#[tokio::test]
async fn errors_are_status_objects() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("home", "home"));
    let client = kube.client().await;
    let buckets = api(&client, &BUCKET, Some("flux-system"));

    let missing = api_error(buckets.get("nope").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "buckets.source.toolkit.fluxcd.io \"nope\" not found");

    let stale = json!({ "metadata": { "resourceVersion": "1", "annotations": { REQUESTED_AT: "t" } } });
    let conflict = api_error(buckets.patch("home", &PatchParams::default(), &Patch::Merge(stale)).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(conflict.message.contains("the object has been modified"), "{}", conflict.message);

    let wrong = kube.client_with_token("wrong").await;
    let unauthorized = api_error(api(&wrong, &BUCKET, Some("flux-system")).get("home").await);
    assert_eq!((unauthorized.code, unauthorized.reason.as_str()), (401, "Unauthorized"));
    let (code, body) = http_request(kube.port(), "GET", "/api/v1/namespaces/kube-system", &[], b"");
    assert_eq!(code, 401);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["kind"], "Status");

    // A minimal Role: patch and read its own Bucket and Kustomization, read kube-system.
    kube.allow_only(vec![
        Rule::new("*", "buckets").in_namespace("flux-system").named("home"),
        Rule::new("*", "kustomizations").in_namespace("flux-system").named("home"),
        Rule::new("get", "namespaces").named("kube-system"),
    ]);
    kube.deny(Rule::new("delete", "*"));
    assert!(buckets.patch("home", &PatchParams::default(), &Patch::Merge(request("t"))).await.is_ok());
    assert!(api(&client, &NAMESPACE, None).get("kube-system").await.is_ok());
    let forbidden = api_error(api(&client, &NAMESPACE, None).get("default").await);
    assert_eq!((forbidden.code, forbidden.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        forbidden.message,
        format!("namespaces \"default\" is forbidden: User \"{USER}\" cannot get resource \"namespaces\" in API group \"\" at the cluster scope")
    );
    let list = api_error(buckets.list(&ListParams::default()).await);
    assert_eq!(
        list.message,
        format!("buckets.source.toolkit.fluxcd.io is forbidden: User \"{USER}\" cannot list resource \"buckets\" in API group \"source.toolkit.fluxcd.io\" in the namespace \"flux-system\"")
    );
    assert_eq!(api_error(buckets.delete("home", &Default::default()).await).code, 403);
    assert!(kube.get(&BUCKET, "flux-system", "home").is_some());
}
