//! `nixflux notify`: a small daemon that tells people when Flux fails to
//! reconcile, when it recovers, and while it stays failing. Sources (Flux
//! events posted to the receiver, Flux objects watched through the API)
//! turn what they see into [`Observation`]s and send them to
//! [`Daemon::observations`]; the state machine (`state`) decides what is
//! worth telling; sinks (`sink/`) deliver it.

pub mod clock;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod event;
pub mod generation;
pub mod metrics;
pub mod notification;
pub mod observation;
pub mod receiver;
pub mod server;
pub mod sink;
pub mod sink_config;
pub mod state;
pub mod store;
pub mod watch;

pub use config::Config;
pub use daemon::{Daemon, StartError, StartOptions};
pub use notification::{Notification, Severity};
pub use observation::{Observation, Readiness, Source, Subject};
