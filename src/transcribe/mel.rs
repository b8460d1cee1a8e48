//! 16 kHz samples → Whisper's log-mel spectrogram: 80 mel bands × 3000
//! frames for a 30-second window, computed as OpenAI's
//! `whisper/audio.py::log_mel_spectrogram` does it: a periodic Hann window
//! of 400 samples, hop 160, centred frames with reflected edges, power
//! spectrum, the Slaney-normalised mel filterbank of librosa (computed
//! here, not shipped as a file), `log10` clamped at 1e-10, floored at the
//! window's maximum minus 8, then `(x + 4) / 4`.
//!
//! A window shorter than 30 s is padded with zeros first, as Whisper pads
//! the end of a file. The filterbank is sparse (each band covers a few FFT
//! bins), so it is stored as (first bin, weights) per band.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Samples per FFT frame.
pub const N_FFT: usize = 400;
/// Samples between frames.
pub const HOP: usize = 160;
/// Samples in a 30-second window.
pub const N_SAMPLES: usize = 480_000;
/// Frames in a 30-second window.
pub const N_FRAMES: usize = N_SAMPLES / HOP;

/// A reusable spectrogram computer for one number of mel bands.
pub struct Mel {
    n_mels: usize,
    window: Vec<f32>,
    /// Per band: first FFT bin and the weights from there.
    bands: Vec<(usize, Vec<f32>)>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for Mel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mel").field("n_mels", &self.n_mels).finish()
    }
}

impl Mel {
    /// A computer for `n_mels` bands (80 for Whisper up to large-v2, 128
    /// for large-v3).
    pub fn new(n_mels: usize) -> Mel {
        let window = (0..N_FFT)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        let filters = filterbank(16_000.0, N_FFT, n_mels);
        let bands = filters
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                let w = if last >= first {
                    row[first..=last].iter().map(|&x| x as f32).collect()
                } else {
                    Vec::new()
                };
                (first, w)
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        Mel {
            n_mels,
            window,
            bands,
            fft,
        }
    }

    /// Mel bands.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The spectrogram of one window of at most 30 s (longer input is cut),
    /// row-major `n_mels × N_FRAMES`, appended to `out`.
    pub fn window(&self, pcm: &[f32], out: &mut Vec<f32>) {
        let pcm = &pcm[..pcm.len().min(N_SAMPLES)];
        // Padded to 30 s, then reflected by N_FFT / 2 on both sides.
        let half = N_FFT / 2;
        let mut padded = vec![0f32; N_SAMPLES + 2 * half];
        padded[half..half + pcm.len()].copy_from_slice(pcm);
        for i in 0..half {
            // torch's reflect: x[half - 1 - i] = x[half + 1 + i].
            padded[half - 1 - i] = padded[half + 1 + i];
            padded[half + N_SAMPLES + i] = padded[half + N_SAMPLES - 2 - i];
        }
        let n_bins = N_FFT / 2 + 1;
        let mut frame = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; n_bins];
        let base = out.len();
        out.resize(base + self.n_mels * N_FRAMES, 0.0);
        let mel = &mut out[base..];
        let mut max = f32::NEG_INFINITY;
        for t in 0..N_FRAMES {
            let s = t * HOP;
            for (i, f) in frame.iter_mut().enumerate() {
                *f = padded[s + i] * self.window[i];
            }
            // Lengths are the planner's own; this cannot fail.
            let _ = self
                .fft
                .process_with_scratch(&mut frame, &mut spec, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.re * c.re + c.im * c.im;
            }
            for (m, (first, w)) in self.bands.iter().enumerate() {
                let e: f32 = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
                let v = e.max(1e-10).log10();
                mel[m * N_FRAMES + t] = v;
                max = max.max(v);
            }
        }
        let floor = max - 8.0;
        for v in mel.iter_mut() {
            *v = (v.max(floor) + 4.0) / 4.0;
        }
    }
}

fn hz_to_mel(f: f64) -> f64 {
    // Slaney: linear below 1 kHz, logarithmic above.
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * ((m - min_log_mel) * logstep).exp()
    } else {
        m * f_sp
    }
}

/// librosa's `filters.mel(sr, n_fft, n_mels)` (Slaney scale and norm, no
/// HTK): `n_mels` rows of `n_fft / 2 + 1` weights.
fn filterbank(sr: f64, n_fft: usize, n_mels: usize) -> Vec<Vec<f64>> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * sr / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|i| {
            let (l, c, r) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
            let enorm = 2.0 / (r - l);
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - l) / (c - l);
                    let upper = (r - f) / (r - c);
                    lower.min(upper).max(0.0) * enorm
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_matches_librosa_values() {
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80): row 0 peaks
        // at bin 1 with 0.02486259; row 40 is [0.00541111 0.01473557
        // 0.00651819] from bin 42; row 79's last non-zero bin is 199.
        let f = filterbank(16_000.0, 400, 80);
        assert_eq!(f.len(), 80);
        assert!((f[0][1] - 0.024_862_59).abs() < 1e-6, "{}", f[0][1]);
        let first = f[40].iter().position(|&w| w > 0.0).unwrap();
        assert_eq!(first, 42);
        for (got, want) in
            f[40][first..first + 3]
                .iter()
                .zip([0.005_411_11, 0.014_735_57, 0.006_518_19])
        {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        assert_eq!(f[79].iter().rposition(|&w| w > 0.0), Some(199));
    }

    #[test]
    fn silence_and_tone_shapes() {
        let mel = Mel::new(80);
        let mut out = Vec::new();
        mel.window(&[], &mut out);
        assert_eq!(out.len(), 80 * N_FRAMES);
        // All zeros: log10(1e-10) = -10 everywhere, so (−10 + 4) / 4.
        assert!(out.iter().all(|&v| (v + 1.5).abs() < 1e-6));
        // A 1 kHz tone for 1 s: its band is the loudest in the first frames.
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mut out = Vec::new();
        mel.window(&tone, &mut out);
        let t = 50;
        let loudest = (0..80)
            .max_by(|&a, &b| out[a * N_FRAMES + t].total_cmp(&out[b * N_FRAMES + t]))
            .unwrap();
        let centre = hz_to_mel(1000.0);
        let band_of_1k = (0..80)
            .min_by(|&a, &b| {
                let m = |i: usize| {
                    (hz_to_mel(0.0) + (hz_to_mel(8000.0) - hz_to_mel(0.0)) * (i + 1) as f64 / 81.0
                        - centre)
                        .abs()
                };
                m(a).total_cmp(&m(b))
            })
            .unwrap();
        assert!(
            (loudest as i64 - band_of_1k as i64).abs() <= 1,
            "{loudest} vs {band_of_1k}"
        );
    }
}
