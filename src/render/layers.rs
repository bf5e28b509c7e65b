//! Layers: which layer each group of a render belongs to, the spec's layer
//! checks, and splitting a render into one render per layer. A group's
//! layer is an index into `Spec::layers` (always 0 without layers); an app
//! goes where its `layer` says (default the last layer), top-level objects
//! into the last, a layer's own objects into it, a namespace shared by apps
//! into the first layer of its users (it must exist before any of them).

use std::collections::BTreeSet;

use crate::spec::problem::nearest;
use crate::spec::{App, JsonPath, Problem, Spec};

pub use crate::spec::names::MAX_LAYERS;

/// The index of the last layer (0 without layers).
pub fn last(spec: &Spec) -> usize {
    spec.layers.len().saturating_sub(1)
}

/// The layer an app's objects go into. Unknown names are reported by
/// `check`; here they fall back to the last layer.
pub fn of_app(spec: &Spec, app: &App) -> usize {
    app.layer.as_ref().and_then(|l| spec.layers.iter().position(|x| &x.name == l)).unwrap_or_else(|| last(spec))
}

/// The spec's layer rules: unique names, at most `MAX_LAYERS`, and every
/// app's `layer` one of them.
pub fn check(spec: &Spec, problems: &mut Vec<Problem>) {
    let at = JsonPath::root().key("layers");
    if spec.layers.len() > MAX_LAYERS {
        problems.push(
            Problem::new(at.clone(), format!("{} layers; at most {MAX_LAYERS} are allowed", spec.layers.len()))
                .with_hint("merge layers that need no order between them"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        if !seen.insert(layer.name.as_str()) {
            problems.push(Problem::new(
                at.index(i).key("name"),
                format!("layer `{}` is declared twice; layer names must be unique", layer.name),
            ));
        }
    }
    let known: Vec<&str> = spec.layers.iter().map(|l| l.name.as_str()).collect();
    for (name, app) in &spec.apps {
        let Some(layer) = &app.layer else { continue };
        if known.contains(&layer.as_str()) {
            continue;
        }
        let path = JsonPath::root().key("apps").key(name.as_str()).key("layer");
        let problem = Problem::new(path, format!("unknown layer `{layer}`"));
        problems.push(if known.is_empty() {
            problem.with_hint("declare it in the top-level `layers` list, or remove `layer`")
        } else {
            match nearest(layer.as_str(), &known) {
                Some(n) => problem.with_hint(format!("did you mean `{n}`?")),
                None => problem.with_hint(format!(
                    "the layers are {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                )),
            }
        });
    }
}
