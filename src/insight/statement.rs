//! The insight as a statement: the one to three consecutive sentences of a
//! passage that carry its claim, cleaned of the disfluencies of speech, and
//! who said them.
//!
//! 1. **Clean** each sentence ([`clean`]): fillers (`um`, `uh`, `you know,`,
//!    `I mean,`, a parenthetical `like,`), hedges (`kind of`/`sort of`
//!    before a verb of thinking or feeling), tag questions (`, right?`),
//!    stutters (`I-I`, `w-we`), words and phrases said twice in a row (`the
//!    the`, `I think I think`), leading discourse markers (`And`, `So`,
//!    `Yeah,`, `Okay,`, `Well,`); then a capital first letter and a final
//!    full stop where the sentence had none.
//! 2. **Score** each cleaned sentence by what it asserts: enough content
//!    words, numbers, names, causal markers (`because`, `which means`, `the
//!    reason`, ...), and nothing for questions, thanks and bare reactions.
//! 3. **Pick** the best window of one to three consecutive non-question
//!    sentences, preferring 15 to 60 words in all: a weak sentence lowers a
//!    window's score, so a window grows only by sentences that add a claim.
//!
//! Conservative by design: only words from fixed lists are removed, and
//! only where they cannot carry meaning (`you know the answer`, `I mean it`,
//! `I like, um, tea`, `so many`, `a kind of map`, `had had`, `that that`
//! all stay); names, numbers and negations are never removed, and words are
//! never reordered or replaced. A passage with no sentence worth a statement
//! gives its first sentence, cleaned. No I/O, no model: pure text functions.
//!
//! The attribution is the passage's speaker (the speaker of most of its
//! words, see [`crate::chunk`]), left out when the transcript names none or
//! only a placeholder (`Unknown`, `Speaker 2`).

use crate::chunk::sentence_spans;

/// Words in a statement, at most, before a run-on sentence is cut.
pub const MAX_WORDS: usize = 60;
/// Words in a statement the window prefers at least.
pub const MIN_WORDS: usize = 15;

/// A passage's claim in its speaker's words, cleaned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    /// One to three sentences, cleaned of disfluencies.
    pub text: String,
    /// Who said it, when the transcript names a real speaker.
    pub speaker: Option<String>,
}

impl Statement {
    /// The statement of a passage `text` spoken by `speaker`.
    ///
    /// ```
    /// use podsift::insight::statement::Statement;
    /// let s = Statement::of(
    ///     "Thanks for having me. So, um, the the reason we moved to Go in 2019 is that, \
    ///      you know, our p99 latency fell from 800 to 90 milliseconds. Right?",
    ///     Some("Ada Lovelace"),
    /// );
    /// assert_eq!(
    ///     s.attributed(),
    ///     "The reason we moved to Go in 2019 is that our p99 latency fell from 800 to 90 milliseconds. — Ada Lovelace"
    /// );
    /// ```
    pub fn of(text: &str, speaker: Option<&str>) -> Statement {
        Statement {
            text: pick(text),
            speaker: speaker
                .filter(|s| is_named(s))
                .map(|s| s.trim().to_string()),
        }
    }

    /// The statement followed by ` — Speaker` when the speaker is known.
    pub fn attributed(&self) -> String {
        match &self.speaker {
            Some(s) => format!("{} — {s}", self.text),
            None => self.text.clone(),
        }
    }

    /// Whether there is nothing to say (an empty passage).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Whether a speaker label names someone (not a diarisation placeholder).
fn is_named(speaker: &str) -> bool {
    let s = speaker.trim().to_lowercase();
    let placeholder = matches!(s.as_str(), "" | "unknown" | "speaker" | "unk" | "narrator")
        || ["speaker", "spk", "speaker_"]
            .iter()
            .any(|p| s.strip_prefix(p).is_some_and(is_number_label));
    !placeholder
}

/// ` 2`, `_00`, `2`: what follows `speaker` in a diarisation label.
fn is_number_label(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '_', '-']);
    (1..=3).contains(&r.len())
        && r.chars().all(|c| c.is_ascii_alphanumeric())
        && (r.len() == 1 || r.chars().any(|c| c.is_ascii_digit()))
}

