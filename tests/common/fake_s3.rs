//! Minimal S3-protocol servers on 127.0.0.1 for behaviours no real server
//! here has: Ceph radosgw's literal `If-Match` (radosgw itself cannot run
//! in CI; `tests/radosgw.sh` runs the publish tests against the real one)
//! and a ListObjectsV2 that never ends. They speak path-style S3 over
//! HTTP/1.1 (one request per connection), accept any signature, and answer
//! with the XML and headers aws-sdk-s3 reads.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How a never-ending listing goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endless {
    /// `IsTruncated` with a new continuation token every page.
    FreshTokens,
    /// `IsTruncated` with the same token every page.
    SameToken,
    /// `IsTruncated` without a token.
    NoToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Stores objects; compares `If-Match` byte for byte with the stored,
    /// unquoted ETag (as radosgw 16.2 does on PutObject).
    LiteralIfMatch,
    /// Every listing page says it is truncated; every object is missing.
    EndlessListing(Endless),
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<u8>>,
    /// Every `If-Match` header a PutObject carried, in order, and whether it was accepted.
    if_match: Vec<(String, bool)>,
}

pub struct FakeS3 {
    pub port: u16,
    state: Arc<Mutex<State>>,
    pub pages: Arc<AtomicUsize>,
}

impl FakeS3 {
    pub fn start(behaviour: Behaviour) -> FakeS3 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let pages = Arc::new(AtomicUsize::new(0));
        let (st, pg) = (state.clone(), pages.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (st, pg) = (st.clone(), pg.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, behaviour, &st, &pg);
                });
            }
        });
        FakeS3 { port, state, pages }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `If-Match` values PutObject requests carried, with whether each was accepted.
    pub fn if_match_seen(&self) -> Vec<(String, bool)> {
        self.state.lock().unwrap().if_match.clone()
    }
}

struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(conn: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    if headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        conn.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if n == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut t = String::new();
                    conn.read_line(&mut t)?;
                    if t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; n + 2];
            conn.read_exact(&mut chunk)?;
            chunk.truncate(n);
            body.extend(chunk);
        }
    } else if let Some(n) = headers.get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        conn.read_exact(&mut body)?;
    }
    if headers.get("content-encoding").is_some_and(|v| v.contains("aws-chunked")) {
        body = aws_unchunk(&body);
    }
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Ok(Request { method, path: decode(path), query, headers, body })
}

/// The payload of an `aws-chunked` body: `hex[;ext]\r\n` data `\r\n`, until a 0 chunk.
fn aws_unchunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let n = usize::from_str_radix(line.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..start + n]);
        rest = &rest[(start + n + 2).min(rest.len())..];
    }
    out
}

fn respond(conn: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}

fn error(conn: &mut TcpStream, status: &str, code: &str) -> std::io::Result<()> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    respond(conn, status, &[("Content-Type", "application/xml".into())], xml.as_bytes())
}

fn etag(bytes: &[u8]) -> String {
    nixflux::publish::target::dir::md5_hex(bytes)
}

fn list_xml(
    bucket: &str,
    prefix: &str,
    entries: &[(String, String, usize)],
    truncated: bool,
    token: Option<String>,
) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        entries.len()
    );
    if let Some(t) = token {
        xml.push_str(&format!("<NextContinuationToken>{t}</NextContinuationToken>"));
    }
    for (key, etag, size) in entries {
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

fn serve(conn: TcpStream, behaviour: Behaviour, state: &Mutex<State>, pages: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let req = read_request(&mut reader)?;
    let mut conn = conn;
    let path = req.path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let xml = ("Content-Type", "application/xml".to_owned());
    if key.is_empty() && req.method == "GET" {
        let prefix = req.query.get("prefix").cloned().unwrap_or_default();
        let n = pages.fetch_add(1, Ordering::SeqCst);
        let body = match behaviour {
            Behaviour::EndlessListing(Endless::FreshTokens) => {
                list_xml(bucket, &prefix, &[], true, Some(format!("t{n}")))
            }
            Behaviour::EndlessListing(Endless::SameToken) => list_xml(bucket, &prefix, &[], true, Some("again".into())),
            Behaviour::EndlessListing(Endless::NoToken) => list_xml(bucket, &prefix, &[], true, None),
            Behaviour::LiteralIfMatch => {
                let st = state.lock().unwrap();
                let entries: Vec<(String, String, usize)> = st
                    .objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), etag(v), v.len()))
                    .collect();
                list_xml(bucket, &prefix, &entries, false, None)
            }
        };
        return respond(&mut conn, "200 OK", &[xml], body.as_bytes());
    }
    let mut st = state.lock().unwrap();
    match req.method.as_str() {
        "GET" | "HEAD" => match st.objects.get(key) {
            Some(bytes) if behaviour == Behaviour::LiteralIfMatch => {
                let body = if req.method == "GET" { bytes.clone() } else { Vec::new() };
                let headers =
                    [("ETag", format!("\"{}\"", etag(bytes))), ("Content-Type", "application/octet-stream".into())];
                respond(&mut conn, "200 OK", &headers, &body)
            }
            _ => error(&mut conn, "404 Not Found", "NoSuchKey"),
        },
        "PUT" => {
            let current = st.objects.get(key).map(|b| etag(b));
            if req.headers.get("if-none-match").is_some_and(|v| v == "*") && current.is_some() {
                return error(&mut conn, "412 Precondition Failed", "PreconditionFailed");
            }
            if let Some(want) = req.headers.get("if-match") {
                // radosgw: the header compared byte for byte with the unquoted ETag.
                let ok = current.as_deref() == Some(want.as_str());
                st.if_match.push((want.clone(), ok));
                if !ok {
                    return error(&mut conn, "412 Precondition Failed", "PreconditionFailed");
                }
            }
            let tag = etag(&req.body);
            st.objects.insert(key.to_owned(), req.body);
            respond(&mut conn, "200 OK", &[("ETag", format!("\"{tag}\""))], b"")
        }
        "DELETE" => {
            st.objects.remove(key);
            respond(&mut conn, "204 No Content", &[], b"")
        }
        _ => error(&mut conn, "405 Method Not Allowed", "MethodNotAllowed"),
    }
}
