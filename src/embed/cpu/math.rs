//! The element-wise steps of the forward pass (bias and activation,
//! residual + LayerNorm, softmax) in plain Rust written so the compiler
//! vectorises it: branch-free bodies, sums kept in [`LANES`] partial
//! accumulators (a single running float sum cannot be reordered, so it
//! would stay scalar). Each tier compiles these inside its own
//! `#[target_feature]` functions (see `tier!` in `mod.rs`).
//!
//! `exp` is Cephes' `expf` polynomial; `erf` is the rational
//! approximation Eigen and XLA use for f32 (`generic_fast_erf_float`),
//! both within a few ulp of the exact functions (tested below).

use crate::embed::weights::Act;

/// Partial sums per reduction: a 256-bit vector of f32 (two 128-bit NEON
/// registers; a 512-bit vector adds two of them).
pub const LANES: usize = 8;

/// e^x, for x in [-87, 88.7] (clamped outside).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.37626);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = n.mul_add(-0.693_359_4, x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 0.5);
    let y = p.mul_add(r * r, r) + 1.0;
    // 2^n by building the exponent: n is in [-126, 128) after the clamp,
    // and 2^128 is only reached at the clamp's upper end (y < 1 there).
    // n's integer comes from the low bits of n + 1.5 * 2^23, not from
    // `n as i32`, whose saturating conversion LLVM leaves scalar (it was
    // most of softmax's time in a profile of the AVX-512 tier).
    let int = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000) as i32;
    let scale = f32::from_bits(((int + 127).clamp(1, 254) as u32) << 23);
    y * scale
}

/// erf(x).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10f32;
    p = x2.mul_add(p, 2.770_681_4e-8);
    p = x2.mul_add(p, -2.101_024e-6);
    p = x2.mul_add(p, -5.692_506_4e-5);
    p = x2.mul_add(p, -7.349_906e-4);
    p = x2.mul_add(p, -2.954_6e-3);
    p = x2.mul_add(p, -1.609_603_3e-2);
    let mut q = -1.456_607_2e-5f32;
    q = x2.mul_add(q, -2.133_740_6e-4);
    q = x2.mul_add(q, -1.682_827e-3);
    q = x2.mul_add(q, -7.373_329e-3);
    q = x2.mul_add(q, -1.426_474e-2);
    x * p / q
}

/// tanh(x) from `exp`.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let e = exp(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

/// One activation.
#[inline(always)]
fn act(a: Act, x: f32) -> f32 {
    match a {
        Act::Gelu => 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)),
        Act::GeluTanh => {
            const C: f32 = 0.797_884_6; // sqrt(2 / pi)
            0.5 * x * (1.0 + tanh(C * (x + 0.044_715 * x * x * x)))
        }
        Act::Relu => x.max(0.0),
    }
}

/// `c[r][j] = act(c[r][j] + bias[j])` for `rows` rows of `bias.len()`
/// values at stride `ldc` (`act` `None`: the bias alone).
///
/// # Safety
/// `c` valid for `rows` rows of `bias.len()` values at stride `ldc`.
#[inline(always)]
pub unsafe fn bias_act(c: *mut f32, ldc: usize, rows: usize, bias: &[f32], a: Option<Act>) {
    for r in 0..rows {
        // SAFETY: row r (caller).
        let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), bias.len()) };
        match a {
            None => row.iter_mut().zip(bias).for_each(|(v, b)| *v += b),
            Some(Act::Gelu) => row
                .iter_mut()
                .zip(bias)
                .for_each(|(v, b)| *v = act(Act::Gelu, *v + b)),
            Some(Act::GeluTanh) => row
                .iter_mut()
                .zip(bias)
                .for_each(|(v, b)| *v = act(Act::GeluTanh, *v + b)),
            Some(Act::Relu) => row
                .iter_mut()
                .zip(bias)
                .for_each(|(v, b)| *v = act(Act::Relu, *v + b)),
        }
    }
}

/// Sum in [`LANES`] partial sums.
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, v) in acc.iter_mut().zip(ch) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Largest value, in [`LANES`] partial maxima.
#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, v) in acc.iter_mut().zip(ch) {
            // A compare and select (one `maxps`), not `f32::max`, whose
            // NaN rule costs a compare and blend per vector; scores are
            // never NaN.
            *a = if *v > *a { *v } else { *a };
        }
    }
    acc.iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, v| m.max(*v))
}

