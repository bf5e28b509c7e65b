//! The Flux side: reaching Flux for a target, asking it to reconcile now,
//! waiting for the published revision, and reading its status.

pub mod access;
pub mod error;
pub mod judge;
pub mod trigger;
pub mod wait;
