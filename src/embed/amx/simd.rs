//! AVX-512 row kernels for everything around the matrix products, all in
//! f32: bias, GELU (exact, erf), residual + LayerNorm, softmax, and the
//! rounding of results to bf16 for the next product.
//!
//! Each function handles one row of `n` values (any `n`; tails are masked)
//! and is compiled for AVX-512 only, so callers must have checked the CPU
//! ([`super::available`]). `exp` and `erf` are vectorised approximations
//! accurate to a few f32 ulps (tested against f64 references below), where
//! candle and PyTorch call libm-quality scalar or SLEEF routines.

use std::arch::x86_64::*;

/// Round an f32 to bf16, to nearest even (NaN stays NaN).
#[inline]
pub fn bf16_scalar(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let round = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(round) >> 16) as u16
}

/// Widen a bf16 to f32 (exact).
#[cfg(test)]
#[inline]
pub fn bf16_to_f32(x: u16) -> f32 {
    f32::from_bits((x as u32) << 16)
}

#[inline(always)]
fn tail_mask(rem: usize) -> __mmask16 {
    if rem >= 16 {
        0xffff
    } else {
        ((1u32 << rem) - 1) as __mmask16
    }
}

/// Pack one head's value rows as tiles of the B operand of `p v`:
/// tile row `r` interleaves 16 columns of token rows `i0 = 32t + 2r` and
/// `i0 + 1`. `rows` yields each token row's 16 values (or `None` past the
/// sequence); `cols` (<= 16) of them are valid.
///
/// # Safety
/// AVX-512 present; `dst` writable for 32 values; each `Some` pointer
/// readable for `cols` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub unsafe fn interleave_rows(
    a: Option<*const u16>,
    b: Option<*const u16>,
    cols: usize,
    dst: *mut u16,
) {
    let m = tail_mask(cols);
    // SAFETY: reads masked to `cols`, one 64-byte write.
    unsafe {
        let lo = a.map_or(_mm256_setzero_si256(), |p| {
            _mm256_maskz_loadu_epi16(m, p as *const i16)
        });
        let hi = b.map_or(_mm256_setzero_si256(), |p| {
            _mm256_maskz_loadu_epi16(m, p as *const i16)
        });
        let v = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        let idx = _mm512_set_epi16(
            31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
            4, 19, 3, 18, 2, 17, 1, 16, 0,
        );
        _mm512_storeu_si512(dst as *mut __m512i, _mm512_permutexvar_epi16(idx, v));
    }
}

/// One row of a packed key tile: for the 16 tokens from `src` (row stride
/// `ld` values), the value pair at `src + token * ld`; tokens from `valid`
/// on are zero.
///
/// # Safety
/// AVX-512 present; `src + token * ld` readable for 2 values for each
/// token below `valid` (<= 16); `dst` writable for 32 values.
#[target_feature(enable = "avx512f")]
pub unsafe fn gather_pairs(src: *const u16, ld: usize, valid: usize, dst: *mut u16) {
    let m = tail_mask(valid);
    let ld = ld as i32;
    // SAFETY: gathered lanes are masked to valid tokens; one 64-byte write.
    unsafe {
        let idx = _mm512_mullo_epi32(
            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
            _mm512_set1_epi32(ld),
        );
        let v = _mm512_mask_i32gather_epi32::<2>(_mm512_setzero_si512(), m, idx, src as *const i32);
        _mm512_storeu_si512(dst as *mut __m512i, v);
    }
}

/// e^x for 16 lanes (Cephes `expf` polynomial, scaled with `vscalefps`).
#[target_feature(enable = "avx512f")]
#[inline]
fn exp16(x: __m512) -> __m512 {
    let x = _mm512_max_ps(
        _mm512_min_ps(x, _mm512_set1_ps(88.37626)),
        _mm512_set1_ps(-103.0),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.398_199_9e-3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.333_452e-3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166_579_6e-2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666_666_5e-1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5));
    let y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    let y = _mm512_add_ps(y, _mm512_set1_ps(1.0));
    _mm512_scalef_ps(y, n)
}

