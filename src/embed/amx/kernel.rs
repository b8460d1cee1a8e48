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
    pub data: super::buf::Buf<u16>,
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
        let mut data = super::buf::Buf::<u16>::zeroed(ktiles * ntiles * TILE_ELEMS);
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

/// Pack a B operand given as `get(k, n)` (row-major `[K][N]`, as a value
/// matrix is stored) into tiles with `ktiles` K tiles and `ntiles` N tiles.
#[inline]
pub fn pack_kn(
    get: impl Fn(usize, usize) -> u16,
    rows_k: usize,
    cols_n: usize,
    ktiles: usize,
    ntiles: usize,
    out: &mut [u16],
) {
    for j in 0..ntiles {
        for t in 0..ktiles {
            let tile = &mut out[(j * ktiles + t) * TILE_ELEMS..][..TILE_ELEMS];
            for kk in 0..TILE_K {
                let k = t * TILE_K + kk;
                for n in 0..TILE_N {
                    let col = j * TILE_N + n;
                    tile[(kk / 2) * 32 + n * 2 + (kk & 1)] = if k < rows_k && col < cols_n {
                        get(k, col)
                    } else {
                        0
                    };
                }
            }
        }
    }
}

/// One C block: `mr` x `nr` tiles (each 1 or 2) over `ktiles` K steps.
///
/// # Safety
/// AMX configured on this thread ([`configure`]); `a` readable for
/// `16 * mr` rows of `64 * ktiles` bytes at stride `lda` bytes; `b` readable
/// for `nr` runs of `ktiles` tiles spaced `bstride` bytes; `c` writable for
/// `16 * mr` rows of `64 * nr` bytes at stride `ldc` bytes.
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
) {
    debug_assert!(ktiles > 0);
    // SAFETY (all four arms): the caller guarantees the ranges above; every
    // pointer advanced inside the loop stays within them (`ktiles` steps of
    // 64 bytes along A and 1024 bytes along B).
    unsafe {
        let a1 = a.add(16 * lda);
        let b1 = b.add(bstride);
        let c1 = c.add(64);
        let c2 = c.add(16 * ldc);
        let c3 = c2.add(64);
        match (mr, nr) {
            (2, 2) => asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                "2:",
                "tileloadd tmm4, [{a0} + {lda}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tileloadd tmm7, [{b1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tileloadd tmm5, [{a1} + {lda}*1]",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "add {a0}, 64",
                "add {a1}, 64",
                "add {b0}, 1024",
                "add {b1}, 1024",
                "dec {k}",
                "jnz 2b",
                "tilestored [{c0} + {ldc}*1], tmm0",
                "tilestored [{c1} + {ldc}*1], tmm1",
                "tilestored [{c2} + {ldc}*1], tmm2",
                "tilestored [{c3} + {ldc}*1], tmm3",
                a0 = inout(reg) a => _,
                a1 = inout(reg) a1 => _,
                b0 = inout(reg) b => _,
                b1 = inout(reg) b1 => _,
                k = inout(reg) ktiles => _,
                lda = in(reg) lda,
                s = in(reg) 64usize,
                c0 = in(reg) c,
                c1 = in(reg) c1,
                c2 = in(reg) c2,
                c3 = in(reg) c3,
                ldc = in(reg) ldc,
                options(nostack),
            ),
            (2, 1) => asm!(
                "tilezero tmm0",
                "tilezero tmm2",
                "2:",
                "tileloadd tmm4, [{a0} + {lda}*1]",
                "tileloadd tmm5, [{a1} + {lda}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "add {a0}, 64",
                "add {a1}, 64",
                "add {b0}, 1024",
                "dec {k}",
                "jnz 2b",
                "tilestored [{c0} + {ldc}*1], tmm0",
                "tilestored [{c2} + {ldc}*1], tmm2",
                a0 = inout(reg) a => _,
                a1 = inout(reg) a1 => _,
                b0 = inout(reg) b => _,
                k = inout(reg) ktiles => _,
                lda = in(reg) lda,
                s = in(reg) 64usize,
                c0 = in(reg) c,
                c2 = in(reg) c2,
                ldc = in(reg) ldc,
                options(nostack),
            ),
            (1, 2) => asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "2:",
                "tileloadd tmm4, [{a0} + {lda}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tileloadd tmm7, [{b1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "add {a0}, 64",
                "add {b0}, 1024",
                "add {b1}, 1024",
                "dec {k}",
                "jnz 2b",
                "tilestored [{c0} + {ldc}*1], tmm0",
                "tilestored [{c1} + {ldc}*1], tmm1",
                a0 = inout(reg) a => _,
                b0 = inout(reg) b => _,
                b1 = inout(reg) b1 => _,
                k = inout(reg) ktiles => _,
                lda = in(reg) lda,
                s = in(reg) 64usize,
                c0 = in(reg) c,
                c1 = in(reg) c1,
                ldc = in(reg) ldc,
                options(nostack),
            ),
            _ => asm!(
                "tilezero tmm0",
                "2:",
                "tileloadd tmm4, [{a0} + {lda}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "add {a0}, 64",
                "add {b0}, 1024",
                "dec {k}",
                "jnz 2b",
                "tilestored [{c0} + {ldc}*1], tmm0",
                a0 = inout(reg) a => _,
                b0 = inout(reg) b => _,
                k = inout(reg) ktiles => _,
                lda = in(reg) lda,
                s = in(reg) 64usize,
                c0 = in(reg) c,
                ldc = in(reg) ldc,
                options(nostack),
            ),
        }
    }
}

/// `C = A x B` for `m` rows, in panels of up to 32 rows by `chunk` N tiles.
///
/// After each panel is computed into `cbuf` (32 rows x `16 * chunk` f32,
/// row stride `16 * chunk`), `epi(row0, rows, tile0, tiles, cbuf)` is
/// called with the panel's first row, its count of valid rows (rows past
/// `m` in the last panel hold garbage), its first N tile and its N tile
/// count. Loads the tile configuration itself.
///
/// # Safety
/// AMX usable ([`super::available`]); `a` readable for `m` rounded up to 32
/// rows of `32 * b.ktiles` bf16 at stride `lda` elements; `b` points at
/// `ntiles * ktiles` packed tiles; `cbuf` writable for `32 * 16 * chunk` f32.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    a: *const u16,
    lda: usize,
    m: usize,
    b: *const u16,
    ktiles: usize,
    ntiles: usize,
    chunk: usize,
    cbuf: *mut f32,
    mut epi: impl FnMut(usize, usize, usize, usize, *const f32),
) {
    let chunk = chunk.clamp(1, ntiles.max(1));
    let ldc = chunk * TILE_N * 4;
    let bstride = ktiles * TILE_ELEMS * 2;
    // SAFETY: the caller guarantees AMX and the buffer extents; `block`'s
    // ranges follow from them: row `row0 + 32` <= m rounded up to 32, tile
    // `j + nr` <= ntiles, panel columns `16 * (jj + nr)` <= `16 * chunk`.
    unsafe {
        configure();
        let mut row0 = 0;
        while row0 < m {
            let rows = (m - row0).min(32);
            let mr = if rows > 16 { 2 } else { 1 };
            let arow = a.add(row0 * lda) as *const u8;
            let mut j0 = 0;
            while j0 < ntiles {
                let tiles = (ntiles - j0).min(chunk);
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
                        cbuf.add(jj * TILE_N) as *mut u8,
                        ldc,
                    );
                    jj += nr;
                }
                epi(row0, rows, j0, tiles, cbuf);
                j0 += tiles;
            }
            row0 += 32;
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
