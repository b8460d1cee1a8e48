//! The semantic arm: exact top-k by dot product (vectors are unit length, so
//! this is cosine similarity) over the memory-mapped vector segments.
//!
//! Rows are scanned in parallel blocks and the blocks' candidates merged.
//! The scan reads the one-bit sketches ([`Sketch`]), a shortlist is scored
//! from the int8 codes and its best rows exactly from the f32 vectors:
//! recall@10 against exact search 0.998 at a million passages
//! (BENCHMARKS.md, scale). `--exact` scans the f32 vectors instead.

use std::collections::HashSet;

use rayon::prelude::*;

use super::fuse::{sort_ranked, Ranked};
use crate::chunk::ChunkId;
use crate::store::sketch::{self, Sketch};
use crate::store::vectors::Segment;

/// Rows per parallel block.
const BLOCK: usize = 4096;

/// The (segment, first row) of every parallel block of [`BLOCK`] rows.
fn blocks(segments: &[Segment]) -> Vec<(usize, usize)> {
    segments
        .iter()
        .enumerate()
        .flat_map(|(s, seg)| (0..seg.rows()).step_by(BLOCK).map(move |start| (s, start)))
        .collect()
}

/// Dot product of two equal-length slices, written so the compiler
/// vectorises it (eight independent accumulators). The portable fallback of
/// [`dot`].
#[inline]
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for i in 0..chunks {
        let (x, y) = (&a[i * 8..i * 8 + 8], &b[i * 8..i * 8 + 8]);
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        s += a[i] * b[i];
    }
    s
}

/// AVX-512 dot product: four 16-lane FMA accumulators.
///
/// # Safety
/// The CPU must support AVX-512F (checked by [`dot_fn`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 64 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16 * k + 16 <= n, so both loads are in bounds.
            let x = unsafe { _mm512_loadu_ps(pa.add(i + 16 * k)) };
            let y = unsafe { _mm512_loadu_ps(pb.add(i + 16 * k)) };
            *acc = _mm512_fmadd_ps(x, y, *acc);
        }
        i += 64;
    }
    while i + 16 <= n {
        // SAFETY: i + 16 <= n.
        let x = unsafe { _mm512_loadu_ps(pa.add(i)) };
        let y = unsafe { _mm512_loadu_ps(pb.add(i)) };
        acc[0] = _mm512_fmadd_ps(x, y, acc[0]);
        i += 16;
    }
    let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    let mut s = _mm512_reduce_add_ps(sum);
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

/// AVX2 + FMA dot product: four 8-lane accumulators.
///
/// # Safety
/// The CPU must support AVX2 and FMA (checked by [`dot_fn`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8 * k + 8 <= n.
            let x = unsafe { _mm256_loadu_ps(pa.add(i + 8 * k)) };
            let y = unsafe { _mm256_loadu_ps(pb.add(i + 8 * k)) };
            *acc = _mm256_fmadd_ps(x, y, *acc);
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    let mut s: f32 = lanes.iter().sum();
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

/// A dot-product implementation.
pub type DotFn = fn(&[f32], &[f32]) -> f32;

/// The fastest dot product this CPU runs, chosen once at run time: the
/// default x86-64 target is SSE2-only, so without this the scan runs at a
/// quarter of the AVX-512 width.
pub fn dot_fn() -> DotFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected on this CPU.
            return |a, b| unsafe { dot_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA were detected on this CPU.
            return |a, b| unsafe { dot_avx2(a, b) };
        }
    }
    dot_portable
}

/// Dot product with the best instructions the CPU has.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    static DOT: std::sync::OnceLock<DotFn> = std::sync::OnceLock::new();
    (DOT.get_or_init(dot_fn))(a, b)
}

/// Rows kept from the sketch scan, per result asked for (at least
/// [`SKETCH_MIN`]). Chosen by measured recall@10 against exact search
/// (BENCHMARKS.md, scale).
const SKETCH_FACTOR: usize = 40;
/// The fewest rows kept from the sketch scan.
const SKETCH_MIN: usize = 2000;

