//! Why a bundle directory cannot be read back (see `read.rs`).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a nixflux bundle index: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}` uses bundle format {found}; this nixflux reads format {}", super::index::FORMAT_VERSION)]
    Format { path: PathBuf, found: u32 },
    #[error("bundle `{bundle}` is damaged: {why}")]
    Damaged { bundle: PathBuf, why: String },
    #[error("`{}` is not a bundle: {why}", dir.display())]
    NotABundle { dir: PathBuf, why: &'static str },
}
