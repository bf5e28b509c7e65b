//! `podPatch` and `containerPatch`: the typed escape hatch. Each patch is
//! first read as its k8s-openapi type (PodSpec, Container) by round trip, so
//! an unknown field or a wrong type is an error at its path under the patch;
//! then it is merged over what nixflux rendered:
//!
//! - objects merge key by key; a `null` removes the key;
//! - scalars replace;
//! - lists replace, except the lists Kubernetes keys by a field, whose items
//!   merge with the item of the same key and are appended when new:
//!   `containers`, `initContainers`, `ephemeralContainers`, `volumes`, `env`
//!   and `imagePullSecrets` by `name`, `volumeMounts` by `mountPath`,
//!   `ports` by `containerPort`.
//!
//! `containerPatch` goes over the app's container, then `podPatch` over the
//! pod (it can reach the app's container too, by its name). A container the
//! pod patch adds starts with the app's container security settings. The
//! result is checked afterwards like any pod: images, secure defaults, ports.

use k8s_openapi::api::core::v1::{Container, PodSpec, SecurityContext};
use serde_json::{Map, Value};

use crate::object::round_trip;
use crate::spec::{JsonPath, Patch, Problem};

/// The key of a keyed list, by the list's field name.
fn list_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Merges `patch` over `base` (see the module's rules). `at` is the patch's
/// path, for the one error a merge can find: a keyed list's item without
/// its key.
pub fn merge(base: &mut Map<String, Value>, patch: &Map<String, Value>, at: &JsonPath, problems: &mut Vec<Problem>) {
    for (key, value) in patch {
        match (value, base.get_mut(key)) {
            (Value::Null, _) => {
                base.remove(key);
            }
            (Value::Object(p), Some(Value::Object(b))) => merge(b, p, &at.key(key), problems),
            (Value::Array(p), existing) if list_key(key).is_some() => {
                let b = match existing {
                    Some(Value::Array(b)) => b,
                    _ => {
                        base.insert(key.clone(), Value::Array(Vec::new()));
                        match base.get_mut(key) {
                            Some(Value::Array(b)) => b,
                            _ => continue,
                        }
                    }
                };
                let id = list_key(key).unwrap_or_default();
                for (i, item) in p.iter().enumerate() {
                    let here = at.key(key).index(i);
                    let Some(wanted) = item.get(id).filter(|v| !v.is_null()) else {
                        problems.push(
                            Problem::new(here, format!("this `{key}` item has no `{id}`")).with_hint(format!(
                                "`{key}` items merge by `{id}`: set it to the item to change or add"
                            )),
                        );
                        continue;
                    };
                    let item = match item {
                        Value::Object(m) => m,
                        _ => continue, // the typed read refused it already
                    };
                    match b.iter_mut().find(|x| x.get(id) == Some(wanted)) {
                        Some(Value::Object(existing)) => merge(existing, item, &here, problems),
                        _ => b.push(Value::Object(without_nulls(item))),
                    }
                }
            }
            (value, _) => {
                base.insert(key.clone(), strip_nulls(value));
            }
        }
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(without_nulls(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn without_nulls(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect()
}

/// A container the pod patch adds starts as nixflux's own do: with the
/// app's container security settings, which the patch item is merged over.
fn add_new_containers(pod: &mut Map<String, Value>, patch: &Map<String, Value>, defaults: &SecurityContext) {
    let Ok(security) = serde_json::to_value(defaults) else { return };
    for list in ["containers", "initContainers"] {
        let Some(items) = patch.get(list).and_then(Value::as_array) else { continue };
        for name in items.iter().filter_map(|i| i.get("name")).filter(|n| !n.is_null()) {
            let present = pod
                .get(list)
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c.get("name") == Some(name)));
            if !present {
                let skeleton = serde_json::json!({ "name": name, "securityContext": security });
                if let Value::Array(cs) = pod.entry(list).or_insert_with(|| Value::Array(Vec::new())) {
                    cs.push(skeleton);
                }
            }
        }
    }
}

/// Applies the app's patches to its rendered pod. `main` is the app's
/// container name. On any problem the pod is left as rendered.
pub fn apply(
    pod: &mut PodSpec,
    main: &str,
    container_patch: Option<(&Patch, JsonPath)>,
    pod_patch: Option<(&Patch, JsonPath)>,
    defaults: &SecurityContext,
    problems: &mut Vec<Problem>,
) {
    // Without patches the pod stays as rendered: no round trip through JSON.
    if container_patch.is_none() && pod_patch.is_none() {
        return;
    }
    let before = problems.len();
    let Ok(Value::Object(mut merged)) = serde_json::to_value(&*pod) else { return };
    if let Some((patch, at)) = container_patch {
        match round_trip::<Container>(&patch.0, &at) {
            Err(ps) => problems.extend(ps),
            Ok(typed) if !typed.name.is_empty() && typed.name != main => problems.push(
                Problem::new(at.key("name"), format!("`containerPatch` renames the container `{main}`"))
                    .with_hint("leave `name` out: the patch applies to the app's container"),
            ),
            Ok(_) => {
                let containers = merged.get_mut("containers").and_then(Value::as_array_mut);
                let target = containers
                    .and_then(|cs| cs.iter_mut().find(|c| c.get("name").and_then(Value::as_str) == Some(main)))
                    .and_then(Value::as_object_mut);
                if let Some(target) = target {
                    merge(target, &patch.0, &at, problems);
                }
            }
        }
    }
    if let Some((patch, at)) = &pod_patch {
        match round_trip::<PodSpec>(&patch.0, at) {
            Err(ps) => problems.extend(ps),
            Ok(_) => {
                add_new_containers(&mut merged, &patch.0, defaults);
                merge(&mut merged, &patch.0, at, problems)
            }
        }
    }
    if problems.len() > before {
        return;
    }
    match serde_json::from_value::<PodSpec>(Value::Object(merged)) {
        Ok(patched) => *pod = patched,
        Err(e) => {
            let at = pod_patch.map_or_else(JsonPath::root, |(_, at)| at);
            problems.push(Problem::new(at, format!("the patched pod is not a PodSpec: {e}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn maps_merge_scalars_replace_keyed_lists_merge_others_replace() {
        let mut base = obj(json!({
            "hostNetwork": false,
            "nodeSelector": {"a": "1"},
            "tolerations": [{"key": "x", "operator": "Exists"}],
            "containers": [{"name": "web", "image": "i", "env": [{"name": "A", "value": "1"}]}],
            "enableServiceLinks": false
        }));
        let patch = obj(json!({
            "hostNetwork": true,
            "nodeSelector": {"b": "2"},
            "tolerations": [{"key": "y", "operator": "Exists"}],
            "containers": [
                {"name": "web", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "3"}]},
                {"name": "extra", "image": "j", "args": null}
            ],
            "enableServiceLinks": null
        }));
        let mut problems = Vec::new();
        merge(&mut base, &patch, &JsonPath::root().key("podPatch"), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            Value::Object(base),
            json!({
                "hostNetwork": true,
                "nodeSelector": {"a": "1", "b": "2"},
                "tolerations": [{"key": "y", "operator": "Exists"}],
                "containers": [
                    {"name": "web", "image": "i", "env": [{"name": "A", "value": "3"}, {"name": "B", "value": "2"}]},
                    {"name": "extra", "image": "j"}
                ]
            })
        );
    }

    #[test]
    fn a_keyed_item_without_its_key_is_refused_at_its_path() {
        let mut base = obj(json!({"volumes": [{"name": "a", "emptyDir": {}}]}));
        let patch = obj(json!({"volumes": [{"emptyDir": {}}]}));
        let mut problems = Vec::new();
        merge(&mut base, &patch, &JsonPath::root().key("podPatch"), &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path.to_string(), "podPatch.volumes[0]");
        assert_eq!(problems[0].message, "this `volumes` item has no `name`");
    }
}
