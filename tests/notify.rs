//! `nixflux notify` with real HTTP on loopback: Flux-shaped events posted
//! to the receiver (signed, unsigned, wrongly signed, too large, not JSON,
//! not an event), notifications reaching in-test webhook, ntfy and Gotify
//! servers, the exec and device sinks, dead and slow sinks, a restart with
//! the state kept, a flood; and the configuration's errors as CLI
//! transcripts (`tests/notify/cli/`).

mod common;

#[path = "notify/recorder.rs"]
mod recorder;

#[path = "notify/harness.rs"]
mod harness;

#[path = "notify/receiver.rs"]
mod receiver;

#[path = "notify/delivery.rs"]
mod delivery;

#[path = "notify/local.rs"]
mod local;

#[path = "notify/flood.rs"]
mod flood;

#[path = "notify/generation.rs"]
mod generation;

#[path = "notify/cli.rs"]
mod cli;

#[path = "notify/watched.rs"]
mod watched;