/// The `limit` rows most similar to `query`, optionally only among `allowed`
/// chunk ids and never those `exclude` rejects. Measured against exact
/// search ([`search_exact`]) in BENCHMARKS.md (recall@10).
///
/// Three stages: the one-bit `sketch` of every row of `segments` is
/// compared with the query's by Hamming distance (48 bytes a row instead of
/// 384, so the scan that bounds latency reads an eighth of the memory); the
/// nearest `max(40 x limit, 2000)` rows that pass the filters are scored
/// from their int8 codes; the best `max(4 x limit, 200)` of those are
/// scored exactly from their f32 vectors. The cut is by a histogram of
/// distances, not a sort, and ties at the cut are taken in (segment, row)
/// order, so the result is deterministic. A sketch of another dimension
/// than `query` (which the store rules out: sketch, vectors and model share
/// the manifest's dimension) finds nothing.
pub fn search(
    segments: &[Segment],
    sketch: &Sketch,
    query: &[f32],
    limit: usize,
    allowed: Option<&HashSet<u64>>,
    exclude: &(dyn Fn(usize, usize) -> bool + Sync),
) -> Vec<Ranked> {
    debug_assert_eq!(sketch.dim(), query.len());
    if limit == 0 || sketch.dim() != query.len() {
        return Vec::new();
    }
    let (dim, words) = (query.len(), sketch.words());
    let qb = sketch.encode(query);
    let want = limit.saturating_mul(SKETCH_FACTOR).max(SKETCH_MIN);
    let blocks = blocks(segments);
    // Stage 1: the distance of every row, and their histogram.
    let scanned: Vec<(Vec<u16>, Vec<u32>)> = blocks
        .par_iter()
        .map(|&(s, start)| {
            let end = (start + BLOCK).min(segments[s].rows());
            let bits = &sketch.segment(s)[start * words..end * words];
            let mut dist = Vec::with_capacity(end - start);
            let mut hist = vec![0u32; dim + 1];
            sketch::scan(&qb, bits, dim as u32, &mut dist, &mut hist);
            (dist, hist)
        })
        .collect();
    let mut cum = vec![0usize; dim + 1];
    for (_, h) in &scanned {
        for (c, &n) in cum.iter_mut().zip(h) {
            *c += n as usize;
        }
    }
    for d in 1..=dim {
        cum[d] += cum[d - 1];
    }
    // Stage 2: rows up to a distance cut that leaves `want` rows passing the
    // filters; a cut that filters leave short is widened, and only the new
    // rows are checked.
    let mut cands: Vec<(u16, u32, u32)> = Vec::new();
    let mut target = want;
    let mut below: i32 = -1;
    loop {
        let cut = cum.iter().position(|&c| c >= target).unwrap_or(dim) as i32;
        let found: Vec<Vec<(u16, u32, u32)>> = blocks
            .par_iter()
            .zip(&scanned)
            .map(|(&(s, start), (dist, _))| {
                let ids = segments[s].ids();
                dist.iter()
                    .enumerate()
                    .filter(|&(_, &d)| i32::from(d) > below && i32::from(d) <= cut)
                    .map(|(i, &d)| (d, s, start + i))
                    .filter(|&(_, s, r)| {
                        !(allowed.is_some_and(|a| !a.contains(&ids[r])) || exclude(s, r))
                    })
                    .map(|(d, s, r)| (d, s as u32, r as u32))
                    .collect()
            })
            .collect();
        cands.extend(found.into_iter().flatten());
        if cands.len() >= want || cut as usize >= dim {
            break;
        }
        below = cut;
        target = target.saturating_mul(4);
    }
    cands.sort_unstable();
    cands.truncate(want);
    // Stage 3: int8 scores of the shortlist, then exact scores of the best.
    let mut q8 = Vec::with_capacity(dim);
    let qscale = crate::store::vectors::quantize(query, &mut q8);
    let dot8 = dot_i8_fn();
    let mut scored: Vec<(f32, u32, u32)> = cands
        .par_iter()
        .map(|&(_, s, r)| {
            let seg = &segments[s as usize];
            let r = r as usize;
            let approx =
                dot8(&q8, &seg.codes()[r * dim..(r + 1) * dim]) as f32 * qscale * seg.scales()[r];
            (approx, s, r as u32)
        })
        // A damaged row (NaN or infinite scale) is never ranked.
        .filter(|(approx, ..)| approx.is_finite())
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    scored.truncate(limit.saturating_mul(4).max(200));
    rescore(
        segments,
        query,
        limit,
        scored.into_iter().map(|(_, s, r)| (s, r)),
    )
}

