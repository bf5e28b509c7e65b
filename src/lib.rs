//! nixflux: Nix-declared apps rendered into typed, checked Kubernetes
//! bundles for Flux. The binary is `src/main.rs`; this library holds the
//! domain modules so that tests and benchmarks can call them directly.

pub mod bundle;
pub mod cli;
pub mod command;
pub mod image;
pub mod nix;
pub mod parallel;
pub mod publish;
pub mod render;
pub mod spec;
