//! One-bit sketches of the stored vectors: the first, cheapest stage of the
//! dense arm.
//!
//! Each vector is centred on the mean of all vectors and reduced to the signs
//! of its components (384 dimensions: 48 bytes a row, an eighth of the int8
//! codes). The Hamming distance between two sketches estimates the angle
//! between the centred vectors; centring keeps Euclidean distance, which for
//! unit vectors orders like the dot product, and spreads the signs that a
//! raw embedding (with a few large-mean components) would leave almost
//! constant. The dense arm scans the sketches, keeps a generous shortlist
//! and scores it exactly from the f32 vectors (`rank::dense`).
//!
//! Sketches are built from the int8 codes when a store first needs them and
//! live in memory only: nothing is written, so the on-disk format and the
//! commit protocol do not change. Building reads every code once, about
//! what one int8 scan reads, so a process that answers one query pays
//! roughly twice the scan (measured: +20-25 ms cold on the full corpus) and
//! every later query an eighth of it.

use rayon::prelude::*;

use super::vectors::Segment;

/// Rows per parallel block while building.
const BLOCK: usize = 4096;
/// The mean is taken over every MEAN_STRIDE-th row.
const MEAN_STRIDE: usize = 4;

/// The one-bit sketches of every segment of a store.
#[derive(Debug, Clone)]
pub struct Sketch {
    dim: usize,
    words: usize,
    centre: Vec<f32>,
    bits: Vec<Vec<u64>>,
}

impl Sketch {
    /// Build the sketches of `segments` (all of dimension `dim`).
    pub fn build(segments: &[Segment], dim: usize) -> Sketch {
        let words = dim.div_ceil(64);
        // The mean vector, from the int8 codes and their scales of every
        // MEAN_STRIDE-th row (a mean needs no more, and a cold query pays
        // for every row read).
        let sums: Vec<f64> = segments
            .par_iter()
            .map(|seg| {
                let (codes, scales) = (seg.codes(), seg.scales());
                let mut acc = vec![0f64; dim];
                let mut part = vec![0f32; dim];
                for (n, r) in (0..seg.rows()).step_by(MEAN_STRIDE).enumerate() {
                    let row = &codes[r * dim..(r + 1) * dim];
                    for (a, &c) in part.iter_mut().zip(row) {
                        *a += f32::from(c) * scales[r];
                    }
                    if n % 256 == 255 {
                        for (a, p) in acc.iter_mut().zip(part.iter_mut()) {
                            *a += f64::from(std::mem::take(p));
                        }
                    }
                }
                for (a, p) in acc.iter_mut().zip(part) {
                    *a += f64::from(p);
                }
                acc
            })
            .reduce(
                || vec![0f64; dim],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            );
        let sampled: usize = segments
            .iter()
            .map(|seg| seg.rows().div_ceil(MEAN_STRIDE))
            .sum();
        let centre: Vec<f32> = sums
            .iter()
            .map(|&x| {
                if sampled > 0 {
                    (x / sampled as f64) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let encode_row = row_encoder(dim);
        let bits = segments
            .iter()
            .map(|seg| {
                let (codes, scales) = (seg.codes(), seg.scales());
                let mut out = vec![0u64; seg.rows() * words];
                out.par_chunks_mut(BLOCK * words)
                    .enumerate()
                    .for_each(|(b, chunk)| {
                        for (i, w) in chunk.chunks_exact_mut(words).enumerate() {
                            let r = b * BLOCK + i;
                            encode_row(&codes[r * dim..(r + 1) * dim], scales[r], &centre, w);
                        }
                    });
                out
            })
            .collect();
        Sketch {
            dim,
            words,
            centre,
            bits,
        }
    }

    /// 64-bit words per sketch.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The sketches of segment `s`, `words()` per row.
    pub fn segment(&self, s: usize) -> &[u64] {
        self.bits.get(s).map_or(&[], Vec::as_slice)
    }

    /// The sketch of a query vector.
    pub fn encode(&self, v: &[f32]) -> Vec<u64> {
        let mut out = vec![0u64; self.words];
        encode_into(v.iter().copied(), &self.centre, &mut out);
        out
    }
}

/// Encodes one stored row (int8 `codes` times `scale`) into `out`.
type RowEncoder = fn(&[i8], f32, &[f32], &mut [u64]);

/// The fastest row encoder for dimension `dim` on this CPU.
fn row_encoder(dim: usize) -> RowEncoder {
    #[cfg(target_arch = "x86_64")]
    {
        if dim.is_multiple_of(16) && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected and dim.is_multiple_of(16).
            return |c, s, m, o| unsafe { encode_row_avx512(c, s, m, o) };
        }
    }
    encode_row_portable
}

fn encode_row_portable(codes: &[i8], scale: f32, centre: &[f32], out: &mut [u64]) {
    encode_into(codes.iter().map(|&c| f32::from(c) * scale), centre, out);
}

/// [`encode_row_portable`] sixteen components at a time: widen, scale,
/// compare with the centre into a 16-bit mask. Same products, same
/// comparison, so the same bits.
///
/// # Safety
/// The CPU must support AVX-512F; `codes.len() == centre.len()`, a multiple
/// of 16, and `out` holds `codes.len() / 64` words rounded up.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn encode_row_avx512(codes: &[i8], scale: f32, centre: &[f32], out: &mut [u64]) {
    use std::arch::x86_64::*;
    let dim = codes.len().min(centre.len());
    debug_assert!(dim.is_multiple_of(16) && out.len() * 64 >= dim);
    out.fill(0);
    let s = _mm512_set1_ps(scale);
    for k in 0..dim / 16 {
        // SAFETY: 16 * k + 16 <= dim for both loads.
        let m = unsafe {
            let c =
                _mm512_cvtepi8_epi32(_mm_loadu_si128(codes.as_ptr().add(16 * k) as *const __m128i));
            let x = _mm512_mul_ps(_mm512_cvtepi32_ps(c), s);
            _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_loadu_ps(centre.as_ptr().add(16 * k)))
        };
        out[k / 4] |= u64::from(m) << (16 * (k % 4));
    }
}

