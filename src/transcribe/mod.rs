//! Transcribing audio with Whisper, on candle: an audio file in, timed
//! [`Cue`]s (and a WebVTT file) out, for podcasts that publish no
//! transcript.
//!
//! The stage, one module per part:
//! - [`audio`]: decode (symphonia; Opus by `opus-decoder`), mix to mono,
//!   resample to 16 kHz, a piece at a time.
//! - [`mel`]: Whisper's log-mel spectrogram of a 30-second window.
//! - [`model`]: the network (batched encoder, cached decoder).
//! - [`decode`]: the decoding loop and its guards (timestamp rules,
//!   temperature fallback, no-speech and loop checks).
//! - [`vtt`]: writing WebVTT.
//!
//! How a file goes through: the audio is read in pieces; the buffer is cut
//! into windows of at most 30 s, each cut placed at the quietest 200 ms
//! between 24 and 30 s, so that a word is rarely split between windows;
//! [`TranscribeOptions::batch`] windows are encoded together and decoded
//! side by side; their pieces become cues at the window's offset. Windows
//! are decoded independently (no previous-text prompt), so a mistake in one
//! window cannot spread into the next, and times cannot drift: each
//! window's offset is its exact sample position. A window of near-digital
//! silence is skipped without running the model. Memory is bounded by the
//! batch: at most `batch + 1` windows of PCM are held, however long the
//! file.
//!
//! The library never prints: progress goes to a callback with the audio
//! seconds done, for the caller's progress bar and real-time factor.

pub mod audio;
pub mod decode;
pub mod error;
pub mod mel;
pub mod model;
pub mod vtt;

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::Tokenizer;

pub use self::audio::{AudioInfo, AudioStream, SAMPLE_RATE};
pub use self::decode::DecodeOptions;
pub use self::error::{Result, TranscribeError};
use self::mel::{Mel, N_FRAMES, N_SAMPLES};
use crate::embed::model::{Locator, ModelSource};
use crate::transcript::Cue;

/// The default Whisper model.
pub const DEFAULT_WHISPER: &str = "openai/whisper-tiny.en";

/// Earliest cut in a window, in samples (24 s).
const MIN_CUT: usize = 24 * SAMPLE_RATE as usize;

/// Settings of a transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    /// Windows decoded together (and encoded together on a GPU).
    pub batch: usize,
    /// Longest audio accepted, in seconds.
    pub max_duration_s: f64,
    /// A window whose RMS level is under this is skipped as silence.
    pub silence_rms: f32,
    /// The decoding loop's settings.
    pub decode: DecodeOptions,
}

impl Default for TranscribeOptions {
    fn default() -> TranscribeOptions {
        TranscribeOptions {
            batch: 8,
            max_duration_s: 6.0 * 3600.0,
            silence_rms: 1e-3,
            decode: DecodeOptions::default(),
        }
    }
}

/// How far a transcription is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Audio seconds transcribed.
    pub done_s: f64,
    /// The file's length, if the container declares it.
    pub total_s: Option<f64>,
    /// Seconds since the file was opened.
    pub elapsed_s: f64,
}

/// A finished transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcription {
    /// The cues, in time order, times within the audio.
    pub cues: Vec<Cue>,
    /// The audio's length, in seconds (as decoded).
    pub duration_s: f64,
    /// Wall-clock seconds spent.
    pub elapsed_s: f64,
    /// Windows cut.
    pub windows: usize,
    /// Windows skipped or taken for silence.
    pub silent_windows: usize,
    /// Windows that needed a temperature above 0.
    pub fallbacks: usize,
    /// Audio packets that failed to decode and were skipped.
    pub bad_packets: usize,
    /// What the container declared.
    pub info: AudioInfo,
}

impl Transcription {
    /// Wall-clock time over audio time (under 1 is faster than real time).
    pub fn real_time_factor(&self) -> f64 {
        self.elapsed_s / self.duration_s.max(1e-9)
    }
}

