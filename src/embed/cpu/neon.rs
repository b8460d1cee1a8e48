//! The aarch64 NEON tier: f32 products with an 8 x 12 register block
//! (twenty-four 128-bit accumulators, three B loads per step, A read one
//! value at a time into `fmla` by element, of the 32 vector registers);
//! everything else is the shared code compiled for NEON, which every
//! aarch64 CPU has.

tier_kernels!("neon", 8, 12);

/// The NEON tier.
pub struct Neon;

f32_tier!(Neon, super::Tier::Neon, 12, true);