/// The best `limit` of `rows` (segment, row) by exact dot product with
/// `query`, the vectors read by [`Segment::read_vector`].
fn rescore(
    segments: &[Segment],
    query: &[f32],
    limit: usize,
    rows: impl Iterator<Item = (u32, u32)>,
) -> Vec<Ranked> {
    let dot = dot_fn();
    let mut v = vec![0f32; query.len()];
    let mut top = TopK::new(limit);
    for (s, r) in rows {
        let seg = &segments[s as usize];
        let r = r as usize;
        seg.read_vector(r, &mut v);
        top.push(Ranked {
            id: ChunkId(seg.ids()[r]),
            score: dot(query, &v),
        });
    }
    top.into_vec()
}

/// Exact top-k without the int8 stage (for measuring recall).
pub fn search_exact(
    segments: &[Segment],
    query: &[f32],
    limit: usize,
    exclude: &(dyn Fn(usize, usize) -> bool + Sync),
) -> Vec<Ranked> {
    let dim = query.len();
    let blocks = blocks(segments);
    let partial: Vec<Vec<Ranked>> = blocks
        .par_iter()
        .map(|&(s, start)| {
            let seg = &segments[s];
            let end = (start + BLOCK).min(seg.rows());
            let (ids, m) = (seg.ids(), seg.matrix());
            let dot = dot_fn();
            let mut top = TopK::new(limit);
            for r in start..end {
                if !exclude(s, r) {
                    top.push(Ranked {
                        id: ChunkId(ids[r]),
                        score: dot(query, &m[r * dim..(r + 1) * dim]),
                    });
                }
            }
            top.into_vec()
        })
        .collect();
    let mut top = TopK::new(limit);
    for r in partial.into_iter().flatten() {
        top.push(r);
    }
    top.into_vec()
}

/// An int8 dot-product implementation.
pub type DotI8Fn = fn(&[i8], &[i8]) -> i32;

/// Portable int8 dot product.
pub fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum()
}

/// AVX-512BW int8 dot product: widen to i16, multiply-add pairs to i32.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW (checked by [`dot_i8_fn`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dot_i8_avx512(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm512_setzero_si512();
    let mut acc1 = _mm512_setzero_si512();
    let mut i = 0;
    while i + 64 <= n {
        // SAFETY: i + 64 <= n, so both 32-byte loads at i and i + 32 are in bounds.
        unsafe {
            let x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pa.add(i) as *const __m256i));
            let y0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pb.add(i) as *const __m256i));
            let x1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pa.add(i + 32) as *const __m256i));
            let y1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pb.add(i + 32) as *const __m256i));
            acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(x0, y0));
            acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(x1, y1));
        }
        i += 64;
    }
    let mut sum = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
    while i < n {
        sum += i32::from(a[i]) * i32::from(b[i]);
        i += 1;
    }
    sum
}

/// AVX2 int8 dot product.
///
/// # Safety
/// The CPU must support AVX2 (checked by [`dot_i8_fn`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n.
        unsafe {
            let x = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.add(i) as *const __m128i));
            let y = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.add(i) as *const __m128i));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
        }
        i += 16;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 8 i32.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
    let mut sum: i32 = lanes.iter().sum();
    while i < n {
        sum += i32::from(a[i]) * i32::from(b[i]);
        i += 1;
    }
    sum
}

