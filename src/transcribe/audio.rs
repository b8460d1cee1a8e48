//! Audio file → a stream of 16 kHz mono `f32` samples, read a piece at a
//! time so that an hour-long episode never sits in memory as PCM (the
//! transcriber holds a few 30-second windows).
//!
//! Containers and codecs are symphonia's (MP3, AAC in MP4/M4A, Ogg Vorbis,
//! FLAC, WAV PCM/ADPCM); Ogg Opus, which symphonia demuxes but does not
//! decode, goes to the pure-Rust `opus-decoder`, asked for 16 kHz mono
//! directly. Channels are averaged to mono, then `rubato`'s FFT resampler
//! brings any other rate to 16 kHz (its delay is trimmed, so sample `n` of
//! the output is at `n / 16000` s in the file).
//!
//! Damage is tolerated where a player would tolerate it: a packet that does
//! not decode is skipped (and counted in [`AudioStream::bad_packets`]), a
//! truncated file ends where its data ends. A file whose container cannot
//! be recognised (a text file named `.mp3`) is [`TranscribeError::Format`];
//! one where nothing decodes is [`TranscribeError::Decode`].

use std::fs::File;
use std::path::{Path, PathBuf};

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::error::{Result, TranscribeError};

/// The sample rate Whisper listens at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Input frames per resampler call.
const RESAMPLE_CHUNK: usize = 4096;

/// Packets in a row that may fail before the stream is given up.
const MAX_BAD_RUN: usize = 2000;

/// What the container says about the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// The codec, e.g. `mp3`.
    pub codec: String,
    /// The source sample rate.
    pub sample_rate: u32,
    /// The source channel count.
    pub channels: usize,
    /// The length the container declares, in seconds, if it does.
    pub duration_s: Option<f64>,
}

enum Codec {
    Symphonia(Box<dyn Decoder>),
    Opus {
        decoder: Box<opus_decoder::OpusDecoder>,
        /// Samples (at 16 kHz) still to drop from the start.
        skip: usize,
        pcm: Vec<f32>,
    },
}

