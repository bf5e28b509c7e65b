//! Container image references: parsing, the pinning policy, and resolving
//! symbolic names through the spec's `images` map.

pub mod reference;

pub use reference::{ImageRef, ImageRefError};