/// Set bit `d` of `out` where component `d` is above the centre.
fn encode_into(v: impl Iterator<Item = f32>, centre: &[f32], out: &mut [u64]) {
    out.fill(0);
    for (d, (x, &c)) in v.zip(centre).enumerate() {
        if x > c {
            out[d / 64] |= 1 << (d % 64);
        }
    }
}

/// Distances from sketch `q` to each sketch in `rows` (`q.len()` words
/// each), capped at `max`, pushed onto `dist`, and counted in `hist`
/// (`max + 1` bins).
pub fn scan(q: &[u64], rows: &[u64], max: u32, dist: &mut Vec<u16>, hist: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    {
        static POPCNT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *POPCNT.get_or_init(|| std::arch::is_x86_feature_detected!("popcnt")) {
            // SAFETY: POPCNT was detected on this CPU.
            return unsafe { scan_popcnt(q, rows, max, dist, hist) };
        }
    }
    scan_portable(q, rows, max, dist, hist)
}

#[inline(always)]
fn scan_portable(q: &[u64], rows: &[u64], max: u32, dist: &mut Vec<u16>, hist: &mut [u32]) {
    let words = q.len().max(1);
    for row in rows.chunks_exact(words) {
        let h = hamming(q, row).min(max);
        hist[h as usize] += 1;
        dist.push(h as u16);
    }
}

/// [`scan`] with the POPCNT instruction (the default x86-64 target counts
/// bits with a dozen shifts and masks instead).
///
/// # Safety
/// The CPU must support POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn scan_popcnt(q: &[u64], rows: &[u64], max: u32, dist: &mut Vec<u16>, hist: &mut [u32]) {
    scan_portable(q, rows, max, dist, hist)
}

/// Hamming distance between two sketches.
#[inline(always)]
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::vectors::{write, Row};

    #[test]
    fn fast_row_encoder_matches_the_portable_one() {
        for dim in [16usize, 64, 384] {
            let centre: Vec<f32> = (0..dim)
                .map(|d| ((d * 7 % 13) as f32 - 6.0) / 100.0)
                .collect();
            for seed in 0..20 {
                let codes: Vec<i8> = (0..dim)
                    .map(|d| (((d * 31 + seed * 17) % 255) as i32 - 127) as i8)
                    .collect();
                let scale = 0.0007 * (seed + 1) as f32;
                let (mut a, mut b) = (vec![0u64; dim.div_ceil(64)], vec![0u64; dim.div_ceil(64)]);
                row_encoder(dim)(&codes, scale, &centre, &mut a);
                encode_row_portable(&codes, scale, &centre, &mut b);
                assert_eq!(a, b, "dim {dim} seed {seed}");
            }
        }
    }

    #[test]
    fn sketches_follow_the_centred_signs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.vec");
        // Every vector has a large first component (a shared mean); the
        // sketch must see past it to the second and third.
        let rows: Vec<Row> = (0..100u64)
            .map(|i| {
                // Two kinds of row, 2:3, in a pattern the mean's row sampling
                // does not alias.
                let (a, b) = if i % 5 < 2 { (0.3, -0.1) } else { (-0.1, 0.3) };
                let n = (0.9f32 * 0.9 + a * a + b * b).sqrt();
                Row {
                    id: i,
                    episode: 0,
                    start_ms: 0,
                    vector: vec![0.9 / n, a / n, b / n],
                }
            })
            .collect();
        write(&p, 3, &rows).unwrap();
        let seg = Segment::open(&p, 3).unwrap();
        let sk = Sketch::build(std::slice::from_ref(&seg), 3);
        assert_eq!(sk.words(), 1);
        let kind_a = sk.segment(0)[0];
        let kind_b = sk.segment(0)[2];
        assert_ne!(kind_a, kind_b);
        assert_eq!(kind_a & 0b110, 0b010);
        assert_eq!(kind_b & 0b110, 0b100);
        let q = sk.encode(&[0.9, 0.4, -0.2]);
        assert_eq!(hamming(&[q[0] & 0b110], &[kind_a & 0b110]), 0);
        assert_eq!(hamming(&[q[0] & 0b110], &[kind_b & 0b110]), 2);
    }
}
