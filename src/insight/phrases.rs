//! Key phrases: the words of a passage that name its idea, for finding
//! other passages on the same idea and for saying why two are related.
//!
//! Candidates are runs of one to three content words in a row (what the
//! keyword arm indexes: stemmed, stop words and a list of vague words
//! dropped) that start and end on a word of some rarity; a run's weight is
//! the sum of its words' inverse document frequencies, with names
//! (capitalised mid-sentence) counting half again. A phrase must occur in
//! more than one passage of the index (else it cannot relate anything) and
//! no word of it in more than a tenth of them. A word said twice in a row
//! (a stutter) counts once, and a run never crosses a sentence's end.

use std::collections::{HashMap, HashSet};

use crate::store::text::analyse;

/// Words the stop-word list keeps but that never name an idea: vague
/// verbs, quantities, time words, talk fillers.
const VAGUE: &[&str] = &[
    "let", "get", "got", "go", "goe", "went", "come", "came", "say", "said", "talk", "think",
    "thought", "know", "knew", "want", "like", "look", "make", "made", "take", "took", "use",
    "thing", "stuff", "lot", "lots", "way", "kind", "sort", "realli", "actual", "basic", "just",
    "yeah", "okay", "right", "well", "also", "even", "still", "much", "mani", "one", "two",
    "three", "four", "five", "six", "seven", "eight", "nine", "ten", "hundr", "thousand", "first",
    "second", "last", "next", "ago", "year", "month", "week", "day", "time", "today", "now",
    "back", "good", "great", "big", "littl", "new", "old", "sure", "mean", "pretti", "peopl",
    "someth", "anyth", "everyth", "someon", "somebodi", "differ", "part", "point", "question",
    "answer", "guy", "folk", "start", "tri", "need", "work", "see", "seen", "put", "give", "gave",
    "tell", "told", "feel", "felt", "whole", "lot", "bit", "ever", "never", "again", "alway",
    "often", "mayb", "probabl", "definit", "total", "exact", "certain",
];

/// A key phrase of a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// Its analysed terms, in order.
    pub terms: Vec<String>,
    /// As the passage spells it (lower-cased).
    pub surface: String,
    /// Weight: summed rarity, names boosted.
    pub weight: f32,
    /// Some word of it is a name (capitalised mid-sentence).
    pub named: bool,
}

impl Phrase {
    /// Whether it can name an idea on its own: several words ("tragedy of
    /// the commons") or a name ("Heartbleed"), not one plain word that two
    /// passages may share by chance.
    pub fn names_an_idea(&self) -> bool {
        self.terms.len() > 1 || self.named
    }
}

/// One word of the passage as the keyword arm sees it.
struct Word {
    term: String,
    surface: String,
    is_name: bool,
    /// Index of the word in the passage (to tell adjacency).
    at: usize,
}

fn words(text: &str) -> Vec<Word> {
    let vague: HashSet<&str> = VAGUE.iter().copied().collect();
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut previous: Option<String> = None;
    let mut stutters = 0;
    // A sentence's end breaks a run: one place left empty after it.
    let mut ends = 0;
    for (i, raw) in text.split_whitespace().enumerate() {
        let clean = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let starts = sentence_start;
        sentence_start = raw.ends_with(['.', '?', '!']);
        if starts && i > 0 {
            ends += 1;
        }
        if clean.is_empty() {
            continue;
        }
        // A possessive is the name's own: "Conway's law" -> conway, law.
        let base = clean
            .strip_suffix("'s")
            .or_else(|| clean.strip_suffix("’s"))
            .unwrap_or(clean);
        // A stutter ("multi-master multi-master") is one word: the words
        // around it stay adjacent.
        let surface = base.to_lowercase();
        if previous.as_ref() == Some(&surface) {
            stutters += 1;
            continue;
        }
        previous = Some(surface.clone());
        let at = i + ends - stutters;
        for term in analyse(base) {
            if term.chars().count() < 3 || vague.contains(term.as_str()) {
                continue;
            }
            out.push(Word {
                term,
                surface: surface.clone(),
                is_name: !starts
                    && base != "I"
                    && base.chars().next().is_some_and(char::is_uppercase),
                at,
            });
        }
    }
    out
}

