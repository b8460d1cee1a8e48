//! Content fingerprints: the same episode in two files, found by what is
//! said rather than by file name.
//!
//! A [`Signature`] is a MinHash sketch ([`HASHES`] minimums) of the set of
//! [`SHINGLE_WORDS`]-word shingles of a transcript's normalised words
//! (split at anything not alphanumeric, lower-cased), read across cue
//! boundaries. So it does not care how the words are cut into cues (a VTT of
//! 5-second cues and a chat JSON of whole turns give the same shingles), nor
//! about punctuation, case, speaker labels or times; a word changed here and
//! there changes only the few shingles that cover it. The share of equal
//! minimums between two signatures estimates the Jaccard similarity of the
//! two shingle sets (Broder, "On the resemblance and containment of
//! documents", 1997), with a standard error of about
//! `sqrt(J·(1−J)/HASHES)`: 0.035 at J = 0.8.
//!
//! [`similar_groups`] finds the groups of files whose estimated Jaccard is
//! at least [`FOLD_JACCARD`]: candidate pairs from locality-
//! sensitive hashing (bands of [`BAND_ROWS`] minimums; a pair at J = 0.8
//! shares a band with probability above 0.9999), each checked on the whole
//! signature, then joined by union-find so that the groups do not depend on
//! the order of the files.
//!
//! The hashes are fixed functions of the words (FNV-1a and splitmix64 with
//! fixed seeds), so a signature stored in an index's file table stays
//! comparable with one computed later. Changing them (or [`HASHES`], or the
//! shingle length) means renaming the stored field, so that old signatures
//! are dropped and recomputed rather than compared with new ones.
//!
//! Files are compared whatever their show. The walk names a show after the
//! first folder below the folder given to `index`, so indexing one show's
//! folder whose formats sit in subfolders (`transcripts_chat/`,
//! `transcripts_vtt/`), or two files by name, gives the two formats of one
//! episode two "shows"; and two shows whose transcripts share 80% of their
//! 5-word shingles are carrying the same recording, which the fold of
//! identical words already merges across shows. See: issue 19.
//!
//! What it does not do: decide which file of a group to keep (the indexer's
//! richness order does).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::transcript::Transcript;

/// Minimums in a signature.
pub const HASHES: usize = 128;
/// Words per shingle.
pub const SHINGLE_WORDS: usize = 5;
/// A text with fewer distinct shingles than this gets an empty signature,
/// which never matches: a few words say too little about an episode (and
/// exact copies of short files are folded by their identical words anyway).
pub const MIN_SHINGLES: usize = 16;
/// Files whose estimated Jaccard similarity is at least this are one
/// episode.
pub const FOLD_JACCARD: f32 = 0.8;
/// Minimums per band for candidate pairs ([`HASHES`] / this bands).
pub const BAND_ROWS: usize = 4;

/// A MinHash signature: [`HASHES`] minimums, or none for a text too short to
/// compare. Stored as hex (8 digits per minimum).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature(Vec<u32>);

impl Signature {
    /// The signature of a transcript's spoken words.
    pub fn of_transcript(t: &Transcript) -> Signature {
        Signature::of_texts(t.cues.iter().map(|c| c.text.as_str()))
    }

