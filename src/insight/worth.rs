//! Insight-worthiness: how likely a passage is a self-contained statement
//! of an idea worth quoting (a claim, an explanation, advice, a fact with
//! names and numbers) rather than an intro, an outro, a question, banter,
//! an anecdote without a point, or a fragment that needs its neighbours.
//!
//! A logistic model over two kinds of evidence:
//! - **the passage's words** ([`Features`]): length, questions, numbers and
//!   names, filler, first-person narration, explanatory markers ("because",
//!   "which means"), general claims ("you should", "always"), intro and
//!   outro phrases;
//! - **its meaning**: a linear probe on the passage vector (what kinds of
//!   passages were labelled insights, in the embedding space);
//! - **who speaks**: with a guest in the episode, the show's host
//!   ([`super::hosts`]) asks, introduces and hands over; the guest explains.
//!
//! The weights are fitted on the tune half of `tests/eval/insights.jsonl`
//! (`scripts/fit-insight`, which writes `worth_model.json`, together with
//! the relevance curve of `relevance.rs`); the held-out
//! half scores it (`podsift eval --insights ... --split heldout`).
//!
//! Intros ("welcome back to the show, I'm chatting with ...") are never
//! insights, whatever the model says: [`is_intro_or_outro`].

use std::sync::OnceLock;

use serde::Deserialize;

use crate::chunk::sentence_spans;

/// Number of word features.
pub const FEATURES: usize = 16;

/// The word features of a passage, each about 0..1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features(pub [f32; FEATURES]);

/// Names of [`Features`], in order (for the fitting script and explanations).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "length",
    "questions",
    "numbers",
    "names",
    "filler",
    "first_person",
    "second_person",
    "explains",
    "generalises",
    "narrates",
    "intro_outro",
    "laughter",
    "short_sentences",
    "hedges",
    "opens_mid_thought",
    "ends_open",
];

const FILLER: &[&str] = &[
    "you know", "i mean", "kind of", "sort of", "um", "uh", "yeah", "okay", "like,", "right?",
];
const EXPLAINS: &[&str] = &[
    "because",
    "the reason",
    "which means",
    "that means",
    "that's why",
    "this is why",
    "so that",
    "therefore",
    "in other words",
    "turns out",
    "the key",
    "the problem is",
    "the way to",
    "what happens",
    "the idea is",
    "the point is",
    "the thing is",
    "the difference",
    "instead of",
    "rather than",
    "if you",
];
const GENERALISES: &[&str] = &[
    "always",
    "never",
    "every ",
    "most ",
    "you should",
    "you have to",
    "you need to",
    "the best",
    "the most",
    "important",
    "in general",
    "people ",
    "companies",
    "it's not",
    "is that",
];
const NARRATES: &[&str] = &[
    "i was",
    "we were",
    "i remember",
    "when i",
    "back then",
    "at the time",
    "i went",
    "i had",
    "we had",
    "my dad",
    "my mom",
    "i grew up",
    "years ago",
    "i used to",
];
const HEDGES: &[&str] = &[
    "i don't know",
    "i guess",
    "maybe",
    "i think",
    "probably",
    "not sure",
    "whatever",
];
const INTRO_OUTRO: &[&str] = &[
    "welcome to",
    "welcome back",
    "i'm chatting with",
    "i'm talking with",
    "i'm speaking with",
    "i'm joined by",
    "my guest",
    "our guest",
    "thanks for having me",
    "thank you for having me",
    "thanks for coming on",
    "thank you for coming on",
    "thanks for joining",
    "thank you so much for joining",
    "great to have you",
    "good to have you",
    "on today's episode",
    "in this episode",
    "on this episode",
    "this episode is brought",
    "brought to you by",
    "sponsored by",
    "subscribe",
    "leave us a review",
    "rate and review",
    "show notes",
    "thanks for listening",
    "thank you for listening",
    "see you next time",
    "until next time",
    "where can people find",
    "where can listeners",
    "before we get started",
    "let's get into it",
    "let's dive in",
    // The interview's own frame: steering to its end.
    "running out of time",
    "final question",
    "one last question",
    "my last question",
    "before i let you go",
    "before we wrap",
    "let's wrap up",
    "lightning round",
];

