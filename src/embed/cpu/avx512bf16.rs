//! The AVX-512 BF16 tier: the dense layers' products take bf16 pairs
//! (`vdpbf16ps`: per 32-bit lane, `acc += a0 b0 + a1 b1` with f32
//! accumulation), twice the multiply-adds of an f32 FMA per instruction;
//! attention, the element-wise steps and the residual stream stay f32 (the
//! AVX-512F tier's code).
//!
//! Packing follows the AMX tier's idea: weights are rounded to bf16 once,
//! at load, into panels of 32 columns where each 32-bit lane holds one
//! column's values at `k = 2q` and `2q + 1`; a task converts its rows of
//! the activations to bf16 pairs once, and the 12 x 32 micro-kernel
//! broadcasts a row's pair against two panel vectors. The micro-kernel is
//! the only code here that needs the instructions: the packing and the
//! driver are also run, on every host, with a scalar kernel of the same
//! arithmetic (`micro_scalar`), which the tests compare with the f64
//! reference.

use std::arch::x86_64::*;

use super::avx512;
use super::gemm::Packed;
use super::{Kernels, Tier};
use crate::embed::buf::Buf;
use crate::embed::weights::Act;

/// Rows of the register block.
const MR: usize = 12;
/// Columns of the register block (two 16-lane vectors).
const NR: usize = 32;
/// Pairs of `k` per block: a `KCP x 32` panel slice of pairs is 16 KiB.
const KCP: usize = 128;

/// f32 to bf16, rounding to nearest even (a NaN stays a NaN).
pub fn bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// bf16 to f32 (exact).
pub fn f32_of(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// A dense layer's weights as bf16 pairs in panels of 32 columns.
pub struct PackedBf16 {
    data: Buf<u16>,
    n: usize,
    k: usize,
    pairs: usize,
}

impl PackedBf16 {
    /// Pack a PyTorch `Linear` weight, `w[j * k + i]` (`n` rows of `k`).
    pub fn from_nk(w: &[f32], n: usize, k: usize) -> PackedBf16 {
        assert!(w.len() >= n * k, "weight shorter than n x k");
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(NR);
        let mut data = Buf::<u16>::zeroed(panels * pairs * NR * 2);
        let out = data.as_mut_slice();
        for p in 0..panels {
            for q in 0..pairs {
                for c in 0..NR {
                    let col = p * NR + c;
                    for half in 0..2 {
                        let i = 2 * q + half;
                        if col < n && i < k {
                            out[((p * pairs + q) * NR + c) * 2 + half] = bf16(w[col * k + i]);
                        }
                    }
                }
            }
        }
        PackedBf16 { data, n, k, pairs }
    }

    /// Column panels.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }
}

/// One block: `C[rows][cols] (+)= A[MR][2 kcp] B[2 kcp][NR]`, `A` as bf16
/// pairs (`u32`, low half first) at stride `lda` pairs, `B` a panel slice.
type Micro = unsafe fn(*const u32, usize, *const u16, usize, *mut f32, usize, bool, usize, usize);

/// One row of `k` f32 values to `ceil(k / 2)` bf16 pairs (`u32`, low half
/// first: the bf16 values in the row's order), the last pair's high half
/// zero when `k` is odd.
type ToPairs = unsafe fn(*const f32, usize, *mut u32);

/// [`ToPairs`] one value at a time.
///
/// # Safety
/// `src` readable for `k` values, `dst` writable for `ceil(k / 2)`.
pub(super) unsafe fn pairs_scalar(src: *const f32, k: usize, dst: *mut u32) {
    for q in 0..k.div_ceil(2) {
        // SAFETY: 2q < k; 2q + 1 read only when below k (caller).
        unsafe {
            let lo = *src.add(2 * q);
            let hi = if 2 * q + 1 < k {
                *src.add(2 * q + 1)
            } else {
                0.0
            };
            *dst.add(q) = bf16(lo) as u32 | (bf16(hi) as u32) << 16;
        }
    }
}

/// [`ToPairs`] 32 values at a time (`vcvtne2ps2bf16`: round to nearest
/// even, as [`bf16()`] for every finite value), the tail as
/// [`pairs_scalar`].
///
/// # Safety
/// AVX-512 F and BF16 present; as [`pairs_scalar`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub(super) unsafe fn pairs_avx512(src: *const f32, k: usize, dst: *mut u32) {
    let whole = k / 32 * 32;
    let mut i = 0;
    while i < whole {
        // SAFETY: values i..i + 32 < k of the row, pairs i / 2.. of dst.
        unsafe {
            let lo = _mm512_loadu_ps(src.add(i));
            let hi = _mm512_loadu_ps(src.add(i + 16));
            let v: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
            _mm512_storeu_si512(dst.add(i / 2) as *mut __m512i, v);
        }
        i += 32;
    }
    // SAFETY: the rest of the row and of dst.
    unsafe { pairs_scalar(src.add(whole), k - whole, dst.add(whole / 2)) };
}

