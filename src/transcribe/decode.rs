//! The decoding loop: a batch of encoded windows → tokens with timestamps,
//! with the guards of OpenAI's `whisper/decoding.py` and `transcribe.py`:
//!
//! - **Suppressed tokens**: the model's `suppress_tokens`, the task and
//!   special tokens, and at the first step a blank and end-of-text
//!   (`begin_suppress_tokens`).
//! - **Timestamp rules**: the first token is a timestamp no later than
//!   1 s; timestamps come in pairs (a text token may not follow a pair's
//!   opening, nor a timestamp its closing pair); they never decrease and
//!   each segment has a non-zero length; when the timestamp tokens together
//!   are likelier than any text token, a timestamp is taken. Added here: no
//!   timestamp past the window's real audio (a short last window cannot
//!   claim time that is padding).
//! - **Temperature fallback**: greedy first; a window whose text compresses
//!   too well (zlib ratio > 2.4: a loop) or whose average log-probability
//!   is under −1 is decoded again at 0.2, 0.4, … 1.0 by sampling; the best
//!   try wins (the last, if none passes).
//! - **No speech**: a window whose `<|nocaptions|>` probability at the start
//!   is over 0.6 and whose text is unlikely (average log-probability under
//!   −1) is silence, and gives no text.
//!
//! Windows are decoded side by side as one batch, which amortises the
//! per-step cost (the output projection reads 51,864 × d weights per step
//! whatever the batch). A window that finished early is fed end-of-text and
//! its outputs ignored. Sampling uses a fixed-seed generator, so a run is
//! repeatable.

use std::io::Write;

use candle_core::{Tensor, D};
use tokenizers::Tokenizer;

use super::model::{self, DecoderState, Whisper};

/// Seconds per timestamp token.
pub const TIME_PRECISION: f64 = 0.02;

/// Settings of the decoding loop (OpenAI's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Temperatures tried in order.
    pub temperatures: Vec<f32>,
    /// Above this zlib compression ratio the text is taken for a loop.
    pub compression_ratio_threshold: f64,
    /// Below this average log-probability the text is unreliable.
    pub logprob_threshold: f64,
    /// Above this `<|nocaptions|>` probability a window may be silence.
    pub no_speech_threshold: f64,
    /// Latest first timestamp, in seconds.
    pub max_initial_timestamp_s: f64,
    /// Most tokens per window.
    pub sample_len: usize,
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            compression_ratio_threshold: 2.4,
            logprob_threshold: -1.0,
            no_speech_threshold: 0.6,
            max_initial_timestamp_s: 1.0,
            sample_len: 224,
        }
    }
}

/// The special token ids of a tokenizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Specials {
    /// `<|endoftext|>`.
    pub eot: u32,
    /// `<|nocaptions|>` (or `<|nospeech|>`).
    pub no_speech: u32,
    /// The first timestamp token, `<|0.00|>`.
    pub ts_begin: u32,
    /// The prompt every window starts with.
    pub prompt: Vec<u32>,
    /// Tokens never sampled.
    pub suppress: Vec<u32>,
    /// Tokens never sampled first.
    pub begin_suppress: Vec<u32>,
}

impl Specials {
    /// Find the special tokens; English-only models start with
    /// `<|startoftranscript|>` alone, multilingual ones add `<|en|>
    /// <|transcribe|>`.
    pub fn from_tokenizer(tok: &Tokenizer, cfg: &model::Config) -> Result<Specials, String> {
        let id = |s: &str| {
            tok.token_to_id(s)
                .ok_or_else(|| format!("the tokenizer has no {s}"))
        };
        let sot = id("<|startoftranscript|>")?;
        let eot = id("<|endoftext|>")?;
        let no_ts = id("<|notimestamps|>")?;
        let no_speech = id("<|nocaptions|>").or_else(|_| id("<|nospeech|>"))?;
        let multilingual = cfg.vocab_size >= 51865;
        let mut prompt = vec![sot];
        if multilingual {
            prompt.push(id("<|en|>")?);
            prompt.push(id("<|transcribe|>")?);
        }
        let mut suppress = cfg.suppress_tokens.clone();
        for s in [
            "<|translate|>",
            "<|transcribe|>",
            "<|startoflm|>",
            "<|startofprev|>",
            "<|startoftranscript|>",
            "<|nocaptions|>",
            "<|nospeech|>",
        ] {
            if let Some(t) = tok.token_to_id(s) {
                suppress.push(t);
            }
        }
        suppress.push(no_ts);
        suppress.retain(|&t| (t as usize) < cfg.vocab_size);
        let mut begin_suppress = cfg.begin_suppress_tokens.clone();
        if begin_suppress.is_empty() {
            begin_suppress = vec![220, eot];
        }
        begin_suppress.retain(|&t| (t as usize) < cfg.vocab_size);
        Ok(Specials {
            eot,
            no_speech,
            ts_begin: no_ts + 1,
            prompt,
            suppress,
            begin_suppress,
        })
    }
}

