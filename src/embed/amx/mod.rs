//! A CPU fast path for BERT encoders on Intel AMX: the dense products run
//! as bf16 tile products with f32 accumulation; embeddings, LayerNorm,
//! softmax, GELU, pooling and the residual stream stay f32.
//!
//! Why: on a 2-core Sapphire Rapids machine candle's f32 path reaches about
//! 18 passages/s and sentence-transformers about 40-45, both near the f32
//! FMA limit (`../shared/docs/PERF-NOTES.md`); `tdpbf16ps` does 16x the
//! multiply-adds per cycle of an AVX-512 FMA port.
//!
//! How it is used: [`Encoder::new`] returns `None` unless the CPU and OS
//! allow AMX ([`available`]); `embed::cpu` then picks the next tier.
//! [`Encoder::embed`] runs each sequence whole on one rayon worker, without
//! padding (batch composition cannot change a vector), with per-thread
//! scratch buffers reused across calls.
//!
//! Layout: `kernel.rs` (tile configuration, the asm tile kernels, packing,
//! the blocked product driver, peak probes), `simd.rs` (AVX-512 row
//! kernels), `bert.rs` (weight packing and the forward pass); the aligned
//! buffers are `embed::buf`.

#[cfg(target_arch = "x86_64")]
mod bert;
#[cfg(target_arch = "x86_64")]
mod kernel;
#[cfg(target_arch = "x86_64")]
mod simd;

use std::sync::OnceLock;

use super::weights::BertWeights;

/// Whether this CPU and OS can run the fast path: AMX-TILE, AMX-BF16,
/// AVX-512 F/BW/VL/BF16, the OS saving their state (XCR0), and Linux
/// granting this process the tile data state. Checked once per process.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(detect)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    let bit = |r: u32, b: u32| r & (1 << b) != 0;
    if __cpuid(0).eax < 7 {
        return false;
    }
    let l1 = __cpuid(1);
    let l7 = __cpuid_count(7, 0);
    let l7s1 = __cpuid_count(7, 1);
    let cpu = bit(l1.ecx, 27) // OSXSAVE: xgetbv usable
        && bit(l7.ebx, 16) // AVX512F
        && bit(l7.ebx, 30) // AVX512BW
        && bit(l7.ebx, 31) // AVX512VL
        && bit(l7s1.eax, 5) // AVX512_BF16
        && bit(l7.edx, 22) // AMX-BF16
        && bit(l7.edx, 24); // AMX-TILE
    if !cpu {
        return false;
    }
    // SAFETY: OSXSAVE is set, so xgetbv is enabled.
    let xcr0 = unsafe { _xgetbv(0) };
    // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM, XTILECFG, XTILEDATA.
    const NEED: u64 = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 17) | (1 << 18);
    if xcr0 & NEED != NEED {
        return false;
    }
    request_tile_permission()
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`: Linux (5.16+)
/// keeps the 8 KiB tile state off until a process asks; without it the
/// first tile instruction raises SIGILL. Process-wide and idempotent.
/// See: <https://docs.kernel.org/arch/x86/xstate.html>
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn request_tile_permission() -> bool {
    const SYS_ARCH_PRCTL: usize = 158;
    const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
    const XFEATURE_XTILEDATA: usize = 18;
    let ret: isize;
    // SAFETY: a plain Linux x86_64 syscall with integer arguments; the
    // kernel clobbers only rcx and r11 (and returns in rax).
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL => ret,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret == 0
}

/// A BERT encoder loaded for the AMX path.
pub struct Encoder {
    #[cfg(target_arch = "x86_64")]
    bert: bert::Bert,
    #[cfg(not(target_arch = "x86_64"))]
    never: std::convert::Infallible,
}

impl Encoder {
    /// Pack `weights` for AMX, or `None` where it cannot run
    /// ([`available`] is false).
    pub fn new(weights: BertWeights) -> Option<Encoder> {
        if !available() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            Some(Encoder {
                bert: bert::Bert::from_weights(weights),
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = weights;
            None
        }
    }

    /// Longest sequence.
    pub fn max_len(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            self.bert.max_len()
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self.never {}
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            self.bert.dim()
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self.never {}
    }

    /// Pooled, L2-normalised embeddings of token id sequences, in order.
    /// Sequences run in parallel on rayon's pool, one per worker at a time,
    /// in the order given (so put the longest first for balance). Ids past
    /// the vocabulary are clamped and sequences are cut at the position
    /// limit; an empty sequence gives a zero vector, as candle's masked
    /// mean does.
    pub fn embed(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        #[cfg(target_arch = "x86_64")]
        {
            use rayon::prelude::*;
            let max = self.bert.max_len();
            seqs.par_iter()
                .with_max_len(1)
                .map(|ids| {
                    if ids.is_empty() {
                        return vec![0.0; self.bert.dim()];
                    }
                    // SAFETY: an Encoder exists only when `available()`.
                    unsafe { self.bert.embed_one(&ids[..ids.len().min(max)]) }
                })
                .collect()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = seqs;
            match self.never {}
        }
    }
}

/// The machine's measured peaks on one thread, in FLOP/s: AMX bf16
/// (`tdpbf16ps` on resident tiles) and AVX-512 f32 FMA. `None` without AMX.
pub fn peak_flops() -> Option<(f64, f64)> {
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `available()` checked AMX and AVX-512F.
        unsafe {
            let _ = kernel::peak_flops(100_000);
            let _ = kernel::peak_fma_flops(1_000_000);
            Some((
                kernel::peak_flops(2_000_000),
                kernel::peak_fma_flops(20_000_000),
            ))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}