/// Whether the passage opens or closes a show: a greeting of the listener
/// or the guest, a sponsor line, a sign-off. Such passages are never
/// insights.
pub fn is_intro_or_outro(text: &str) -> bool {
    let lower = text.to_lowercase();
    let hits = INTRO_OUTRO.iter().filter(|p| lower.contains(*p)).count();
    // One phrase in a long passage can be a quote or an aside; two, or one
    // in the first sentence, is the show's frame.
    let first = sentence_spans(text)
        .first()
        .map(|r| text[r.clone()].to_lowercase())
        .unwrap_or_default();
    hits >= 2 || INTRO_OUTRO.iter().any(|p| first.contains(p))
}

fn count_any(lower: &str, phrases: &[&str]) -> f32 {
    phrases
        .iter()
        .map(|p| lower.matches(p).count() as f32)
        .sum()
}

/// The word features of `text`.
pub fn features(text: &str) -> Features {
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = (words.len() as f32).max(1.0);
    let lower = format!(" {} ", text.to_lowercase());
    let spans = sentence_spans(text);
    let sentences = (spans.len() as f32).max(1.0);
    let questions = text.matches('?').count() as f32;
    let numbers = words
        .iter()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .count() as f32
        + count_any(
            &lower,
            &[
                " percent",
                " million",
                " billion",
                " thousand",
                " hundred",
                " dollars",
            ],
        );
    let mut names = 0f32;
    for pair in words.windows(2) {
        let prev_ends = pair[0].ends_with(['.', '?', '!', ':']);
        let w = pair[1].trim_matches(|c: char| !c.is_alphanumeric());
        if !prev_ends && w.len() > 1 && w != "I" && w.chars().next().is_some_and(char::is_uppercase)
        {
            names += 1.0;
        }
    }
    let first_person = words
        .iter()
        .filter(|w| {
            let w = w
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase();
            matches!(
                w.as_str(),
                "i" | "i'm" | "me" | "my" | "i've" | "i'd" | "i'll"
            )
        })
        .count() as f32;
    let second_person = words
        .iter()
        .filter(|w| {
            let w = w
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase();
            matches!(w.as_str(), "you" | "your" | "you're" | "you've")
        })
        .count() as f32;
    let short = spans
        .iter()
        .filter(|r| text[(*r).clone()].split_whitespace().count() <= 4)
        .count() as f32;
    let first_word = words
        .first()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .unwrap_or_default();
    let opens_mid = matches!(
        first_word.as_str(),
        "and" | "but" | "so" | "or" | "because" | "which" | "that" | "then" | "yeah" | "right"
    ) || text.chars().next().is_some_and(char::is_lowercase);
    let ends_open = !text.trim_end().ends_with(['.', '!', '?', '"', '”']);
    let laughter = count_any(&lower, &["[laugh", "(laugh", "haha", " lol", "laughter"]);
    Features([
        ((n.ln() - 3.0) / 2.5).clamp(0.0, 1.0),
        (questions / sentences).min(1.0),
        (numbers / n * 20.0).min(1.0),
        (names / n * 10.0).min(1.0),
        (count_any(&lower, FILLER) / n * 10.0).min(1.0),
        (first_person / n * 10.0).min(1.0),
        (second_person / n * 10.0).min(1.0),
        (count_any(&lower, EXPLAINS) / sentences).min(1.0),
        (count_any(&lower, GENERALISES) / sentences).min(1.0),
        (count_any(&lower, NARRATES) / sentences).min(1.0),
        f32::from(u8::from(is_intro_or_outro(text))),
        laughter.min(1.0),
        (short / sentences).min(1.0),
        (count_any(&lower, HEDGES) / sentences).min(1.0),
        f32::from(u8::from(opens_mid)),
        f32::from(u8::from(ends_open)),
    ])
}

