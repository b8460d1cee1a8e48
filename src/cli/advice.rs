//! The library's errors in the binary's words: a library error carries what
//! a fix needs (a [`Remedy`], a [`Setting`], the models involved) and names
//! no flag; here each becomes the line a user reads, with the command or
//! flag that fixes it.

use podsift::error::{Error, Remedy, Setting};
use podsift::feed::FeedError;
use podsift::transcribe::TranscribeError;

/// One error of a chain as the user reads it: a library error with its
/// advice, anything else as it displays itself.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(e) = e.downcast_ref::<Error>() {
        return library(e);
    }
    if let Some(e) = e.downcast_ref::<TranscribeError>() {
        return transcription(e);
    }
    if let Some(e) = e.downcast_ref::<FeedError>() {
        return feed(e);
    }
    e.to_string()
}

/// An error and its causes as `{:#}` shows them (`outer: inner`), each
/// with its advice.
pub fn chain(e: &anyhow::Error) -> String {
    e.chain().map(describe).collect::<Vec<_>>().join(": ")
}

/// A library error with the advice for its variant.
pub fn library(e: &Error) -> String {
    match e {
        Error::Setting { setting, message } => format!("{}: {message}", flag(*setting)),
        Error::Corrupt { remedy, .. } => format!("{e}; fix: {}", fix(*remedy)),
        Error::StoreSchema {
            remedy: Some(r), ..
        } => format!("{e}; run: {}", fix(*r)),
        Error::NoModel { .. } | Error::Download { .. } => {
            format!("{e}; run scripts/fetch-model, or pass --model DIR")
        }
        Error::IndexMismatch {
            index_model,
            requested_model,
            ..
        } => format!(
            "{e}; search with --model {index_model}, or rebuild with: podsift index --rebuild --model {requested_model} PATH"
        ),
        Error::NoIndex(_) => format!("{e} (run: podsift index PATH)"),
        Error::NotWritable { .. } => format!(
            "{e}; fix: make it writable, or pass --index DIR for an index on a writable disk"
        ),
        _ => e.to_string(),
    }
}

/// A feed's error with the advice for its variant.
pub fn feed(e: &FeedError) -> String {
    match e {
        FeedError::LocalFile {
            allowable: true, ..
        } => format!("{e} (pass --allow-local-files to allow any local file)"),
        FeedError::NoSuchFeed(_) => format!("{e} (see: podsift feed list)"),
        FeedError::NameTaken { .. } => format!("{e}; pick another with --name"),
        _ => e.to_string(),
    }
}

/// A transcription error with the advice for its variant.
fn transcription(e: &TranscribeError) -> String {
    match e {
        TranscribeError::TooLong { .. } => format!("{e} (raise it with --max-audio-hours)"),
        TranscribeError::NoModel { .. } => {
            format!("{e}; run scripts/fetch-whisper, or pass --whisper DIR")
        }
        _ => e.to_string(),
    }
}

/// The flag that sets `s`.
fn flag(s: Setting) -> &'static str {
    match s {
        Setting::Speaker => "--speaker",
        Setting::Since => "--since",
        Setting::Until => "--until",
        Setting::Mode => "--mode",
        Setting::Device => "--device",
        Setting::ReaderRole => "--reader",
    }
}

/// What to run for `r`.
fn fix(r: Remedy) -> &'static str {
    match r {
        Remedy::Rebuild => "podsift index --rebuild PATH",
        Remedy::UpgradeOrRebuild => {
            "upgrade podsift, or rebuild with this one: podsift index --rebuild PATH"
        }
        Remedy::CheckPermissions => "check the folder's permissions",
        Remedy::InitStore => "podsift store init URL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_shown_as_its_flag() {
        let e = Error::setting(Setting::Speaker, "has no letters or digits");
        assert_eq!(e.to_string(), "speaker: has no letters or digits");
        assert_eq!(library(&e), "--speaker: has no letters or digits");
    }

    #[test]
    fn a_damaged_index_says_what_to_run() {
        let e = Error::Corrupt {
            index: "/tmp/ix".into(),
            problem: "state file is missing".into(),
            remedy: Remedy::Rebuild,
        };
        assert!(!e.to_string().contains("podsift index"));
        assert_eq!(
            describe(&e),
            "index at /tmp/ix: state file is missing; fix: podsift index --rebuild PATH"
        );
    }

    #[test]
    fn other_errors_read_as_themselves() {
        let io = std::io::Error::other("boom");
        assert_eq!(describe(&io), "boom");
    }
}
