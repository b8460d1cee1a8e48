//! The full-text side of the store: the tantivy schema, the analyzer, and
//! conversion between our passages and tantivy documents.
//!
//! Passage text and all display metadata live only here, in tantivy's doc
//! store (STORED fields). Vectors join to documents by the `chunk_id` fast
//! field, never by position.
//!
//! The analyzer `podsift_en`: tantivy's simple tokenizer, long tokens removed,
//! lower-cased, ASCII-folded (`Cissé` matches `cisse`), English stop words
//! removed, Snowball English stemming. Analyzers are not persisted by
//! tantivy, so `register` runs on every open.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, OwnedValue, Schema, TextFieldIndexing, TextOptions,
    Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

use std::io;

use crate::chunk::ChunkId;
use crate::error::{Error, IndexError};

/// The name of the passage-id field: the fast column every full-text hit
/// is joined to vectors and stored text by. The one place it is spelled.
pub(crate) const CHUNK_ID: &str = "chunk_id";

/// The analyzer name used by stemmed text fields.
pub const ANALYZER: &str = "podsift_en";
/// The analyzer of the speaker field (lower-cased words, no stemming).
pub const NAME_ANALYZER: &str = "podsift_name";

/// Handles to the schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Passage id (u64; indexed for lookups, fast for joins).
    pub chunk_id: Field,
    /// Episode id (raw string; deletes and filters).
    pub episode: Field,
    /// Show slug (raw string; filters).
    pub show: Field,
    /// Episode title (stemmed text, stored).
    pub title: Field,
    /// Chapter title (stemmed text, stored), from `podcast:chapters`.
    pub chapter: Field,
    /// Speaker (lower-cased words, stored).
    pub speaker: Field,
    /// Passage text (stemmed text, stored).
    pub text: Field,
    /// The passage with its neighbours before and after (stemmed, indexed
    /// only): a keyword match spread over adjacent passages still scores.
    pub context: Field,
    /// Start in ms (absent when untimed).
    pub start_ms: Field,
    /// End in ms (absent when untimed).
    pub end_ms: Field,
    /// Position in the episode.
    pub seq: Field,
    /// Episode date as days since 1970-01-01 (absent when unknown).
    pub date_days: Field,
    /// Episode date `YYYY-MM-DD` (stored only).
    pub date: Field,
    /// Episode url (stored only).
    pub url: Field,
    /// Source file as given to `index` (stored only).
    pub path: Field,
    /// Non-content score in 0..=1000 (ads, intros), fast for filtering.
    pub noncontent: Field,
    /// The non-content score from the passage alone (cues and prototype
    /// similarity), before repetition across episodes and smoothing.
    pub noncontent_base: Field,
}

/// Build the schema.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let stemmed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let names = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(NAME_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let stored_num = NumericOptions::default().set_stored().set_fast();
    let fields = Fields {
        chunk_id: b.add_u64_field(CHUNK_ID, INDEXED | STORED | FAST),
        episode: b.add_text_field("episode", STRING | STORED | FAST),
        show: b.add_text_field("show", STRING | STORED | FAST),
        title: b.add_text_field("title", stemmed.clone()),
        chapter: b.add_text_field("chapter", stemmed.clone()),
        speaker: b.add_text_field("speaker", names),
        text: b.add_text_field("text", stemmed.clone()),
        context: b.add_text_field(
            "context",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(ANALYZER)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        start_ms: b.add_u64_field("start_ms", stored_num.clone()),
        end_ms: b.add_u64_field("end_ms", stored_num.clone()),
        seq: b.add_u64_field("seq", INDEXED | STORED | FAST),
        date_days: b.add_i64_field("date_days", INDEXED | STORED | FAST),
        date: b.add_text_field("date", STORED),
        url: b.add_text_field("url", STORED),
        path: b.add_text_field("path", STORED),
        noncontent: b.add_u64_field("noncontent", INDEXED | STORED | FAST),
        noncontent_base: b.add_u64_field("noncontent_base", STORED),
    };
    (b.build(), fields)
}

