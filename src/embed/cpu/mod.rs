//! podsift's own CPU engine: one BERT encoder with a tier per instruction
//! set, chosen at run time from what the processor has.
//!
//! | tier | products | where |
//! |---|---|---|
//! | [`Tier::Amx`] | bf16 tiles, f32 accumulation (`embed::amx`) | Intel Sapphire Rapids and later |
//! | [`Tier::Avx512Bf16`] | bf16 pairs (`vdpbf16ps`), f32 accumulation | Zen 4/5, Cooper Lake, SPR without AMX |
//! | [`Tier::Avx512`] | f32, 512-bit FMA | Skylake-SP and later, Zen 4/5 |
//! | [`Tier::Avx2`] | f32, 256-bit FMA | x86-64 since Haswell / Zen 1 |
//! | [`Tier::Neon`] | f32, 128-bit FMA | every aarch64 CPU |
//!
//! Everything but the products is shared: the tiers below AMX run one
//! forward pass (`bert.rs`) over one packed-panel product (`gemm.rs`) and
//! one set of element-wise steps (`math.rs`), compiled once per tier
//! inside that tier's `#[target_feature]` functions (the `tier_kernels!`
//! macro), so the same Rust becomes AVX2, AVX-512 or NEON code. Each
//! tier's file says what differs: its register block, for AVX-512F a
//! micro-kernel in intrinsics (the plain-Rust one did not vectorise at
//! that block's size), and for bf16 its own weight packing and
//! micro-kernel.
//!
//! The tiers are tried fastest first ([`Tier::ranked`]): [`Tier::ALL`]'s
//! order, but the bf16 dot-product tier only ahead of the AVX-512 f32 one
//! where a timed product says so (on a Sapphire Rapids-class Xeon
//! `vdpbf16ps` gives half the FMA's FLOP rate, so f32 wins there when AMX
//! is not used).
//!
//! Every tier gives the vectors of sentence-transformers to within float
//! rounding (f32 tiers) or bf16 rounding of the products (bf16 tiers), so
//! an index built with one is searched with another. Before a tier is used
//! it multiplies a small matrix and compares with a plain reference
//! ([`Encoder::load`]); a tier that fails is not used.

use crate::embed::weights::{Act, BertWeights, LoadError};

pub mod bert;
pub mod gemm;
pub mod math;

/// The element-wise and f32 product entry points of a tier, compiled with
/// its target features (`$feat`) and its register block (`$mr` rows by
/// `$nr` columns).
macro_rules! tier_kernels {
    ($feat:literal, $mr:literal, $nr:literal) => {
        tier_kernels!($feat, $mr, $nr, $crate::embed::cpu::gemm::micro::<$mr, $nr>);
    };
    ($feat:literal, $mr:literal, $nr:literal, $micro:expr) => {
        /// `C = A B` over panels `p0..p1` (see `gemm::drive`).
        ///
        /// # Safety
        /// The tier's features present; as `gemm::drive`.
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn gemm_f32(
            a: *const f32,
            lda: usize,
            rows: usize,
            b: &$crate::embed::cpu::gemm::Packed,
            p0: usize,
            p1: usize,
            c: *mut f32,
            ldc: usize,
        ) {
            // SAFETY: passed on from the caller; each block is inside A, B
            // and C as the micro-kernel requires (`gemm::drive`).
            unsafe {
                $crate::embed::cpu::gemm::drive::<$mr, $nr>(
                    a,
                    lda,
                    rows,
                    b,
                    p0,
                    p1,
                    c,
                    ldc,
                    |a, lda, b, kc, c, ldc, acc, rows, cols| {
                        $micro(a, lda, b, kc, c, ldc, acc, rows, cols)
                    },
                )
            }
        }

        /// See `math::bias_act`.
        ///
        /// # Safety
        /// The tier's features present; as `math::bias_act`.
        #[target_feature(enable = $feat)]
        pub(super) unsafe fn bias_act(
            c: *mut f32,
            ldc: usize,
            rows: usize,
            bias: &[f32],
            act: Option<$crate::embed::weights::Act>,
        ) {
            // SAFETY: passed on from the caller.
            unsafe { $crate::embed::cpu::math::bias_act(c, ldc, rows, bias, act) }
        }

        /// See `math::add_layer_norm`.
        ///
        /// # Safety
        /// The tier's features present.
        #[target_feature(enable = $feat)]
        pub(super) unsafe fn add_layer_norm(
            x: &mut [f32],
            add: &[f32],
            bias: &[f32],
            gamma: &[f32],
            beta: &[f32],
            eps: f32,
        ) {
            $crate::embed::cpu::math::add_layer_norm(x, add, bias, gamma, beta, eps)
        }

        /// Softmax of `rows` rows of `n` scores at stride `lds`.
        ///
        /// # Safety
        /// The tier's features present; `s` valid for the rows.
        #[target_feature(enable = $feat)]
        pub(super) unsafe fn softmax_rows(
            s: *mut f32,
            lds: usize,
            rows: usize,
            n: usize,
            scale: f32,
        ) {
            for r in 0..rows {
                // SAFETY: row r (caller).
                let row = unsafe { std::slice::from_raw_parts_mut(s.add(r * lds), n) };
                $crate::embed::cpu::math::softmax(row, scale);
            }
        }
    };
}