/// The fastest int8 dot product this CPU runs, chosen at run time.
pub fn dot_i8_fn() -> DotI8Fn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: AVX-512F/BW were detected on this CPU.
            return |a, b| unsafe { dot_i8_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected on this CPU.
            return |a, b| unsafe { dot_i8_avx2(a, b) };
        }
    }
    dot_i8_portable
}

/// A bounded best-k list with deterministic ties (score, then lower id).
struct TopK {
    k: usize,
    items: Vec<Ranked>,
    min: f32,
}

impl TopK {
    fn new(k: usize) -> TopK {
        TopK {
            k,
            // Grown as needed: `k` may be far more than there are rows.
            items: Vec::with_capacity(k.saturating_mul(2).min(4096)),
            min: f32::NEG_INFINITY,
        }
    }

    /// Keep `r` if it may be among the best `k`. A score that is not a
    /// finite number (a damaged vector: NaN sorts above every number under
    /// `total_cmp`) is never ranked.
    fn push(&mut self, r: Ranked) {
        if !r.score.is_finite() || (self.items.len() >= self.k && r.score < self.min) {
            return;
        }
        self.items.push(r);
        if self.items.len() >= self.k.saturating_mul(2) {
            self.shrink();
        }
    }

    fn shrink(&mut self) {
        sort_ranked(&mut self.items);
        self.items.truncate(self.k);
        self.min = self.items.last().map_or(f32::NEG_INFINITY, |r| r.score);
    }

    fn into_vec(mut self) -> Vec<Ranked> {
        self.shrink();
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::vectors::{write, Row};

    #[test]
    fn int8_dot_matches_naive() {
        for n in [0, 1, 15, 16, 63, 64, 384, 385] {
            let a: Vec<i8> = (0..n).map(|i| ((i * 37 % 255) - 127) as i8).collect();
            let b: Vec<i8> = (0..n).map(|i| ((i * 91 % 255) - 127) as i8).collect();
            assert_eq!(dot_i8_fn()(&a, &b), dot_i8_portable(&a, &b), "{n}");
        }
    }

    #[test]
    fn dot_matches_naive() {
        for n in [0, 1, 7, 16, 37, 64, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-3, "{n}");
            assert!((dot_portable(&a, &b) - naive).abs() < 1e-3, "{n}");
        }
    }

    #[test]
    fn exact_top_k_with_filters_and_ties() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.vec");
        let rows: Vec<Row> = (0..10_000u64)
            .map(|i| {
                let x = (i % 100) as f32 / 100.0;
                Row {
                    id: i,
                    episode: i / 10,
                    start_ms: 0,
                    vector: vec![x, (1.0 - x * x).sqrt()],
                }
            })
            .collect();
        write(&p, 2, &rows).unwrap();
        let seg = Segment::open(&p, 2).unwrap();
        let segs = [seg];
        let sk = &Sketch::build(&segs, 2);
        let got = search(&segs, sk, &[1.0, 0.0], 3, None, &|_, _| false);
        // x = 0.99 for ids 99, 199, 299...: ties broken by lower id.
        assert_eq!(
            got.iter().map(|r| r.id.0).collect::<Vec<_>>(),
            vec![99, 199, 299]
        );
        // The filter leaves rows far from the query (5 and 7): the
        // sketch stage must widen its cut to find them.
        let allowed: HashSet<u64> = [5, 7, 199].into_iter().collect();
        let got = search(&segs, sk, &[1.0, 0.0], 2, Some(&allowed), &|_, _| false);
        assert_eq!(got.iter().map(|r| r.id.0).collect::<Vec<_>>(), vec![199, 7]);
        let got = search(&segs, sk, &[1.0, 0.0], 1, None, &|_, r| r == 99);
        assert_eq!(got[0].id.0, 199);
        assert!(search(&segs, sk, &[1.0, 0.0], 0, None, &|_, _| false).is_empty());
    }
}
