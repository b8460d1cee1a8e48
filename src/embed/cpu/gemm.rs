//! f32 matrix products `C = A B` for the CPU tiers: `A` row-major (any row
//! stride), `B` packed once into column panels, `C` row-major.
//!
//! The micro-kernel keeps an `MR x NR` block of `C` in registers and, for
//! each `k`, broadcasts one value of each of the `MR` rows of `A` against
//! one `NR`-wide row of the `B` panel (BLIS's outer-product kernel, with the
//! broadcasts read straight from `A`, so `A` needs no packing). It is
//! written once, in plain Rust over fixed-size arrays: compiled inside a
//! tier's `#[target_feature]` function it becomes that tier's vector code
//! (AVX2 `vfmadd231ps ymm`, AVX-512 `zmm`, NEON `fmla`), with the whole
//! block in registers. (Measured on the AVX2 host: the same speed as a
//! hand-written intrinsics kernel, about 80 GFLOP/s per core.)
//!
//! Blocking: `k` in steps of `kc` so one `kc x NR` panel slice stays in L1
//! while every row block of the task passes over it; a task's rows (at most
//! [`MC`]) times `kc` stay in L2.

use super::super::buf::Buf;

/// Rows of `A` per task: a task's `A` block (`MC x kc`) stays in L2. A
/// multiple of every tier's register block rows (6, 8, 12), so only a
/// product's last task computes padding rows (with 64, each task of the
/// 12-row AVX-512 block computed 8 padding rows, 11 % of its work).
pub const MC: usize = 72;

/// Bytes of one `kc x NR` panel slice: half of a 32 KiB L1.
const PANEL_SLICE_BYTES: usize = 16 << 10;

/// `kc` for panels `nr` wide.
pub const fn kc_for(nr: usize) -> usize {
    let kc = PANEL_SLICE_BYTES / (4 * nr);
    if kc < 8 {
        8
    } else {
        kc
    }
}

/// The right-hand operand of a product, packed: panel `p` holds, for each
/// `k` in order, the `nr` values of columns `p * nr ..`, zero past `n`.
pub struct Packed {
    data: Buf<f32>,
    /// Columns.
    pub n: usize,
    /// Rows (the shared dimension).
    pub k: usize,
    /// Panel width.
    pub nr: usize,
}

impl Packed {
    /// An empty operand for panels `nr` wide, to be filled by
    /// [`Packed::fill`].
    pub fn empty(nr: usize) -> Packed {
        Packed {
            data: Buf::zeroed(0),
            n: 0,
            k: 0,
            nr,
        }
    }

    /// Pack a PyTorch `Linear` weight, `w[j * k + i]` (`n` rows of `k`), as
    /// the `k x n` operand of `x W^T`.
    pub fn from_nk(w: &[f32], n: usize, k: usize, nr: usize) -> Packed {
        assert!(w.len() >= n * k, "weight shorter than n x k");
        let mut p = Packed::empty(nr);
        p.fill(n, k, |i, j| w[j * k + i]);
        p
    }

    /// Re-pack in place (growing the buffer if needed): element `(i, j)` of
    /// the `k x n` operand is `get(i, j)`.
    pub fn fill(&mut self, n: usize, k: usize, get: impl Fn(usize, usize) -> f32) {
        let nr = self.nr;
        let panels = n.div_ceil(nr);
        self.shape(n, k);
        let data = self.data.as_mut_slice();
        for p in 0..panels {
            let cols = (n - p * nr).min(nr);
            let panel = &mut data[p * k * nr..(p + 1) * k * nr];
            // The last panel's padding columns were zeroed by `shape`.
            for (i, row) in panel.chunks_exact_mut(nr).enumerate() {
                for (c, v) in row[..cols].iter_mut().enumerate() {
                    *v = get(i, p * nr + c);
                }
            }
        }
    }

    /// Re-pack in place for panels `nr` wide: the `k x n` operand whose
    /// column `j` is `src[j * ld ..][..k]` (attention's keys, transposed),
    /// read a column at a time.
    pub fn refill_columns(&mut self, nr: usize, n: usize, k: usize, src: &[f32], ld: usize) {
        self.nr = nr;
        self.shape(n, k);
        let data = self.data.as_mut_slice();
        for j in 0..n {
            let (p, c) = (j / nr, j % nr);
            let panel = &mut data[p * k * nr..(p + 1) * k * nr];
            for (i, v) in src[j * ld..j * ld + k].iter().enumerate() {
                panel[i * nr + c] = *v;
            }
        }
    }

    /// Re-pack in place for panels `nr` wide: the `k x n` operand whose row
    /// `i` is `src[i * ld ..][..n]` (attention's values), copied a panel
    /// row at a time.
    pub fn refill_rows(&mut self, nr: usize, n: usize, k: usize, src: &[f32], ld: usize) {
        self.nr = nr;
        self.shape(n, k);
        let data = self.data.as_mut_slice();
        for p in 0..n.div_ceil(nr) {
            let cols = (n - p * nr).min(nr);
            let panel = &mut data[p * k * nr..(p + 1) * k * nr];
            for (i, row) in panel.chunks_exact_mut(nr).enumerate() {
                let from = i * ld + p * nr;
                row[..cols].copy_from_slice(&src[from..from + cols]);
            }
        }
    }