/// One window's decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The tokens after the prompt, end-of-text excluded.
    pub tokens: Vec<u32>,
    /// Mean log-probability per token.
    pub avg_logprob: f64,
    /// Probability of `<|nocaptions|>` at the start.
    pub no_speech_prob: f64,
    /// zlib compression ratio of the text.
    pub compression_ratio: f64,
    /// The temperature that produced it.
    pub temperature: f32,
    /// Whether the window was taken for silence (no text kept).
    pub is_silence: bool,
}

/// Decode a batch of encoded windows `(b, 1500, d)`; `window_s[i]` is the
/// real audio length of window `i`.
pub fn decode_batch(
    model: &Whisper,
    tok: &Tokenizer,
    sp: &Specials,
    audio: &Tensor,
    window_s: &[f64],
    opts: &DecodeOptions,
) -> candle_core::Result<Vec<Decoded>> {
    let full = model.start(audio)?;
    let n = window_s.len();
    let mut best: Vec<Option<Decoded>> = vec![None; n];
    let mut todo: Vec<usize> = (0..n).collect();
    for (ti, &temp) in opts.temperatures.iter().enumerate() {
        if todo.is_empty() {
            break;
        }
        let mut st = if todo.len() == n {
            model.fresh(&full)
        } else {
            let rows: Vec<u32> = todo.iter().map(|&i| i as u32).collect();
            model.select(&full, &rows)?
        };
        let lens: Vec<f64> = todo.iter().map(|&i| window_s[i]).collect();
        let seeds: Vec<u64> = todo
            .iter()
            .map(|&i| 0x9E37_79B9_7F4A_7C15 ^ (((i as u64) << 8) | ti as u64))
            .collect();
        let raw = run(model, &mut st, sp, &lens, temp, &seeds, opts)?;
        let mut next = Vec::new();
        for (r, &i) in raw.into_iter().zip(&todo) {
            let text = text_of(tok, sp, &r.tokens);
            let cr = compression_ratio(&text);
            let avg = r.sum_logprob / (r.tokens.len() + 1) as f64;
            let d = Decoded {
                tokens: r.tokens,
                avg_logprob: avg,
                no_speech_prob: r.no_speech_prob,
                compression_ratio: cr,
                temperature: temp,
                is_silence: false,
            };
            let mut fallback =
                cr > opts.compression_ratio_threshold || avg < opts.logprob_threshold;
            if d.no_speech_prob > opts.no_speech_threshold {
                fallback = false;
            }
            let better = match &best[i] {
                None => true,
                Some(b) => {
                    let ok = |x: &Decoded| x.compression_ratio <= opts.compression_ratio_threshold;
                    (ok(&d), d.avg_logprob) > (ok(b), b.avg_logprob)
                }
            };
            if better || !fallback {
                best[i] = Some(d);
            }
            if fallback {
                next.push(i);
            }
        }
        todo = next;
    }
    Ok(best
        .into_iter()
        .map(|d| {
            let mut d = d.unwrap_or(Decoded {
                tokens: Vec::new(),
                avg_logprob: 0.0,
                no_speech_prob: 1.0,
                compression_ratio: 0.0,
                temperature: 0.0,
                is_silence: true,
            });
            if d.no_speech_prob > opts.no_speech_threshold && d.avg_logprob < opts.logprob_threshold
            {
                d.is_silence = true;
            }
            // A loop that survived every temperature is dropped, not indexed.
            if d.compression_ratio > opts.compression_ratio_threshold {
                d.is_silence = true;
            }
            d
        })
        .collect())
}

struct Raw {
    tokens: Vec<u32>,
    sum_logprob: f64,
    no_speech_prob: f64,
}

