//! What can go wrong with a sink: setting it up (a secret file that cannot
//! be read) and one delivery attempt (and whether another may succeed).

use std::path::{Path, PathBuf};

/// Why one delivery attempt failed, and whether another may succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub message: String,
    pub retryable: bool,
}

impl DeliveryError {
    pub fn retry(message: impl Into<String>) -> DeliveryError {
        DeliveryError { message: message.into(), retryable: true }
    }

    pub fn fatal(message: impl Into<String>) -> DeliveryError {
        DeliveryError { message: message.into(), retryable: false }
    }
}

/// A sink that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink `{sink}`: reading `{field}` `{path}`: {source}")]
    Secret {
        sink: String,
        field: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sink `{sink}`: `{field}` `{path}` is empty")]
    EmptySecret { sink: String, field: &'static str, path: PathBuf },
}

/// Reads a secret file (trailing newline removed).
pub fn read_secret(sink: &str, field: &'static str, path: &Path) -> Result<String, SinkError> {
    let raw = std::fs::read_to_string(path).map_err(|source| SinkError::Secret {
        sink: sink.to_owned(),
        field,
        path: path.to_owned(),
        source,
    })?;
    let secret = raw.trim_end_matches(['\n', '\r']).to_owned();
    if secret.is_empty() {
        return Err(SinkError::EmptySecret { sink: sink.to_owned(), field, path: path.to_owned() });
    }
    Ok(secret)
}