/// A loaded Whisper model, ready to transcribe files one after another.
pub struct Transcriber {
    model: model::Whisper,
    tokenizer: Tokenizer,
    specials: decode::Specials,
    mel: Mel,
    id: String,
    /// The settings in force.
    pub options: TranscribeOptions,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber")
            .field("id", &self.id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The Whisper model's files: `config.json`, `tokenizer.json`,
/// `model.safetensors` in one folder.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperFiles {
    /// The id (hub id, or the folder's name).
    pub id: String,
    /// The folder.
    pub dir: PathBuf,
}

/// Find the Whisper model: `spec` is a folder or a hub id (default
/// [`DEFAULT_WHISPER`]); a hub id is looked for as `<dir>/<name>` in
/// `model_dirs` (the repository's `models/`, filled by
/// `scripts/fetch-whisper`), then in the Hugging Face cache, then
/// downloaded with hf-hub unless `offline`: the embedder's rules
/// ([`crate::embed::model`]).
pub fn locate(spec: Option<&str>, model_dirs: &[PathBuf], offline: bool) -> Result<WhisperFiles> {
    let spec = spec.unwrap_or(DEFAULT_WHISPER);
    let locator = Locator {
        model_dirs: model_dirs.to_vec(),
        offline,
    };
    match locator.locate(&ModelSource::parse(spec)) {
        Ok(files) => Ok(WhisperFiles {
            id: files.id,
            dir: files.dir,
        }),
        Err(crate::error::Error::NoModel { tried, .. }) => Err(TranscribeError::NoModel {
            model: spec.to_string(),
            tried,
        }),
        Err(e) => Err(TranscribeError::BadModel {
            dir: PathBuf::from(spec),
            message: e.to_string(),
        }),
    }
}

impl Transcriber {
    /// Load the model from its folder onto `device` (f32 on the CPU, f16
    /// on a GPU).
    pub fn load(files: &WhisperFiles, device: &Device, options: TranscribeOptions) -> Result<Self> {
        let bad = |message: String| TranscribeError::BadModel {
            dir: files.dir.clone(),
            message,
        };
        let config_path = files.dir.join("config.json");
        let config: model::Config = serde_json::from_slice(
            &std::fs::read(&config_path).map_err(|e| bad(format!("config.json: {e}")))?,
        )
        .map_err(|e| bad(format!("config.json: {e}")))?;
        let tokenizer = Tokenizer::from_file(files.dir.join("tokenizer.json"))
            .map_err(|e| bad(format!("tokenizer.json: {e}")))?;
        let specials = decode::Specials::from_tokenizer(&tokenizer, &config).map_err(bad)?;
        let dtype = if device.is_cpu() {
            DType::F32
        } else {
            DType::F16
        };
        let weights = files.dir.join("model.safetensors");
        // SAFETY: the weights file is mapped read-only and not changed while
        // the model lives (as candle's examples and the embedder do).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], dtype, device) }
            .map_err(|e| bad(format!("model.safetensors: {e}")))?;
        let mel = Mel::new(config.num_mel_bins);
        let model =
            model::Whisper::load(vb, config).map_err(|e| bad(format!("model.safetensors: {e}")))?;
        Ok(Transcriber {
            model,
            tokenizer,
            specials,
            mel,
            id: files.id.clone(),
            options,
        })
    }

    /// The model's id.
    pub fn model_id(&self) -> &str {
        &self.id
    }

