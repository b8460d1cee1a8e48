//! The end of a run: the last commit, and the non-content pass that adds
//! repetition across a show's episodes (sponsor reads, intros and outros
//! repeat word for word; conversation does not) to each passage's score
//! and records each episode's speakers (for the show's hosts).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use super::{Event, Report, SLICE_ROWS};
use crate::error::Result;
use crate::insight::noncontent::{self, NONCONTENT_THRESHOLD};
use crate::store::state::FileEntry;
use crate::store::text::StoredChunk;
use crate::store::{Store, Writer};

/// The end of a run: the last commit, then the non-content pass across the
/// episodes of each show touched now (or left marked by a killed run).
/// One show at a time, each committed before the next: memory holds one
/// show's pass (not a whole corpus's changes), and a run killed in
/// between keeps the shows done and leaves the rest marked.
pub(super) fn finish(
    writer: &mut Writer,
    old_files: &BTreeMap<String, FileEntry>,
    on_event: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Result<()> {
    let files_changed = writer.files() != old_files;
    if report.changed() || files_changed || writer.is_dirty() {
        let generation = writer.commit()?;
        on_event(Event::Committed { generation });
    }
    // An index written before episodes' speakers were recorded gets them
    // from the same pass, once.
    let unnamed: BTreeSet<String> = writer
        .episodes()
        .filter(|(_, e)| e.speakers.is_none())
        .map(|(_, e)| e.show.clone())
        .collect();
    for show in &unnamed {
        writer.mark_noncontent_stale(show);
    }
    let stale: Vec<String> = writer.noncontent_stale().iter().cloned().collect();
    if !stale.is_empty() {
        let t = Instant::now();
        for show in &stale {
            report.noncontent_updated += refresh_noncontent(writer, show)?;
            writer.clear_noncontent_stale(show);
            let generation = writer.commit()?;
            on_event(Event::Committed { generation });
        }
        report.noncontent_secs = t.elapsed().as_secs_f64();
    }
    Ok(())
}

/// Re-score the non-content of every passage of `show` with repetition
/// across episodes (sponsor reads, intros and outros repeat), and stage the
/// passages whose score changed. Returns how many changed.
fn refresh_noncontent(writer: &mut Writer, show: &str) -> Result<usize> {
    /// What scoring needs of a passage; its text is read again only if its
    /// score changes (a show's passages are never all in memory at once).
    struct Light {
        addr: crate::store::PassageRef,
        episode: u32,
        seq: u64,
        noncontent: u64,
        base: u64,
        shingles: Vec<u64>,
    }
    // Opened per show: the pages of the stored passages read through its
    // maps count as resident memory until they are unmapped.
    let store = Store::open_data(writer.root(), writer.data_dir().to_path_buf())?;
    let mut episodes: Vec<String> = Vec::new();
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut repeated = noncontent::Repetition::default();
    let mut lights: Vec<Light> = Vec::new();
    // The speakers each episode's passages name, by episode number.
    let mut speakers: Vec<BTreeSet<String>> = Vec::new();
    for addr in store.show_addresses(show)? {
        let c = store.passage_at(addr)?;
        let key = crate::store::vectors::episode_key(&c.episode);
        let shingles = repeated.add(key, &c.text);
        let episode = match numbers.get(&c.episode) {
            Some(&n) => n,
            None => {
                let n = episodes.len() as u32;
                numbers.insert(c.episode.clone(), n);
                episodes.push(c.episode);
                speakers.push(BTreeSet::new());
                n
            }
        };
        speakers[episode as usize].extend(c.speaker);
        lights.push(Light {
            addr,
            episode,
            seq: c.seq,
            noncontent: c.noncontent,
            base: c.noncontent_base,
            shingles,
        });
    }
    drop(numbers);
    lights.sort_by(|a, b| {
        episodes[a.episode as usize]
            .cmp(&episodes[b.episode as usize])
            .then(a.seq.cmp(&b.seq))
    });
    // Changed passages are staged a slice at a time.
    let mut changed: Vec<StoredChunk> = Vec::new();
    let mut total = 0;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut i = 0;
    while i < lights.len() {
        let ep = lights[i].episode;
        let j = i + lights[i..].iter().take_while(|l| l.episode == ep).count();
        let name = &episodes[ep as usize];
        let key = crate::store::vectors::episode_key(name);
        let base: Vec<u64> = lights[i..j].iter().map(|l| l.base).collect();
        let rep: Vec<f32> = lights[i..j]
            .iter()
            .map(|l| repeated.share(key, &l.shingles, 2))
            .collect();
        let scores = noncontent::finalize(&base, &rep, NONCONTENT_THRESHOLD);
        counts.insert(
            name.clone(),
            scores
                .iter()
                .filter(|s| **s >= NONCONTENT_THRESHOLD)
                .count() as u64,
        );
        for k in i..j {
            if lights[k].noncontent != scores[k - i] {
                let mut c = store.passage_at(lights[k].addr)?;
                c.noncontent = scores[k - i];
                let (lo, hi) = (k.saturating_sub(1).max(i), (k + 2).min(j));
                let mut context = Vec::with_capacity(hi - lo);
                for (n, l) in lights.iter().enumerate().take(hi).skip(lo) {
                    if n == k {
                        context.push(c.text.clone());
                    } else {
                        context.push(store.passage_at(l.addr)?.text);
                    }
                }
                c.context = context.join(" ");
                changed.push(c);
                if changed.len() >= SLICE_ROWS {
                    total += changed.len();
                    writer.replace_chunks(&changed, &HashMap::new())?;
                    changed.clear();
                }
            }
        }
        i = j;
    }
    counts.retain(|ep, n| writer.episode(ep).is_some_and(|e| e.noncontent != *n));
    writer.replace_chunks(&changed, &counts)?;
    // Every episode of the show gets its list, an empty one when no
    // passage of it names a speaker (or it has no passages).
    let of_show: Vec<String> = writer
        .episodes()
        .filter(|(_, e)| e.show == show)
        .map(|(id, _)| id.clone())
        .collect();
    let mut named: HashMap<String, BTreeSet<String>> = episodes.into_iter().zip(speakers).collect();
    for episode in of_show {
        let names = named.remove(&episode).unwrap_or_default();
        writer.set_speakers(&episode, names.into_iter().collect());
    }
    Ok(total + changed.len())
}
