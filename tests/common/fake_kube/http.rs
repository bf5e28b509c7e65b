//! The HTTP side: accepting connections (hyper 1, HTTP/1.1), reading a
//! request into a REST call (kind, namespace, name, subresource, verb),
//! authentication, the deny list, and the answers the real API server gives
//! (objects, `...List` kinds, `Status` errors), recording every request.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{json, Value};

use super::kinds::{self, Kind};
use super::store::{meta_str, ApiError, Part};
use super::{Request, Shared};

pub type Body = BoxBody<Bytes, Infallible>;
pub type Response = hyper::Response<Body>;

pub fn bind() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("non-blocking listener");
    let port = listener.local_addr().expect("local address").port();
    (listener, port)
}

/// Serves HTTP/1.1 on `listener`, each connection on its own task, with
/// `handler` answering, until `stop` fires.
pub async fn serve_with<H, F>(listener: std::net::TcpListener, stop: tokio::sync::oneshot::Receiver<()>, handler: H)
where
    H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Response> + Send + 'static,
{
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    tokio::pin!(stop);
    loop {
        let conn = tokio::select! {
            _ = &mut stop => return,
            conn = listener.accept() => conn,
        };
        let Ok((stream, _)) = conn else { continue };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

pub async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, stop: tokio::sync::oneshot::Receiver<()>) {
    serve_with(listener, stop, move |req| handle(shared.clone(), req)).await;
}

pub fn full(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    hyper::Response::builder()
        .status(code)
        .header("content-type", content_type)
        .body(Full::new(body.into()).boxed())
        .expect("valid response")
}

pub fn json_response(code: u16, value: &Value) -> Response {
    full(code, "application/json", serde_json::to_vec(value).expect("JSON"))
}

pub fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(query: Option<&str>) -> BTreeMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Reads the whole request, answers it with `answer`, and records it.
pub async fn recorded<F, Fut>(
    requests: &std::sync::Mutex<Vec<Request>>,
    req: hyper::Request<Incoming>,
    answer: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let (at, wall) = (Instant::now(), SystemTime::now());
    let (parts, body) = req.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let mut request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parse_query(parts.uri.query()),
        headers,
        body,
        at,
        wall,
        status: 0,
    };
    let response = answer(request.clone()).await;
    request.status = response.status().as_u16();
    if let Ok(mut r) = requests.lock() {
        r.push(request);
    }
    response
}

async fn handle(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Response {
    let inner = shared.clone();
    recorded(&shared.requests, req, |r| async move { answer(&inner, r).await }).await
}

/// A REST call read from a path.
struct Call {
    kind: &'static Kind,
    namespace: String,
    name: String,
    status: bool,
}

fn route(path: &str) -> Option<Call> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if *plural != "status" && *plural != "finalize" => {
            (*ns, *plural, tail.first().copied(), tail.get(1).copied())
        }
        [plural, tail @ ..] => ("", *plural, tail.first().copied(), tail.get(1).copied()),
        [] => return None,
    };
    let kind = kinds::find(group, version, plural)?;
    if kind.namespaced == namespace.is_empty() && !(kind.namespaced && name.is_none()) {
        return None;
    }
    match sub {
        None | Some("status") => {}
        Some(_) => return None,
    }
    Some(Call {
        kind,
        namespace: namespace.to_owned(),
        name: name.unwrap_or_default().to_owned(),
        status: sub.is_some(),
    })
}

fn forbidden(user: &str, verb: &str, call: &Call) -> ApiError {
    let resource = if call.status { format!("{}/status", call.kind.plural) } else { call.kind.plural.to_owned() };
    let object = match call.name.as_str() {
        "" => call.kind.group_resource(),
        name => format!("{} \"{name}\"", call.kind.group_resource()),
    };
    let scope = match call.namespace.as_str() {
        "" => "at the cluster scope".to_owned(),
        ns => format!("in the namespace \"{ns}\""),
    };
    let message = format!(
        "{object} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
        call.kind.group
    );
    let mut error = ApiError::new(403, "Forbidden", message);
    error.details = json!({ "name": call.name, "group": call.kind.group, "kind": call.kind.plural });
    error
}

