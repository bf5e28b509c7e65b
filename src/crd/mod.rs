//! Typed custom resources: the CRD structs nixflux writes and reads,
//! registered in the kind table like the built-in kinds.

pub mod flux;
