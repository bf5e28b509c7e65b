//! Flux's side of the bucket: what its controllers compute from what
//! nixflux publishes.

pub mod glob;
pub mod ignore;
pub mod revision;
