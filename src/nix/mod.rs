//! Nix formats nixflux needs without a Nix library: store paths and their
//! alphabet. (NAR hashing arrives with the image-pinning work.)

pub mod store_path;

pub use store_path::StorePath;