/// The product over panels `p0..p1` of `w`, with `micro` for each block.
///
/// # Safety
/// `a` readable for `rows` rows of the weight's `k` values at stride
/// `lda`; `c` writable for `rows` rows over the
/// panels' columns; `micro` and `to_pairs` runnable here.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn drive(
    a: *const f32,
    lda: usize,
    rows: usize,
    w: &PackedBf16,
    p0: usize,
    p1: usize,
    c: *mut f32,
    ldc: usize,
    micro: Micro,
    to_pairs: ToPairs,
) {
    let pairs = w.pairs;
    // The rows as bf16 pairs, zero past `rows` (to a multiple of MR) and
    // past an odd `k`.
    let mut ab = vec![0u32; rows.div_ceil(MR) * MR * pairs];
    for r in 0..rows {
        // SAFETY: row r < rows has the weight's k values (caller); its
        // pairs fit in `ab`.
        unsafe { to_pairs(a.add(r * lda), w.k, ab.as_mut_ptr().add(r * pairs)) };
    }
    let mut q0 = 0;
    while q0 < pairs {
        let kcp = (pairs - q0).min(KCP);
        for p in p0..p1 {
            let cols = (w.n - p * NR).min(NR);
            // SAFETY: pairs q0.. of panel p.
            let bp = unsafe { w.data.as_ptr().add(((p * pairs + q0) * NR) * 2) };
            let mut r0 = 0;
            while r0 < rows {
                // SAFETY: MR rows of `ab` from r0 (padded), C rows below
                // `rows`, columns of panel p below n.
                unsafe {
                    micro(
                        ab.as_ptr().add(r0 * pairs + q0),
                        pairs,
                        bp,
                        kcp,
                        c.add(r0 * ldc + p * NR),
                        ldc,
                        q0 > 0,
                        (rows - r0).min(MR),
                        cols,
                    )
                };
                r0 += MR;
            }
        }
        q0 += kcp;
    }
}

/// The micro-kernel's arithmetic one value at a time: `vdpbf16ps`'s
/// products of bf16 pairs, summed in f32.
///
/// # Safety
/// As [`Micro`]: `a` MR rows of `kcp` pairs at stride `lda`, `b` `kcp`
/// pair rows of [`NR`], `c` `rows` rows of `cols`.
#[allow(clippy::too_many_arguments)]
unsafe fn micro_scalar(
    a: *const u32,
    lda: usize,
    b: *const u16,
    kcp: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    rows: usize,
    cols: usize,
) {
    for r in 0..rows {
        for j in 0..cols {
            // SAFETY: inside the block (caller).
            unsafe {
                let mut s = if accumulate { *c.add(r * ldc + j) } else { 0.0 };
                for q in 0..kcp {
                    let pair = *a.add(r * lda + q);
                    let b0 = *b.add((q * NR + j) * 2);
                    let b1 = *b.add((q * NR + j) * 2 + 1);
                    s +=
                        f32_of(pair as u16) * f32_of(b0) + f32_of((pair >> 16) as u16) * f32_of(b1);
                }
                *c.add(r * ldc + j) = s;
            }
        }
    }
}