/// One try over a batch at one temperature.
fn run(
    model: &Whisper,
    st: &mut DecoderState,
    sp: &Specials,
    window_s: &[f64],
    temperature: f32,
    seeds: &[u64],
    opts: &DecodeOptions,
) -> candle_core::Result<Vec<Raw>> {
    let n = window_s.len();
    let dev = model.device().clone();
    let p = sp.prompt.len();
    let prompt: Vec<u32> = (0..n).flat_map(|_| sp.prompt.iter().copied()).collect();
    let hidden = model.step(st, &Tensor::from_vec(prompt, (n, p), &dev)?)?;
    // No-speech probability at <|startoftranscript|> (position 0).
    let at_sot = model.logits(&model::position(&hidden, 0)?)?;
    let no_speech: Vec<f64> = candle_nn::ops::softmax(&at_sot, D::Minus1)?
        .narrow(1, sp.no_speech as usize, 1)?
        .squeeze(1)?
        .to_vec1::<f32>()?
        .into_iter()
        .map(f64::from)
        .collect();
    let mut logits = if p == 1 {
        at_sot
    } else {
        model.logits(&model::position(&hidden, model::last(&hidden)?)?)?
    };
    let mut out: Vec<Raw> = no_speech
        .into_iter()
        .map(|ns| Raw {
            tokens: Vec::new(),
            sum_logprob: 0.0,
            no_speech_prob: ns,
        })
        .collect();
    let mut done = vec![false; n];
    let mut rngs: Vec<u64> = seeds.iter().map(|&s| s | 1).collect();
    let max_len = opts
        .sample_len
        .min(model.config().max_target_positions.saturating_sub(p + 1));
    for _ in 0..max_len {
        let rows = logits.to_vec2::<f32>()?;
        let mut next = Vec::with_capacity(n);
        for (i, mut row) in rows.into_iter().enumerate() {
            if done[i] {
                next.push(sp.eot);
                continue;
            }
            let max_ts = (window_s[i] / TIME_PRECISION).ceil() as usize;
            filter(&mut row, &out[i].tokens, sp, max_ts, opts);
            let lp = log_softmax(&row);
            let t = if temperature <= 0.0 {
                argmax(&row)
            } else {
                sample(&row, temperature, &mut rngs[i])
            };
            out[i].sum_logprob += f64::from(lp[t as usize]);
            if t == sp.eot {
                done[i] = true;
            } else {
                out[i].tokens.push(t);
            }
            next.push(t);
        }
        if done.iter().all(|&d| d) {
            break;
        }
        let h = model.step(st, &Tensor::from_vec(next, (n, 1), &dev)?)?;
        logits = model.logits(&h.squeeze(1)?)?;
    }
    Ok(out)
}

/// The rules on one row of logits, given the tokens generated so far.
fn filter(
    logits: &mut [f32],
    generated: &[u32],
    sp: &Specials,
    max_ts: usize,
    opts: &DecodeOptions,
) {
    let ninf = f32::NEG_INFINITY;
    let v = logits.len();
    let tsb = (sp.ts_begin as usize).min(v);
    let eot = sp.eot as usize;
    if generated.is_empty() {
        for &t in &sp.begin_suppress {
            logits[t as usize] = ninf;
        }
    }
    for &t in &sp.suppress {
        logits[t as usize] = ninf;
    }
    let is_ts = |t: u32| t >= sp.ts_begin;
    let last_ts = generated.last().is_some_and(|&t| is_ts(t));
    let penult_ts = generated.len() < 2 || is_ts(generated[generated.len() - 2]);
    if last_ts {
        if penult_ts {
            logits[tsb..].fill(ninf);
        } else {
            logits[..eot.min(v)].fill(ninf);
        }
    }
    if let Some(&last) = generated.iter().rev().find(|&&t| is_ts(t)) {
        let bound = if last_ts && !penult_ts {
            last
        } else {
            last + 1
        };
        logits[tsb..(bound as usize).min(v)].fill(ninf);
    }
    if generated.is_empty() {
        logits[..tsb].fill(ninf);
        let max_initial = (opts.max_initial_timestamp_s / TIME_PRECISION).round() as usize;
        logits[(tsb + max_initial + 1).min(v)..].fill(ninf);
    }
    // No timestamp past the window's audio.
    logits[(tsb + max_ts + 1).min(v)..].fill(ninf);
    // A timestamp when they are together likelier than any text token.
    let lp = log_softmax(logits);
    let ts_mass = log_sum_exp(&lp[tsb..]);
    let text_max = lp[..tsb].iter().copied().fold(ninf, f32::max);
    if ts_mass > text_max {
        logits[..tsb].fill(ninf);
    }
    // Everything suppressed (cannot happen with sane rules): end the text.
    if logits.iter().all(|&x| x == ninf) {
        logits[eot] = 0.0;
    }
}

fn log_sum_exp(xs: &[f32]) -> f32 {
    let m = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|&x| (x - m).exp()).sum::<f32>().ln()
}

fn log_softmax(xs: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(xs);
    xs.iter().map(|&x| x - lse).collect()
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best as u32
}

/// xorshift64*: a small, seeded, repeatable generator.
fn next_f64(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

fn sample(logits: &[f32], temperature: f32, rng: &mut u64) -> u32 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w: Vec<f64> = logits
        .iter()
        .map(|&x| f64::from((x - m) / temperature).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut r = next_f64(rng) * total;
    for (i, &x) in w.iter().enumerate() {
        if r < x {
            return i as u32;
        }
        r -= x;
    }
    argmax(logits)
}

/// The text of a window's tokens (timestamps and specials left out).
pub fn text_of(tok: &Tokenizer, sp: &Specials, tokens: &[u32]) -> String {
    let text: Vec<u32> = tokens.iter().copied().filter(|&t| t < sp.eot).collect();
    tok.decode(&text, true).unwrap_or_default()
}

/// `len(text) / len(zlib(text))`, as Whisper measures repetitiveness.
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = z.write_all(text.as_bytes());
    let packed = z.finish().map(|v| v.len()).unwrap_or(1).max(1);
    text.len() as f64 / packed as f64
}

