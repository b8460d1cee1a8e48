//! Detecting what is not content: sponsor reads and ads, show intros and
//! outros, housekeeping ("we'll be right back", "subscribe"), and
//! transcription junk. Such passages are kept out of `top` and `brief`, and
//! behind `--include-ads` in search.
//!
//! Two signals, both explainable:
//! - **Cues** in the text, each with a weight, combined as a noisy-or
//!   (`1 - Π(1 - w)`): "brought to you by", promo codes, vanity URLs
//!   (`vanta.com/lenny`), "rate and review", "thanks for listening", "we'll
//!   be right back", "transcribed by", ...
//! - **Similarity** of the passage's embedding to prototype non-content
//!   passages (written for podsift, in the style of real sponsor reads,
//!   intros and outros): catches reads that never say "sponsor".
//!
//! The score (0..=1000) is stored with each passage at index time; at or
//! above [`NONCONTENT_THRESHOLD`] a passage counts as not
//! content. A passage next to a clear ad that itself looks ad-like is pulled
//! over the line too ([`smooth`]): reads run over passage boundaries.
//! Precision and recall on hand-labelled passages are in BENCHMARKS.md.

use crate::embed::Embedder;
use crate::error::Result;
pub use crate::store::NONCONTENT_THRESHOLD;

/// Text cues and their weights (lower-case substrings).
const CUES: &[(&str, f32)] = &[
    // Sponsor reads and ads.
    ("brought to you by", 0.9),
    ("sponsored by", 0.85),
    ("our sponsor", 0.8),
    ("today's sponsor", 0.9),
    ("this episode is sponsored", 0.95),
    ("thanks to our sponsors", 0.9),
    ("support for this", 0.5),
    ("promo code", 0.9),
    ("discount code", 0.9),
    ("use code", 0.85),
    ("use the code", 0.85),
    ("coupon code", 0.9),
    ("free trial", 0.5),
    ("% off", 0.6),
    ("percent off", 0.6),
    ("special offer", 0.6),
    ("exclusive offer", 0.7),
    ("sign up today", 0.5),
    ("get started for free", 0.6),
    ("start your free", 0.6),
    ("for free at", 0.5),
    ("in credit", 0.4),
    ("trusted by", 0.35),
    ("thousands of companies", 0.4),
    ("companies like", 0.25),
    ("visit ", 0.15),
    ("head to ", 0.2),
    ("go to ", 0.1),
    ("that's ", 0.05),
    // Memberships and plugs.
    ("changelog++", 0.8),
    ("changelog plus plus", 0.8),
    ("become a member", 0.7),
    ("patreon", 0.6),
    ("support the show", 0.7),
    ("support this show", 0.7),
    ("rate and review", 0.85),
    ("leave a review", 0.8),
    ("leave us a review", 0.85),
    ("five-star review", 0.8),
    ("5-star review", 0.8),
    ("subscribe", 0.35),
    ("wherever you get your podcasts", 0.7),
    ("apple podcasts", 0.45),
    ("spotify", 0.25),
    ("show notes", 0.45),
    ("newsletter", 0.25),
    ("follow us on", 0.6),
    ("podcast network", 0.6),
    ("this show is part of", 0.7),
    // Intros and outros.
    ("welcome to", 0.25),
    ("welcome back to", 0.35),
    ("i'm your host", 0.6),
    ("i am your host", 0.6),
    ("i'm your co-host", 0.6),
    ("welcome back everyone", 0.4),
    ("welcome back, everyone", 0.4),
    ("we're back", 0.4),
    ("we are back", 0.35),
    ("let's say goodbye", 0.6),
    ("goodbye", 0.25),
    ("thanks for tuning in", 0.7),
    ("thank you for tuning in", 0.7),
    ("you're listening to", 0.6),
    ("my guest today", 0.3),
    ("today my guest is", 0.35),
    ("on today's episode", 0.35),
    ("in this episode", 0.2),
    ("thanks for listening", 0.8),
    ("thank you for listening", 0.8),
    ("thanks so much for listening", 0.85),
    ("that's all for", 0.6),
    ("see you next time", 0.6),
    ("until next time", 0.6),
    ("see you next week", 0.6),
    ("catch you next", 0.5),
    ("if you enjoyed this", 0.6),
    ("if you enjoy this", 0.55),
    ("if you like this", 0.4),
    // Housekeeping and breaks.
    ("we'll be right back", 0.85),
    ("be right back", 0.6),
    ("after the break", 0.6),
    ("after this break", 0.7),
    ("right after this", 0.6),
    ("stick around", 0.45),
    ("quick break", 0.6),
    ("short break", 0.5),
    // Transcription junk.
    ("transcribed by", 0.95),
    ("[music]", 0.8),
];

