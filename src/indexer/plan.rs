//! Planning a run: which files changed, which are one episode, and what
//! to remove, keep and index. Everything here but the reading of changed
//! files ([`diff`]) works on the file table alone, and is unit-tested.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{
    doc_transcript, key_of, load, parse_err, text_hash, Event, ReadBudget, Report, Source,
};
use crate::error::{Error, ParseErrorKind, Result};
use crate::ingest::fingerprint::{self, Signature};
use crate::ingest::showmeta::ShowMeta;
use crate::ingest::walk::{Candidate, Found};
use crate::ingest::{self, Format};
use crate::store::state::{EpisodeEntry, FileEntry, FoldReason, Outcome};
use crate::store::Writer;

fn format_rank(f: Format) -> u8 {
    match f {
        Format::Json => 0,
        Format::Vtt => 1,
        Format::Srt => 2,
        Format::Markdown => 3,
        Format::Html => 4,
        Format::Text => 5,
        Format::Beir => 6,
    }
}

/// Richer first: timed, with speakers, more cues, format, then path.
fn richer(a: &(String, FileEntry), b: &(String, FileEntry)) -> std::cmp::Ordering {
    b.1.is_timed
        .cmp(&a.1.is_timed)
        .then(b.1.has_speakers.cmp(&a.1.has_speakers))
        .then(b.1.cues.cmp(&a.1.cues))
        .then(format_rank(a.1.format).cmp(&format_rank(b.1.format)))
        .then(a.0.cmp(&b.0))
}

/// Whether an entry from the file table has what planning needs, or must
/// be read again (entries from before [`FileEntry::minhash`] existed).
fn is_fingerprinted(e: &FileEntry) -> bool {
    e.minhash.is_some() || e.outcome == Outcome::Ignored || e.format == Format::Beir
}

/// Fold the files still wanted whose words are nearly the same
/// ([`fingerprint::similar_groups`], any show, as for identical words) into
/// the richest of each group.
fn fold_similar(
    wanted: &mut BTreeMap<String, (String, FileEntry)>,
    folded_into: &mut HashMap<String, (String, FoldReason)>,
) {
    let files: Vec<(String, FileEntry)> = wanted.values().cloned().collect();
    let none = Signature::default();
    let items: Vec<&Signature> = files
        .iter()
        .map(|(_, e)| e.minhash.as_ref().unwrap_or(&none))
        .collect();
    for group in fingerprint::similar_groups(&items) {
        let mut members: Vec<&(String, FileEntry)> = group.iter().map(|&i| &files[i]).collect();
        members.sort_by(|a, b| richer(a, b));
        let into = &members[0].1.path;
        for (key, e) in &members[1..] {
            folded_into.insert(key.clone(), (into.clone(), FoldReason::SimilarWords));
            wanted.remove(&e.episode);
        }
    }
}

/// Point every folded file at the file its episode is finally indexed
/// from: a file folded by name into one that was then folded by content
/// would otherwise point at a folded file.
fn resolve_chains(
    table: &BTreeMap<String, FileEntry>,
    folded_into: &mut HashMap<String, (String, FoldReason)>,
) {
    let by_path: HashMap<String, String> = folded_into
        .iter()
        .filter_map(|(key, (into, _))| Some((table.get(key)?.path.clone(), into.clone())))
        .collect();
    for (into, _) in folded_into.values_mut() {
        // Each step moves to a file folded later in the plan, so chains end.
        for _ in 0..by_path.len() {
            match by_path.get(into.as_str()) {
                Some(next) if next != into => *into = next.clone(),
                _ => break,
            }
        }
    }
}

/// Stage 1, the walk: the transcripts under `roots`, less those below an
/// excluded name.
pub(super) fn walk(roots: &[PathBuf], exclude: &[String]) -> Found {
    let mut found = ingest::walk::walk(roots);
    if !exclude.is_empty() {
        found.candidates.retain(|c| !is_excluded(c, exclude));
    }
    found
}

