//! `nixflux notify`: a small daemon that tells people when Flux fails to
//! reconcile, when it recovers, and while it stays failing. Sources (Flux
//! events posted to a receiver, Flux objects watched through the API) turn
//! what they see into [`Observation`]s; the state machine decides what is
//! worth telling; sinks deliver it.

pub mod observation;
pub mod watch;

pub use observation::{Observation, Readiness, Source, Subject};