/// The fitted model: a bias, weights for [`Features`], a weight each for
/// the stored non-content score, salience and a host speaking, and a probe
/// on the passage vector (empty: no probe).
#[derive(Debug, Clone, Deserialize)]
pub struct Model {
    /// Intercept.
    pub bias: f32,
    /// Per word feature, in [`FEATURE_NAMES`] order.
    pub features: Vec<f32>,
    /// The stored non-content score (0..1).
    pub noncontent: f32,
    /// Cosine to the episode's centroid, rescaled (0..1).
    pub salience: f32,
    /// A host speaks ([`super::hosts`]).
    #[serde(default)]
    pub host: f32,
    /// Probe on the (unit) passage vector.
    #[serde(default)]
    pub probe: Vec<f32>,
    /// The relevance curve, fitted with the same labels.
    pub relevance: super::relevance::Calibration,
}

/// The model compiled into the binary (`worth_model.json`).
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        serde_json::from_str(include_str!("worth_model.json"))
            .expect("worth_model.json is valid (checked by a unit test)")
    })
}

/// What [`worth`] needs of a passage.
#[derive(Debug, Clone, Copy)]
pub struct Passage<'a> {
    /// Its text.
    pub text: &'a str,
    /// Its unit vector.
    pub vector: &'a [f32],
    /// Stored non-content score, 0..1.
    pub noncontent: f32,
    /// Salience, 0..1.
    pub salience: f32,
    /// Whether the show's host speaks it, in an episode with a guest
    /// ([`super::hosts`]).
    pub host: bool,
}

impl Model {
    /// The model's log-odds for `p` with features `f`.
    pub fn logit(&self, p: &Passage, f: &Features) -> f32 {
        let mut z = self.bias
            + self.noncontent * p.noncontent
            + self.salience * p.salience
            + self.host * f32::from(u8::from(p.host));
        for (w, x) in self.features.iter().zip(f.0) {
            z += w * x;
        }
        if self.probe.len() == p.vector.len() {
            z += self
                .probe
                .iter()
                .zip(p.vector)
                .map(|(a, b)| a * b)
                .sum::<f32>();
        }
        z
    }
}

/// Probability that `p` is an insight, 0..1; an intro or outro is 0.
pub fn worth(p: &Passage) -> f32 {
    if is_intro_or_outro(p.text) {
        return 0.0;
    }
    let f = features(p.text);
    let z = model().logit(p, &f);
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Passage<'_> {
        Passage {
            text,
            vector: &[],
            noncontent: 0.0,
            salience: 0.5,
            host: false,
        }
    }

    #[test]
    fn the_compiled_model_loads_and_fits_the_features() {
        let m = model();
        assert_eq!(m.features.len(), FEATURES);
        assert!(m.probe.is_empty() || m.probe.len() == 384);
    }

    #[test]
    fn intros_are_never_insights() {
        let intro = "Welcome back to the show. I'm chatting with a founder who built three companies, and we talk about hiring.";
        assert!(is_intro_or_outro(intro));
        assert_eq!(worth(&p(intro)), 0.0);
        let claim = "Pricing is a positioning decision before it is a revenue decision: when we tripled the price of the enterprise plan, win rates went up because buyers read the price as a signal of seriousness.";
        assert!(!is_intro_or_outro(claim));
    }

    #[test]
    fn steering_the_interview_to_its_end_is_the_frame() {
        let frame = "Fair enough, I know we are running out of time. One final question before I end, and it has two parts.";
        assert!(is_intro_or_outro(frame));
        assert_eq!(worth(&p(frame)), 0.0);
        // Said once, late in a claim, it is an aside, not the frame.
        let claim = "Tariffs raised the price of every input the factories bought, so exports fell for three years running. The final question for any such policy is who pays, and here it was the exporters.";
        assert!(!is_intro_or_outro(claim));
    }

    #[test]
    fn claims_outscore_banter_and_questions() {
        let claim = "Pricing is a positioning decision before it is a revenue decision: when we tripled the price of the enterprise plan in 2019, win rates went up from 20 percent to 31 percent, because buyers read the price as a signal of how serious the vendor is. That's why you should test the top of the range first.";
        let banter = "Yeah, yeah, totally. Ha. I mean, you know, it's kind of funny, right? Yeah. Okay. So, um, yeah.";
        let question =
            "So what was that like for you? How did you think about it back then? Was it hard?";
        let (c, b, q) = (worth(&p(claim)), worth(&p(banter)), worth(&p(question)));
        assert!(c > b && c > q, "claim {c}, banter {b}, question {q}");
    }
}
