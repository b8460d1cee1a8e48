//! AMX bf16 matrix multiply: `C (f32) = A (bf16) x B (bf16)` on tiles.
//!
//! The tile unit holds eight 1 KiB registers (`tmm0`..`tmm7`). Every tile
//! here has the same shape, 16 rows of 64 bytes: an A tile is 16 rows x 32
//! bf16 along K, a C tile is 16 x 16 f32, and a B tile is 16 *pairs* of K
//! rows x 16 columns in the "VNNI" layout `tdpbf16ps` wants, where row `r`
//! holds, for each column `n`, the two values `B[2r][n], B[2r + 1][n]`.
//! The main kernel computes a 32 x 32 block of C with four accumulators,
//! two A tiles and two B tiles (all eight registers), stepping over K 32 at a
//! time; edge variants use one A or one B tile.
//!
//! Operand layouts:
//! - A: row-major bf16 with a row stride in elements (`lda`); K is padded to
//!   a multiple of 32 with zeros (or finite values facing zero B rows), and
//!   rows are readable up to the next multiple of 32.
//! - B, packed ([`PackedB`]): tile `(j, t)` (columns `16j..`, K `32t..`) is
//!   the 512 bf16 at `(j * ktiles + t) * 512`, zero where out of range.
//!
//! Nothing here checks that the CPU has AMX: callers go through
//! [`super::available`] first. The instructions are written with
//! `core::arch::asm!` because stable Rust has no AMX intrinsics; tile
//! registers cannot be asm operands, so each kernel keeps its tiles inside
//! one asm block. See: Intel SDM vol. 1 ch. 18 (AMX), vol. 2 (TDPBF16PS).

use std::arch::asm;

/// bf16 values per tile row (the K step of one `tdpbf16ps`).
pub const TILE_K: usize = 32;
/// Rows (M) or columns (N) per tile.
pub const TILE_N: usize = 16;
/// bf16 values in one packed B tile.
pub const TILE_ELEMS: usize = 512;

/// `ldtilecfg`'s 64-byte operand (palette 1).
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