/// A piece of a window: start and end in seconds from the window's start,
/// and its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Text tokens.
    pub tokens: Vec<u32>,
}

/// Cut a window's tokens into timed pieces at timestamp pairs (OpenAI's
/// `transcribe.py`); text after the last timestamp runs to `window_s`.
pub fn pieces(tokens: &[u32], sp: &Specials, window_s: f64) -> Vec<Piece> {
    let is_ts = |t: u32| t >= sp.ts_begin;
    let time = |t: u32| f64::from(t - sp.ts_begin) * TIME_PRECISION;
    let mut out = Vec::new();
    let mut start: Option<f64> = None;
    let mut text = Vec::new();
    let mut last_time = 0.0;
    for &t in tokens {
        if is_ts(t) {
            let at = time(t);
            match start {
                None => start = Some(at),
                Some(s) => {
                    if !text.is_empty() {
                        out.push(Piece {
                            start_s: s,
                            end_s: at.max(s),
                            tokens: std::mem::take(&mut text),
                        });
                    }
                    start = None;
                }
            }
            last_time = at;
        } else {
            if start.is_none() {
                start = Some(last_time);
            }
            text.push(t);
        }
    }
    if !text.is_empty() {
        let s = start.unwrap_or(last_time);
        out.push(Piece {
            start_s: s,
            end_s: window_s.max(s),
            tokens: text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> Specials {
        Specials {
            eot: 10,
            no_speech: 11,
            ts_begin: 20,
            prompt: vec![12],
            suppress: vec![13],
            begin_suppress: vec![1, 10],
        }
    }

    #[test]
    fn first_token_is_an_early_timestamp() {
        let mut l = vec![0f32; 200];
        l[5] = 10.0;
        filter(&mut l, &[], &sp(), 1500, &DecodeOptions::default());
        let t = argmax(&l);
        assert!((20..=70).contains(&t), "{t}");
        assert!(l[71..].iter().all(|x| x.is_infinite()));
    }

    #[test]
    fn timestamps_pair_and_never_decrease() {
        let o = DecodeOptions::default();
        // After <|t30|> text: the closing timestamp must be later (a
        // segment has a non-zero length).
        let mut l = vec![0f32; 200];
        filter(&mut l, &[50, 5], &sp(), 1500, &o);
        assert!(l[20..51].iter().all(|x| x.is_infinite()));
        assert!(l[51].is_finite());
        // After a closing pair <|t50|><|t60|>... a lone <|t60|> after text
        // must be followed by a timestamp (>= 60) or end-of-text, no text.
        let mut l = vec![0f32; 200];
        filter(&mut l, &[50, 5, 60], &sp(), 1500, &o);
        assert!(l[..10].iter().all(|x| x.is_infinite()));
        assert!(l[60].is_finite() && l[59].is_infinite());
        // Two timestamps in a row: text next.
        let mut l = vec![0f32; 200];
        filter(&mut l, &[50, 5, 60, 60], &sp(), 1500, &o);
        assert!(l[20..].iter().all(|x| x.is_infinite()));
        // Never past the window's audio.
        let mut l = vec![0f32; 200];
        filter(&mut l, &[20, 5], &sp(), 100, &o);
        assert!(l[121..].iter().all(|x| x.is_infinite()));
    }

    #[test]
    fn pieces_from_timestamp_pairs() {
        let s = sp();
        let p = pieces(&[20, 1, 2, 70, 70, 3, 120], &s, 30.0);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].start_s, p[0].end_s, p[0].tokens.clone()),
            (0.0, 1.0, vec![1, 2])
        );
        assert_eq!(
            (p[1].start_s, p[1].end_s, p[1].tokens.clone()),
            (1.0, 2.0, vec![3])
        );
        // An unclosed last piece runs to the window's end.
        let p = pieces(&[20, 1, 70, 70, 3], &s, 12.5);
        assert_eq!((p[1].start_s, p[1].end_s), (1.0, 12.5));
    }

    #[test]
    fn loops_compress_well() {
        let varied = "The tide came in slowly over the flats, and the birds moved inland.";
        let looped = "I don't know. ".repeat(20);
        assert!(compression_ratio(varied) < 2.4);
        assert!(compression_ratio(&looped) > 2.4);
    }
}
