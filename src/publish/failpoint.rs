//! Failpoints for the crash tests: `NIXFLUX_FAILPOINT=NAME` or `NAME:N`
//! aborts the process (no destructors, no cleanup, like `kill -9`) the first
//! time, or the N-th time, the publish reaches the point `NAME`:
//!
//! | point | reached |
//! |---|---|
//! | `lease` | after the lease is taken |
//! | `upload` | after each object file is uploaded |
//! | `record` | after the generation record is written, before the switch |
//! | `switch` | after the pointer switched, before garbage collection |
//! | `gc` | after each object file garbage collection deletes |
//!
//! Unset (always, outside tests) it costs one check of a static.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static POINT: OnceLock<Option<(String, u64)>> = OnceLock::new();
static COUNT: AtomicU64 = AtomicU64::new(0);

fn configured() -> &'static Option<(String, u64)> {
    POINT.get_or_init(|| {
        let v = std::env::var("NIXFLUX_FAILPOINT").ok()?;
        let (name, n) = match v.split_once(':') {
            Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(1)),
            None => (v, 1),
        };
        Some((name, n.max(1)))
    })
}

pub fn hit(name: &str) {
    if let Some((point, nth)) = configured() {
        if point == name && COUNT.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
            eprintln!("nixflux: failpoint `{name}` reached, aborting");
            std::process::abort();
        }
    }
}