/// `impl Kernels` for an f32 tier `$ty` whose module invoked
/// `tier_kernels!` (so its weights are f32 panels and every method is one
/// of those functions).
macro_rules! f32_tier {
    ($ty:ident, $tier:expr, $nr:literal, $available:expr) => {
        impl $crate::embed::cpu::Kernels for $ty {
            const TIER: $crate::embed::cpu::Tier = $tier;
            const NR: usize = $nr;
            type Weight = $crate::embed::cpu::gemm::Packed;

            fn available() -> bool {
                $available
            }

            fn pack(w: &[f32], n: usize, k: usize) -> Self::Weight {
                $crate::embed::cpu::gemm::Packed::from_nk(w, n, k, $nr)
            }

            fn panels(w: &Self::Weight) -> usize {
                w.panels()
            }

            unsafe fn gemm_weight(
                a: *const f32,
                lda: usize,
                rows: usize,
                w: &Self::Weight,
                p0: usize,
                p1: usize,
                c: *mut f32,
                ldc: usize,
            ) {
                // SAFETY: passed on from the caller.
                unsafe { self::gemm_f32(a, lda, rows, w, p0, p1, c, ldc) }
            }

            unsafe fn gemm(
                a: *const f32,
                lda: usize,
                rows: usize,
                b: &$crate::embed::cpu::gemm::Packed,
                p0: usize,
                p1: usize,
                c: *mut f32,
                ldc: usize,
            ) {
                // SAFETY: passed on from the caller.
                unsafe { self::gemm_f32(a, lda, rows, b, p0, p1, c, ldc) }
            }

            unsafe fn bias_act(
                c: *mut f32,
                ldc: usize,
                rows: usize,
                bias: &[f32],
                act: Option<$crate::embed::weights::Act>,
            ) {
                // SAFETY: passed on from the caller.
                unsafe { self::bias_act(c, ldc, rows, bias, act) }
            }

            unsafe fn add_layer_norm(
                x: &mut [f32],
                add: &[f32],
                bias: &[f32],
                gamma: &[f32],
                beta: &[f32],
                eps: f32,
            ) {
                // SAFETY: passed on from the caller.
                unsafe { self::add_layer_norm(x, add, bias, gamma, beta, eps) }
            }

            unsafe fn softmax_rows(s: *mut f32, lds: usize, rows: usize, n: usize, scale: f32) {
                // SAFETY: passed on from the caller.
                unsafe { self::softmax_rows(s, lds, rows, n, scale) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
#[cfg(target_arch = "x86_64")]
pub mod avx512bf16;
#[cfg(target_arch = "aarch64")]
pub mod neon;

#[cfg(test)]
mod candle_parity;
#[cfg(test)]
mod tests;

use bert::Bert;
use gemm::Packed;

/// What a tier provides to the shared forward pass. Implemented by one
/// unit type per tier; every method but `pack` and `panels` runs that
/// tier's instructions, so callers must know the CPU has them
/// ([`Kernels::available`]; [`Bert`] is only built for available tiers).
pub trait Kernels: Send + Sync + Sized + 'static {
    /// Which tier.
    const TIER: Tier;
    /// Panel width of its f32 operands.
    const NR: usize;
    /// A dense layer's weights in the tier's layout.
    type Weight: Send + Sync;
    /// Whether this CPU and OS run the tier.
    fn available() -> bool;
    /// Pack a PyTorch `Linear` weight (`n` rows of `k`).
    fn pack(w: &[f32], n: usize, k: usize) -> Self::Weight;
    /// Column panels of a packed weight.
    fn panels(w: &Self::Weight) -> usize;
    /// `C = A W^T` over `rows` rows and the panels `p0..p1` of `w`.
    ///
    /// # Safety
    /// [`Kernels::available`]; `a` readable for `rows` rows of the weight's
    /// `k` at stride `lda`; `c` writable for `rows` rows at stride `ldc`
    /// over the panels' columns.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_weight(
        a: *const f32,
        lda: usize,
        rows: usize,
        w: &Self::Weight,
        p0: usize,
        p1: usize,
        c: *mut f32,
        ldc: usize,
    );
    /// `C = A B` in f32 (attention).
    ///
    /// # Safety
    /// As [`Kernels::gemm_weight`], with `b.nr == Self::NR`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        a: *const f32,
        lda: usize,
        rows: usize,
        b: &Packed,
        p0: usize,
        p1: usize,
        c: *mut f32,
        ldc: usize,
    );
    /// `c = act(c + bias)` over `rows` rows of `bias.len()`.
    ///
    /// # Safety
    /// [`Kernels::available`]; `c` valid for the rows.
    unsafe fn bias_act(c: *mut f32, ldc: usize, rows: usize, bias: &[f32], act: Option<Act>);
    /// `x = LayerNorm(x + add + bias)` of one row.
    ///
    /// # Safety
    /// [`Kernels::available`].
    unsafe fn add_layer_norm(
        x: &mut [f32],
        add: &[f32],
        bias: &[f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    );
    /// Scaled softmax of `rows` rows of `n` at stride `lds`.
    ///
    /// # Safety
    /// [`Kernels::available`]; `s` valid for the rows.
    unsafe fn softmax_rows(s: *mut f32, lds: usize, rows: usize, n: usize, scale: f32);
}

/// An engine tier of our own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Intel AMX bf16 tiles.
    Amx,
    /// AVX-512 BF16 dot products.
    Avx512Bf16,
    /// AVX-512F f32.
    Avx512,
    /// AVX2 + FMA f32.
    Avx2,
    /// aarch64 NEON f32.
    Neon,
}

impl Tier {
    /// Every tier, fastest first.
    pub const ALL: [Tier; 5] = [
        Tier::Amx,
        Tier::Avx512Bf16,
        Tier::Avx512,
        Tier::Avx2,
        Tier::Neon,
    ];

    /// The name `PODSIFT_ENGINE` takes and `stats` shows.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Amx => "amx",
            Tier::Avx512Bf16 => "avx512bf16",
            Tier::Avx512 => "avx512",
            Tier::Avx2 => "avx2",
            Tier::Neon => "neon",
        }
    }

    /// The tier called `name`.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The engine's name with its precision, as `stats` and the manifest
    /// give it (`"avx2-f32"`, `"amx-bf16"`).
    pub fn engine_name(self) -> &'static str {
        match self {
            Tier::Amx => "amx-bf16",
            Tier::Avx512Bf16 => "avx512bf16-bf16",
            Tier::Avx512 => "avx512-f32",
            Tier::Avx2 => "avx2-f32",
            Tier::Neon => "neon-f32",
        }
    }

    /// What its products compute in: `"bf16"` or `"f32"`.
    pub fn precision(self) -> &'static str {
        match self {
            Tier::Amx | Tier::Avx512Bf16 => "bf16",
            _ => "f32",
        }
    }

    /// Whether this CPU (and OS) runs it.
    pub fn is_available(self) -> bool {
        match self {
            Tier::Amx => crate::embed::amx::available(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512Bf16 => <avx512bf16::Avx512Bf16 as Kernels>::available(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => <avx512::Avx512 as Kernels>::available(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => <avx2::Avx2 as Kernels>::available(),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The fastest tier this CPU runs, if any (the first of
    /// [`Tier::ranked`]).
    pub fn best() -> Option<Tier> {
        Tier::ranked().first().copied()
    }

    /// The tiers this CPU runs, fastest first: [`Tier::ALL`]'s order,
    /// except that the bf16 dot-product tier goes after the AVX-512 f32
    /// one where it measures slower. `vdpbf16ps` does twice the
    /// multiply-adds of an f32 FMA per instruction, but not every CPU
    /// issues it as often: on a Sapphire Rapids host it ran at a quarter
    /// of the FMA's rate (half its FLOPs). So where neither is beaten by
    /// AMX the two are timed once on a dense layer's product (a few
    /// milliseconds, the first time a process asks).
    pub fn ranked() -> Vec<Tier> {
        let mut tiers: Vec<Tier> = Tier::ALL.into_iter().filter(|t| t.is_available()).collect();
        let at = |t: Tier, ts: &[Tier]| ts.iter().position(|x| *x == t);
        if let (Some(b), Some(f)) = (at(Tier::Avx512Bf16, &tiers), at(Tier::Avx512, &tiers)) {
            if tiers[0] != Tier::Amx && !bf16_products_faster() {
                tiers.swap(b, f);
            }
        }
        tiers
    }
}

/// Whether the AVX-512 BF16 tier's weight product beats the AVX-512F
/// tier's on this CPU: each times a `MC x 384` by `384 x 1536` product (an
/// FFN layer's task) three times, best of three. Measured once a process.
#[cfg(target_arch = "x86_64")]
fn bf16_products_faster() -> bool {
    static FASTER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FASTER.get_or_init(|| {
        let bf16 = time_product::<avx512bf16::Avx512Bf16>();
        let f32 = time_product::<avx512::Avx512>();
        bf16 < f32
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn bf16_products_faster() -> bool {
    false
}

/// Best of three timings of one task of a dense layer's product on `K`
/// (which must be available).
#[cfg(target_arch = "x86_64")]
fn time_product<K: Kernels>() -> std::time::Duration {
    let (m, k, n) = (gemm::MC, 384, 1536);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
    let w: Vec<f32> = (0..n * k).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
    let packed = K::pack(&w, n, k);
    let mut c = vec![0f32; m * n];
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            // SAFETY: K is available (caller).
            unsafe { whole_weight_product::<K>(&a, m, k, &packed, &mut c, n) };
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a tier could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierError {
    /// The CPU lacks its instructions.
    #[error("the {0} engine needs instructions this CPU does not have")]
    Unavailable(Tier),
    /// Its products disagreed with the reference on this machine.
    #[error("the {0} engine failed its self-check on this CPU")]
    SelfCheck(Tier),
    /// The model does not fit our engine.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// A model loaded on one tier.
pub enum Encoder {
    /// AMX.
    Amx(crate::embed::amx::Encoder),
    /// AVX-512 BF16.
    #[cfg(target_arch = "x86_64")]
    Avx512Bf16(Bert<avx512bf16::Avx512Bf16>),
    /// AVX-512F.
    #[cfg(target_arch = "x86_64")]
    Avx512(Bert<avx512::Avx512>),
    /// AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(Bert<avx2::Avx2>),
    /// NEON.
    #[cfg(target_arch = "aarch64")]
    Neon(Bert<neon::Neon>),
}

impl Encoder {
    /// Pack `weights` for `tier`, after checking that the CPU runs it and
    /// that its products agree with a plain reference here.
    pub fn load(tier: Tier, weights: BertWeights) -> Result<Encoder, TierError> {
        if !tier.is_available() {
            return Err(TierError::Unavailable(tier));
        }
        match tier {
            Tier::Amx => crate::embed::amx::Encoder::new(weights)
                .map(Encoder::Amx)
                .ok_or(TierError::Unavailable(tier)),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512Bf16 => checked::<avx512bf16::Avx512Bf16>(weights).map(Encoder::Avx512Bf16),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => checked::<avx512::Avx512>(weights).map(Encoder::Avx512),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => checked::<avx2::Avx2>(weights).map(Encoder::Avx2),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => checked::<neon::Neon>(weights).map(Encoder::Neon),
            #[allow(unreachable_patterns)]
            _ => Err(TierError::Unavailable(tier)),
        }
    }

    /// The tier it runs on.
    pub fn tier(&self) -> Tier {
        match self {
            Encoder::Amx(_) => Tier::Amx,
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512Bf16(_) => Tier::Avx512Bf16,
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512(_) => Tier::Avx512,
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx2(_) => Tier::Avx2,
            #[cfg(target_arch = "aarch64")]
            Encoder::Neon(_) => Tier::Neon,
        }
    }

    /// Longest sequence it takes.
    pub fn max_len(&self) -> usize {
        match self {
            Encoder::Amx(e) => e.max_len(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512Bf16(b) => b.max_len(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512(b) => b.max_len(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx2(b) => b.max_len(),
            #[cfg(target_arch = "aarch64")]
            Encoder::Neon(b) => b.max_len(),
        }
    }

    /// Pooled, L2-normalised embeddings of token id sequences, in order.
    /// Sequences are cut at [`Encoder::max_len`]; an empty one gives a zero
    /// vector (as candle's masked mean does). Put sequences of similar
    /// length next to each other (sorted) for even batches.
    pub fn embed(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        let max = self.max_len();
        let cut: Vec<&[u32]> = seqs.iter().map(|s| &s[..s.len().min(max)]).collect();
        let nonempty: Vec<&[u32]> = cut.iter().copied().filter(|s| !s.is_empty()).collect();
        let mut vecs = match self {
            Encoder::Amx(e) => e.embed(&nonempty),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512Bf16(b) => b.embed(&nonempty),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512(b) => b.embed(&nonempty),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx2(b) => b.embed(&nonempty),
            #[cfg(target_arch = "aarch64")]
            Encoder::Neon(b) => b.embed(&nonempty),
        }
        .into_iter();
        let dim = self.dim();
        cut.iter()
            .map(|s| {
                if s.is_empty() {
                    vec![0.0; dim]
                } else {
                    vecs.next().unwrap_or_else(|| vec![0.0; dim])
                }
            })
            .collect()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        match self {
            Encoder::Amx(e) => e.dim(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512Bf16(b) => b.dim(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx512(b) => b.dim(),
            #[cfg(target_arch = "x86_64")]
            Encoder::Avx2(b) => b.dim(),
            #[cfg(target_arch = "aarch64")]
            Encoder::Neon(b) => b.dim(),
        }
    }
}

/// `weights` packed for `K`, if its products pass [`self_check`].
fn checked<K: Kernels>(weights: BertWeights) -> Result<Bert<K>, TierError> {
    if !self_check::<K>() {
        return Err(TierError::SelfCheck(K::TIER));
    }
    Bert::new(weights).ok_or(TierError::Unavailable(K::TIER))
}

/// `c = a w^T` over every panel of the packed weight `w` (`n` rows of
/// `k`), `a` being `m` rows of `k` and `c` `m` rows of `n`.
///
/// # Safety
/// `K` is available on this CPU.
unsafe fn whole_weight_product<K: Kernels>(
    a: &[f32],
    m: usize,
    k: usize,
    w: &K::Weight,
    c: &mut [f32],
    n: usize,
) {
    assert!(a.len() >= m * k && c.len() >= m * n);
    // SAFETY: K is available (caller); the lengths are checked above and
    // the panels are the weight's.
    unsafe { K::gemm_weight(a.as_ptr(), k, m, w, 0, K::panels(w), c.as_mut_ptr(), n) };
}

/// Multiply a 13 x 70 by a 70 x 45 matrix (tails in every direction) with
/// the tier's weight product and its f32 product, and compare with the
/// f64 reference: bf16 products within bf16 rounding, f32 within f32's.
pub fn self_check<K: Kernels>() -> bool {
    if !K::available() {
        return false;
    }
    let (m, k, n) = (13, 70, 45);
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 8.0)
        .collect();
    let w: Vec<f32> = (0..n * k)
        .map(|i| ((i * 29 % 19) as f32 - 9.0) / 16.0)
        .collect();
    let want = gemm::reference(&a, k, m, k, n, |i, j| w[j * k + i]);
    let tol = if K::TIER.precision() == "bf16" {
        0.02
    } else {
        1e-4
    };
    let packed = K::pack(&w, n, k);
    let mut c = vec![f32::NAN; m * n];
    // SAFETY: available (checked above).
    unsafe { whole_weight_product::<K>(&a, m, k, &packed, &mut c, n) };
    let close = |c: &[f32]| {
        c.iter()
            .zip(&want)
            .all(|(g, w)| (g - w).abs() <= tol * (1.0 + w.abs()))
    };
    if !close(&c) {
        return false;
    }
    let mut b = Packed::empty(K::NR);
    b.fill(n, k, |i, j| w[j * k + i]);
    let mut c = vec![f32::NAN; m * n];
    // SAFETY: as above.
    unsafe { K::gemm(a.as_ptr(), k, m, &b, 0, b.panels(), c.as_mut_ptr(), n) };
    let f32_tol = 1e-4;
    c.iter()
        .zip(&want)
        .all(|(g, w)| (g - w).abs() <= f32_tol * (1.0 + w.abs()))
}
