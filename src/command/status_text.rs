//! The text form of `nixflux status`, compact like `flux get`: the bucket
//! side in three lines, a table of the Flux objects, a table of the apps.
//! Everything read from the cluster or the bucket is printed with control
//! characters escaped.

use std::fmt::Write;

use super::exit::escape_controls;
use crate::flux::apps::{App, AppState};
use crate::flux::judge::short;
use crate::flux::status::{Cluster, FluxObject, Status, Sync};

pub fn text(s: &Status) -> String {
    let p = &s.published;
    let mut out = String::new();
    let _ = writeln!(out, "target    {}", escape_controls(&p.target));
    let live = match (p.generation, &p.bundle_digest) {
        (Some(g), Some(d)) => format!("generation {g}, bundle {}, {} objects", short(d), p.objects),
        _ => "nothing published".to_owned(),
    };
    let _ = writeln!(out, "live      {live}");
    if let Some(why) = &p.live_unknown {
        let _ = writeln!(out, "          (its objects are unknown: {})", escape_controls(why));
    }
    let _ = writeln!(out, "revision  {} (as Flux computes it from the bucket now)", short(&p.revision));
    match &s.cluster {
        Cluster::Unknown { reason } => {
            let _ = writeln!(out, "cluster   unknown: {}", escape_controls(reason));
        }
        Cluster::Known { bucket, kustomizations, apps } => {
            out.push('\n');
            flux_table(&mut out, std::iter::once(bucket.as_ref()).chain(kustomizations));
            if !apps.is_empty() {
                out.push('\n');
                app_table(&mut out, apps);
            }
        }
    }
    out
}

fn flux_table<'a>(out: &mut String, objects: impl Iterator<Item = &'a FluxObject>) {
    let rows: Vec<[String; 6]> = objects
        .map(|o| {
            let sync = match (o.sync, o.suspended) {
                (_, true) => "suspended",
                (Sync::InSync, _) => "in sync",
                (Sync::Behind, _) => "behind",
            };
            [
                format!("{} {}", o.kind, o.name),
                o.revision.as_deref().map_or("-".to_owned(), short),
                sync.to_owned(),
                o.ready.clone(),
                o.inventory.map_or("-".to_owned(), |n| n.to_string()),
                message(o),
            ]
        })
        .collect();
    table(out, &["NAME", "REVISION", "SYNC", "READY", "OBJECTS", "MESSAGE"], &rows);
}

/// The failure with its age, else the Ready message; a true Reconciling
/// or Stalled condition is added.
fn message(o: &FluxObject) -> String {
    let mut parts = Vec::new();
    match &o.failure {
        Some(f) => parts.push(format!("{} for {}: {}", f.reason, age(f.age_seconds), first_line(&f.message))),
        None => {
            if let Some(c) = o.conditions.iter().find(|c| c.type_ == "Ready") {
                parts.push(first_line(&c.message));
            }
        }
    }
    for c in o.conditions.iter().filter(|c| c.type_ != "Ready" && c.status == "True") {
        parts.push(format!("{}: {}", c.type_, first_line(&c.message)));
    }
    if let Some(a) = o.last_attempted_revision.as_deref().filter(|a| Some(*a) != o.revision.as_deref()) {
        parts.push(format!("attempted {}", short(a)));
    }
    escape_controls(&parts.join("; ")).into_owned()
}

fn app_table(out: &mut String, apps: &[App]) {
    let rows: Vec<[String; 4]> = apps
        .iter()
        .map(|a| {
            let replicas = if a.deployments.is_empty() {
                "-".to_owned()
            } else {
                let ready: i32 = a.deployments.iter().map(|d| d.ready_replicas).sum();
                let want: i32 = a.deployments.iter().map(|d| d.replicas).sum();
                format!("{ready}/{want}")
            };
            [escape_controls(&a.name).into_owned(), a.objects.to_string(), replicas, app_state(a)]
        })
        .collect();
    table(out, &["APP", "OBJECTS", "READY", "STATE"], &rows);
}

/// The app's state, and for one that is not ready, why (its least ready
/// Deployment's condition or read error).
fn app_state(a: &App) -> String {
    let words = a.state.words();
    if matches!(a.state, AppState::Ready | AppState::NoWorkload) {
        return words.to_owned();
    }
    let Some(d) = a.deployments.iter().find(|d| d.state == a.state) else { return words.to_owned() };
    let why = if let Some(e) = &d.error {
        e.clone()
    } else if let Some(c) = [&d.progressing, &d.available].into_iter().flatten().find(|c| c.status != "True") {
        format!("{}={} {}: {}", c.type_, c.status, c.reason, first_line(&c.message))
    } else if let Some(c) = &d.progressing {
        format!("{} {}", c.reason, first_line(&c.message))
    } else {
        String::new()
    };
    let what = format!("Deployment {}/{}", d.namespace, d.name);
    let text = if why.trim().is_empty() { format!("{words} ({what})") } else { format!("{words} ({what}: {why})") };
    escape_controls(text.trim_end()).into_owned()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

/// `45s`, `3m20s`, `2h5m`, `3d4h`.
pub fn age(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    match () {
        _ if d > 0 => format!("{d}d{h}h"),
        _ if h > 0 => format!("{h}h{m}m"),
        _ if m > 0 => format!("{m}m{s}s"),
        _ => format!("{s}s"),
    }
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table<const N: usize>(out: &mut String, head: &[&str; N], rows: &[[String; N]]) {
    let mut widths = head.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(head.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_short() {
        assert_eq!(age(45), "45s");
        assert_eq!(age(200), "3m20s");
        assert_eq!(age(7500), "2h5m");
        assert_eq!(age(3 * 86400 + 4 * 3600 + 5), "3d4h");
    }

    #[test]
    fn tables_align() {
        let mut out = String::new();
        table(&mut out, &["A", "BB"], &[["xyz".into(), "1".into()], ["q".into(), "".into()]]);
        assert_eq!(out, "A    BB\nxyz  1\nq\n");
    }
}