/// erf(x) for 16 lanes: the odd/even rational approximation Eigen and XLA
/// use for f32 (`generic_fast_erf_float`), exact to f32 rounding outside
/// [-4, 4].
#[target_feature(enable = "avx512f")]
#[inline]
fn erf16(x: __m512) -> __m512 {
    let x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(4.0)), _mm512_set1_ps(-4.0));
    let x2 = _mm512_mul_ps(x, x);
    let mut p = _mm512_set1_ps(-2.726_142_3e-10);
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(2.770_681_4e-8));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.101_024e-6));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.692_506_4e-5));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.349_906e-4));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.954_6e-3));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.609_603_3e-2));
    let p = _mm512_mul_ps(x, p);
    let mut q = _mm512_set1_ps(-1.456_607_2e-5);
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-2.133_740_6e-4));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.682_827e-3));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.373_329e-3));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.426_474e-2));
    // p / q with a 14-bit reciprocal and one Newton step (~1 ulp): a zmm
    // division occupies the divider for 16 cycles, which made GELU a tenth
    // of the forward pass.
    let r = _mm512_rcp14_ps(q);
    let r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(1.0)), r);
    _mm512_mul_ps(p, r)
}

/// Round 16 lanes to bf16 (nearest even) and store the `m` lanes asked for.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[inline]
unsafe fn store_bf16(dst: *mut u16, m: __mmask16, v: __m512) {
    // SAFETY: __m256bh and __m256i are both 32 plain bytes; the caller
    // guarantees the lanes selected by `m` are writable.
    unsafe {
        let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        _mm256_mask_storeu_epi16(dst as *mut i16, m, h);
    }
}

pub use crate::embed::weights::Act;

/// For a block of `rows` rows of `n` values: `dst = bf16(act(src))` (`src`
/// row stride `lds`, `dst` row stride `ldd`); `act` `None` is the identity.
/// (The bias is already in `src`: it seeds the product's accumulators.)
///
/// # Safety
/// AVX-512 (F, BW, VL, BF16) present; `src` readable and `dst` writable for
/// `rows` rows of `n` values at their strides.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn act_block(
    src: *const f32,
    lds: usize,
    rows: usize,
    dst: *mut u16,
    ldd: usize,
    n: usize,
    act: Option<Act>,
) {
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run<F: Fn(__m512) -> __m512>(
        src: *const f32,
        lds: usize,
        rows: usize,
        dst: *mut u16,
        ldd: usize,
        n: usize,
        f: F,
    ) {
        let mut i = 0;
        while i < n {
            let m = tail_mask(n - i);
            // SAFETY: lanes past `n` are masked off; rows below `rows`.
            unsafe {
                for r in 0..rows {
                    let x = _mm512_maskz_loadu_ps(m, src.add(r * lds + i));
                    store_bf16(dst.add(r * ldd + i), m, f(x));
                }
            }
            i += 16;
        }
    }
    // SAFETY (every arm): the caller's guarantees, passed on.
    unsafe {
        match act {
            None => run(src, lds, rows, dst, ldd, n, |x| x),
            Some(Act::Gelu) => run(src, lds, rows, dst, ldd, n, |x| {
                let e = erf16(_mm512_mul_ps(
                    x,
                    _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2),
                ));
                _mm512_mul_ps(
                    _mm512_mul_ps(x, _mm512_set1_ps(0.5)),
                    _mm512_add_ps(e, _mm512_set1_ps(1.0)),
                )
            }),
            // 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3).
            Some(Act::GeluTanh) => run(src, lds, rows, dst, ldd, n, |x| {
                let x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
                let u = _mm512_mul_ps(
                    _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044_715), x),
                    _mm512_set1_ps(0.797_884_6),
                );
                let e = exp16(_mm512_mul_ps(u, _mm512_set1_ps(-2.0)));
                _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0)))
            }),
            Some(Act::Relu) => run(src, lds, rows, dst, ldd, n, |x| {
                _mm512_max_ps(x, _mm512_setzero_ps())
            }),
        }
    }
}

