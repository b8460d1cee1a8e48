//! The manifest: what an index is (format version, model, chunker settings)
//! and, informationally, what it holds. Written when a data folder is
//! created and after every commit, always via a temporary file and a rename.
//!
//! The commit point itself is tantivy's `meta.json` swap, whose payload names
//! the committed [`State`](super::state::State); the manifest's counts are a
//! convenience copy for humans and tools.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::chunk::ChunkConfig;
use crate::embed::ModelInfo;
use crate::error::{Error, Remedy, Result};

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;

/// What an index is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the build that created it.
    pub format_version: u32,
    /// The embedding model.
    pub model: ModelInfo,
    /// Chunker settings.
    pub chunk: ChunkConfig,
    /// Text put before each passage for embedding only (`{show}`, `{title}`
    /// are replaced), or empty.
    #[serde(default)]
    pub embed_context: String,
    /// When the index was created (RFC 3339).
    pub created: String,
    /// Generation of the last commit this manifest was written after.
    pub generation: u64,
    /// Counts at that commit.
    pub counts: Counts,
    /// The engines that embedded this index's passages (`avx2-f32`,
    /// `amx-bf16`, ...), in the order first used. Every engine gives the
    /// same vectors to within rounding, so an index built by one is
    /// searched with another; this says what built it.
    #[serde(default)]
    pub engines: Vec<String>,
}

/// What an index holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Distinct shows.
    pub shows: u64,
    /// Episodes.
    pub episodes: u64,
    /// Passages.
    pub chunks: u64,
    /// Total duration of the timed episodes, ms.
    pub duration_ms: u64,
}

impl Manifest {
    /// Read and check a manifest.
    pub fn read(path: &Path, index: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Corrupt {
                index: index.to_path_buf(),
                problem: format!("manifest {} is missing", path.display()),
                remedy: Remedy::Rebuild,
            },
            _ => Error::io(path, e),
        })?;
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let v: Version = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            index: index.to_path_buf(),
            problem: format!("manifest {} is unreadable ({e})", path.display()),
            remedy: Remedy::Rebuild,
        })?;
        if v.format_version > FORMAT_VERSION {
            return Err(Error::Corrupt {
                index: index.to_path_buf(),
                problem: format!(
                    "index format version {} is newer than this podsift reads ({FORMAT_VERSION})",
                    v.format_version
                ),
                remedy: Remedy::UpgradeOrRebuild,
            });
        }
        if v.format_version < FORMAT_VERSION {
            return Err(Error::Corrupt {
                index: index.to_path_buf(),
                problem: format!(
                    "index format version {} is older than this podsift's ({FORMAT_VERSION})",
                    v.format_version
                ),
                remedy: Remedy::Rebuild,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            index: index.to_path_buf(),
            problem: format!("manifest {} is invalid ({e})", path.display()),
            remedy: Remedy::Rebuild,
        })
    }

    /// Write atomically (temporary file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::invalid("manifest", e.to_string()))?;
        super::write_atomic(path, &bytes)
    }
}