    /// The signature of texts read one after the other (shingles run across
    /// the boundaries, so how a text is cut does not matter).
    ///
    /// ```
    /// use podsift::ingest::fingerprint::Signature;
    /// let text = "so the thing about building a compiler is that every pass you add \
    ///             makes the next one easier to write, until the day it does not and \
    ///             you find yourself debugging an optimiser at three in the morning";
    /// let whole = Signature::of_texts([text]);
    /// let (a, b) = text.split_at(text.find("until").unwrap());
    /// assert_eq!(whole, Signature::of_texts([a, b]));
    /// assert_eq!(whole.jaccard(&Signature::of_texts([text.to_uppercase().as_str()])), Some(1.0));
    /// ```
    pub fn of_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Signature {
        let mut window = [0u64; SHINGLE_WORDS];
        let mut seen = 0usize;
        let mut shingles: BTreeSet<u64> = BTreeSet::new();
        for text in texts {
            for w in text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                window.rotate_left(1);
                window[SHINGLE_WORDS - 1] = word_hash(w);
                seen += 1;
                if seen >= SHINGLE_WORDS {
                    shingles.insert(shingle_hash(&window));
                }
            }
        }
        if shingles.len() < MIN_SHINGLES {
            return Signature::default();
        }
        let seeds = seeds();
        let mut mins = vec![u32::MAX; HASHES];
        for s in shingles {
            for (m, seed) in mins.iter_mut().zip(&seeds) {
                let v = (splitmix64(s ^ seed) >> 32) as u32;
                if v < *m {
                    *m = v;
                }
            }
        }
        Signature(mins)
    }

    /// Whether the text was too short to sign (such a signature matches
    /// nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Minimums that agree with `other`'s, out of [`HASHES`]; `None` when
    /// either is empty (or of another length: a signature from elsewhere).
    fn agreeing(&self, other: &Signature) -> Option<usize> {
        if self.is_empty() || self.0.len() != other.0.len() {
            return None;
        }
        Some(self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count())
    }

    /// Estimated Jaccard similarity of the two shingle sets, 0..1; `None`
    /// when either signature is empty.
    pub fn jaccard(&self, other: &Signature) -> Option<f32> {
        self.agreeing(other).map(|n| n as f32 / self.0.len() as f32)
    }

    /// Whether the two are one episode: estimated Jaccard at least
    /// [`FOLD_JACCARD`] (compared in integers, so the verdict is exact).
    pub fn is_same_episode(&self, other: &Signature) -> bool {
        // n / len >= 4/5, as 5n >= 4 len.
        const _: () = assert!(FOLD_JACCARD == 0.8);
        self.agreeing(other)
            .is_some_and(|n| 5 * n >= 4 * self.0.len())
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(self.0.len() * 8);
        for m in &self.0 {
            hex.push_str(&format!("{m:08x}"));
        }
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let hex = String::deserialize(d)?;
        if hex.len() % 8 != 0 || !hex.is_ascii() {
            return Err(serde::de::Error::custom(
                "signature: not 8-digit hex groups",
            ));
        }
        let mins = (0..hex.len())
            .step_by(8)
            .map(|i| u32::from_str_radix(&hex[i..i + 8], 16))
            .collect::<Result<Vec<u32>, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Signature(mins))
    }
}

