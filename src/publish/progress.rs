//! How a long publish step reports progress: through a `Progress` the
//! command supplies (a bar on a terminal, nothing in a pipe). The protocol
//! itself never draws.

/// A step whose progress is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Uploading the object files the target lacks.
    Upload,
}

pub trait Progress: Send + Sync {
    /// `phase` begins with `total` units of work.
    fn start(&self, _phase: Phase, _total: u64) {}
    /// One more unit of the current phase is done.
    fn advance(&self) {}
    /// The current phase ended (done or failed).
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
