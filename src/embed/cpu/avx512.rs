//! The AVX-512F tier: f32 products with a 12 x 32 register block
//! (twenty-four 512-bit accumulators, two B loads and twelve broadcasts per
//! step, of the 32 zmm registers); everything else is the shared code
//! compiled for AVX-512F.
//!
//! Only `avx512f` is enabled: the shared code needs nothing else, and every
//! AVX-512 CPU has it.

tier_kernels!("avx512f,avx2,fma", 12, 32);

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