/// `x = LayerNorm(x + add + bias)` over one row (`add`, `bias` empty to
/// skip them).
#[inline(always)]
pub fn add_layer_norm(
    x: &mut [f32],
    add: &[f32],
    bias: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    if !add.is_empty() {
        x.iter_mut()
            .zip(add)
            .zip(bias)
            .for_each(|((x, a), b)| *x += a + b);
    }
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, v) in acc.iter_mut().zip(ch) {
            let d = v - mean;
            *a = d.mul_add(d, *a);
        }
    }
    let var =
        (acc.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()) / n;
    let inv = 1.0 / (var + eps).sqrt();
    x.iter_mut()
        .zip(gamma)
        .zip(beta)
        .for_each(|((x, g), b)| *x = ((*x - mean) * inv).mul_add(*g, *b));
}

/// Softmax of `scale * x` over one row, in place.
#[inline(always)]
pub fn softmax(x: &mut [f32], scale: f32) {
    let m = max(x);
    x.iter_mut().for_each(|v| *v = exp(scale * (*v - m)));
    let inv = 1.0 / sum(x);
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::cpu::erf::erf_f64;

    #[test]
    fn exp_and_erf_within_a_few_ulp() {
        for i in -4000..=4000 {
            let x = i as f32 * 0.02;
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            assert!(
                (got - want).abs() <= 4e-7 * want,
                "exp({x}) = {got}, want {want}"
            );
            let want = erf_f64(x as f64);
            let got = erf(x) as f64;
            assert!((got - want).abs() <= 5e-7, "erf({x}) = {got}, want {want}");
        }
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(-87.0) > 0.0 && exp(88.37) < f32::INFINITY);
    }

    #[test]
    fn layer_norm_and_softmax_match_f64() {
        let n = 383;
        let x0: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect();
        let add: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.1).collect();
        let bias: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * -0.05).collect();
        let gamma: Vec<f32> = (0..n).map(|i| 1.0 + (i % 3) as f32 * 0.1).collect();
        let beta: Vec<f32> = (0..n).map(|i| (i % 11) as f32 * 0.01).collect();
        let mut x = x0.clone();
        add_layer_norm(&mut x, &add, &bias, &gamma, &beta, 1e-12);
        let s: Vec<f64> = (0..n)
            .map(|i| x0[i] as f64 + add[i] as f64 + bias[i] as f64)
            .collect();
        let mean = s.iter().sum::<f64>() / n as f64;
        let var = s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        for i in 0..n {
            let want = (s[i] - mean) / (var + 1e-12).sqrt() * gamma[i] as f64 + beta[i] as f64;
            assert!((x[i] as f64 - want).abs() < 1e-5, "{i}: {} vs {want}", x[i]);
        }
        let mut p = x0.clone();
        softmax(&mut p, 0.5);
        let mx = x0.iter().cloned().fold(f32::MIN, f32::max) as f64;
        let e: Vec<f64> = x0.iter().map(|&v| ((v as f64 - mx) * 0.5).exp()).collect();
        let total: f64 = e.iter().sum();
        for i in 0..n {
            assert!((p[i] as f64 - e[i] / total).abs() < 1e-7, "{i}");
        }
    }

    #[test]
    fn activations() {
        let mut c = vec![-3.0f32, -0.5, 0.0, 0.7, 2.5];
        let bias = [0.0f32; 5];
        let x = c.clone();
        // SAFETY: one row of 5 values.
        unsafe { bias_act(c.as_mut_ptr(), 5, 1, &bias, Some(Act::Gelu)) };
        for (g, &x) in c.iter().zip(&x) {
            let want = 0.5 * x as f64 * (1.0 + erf_f64(x as f64 / 2f64.sqrt()));
            assert!(
                (*g as f64 - want).abs() < 1e-6,
                "gelu({x}) = {g}, want {want}"
            );
        }
        let mut t = x.clone();
        // SAFETY: as above.
        unsafe { bias_act(t.as_mut_ptr(), 5, 1, &bias, Some(Act::GeluTanh)) };
        for (g, &x) in t.iter().zip(&x) {
            let x = x as f64;
            let want = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh());
            assert!(
                (*g as f64 - want).abs() < 1e-6,
                "gelu_tanh({x}) = {g}, want {want}"
            );
        }
        let mut r = x.clone();
        // SAFETY: as above.
        unsafe { bias_act(r.as_mut_ptr(), 5, 1, &[1.0; 5], Some(Act::Relu)) };
        assert_eq!(r, vec![0.0, 0.5, 1.0, 1.7, 3.5]);
    }
}