/// Whether a path component of `c` below its root is one of `exclude`.
fn is_excluded(c: &Candidate, exclude: &[String]) -> bool {
    let rel = c.path.strip_prefix(&c.root).unwrap_or(&c.path);
    rel.components()
        .any(|part| exclude.iter().any(|x| part.as_os_str() == x.as_str()))
}

/// The file table after the diff, and what the later stages need of it.
pub(super) struct Diff<'a> {
    /// Every file by key: unchanged entries as they were, changed ones
    /// read again, failed ones at their last good version, and those
    /// outside the roots walked as they were.
    pub table: BTreeMap<String, FileEntry>,
    /// Every candidate walked, by key.
    pub candidates: HashMap<String, &'a Candidate>,
    /// Collections (BEIR JSON Lines), planned apart ([`collections`]).
    pub collections: Vec<(String, &'a Candidate)>,
    /// Files that could not be read or parsed now.
    pub failed: HashSet<String>,
}

/// Whether the file table's entry still describes `c` without reading it:
/// same size, modification time and episode id, and fingerprinted.
fn is_unchanged(old: &FileEntry, c: &Candidate) -> bool {
    old.size == c.size
        && old.mtime_ns == c.mtime_ns
        && old.episode == c.episode_id
        && is_fingerprinted(old)
}

/// Sort the candidates by what the file table says of them: unchanged
/// (into the table as they were), to be read, or collections. Nothing is
/// read.
fn by_stat<'a>(
    candidates: &'a [Candidate],
    old_files: &BTreeMap<String, FileEntry>,
) -> (Diff<'a>, Vec<(String, &'a Candidate)>) {
    let mut d = Diff {
        table: BTreeMap::new(),
        candidates: HashMap::new(),
        collections: Vec::new(),
        failed: HashSet::new(),
    };
    let mut to_read = Vec::new();
    for c in candidates {
        let key = key_of(&c.path);
        d.candidates.insert(key.clone(), c);
        if c.format == Format::Beir {
            d.collections.push((key, c));
            continue;
        }
        match old_files.get(&key) {
            Some(old) if is_unchanged(old, c) => {
                d.table.insert(key, old.clone());
            }
            _ => to_read.push((key, c)),
        }
    }
    (d, to_read)
}

/// A file's entry from its bytes: the old entry again when the hash is
/// the same, else parsed and fingerprinted (or marked not a transcript).
fn read_entry(
    key: &str,
    c: &Candidate,
    old_files: &BTreeMap<String, FileEntry>,
) -> Result<FileEntry> {
    let bytes = ingest::read_capped(&c.path)?;
    let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
    if let Some(old) = old_files.get(key) {
        if old.hash == hash && old.episode == c.episode_id && is_fingerprinted(old) {
            let mut e = old.clone();
            e.size = c.size;
            e.mtime_ns = c.mtime_ns;
            e.path = c.path.to_string_lossy().into_owned();
            return Ok(e);
        }
    }
    drop(bytes);
    let mut entry = FileEntry {
        path: c.path.to_string_lossy().into_owned(),
        size: c.size,
        mtime_ns: c.mtime_ns,
        hash,
        text_hash: String::new(),
        episode: c.episode_id.clone(),
        format: c.format,
        is_timed: false,
        has_speakers: false,
        cues: 0,
        minhash: None,
        outcome: Outcome::Indexed,
    };
    match load(c, &mut ShowMeta::default()) {
        Ok(t) => {
            entry.text_hash = text_hash(&t);
            entry.minhash = Some(Signature::of_transcript(&t));
            entry.is_timed = t.is_timed();
            entry.has_speakers = t.has_speakers();
            entry.cues = t.cues.len() as u64;
            entry.format = t.episode.format;
            Ok(entry)
        }
        Err(Error::Parse(p)) if p.kind == ParseErrorKind::NotTranscript => {
            entry.outcome = Outcome::Ignored;
            Ok(entry)
        }
        Err(e) => Err(e),
    }
}

/// Files known from before that are outside `root_keys` stay as they
/// are; those inside that are gone (not in `table`) are dropped.
fn keep_outside(
    table: &mut BTreeMap<String, FileEntry>,
    old_files: &BTreeMap<String, FileEntry>,
    root_keys: &[String],
) {
    for (key, old) in old_files {
        let inside = root_keys.iter().any(|r| Path::new(key).starts_with(r));
        if !table.contains_key(key) && !inside {
            table.insert(key.clone(), old.clone());
        }
    }
}

