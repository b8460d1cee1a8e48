//! Typed errors of the transcription stage. Each names the file it is about
//! (the caller adds nothing but a prefix), so one failing episode is one
//! clear line.

use std::path::PathBuf;

/// Why an audio file could not be transcribed, or the model not loaded.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not an audio format podsift reads (MP3, AAC/M4A,
    /// Ogg Vorbis/Opus, FLAC, WAV), or the container is damaged beyond use.
    #[error("{}: not a readable audio file ({message})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What the demuxer said.
        message: String,
    },
    /// The audio stream could not be decoded.
    #[error("{}: audio could not be decoded ({message})", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// The file holds no audio samples (a 0-second file).
    #[error("{}: no audio in the file (0 seconds)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The audio is longer than the limit ([`super::TranscribeOptions::max_duration_s`]).
    #[error(
        "{}: {:.1} hours of audio is over the {:.1}-hour limit",
        path.display(), secs / 3600.0, limit_secs / 3600.0
    )]
    TooLong {
        /// The file.
        path: PathBuf,
        /// Its length (as declared, or as far as decoded).
        secs: f64,
        /// The limit.
        limit_secs: f64,
    },
    /// The Whisper model's files are missing or unusable.
    #[error(
        "Whisper model '{model}' not found (looked in {})",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoModel {
        /// The model asked for.
        model: String,
        /// The places looked at.
        tried: Vec<PathBuf>,
    },
    /// A model file could not be read or does not fit the model.
    #[error("Whisper model in {}: {message}", dir.display())]
    BadModel {
        /// The model folder.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The tensor engine failed while running the model.
    #[error("running Whisper: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The stage's result type.
pub type Result<T, E = TranscribeError> = std::result::Result<T, E>;