/// `dst = bf16(src * scale)` over `n` values.
///
/// # Safety
/// As [`act_block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn scale_bf16(src: *const f32, scale: f32, dst: *mut u16, n: usize) {
    let s = _mm512_set1_ps(scale);
    let mut i = 0;
    while i < n {
        let m = tail_mask(n - i);
        // SAFETY: lanes past `n` are masked off.
        unsafe {
            store_bf16(
                dst.add(i),
                m,
                _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src.add(i)), s),
            )
        };
        i += 16;
    }
}

/// LayerNorm in place over `rows` rows of `n` values (`x`, row stride
/// `ldx`), also written rounded to `dst` (row stride `ldd`). With `add =
/// Some((c, ldc))`, first `x += c` row by row (the residual; the product
/// `c` already holds its bias).
///
/// Four rows go through at once so that their mean and variance chains
/// overlap; a single 384-value row is a latency-bound chain of adds.
///
/// # Safety
/// AVX-512 (F, BW, VL, BF16) present; every pointer valid for `rows` rows
/// of `n` values at its stride (`gamma`, `beta`: `n` values).
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn layer_norm(
    x: *mut f32,
    ldx: usize,
    add: Option<(*const f32, usize)>,
    rows: usize,
    gamma: *const f32,
    beta: *const f32,
    eps: f32,
    n: usize,
    dst: *mut u16,
    ldd: usize,
) {
    const G: usize = 4;
    let mut r0 = 0;
    while r0 < rows {
        let g = (rows - r0).min(G);
        // Rows past `g` repeat the last one (computed, never stored).
        let row = |k: usize| r0 + k.min(g - 1);
        // SAFETY: every access is to lanes below `n` (masked) of rows below
        // `rows`, which the caller guarantees are valid; stores only to rows
        // below `r0 + g`.
        unsafe {
            let mut sum = [_mm512_setzero_ps(); G];
            let mut i = 0;
            while i < n {
                let m = tail_mask(n - i);
                for k in 0..G {
                    let xp = x.add(row(k) * ldx + i);
                    let mut v = _mm512_maskz_loadu_ps(m, xp);
                    if let Some((c, ldc)) = add {
                        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c.add(row(k) * ldc + i)));
                        if k < g {
                            _mm512_mask_storeu_ps(xp, m, v);
                        }
                    }
                    sum[k] = _mm512_add_ps(sum[k], v);
                }
                i += 16;
            }
            let mean: [__m512; G] =
                std::array::from_fn(|k| _mm512_set1_ps(_mm512_reduce_add_ps(sum[k]) / n as f32));
            let mut var = [_mm512_setzero_ps(); G];
            let mut i = 0;
            while i < n {
                let m = tail_mask(n - i);
                for k in 0..G {
                    let d = _mm512_maskz_sub_ps(
                        m,
                        _mm512_maskz_loadu_ps(m, x.add(row(k) * ldx + i)),
                        mean[k],
                    );
                    var[k] = _mm512_fmadd_ps(d, d, var[k]);
                }
                i += 16;
            }
            let inv: [__m512; G] = std::array::from_fn(|k| {
                _mm512_set1_ps(1.0 / (_mm512_reduce_add_ps(var[k]) / n as f32 + eps).sqrt())
            });
            let mut i = 0;
            while i < n {
                let m = tail_mask(n - i);
                let (ga, be) = (
                    _mm512_maskz_loadu_ps(m, gamma.add(i)),
                    _mm512_maskz_loadu_ps(m, beta.add(i)),
                );
                for k in 0..g {
                    let xp = x.add((r0 + k) * ldx + i);
                    let d =
                        _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp), mean[k]), inv[k]);
                    let y = _mm512_fmadd_ps(d, ga, be);
                    _mm512_mask_storeu_ps(xp, m, y);
                    store_bf16(dst.add((r0 + k) * ldd + i), m, y);
                }
                i += 16;
            }
        }
        r0 += G;
    }
}