/// Stage 2, the diff: compare the walked `candidates` against the file table:
/// unchanged files are not read, the others are hashed (and parsed only when
/// the hash changed), in parallel within the read budget. A file that fails is
/// reported and keeps its last good version.
pub(super) fn diff<'a>(
    candidates: &'a [Candidate],
    old_files: &BTreeMap<String, FileEntry>,
    roots: &[PathBuf],
    budget: &ReadBudget,
    on_event: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Diff<'a> {
    let root_keys: Vec<String> = roots.iter().map(|r| key_of(r)).collect();
    let (mut d, to_read) = by_stat(candidates, old_files);
    let read: Vec<(String, Result<FileEntry>)> = to_read
        .par_iter()
        .map(|(key, c)| {
            let _permit = budget.take(c.size);
            (key.clone(), read_entry(key, c, old_files))
        })
        .collect();
    for (key, entry) in read {
        match entry {
            Ok(e) => {
                d.table.insert(key, e);
            }
            Err(e) => {
                on_event(Event::Skipped(&e));
                report.skipped += 1;
                // Keep the last good version of a file that broke.
                if let Some(old) = old_files.get(&key) {
                    d.table.insert(key.clone(), old.clone());
                }
                d.failed.insert(key);
            }
        }
    }
    keep_outside(&mut d.table, old_files, &root_keys);
    d
}

/// Stage 3, the plan: fold by episode id, then by identical words, then by
/// similar words, and record each file's outcome in `table`. Returns the files
/// indexed, by episode id: `(key, entry)`. Pure: reads nothing.
pub(super) fn fold(
    table: &mut BTreeMap<String, FileEntry>,
) -> BTreeMap<String, (String, FileEntry)> {
    let mut groups: BTreeMap<String, Vec<(String, FileEntry)>> = BTreeMap::new();
    for (key, e) in table.iter() {
        if e.outcome == Outcome::Ignored || e.format == Format::Beir {
            continue;
        }
        groups
            .entry(e.episode.clone())
            .or_default()
            .push((key.clone(), e.clone()));
    }
    let mut kept: Vec<(String, FileEntry)> = Vec::new();
    let mut folded_into: HashMap<String, (String, FoldReason)> = HashMap::new();
    for (_, mut files) in groups {
        files.sort_by(richer);
        let best = files[0].clone();
        for (k, _) in &files[1..] {
            folded_into.insert(k.clone(), (best.1.path.clone(), FoldReason::EpisodeId));
        }
        kept.push(best);
    }
    let mut by_text: BTreeMap<String, Vec<(String, FileEntry)>> = BTreeMap::new();
    for k in kept {
        by_text.entry(k.1.text_hash.clone()).or_default().push(k);
    }
    let mut wanted: BTreeMap<String, (String, FileEntry)> = BTreeMap::new();
    for (_, mut files) in by_text {
        files.sort_by(richer);
        let best = files[0].clone();
        for (k, _) in &files[1..] {
            folded_into.insert(k.clone(), (best.1.path.clone(), FoldReason::SameWords));
        }
        wanted.insert(best.1.episode.clone(), best);
    }
    fold_similar(&mut wanted, &mut folded_into);
    resolve_chains(table, &mut folded_into);
    for (key, e) in table.iter_mut() {
        if e.outcome == Outcome::Ignored || e.format == Format::Beir {
            continue;
        }
        e.outcome = match folded_into.get(key) {
            Some((into, by)) => Outcome::Folded {
                into: into.clone(),
                by: *by,
            },
            None => Outcome::Indexed,
        };
    }
    wanted
}