/// The analyzer for passage text and queries.
pub(crate) fn analyzer() -> TextAnalyzer {
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        builder = builder.filter_dynamic(stop);
    }
    builder
        .filter_dynamic(Stemmer::new(Language::English))
        .build()
}

/// The terms the keyword arm sees in `text`: lower-cased, ASCII-folded,
/// stop words dropped, stemmed (English), in order, repeats kept.
pub fn analyse(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Register our analyzers on an index (needed on every open).
pub(crate) fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
    index.tokenizers().register(NAME_ANALYZER, name_analyzer());
}

/// The analyzer for speaker names: words, lower-cased, ASCII-folded.
pub fn name_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words `--speaker` matches in `name` (as [`name_analyzer`] splits it).
pub fn name_terms(name: &str) -> Vec<String> {
    let mut a = name_analyzer();
    let mut stream = a.token_stream(name);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Analyzed terms of `text` with an analyzer registered on `index`.
pub(crate) fn terms(index: &Index, analyzer_name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(mut a) = index.tokenizers().get(analyzer_name) {
        let mut stream = a.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
    }
    out
}

/// A passage as stored: everything a result needs to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredChunk {
    /// Id.
    pub id: ChunkId,
    /// Episode id.
    pub episode: String,
    /// Show slug.
    pub show: String,
    /// Episode title.
    pub title: String,
    /// Chapter title.
    pub chapter: Option<String>,
    /// Speaker.
    pub speaker: Option<String>,
    /// Text.
    pub text: String,
    /// Start, ms.
    pub start_ms: Option<u64>,
    /// End, ms.
    pub end_ms: Option<u64>,
    /// Position in the episode.
    pub seq: u64,
    /// Episode date `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Episode url.
    pub url: Option<String>,
    /// Source file.
    pub path: String,
    /// Non-content score 0..=1000.
    pub noncontent: u64,
    /// Non-content score of the passage alone, 0..=1000.
    pub noncontent_base: u64,
    /// Neighbouring passages' text, indexed with this one (not stored).
    pub context: String,
}

impl StoredChunk {
    /// The passage id.
    pub fn chunk_id(&self) -> ChunkId {
        self.id
    }

    /// Build the tantivy document.
    pub(crate) fn to_doc(&self, f: &Fields) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_u64(f.chunk_id, self.id.0);
        d.add_text(f.episode, &self.episode);
        d.add_text(f.show, &self.show);
        d.add_text(f.title, &self.title);
        if let Some(c) = &self.chapter {
            d.add_text(f.chapter, c);
        }
        if let Some(s) = &self.speaker {
            d.add_text(f.speaker, s);
        }
        d.add_text(f.text, &self.text);
        if !self.context.is_empty() {
            d.add_text(f.context, &self.context);
        }
        if let Some(v) = self.start_ms {
            d.add_u64(f.start_ms, v);
        }
        if let Some(v) = self.end_ms {
            d.add_u64(f.end_ms, v);
        }
        d.add_u64(f.seq, self.seq);
        if let Some(date) = &self.date {
            d.add_text(f.date, date);
            if let Some(days) = date_days(date) {
                d.add_i64(f.date_days, days);
            }
        }
        if let Some(u) = &self.url {
            d.add_text(f.url, u);
        }
        d.add_text(f.path, &self.path);
        d.add_u64(f.noncontent, self.noncontent);
        d.add_u64(f.noncontent_base, self.noncontent_base);
        d
    }

    /// Read a stored document back.
    pub(crate) fn from_doc(doc: &TantivyDocument, f: &Fields) -> StoredChunk {
        let text = |field: Field| -> Option<String> {
            doc.get_first(field)
                .and_then(|v| Value::as_str(&v).map(str::to_string))
        };
        let num = |field: Field| -> Option<u64> {
            doc.get_first(field)
                .and_then(|v| match OwnedValue::from(v) {
                    OwnedValue::U64(n) => Some(n),
                    _ => None,
                })
        };
        StoredChunk {
            id: ChunkId(num(f.chunk_id).unwrap_or(0)),
            episode: text(f.episode).unwrap_or_default(),
            show: text(f.show).unwrap_or_default(),
            title: text(f.title).unwrap_or_default(),
            chapter: text(f.chapter),
            speaker: text(f.speaker),
            text: text(f.text).unwrap_or_default(),
            start_ms: num(f.start_ms),
            end_ms: num(f.end_ms),
            seq: num(f.seq).unwrap_or(0),
            date: text(f.date),
            url: text(f.url),
            path: text(f.path).unwrap_or_default(),
            noncontent: num(f.noncontent).unwrap_or(0),
            noncontent_base: num(f.noncontent_base).unwrap_or(0),
            context: String::new(),
        }
    }
}