/// Groups of `items` that are one episode: estimated Jaccard at least
/// [`FOLD_JACCARD`], joined transitively (a ~ b and b ~ c make one group of
/// three even if a and c are further apart). Only groups of two or more are
/// returned, each as ascending indices, the groups ordered by their first
/// index; the grouping depends on the items, not on their order.
pub fn similar_groups(items: &[&Signature]) -> Vec<Vec<usize>> {
    // Candidate pairs: items that agree on a whole band.
    let mut buckets: HashMap<(usize, &[u32]), Vec<usize>> = HashMap::new();
    for (i, sig) in items.iter().enumerate() {
        if sig.is_empty() {
            continue;
        }
        for (band, rows) in sig.0.chunks(BAND_ROWS).enumerate() {
            buckets.entry((band, rows)).or_default().push(i);
        }
    }
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for members in buckets.values() {
        for (n, &a) in members.iter().enumerate() {
            for &b in &members[n + 1..] {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (a, b) in pairs {
        if items[a].is_same_episode(items[b]) {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            // The smaller index is the root: deterministic.
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            parent[hi] = lo;
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..items.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// FNV-1a (64-bit) of a word's lower-cased UTF-8.
fn word_hash(w: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 4];
    for c in w.chars().flat_map(char::to_lowercase) {
        for b in c.encode_utf8(&mut buf).bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// An order-sensitive hash of a shingle's word hashes.
fn shingle_hash(words: &[u64; SHINGLE_WORDS]) -> u64 {
    words
        .iter()
        .fold(0x9e37_79b9_7f4a_7c15, |h, w| splitmix64(h ^ w))
}

/// splitmix64's finaliser (Steele, Lea & Flood, "Fast splittable
/// pseudorandom number generators", 2014): a bijective mix of 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The [`HASHES`] fixed seeds, one per minimum.
fn seeds() -> [u64; HASHES] {
    let mut s = [0u64; HASHES];
    let mut x: u64 = 0x005e_ed0f_f01d;
    for v in s.iter_mut() {
        x = splitmix64(x);
        *v = x;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "speech" of `n` words from a small vocabulary
    /// (an LCG picks them), different for each `seed`.
    fn speech(seed: u64, n: usize) -> Vec<String> {
        const VOCAB: &[&str] = &[
            "the", "market", "price", "of", "rice", "went", "up", "because", "farmers", "sold",
            "less", "and", "we", "talked", "about", "why", "that", "happens", "in", "a", "dry",
            "year", "when", "rain", "comes", "late", "so", "prices", "rise", "policy", "makers",
            "often", "respond", "with", "export", "bans", "which", "means", "traders", "hold",
            "stock", "longer", "than", "they", "should", "i", "think", "story", "is", "older",
            "our", "guest", "wrote", "book", "on", "this", "it", "covers", "ten", "years",
            "growth", "slowed", "after", "reforms", "stalled", "state", "banks", "lent", "to",
            "firms", "could", "not", "pay", "back", "loans", "grew", "bad", "debt", "piled",
        ];
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                VOCAB[(x >> 33) as usize % VOCAB.len()].to_string()
            })
            .collect()
    }

    /// Words cut into cues of varying sizes, punctuated and capitalised
    /// differently, as another format would.
    fn cues(words: &[String], sizes: &[usize]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut k = 0;
        while i < words.len() {
            let n = sizes[k % sizes.len()].min(words.len() - i);
            let mut cue = words[i..i + n].join(" ");
            if k % 2 == 0 {
                cue = format!("— “{}!”", cue.to_uppercase());
            }
            out.push(cue);
            i += n;
            k += 1;
        }
        out
    }

    fn sig(texts: &[String]) -> Signature {
        Signature::of_texts(texts.iter().map(String::as_str))
    }

    #[test]
    fn segmentation_does_not_matter() {
        let words = speech(1, 2000);
        let short_cues = sig(&cues(&words, &[7, 3, 11]));
        let long_turns = sig(&cues(&words, &[150, 400]));
        assert_eq!(short_cues.jaccard(&long_turns), Some(1.0));
        assert!(short_cues.is_same_episode(&long_turns));
    }

    #[test]
    fn small_edits_stay_similar() {
        let words = speech(2, 3000);
        let mut edited = words.clone();
        // One word in a hundred changed, a few dropped, a few inserted.
        for i in (50..edited.len()).step_by(100) {
            edited[i] = "zebra".into();
        }
        edited.remove(777);
        edited.remove(1555);
        edited.insert(2222, "uh".into());
        let j = sig(&cues(&words, &[9]))
            .jaccard(&sig(&cues(&edited, &[40, 5])))
            .unwrap();
        assert!((0.8..0.98).contains(&j), "{j}");
        assert!(sig(&words).is_same_episode(&sig(&edited)));
    }

    #[test]
    fn different_speeches_do_not_match() {
        let a = sig(&speech(3, 2000));
        let b = sig(&speech(4, 2000));
        let j = a.jaccard(&b).unwrap();
        assert!(j < 0.05, "{j}");
        assert!(!a.is_same_episode(&b));
        // Half of one episode inside another: containment, not sameness.
        let whole = speech(5, 2000);
        let half = sig(&whole[..800]);
        assert!(!half.is_same_episode(&sig(&whole)));
    }

    #[test]
    fn short_texts_have_no_signature() {
        let s = Signature::of_texts(["Transcribed by a machine, thank you."]);
        assert!(s.is_empty());
        assert_eq!(s.jaccard(&s), None);
        assert!(!s.is_same_episode(&s));
        assert!(Signature::of_texts([""]).is_empty());
    }

    #[test]
    fn serialises_as_hex_and_back() {
        let s = sig(&speech(6, 300));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json.len(), HASHES * 8 + 2);
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), s);
        assert_eq!(
            serde_json::to_string(&Signature::default()).unwrap(),
            "\"\""
        );
        assert!(serde_json::from_str::<Signature>("\"xyz\"").is_err());
    }

    /// `words` with every `step`-th word from `offset` replaced by `with`.
    fn edit(words: &[String], offset: usize, step: usize, with: &str) -> Vec<String> {
        let mut out = words.to_vec();
        for i in (offset..out.len()).step_by(step) {
            out[i] = with.into();
        }
        out
    }

    #[test]
    fn groups_are_transitive_and_order_free() {
        let base = speech(7, 2000);
        let near = edit(&base, 30, 150, "zebra");
        let (a, b, c, d) = (
            sig(&base),
            sig(&near),
            sig(&speech(8, 2000)),
            sig(&speech(9, 2000)),
        );
        let empty = Signature::default();
        let items = [&c, &a, &d, &b, &c, &empty, &empty];
        assert_eq!(similar_groups(&items), vec![vec![0, 4], vec![1, 3]]);
        // A chain: each next one a few edits further; the ends are not
        // similar themselves, but the chain is one group, in any order.
        let w1 = edit(&base, 30, 80, "zebra");
        let w2 = edit(&w1, 57, 80, "yak");
        let w3 = edit(&w2, 3, 80, "gnu");
        let chain: Vec<Signature> = [&base, &w1, &w2, &w3].map(|w| sig(w)).into();
        for pair in chain.windows(2) {
            assert!(pair[0].is_same_episode(&pair[1]));
        }
        assert!(chain[0].jaccard(&chain[3]).unwrap() < 0.75);
        let items: Vec<&Signature> = chain.iter().collect();
        assert_eq!(similar_groups(&items), vec![vec![0, 1, 2, 3]]);
        let items: Vec<&Signature> = chain.iter().rev().collect();
        assert_eq!(similar_groups(&items), vec![vec![0, 1, 2, 3]]);
    }
}