/// What becomes of the collections walked.
pub(super) struct Collections<'a> {
    /// Keys of collections whose episodes all stay.
    pub kept: HashSet<String>,
    /// Collections replaced whole: key, candidate, every document.
    pub changed: Vec<(String, &'a Candidate, Vec<ingest::beir::Doc>)>,
    /// Collections a killed run left incomplete: the documents missing.
    pub resumed: Vec<(&'a Candidate, Vec<ingest::beir::Doc>)>,
}

/// Collections (BEIR JSON Lines): unchanged ones keep all their episodes,
/// changed ones are replaced whole. A collection is complete when all its
/// documents are in; a run killed half-way through one leaves it
/// incomplete, and the next run adds the documents that are missing (its
/// file entry is committed with the first batch).
pub(super) fn collections<'a>(
    writer: &Writer,
    d: &mut Diff<'a>,
    old_files: &BTreeMap<String, FileEntry>,
    on_event: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Collections<'a> {
    let mut out = Collections {
        kept: HashSet::new(),
        changed: Vec::new(),
        resumed: Vec::new(),
    };
    let mut present: HashMap<&str, u64> = HashMap::new();
    for (_, e) in writer.episodes() {
        *present.entry(e.file.as_str()).or_default() += 1;
    }
    // (A count of 0 is unknown, from an index written before counts were
    // kept: the documents are then checked one by one.)
    let complete = |key: &str| {
        old_files
            .get(key)
            .is_some_and(|o| o.cues > 0 && present.get(key).copied().unwrap_or(0) >= o.cues)
    };
    for (key, c) in &d.collections {
        let c: &'a Candidate = c;
        let same_stat = old_files
            .get(key)
            .is_some_and(|o| o.size == c.size && o.mtime_ns == c.mtime_ns);
        if same_stat && complete(key) {
            out.kept.insert(key.clone());
            d.table.insert(key.clone(), old_files[key].clone());
            continue;
        }
        let read = ingest::read_capped(&c.path).and_then(|bytes| {
            let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
            let (text, _) = ingest::decode(&bytes).map_err(|e| parse_err(e, &c.path))?;
            Ok((hash, text))
        });
        let parsed = read.and_then(|(hash, text)| {
            let same = old_files.get(key).is_some_and(|o| o.hash == hash);
            if same && complete(key) {
                return Ok((hash, None, false));
            }
            let docs = ingest::beir::parse(&text).map_err(|e| parse_err(e, &c.path))?;
            Ok((hash, Some(docs), same))
        });
        match parsed {
            Ok((hash, docs, resume)) => {
                let entry = FileEntry {
                    path: c.path.to_string_lossy().into_owned(),
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    hash: hash.clone(),
                    text_hash: hash,
                    episode: c.episode_id.clone(),
                    format: Format::Beir,
                    is_timed: false,
                    has_speakers: false,
                    cues: docs.as_ref().map_or(0, |d| d.len() as u64),
                    minhash: None,
                    outcome: Outcome::Indexed,
                };
                d.table.insert(key.clone(), entry);
                match docs {
                    Some(docs) if resume => {
                        let missing: Vec<ingest::beir::Doc> = docs
                            .into_iter()
                            .filter(|d| writer.episode(&format!("{}/{}", c.show, d.id)).is_none())
                            .collect();
                        out.kept.insert(key.clone());
                        out.resumed.push((c, missing));
                    }
                    Some(docs) => out.changed.push((key.clone(), c, docs)),
                    None => {
                        out.kept.insert(key.clone());
                    }
                }
            }
            Err(e) => {
                on_event(Event::Skipped(&e));
                report.skipped += 1;
                if let Some(old) = old_files.get(key) {
                    d.table.insert(key.clone(), old.clone());
                    out.kept.insert(key.clone());
                }
            }
        }
    }
    out
}