/// The best window of one to three cleaned sentences of `text` (see the
/// module doc), or its first sentence when none asserts anything.
pub fn pick(text: &str) -> String {
    let sentences: Vec<String> = sentence_spans(text)
        .into_iter()
        .map(|r| clean(&text[r]))
        .collect();
    let sentences: Vec<String> = if sentences.is_empty() {
        vec![clean(text)]
    } else {
        sentences
    };
    let scored: Vec<(f32, usize, bool)> = sentences
        .iter()
        .map(|s| (score(s), words(s), s.ends_with('?')))
        .collect();
    let mut best: Option<(f32, usize, usize)> = None;
    for start in 0..sentences.len() {
        let mut total = 0.0;
        let mut n_words = 0;
        for end in start..(start + 3).min(sentences.len()) {
            let (s, w, question) = scored[end];
            if question || w == 0 {
                break;
            }
            total += s - 0.35;
            n_words += w;
            if end > start && n_words > MAX_WORDS {
                break;
            }
            // The anchor must assert something on its own.
            if scored[start].0 < 0.35 {
                break;
            }
            let fit = if n_words < MIN_WORDS {
                (MIN_WORDS - n_words) as f32 / MIN_WORDS as f32
            } else if n_words > MAX_WORDS {
                (n_words - MAX_WORDS) as f32 / MAX_WORDS as f32
            } else {
                0.0
            };
            let value = total - 0.8 * fit;
            if best.is_none_or(|(b, ..)| value > b + 1e-6) {
                best = Some((value, start, end));
            }
        }
    }
    let chosen = match best {
        Some((_, a, b)) => sentences[a..=b].join(" "),
        None => sentences
            .iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_default(),
    };
    cut_run_on(&chosen)
}

/// A statement of more than [`MAX_WORDS`] words (one run-on sentence, as
/// transcription without punctuation gives) cut at the last clause break
/// (`,` `;` `:` `—`) that keeps at least [`MIN_WORDS`], else at a word, with
/// ` …`.
fn cut_run_on(s: &str) -> String {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    if tokens.len() <= MAX_WORDS {
        return s.to_string();
    }
    let head = &tokens[..MAX_WORDS];
    let at = (MIN_WORDS..MAX_WORDS)
        .rev()
        .find(|&i| head[i - 1].ends_with([',', ';', ':', '—']))
        .unwrap_or(MAX_WORDS);
    let mut out = head[..at].join(" ");
    while out.ends_with([',', ';', ':', '—', ' ']) {
        out.pop();
    }
    out.push_str(" …");
    out
}

/// Words that say little on their own.
const STOP: &str =
    "a an the and or but so of to in on at for with by from as is are was were be been being \
    am it its it's this that these those there here i you he she we they me him her us them \
    my your our their his do does did have has had just really very like know mean think \
    yeah yes okay oh right well what which who if then than also too all some any about up \
    out into can could would should will get got going gonna thing things lot kind sort \
    actually basically i'm you're that's there's we're they're don't say said one";

/// Phrases that make a sentence a claim with a reason or a consequence.
const CAUSAL: &[&str] = &[
    "because",
    "which means",
    "that means",
    "means that",
    "the reason",
    "therefore",
    "that's why",
    "that is why",
    "leads to",
    "led to",
    "as a result",
    "so that",
    "in order to",
    "the key",
    "the point is",
    "the problem is",
    "the lesson",
    "turns out",
    "if you",
    "unless",
    "instead of",
];

/// Sentences that are social, not claims.
const SOCIAL: &[&str] = &[
    "thank",
    "welcome to",
    "great question",
    "good question",
    "great to have",
    "nice to",
    "good to see",
    "subscribe",
    "let's get started",
    "let's dive in",
];