async fn answer(shared: &Arc<Shared>, req: Request) -> Response {
    let latency = shared.settings().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if shared.settings().down {
        return error_response(&ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ));
    }
    let token = req.headers.get("authorization").and_then(|a| a.strip_prefix("Bearer ")).map(str::to_owned);
    let user = token.and_then(|t| shared.settings().tokens.get(&t).cloned());
    let Some(user) = user else {
        return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
    };
    if req.path == "/version" {
        return json_response(
            200,
            &json!({ "major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64" }),
        );
    }
    let not_found =
        || error_response(&ApiError::new(404, "NotFound", "the server could not find the requested resource"));
    let Some(call) = route(&req.path) else {
        return not_found();
    };
    if shared.settings().unserved.contains(&call.kind) {
        return not_found();
    }
    let verb = match (req.method.as_str(), call.name.is_empty()) {
        ("GET", false) => "get",
        ("GET", true) if req.is_watch() => "watch",
        ("GET", true) => "list",
        ("POST", true) => "create",
        ("PUT", false) => "update",
        ("PATCH", false) => "patch",
        ("DELETE", false) => "delete",
        _ => {
            return error_response(&ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ))
        }
    };
    let resource = if call.status { format!("{}/status", call.kind.plural) } else { call.kind.plural.to_owned() };
    if shared.settings().forbidden(verb, &resource, &call.namespace, &call.name) {
        return error_response(&forbidden(&user, verb, &call));
    }
    let part = if call.status { Part::Status } else { Part::Main };
    let (kind, ns, name) = (call.kind, call.namespace.as_str(), call.name.as_str());
    let result = match verb {
        "get" => shared.store().get(kind, ns, name).cloned().ok_or_else(|| ApiError::not_found(kind, name)),
        "list" => return list(shared, &call, &req),
        "watch" => return super::watch::watch(shared.clone(), kind, ns, &req),
        "create" => {
            return match body(&req).and_then(|b| shared.write(|s| s.create(kind, ns, b))) {
                Ok(object) => json_response(201, &object),
                Err(e) => error_response(&e),
            }
        }
        "update" => body(&req).and_then(|b| shared.write(|s| s.update(kind, ns, name, part, b))),
        "patch" => patch(shared, &call, part, &req),
        _ => shared.write(|s| s.delete(kind, ns, name)),
    };
    match result {
        Ok(object) if metadata_only(&req) => json_response(200, &partial_metadata(&object)),
        Ok(object) => json_response(200, &object),
        Err(e) => error_response(&e),
    }
}

/// Whether the client asked for the object's metadata alone (`Accept:
/// application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`), as the
/// API server answers a GET or PATCH so asked.
fn metadata_only(req: &Request) -> bool {
    let accept = req.headers.get("accept").map(String::as_str).unwrap_or_default();
    accept.split(',').any(|media| media.split(';').any(|p| p.trim() == "as=PartialObjectMetadata"))
}

fn partial_metadata(object: &Value) -> Value {
    json!({ "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object["metadata"] })
}

fn body(req: &Request) -> Result<Value, ApiError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::new(400, "BadRequest", format!("the body of the request could not be decoded: {e}")))
}

fn patch(shared: &Arc<Shared>, call: &Call, part: Part, req: &Request) -> Result<Value, ApiError> {
    let content_type = req.headers.get("content-type").map(String::as_str).unwrap_or_default();
    if content_type.split(';').next() != Some("application/merge-patch+json") {
        let message = format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got `{content_type}`)"
        );
        return Err(ApiError::new(415, "UnsupportedMediaType", message));
    }
    let patch = body(req)?;
    if !patch.is_object() {
        return Err(ApiError::new(400, "BadRequest", "a merge patch must be a JSON object"));
    }
    shared.write(|s| s.patch(call.kind, &call.namespace, &call.name, part, &patch))
}

/// `metadata.name=x`, `metadata.namespace=y` field selectors and
/// `k=v`, `k`, `!k`, `k!=v` label selectors, comma-separated.
pub fn selected(object: &Value, query: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    for term in query.get("fieldSelector").map(String::as_str).unwrap_or_default().split(',').filter(|t| !t.is_empty())
    {
        let (field, negate, value) = match term.split_once("!=") {
            Some((f, v)) => (f, true, v),
            None => {
                let (f, v) = term
                    .split_once('=')
                    .ok_or_else(|| ApiError::new(400, "BadRequest", format!("invalid selector: '{term}'")))?;
                (f, false, v.trim_start_matches('='))
            }
        };
        let actual = match field {
            "metadata.name" => meta_str(object, "name"),
            "metadata.namespace" => meta_str(object, "namespace"),
            _ => return Err(ApiError::new(400, "BadRequest", format!("field label not supported: {field}"))),
        };
        if (actual == value) == negate {
            return Ok(false);
        }
    }
    let labels = &object["metadata"]["labels"];
    for term in query.get("labelSelector").map(String::as_str).unwrap_or_default().split(',').filter(|t| !t.is_empty())
    {
        let ok = if let Some((k, v)) = term.split_once("!=") {
            labels[k].as_str() != Some(v)
        } else if let Some((k, v)) = term.split_once('=') {
            labels[k].as_str() == Some(v.trim_start_matches('='))
        } else if let Some(k) = term.strip_prefix('!') {
            labels.get(k).is_none()
        } else {
            labels.get(term).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list(shared: &Arc<Shared>, call: &Call, req: &Request) -> Response {
    let (objects, rv) = {
        let store = shared.store();
        let ns = (!call.namespace.is_empty()).then_some(call.namespace.as_str());
        (store.list(call.kind, ns), store.rv)
    };
    let mut items = Vec::new();
    for mut object in objects {
        match selected(&object, &req.query) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return error_response(&e),
        }
        // Lists of built-in kinds carry no apiVersion and kind per item.
        if call.kind.group.is_empty() || call.kind.group == "apps" {
            if let Some(map) = object.as_object_mut() {
                map.remove("apiVersion");
                map.remove("kind");
            }
        }
        items.push(object);
    }
    let list = json!({
        "apiVersion": call.kind.api_version(),
        "kind": format!("{}List", call.kind.kind),
        "metadata": { "resourceVersion": rv.to_string() },
        "items": items,
    });
    json_response(200, &list)
}