/// The terms [`key_phrases`] asks `df` about for `text`, each once, in
/// order of first use (for a store that answers document frequencies in
/// one round trip).
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(text)
        .into_iter()
        .map(|w| w.term)
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// The key phrases of `text`, heaviest first (at most `limit`). `df(term)`
/// is the number of passages of `docs` that use the term.
pub fn key_phrases(text: &str, df: &dyn Fn(&str) -> u64, docs: u64, limit: usize) -> Vec<Phrase> {
    let docs = docs.max(1) as f32;
    let ws = words(text);
    let mut idf_cache: HashMap<String, Option<f32>> = HashMap::new();
    let mut idf = |t: &str| -> Option<f32> {
        *idf_cache.entry(t.to_string()).or_insert_with(|| {
            let d = df(t) as f32;
            // Too rare to relate anything, or too common to name an idea.
            if d < 2.0 || d > 0.1 * docs {
                return None;
            }
            Some(((docs - d + 0.5) / (d + 0.5) + 1.0).ln())
        })
    };
    let mut best: HashMap<Vec<String>, Phrase> = HashMap::new();
    for i in 0..ws.len() {
        for n in 1..=3 {
            if i + n > ws.len() || !adjacent(&ws[i..i + n]) {
                break;
            }
            let run = &ws[i..i + n];
            let weights: Option<Vec<f32>> = run.iter().map(|w| idf(&w.term)).collect();
            let Some(weights) = weights else {
                continue;
            };
            let names = run.iter().filter(|w| w.is_name).count() as f32;
            let weight = weights.iter().sum::<f32>() * (1.0 + 0.5 * names / n as f32);
            let terms: Vec<String> = run.iter().map(|w| w.term.clone()).collect();
            // The parts of one hyphenated word share its surface.
            let surface = run
                .iter()
                .enumerate()
                .filter(|(k, w)| *k == 0 || run[k - 1].at != w.at)
                .map(|(_, w)| w.surface.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let e = best.entry(terms.clone()).or_insert(Phrase {
                terms,
                surface,
                weight,
                named: false,
            });
            e.weight = e.weight.max(weight);
            e.named |= names > 0.0;
        }
    }
    let mut out: Vec<Phrase> = best.into_values().collect();
    out.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then(a.surface.cmp(&b.surface))
    });
    // A phrase inside a heavier one already chosen adds nothing.
    let mut kept: Vec<Phrase> = Vec::new();
    for p in out {
        if kept.len() >= limit {
            break;
        }
        if kept
            .iter()
            .any(|k| p.terms.iter().all(|t| k.terms.contains(t)))
        {
            continue;
        }
        kept.push(p);
    }
    kept
}

/// The phrases of `seed` that `text` also uses (all their terms, adjacent
/// in `text` for multi-word phrases), heaviest first.
pub fn shared<'a>(seed: &'a [Phrase], text: &str) -> Vec<&'a Phrase> {
    let ws = words(text);
    seed.iter()
        .filter(|p| {
            ws.windows(p.terms.len())
                .any(|win| adjacent(win) && win.iter().zip(&p.terms).all(|(w, t)| w.term == *t))
        })
        .collect()
}

/// Whether the words stand next to each other in the passage (no word,
/// not even a stop word, between them; parts of one hyphenated word count).
fn adjacent(run: &[Word]) -> bool {
    run.windows(2).all(|p| p[1].at - p[0].at <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df_of(common: &[&str], rare: &[&str]) -> impl Fn(&str) -> u64 {
        let common: HashSet<String> = common.iter().flat_map(|w| analyse(w)).collect();
        let rare: HashSet<String> = rare.iter().flat_map(|w| analyse(w)).collect();
        move |t: &str| {
            if common.contains(t) {
                500
            } else if rare.contains(t) {
                5
            } else {
                40
            }
        }
    }

    #[test]
    fn names_and_rare_runs_lead_vague_words_never_appear() {
        let text = "Let me say this: three years ago we learned that Conway's law is real, because the way your teams talk shapes the architecture of the system you ship.";
        let df = df_of(&["system", "team"], &["conway", "architecture"]);
        let ps = key_phrases(text, &df, 2000, 5);
        assert!(!ps.is_empty());
        assert_eq!(ps[0].surface, "conway law", "{ps:?}");
        for p in &ps {
            for vague in ["let", "three", "ago", "say", "way", "talk"] {
                assert!(!p.surface.split(' ').any(|w| w == vague), "{p:?}");
            }
        }
    }

    #[test]
    fn a_stutter_is_one_word() {
        let df = df_of(&[], &["dunning", "kruger", "effect"]);
        let ps = key_phrases(
            "The Dunning-Kruger Dunning-Kruger effect, again.",
            &df,
            2000,
            3,
        );
        assert_eq!(ps[0].surface, "dunning-kruger effect", "{ps:?}");
        assert_eq!(ps[0].terms.len(), 3, "{ps:?}");
    }

    #[test]
    fn an_idea_is_named_by_several_words_or_a_name() {
        let df = df_of(&[], &["heartbleed", "tragedy", "commons", "budget"]);
        let ps = key_phrases(
            "Then came Heartbleed. Tragedy commons. Budget.",
            &df,
            2000,
            6,
        );
        let named = |s: &str| {
            ps.iter()
                .find(|p| p.surface == s)
                .map(Phrase::names_an_idea)
        };
        assert_eq!(named("heartbleed"), Some(true), "{ps:?}");
        assert_eq!(named("tragedy commons"), Some(true), "{ps:?}");
        assert_eq!(named("budget"), Some(false), "{ps:?}");
        // A run never crosses a sentence's end.
        assert!(ps.iter().all(|p| p.surface != "commons budget"), "{ps:?}");
    }

    #[test]
    fn shared_phrases_need_the_words_together() {
        let df = df_of(&[], &["conway", "law"]);
        let seed = key_phrases("Conway's law again.", &df, 2000, 3);
        assert!(shared(&seed, "They cited Conway's law in the review.")
            .iter()
            .any(|p| p.surface == "conway law"));
        assert!(
            !shared(&seed, "Conway wrote about a law of something else.")
                .iter()
                .any(|p| p.surface == "conway law")
        );
    }
}