/// Prototype non-content passages, written for podsift in the style of real
/// sponsor reads, intros, outros and breaks (never copied from the corpus).
pub const PROTOTYPES: &[&str] = &[
    "This episode is brought to you by Northwind, the platform that helps engineering teams ship faster. Thousands of companies trust Northwind. Go to northwind.com/show to start your free trial today.",
    "Today's sponsor is Lumen. Lumen automates your compliance so you can close deals faster. Get a thousand dollars off when you sign up at lumen.com/podcast. That's lumen.com/podcast.",
    "Use promo code LISTEN for twenty percent off your first order, and free shipping on everything. Visit the website to claim the offer.",
    "Our sponsor makes it easy to build internal tools in minutes instead of weeks. Companies like these rely on it every day. Learn more and get started for free.",
    "If you enjoy the show, please subscribe, rate and review us on Apple Podcasts or Spotify. It really helps other people find the podcast.",
    "Thanks so much for listening. If you enjoyed this episode, share it with a friend. See you next week.",
    "That's all for this week. Links to everything we discussed are in the show notes. Until next time.",
    "Welcome to the podcast, the show where we talk to people building interesting things. I'm your host. Today my guest is a founder and author.",
    "You're listening to the show. This podcast is part of a podcast network. Find all our shows on our website.",
    "We'll be right back after this short break. Stick around.",
    "Support the show by becoming a member. Members get an ad-free feed, bonus episodes and our eternal gratitude.",
    "Sign up for our weekly newsletter to get the best of the show in your inbox. Follow us on Twitter and Instagram.",
    "Transcribed by an automated service. Music. Thank you.",
    "Before we get started, a quick word from our sponsor, who helps developers monitor their applications and fix errors before users notice.",
    "This podcast is supported by listeners like you. Visit our website to donate and keep the show independent.",
];

/// Prototype content passages, written for podsift: ordinary conversation,
/// explanation and stories. Similarity to non-content prototypes counts only
/// as a margin over similarity to these, so the signal does not depend on
/// how a model spreads its vectors (a small model puts everything close).
pub const CONTENT_PROTOTYPES: &[&str] = &[
    "The interesting thing about the migration was that the database was never the bottleneck. It was the locks we held while talking to the payment provider, so we moved that call out of the transaction.",
    "I grew up in a small town where nobody had heard of product management. My first job was in support, and answering tickets taught me more about the product than any spec ever did.",
    "Economists call it an unseen cost: the farmer who cannot sell his land does not show up in any statistic, but his children leave the village anyway, and the law that was meant to protect him traps him.",
    "When we trained the model on the smaller dataset, accuracy went up, which made no sense until we realised the labels in the big one were noisy. Cleaning a few thousand examples mattered more than the architecture.",
    "My advice to someone learning to code is to build something you actually want to use. Tutorials are fine, but you learn the most when you get stuck on your own project and have to read the documentation.",
    "I disagree with that a little. Hiring fast feels like progress, but every new person changes how the team communicates, and we doubled headcount before we had written down how decisions get made.",
    "The history here is fascinating: the first version of the protocol was designed for a network of a few hundred machines, and nobody imagined it would carry video to billions of phones.",
    "So what did you do when the funding fell through? Honestly, we cut the scope to the one feature people paid for, moved back in with my parents, and shipped it in six weeks.",
];