    /// Size the buffer for a `k x n` operand (growing it if needed), with
    /// the padding columns of the last panel zero.
    fn shape(&mut self, n: usize, k: usize) {
        let nr = self.nr;
        let panels = n.div_ceil(nr);
        let len = panels * k * nr;
        if self.data.as_slice().len() < len {
            self.data = Buf::zeroed(len);
        }
        self.n = n;
        self.k = k;
        let cols = n - (panels.max(1) - 1) * nr;
        if panels > 0 && cols < nr {
            let data = self.data.as_mut_slice();
            let last = &mut data[(panels - 1) * k * nr..panels * k * nr];
            for row in last.chunks_exact_mut(nr) {
                row[cols..].fill(0.0);
            }
        }
    }

    /// Panels.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(self.nr)
    }

    /// Start of panel `p`.
    fn panel(&self, p: usize) -> *const f32 {
        debug_assert!(p < self.panels());
        // SAFETY: `p` is below the panel count, so the offset is inside.
        unsafe { self.data.as_ptr().add(p * self.k * self.nr) }
    }
}

/// The micro-kernel: `C[rows][cols] (+)= A[MR][kc] B[kc][NR]`, `C` read
/// first when `accumulate`. `A` rows past `rows` are read (they must be
/// readable) but not stored.
///
/// # Safety
/// `a` readable for `MR` rows of `kc` at stride `lda`; `b` for `kc` rows of
/// `NR`; `c` writable for `rows` rows of `cols` at stride `ldc`;
/// `rows <= MR`, `cols <= NR`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub unsafe fn micro<const MR: usize, const NR: usize>(
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
    let mut acc = [[0f32; NR]; MR];
    for k in 0..kc {
        // SAFETY: row k of the panel slice (caller).
        let bk = unsafe { &*(b.add(k * NR) as *const [f32; NR]) };
        for r in 0..MR {
            // SAFETY: row r of A, column k (caller).
            let av = unsafe { *a.add(r * lda + k) };
            for j in 0..NR {
                acc[r][j] = av.mul_add(bk[j], acc[r][j]);
            }
        }
    }
    for r in 0..rows {
        // SAFETY: row r < rows of C, columns below cols (caller).
        let cr = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), cols) };
        if accumulate {
            for (o, v) in cr.iter_mut().zip(&acc[r]) {
                *o += v;
            }
        } else {
            cr.copy_from_slice(&acc[r][..cols]);
        }
    }
}

/// One task's product: `C[0..rows][panels p0..p1] = A[0..rows][..] B`,
/// each `MR x NR` block by `micro` (arguments as [`micro`]'s, which it
/// must honour the same way).
///
/// # Safety
/// `a` readable for `rows` rows of `b.k` at stride `lda`; `c` writable for
/// `rows` rows at stride `ldc` over the panels' columns (below `b.n`);
/// `b.nr == NR`; `micro` as safe to call as [`micro`] for those blocks.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn drive<const MR: usize, const NR: usize>(
    a: *const f32,
    lda: usize,
    rows: usize,
    b: &Packed,
    p0: usize,
    p1: usize,
    c: *mut f32,
    ldc: usize,
    micro: impl Fn(*const f32, usize, *const f32, usize, *mut f32, usize, bool, usize, usize),
) {
    assert_eq!(b.nr, NR, "panel width of the operand");
    let kc_max = kc_for(NR);
    let full = rows / MR * MR;
    // The last rows (fewer than MR) go through a zero-padded copy of their
    // slice of A, so the kernel always reads MR rows.
    let mut tail = if full < rows {
        vec![0f32; MR * kc_max]
    } else {
        Vec::new()
    };
    let mut k0 = 0;
    while k0 < b.k {
        let kc = (b.k - k0).min(kc_max);
        if full < rows {
            for r in 0..rows - full {
                // SAFETY: row full + r < rows of A, columns k0..k0 + kc.
                let src = unsafe { std::slice::from_raw_parts(a.add((full + r) * lda + k0), kc) };
                tail[r * kc..(r + 1) * kc].copy_from_slice(src);
            }
        }
        for p in p0..p1 {
            let cols = (b.n - p * NR).min(NR);
            // SAFETY: rows k0..k0 + kc of panel p.
            let bp = unsafe { b.panel(p).add(k0 * NR) };
            let mut r = 0;
            while r < full {
                // SAFETY: MR rows from r < full are inside A and C (caller).
                micro(
                    unsafe { a.add(r * lda + k0) },
                    lda,
                    bp,
                    kc,
                    unsafe { c.add(r * ldc + p * NR) },
                    ldc,
                    k0 > 0,
                    MR,
                    cols,
                );
                r += MR;
            }
            if full < rows {
                // SAFETY: `tail` holds MR rows of kc; C rows full..rows.
                micro(
                    tail.as_ptr(),
                    kc,
                    bp,
                    kc,
                    unsafe { c.add(full * ldc + p * NR) },
                    ldc,
                    k0 > 0,
                    rows - full,
                    cols,
                );
            }
        }
        k0 += kc;
    }
}

/// `C = A B` one value at a time, in f64: the reference the tiers' tests
/// compare against. `a`: `m` rows of `k` at stride `lda`; `b(i, j)`.
pub fn reference(
    a: &[f32],
    lda: usize,
    m: usize,
    k: usize,
    n: usize,
    b: impl Fn(usize, usize) -> f32,
) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for r in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for i in 0..k {
                s += a[r * lda + i] as f64 * b(i, j) as f64;
            }
            c[r * n + j] = s as f32;
        }
    }
    c
}
