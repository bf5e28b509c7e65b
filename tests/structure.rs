//! The layout rules of `docs/architecture.md`, checked on the sources: no
//! module outside the command layer (and `main.rs`) imports it, no two files
//! import each other through any chain, and no file grows past ~450 lines
//! unless architecture.md names it as one concept that needs the room.
//!
//! Imports are read from the text: every path that starts at `crate::`,
//! `super::`, `self::` or a child module the file declares, resolved to the
//! deepest module file it names.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Files allowed past the line limit, as `docs/architecture.md` lists them.
const LONG_FILES: &[&str] = &["src/spec/model.rs"];
const MAX_LINES: usize = 450;

struct Module {
    file: String,
    /// Child modules declared with `mod name;`.
    children: BTreeSet<String>,
    code: String,
}

/// Module paths (`crate::a::b`) of every file under `src/`.
fn modules() -> BTreeMap<String, Module> {
    let root = common::root();
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().to_str().unwrap().to_owned();
            let module = module_path(&rel);
            let text = std::fs::read_to_string(&path).unwrap();
            // Comments and doc comments mention paths that are no imports.
            let code: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
            let children = code
                .lines()
                .filter_map(|l| {
                    let l = l.trim();
                    let l = l.strip_prefix("pub ").unwrap_or(l);
                    l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
                })
                .collect();
            out.insert(module, Module { file: rel, children, code });
        }
    }
    out
}

fn module_path(rel: &str) -> String {
    let p = rel.strip_prefix("src/").unwrap().strip_suffix(".rs").unwrap();
    let p = p.strip_suffix("/mod").unwrap_or(p);
    match p {
        "lib" | "main" => format!("crate#{p}"),
        _ => format!("crate::{}", p.replace('/', "::")),
    }
}

fn parent(module: &str) -> String {
    match module.rsplit_once("::") {
        Some((p, _)) => p.to_owned(),
        None => "crate".to_owned(),
    }
}

/// Every `a::b::c` path in `code` (with `{...}` groups of `use` expanded one level).
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) || (i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == ':')) {
            i += 1;
            continue;
        }
        // Read `seg(::seg)*`, stopping at `{`.
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            segs.push(bytes[start..j].iter().collect::<String>());
            if j + 1 < bytes.len() && bytes[j] == ':' && bytes[j + 1] == ':' {
                j += 2;
                if j < bytes.len() && bytes[j] == '{' {
                    let end = (j..bytes.len()).find(|k| bytes[*k] == '}').unwrap_or(bytes.len());
                    let group: String = bytes[j + 1..end].iter().collect();
                    for item in group.split(',') {
                        let mut p = segs.clone();
                        p.extend(item.trim().split("::").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
                        out.push(p);
                    }
                    j = end;
                    segs.clear();
                    break;
                }
                if j < bytes.len() && ident(bytes[j]) {
                    continue;
                }
            }
            break;
        }
        if segs.len() > 1 {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

/// The module files each file imports.
fn imports(mods: &BTreeMap<String, Module>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (name, m) in mods {
        let own = if name.starts_with("crate#") { "crate".to_owned() } else { name.clone() };
        let mut deps = BTreeSet::new();
        for path in paths(&m.code) {
            let (mut at, rest) = match path[0].as_str() {
                "crate" => ("crate".to_owned(), &path[1..]),
                "super" => (parent(&own), &path[1..]),
                "self" => (own.clone(), &path[1..]),
                child if m.children.contains(child) => (format!("{own}::{child}"), &path[1..]),
                _ => continue,
            };
            let mut rest = rest;
            while rest.first().map(String::as_str) == Some("super") {
                at = parent(&at);
                rest = &rest[1..];
            }
            for seg in rest {
                let next = if at == "crate" { format!("crate::{seg}") } else { format!("{at}::{seg}") };
                if mods.contains_key(&next) {
                    at = next;
                } else {
                    break;
                }
            }
            let target = if at == "crate" { "crate#lib".to_owned() } else { at };
            if target != *name && mods.contains_key(&target) {
                deps.insert(target);
            }
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

fn is_command_layer(module: &str) -> bool {
    module == "crate::cli"
        || module == "crate::command"
        || module.starts_with("crate::command::")
        || module == "crate#main"
}

#[test]
fn only_the_command_layer_imports_the_command_layer() {
    let mods = modules();
    let graph = imports(&mods);
    let mut bad = Vec::new();
    for (from, deps) in &graph {
        if is_command_layer(from) || from == "crate#lib" {
            continue;
        }
        for to in deps.iter().filter(|d| is_command_layer(d)) {
            bad.push(format!("{} imports {}", mods[from].file, mods[to].file));
        }
    }
    assert!(bad.is_empty(), "domain modules import the command layer:\n{}", bad.join("\n"));
}

#[test]
fn no_import_loops_between_files() {
    let mods = modules();
    let graph = imports(&mods);
    // The crate root declares every module: leave it out of the graph.
    let graph: BTreeMap<&String, Vec<&String>> = graph
        .iter()
        .filter(|(m, _)| !m.starts_with("crate#"))
        .map(|(m, deps)| (m, deps.iter().filter(|d| !d.starts_with("crate#")).collect()))
        .collect();
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a String,
        graph: &BTreeMap<&'a String, Vec<&'a String>>,
        state: &mut BTreeMap<&'a String, u8>,
        stack: &mut Vec<&'a String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(m, 1);
        stack.push(m);
        for d in graph.get(m).into_iter().flatten() {
            match state.get(d).copied().unwrap_or(0) {
                0 => visit(d, graph, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap_or(0);
                    let names: Vec<&str> = stack[from..].iter().map(|s| s.as_str()).collect();
                    cycles.push(format!("{} -> {d}", names.join(" -> ")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m, 2);
    }
    let (mut state, mut stack, mut cycles) = (BTreeMap::new(), Vec::new(), Vec::new());
    for m in graph.keys() {
        if state.get(m).copied().unwrap_or(0) == 0 {
            visit(m, &graph, &mut state, &mut stack, &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import loops:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    // The rules above mean nothing if the reader finds no edges.
    let graph = imports(&modules());
    let deps = |m: &str| graph.get(m).cloned().unwrap_or_default();
    assert!(deps("crate::command::publish").contains("crate::publish"), "{:?}", deps("crate::command::publish"));
    assert!(deps("crate::render::app").contains("crate::render::context"));
    assert!(deps("crate::publish::protocol").contains("crate::publish::target"));
    assert!(deps("crate::cli").contains("crate::command"));
}

#[test]
fn files_stay_small_unless_documented() {
    let architecture = std::fs::read_to_string(common::root().join("docs/architecture.md")).unwrap();
    let mut bad = Vec::new();
    for m in modules().values() {
        let lines = std::fs::read_to_string(common::root().join(&m.file)).unwrap().lines().count();
        let allowed = LONG_FILES.contains(&m.file.as_str());
        if lines > MAX_LINES && !allowed {
            bad.push(format!("{} has {lines} lines (at most {MAX_LINES})", m.file));
        }
        if allowed && !architecture.contains(&format!("`{}`", m.file.trim_start_matches("src/"))) {
            bad.push(format!("{} is allowed to be long but docs/architecture.md does not say why", m.file));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(Path::new(&common::root().join("src/lib.rs")).is_file());
}
