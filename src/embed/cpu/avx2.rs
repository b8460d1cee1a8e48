//! The AVX2 + FMA tier: f32 products with a 6 x 16 register block (twelve
//! 256-bit accumulators, two B loads and six broadcasts per step, of the
//! 16 ymm registers); everything else is the shared code compiled for
//! AVX2.

tier_kernels!("avx2,fma", 6, 16);

/// The AVX2 + FMA tier.
pub struct Avx2;

f32_tier!(
    Avx2,
    super::Tier::Avx2,
    16,
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
);