/// Stage 4, the changes: episodes no longer wanted (or whose collection
/// changed) are removed, the file table is staged, and the sources to index are
/// returned in order: new and changed files, then collection documents.
pub(super) fn changes(
    writer: &mut Writer,
    wanted: &BTreeMap<String, (String, FileEntry)>,
    old_files: &BTreeMap<String, FileEntry>,
    d: &Diff,
    collections: Collections,
    report: &mut Report,
) -> Vec<Source> {
    let current: Vec<(String, EpisodeEntry)> = writer
        .episodes()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut todo: Vec<Source> = Vec::new();
    let changed_keys: HashSet<String> = collections
        .changed
        .iter()
        .map(|(k, ..)| k.clone())
        .collect();
    for (id, entry) in &current {
        if collections.kept.contains(&entry.file) {
            report.unchanged += 1;
            continue;
        }
        if changed_keys.contains(&entry.file) {
            writer.remove_episode(id);
            continue;
        }
        match wanted.get(id) {
            Some((key, fe))
                if *key == entry.file
                    && old_files.get(key).is_some_and(|o| o.hash == fe.hash)
                    && writer.partial(id).is_none() =>
            {
                report.unchanged += 1;
            }
            Some(_) => {}
            None => {
                writer.mark_noncontent_stale(&entry.show);
                writer.remove_episode(id);
                report.removed += 1;
            }
        }
    }
    for (id, (key, fe)) in wanted {
        let same = writer.partial(id).is_none()
            && current.iter().any(|(cid, ce)| {
                cid == id
                    && ce.file == *key
                    && old_files.get(key).is_some_and(|o| o.hash == fe.hash)
            });
        if !same && !d.failed.contains(key) {
            todo.push(Source::File {
                id: id.clone(),
                key: key.clone(),
            });
        }
    }
    for (key, e) in &d.table {
        writer.set_file(key.clone(), e.clone());
    }
    for key in old_files.keys() {
        if !d.table.contains_key(key) {
            writer.remove_file(key);
        }
    }
    for (c, docs) in collections
        .changed
        .into_iter()
        .map(|(_, c, docs)| (c, docs))
        .chain(collections.resumed)
    {
        for doc in docs {
            todo.push(Source::Doc(Box::new(doc_transcript(c, doc))));
        }
    }
    todo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file-table entry for `path` (`<show>/<name>.<ext>`), episode `id`,
    /// spoken words hashed as `words`.
    fn entry(path: &str, id: &str, format: Format, words: &str) -> FileEntry {
        FileEntry {
            path: path.to_string(),
            size: 100,
            mtime_ns: 1,
            hash: format!("h-{path}"),
            text_hash: words.to_string(),
            episode: id.to_string(),
            format,
            is_timed: format != Format::Text,
            has_speakers: false,
            cues: 10,
            minhash: Some(Signature::default()),
            outcome: Outcome::Indexed,
        }
    }

    fn table(entries: &[FileEntry]) -> BTreeMap<String, FileEntry> {
        entries
            .iter()
            .map(|e| (e.path.clone(), e.clone()))
            .collect()
    }

    fn folded(into: &str, by: FoldReason) -> Outcome {
        Outcome::Folded {
            into: into.to_string(),
            by,
        }
    }

    fn candidate(path: &str, id: &str, format: Format) -> Candidate {
        Candidate {
            path: PathBuf::from(path),
            root: PathBuf::from("/nowhere/root"),
            show: "show".into(),
            episode_id: id.into(),
            format,
            size: 100,
            mtime_ns: 1,
        }
    }

    #[test]
    fn one_episode_in_two_formats_keeps_the_richer_file() {
        let mut t = table(&[
            entry("/r/show/a.srt", "show/a", Format::Srt, "w1"),
            entry("/r/show/a.vtt", "show/a", Format::Vtt, "w1"),
            entry("/r/show/b.txt", "show/b", Format::Text, "w2"),
        ]);
        let wanted = fold(&mut t);
        assert_eq!(wanted.keys().collect::<Vec<_>>(), vec!["show/a", "show/b"]);
        assert_eq!(wanted["show/a"].0, "/r/show/a.vtt");
        assert_eq!(
            t["/r/show/a.srt"].outcome,
            folded("/r/show/a.vtt", FoldReason::EpisodeId)
        );
        assert_eq!(t["/r/show/a.vtt"].outcome, Outcome::Indexed);
        assert_eq!(t["/r/show/b.txt"].outcome, Outcome::Indexed);
    }

    #[test]
    fn the_same_words_under_two_names_are_one_episode_and_chains_resolve() {
        // a.srt folds into a.vtt by name; a.vtt folds into c.json by words:
        // a.srt must point at the file finally indexed.
        let mut t = table(&[
            entry("/r/show/a.srt", "show/a", Format::Srt, "same"),
            entry("/r/show/a.vtt", "show/a", Format::Vtt, "same"),
            entry("/r/other/c.json", "other/c", Format::Json, "same"),
        ]);
        let wanted = fold(&mut t);
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted["other/c"].0, "/r/other/c.json");
        assert_eq!(
            t["/r/show/a.vtt"].outcome,
            folded("/r/other/c.json", FoldReason::SameWords)
        );
        assert_eq!(
            t["/r/show/a.srt"].outcome,
            folded("/r/other/c.json", FoldReason::EpisodeId)
        );
    }

    #[test]
    fn ignored_files_and_collections_are_not_planned() {
        let mut ignored = entry("/r/show/topics.md", "show/topics", Format::Markdown, "x");
        ignored.outcome = Outcome::Ignored;
        let beir = entry("/r/beir/corpus.jsonl", "beir/corpus", Format::Beir, "y");
        let mut t = table(&[ignored.clone(), beir.clone()]);
        assert!(fold(&mut t).is_empty());
        assert_eq!(t["/r/show/topics.md"], ignored);
        assert_eq!(t["/r/beir/corpus.jsonl"], beir);
    }

    #[test]
    fn only_files_whose_stat_changed_are_read() {
        let same = entry("/nowhere/r/show/a.vtt", "show/a", Format::Vtt, "w");
        let mut touched = entry("/nowhere/r/show/b.vtt", "show/b", Format::Vtt, "w");
        touched.mtime_ns = 0;
        let renamed = entry("/nowhere/r/show/c.vtt", "show/old-c", Format::Vtt, "w");
        let mut unsigned = entry("/nowhere/r/show/d.vtt", "show/d", Format::Vtt, "w");
        unsigned.minhash = None;
        let old = table(&[same.clone(), touched, renamed, unsigned]);
        let candidates = vec![
            candidate("/nowhere/r/show/a.vtt", "show/a", Format::Vtt),
            candidate("/nowhere/r/show/b.vtt", "show/b", Format::Vtt),
            candidate("/nowhere/r/show/c.vtt", "show/c", Format::Vtt),
            candidate("/nowhere/r/show/d.vtt", "show/d", Format::Vtt),
            candidate("/nowhere/r/show/e.vtt", "show/e", Format::Vtt),
            candidate("/nowhere/r/beir/corpus.jsonl", "beir/corpus", Format::Beir),
        ];
        let (d, to_read) = by_stat(&candidates, &old);
        assert_eq!(d.table.len(), 1);
        assert_eq!(d.table["/nowhere/r/show/a.vtt"], same);
        let read: Vec<&str> = to_read.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            read,
            vec![
                "/nowhere/r/show/b.vtt",
                "/nowhere/r/show/c.vtt",
                "/nowhere/r/show/d.vtt",
                "/nowhere/r/show/e.vtt"
            ]
        );
        assert_eq!(d.collections.len(), 1);
        assert_eq!(d.candidates.len(), candidates.len());
    }

    #[test]
    fn files_outside_the_roots_walked_stay_and_gone_ones_inside_go() {
        let old = table(&[
            entry("/nowhere/r/show/gone.vtt", "show/gone", Format::Vtt, "w"),
            entry("/nowhere/elsewhere/x.vtt", "elsewhere/x", Format::Vtt, "w"),
        ]);
        let mut t = BTreeMap::new();
        keep_outside(&mut t, &old, &["/nowhere/r".to_string()]);
        assert_eq!(
            t.keys().collect::<Vec<_>>(),
            vec!["/nowhere/elsewhere/x.vtt"]
        );
    }

    #[test]
    fn excluded_names_match_whole_components_below_the_root() {
        let c = candidate("/nowhere/root/sample/show/a.vtt", "show/a", Format::Vtt);
        assert!(is_excluded(&c, &["sample".into()]));
        assert!(!is_excluded(&c, &["sam".into()]));
        // The root's own components do not count.
        assert!(!is_excluded(&c, &["root".into()]));
    }
}