/// How much a cleaned sentence asserts, about 0..2.
fn score(s: &str) -> f32 {
    if s.ends_with('?') {
        return 0.0;
    }
    let lower = s.to_lowercase();
    if SOCIAL.iter().any(|p| lower.contains(p)) {
        return 0.0;
    }
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let cores: Vec<String> = tokens.iter().map(|t| core(t).to_lowercase()).collect();
    let content = cores
        .iter()
        .filter(|w| !w.is_empty() && !listed(STOP, w.as_str()))
        .count();
    if content < 3 {
        return 0.1 * content as f32;
    }
    let numbers = tokens
        .iter()
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .count()
        + cores.iter().filter(|w| listed(NUMBER_WORDS, w)).count();
    let names = tokens
        .iter()
        .skip(1)
        .filter(|t| {
            let c = core(t);
            c.chars().next().is_some_and(char::is_uppercase) && c != "I" && !c.starts_with("I'")
        })
        .count();
    let causal = CAUSAL.iter().any(|p| contains_phrase(&lower, p));
    (content as f32 / 8.0).min(1.0)
        + (numbers as f32 * 0.25).min(0.5)
        + (names as f32 * 0.15).min(0.3)
        + if causal { 0.3 } else { 0.0 }
}

/// Number words that make a claim specific.
const NUMBER_WORDS: &str =
    "two three four five six seven eight nine ten twenty thirty fifty hundred thousand \
    million billion trillion percent half third double twice";

/// `phrase` in `lower` at word boundaries.
fn contains_phrase(lower: &str, phrase: &str) -> bool {
    lower.match_indices(phrase).any(|(i, _)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whether `w` is one of the space-separated words of `list`.
fn listed(list: &str, w: &str) -> bool {
    list.split_ascii_whitespace().any(|x| x == w)
}

fn words(s: &str) -> usize {
    s.split_whitespace().filter(|t| !core(t).is_empty()).count()
}

/// A token without the punctuation around it.
fn core(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_alphanumeric())
}

/// Single-word fillers, dropped wherever they stand alone.
const FILLERS: &str = "um umm uh uhh erm er ah hmm mm mhm";

/// Interjections dropped at the start of a sentence when a comma follows.
const LEADING_WITH_COMMA: &str =
    "yeah yes okay ok right well look oh so and now see basically anyway";

/// Words after which a leading `So`/`And` can go without changing meaning
/// (`So the reason`, but not `So many`).
const STARTERS: &str =
    "the a an i we you they he she it it's that that's this there there's what when if in my \
    our your his her their these those now then one i'm we're you're they're i've we've \
    people everyone nobody most every once after before for at because yeah um uh so and";

/// Verbs after which `kind of`/`sort of` is a hedge (`I kind of think`).
const HEDGED: &str =
    "think thought feel felt want wanted like liked know knew guess agree agreed believe hope \
    wonder suspect expect assumed realised realized started fell stumbled ended";

/// Words that can be said twice in a row on purpose.
const DOUBLES: &str =
    "had that is do does did very really no yes bye ha knock far more many so again not never \
    long over round out on tsk tut blah go";

/// Doubled words that are words (`so-so`, `bye-bye`), not stutters.
const HYPHEN_WORDS: &str =
    "so-so bye-bye hush-hush no-no yo-yo tut-tut pooh-pooh goody-goody pom-pom tom-tom \
    aye-aye chop-chop knock-knock boo-boo dum-dum win-win talky-talky night-night ha-ha \
    hee-hee mm-hmm uh-huh uh-oh";

/// Short function words a one-letter stutter runs into (`w-we`, `b-but`).
const STUTTER_INTO: &str =
    "we but in the they it i and so that this what was is if you my he she to of for can do \
    did a an not";

/// One sentence cleaned of disfluencies (see the module doc).
///
/// ```
/// use podsift::insight::statement::clean;
/// assert_eq!(clean("and, um, w-we grew the the team, you know, to 40 people"), "We grew the team to 40 people.");
/// assert_eq!(clean("I mean it, you know the answer"), "I mean it, you know the answer.");
/// ```
pub fn clean(sentence: &str) -> String {
    let mut t: Vec<String> = sentence.split_whitespace().map(str::to_string).collect();
    // Stutters inside a token: "I-I", "the-the", "w-we".
    for tok in t.iter_mut() {
        if let Some(fixed) = unstutter(tok) {
            *tok = fixed;
        }
    }
    strip_leading(&mut t);
    // Find the filler spans on the words as spoken (so that one filler's
    // commas still set off the next: "the word, like, you know, the
    // level"), then drop them left to right.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let n = filler_at(&t, i);
        if n > 0 {
            spans.push((i, n));
            i += n;
        } else {
            i += 1;
        }
    }
    let mut removed = 0;
    for (at, n) in spans {
        drop_span(&mut t, at - removed, n);
        removed += n;
    }
    dedupe(&mut t);
    strip_leading(&mut t);
    finish(t)
}

