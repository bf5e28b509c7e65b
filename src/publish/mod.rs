//! Publishing bundles into targets as generations.
//!
//! | file | concept |
//! |---|---|
//! | `protocol.rs` | the publish: plan, lease, upload, record, switch, GC |
//! | `report.rs` | what a publish reports (`Report`) |
//! | `plan.rs` | what a publish will do, and the prune guard |
//! | `desired.rs` | what should become live (a bundle directory, a bundle, a retained generation) |
//! | `state.rs` | what a target holds now, and Flux's revision of it |
//! | `tracked.rs` | what it holds after a publish, from what the publish wrote |
//! | `gc.rs` | garbage collection |
//! | `history.rs` | history, rollback, the live generation's files |
//! | `generation.rs` | the pointer, record keys, object-level changes |
//! | `record.rs` | generation records (format 2: files and manifest; format 1 read) |
//! | `next_record.rs` | the record a publish writes: its files' ETags, `held` from the live manifest |
//! | `upload.rs` | which object files a publish uploads, and the uploads |
//! | `manifest.rs` | the fast path: shallow listings and the live record's manifest in place of a full listing |
//! | `lease.rs` | the publish lease |
//! | `hooks.rs` | what a caller adds: a check before writing, a call at the switch |
//! | `progress.rs` | how long steps report progress to the command |
//! | `target/` | the `Target` trait and its backends |
//! | `error.rs`, `options.rs`, `failpoint.rs` | the error, the settings, crash-test failpoints |

pub mod desired;
pub mod error;
pub mod failpoint;
pub mod gc;
pub mod generation;
pub mod history;
pub mod hooks;
pub mod lease;
pub mod listing;
pub mod manifest;
pub mod next_record;
pub mod options;
pub mod plan;
pub mod progress;
pub mod protocol;
pub mod record;
mod report;
pub mod revision_note;
pub mod state;
pub mod target;
pub mod tracked;
pub mod upload;

#[cfg(test)]
mod manifest_tests;
#[cfg(test)]
mod tests;

pub use desired::Desired;
pub use error::PublishError;
pub use gc::gc;
pub use history::{history, live_files, rollback_target};
pub use options::{Options, DEFAULT_KEEP, DEFAULT_MAX_PRUNE_PERCENT};
pub use protocol::{publish, Report};
pub use state::{bucket_ignore, flux_revision, State};