/// The register block with `vdpbf16ps`.
///
/// # Safety
/// AVX-512 F, BW, VL and BF16 present; as [`micro_scalar`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
unsafe fn micro_avx512(
    a: *const u32,
    lda: usize,
    b: *const u16,
    kcp: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    rows: usize,
    cols: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for q in 0..kcp {
        // SAFETY: pair row q of the panel slice: 64 bf16 (caller).
        let (b0, b1): (__m512bh, __m512bh) = unsafe {
            let p = b.add(q * NR * 2);
            (
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(p as *const __m512i)),
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                    p.add(32) as *const __m512i
                )),
            )
        };
        for r in 0..MR {
            // SAFETY: row r's pair q (caller).
            let av = unsafe {
                std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                    *a.add(r * lda + q) as i32
                ))
            };
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    for r in 0..rows {
        // SAFETY: row r < rows of C, columns below cols (caller).
        unsafe { avx512::store_row(c.add(r * ldc), cols, accumulate, acc[r]) };
    }
}

/// The weight product with `vdpbf16ps`.
///
/// # Safety
/// The tier available; as [`drive`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_bf16(
    a: *const f32,
    lda: usize,
    rows: usize,
    w: &PackedBf16,
    p0: usize,
    p1: usize,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY: passed on; the features are enabled here.
    unsafe { drive(a, lda, rows, w, p0, p1, c, ldc, micro_avx512, pairs_avx512) }
}

/// The weight product with the scalar kernel: the packing and the driver
/// of this tier, runnable on any CPU (for the tests).
///
/// # Safety
/// As the driver: `a` readable for `rows` rows of the weight's `k` at
/// stride `lda`; `c` writable for `rows` rows over the panels' columns.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_scalar(
    a: *const f32,
    lda: usize,
    rows: usize,
    w: &PackedBf16,
    p0: usize,
    p1: usize,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY: passed on.
    unsafe { drive(a, lda, rows, w, p0, p1, c, ldc, micro_scalar, pairs_scalar) }
}

/// The AVX-512 BF16 tier.
pub struct Avx512Bf16;

impl Kernels for Avx512Bf16 {
    const TIER: Tier = Tier::Avx512Bf16;
    const NR: usize = 32;
    type Weight = PackedBf16;

    fn available() -> bool {
        <avx512::Avx512 as Kernels>::available()
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512bf16")
    }

    fn pack(w: &[f32], n: usize, k: usize) -> PackedBf16 {
        PackedBf16::from_nk(w, n, k)
    }

    fn panels(w: &PackedBf16) -> usize {
        w.panels()
    }

    unsafe fn gemm_weight(
        a: *const f32,
        lda: usize,
        rows: usize,
        w: &PackedBf16,
        p0: usize,
        p1: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        // SAFETY: passed on from the caller.
        unsafe { gemm_bf16(a, lda, rows, w, p0, p1, c, ldc) }
    }

    unsafe fn gemm(
        a: *const f32,
        lda: usize,
        rows: usize,
        b: &Packed,
        p0: usize,
        p1: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        // SAFETY: passed on from the caller (AVX-512F is part of this tier).
        unsafe { avx512::gemm_f32(a, lda, rows, b, p0, p1, c, ldc) }
    }

    unsafe fn bias_act(c: *mut f32, ldc: usize, rows: usize, bias: &[f32], act: Option<Act>) {
        // SAFETY: as above.
        unsafe { avx512::bias_act(c, ldc, rows, bias, act) }
    }

    unsafe fn add_layer_norm(
        x: &mut [f32],
        add: &[f32],
        bias: &[f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) {
        // SAFETY: as above.
        unsafe { avx512::add_layer_norm(x, add, bias, gamma, beta, eps) }
    }

    unsafe fn softmax_rows(s: *mut f32, lds: usize, rows: usize, n: usize, scale: f32) {
        // SAFETY: as above.
        unsafe { avx512::softmax_rows(s, lds, rows, n, scale) }
    }
}