/// The non-content detector: cue weights plus prototype similarity.
pub struct Detector {
    prototypes: Vec<Vec<f32>>,
    content: Vec<Vec<f32>>,
    /// Where similarity starts to count for this model.
    lo: f32,
}

/// The parts of a score, for explanation and tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parts {
    /// Noisy-or of the matched cues, 0..1.
    pub cues: f32,
    /// Best cosine to a non-content prototype minus best cosine to a
    /// content prototype.
    pub similarity: f32,
    /// Best cosine to a non-content prototype.
    pub ad_similarity: f32,
    /// Combined, 0..1.
    pub score: f32,
}

/// Cosine to the nearest non-content prototype at which the signal starts to
/// count, and the span over which it grows to full. The start is raised for
/// a model that puts even the content prototypes this close (see
/// [`Detector::from_vectors`]).
const SIM_LO: f32 = 0.40;
const SIM_SPAN: f32 = 0.30;

impl Detector {
    /// Embed the prototypes with `embedder`.
    pub fn new(embedder: &Embedder) -> Result<Detector> {
        Ok(Detector::from_vectors(
            embedder.embed_passages(PROTOTYPES)?,
            embedder.embed_passages(CONTENT_PROTOTYPES)?,
        ))
    }

    /// A detector from prototype vectors already computed. The similarity
    /// floor is calibrated to the model: no lower than `SIM_LO`, and above
    /// what the content prototypes themselves score (a small or untrained
    /// model puts every vector close to every other, and must not flag
    /// everything).
    pub fn from_vectors(prototypes: Vec<Vec<f32>>, content: Vec<Vec<f32>>) -> Detector {
        let content_floor = content
            .iter()
            .map(|c| {
                prototypes
                    .iter()
                    .map(|p| crate::rank::dense::dot(p, c))
                    .fold(-1f32, f32::max)
            })
            .fold(-1f32, f32::max);
        Detector {
            lo: SIM_LO.max(content_floor + 0.05),
            prototypes,
            content,
        }
    }

    /// Score a passage given its text and its (unit) vector.
    pub fn parts(&self, text: &str, vector: &[f32]) -> Parts {
        let cues = cue_score(text);
        let best = |protos: &[Vec<f32>]| {
            protos
                .iter()
                .map(|p| crate::rank::dense::dot(p, vector))
                .fold(-1f32, f32::max)
        };
        let ad = best(&self.prototypes);
        let similarity = ad - best(&self.content);
        let sim = ((ad - self.lo) / SIM_SPAN).clamp(0.0, 1.0);
        let score = 1.0 - (1.0 - cues) * (1.0 - 0.8 * sim);
        Parts {
            cues,
            similarity,
            ad_similarity: ad,
            score,
        }
    }

    /// The stored score, 0..=1000.
    pub fn score(&self, text: &str, vector: &[f32]) -> u64 {
        (self.parts(text, vector).score * 1000.0).round() as u64
    }
}

/// Noisy-or of the cues found in `text`, 0..1. Vanity URLs (`x.com/show`)
/// count as a cue of their own.
pub fn cue_score(text: &str) -> f32 {
    let lower = text.to_lowercase();
    let mut keep = 1.0f32;
    for (cue, w) in CUES {
        if lower.contains(cue) {
            keep *= 1.0 - w;
        }
    }
    if has_vanity_url(&lower) {
        keep *= 1.0 - 0.6;
    }
    1.0 - keep
}

/// `name.com/path`-style URLs (`vanta.com/lenny`, `get.dev/podcast`).
fn has_vanity_url(lower: &str) -> bool {
    const TLDS: &[&str] = &[
        ".com/", ".io/", ".ai/", ".co/", ".fm/", ".app/", ".dev/", ".org/",
    ];
    TLDS.iter().any(|tld| {
        lower.match_indices(tld).any(|(i, _)| {
            let before = lower[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric());
            let after = lower[i + tld.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric());
            before && after
        })
    })
}

