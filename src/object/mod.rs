//! Knowledge about Kubernetes objects that render, bundle, publish and the
//! Flux code share: how an object is identified (`ObjectId`, the Flux
//! inventory id), which kinds nixflux types and what it knows about each
//! (`kinds`: scope, name rule, apply order), and the round-trip check that
//! finds fields a typed kind does not have.

pub mod data;
pub mod id;
pub mod kinds;
pub mod round_trip;

pub use id::{group_of, ObjectId, ObjectIdError};
pub use kinds::{apply_rank, kind_info, Body, KindInfo};
pub use round_trip::round_trip;
