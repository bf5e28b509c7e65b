//! The Flux side: what its controllers compute from what nixflux publishes
//! (the Bucket revision, its ignore rules), reaching Flux for a target,
//! asking it to reconcile now, waiting for the published revision, and
//! reading its status.

pub mod access;
pub mod error;
pub mod glob;
pub mod ignore;
pub mod judge;
pub mod revision;
pub mod trigger;
pub mod wait;