/// Days since 1970-01-01 for `YYYY-MM-DD`.
pub fn date_days(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((d - epoch).num_days())
}

/// Engine errors become [`Error::Index`], message and sources unchanged.
impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Error {
        Error::Index(IndexError::new(e))
    }
}

/// A full-text error while writing the index in `dir`: a full disk or a
/// read-only file system becomes [`Error::NoSpace`] or
/// [`Error::NotWritable`] (the engine's own message names neither the
/// folder nor the fix), anything else stays [`Error::Index`].
pub(crate) fn error_at(dir: &std::path::Path, e: tantivy::TantivyError) -> Error {
    match io_kind(&e) {
        Some(io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded) => Error::NoSpace {
            path: dir.to_path_buf(),
        },
        Some(io::ErrorKind::ReadOnlyFilesystem) => Error::NotWritable {
            path: dir.to_path_buf(),
            reason: "read-only file system",
        },
        _ => Error::from(e),
    }
}

/// The kind of the I/O error inside a full-text error, if there is one.
fn io_kind(e: &tantivy::TantivyError) -> Option<io::ErrorKind> {
    use tantivy::directory::error::{LockError, OpenDirectoryError, OpenReadError, OpenWriteError};
    use tantivy::TantivyError as T;
    Some(match e {
        T::IoError(io) => io.kind(),
        T::OpenWriteError(OpenWriteError::IoError { io_error, .. })
        | T::OpenReadError(OpenReadError::IoError { io_error, .. })
        | T::OpenDirectoryError(OpenDirectoryError::IoError { io_error, .. }) => io_error.kind(),
        T::LockFailure(LockError::IoError(io), _) => io.kind(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_stems_folds_and_drops_stop_words() {
        let (schema, _) = schema();
        let index = Index::create_in_ram(schema);
        register(&index);
        assert_eq!(
            terms(&index, ANALYZER, "The Chips are Running, Cissé!"),
            vec!["chip", "run", "ciss"]
        );
        assert_eq!(
            terms(&index, NAME_ANALYZER, "Lenny Rachitsky"),
            vec!["lenny", "rachitsky"]
        );
    }

    #[test]
    fn doc_round_trip() {
        let (schema, f) = schema();
        let c = StoredChunk {
            id: ChunkId(42),
            episode: "show/ep".into(),
            show: "show".into(),
            title: "Title".into(),
            chapter: Some("Intro".into()),
            speaker: Some("Ada".into()),
            text: "Hello.".into(),
            start_ms: Some(1_000),
            end_ms: Some(2_000),
            seq: 3,
            date: Some("2024-01-02".into()),
            url: None,
            path: "a/b.vtt".into(),
            noncontent: 0,
            noncontent_base: 0,
            context: String::new(),
        };
        let doc = c.to_doc(&f);
        let _ = schema;
        assert_eq!(StoredChunk::from_doc(&doc, &f), c);
        assert_eq!(date_days("1970-01-02"), Some(1));
    }
}
