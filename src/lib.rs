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
                $crate::parse_str(d)
            }
        }
    };
}

/// Deserialises a string through `FromStr` without copying it first: the
/// parser's own slice (or scratch) is parsed in place. A bundle index or
/// a record holds thousands of such strings.
pub fn parse_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    struct Parse<T>(std::marker::PhantomData<T>);
    impl<T: std::str::FromStr> serde::de::Visitor<'_> for Parse<T>
    where
        T::Err: std::fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            s.parse().map_err(E::custom)
        }
    }
    d.deserialize_str(Parse(std::marker::PhantomData))
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
