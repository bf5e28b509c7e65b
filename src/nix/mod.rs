//! Nix formats nixflux needs without a Nix library: store paths, Nix's
//! base32, and NAR serialisation and hashing. `nix-compat` on crates.io is an
//! empty placeholder, and these formats are small: they are written here on
//! `sha2`, and tested against Nix itself (`tests/nix.rs`).

pub mod base32;
pub mod nar;
pub mod store_path;

pub use store_path::StorePath;