/// Softmax rows of attention scores, unnormalised: for each of `rows`
/// rows of `n` scores (`s`, stride `lds`), writes
/// `bf16(exp(scale * (s[j] - max)))` for `j < n` and zeros for
/// `n <= j < n_pad` (`dst`, stride `n_pad`, a multiple of 32), and sets
/// `sums[r]` to the sum of the *rounded* values (a bf16 dot product with
/// ones), so that dividing the product by it makes the bf16 weights
/// actually used sum to one.
///
/// Four rows go through at once: one row alone is a chain of dependent
/// max/sum steps too short for the core to overlap. The exponential is
/// `2^t` with a degree-4 polynomial (relative error 4e-5, far below the
/// bf16 rounding that follows).
///
/// # Safety
/// As [`act_block`]; `s` readable for `rows` rows of `n`, `dst`
/// writable for `rows` rows of `n_pad`; `rows <= sums.len()`.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn softmax_rows(
    s: *const f32,
    lds: usize,
    rows: usize,
    n: usize,
    scale: f32,
    dst: *mut u16,
    n_pad: usize,
    sums: &mut [f32],
) {
    const G: usize = 4;
    debug_assert!(n_pad.is_multiple_of(32) && n_pad >= n && rows <= sums.len());
    let c = scale * std::f32::consts::LOG2_E;
    let cv = _mm512_set1_ps(c);
    let ones: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi16(0x3f80)) };
    let mut r0 = 0;
    while r0 < rows {
        let g = (rows - r0).min(G);
        // Rows past `g` repeat the last one (computed, never stored).
        let row = |k: usize| r0 + k.min(g - 1);
        // SAFETY: reads of `s` are masked to lanes below `n` on rows below
        // `rows`; writes of `dst` cover whole 32-value blocks below `n_pad`
        // on rows below `rows`.
        unsafe {
            let mut mx = [_mm512_set1_ps(f32::NEG_INFINITY); G];
            let mut i = 0;
            while i < n {
                let m = tail_mask(n - i);
                for (k, acc) in mx.iter_mut().enumerate() {
                    *acc = _mm512_mask_max_ps(
                        *acc,
                        m,
                        *acc,
                        _mm512_maskz_loadu_ps(m, s.add(row(k) * lds + i)),
                    );
                }
                i += 16;
            }
            let mc: [__m512; G] =
                std::array::from_fn(|k| _mm512_set1_ps(_mm512_reduce_max_ps(mx[k]) * c));
            let exp2 = |m: __mmask16, v: __m512, mc: __m512| -> __m512 {
                let t = _mm512_fmsub_ps(v, cv, mc);
                let k =
                    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(t);
                let f = _mm512_mul_ps(_mm512_sub_ps(t, k), _mm512_set1_ps(std::f32::consts::LN_2));
                let mut p = _mm512_set1_ps(1.0 / 24.0);
                p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0 / 6.0));
                p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.5));
                p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0));
                p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0));
                _mm512_maskz_scalef_ps(m, p, k)
            };
            let mut acc = [_mm512_setzero_ps(); G];
            let mut i = 0;
            while i < n_pad {
                let m0 = tail_mask(n.saturating_sub(i));
                let m1 = tail_mask(n.saturating_sub(i + 16));
                for k in 0..G {
                    let src = s.add(row(k) * lds + i);
                    let e0 = exp2(m0, _mm512_maskz_loadu_ps(m0, src), mc[k]);
                    let e1 = exp2(m1, _mm512_maskz_loadu_ps(m1, src.add(16)), mc[k]);
                    let h = _mm512_cvtne2ps_pbh(e1, e0);
                    acc[k] = _mm512_dpbf16_ps(acc[k], h, ones);
                    if k < g {
                        let out = dst.add((r0 + k) * n_pad + i);
                        _mm512_storeu_si512(
                            out as *mut __m512i,
                            std::mem::transmute::<__m512bh, __m512i>(h),
                        );
                    }
                }
                i += 32;
            }
            for k in 0..g {
                sums[r0 + k] = _mm512_reduce_add_ps(acc[k]);
            }
        }
        r0 += G;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::cpu::erf::erf_f64;

    fn have() -> bool {
        super::super::available()
    }

    #[test]
    fn bf16_rounding() {
        assert_eq!(bf16_scalar(1.0), 0x3f80);
        assert_eq!(bf16_to_f32(bf16_scalar(3.140625)), 3.140625);
        // Ties go to even.
        assert_eq!(bf16_scalar(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(bf16_scalar(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert!(bf16_to_f32(bf16_scalar(f32::NAN)).is_nan());
    }

    #[test]
    fn exp_and_erf_accuracy() {
        if !have() {
            eprintln!("note: no AMX/AVX-512 here; skipping the vector math test");
            return;
        }
        let xs: Vec<f32> = (0..16 * 400).map(|i| -20.0 + i as f32 * 0.00625).collect();
        for c in xs.chunks(16) {
            // SAFETY: AVX-512 present (checked above); 16 lanes read/written.
            let (e, r) = unsafe {
                let v = _mm512_loadu_ps(c.as_ptr());
                let mut e = [0f32; 16];
                let mut r = [0f32; 16];
                _mm512_storeu_ps(e.as_mut_ptr(), exp16(v));
                _mm512_storeu_ps(r.as_mut_ptr(), erf16(v));
                (e, r)
            };
            for (k, &x) in c.iter().enumerate() {
                let want = (x as f64).exp();
                assert!(
                    ((e[k] as f64 - want) / want).abs() < 4e-7,
                    "exp({x}) = {} want {want}",
                    e[k]
                );
                let want = erf_f64(x as f64);
                assert!(
                    (r[k] as f64 - want).abs() < 4e-7,
                    "erf({x}) = {} want {want}",
                    r[k]
                );
            }
        }
    }

    #[test]
    fn softmax_and_layer_norm() {
        if !have() {
            eprintln!("note: no AMX/AVX-512 here; skipping the row kernel test");
            return;
        }
        let s: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 * 0.9 - 3.0).collect();
        let mut p = vec![0xffffu16; 64];
        let mut sums = [0f32; 1];
        // SAFETY: AVX-512 present; 37 read, 64 written.
        unsafe { softmax_rows(s.as_ptr(), 37, 1, 37, 0.5, p.as_mut_ptr(), 64, &mut sums) };
        let sum = sums[0];
        let mx = s.iter().cloned().fold(f32::MIN, f32::max);
        let want: Vec<f64> = s.iter().map(|&v| ((v - mx) as f64 * 0.5).exp()).collect();
        let wsum: f64 = want.iter().sum();
        assert!((sum as f64 - wsum).abs() / wsum < 1e-2);
        for j in 0..37 {
            assert!((bf16_to_f32(p[j]) as f64 - want[j]).abs() < 4e-3);
        }
        assert!(p[37..].iter().all(|&v| v == 0));

        let n = 45;
        let mut x: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 + 1.0)
            .collect();
        let g: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.01).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * -0.02).collect();
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let want: Vec<f64> = (0..n)
            .map(|i| (x[i] as f64 - mean) / (var + 1e-12).sqrt() * g[i] as f64 + b[i] as f64)
            .collect();
        let mut d = vec![0u16; n];
        // SAFETY: AVX-512 present; n values each.
        unsafe {
            layer_norm(
                x.as_mut_ptr(),
                n,
                None,
                1,
                g.as_ptr(),
                b.as_ptr(),
                1e-12,
                n,
                d.as_mut_ptr(),
                n,
            )
        };
        for i in 0..n {
            assert!((x[i] as f64 - want[i]).abs() < 1e-5, "{i}");
            assert!((bf16_to_f32(d[i]) as f64 - want[i]).abs() < 2e-2);
        }
    }
}
