//! The AVX-512F tier: f32 products with a 12 x 32 register block
//! (twenty-four 512-bit accumulators, two B loads and twelve broadcasts per
//! step, of the 32 zmm registers); everything else is the shared code
//! compiled for AVX-512F.
//!
//! The block is written with intrinsics (`micro` below): the shared plain-Rust
//! kernel (`gemm::micro`), which LLVM turns into the AVX2 and NEON tiers'
//! register blocks, did not become one at 12 x 32 (measured on a Sapphire
//! Rapids host: the whole tier 12x slower than AVX2).
//!
//! Only `avx512f` is enabled: the shared code needs nothing else, and every
//! AVX-512 CPU has it.

use std::arch::x86_64::*;

/// Rows of the register block.
const MR: usize = 12;
/// Columns of the register block (two 16-lane vectors).
const NR: usize = 32;

tier_kernels!("avx512f,avx2,fma", 12, 32, micro);

/// `C[rows][cols] (+)= A[MR][kc] B[kc][NR]` in registers: for each `k`,
/// two vectors of the panel row against each of the twelve rows' value.
///
/// # Safety
/// AVX-512F present; as `gemm::micro` with `MR = 12`, `NR = 32`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
unsafe fn micro(
    a: *const f32,
    lda: usize,
    b: *const f32,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    rows: usize,
    cols: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for k in 0..kc {
        // SAFETY: row k of the panel slice, NR values (caller).
        let (b0, b1) = unsafe {
            let p = b.add(k * NR);
            (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)))
        };
        for r in 0..MR {
            // SAFETY: row r of A, column k (caller).
            let av = _mm512_set1_ps(unsafe { *a.add(r * lda + k) });
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for r in 0..rows {
        // SAFETY: row r < rows of C, columns below cols (caller).
        unsafe { store_row(c.add(r * ldc), cols, accumulate, acc[r]) };
    }
}

/// One row of a 32-column register block into `C`: its first `cols`
/// values, added to what `C` holds when `accumulate` (the write-back of
/// this tier's and the bf16 tier's micro-kernels).
///
/// # Safety
/// AVX-512F present; `cr` writable (and readable) for `cols <= 32` values.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn store_row(cr: *mut f32, cols: usize, accumulate: bool, acc: [__m512; 2]) {
    if cols == NR {
        // SAFETY: the whole row of the block is inside C (caller).
        unsafe {
            let (mut o0, mut o1) = (acc[0], acc[1]);
            if accumulate {
                o0 = _mm512_add_ps(o0, _mm512_loadu_ps(cr));
                o1 = _mm512_add_ps(o1, _mm512_loadu_ps(cr.add(16)));
            }
            _mm512_storeu_ps(cr, o0);
            _mm512_storeu_ps(cr.add(16), o1);
        }
    } else {
        let mut out = [0f32; NR];
        // SAFETY: 32 values into a local array.
        unsafe {
            _mm512_storeu_ps(out.as_mut_ptr(), acc[0]);
            _mm512_storeu_ps(out.as_mut_ptr().add(16), acc[1]);
        }
        // SAFETY: cols values of the row (caller).
        let row = unsafe { std::slice::from_raw_parts_mut(cr, cols) };
        if accumulate {
            row.iter_mut().zip(&out).for_each(|(o, v)| *o += v);
        } else {
            row.copy_from_slice(&out[..cols]);
        }
    }
}

/// The AVX-512F tier.
pub struct Avx512;

f32_tier!(
    Avx512,
    super::Tier::Avx512,
    32,
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
);