    /// Transcribe one audio file. `on_progress` is called after each batch
    /// of windows.
    pub fn transcribe(
        &self,
        path: &Path,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<Transcription> {
        let t0 = Instant::now();
        // symphonia is defensive, but this is hostile input: a panic in a
        // demuxer is this file's error, not the run's end.
        let mut stream = guard(path, || AudioStream::open(path))?;
        let info = stream.info().clone();
        let max = self.options.max_duration_s;
        if let Some(d) = info.duration_s.filter(|&d| d > max) {
            return Err(TranscribeError::TooLong {
                path: path.to_path_buf(),
                secs: d,
                limit_secs: max,
            });
        }
        let batch = self.options.batch.max(1);
        let sr = SAMPLE_RATE as usize;
        let max_samples = (max * sr as f64) as u64;
        let mut buf: Vec<f32> = Vec::new();
        let mut buf_start: u64 = 0;
        let mut ended = false;
        let mut cues: Vec<Cue> = Vec::new();
        let (mut windows, mut silent, mut fallbacks) = (0, 0, 0);
        loop {
            while !ended && buf.len() < (batch + 1) * N_SAMPLES {
                let more = guard(path, || stream.read(&mut buf, 30 * sr))?;
                ended = !more;
                if buf_start + buf.len() as u64 > max_samples {
                    return Err(TranscribeError::TooLong {
                        path: path.to_path_buf(),
                        secs: (buf_start + buf.len() as u64) as f64 / sr as f64,
                        limit_secs: max,
                    });
                }
            }
            let mut cuts: Vec<(usize, usize)> = Vec::new();
            let mut pos = 0;
            while cuts.len() < batch && pos < buf.len() {
                let rest = buf.len() - pos;
                let len = if rest <= N_SAMPLES {
                    rest
                } else {
                    cut_point(&buf[pos..pos + N_SAMPLES])
                };
                cuts.push((pos, len));
                pos += len;
            }
            if cuts.is_empty() {
                break;
            }
            windows += cuts.len();
            let mut speech: Vec<(usize, usize)> = Vec::new();
            for &(p, l) in &cuts {
                if rms(&buf[p..p + l]) < self.options.silence_rms {
                    silent += 1;
                } else {
                    // Whisper tends to time the first words of a window at
                    // its start whatever silence comes first, so a window
                    // that opens with over a second of silence starts just
                    // before its first sound instead.
                    let from = lead_in(&buf[p..p + l], self.options.silence_rms);
                    speech.push((p + from, l - from));
                }
            }
            if !speech.is_empty() {
                let decoded = self.run_windows(&buf, &speech)?;
                // Timed text of each window, as (start, end, text) in samples
                // of `buf`, and the audio the model stopped short of.
                let mut per_window: Vec<Vec<(usize, usize, String)>> = Vec::new();
                let mut tails: Vec<(usize, usize)> = Vec::new();
                let mut tail_of: Vec<usize> = Vec::new();
                for (w, (&(p, l), d)) in speech.iter().zip(&decoded).enumerate() {
                    if d.temperature > 0.0 {
                        fallbacks += 1;
                    }
                    let timed = if d.is_silence {
                        silent += 1;
                        Vec::new()
                    } else {
                        self.timed(d, p, l)
                    };
                    // Whisper sometimes ends a window early: OpenAI's loop
                    // then seeks to the last timestamp; windows decoded
                    // side by side get one more pass over the rest instead.
                    let done = timed.last().map_or(p, |c| c.1);
                    if !d.is_silence
                        && p + l > done + 2 * sr
                        && rms(&buf[done..p + l]) >= self.options.silence_rms
                    {
                        tails.push((done, p + l - done));
                        tail_of.push(w);
                    }
                    per_window.push(timed);
                }
                if !tails.is_empty() {
                    for ((&(p, l), d), &w) in tails
                        .iter()
                        .zip(self.run_windows(&buf, &tails)?)
                        .zip(&tail_of)
                    {
                        if !d.is_silence {
                            per_window[w].extend(self.timed(&d, p, l));
                        }
                    }
                }
                for (a, b, text) in per_window.into_iter().flatten() {
                    let ms = |x: usize| (buf_start + x as u64) * 1000 / sr as u64;
                    push_monotonic(&mut cues, ms(a), ms(b), text);
                }
            }
            buf.drain(..pos);
            buf_start += pos as u64;
            on_progress(&Progress {
                done_s: buf_start as f64 / sr as f64,
                total_s: info.duration_s,
                elapsed_s: t0.elapsed().as_secs_f64(),
            });
            if ended && buf.is_empty() {
                break;
            }
        }
        if buf_start == 0 {
            return Err(TranscribeError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Transcription {
            cues,
            duration_s: buf_start as f64 / sr as f64,
            elapsed_s: t0.elapsed().as_secs_f64(),
            windows,
            silent_windows: silent,
            fallbacks,
            bad_packets: stream.bad_packets(),
            info,
        })
    }

    /// The timed pieces of a decoded window at `p` (length `l`), in samples
    /// of the buffer, empty texts dropped.
    fn timed(&self, d: &decode::Decoded, p: usize, l: usize) -> Vec<(usize, usize, String)> {
        let sr = SAMPLE_RATE as f64;
        let len_s = l as f64 / sr;
        decode::pieces(&d.tokens, &self.specials, len_s)
            .into_iter()
            .filter_map(|piece| {
                let text = decode::text_of(&self.tokenizer, &self.specials, &piece.tokens);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let at = |s: f64| p + (s.clamp(0.0, len_s) * sr) as usize;
                (!text.is_empty()).then(|| (at(piece.start_s), at(piece.end_s), text))
            })
            .collect()
    }

    /// Spectrograms, encoder and decoding loop for windows of `buf`.
    fn run_windows(&self, buf: &[f32], windows: &[(usize, usize)]) -> Result<Vec<decode::Decoded>> {
        let n_mels = self.mel.n_mels();
        let mut mels = Vec::with_capacity(windows.len() * n_mels * N_FRAMES);
        for &(p, l) in windows {
            self.mel.window(&buf[p..p + l], &mut mels);
        }
        let mel = Tensor::from_vec(mels, (windows.len(), n_mels, N_FRAMES), self.model.device())?;
        // On a CPU the encoder's matrices (1500 rows a window) keep the
        // cores busy one window at a time, and a batch would only multiply
        // its temporaries; a GPU takes the whole batch at once. The decoder
        // always steps the whole batch together: each step reads the
        // 51,864-row output projection once for all windows.
        let per = if self.model.device().is_cpu() {
            1
        } else {
            windows.len()
        };
        let encoded = (0..windows.len())
            .step_by(per)
            .map(|i| {
                self.model
                    .encode(&mel.narrow(0, i, per.min(windows.len() - i))?)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let audio = Tensor::cat(&encoded, 0)?;
        let lens: Vec<f64> = windows
            .iter()
            .map(|&(_, l)| l as f64 / SAMPLE_RATE as f64)
            .collect();
        Ok(decode::decode_batch(
            &self.model,
            &self.tokenizer,
            &self.specials,
            &audio,
            &lens,
            &self.options.decode,
        )?)
    }
}

/// Run `f`, turning a panic into this file's decode error.
fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(TranscribeError::Decode {
            path: path.to_path_buf(),
            message: "the audio decoder failed on this file".into(),
        })
    })
}

/// Add a cue keeping times monotonic: no cue starts before the previous
/// one ends, none ends before it starts.
fn push_monotonic(cues: &mut Vec<Cue>, start: u64, end: u64, text: String) {
    let floor = cues.last().and_then(|c| c.end_ms).unwrap_or(0);
    let start = start.max(floor);
    let end = end.max(start);
    cues.push(Cue::timed(start, end, text));
}

/// Where to start a window `w` that opens with over a second of silence
/// (frames of 100 ms under `silence_rms`): 200 ms before its first sound;
/// 0 otherwise.
fn lead_in(w: &[f32], silence_rms: f32) -> usize {
    let frame = SAMPLE_RATE as usize / 10;
    let first = w
        .chunks(frame)
        .position(|f| rms(f) >= silence_rms)
        .map_or(0, |i| i * frame);
    if first > SAMPLE_RATE as usize {
        first - 2 * frame
    } else {
        0
    }
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
}

/// Where to end a 30-second window: the centre of its quietest 200 ms
/// between 24 and 30 s (the latest, on a tie).
fn cut_point(window: &[f32]) -> usize {
    const FRAME: usize = 320; // 20 ms
    const SPAN: usize = 10; // 200 ms
    let n = window.len();
    if n <= MIN_CUT + FRAME * SPAN {
        return n;
    }
    let energy: Vec<f32> = window[MIN_CUT..]
        .chunks_exact(FRAME)
        .map(|f| f.iter().map(|s| s * s).sum())
        .collect();
    let mut best = (f32::INFINITY, n);
    for i in 0..energy.len().saturating_sub(SPAN) {
        let e: f32 = energy[i..i + SPAN].iter().sum();
        if e <= best.0 {
            best = (e, MIN_CUT + (i + SPAN / 2) * FRAME);
        }
    }
    best.1.clamp(MIN_CUT, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_that_opens_with_silence_starts_before_its_first_sound() {
        let sr = SAMPLE_RATE as usize;
        let mut w = vec![0.0f32; 3 * sr];
        for x in &mut w[2 * sr..] {
            *x = 0.1;
        }
        assert_eq!(lead_in(&w, 1e-3), 2 * sr - sr / 5);
        // Under a second of silence: kept as it is.
        assert_eq!(lead_in(&w[sr + sr / 2..], 1e-3), 0);
        assert_eq!(lead_in(&vec![0.1; sr], 1e-3), 0);
    }

    #[test]
    fn cuts_fall_in_the_quiet_gap() {
        // 30 s of "speech" (noise-like) with a 300 ms gap at 27.0-27.3 s.
        let sr = SAMPLE_RATE as usize;
        let mut w: Vec<f32> = (0..30 * sr)
            .map(|i| ((i * 7919) % 200) as f32 / 200.0 - 0.5)
            .collect();
        for s in &mut w[27 * sr..27 * sr + 3 * sr / 10] {
            *s = 0.0;
        }
        let cut = cut_point(&w);
        assert!(
            (27 * sr..27 * sr + 3 * sr / 10).contains(&cut),
            "cut at {} s",
            cut as f64 / sr as f64
        );
        // A short window is taken whole.
        assert_eq!(cut_point(&w[..10 * sr]), 10 * sr);
    }

    #[test]
    fn cue_times_never_go_back() {
        let mut c = Vec::new();
        push_monotonic(&mut c, 1000, 3000, "a".into());
        push_monotonic(&mut c, 2500, 2000, "b".into());
        push_monotonic(&mut c, 5000, 6000, "c".into());
        let t: Vec<_> = c.iter().map(|c| (c.start_ms, c.end_ms)).collect();
        assert_eq!(
            t,
            vec![
                (Some(1000), Some(3000)),
                (Some(3000), Some(3000)),
                (Some(5000), Some(6000))
            ]
        );
    }
}