/// How many tokens from `i` are a filler (0: none): `um`; `you know`,
/// `you know what I mean` or `I mean` set off by commas; a parenthetical
/// `like,`; `kind of`/`sort of` before a verb of thinking; a closing
/// `, right?`.
fn filler_at(t: &[String], i: usize) -> usize {
    let lc = core(&t[i]).to_lowercase();
    let next_lc = t.get(i + 1).map(|n| core(n).to_lowercase());
    let prev_comma = i == 0 || t[i - 1].ends_with(',');
    if listed(FILLERS, lc.as_str()) && !t[i].contains('-') {
        return 1;
    }
    if (lc == "you" && next_lc.as_deref() == Some("know"))
        || (lc == "i" && next_lc.as_deref() == Some("mean"))
    {
        let tail = ["what", "i", "mean"];
        let long = lc == "you"
            && t.len() >= i + 5
            && (0..3).all(|k| core(&t[i + 2 + k]).eq_ignore_ascii_case(tail[k]));
        let n = if long { 5 } else { 2 };
        let last = &t[i + n - 1];
        // Set off on both sides: "You know, ...", ", you know, ...",
        // ", you know." ("If you know, you know" has no comma before).
        let idiom = i >= 2
            && core(&t[i - 2]).eq_ignore_ascii_case("you")
            && core(&t[i - 1]).eq_ignore_ascii_case("know");
        if prev_comma && !idiom && (last.ends_with(',') || i + n == t.len()) {
            return n;
        }
    }
    if lc == "like" && t[i].ends_with(',') && prev_comma {
        return 1;
    }
    if (lc == "kind" || lc == "sort")
        && next_lc.as_deref() == Some("of")
        && !t[i].ends_with(',')
        && t.get(i + 2)
            .is_some_and(|v| listed(HEDGED, core(v).to_lowercase().as_str()))
        && i > 0
        && !matches!(
            core(&t[i - 1]).to_lowercase().as_str(),
            "a" | "the" | "this" | "that" | "what" | "some" | "any" | "one" | "which"
        )
    {
        return 2;
    }
    if lc == "right" && i + 1 == t.len() && i > 0 && t[i - 1].ends_with(',') && t[i].ends_with('?')
    {
        return 1;
    }
    0
}

/// Drop `n` tokens at `i` that were set off by commas, keeping the
/// sentence's punctuation: `X, um, Y` is `X Y`; `X, you know.` is `X.`.
fn drop_span(t: &mut Vec<String>, i: usize, n: usize) {
    let last = t[i + n - 1].clone();
    let end_punct: String = last
        .chars()
        .rev()
        .take_while(|c| matches!(c, '.' | '?' | '!' | '…'))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    t.drain(i..i + n);
    if i > 0 {
        let prev = &mut t[i - 1];
        if !end_punct.is_empty() {
            while prev.ends_with([',', ';', ':']) {
                prev.pop();
            }
            // A tag question closing a statement closes it as a statement.
            prev.push_str(if end_punct.contains('?') {
                "."
            } else {
                &end_punct
            });
        } else if last.ends_with(',') && prev.ends_with(',') {
            // ", like," → the comma before goes too.
            prev.pop();
        }
    }
}

fn ends_sentence(tok: &str) -> bool {
    tok.ends_with(['.', '?', '!', '…'])
}

/// Put a full stop on the last token, replacing a comma.
fn close_with_stop(t: &mut [String]) {
    if let Some(last) = t.last_mut() {
        while last.ends_with([',', ';', ':']) {
            last.pop();
        }
        if !ends_sentence(last) {
            last.push('.');
        }
    }
}