/// An open audio file, decoded and resampled on demand.
pub struct AudioStream {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    track: u32,
    codec: Codec,
    info: AudioInfo,
    resampler: Option<FftFixedIn<f32>>,
    /// Mono samples at the source rate waiting for the resampler.
    pending: Vec<f32>,
    /// Resampled samples still to drop (the resampler's delay).
    delay: usize,
    /// Source-rate mono samples fed to the resampler, and 16 kHz samples
    /// produced, to know how many the final flush must give.
    fed: u64,
    produced: u64,
    bad_packets: usize,
    bad_run: usize,
    decoded_any: bool,
    ended: bool,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl AudioStream {
    /// Open `path` and find its first audio track.
    pub fn open(path: &Path) -> Result<AudioStream> {
        let file = File::open(path).map_err(|source| TranscribeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let format_err = |message: String| TranscribeError::Format {
            path: path.to_path_buf(),
            message,
        };
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions {
                    enable_gapless: true,
                    ..Default::default()
                },
                &MetadataOptions::default(),
            )
            .map_err(|e| format_err(sym_message(&e)))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| format_err("no audio track".into()))?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let sample_rate = params
            .sample_rate
            .filter(|&r| r > 0)
            .ok_or_else(|| format_err("the track has no sample rate".into()))?;
        let channels = params.channels.map_or(1, |c| c.count()).max(1);
        let duration_s = match (params.n_frames, params.time_base) {
            (Some(n), Some(tb)) if tb.numer > 0 && tb.denom > 0 => {
                let t = tb.calc_time(n);
                Some(t.seconds as f64 + t.frac)
            }
            (Some(n), None) => Some(n as f64 / f64::from(sample_rate)),
            _ => None,
        };
        let (codec, codec_name, rate_out) = if params.codec == CODEC_TYPE_OPUS {
            if channels > 2 {
                return Err(format_err(format!(
                    "Opus with {channels} channels (only mono and stereo are read)"
                )));
            }
            let decoder = opus_decoder::OpusDecoder::new(SAMPLE_RATE, 1).map_err(|e| {
                TranscribeError::Decode {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                }
            })?;
            // Pre-skip is counted at 48 kHz.
            let skip = params.delay.unwrap_or(0) as usize / 3;
            let codec = Codec::Opus {
                decoder: Box::new(decoder),
                skip,
                pcm: vec![0.0; 5760],
            };
            (codec, "opus".to_string(), SAMPLE_RATE)
        } else {
            let decoder = symphonia::default::get_codecs()
                .make(&params, &DecoderOptions::default())
                .map_err(|e| format_err(sym_message(&e)))?;
            let name = symphonia::default::get_codecs()
                .get_codec(params.codec)
                .map_or_else(|| "audio".to_string(), |d| d.short_name.to_string());
            (Codec::Symphonia(decoder), name, sample_rate)
        };
        let resampler = if rate_out == SAMPLE_RATE {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(
                    rate_out as usize,
                    SAMPLE_RATE as usize,
                    RESAMPLE_CHUNK,
                    2,
                    1,
                )
                .map_err(|e| format_err(format!("cannot resample from {rate_out} Hz: {e}")))?,
            )
        };
        let delay = resampler.as_ref().map_or(0, |r| r.output_delay());
        Ok(AudioStream {
            path: path.to_path_buf(),
            format,
            track: track_id,
            codec,
            info: AudioInfo {
                codec: codec_name,
                sample_rate,
                channels,
                duration_s,
            },
            resampler,
            pending: Vec::new(),
            delay,
            fed: 0,
            produced: 0,
            bad_packets: 0,
            bad_run: 0,
            decoded_any: false,
            ended: false,
        })
    }

    /// What the container declares.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Packets that failed to decode and were skipped.
    pub fn bad_packets(&self) -> usize {
        self.bad_packets
    }

    /// Append at least `want` more 16 kHz mono samples to `out` (fewer at
    /// the end of the stream). Returns `false` once the stream has ended and
    /// everything was handed out.
    pub fn read(&mut self, out: &mut Vec<f32>, want: usize) -> Result<bool> {
        let target = out.len() + want;
        while out.len() < target {
            if self.ended {
                return Ok(false);
            }
            match self.next_mono()? {
                Some(mono) => self.push(mono, out)?,
                None => {
                    self.flush(out)?;
                    self.ended = true;
                    if !self.decoded_any {
                        return Err(if self.bad_packets > 0 {
                            TranscribeError::Decode {
                                path: self.path.clone(),
                                message: format!("none of {} packets decoded", self.bad_packets),
                            }
                        } else {
                            TranscribeError::Empty {
                                path: self.path.clone(),
                            }
                        });
                    }
                }
            }
        }
        Ok(true)
    }

    /// The next decoded packet as mono samples at the decoder's output rate;
    /// `None` at the end of the stream.
    fn next_mono(&mut self) -> Result<Option<Vec<f32>>> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                // The normal end, and a truncated file's end, look alike.
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(None)
                }
                Err(SymError::ResetRequired) => return Ok(None),
                Err(e) => {
                    // A damaged container after some audio: end there.
                    if self.decoded_any {
                        self.bad_packets += 1;
                        return Ok(None);
                    }
                    return Err(TranscribeError::Format {
                        path: self.path.clone(),
                        message: sym_message(&e),
                    });
                }
            };
            if packet.track_id() != self.track {
                continue;
            }
            let decoded = match &mut self.codec {
                Codec::Symphonia(decoder) => match decoder.decode(&packet) {
                    Ok(buf) => {
                        let spec = *buf.spec();
                        let channels = spec.channels.count().max(1);
                        let mut sb = SampleBuffer::<f32>::new(buf.capacity() as u64, spec);
                        sb.copy_interleaved_ref(buf);
                        Ok(downmix(sb.samples(), channels))
                    }
                    Err(SymError::DecodeError(m)) => Err(m.to_string()),
                    Err(SymError::IoError(e)) => Err(e.to_string()),
                    Err(e) => {
                        return Err(TranscribeError::Decode {
                            path: self.path.clone(),
                            message: sym_message(&e),
                        })
                    }
                },
                Codec::Opus { decoder, skip, pcm } => {
                    match decoder.decode_float(&packet.data, pcm, false) {
                        Ok(n) => {
                            let n = n.min(pcm.len());
                            let drop = (*skip).min(n);
                            *skip -= drop;
                            Ok(pcm[drop..n].to_vec())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            match decoded {
                Ok(mono) => {
                    self.bad_run = 0;
                    self.decoded_any = true;
                    return Ok(Some(mono));
                }
                Err(message) => {
                    self.bad_packets += 1;
                    self.bad_run += 1;
                    if self.bad_run > MAX_BAD_RUN {
                        return Err(TranscribeError::Decode {
                            path: self.path.clone(),
                            message: format!("{MAX_BAD_RUN} packets in a row failed: {message}"),
                        });
                    }
                }
            }
        }
    }

    /// Resample `mono` (if needed) into `out`.
    fn push(&mut self, mono: Vec<f32>, out: &mut Vec<f32>) -> Result<()> {
        let Some(rs) = self.resampler.as_mut() else {
            out.extend_from_slice(&mono);
            return Ok(());
        };
        self.pending.extend_from_slice(&mono);
        self.fed += mono.len() as u64;
        let mut start = 0;
        while self.pending.len() - start >= rs.input_frames_next() {
            let need = rs.input_frames_next();
            let res = rs
                .process(&[&self.pending[start..start + need]], None)
                .map_err(|e| TranscribeError::Decode {
                    path: self.path.clone(),
                    message: format!("resampling: {e}"),
                })?;
            start += need;
            emit(&res[0], &mut self.delay, &mut self.produced, out);
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Push what is left through the resampler, and its tail.
    fn flush(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let Some(rs) = self.resampler.as_mut() else {
            return Ok(());
        };
        let expected = (self.fed as f64 * f64::from(SAMPLE_RATE)
            / f64::from(self.info.sample_rate.max(1)))
        .round() as u64;
        let pending = std::mem::take(&mut self.pending);
        let mut first = Some(pending.as_slice());
        // At most a few calls drain the delay; bounded anyway.
        for _ in 0..8 {
            if self.produced >= expected {
                break;
            }
            let res = rs
                .process_partial(first.take().map(|p| [p]).as_ref().map(|a| &a[..]), None)
                .map_err(|e| TranscribeError::Decode {
                    path: self.path.clone(),
                    message: format!("resampling: {e}"),
                })?;
            let keep = (expected - self.produced).min(res[0].len() as u64) as usize;
            emit(&res[0][..keep], &mut self.delay, &mut self.produced, out);
            if keep == 0 && self.delay == 0 {
                break;
            }
        }
        Ok(())
    }
}

/// Hand resampled samples out after dropping the delay.
fn emit(samples: &[f32], delay: &mut usize, produced: &mut u64, out: &mut Vec<f32>) {
    let drop = (*delay).min(samples.len());
    *delay -= drop;
    out.extend_from_slice(&samples[drop..]);
    *produced += (samples.len() - drop) as u64;
}

/// Average interleaved channels to mono.
fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    let scale = 1.0 / channels as f32;
    interleaved
        .chunks_exact(channels)
        .map(|f| f.iter().sum::<f32>() * scale)
        .collect()
}

fn sym_message(e: &SymError) -> String {
    match e {
        SymError::Unsupported(what) => format!("unsupported: {what}"),
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file ends before any audio".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit PCM WAV of `samples` at `rate` Hz with `channels` channels.
    pub(crate) fn wav(samples: &[f32], rate: u32, channels: u16) -> Vec<u8> {
        let data_len = (samples.len() * 2) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data_len).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        v.extend_from_slice(&(channels * 2).to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            v.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
        }
        v
    }

    fn read_all(path: &Path) -> Result<Vec<f32>> {
        let mut s = AudioStream::open(path)?;
        let mut out = Vec::new();
        while s.read(&mut out, 10_000)? {}
        Ok(out)
    }

    #[test]
    fn resampled_wav_keeps_length_and_pitch() {
        let dir = tempfile::tempdir().unwrap();
        // 2.5 s of a 440 Hz tone at 44.1 kHz, stereo.
        let rate = 44_100;
        let n = rate as usize * 5 / 2;
        let mut inter = Vec::with_capacity(n * 2);
        for i in 0..n {
            let s = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5;
            inter.extend_from_slice(&[s, s]);
        }
        let p = dir.path().join("tone.wav");
        std::fs::write(&p, wav(&inter, rate, 2)).unwrap();
        let out = read_all(&p).unwrap();
        assert!(
            (out.len() as i64 - 40_000).abs() <= 2,
            "{} samples",
            out.len()
        );
        // Zero crossings of 440 Hz over 2.5 s: about 2200.
        let crossings = out
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((2150..=2250).contains(&crossings), "{crossings} crossings");
        // Amplitude survives the resampler (no delay-induced silence at the start).
        let peak = out[100..1000].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.4, "peak {peak}");
    }

    #[test]
    fn text_named_mp3_and_empty_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.mp3");
        std::fs::write(&p, "this is not audio, just a text file\n".repeat(50)).unwrap();
        let e = read_all(&p).unwrap_err();
        assert!(matches!(e, TranscribeError::Format { .. }), "{e}");
        let p = dir.path().join("empty.wav");
        std::fs::write(&p, wav(&[], 16_000, 1)).unwrap();
        let e = read_all(&p).unwrap_err();
        assert!(matches!(e, TranscribeError::Empty { .. }), "{e}");
        let p = dir.path().join("zero.mp3");
        std::fs::write(&p, b"").unwrap();
        assert!(read_all(&p).is_err());
        let e = read_all(&dir.path().join("missing.mp3")).unwrap_err();
        assert!(matches!(e, TranscribeError::Io { .. }), "{e}");
    }

    #[test]
    fn truncated_wav_gives_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<f32> = (0..16_000)
            .map(|i| ((i % 100) as f32 / 100.0) - 0.5)
            .collect();
        let mut bytes = wav(&samples, 16_000, 1);
        bytes.truncate(bytes.len() / 2);
        let p = dir.path().join("cut.wav");
        std::fs::write(&p, bytes).unwrap();
        let out = read_all(&p).unwrap();
        assert!(out.len() > 7000 && out.len() < 8100, "{}", out.len());
    }
}