/// Words per shingle for repetition detection.
const SHINGLE: usize = 8;
/// Keep one shingle hash in this many (a fixed sample, the same in every
/// passage), to bound memory.
const SAMPLE: u64 = 4;

fn shingles(text: &str) -> Vec<u64> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < SHINGLE {
        return Vec::new();
    }
    let mut out = Vec::new();
    for w in words.windows(SHINGLE) {
        let mut h = blake3::Hasher::new();
        for x in w {
            h.update(x.as_bytes());
            h.update(b" ");
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.finalize().as_bytes()[..8]);
        let v = u64::from_le_bytes(b);
        if v % SAMPLE == 0 {
            out.push(v);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// How much of each passage is said word for word in other episodes of the
/// same show: the share of its (sampled) 8-word shingles that occur in at
/// least `min_other` other episodes. Sponsor reads, intros, outros and
/// network plugs repeat from episode to episode; conversation does not.
/// `passages` are `(episode key, text)`, all of one show. Memory is about
/// 20 bytes per sampled shingle (one in four).
pub fn repetition(passages: &[(u64, &str)], min_other: usize) -> Vec<f32> {
    let mut counts = Repetition::default();
    let sh: Vec<Vec<u64>> = passages.iter().map(|(e, t)| counts.add(*e, t)).collect();
    passages
        .iter()
        .zip(&sh)
        .map(|((e, _), s)| counts.share(*e, s, min_other))
        .collect()
}

/// Episode slots kept per shingle: enough to tell "in `min_other` other
/// episodes" for `min_other` up to `SLOTS - 1`.
const SLOTS: usize = 3;

/// [`repetition`] in two passes, for callers that cannot hold a show's
/// passages at once: [`Repetition::add`] every passage (keeping only the
/// few sampled shingles it returns), then [`Repetition::share`] each.
#[derive(Debug, Default)]
pub struct Repetition {
    /// Episode key -> ordinal from 1, in the order first seen.
    ordinal: std::collections::HashMap<u64, u32>,
    /// Shingle -> up to SLOTS distinct episode ordinals (0 = empty slot).
    seen: std::collections::HashMap<u64, [u32; SLOTS]>,
}

impl Repetition {
    /// Count a passage of episode `ep`; returns its sampled shingles.
    pub fn add(&mut self, ep: u64, text: &str) -> Vec<u64> {
        let n = self.ordinal.len() as u32 + 1;
        let ep = *self.ordinal.entry(ep).or_insert(n);
        let sh = shingles(text);
        for h in &sh {
            let slots = self.seen.entry(*h).or_insert([0; SLOTS]);
            if !slots.contains(&ep) {
                if let Some(free) = slots.iter_mut().find(|x| **x == 0) {
                    *free = ep;
                }
            }
        }
        sh
    }

    /// The share of `shingles` (a passage of episode `ep`, from
    /// [`Repetition::add`]) that occur in at least `min_other` other
    /// episodes, once every passage has been added.
    pub fn share(&self, ep: u64, shingles: &[u64], min_other: usize) -> f32 {
        let min_other = min_other.min(SLOTS - 1);
        if shingles.is_empty() {
            return 0.0;
        }
        let ep = self.ordinal.get(&ep).copied().unwrap_or(0);
        let repeated = shingles
            .iter()
            .filter(|h| {
                self.seen.get(h).is_some_and(|slots| {
                    slots.iter().filter(|x| **x != 0 && **x != ep).count() >= min_other
                })
            })
            .count();
        repeated as f32 / shingles.len() as f32
    }
}

/// One episode's final scores from its passages' base scores and
/// repetition shares, in order: [`with_repetition`], then [`smooth`].
pub fn finalize(base: &[u64], repetition: &[f32], threshold: u64) -> Vec<u64> {
    let mut scores: Vec<u64> = base
        .iter()
        .zip(repetition)
        .map(|(b, r)| with_repetition(*b, *r))
        .collect();
    smooth(&mut scores, threshold);
    scores
}

/// Combine a stored base score (cues and similarity, 0..=1000) with the
/// repetition share.
pub fn with_repetition(base: u64, repetition: f32) -> u64 {
    let b = base as f32 / 1000.0;
    let r = (repetition * 1.4).min(1.0) * 0.9;
    ((1.0 - (1.0 - b) * (1.0 - r)) * 1000.0).round() as u64
}

/// Pull a passage over the threshold when it looks ad-like (score at least
/// `threshold / 2`) and a neighbour is a clear ad (score at least 1.5 x
/// `threshold`): sponsor reads run over passage boundaries. `scores` are one
/// episode's, in order.
pub fn smooth(scores: &mut [u64], threshold: u64) {
    let orig = scores.to_vec();
    for i in 0..scores.len() {
        let clear_neighbour = (i > 0 && orig[i - 1] >= threshold * 3 / 2)
            || (i + 1 < orig.len() && orig[i + 1] >= threshold * 3 / 2);
        if clear_neighbour && orig[i] >= threshold / 2 && orig[i] < threshold {
            scores[i] = threshold;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues() {
        assert!(
            cue_score("This episode is brought to you by Vanta. Go to vanta.com/lenny.") > 0.95
        );
        assert!(cue_score("We rewrote the scheduler in Rust and latency fell by half.") < 0.05);
        assert!(cue_score("Our company's sponsor program funds maintainers") < 0.5);
        assert!(has_vanity_url("go to vanta.com/lenny today"));
        assert!(!has_vanity_url("I like .com/ domains"));
    }

    #[test]
    fn repeated_reads_are_found() {
        let read = "this episode is supported by a company that makes the best widgets for teams of every size and shape";
        // Conversation: different words in every episode.
        let talk = |i: usize| {
            (0..30)
                .map(|k| format!("w{}", (i * 7919 + k * 104_729) % 10_007))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let passages: Vec<(u64, String)> = (0..4u64)
            .flat_map(|e| [(e, read.to_string()), (e, talk(e as usize))])
            .collect();
        let input: Vec<(u64, &str)> = passages.iter().map(|(e, t)| (*e, t.as_str())).collect();
        let r = repetition(&input, 2);
        for (i, v) in r.iter().enumerate() {
            if i % 2 == 0 {
                assert!(*v > 0.99, "read {i}: {v}");
            } else {
                assert!(*v < 0.01, "talk {i}: {v}");
            }
        }
        assert_eq!(finalize(&[100, 100], &[1.0, 0.0], 500), vec![910, 100]);
        // The indexer adds a show's passages in index order, not by episode:
        // the shares must not depend on the order they were added in.
        let mut counts = Repetition::default();
        let order: Vec<usize> = (0..input.len()).rev().collect();
        let mut sh = vec![Vec::new(); input.len()];
        for &i in &order {
            sh[i] = counts.add(input[i].0, input[i].1);
        }
        let two_pass: Vec<f32> = input
            .iter()
            .zip(&sh)
            .map(|((e, _), s)| counts.share(*e, s, 2))
            .collect();
        assert_eq!(two_pass, r);
        // A read in only two episodes is not repeated for min_other = 2.
        let pair: Vec<(u64, &str)> = vec![(0, read), (1, read)];
        assert_eq!(repetition(&pair, 2), vec![0.0, 0.0]);
        assert!(repetition(&pair, 1).iter().all(|v| *v > 0.99));
    }

    #[test]
    fn smoothing_pulls_neighbours_of_clear_ads() {
        let mut s = vec![100, 300, 900, 260, 200];
        smooth(&mut s, 500);
        assert_eq!(s, vec![100, 500, 900, 500, 200]);
    }
}