/// `I-I` → `I`, `the-the` → `the`, `w-we` → `we`; `so-so` stays.
fn unstutter(tok: &str) -> Option<String> {
    let lead: String = tok.chars().take_while(|c| !c.is_alphanumeric()).collect();
    let body = &tok[lead.len()..];
    let word_end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map_or(body.len(), |(i, _)| i);
    let (word, trail) = body.split_at(word_end);
    let lower = word.to_lowercase();
    if listed(HYPHEN_WORDS, lower.as_str()) {
        return None;
    }
    let parts: Vec<&str> = word.split('-').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let last = parts[parts.len() - 1];
    let all_same = parts.iter().all(|p| p.eq_ignore_ascii_case(last));
    let one_letter = parts.len() == 2
        && parts[0].chars().count() == 1
        && parts[0].chars().all(char::is_alphabetic)
        && listed(STUTTER_INTO, last.to_lowercase().as_str())
        && last.to_lowercase().starts_with(&parts[0].to_lowercase());
    if !(all_same || one_letter) || last.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // Keep the first part's case ("W-we" → "We").
    let mut kept = last.to_string();
    if parts[0].chars().next().is_some_and(char::is_uppercase) {
        kept = capitalise(&kept);
    }
    Some(format!("{lead}{kept}{trail}"))
}

/// Words and phrases of up to four words said twice in a row, the first
/// copy dropped: `the the` → `the`, `I think, I think` → `I think`; numbers
/// and [`DOUBLES`] (`had had`, `that that`) stay.
fn dedupe(t: &mut Vec<String>) {
    for n in (1..=4).rev() {
        let mut i = 0;
        while i + 2 * n <= t.len() {
            let a: Vec<String> = t[i..i + n].iter().map(|w| core(w).to_lowercase()).collect();
            let b: Vec<String> = t[i + n..i + 2 * n]
                .iter()
                .map(|w| core(w).to_lowercase())
                .collect();
            let inner_stop = t[i..i + n - 1].iter().any(|w| ends_sentence(w));
            let protected = a.iter().any(|w| w.is_empty() || w.chars().any(|c| c.is_ascii_digit()))
                || (n == 1 && listed(DOUBLES, a[0].as_str()))
                // "If you know, you know."
                || a == ["you", "know"];
            if a == b && !inner_stop && !protected && !ends_sentence(&t[i + n - 1]) {
                // Keep the first copy's capital if it started the sentence.
                let cap = i == 0 && t[0].chars().next().is_some_and(char::is_uppercase);
                t.drain(i..i + n);
                if cap {
                    t[0] = capitalise(&t[0]);
                }
                continue;
            }
            i += 1;
        }
    }
}

/// Leading fillers, `And`/`So` and interjections with a comma (`Yeah,`,
/// `Okay,`, `Well,`) go, repeatedly, while what follows can start a
/// sentence.
fn strip_leading(t: &mut Vec<String>) {
    while t.len() > 2 {
        let lc = core(&t[0]).to_lowercase();
        let next = core(&t[1]).to_lowercase();
        let comma = t[0].ends_with(',');
        let marker = (listed(FILLERS, lc.as_str()) && !t[0].contains('-'))
            || (comma && listed(LEADING_WITH_COMMA, lc.as_str()))
            || ((lc == "and" || lc == "so") && !comma && listed(STARTERS, next.as_str()));
        if !marker || t[0] != t[0].trim_start_matches(|c: char| !c.is_alphanumeric()) {
            break;
        }
        t.remove(0);
    }
}

