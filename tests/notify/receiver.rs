//! The receiver: signatures, sizes, shapes, the queue, the other endpoints.

use std::io::{Read, Write};
use std::time::Duration;

use super::harness::{client, event, failing, get, post, sign, start};

const KEY: &str = "s3cret-hmac-key";

fn key_file(dir: &std::path::Path) -> String {
    let path = dir.join("hmac");
    std::fs::write(&path, format!("{KEY}\n")).unwrap();
    format!("hmac_key_file = \"{}\"\nmax_body = 2048", path.display())
}

#[tokio::test]
async fn signatures_are_required_when_a_key_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(dir.path(), &key_file(dir.path()), "").await;
    let c = client();
    let body = failing("apps");
    assert_eq!(post(&c, n.addr(), "/flux", &body, Some(sign(&body, KEY))).await.0, 202);
    let (status, _, text) = post(&c, n.addr(), "/flux", &body, None).await;
    assert_eq!((status, text.as_str()), (401, "missing X-Signature\n"));
    let (status, _, text) = post(&c, n.addr(), "/flux", &body, Some(sign(&body, "other-key"))).await;
    assert_eq!((status, text.as_str()), (401, "wrong X-Signature\n"));
    // Signed right, but for another body.
    let other = failing("other");
    assert_eq!(post(&c, n.addr(), "/flux", &other, Some(sign(&body, KEY))).await.0, 401);
    assert_eq!(post(&c, n.addr(), "/flux", &body, Some("sha256=zz".into())).await.0, 401);
    assert_eq!(post(&c, n.addr(), "/flux", &body, Some(sign(&body, KEY).replace("sha256", "sha512"))).await.0, 401);
    let (_, metrics) = get(&c, n.addr(), "/metrics").await;
    assert!(metrics.contains("nixflux_notify_events_rejected_total{reason=\"signature\"} 5\n"), "{metrics}");
    assert!(metrics.contains("nixflux_notify_events_received_total 1\n"), "{metrics}");
}

#[tokio::test]
async fn without_a_key_the_generic_provider_needs_no_signature() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(dir.path(), "", "").await;
    assert_eq!(post(&client(), n.addr(), "/flux", &failing("apps"), None).await.0, 202);
}

#[tokio::test]
async fn bodies_that_are_too_large_malformed_or_not_events_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(dir.path(), "max_body = 2048", "").await;
    let c = client();
    let big = event("Kustomization", "apps", "error", "BuildFailed", &"x".repeat(3000));
    assert_eq!(post(&c, n.addr(), "/flux", &big, None).await.0, 413);
    let (status, _, text) = post(&c, n.addr(), "/flux", "{\"involvedObject\": ", None).await;
    assert_eq!(status, 400);
    assert!(text.starts_with("not JSON: "), "{text}");
    let (status, _, text) = post(&c, n.addr(), "/flux", "{\"hello\": \"world\"}", None).await;
    assert_eq!(status, 400);
    assert!(text.starts_with("not a Flux event: "), "{text}");
    let wrong_severity = failing("apps").replace("\"error\"", "\"warning\"");
    let (status, _, text) = post(&c, n.addr(), "/flux", &wrong_severity, None).await;
    assert_eq!(status, 400);
    assert!(text.contains("`severity`") && text.contains("unknown variant `warning`"), "{text}");
    let (status, _, _) = post(&c, n.addr(), "/flux", &format!("{} trailing", failing("apps")), None).await;
    assert_eq!(status, 400);
    assert_eq!(get(&c, n.addr(), "/flux").await.0, 405);
    assert_eq!(get(&c, n.addr(), "/nothing").await.0, 404);
    let (_, metrics) = get(&c, n.addr(), "/metrics").await;
    for (reason, count) in [("too_large", 1), ("malformed", 2), ("not_an_event", 2), ("method", 1), ("not_found", 1)] {
        assert!(
            metrics.contains(&format!("nixflux_notify_events_rejected_total{{reason=\"{reason}\"}} {count}\n")),
            "{reason}: {metrics}"
        );
    }
}

/// A chunked body declares no length: the limit holds while it is read.
#[tokio::test]
async fn a_chunked_body_is_cut_off_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(dir.path(), "max_body = 2048", "").await;
    let addr = n.addr();
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "POST /flux HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n"
        )
        .unwrap();
        // Keeps sending; the server answers before the end.
        for _ in 0..4 {
            let chunk = "y".repeat(1000);
            if write!(s, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
                break;
            }
        }
        let mut answer = [0u8; 64];
        let n = s.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // A tiny queue and many concurrent posts: some must find it full.
    let n = start(dir.path(), "queue = 1", "").await;
    let c = client();
    let addr = n.addr();
    let posts = (0..400).map(|i| {
        let c = c.clone();
        async move { post(&c, addr, "/flux", &failing(&format!("k{i}")), None).await }
    });
    let answers = futures::future::join_all(posts).await;
    let full: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(answers.iter().all(|(s, _, _)| *s == 202 || *s == 503));
    assert!(!full.is_empty(), "no 503 out of {}", answers.len());
    assert_eq!(full[0].1.get("retry-after").unwrap(), "1");
}

#[tokio::test]
async fn health_and_readiness_answer_and_the_receiver_can_have_its_own_socket() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(dir.path(), "receiver_listen = \"127.0.0.1:0\"\nreceiver_path = \"/hook\"", "").await;
    let c = client();
    let (http, receiver) = (n.daemon.http_addr.unwrap(), n.daemon.receiver_addr.unwrap());
    assert_eq!(get(&c, http, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(get(&c, http, "/readyz").await, (200, "ready\n".into()));
    assert_eq!(post(&c, receiver, "/hook", &failing("apps"), None).await.0, 202);
    // Each socket serves only its part.
    assert_eq!(post(&c, http, "/hook", &failing("apps"), None).await.0, 404);
    assert_eq!(get(&c, receiver, "/metrics").await.0, 404);
}