/// Tiles 0..8 all 16 rows x 64 bytes.
static CONFIG: TileConfig = TileConfig {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    colsb: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// Load the tile configuration on the calling thread.
///
/// # Safety
/// The CPU must have AMX-TILE and the process must hold XTILEDATA
/// permission ([`super::available`] returned true).
#[inline]
pub unsafe fn configure() {
    // SAFETY: CONFIG is a valid palette-1 configuration, 64-byte aligned;
    // the caller guarantees AMX is usable.
    unsafe { asm!("ldtilecfg [{0}]", in(reg) &CONFIG, options(nostack, readonly)) };
}

/// Return the tile unit to its init state (cheaper context switches).
///
/// # Safety
/// As [`configure`].
#[inline]
pub unsafe fn release() {
    // SAFETY: tilerelease has no operands; the caller guarantees AMX.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// A weight matrix packed as the B operand of `C = A x W^T`, from PyTorch's
/// `[out, in]` (`[N, K]`) layout.
pub struct PackedB {
    /// Packed tiles.
    pub data: crate::embed::buf::Buf<u16>,
    /// K tiles (K rounded up to 32, over 32).
    pub ktiles: usize,
    /// N tiles (N rounded up to 16, over 16).
    pub ntiles: usize,
}

impl PackedB {
    /// Pack `w` (`[n, k]` row-major f32) rounding to bf16.
    pub fn from_nk(w: &[f32], n: usize, k: usize) -> PackedB {
        let ktiles = k.div_ceil(TILE_K);
        let ntiles = n.div_ceil(TILE_N);
        let mut data = crate::embed::buf::Buf::<u16>::zeroed(ktiles * ntiles * TILE_ELEMS);
        pack_nk(
            |row, col| super::simd::bf16_scalar(w[row * k + col]),
            n,
            k,
            ktiles,
            data.as_mut_slice(),
        );
        PackedB {
            data,
            ktiles,
            ntiles,
        }
    }
}

/// Pack a B operand given as `get(n, k)` (the transposed view `[N][K]`, as a
/// Linear weight or a key matrix is stored) into tiles with `ktiles` K tiles.
/// Out-of-range elements (`n >= rows` or `k >= cols`) are zero.
#[inline]
pub fn pack_nk(
    get: impl Fn(usize, usize) -> u16,
    rows: usize,
    cols: usize,
    ktiles: usize,
    out: &mut [u16],
) {
    let ntiles = rows.div_ceil(TILE_N);
    for j in 0..ntiles {
        for t in 0..ktiles {
            let tile = &mut out[(j * ktiles + t) * TILE_ELEMS..][..TILE_ELEMS];
            for n in 0..TILE_N {
                let row = j * TILE_N + n;
                for kk in 0..TILE_K {
                    let col = t * TILE_K + kk;
                    let v = if row < rows && col < cols {
                        get(row, col)
                    } else {
                        0
                    };
                    tile[(kk / 2) * 32 + n * 2 + (kk & 1)] = v;
                }
            }
        }
    }
}

/// One C block: `mr` x `nr` tiles (each 1 or 2) over `ktiles` K steps,
/// the accumulators starting from `z` (16 f32 per column tile, loaded with
/// row stride 0: each row of C starts as the bias).
///
/// # Safety
/// AMX configured on this thread ([`configure`]); `a` readable for
/// `16 * mr` rows of `64 * ktiles` bytes at stride `lda` bytes; `b` readable
/// for `nr` runs of `ktiles` tiles spaced `bstride` bytes; `c` writable for
/// `16 * mr` rows of `64 * nr` bytes at stride `ldc` bytes; `z` readable
/// for `16 * nr` f32.
///
/// One asm block per (mr, nr), made by the `tiles!` macro inside: the
/// shared frame is written once, each arm gives only what differs. `a: [..]`
/// and `b: [..]` name the A rows and B columns the loop walks (each an
/// in/out pointer that advances 64 bytes along A or 1024 along B per K
/// step, in that order after the step's instructions); `c: [..]` names the
/// C tile origins beyond `c0` and `z: [..]` the bias rows, both read-only.
/// The operand order is the same in every arm (A, B, k, lda, s, c0, C
/// extras, ldc, bias, zs) and each operand's expression is the one the
/// hand-written arms had, so each arm compiles to the same machine code as
/// before the macro (checked by diffing `rustc -O --emit=asm` of both
/// versions).
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn block(
    mr: usize,
    nr: usize,
    a: *const u8,
    lda: usize,
    b: *const u8,
    bstride: usize,
    ktiles: usize,
    c: *mut u8,
    ldc: usize,
    z: *const f32,
) {
    debug_assert!(ktiles > 0);
    // One asm block per (mr, nr), the shared frame written once (see above).
    macro_rules! tiles {
        (
            a: [$($ap:ident),+],
            b: [$($bp:ident),+],
            c: [$($cp:ident),*],
            z: [$($zp:ident = $zv:expr),+],
            init: [$($init:literal),+ $(,)?],
            step: [$($step:literal),+ $(,)?],
            store: [$($store:literal),+ $(,)?] $(,)?
        ) => {
            asm!(
                $($init,)+
                "2:",
                $($step,)+
                $(concat!("add {", stringify!($ap), "}, 64"),)+
                $(concat!("add {", stringify!($bp), "}, 1024"),)+
                "dec {k}",
                "jnz 2b",
                $($store,)+
                $($ap = inout(reg) $ap => _,)+
                $($bp = inout(reg) $bp => _,)+
                k = inout(reg) ktiles => _,
                lda = in(reg) lda,
                s = in(reg) 64usize,
                c0 = in(reg) c,
                $($cp = in(reg) $cp,)*
                ldc = in(reg) ldc,
                $($zp = in(reg) $zv,)+
                zs = in(reg) 0usize,
                options(nostack),
            )
        };
    }
    // SAFETY (all four arms): the caller guarantees the ranges above; every
    // pointer advanced inside the loop stays within them (`ktiles` steps of
    // 64 bytes along A and 1024 bytes along B).
    unsafe {
        let (a0, a1) = (a, a.add(16 * lda));
        let (b0, b1) = (b, b.add(bstride));
        let c1 = c.add(64);
        let c2 = c.add(16 * ldc);
        match (mr, nr) {
            // All eight tiles: the second A load sits between the first
            // two products so it overlaps them. The C stores reuse the
            // spent A pointers as scratch for the other three origins.
            (2, 2) => tiles!(
                a: [a0, a1],
                b: [b0, b1],
                c: [],
                z: [z0 = z, z1 = z.add(TILE_N)],
                init: [
                    "tileloadd tmm0, [{z0} + {zs}*1]",
                    "tileloadd tmm1, [{z1} + {zs}*1]",
                    "tileloadd tmm2, [{z0} + {zs}*1]",
                    "tileloadd tmm3, [{z1} + {zs}*1]",
                ],
                step: [
                    "tileloadd tmm4, [{a0} + {lda}*1]",
                    "tileloadd tmm6, [{b0} + {s}*1]",
                    "tileloadd tmm7, [{b1} + {s}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tileloadd tmm5, [{a1} + {lda}*1]",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                ],
                store: [
                    "tilestored [{c0} + {ldc}*1], tmm0",
                    "lea {a0}, [{c0} + 64]",
                    "tilestored [{a0} + {ldc}*1], tmm1",
                    "mov {a1}, {ldc}",
                    "shl {a1}, 4",
                    "add {a1}, {c0}",
                    "tilestored [{a1} + {ldc}*1], tmm2",
                    "add {a1}, 64",
                    "tilestored [{a1} + {ldc}*1], tmm3",
                ],
            ),
            (2, 1) => tiles!(
                a: [a0, a1],
                b: [b0],
                c: [c2],
                z: [z0 = z],
                init: [
                    "tileloadd tmm0, [{z0} + {zs}*1]",
                    "tileloadd tmm2, [{z0} + {zs}*1]",
                ],
                step: [
                    "tileloadd tmm4, [{a0} + {lda}*1]",
                    "tileloadd tmm5, [{a1} + {lda}*1]",
                    "tileloadd tmm6, [{b0} + {s}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                ],
                store: [
                    "tilestored [{c0} + {ldc}*1], tmm0",
                    "tilestored [{c2} + {ldc}*1], tmm2",
                ],
            ),
            (1, 2) => tiles!(
                a: [a0],
                b: [b0, b1],
                c: [c1],
                z: [z0 = z, z1 = z.add(TILE_N)],
                init: [
                    "tileloadd tmm0, [{z0} + {zs}*1]",
                    "tileloadd tmm1, [{z1} + {zs}*1]",
                ],
                step: [
                    "tileloadd tmm4, [{a0} + {lda}*1]",
                    "tileloadd tmm6, [{b0} + {s}*1]",
                    "tileloadd tmm7, [{b1} + {s}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                ],
                store: [
                    "tilestored [{c0} + {ldc}*1], tmm0",
                    "tilestored [{c1} + {ldc}*1], tmm1",
                ],
            ),
            _ => tiles!(
                a: [a0],
                b: [b0],
                c: [],
                z: [z0 = z],
                init: ["tileloadd tmm0, [{z0} + {zs}*1]"],
                step: [
                    "tileloadd tmm4, [{a0} + {lda}*1]",
                    "tileloadd tmm6, [{b0} + {s}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                ],
                store: ["tilestored [{c0} + {ldc}*1], tmm0"],
            ),
        }
    }
}

/// How [`gemm()`] walks C and where it puts it.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// N tiles per epilogue call (clamped to 1..=ntiles).
    pub chunk: usize,
    /// Visit every 32-row panel for one N chunk before the next chunk, so
    /// each weight tile streams in from memory once and is reused from
    /// cache for all rows; otherwise every chunk of one row panel first
    /// (the A panel stays in L1 and B is re-read per panel).
    pub n_outer: bool,
    /// `Some(ldc)`: C is a whole `[m rounded up to 32][ldc]` f32 matrix and
    /// blocks land in place; `None`: C is a panel buffer of 32 rows x
    /// `16 * chunk`, overwritten for every epilogue call.
    pub full_ldc: Option<usize>,
}

/// `C = A x B (+ bias)` for `m` rows, in 32-row panels by `plan.chunk` N
/// tiles. The bias (one f32 per column, padded with zeros to `16 *
/// ntiles`) seeds the accumulators, so it costs nothing.
///
/// After each (panel, chunk) block is computed, `epi(row0, rows, tile0,
/// tiles, c, ldc)` is called with the panel's first row, its count of
/// valid rows (`min(32, m - row0)`; C rows past it are not valid), the
/// first N tile and N tile count of the chunk, and where the block is:
/// `c` points at its first element (row `row0`, column `16 * tile0` of a
/// full C; the panel buffer's start otherwise) with row stride `ldc`
/// elements. Loads the tile configuration itself.
///
/// # Safety
/// AMX usable ([`super::available`]); `a` readable for `m` rounded up to 32
/// rows of `32 * ktiles` bf16 at stride `lda` elements; `b` points at
/// `ntiles * ktiles` packed tiles; `c` writable for 32 rows of `16 *
/// chunk` f32, or with `full_ldc`, `m` rounded up to 32 rows of `ldc >= 16 *
/// ntiles`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    a: *const u16,
    lda: usize,
    m: usize,
    b: *const u16,
    ktiles: usize,
    ntiles: usize,
    bias: Option<&[f32]>,
    plan: Plan,
    c: *mut f32,
    mut epi: impl FnMut(usize, usize, usize, usize, *const f32, usize),
) {
    static ZEROS: [f32; 2 * TILE_N] = [0.0; 2 * TILE_N];
    if let Some(b) = bias {
        assert!(b.len() >= ntiles * TILE_N, "bias padded to the packed N");
    }
    let chunk = plan.chunk.clamp(1, ntiles.max(1));
    let ldc = plan.full_ldc.unwrap_or(chunk * TILE_N);
    let bstride = ktiles * TILE_ELEMS * 2;
    let panels = m.div_ceil(32);
    let chunks = ntiles.div_ceil(chunk);
    // SAFETY: the caller guarantees AMX and the buffer extents; `block`'s
    // ranges follow from them: row `row0 + 32` <= m rounded up to 32, tile
    // `j0 + jj + nr` <= ntiles, and the block's columns lie within `ldc`.
    unsafe {
        configure();
        let mut one = |p: usize, q: usize| {
            let row0 = p * 32;
            let rows = (m - row0).min(32);
            let mr = if rows > 16 { 2 } else { 1 };
            let arow = a.add(row0 * lda) as *const u8;
            let j0 = q * chunk;
            let tiles = (ntiles - j0).min(chunk);
            let origin = match plan.full_ldc {
                Some(_) => c.add(row0 * ldc + j0 * TILE_N),
                None => c,
            };
            let mut jj = 0;
            while jj < tiles {
                let nr = (tiles - jj).min(2);
                block(
                    mr,
                    nr,
                    arow,
                    lda * 2,
                    b.add((j0 + jj) * ktiles * TILE_ELEMS) as *const u8,
                    bstride,
                    ktiles,
                    origin.add(jj * TILE_N) as *mut u8,
                    ldc * 4,
                    bias.map_or(ZEROS.as_ptr(), |b| b.as_ptr().add((j0 + jj) * TILE_N)),
                );
                jj += nr;
            }
            epi(row0, rows, j0, tiles, origin, ldc);
        };
        if plan.n_outer {
            for q in 0..chunks {
                for p in 0..panels {
                    one(p, q);
                }
            }
        } else {
            for p in 0..panels {
                for q in 0..chunks {
                    one(p, q);
                }
            }
        }
    }
}

/// Peak `tdpbf16ps` rate on resident tiles: FLOP/s on this thread over
/// `iters` rounds of 4 independent tile products (16 x 16 x 32 MACs each).
///
/// # Safety
/// AMX usable ([`super::available`]).
pub unsafe fn peak_flops(iters: usize) -> f64 {
    // SAFETY: AMX usable; the tiles read are zeroed first, nothing touches
    // memory.
    unsafe {
        configure();
        asm!(
            "tilezero tmm4",
            "tilezero tmm5",
            "tilezero tmm6",
            "tilezero tmm7",
            options(nostack, nomem)
        );
        let t = std::time::Instant::now();
        asm!(
            "2:",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "dec {k}",
            "jnz 2b",
            k = inout(reg) iters.max(1) => _,
            options(nostack, nomem),
        );
        let secs = t.elapsed().as_secs_f64();
        release();
        (iters.max(1) * 4 * 16 * 16 * 32 * 2) as f64 / secs
    }
}

/// Peak AVX-512 f32 FMA rate: FLOP/s on this thread over `iters` rounds of
/// 16 independent `vfmadd231ps zmm` (16 lanes x 2 FLOPs each).
///
/// # Safety
/// The CPU must have AVX-512F (implied by [`super::available`]).
pub unsafe fn peak_fma_flops(iters: usize) -> f64 {
    let t = std::time::Instant::now();
    // SAFETY: register-only AVX-512 arithmetic; the caller guarantees the
    // instructions exist.
    unsafe {
        asm!(
            "vxorps zmm0, zmm0, zmm0",
            "vxorps zmm1, zmm1, zmm1",
            "vxorps zmm2, zmm2, zmm2",
            "vxorps zmm3, zmm3, zmm3",
            "vxorps zmm4, zmm4, zmm4",
            "vxorps zmm5, zmm5, zmm5",
            "vxorps zmm6, zmm6, zmm6",
            "vxorps zmm7, zmm7, zmm7",
            "vxorps zmm8, zmm8, zmm8",
            "vxorps zmm9, zmm9, zmm9",
            "vxorps zmm10, zmm10, zmm10",
            "vxorps zmm11, zmm11, zmm11",
            "vxorps zmm12, zmm12, zmm12",
            "vxorps zmm13, zmm13, zmm13",
            "vxorps zmm14, zmm14, zmm14",
            "vxorps zmm15, zmm15, zmm15",
            "vxorps zmm16, zmm16, zmm16",
            "vxorps zmm17, zmm17, zmm17",
            "2:",
            "vfmadd231ps zmm0, zmm16, zmm17",
            "vfmadd231ps zmm1, zmm16, zmm17",
            "vfmadd231ps zmm2, zmm16, zmm17",
            "vfmadd231ps zmm3, zmm16, zmm17",
            "vfmadd231ps zmm4, zmm16, zmm17",
            "vfmadd231ps zmm5, zmm16, zmm17",
            "vfmadd231ps zmm6, zmm16, zmm17",
            "vfmadd231ps zmm7, zmm16, zmm17",
            "vfmadd231ps zmm8, zmm16, zmm17",
            "vfmadd231ps zmm9, zmm16, zmm17",
            "vfmadd231ps zmm10, zmm16, zmm17",
            "vfmadd231ps zmm11, zmm16, zmm17",
            "vfmadd231ps zmm12, zmm16, zmm17",
            "vfmadd231ps zmm13, zmm16, zmm17",
            "vfmadd231ps zmm14, zmm16, zmm17",
            "vfmadd231ps zmm15, zmm16, zmm17",
            "dec {k}",
            "jnz 2b",
            k = inout(reg) iters.max(1) => _,
            out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
            out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
            out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
            out("zmm12") _, out("zmm13") _, out("zmm14") _, out("zmm15") _,
            out("zmm16") _, out("zmm17") _,
            options(nostack, nomem),
        );
    }
    let secs = t.elapsed().as_secs_f64();
    (iters.max(1) * 16 * 16 * 2) as f64 / secs
}

#[cfg(test)]
mod tests {
    use super::super::simd::{bf16_scalar, bf16_to_f32};
    use super::*;
    use crate::embed::buf::Buf;

    /// Deterministic values in [-1, 1).
    fn value(i: usize, salt: usize) -> f32 {
        let x = (i.wrapping_mul(2_654_435_761).wrapping_add(salt * 40_503)) % 2001;
        x as f32 / 1000.0 - 1.0
    }

    fn check(m: usize, n: usize, k: usize) {
        // A rounded to bf16 as the kernel sees it, rows up to m rounded to 32.
        let lda = k.div_ceil(TILE_K) * TILE_K;
        let rows = m.div_ceil(32) * 32;
        let mut a = Buf::<u16>::zeroed(rows * lda);
        for i in 0..m {
            for kk in 0..k {
                a.as_mut_slice()[i * lda + kk] = bf16_scalar(value(i * k + kk, 1));
            }
        }
        let w: Vec<f32> = (0..n * k).map(|i| value(i, 2)).collect();
        let b = PackedB::from_nk(&w, n, k);
        let chunk = 3;
        let ldc_full = b.ntiles * TILE_N + 5;
        let mut c = vec![f32::NAN; m * n];
        for plan in [
            Plan {
                chunk,
                n_outer: false,
                full_ldc: None,
            },
            Plan {
                chunk,
                n_outer: true,
                full_ldc: None,
            },
            Plan {
                chunk: 2,
                n_outer: true,
                full_ldc: Some(ldc_full),
            },
        ] {
            let mut cbuf = Buf::<f32>::zeroed(rows * ldc_full);
            c.fill(f32::NAN);
            // SAFETY: AMX checked by the caller; buffers sized per `gemm`.
            unsafe {
                gemm(
                    a.as_ptr(),
                    lda,
                    m,
                    b.data.as_ptr(),
                    b.ktiles,
                    b.ntiles,
                    None,
                    plan,
                    cbuf.as_mut_ptr(),
                    |row0, rows, t0, tiles, cp, ldc| {
                        for r in 0..rows {
                            for col in 0..tiles * TILE_N {
                                let j = t0 * TILE_N + col;
                                if j < n {
                                    c[(row0 + r) * n + j] = *cp.add(r * ldc + col);
                                }
                            }
                        }
                    },
                )
            };
            check_result(m, n, k, &a, lda, &w, &c);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_result(m: usize, n: usize, k: usize, a: &Buf<u16>, lda: usize, w: &[f32], c: &[f32]) {
        let mut worst = 0f64;
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k)
                    .map(|kk| {
                        bf16_to_f32(a.as_slice()[i * lda + kk]) as f64
                            * bf16_to_f32(bf16_scalar(w[j * k + kk])) as f64
                    })
                    .sum();
                worst = worst.max((c[i * n + j] as f64 - want).abs());
            }
        }
        assert!(worst < 1e-4 * k as f64, "{m}x{n}x{k}: worst error {worst}");
        // And against the unrounded f32 product, the bf16 error is small.
        let mut rel = 0f64;
        let mut scale = 0f64;
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k)
                    .map(|kk| value(i * k + kk, 1) as f64 * w[j * k + kk] as f64)
                    .sum();
                rel += (c[i * n + j] as f64 - want).powi(2);
                scale += want * want;
            }
        }
        assert!(
            (rel / scale).sqrt() < 1e-2,
            "{m}x{n}x{k}: relative error {}",
            (rel / scale).sqrt()
        );
    }

    #[test]
    fn amx_gemm_matches_naive() {
        if !super::super::available() {
            eprintln!("note: this CPU/OS has no usable AMX; skipping the AMX kernel test");
            return;
        }
        for &(m, n, k) in &[
            (1, 1, 1),
            (37, 45, 70),
            (16, 16, 32),
            (33, 17, 31),
            (70, 100, 129),
            (5, 64, 300),
        ] {
            check(m, n, k);
        }
    }
}
