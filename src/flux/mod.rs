//! The Flux side of a target. Today: `bootstrap`, the objects that make
//! Flux read a target (Bucket, Kustomization, Receiver), the in-cluster
//! `rclone serve s3` endpoint (`endpoint`), the publisher's RBAC (`rbac`),
//! their options (`options`), what the objects share (`object`) and how they are written out (`files`).

pub mod bootstrap;
pub mod endpoint;
pub mod files;
pub mod object;
pub mod options;
pub mod rbac;

pub use bootstrap::{render, Bootstrap, BUCKET_IGNORE};
pub use options::{BootstrapError, BootstrapOptions};