/// Join, capitalise the first letter, end with a full stop if there is no
/// final punctuation.
fn finish(mut t: Vec<String>) -> String {
    // Commas left dangling at the start ("Um, so" → ", so").
    while t.first().is_some_and(|w| core(w).is_empty()) {
        t.remove(0);
    }
    if t.is_empty() {
        return String::new();
    }
    close_with_stop(&mut t);
    let mut s = t.join(" ");
    if let Some(c) = s.chars().next() {
        if c.is_lowercase() {
            s = capitalise(&s);
        }
    }
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fillers_go_and_meaning_stays() {
        for (raw, want) in [
            (
                "Um, so the the thing is, uh, latency matters.",
                "The thing is latency matters.",
            ),
            (
                "It was, like, 20 percent cheaper.",
                "It was 20 percent cheaper.",
            ),
            ("I like, um, green tea.", "I like green tea."),
            (
                "The word, like, you know, the level.",
                "The word the level.",
            ),
            ("I, um, kind of think so.", "I think so."),
            ("If you know, you know.", "If you know, you know."),
            (
                "You know, we never shipped it, you know.",
                "We never shipped it.",
            ),
            (
                "I mean, the deal was not signed.",
                "The deal was not signed.",
            ),
            ("I mean it when I say it.", "I mean it when I say it."),
            ("Do you know the answer?", "Do you know the answer?"),
            ("That's the whole story, right?", "That's the whole story."),
            ("Is that right?", "Is that right?"),
            (
                "I-I think w-we lost Berlin in 1945",
                "I think we lost Berlin in 1945.",
            ),
            (
                "The outcome was so-so at best",
                "The outcome was so-so at best.",
            ),
            ("We ran a t-test on it.", "We ran a t-test on it."),
            ("I kind of think it failed.", "I think it failed."),
            (
                "It is a kind of map of the city.",
                "It is a kind of map of the city.",
            ),
            (
                "He had had enough of that that week.",
                "He had had enough of that that week.",
            ),
            ("I think I think the price fell.", "I think the price fell."),
            ("And so the reason is cost.", "The reason is cost."),
            (
                "So many people left in 2020.",
                "So many people left in 2020.",
            ),
            (
                "Yeah, okay, the 10 10 split was fine.",
                "The 10 10 split was fine.",
            ),
            (
                "No, no, no, that never happened.",
                "No, no, no, that never happened.",
            ),
        ] {
            assert_eq!(clean(raw), want, "from {raw:?}");
        }
    }

    #[test]
    fn names_numbers_and_negations_survive() {
        let raw =
            "So, um, Maria Gonzalez didn't, you know, raise 40 million from Sequoia, uh, in 2021";
        let got = clean(raw);
        for must in ["Maria Gonzalez", "didn't", "40 million", "Sequoia", "2021"] {
            assert!(got.contains(must), "{must} lost in {got:?}");
        }
        assert_eq!(
            got,
            "Maria Gonzalez didn't raise 40 million from Sequoia in 2021."
        );
    }

    #[test]
    fn picks_the_claim_not_the_chatter() {
        let passage = "Yeah, yeah. That's a great question, thanks for asking. \
            What would you say was the turning point? \
            So, um, the turning point was when we cut the price to 5 dollars, because \
            the volume tripled within 3 months. That paid for the whole factory. \
            Anyway, yeah, it was fun.";
        let s = Statement::of(passage, Some("Guest"));
        assert_eq!(
            s.text,
            "The turning point was when we cut the price to 5 dollars, because the volume \
             tripled within 3 months. That paid for the whole factory."
        );
        assert_eq!(s.attributed(), format!("{} — Guest", s.text));
    }

    #[test]
    fn questions_are_never_the_statement_when_a_claim_exists() {
        let passage = "Why did the Roman grain market collapse in the third century? \
            The Roman grain market collapsed because the currency lost 90 percent of its silver.";
        assert_eq!(
            pick(passage),
            "The Roman grain market collapsed because the currency lost 90 percent of its silver."
        );
    }

    #[test]
    fn windows_stay_within_three_sentences_and_about_sixty_words() {
        let claim = "Solar panels in Kenya cost 70 percent less than in 2010 because Chinese \
            factories scaled up.";
        let passage = format!("{claim} {claim} {claim} {claim} {claim}");
        let s = pick(&passage);
        let n = s.split_whitespace().count();
        assert!((MIN_WORDS..=MAX_WORDS).contains(&n), "{n}: {s}");
        // A run-on with no sentence ends is cut at a clause break.
        let run_on = "the committee met in Geneva, ".repeat(20);
        let s = pick(&run_on);
        assert!(s.ends_with(" …") && words(&s) <= MAX_WORDS, "{s}");
    }

    #[test]
    fn nothing_to_assert_gives_the_first_sentence() {
        assert_eq!(pick("Okay. Yeah. Right?"), "Okay.");
        assert_eq!(pick(""), "");
        assert_eq!(
            pick("no punctuation at all here"),
            "No punctuation at all here."
        );
    }

    #[test]
    fn placeholder_speakers_are_not_attributed() {
        for s in ["Unknown", "SPEAKER_01", "Speaker 2", " ", "spk3"] {
            assert_eq!(
                Statement::of("We grew the team.", Some(s)).speaker,
                None,
                "{s}"
            );
        }
        assert_eq!(
            Statement::of("We grew.", Some("Ada Lovelace"))
                .speaker
                .as_deref(),
            Some("Ada Lovelace")
        );
    }
}
