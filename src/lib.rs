//! nixflux: Nix-declared apps rendered into typed, checked Kubernetes
//! bundles for Flux. The binary is `src/main.rs`; this library holds the
//! domain modules so that tests and benchmarks can call them directly.

/// Serialises a type through its `Display` and deserialises it through its
/// `FromStr`, so that a value read from JSON is checked like one parsed.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod bundle;
pub mod cli;
pub mod command;
pub mod crd;
pub mod flux;
pub mod image;
pub mod lifetime;
pub mod logging;
pub mod nix;
pub mod notify;
pub mod object;
pub mod parallel;
pub mod publish;
pub mod render;
pub mod spec;
