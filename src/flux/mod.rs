//! The Flux side of a target: the objects that make Flux read it
//! (`bootstrap`: Bucket, Kustomization, Receiver; `notification`: the
//! Provider and Alert for `nixflux notify`; `endpoint`: the in-cluster
//! `rclone serve s3`; `rbac`: the publisher's role; `options`, `object`,
//! `files`), what its controllers compute from what nixflux publishes (the
//! Bucket revision and its ignore rules), reaching Flux for a target,
//! asking it to reconcile now, waiting for the published revision, and
//! reading its status.

pub mod access;
pub mod apps;
pub mod binding;
pub mod bootstrap;
pub mod condition;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod files;
pub mod follow;
pub mod glob;
pub mod ignore;
pub mod judge;
pub mod layer_hooks;
pub mod notification;
pub mod object;
pub mod options;
pub mod prune;
pub mod rbac;
pub mod revision;
pub mod session;
pub mod status;
pub mod trigger;
pub mod wait;

pub use bootstrap::{render, Bootstrap, BUCKET_IGNORE};
pub use options::{BootstrapError, BootstrapOptions};
