//! The fake API server's storage: objects by kind, namespace and name, one
//! global resourceVersion counter (etcd's revision), the event history
//! watches replay, and the write rules the real API server applies to
//! custom resources with a status subresource: a write to the main
//! resource keeps the old status, a write to `/status` keeps everything
//! but the status, `metadata.generation` moves only when something outside
//! `metadata` and `status` changed, and a write that changes nothing
//! stores nothing (same resourceVersion, no event).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::kinds::Kind;

/// An answer the API server gives as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: Value::Null }
    }

    fn about(kind: &Kind, name: &str, code: u16, reason: &'static str, message: String) -> ApiError {
        let mut details = json!({ "name": name, "kind": kind.plural });
        if !kind.group.is_empty() {
            details["group"] = json!(kind.group);
        }
        ApiError { code, reason, message, details }
    }

    pub fn not_found(kind: &Kind, name: &str) -> ApiError {
        ApiError::about(kind, name, 404, "NotFound", format!("{} \"{name}\" not found", kind.group_resource()))
    }

    pub fn already_exists(kind: &Kind, name: &str) -> ApiError {
        ApiError::about(
            kind,
            name,
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", kind.group_resource()),
        )
    }

    pub fn conflict(kind: &Kind, name: &str) -> ApiError {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            kind.group_resource()
        );
        ApiError::about(kind, name, 409, "Conflict", message)
    }

    pub fn expired(requested: u64, oldest: u64) -> ApiError {
        ApiError::new(410, "Expired", format!("too old resource version: {requested} ({oldest})"))
    }

    /// The `Status` object the server sends for this error.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if !self.details.is_null() {
            status["details"] = self.details.clone();
        }
        status
    }
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub kind: &'static Kind,
    pub namespace: String,
    pub name: String,
    pub kind_of_event: &'static str,
    pub object: Value,
}

type Key = (&'static str, &'static str, String, String);

#[derive(Default)]
pub struct Store {
    /// The last resourceVersion handed out.
    pub rv: u64,
    /// Watches from a resourceVersion below this get 410 Expired.
    pub oldest: u64,
    /// Bumped by `FakeKube::expire_watches`: open watches end with 410.
    pub expiry_epoch: u64,
    objects: BTreeMap<Key, (&'static Kind, Value)>,
    pub history: Vec<Event>,
    uids: u64,
}

fn key(kind: &Kind, namespace: &str, name: &str) -> Key {
    (kind.group, kind.plural, namespace.to_owned(), name.to_owned())
}

pub fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now).to_string()
}

pub fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object["metadata"][field].as_str().unwrap_or_default()
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The object without `metadata` and `status`: what moves `generation`.
fn generation_part(object: &Value) -> Value {
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    rest
}

impl Store {
    pub fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(kind, namespace, name)).map(|(_, v)| v)
    }

    /// Objects of `kind`, in one namespace or all, ordered by namespace and name.
    pub fn list(&self, kind: &Kind, namespace: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((g, p, ns, _), _)| *g == kind.group && *p == kind.plural && namespace.is_none_or(|n| n == ns))
            .map(|(_, (_, v))| v.clone())
            .collect()
    }

    fn record(&mut self, kind: &'static Kind, event: &'static str, object: &Value) {
        let (namespace, name) = (meta_str(object, "namespace").to_owned(), meta_str(object, "name").to_owned());
        self.history.push(Event { rv: self.rv, kind, namespace, name, kind_of_event: event, object: object.clone() });
    }

    fn next_uid(&mut self) -> String {
        self.uids += 1;
        let t = jiff::Timestamp::now().as_nanosecond() as u128;
        let n = (t << 16) ^ u128::from(self.uids);
        let h = format!("{n:032x}");
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// Creates `object` (metadata.name required; namespace for namespaced kinds).
    pub fn create(&mut self, kind: &'static Kind, namespace: &str, mut object: Value) -> Result<Value, ApiError> {
        if !object.is_object() || !object["metadata"].is_object() {
            return Err(ApiError::new(400, "BadRequest", "the body of the request is not an object with metadata"));
        }
        let name = meta_str(&object, "name").to_owned();
        if name.is_empty() {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!("{} is invalid: metadata.name: Required value: name or generateName is required", kind.kind),
            ));
        }
        if self.get(kind, namespace, &name).is_some() {
            return Err(ApiError::already_exists(kind, &name));
        }
        if kind.namespaced && namespace.is_empty() {
            return Err(ApiError::new(400, "BadRequest", "the server could not find the requested resource"));
        }
        self.rv += 1;
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.kind);
        let meta = &mut object["metadata"];
        if kind.namespaced {
            meta["namespace"] = json!(namespace);
        }
        if meta["uid"].as_str().is_none() {
            meta["uid"] = json!(self.next_uid());
        }
        object["metadata"]["creationTimestamp"] = json!(now_rfc3339());
        object["metadata"]["generation"] = json!(1);
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(key(kind, namespace, &name), (kind, object.clone()));
        self.record(kind, "ADDED", &object);
        Ok(object)
    }

    /// Replaces the object with `new` (as a PUT or a patch result would),
    /// keeping what `part` may not change. A `metadata.resourceVersion` in
    /// `new` is a precondition.
    pub fn update(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        part: Part,
        mut new: Value,
    ) -> Result<Value, ApiError> {
        let Some(old) = self.get(kind, namespace, name).cloned() else {
            return Err(ApiError::not_found(kind, name));
        };
        if !new.is_object() || !new["metadata"].is_object() && !new["metadata"].is_null() {
            return Err(ApiError::new(400, "BadRequest", "the body of the request is not an object"));
        }
        let wanted_rv = meta_str(&new, "resourceVersion");
        if !wanted_rv.is_empty() && wanted_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(kind, name));
        }
        let new_name = meta_str(&new, "name");
        if !new_name.is_empty() && new_name != name {
            let message = format!("the name of the object ({new_name}) does not match the name on the URL ({name})");
            return Err(ApiError::new(400, "BadRequest", message));
        }
        match part {
            Part::Main => match old.get("status") {
                Some(status) => new["status"] = status.clone(),
                None => {
                    new.as_object_mut().map(|m| m.remove("status"));
                }
            },
            Part::Status => {
                let status = new.get("status").cloned();
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        new.as_object_mut().map(|m| m.remove("status"));
                    }
                }
            }
        }
        // What the server owns stays the server's.
        new["apiVersion"] = old["apiVersion"].clone();
        new["kind"] = old["kind"].clone();
        for field in ["name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"] {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    new["metadata"].as_object_mut().map(|m| m.remove(field));
                }
            }
        }
        if new == old {
            return Ok(old);
        }
        if generation_part(&new) != generation_part(&old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        self.rv += 1;
        new["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(key(kind, namespace, name), (kind, new.clone()));
        self.record(kind, "MODIFIED", &new);
        Ok(new)
    }

    /// Applies a merge patch to `part` of the object.
    pub fn patch(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        part: Part,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let Some(mut object) = self.get(kind, namespace, name).cloned() else {
            return Err(ApiError::not_found(kind, name));
        };
        // A resourceVersion in the patch is a precondition; without one the
        // patch applies to whatever is stored.
        if meta_str(patch, "resourceVersion").is_empty() {
            object["metadata"].as_object_mut().map(|m| m.remove("resourceVersion"));
        }
        merge_patch(&mut object, patch);
        self.update(kind, namespace, name, part, object)
    }

    pub fn delete(&mut self, kind: &'static Kind, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let Some((_, mut object)) = self.objects.remove(&key(kind, namespace, name)) else {
            return Err(ApiError::not_found(kind, name));
        };
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(kind, "DELETED", &object);
        Ok(object)
    }

    /// Forgets history before the current resourceVersion and moves the
    /// counter on, as unrelated writes and an etcd compaction would: every
    /// resourceVersion a client has seen so far is now too old to watch from.
    pub fn compact(&mut self) {
        self.rv += 1;
        self.oldest = self.rv;
        self.history.retain(|e| e.rv >= self.oldest);
    }
}
