//! The BERT encoder forward pass on AMX: one sequence at a time, without
//! padding, on the calling thread.
//!
//! Per layer (HF `modeling_bert.py`, as candle's `models/bert.rs`):
//! `qkv = x Wqkv^T + b` (one fused product), per head
//! `softmax(q k^T / sqrt(d)) v`, `x = LN(x + ctx Wo^T + b)`,
//! `x = LN(x + act(x Wi^T + b) Wd^T + b)`. The residual stream `x`, bias,
//! softmax, activation and LayerNorm stay f32; each product reads bf16
//! copies of its inputs and accumulates in f32 (see `kernel.rs`).
//!
//! Softmax weights are rounded to bf16 unnormalised and the product is
//! divided by the sum of the rounded weights, so the weights that were
//! actually used sum to one.

use std::cell::RefCell;

use super::kernel::{self, PackedB, Plan, TILE_ELEMS, TILE_K, TILE_N};
use super::simd;
use crate::embed::buf::Buf;
use crate::embed::weights::{pool, BertWeights, Dense, Dims, Norm};
use crate::embed::Pooling;

struct Linear {
    w: PackedB,
    /// Bias, padded with zeros to the packed N.
    bias: Vec<f32>,
}

impl Linear {
    fn new(w: &[f32], bias: &[f32], n: usize, k: usize) -> Linear {
        let w = PackedB::from_nk(w, n, k);
        let mut b = vec![0f32; w.ntiles * TILE_N];
        b[..n].copy_from_slice(bias);
        Linear { w, bias: b }
    }
}

struct Layer {
    qkv: Linear,
    out: Linear,
    ln1: Norm,
    up: Linear,
    down: Linear,
    ln2: Norm,
}

/// A BERT encoder with its weights packed for AMX.
pub struct Bert {
    d: Dims,
    /// The embeddings (its dense layers were moved into `layers`).
    emb: BertWeights,
    layers: Vec<Layer>,
    pooling: Pooling,
}

fn k32(n: usize) -> usize {
    n.div_ceil(TILE_K) * TILE_K
}

fn n16(n: usize) -> usize {
    n.div_ceil(TILE_N) * TILE_N
}

impl Bert {
    /// Pack `w` for AMX: the dense weights rounded to bf16 and tiled.
    pub fn from_weights(mut w: BertWeights) -> Bert {
        let lin = |d: &Dense| Linear::new(&d.w, &d.b, d.n, d.k);
        let layers = std::mem::take(&mut w.layers)
            .iter()
            .map(|l| Layer {
                qkv: lin(&l.qkv),
                out: lin(&l.out),
                ln1: Norm {
                    gamma: l.ln1.gamma.clone(),
                    beta: l.ln1.beta.clone(),
                },
                up: lin(&l.up),
                down: lin(&l.down),
                ln2: Norm {
                    gamma: l.ln2.gamma.clone(),
                    beta: l.ln2.beta.clone(),
                },
            })
            .collect();
        Bert {
            d: w.dims,
            layers,
            pooling: w.pooling,
            emb: w,
        }
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.d.hidden
    }

    /// Largest accepted sequence.
    pub fn max_len(&self) -> usize {
        self.d.max_pos
    }

    /// The pooled, L2-normalised embedding of one sequence of token ids
    /// (1 ..= [`Bert::max_len`] ids; ids past the vocabulary are clamped), computed
    /// on this thread with its own scratch buffers.
    ///
    /// # Safety
    /// AMX and AVX-512 usable ([`super::available`]).
    pub unsafe fn embed_one(&self, ids: &[u32]) -> Vec<f32> {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
        }
        assert!(
            !ids.is_empty() && ids.len() <= self.d.max_pos,
            "sequence length checked by the caller"
        );
        let run = |s: &mut Scratch| {
            s.ensure(&self.d, ids.len());
            // SAFETY: the caller guarantees AMX; scratch sized just above.
            let out = unsafe { self.forward(ids, s) };
            // SAFETY: as above.
            unsafe { kernel::release() };
            out
        };
        // Nothing inside the forward pass yields to rayon, so the scratch is
        // never borrowed twice; a fresh one keeps that from being a panic.
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => run(&mut s),
            Err(_) => run(&mut Scratch::default()),
        })
    }

    /// # Safety
    /// AMX usable; `s` sized for `ids.len()` ([`Scratch::ensure`]).
    unsafe fn forward(&self, ids: &[u32], s: &mut Scratch) -> Vec<f32> {
        let d = &self.d;
        let (h, m) = (d.hidden, ids.len());
        let hk = k32(h);
        // Embeddings: word + position + token type 0, then LayerNorm.
        self.emb.embed_tokens(ids, &mut s.x.as_mut_slice()[..m * h]);
        let (g, b) = (
            self.emb.emb_ln.gamma.as_ptr(),
            self.emb.emb_ln.beta.as_ptr(),
        );
        // SAFETY: x holds m rows of h, xb m rows of hk (scratch sized).
        unsafe {
            simd::layer_norm(
                s.x.as_mut_ptr(),
                h,
                None,
                m,
                g,
                b,
                d.eps,
                h,
                s.xb.as_mut_ptr(),
                hk,
            )
        };
        for layer in &self.layers {
            // SAFETY: AMX usable (caller); scratch sized for m.
            unsafe { self.layer(layer, m, s) };
        }
        // Pooling and L2 normalisation, in f64 from the residual stream.
        pool(&s.x.as_slice()[..m * h], m, h, self.pooling)
    }

    /// One encoder layer on `m` tokens: `s.x`/`s.xb` in, `s.x`/`s.xb` out.
    /// Each step is its own function so that profiles name it.
    ///
    /// # Safety
    /// As [`Bert::forward`].
    unsafe fn layer(&self, ly: &Layer, m: usize, s: &mut Scratch) {
        // SAFETY: passed on from the caller.
        unsafe {
            self.qkv(ly, m, s);
            self.attention(m, s);
            self.dense_norm(&ly.out, &ly.ln1, s.ctx.as_ptr(), k32(self.d.hidden), m, s);
            self.up(ly, m, s);
            self.dense_norm(&ly.down, &ly.ln2, s.inter.as_ptr(), k32(self.d.inter), m, s);
        }
    }

    /// `qkv = bf16(xb Wqkv^T + b)`, row-major `[m][3h]`.
    ///
    /// # Safety
    /// As [`Bert::forward`].
    #[inline(never)]
    unsafe fn qkv(&self, ly: &Layer, m: usize, s: &mut Scratch) {
        let ld3 = 3 * self.d.hidden;
        let qkv = s.qkv.as_mut_ptr();
        let w = &ly.qkv.w;
        // SAFETY: xb has m (rounded up to 32) rows of k32(h); qkv has m rows
        // of 3h; the epilogue writes rows below m and columns below 3h.
        unsafe {
            let epi = |row0: usize, rows, t0: usize, tiles: usize, c, ldc| {
                let (c0, cols) = (t0 * TILE_N, (tiles * TILE_N).min(ld3 - t0 * TILE_N));
                simd::act_block(c, ldc, rows, qkv.add(row0 * ld3 + c0), ld3, cols, None);
            };
            let (a, lda) = (s.xb.as_ptr(), k32(self.d.hidden));
            let bias = Some(ly.qkv.bias.as_slice());
            kernel::gemm(
                a,
                lda,
                m,
                w.data.as_ptr(),
                w.ktiles,
                w.ntiles,
                bias,
                STREAM,
                s.c.as_mut_ptr(),
                epi,
            )
        };
    }

    /// Self-attention, head by head, from `s.qkv` into `s.ctx` (`[m][hk]`
    /// bf16).
    ///
    /// # Safety
    /// As [`Bert::forward`].
    #[inline(never)]
    unsafe fn attention(&self, m: usize, s: &mut Scratch) {
        let d = &self.d;
        let (h, dh) = (d.hidden, d.head_dim);
        let (hk, ld3, lk, dk) = (k32(h), 3 * h, k32(m), k32(dh));
        let scale = 1.0 / (dh as f32).sqrt();
        let kn = m.div_ceil(TILE_N); // key tiles in S
        let vn = dh.div_ceil(TILE_N); // head-dim tiles in O
        let (qkv, ctx, p) = (s.qkv.as_ptr(), s.ctx.as_mut_ptr(), s.p.as_mut_ptr());
        let (kp, vp, cbuf) = (s.kp.as_ptr(), s.vp.as_ptr(), s.c.as_mut_ptr());
        for head in 0..d.heads {
            let qoff = head * dh;
            // SAFETY: AVX-512 present (caller); the slices are the scratch
            // buffers sized for m rows.
            unsafe {
                pack_keys(
                    s.qkv.as_slice(),
                    ld3,
                    h + qoff,
                    m,
                    dh,
                    dk / TILE_K,
                    s.kp.as_mut_slice(),
                );
                pack_values(
                    s.qkv.as_slice(),
                    ld3,
                    2 * h + qoff,
                    m,
                    dh,
                    lk / TILE_K,
                    vn,
                    s.vp.as_mut_slice(),
                );
            }
            // S = q k^T, 32 query rows at a time; the epilogue turns the
            // panel into bf16 softmax weights (p, 32 x lk) and multiplies
            // them by v at once, so p never leaves L1. (The inner product
            // reuses the tile unit between two panels of the outer one,
            // which keeps nothing in tiles across panels, and its panel
            // buffer `c`, whose scores were consumed.)
            // SAFETY: q rows (m rounded up to 32, stride 3h) lie in qkv with
            // its slack; kp/vp were just packed; p holds 32 rows of lk; the
            // inner epilogue writes ctx rows below m, this head's columns.
            unsafe {
                let scores = |row0: usize, rows: usize, _, _, c, ldc| {
                    let mut sums = [0f32; 32];
                    simd::softmax_rows(c, ldc, rows, m, scale, p, lk, &mut sums);
                    let out = |_, rows, _, _, o: *const f32, ldo| {
                        for (r, sum) in sums.iter().enumerate().take(rows) {
                            let dst = ctx.add((row0 + r) * hk + qoff);
                            simd::scale_bf16(o.add(r * ldo), 1.0 / sum, dst, dh);
                        }
                    };
                    kernel::gemm(p, lk, rows, vp, lk / TILE_K, vn, None, panel(vn), cbuf, out);
                };
                kernel::gemm(
                    qkv.add(qoff),
                    ld3,
                    m,
                    kp,
                    dk / TILE_K,
                    kn,
                    None,
                    panel(kn),
                    cbuf,
                    scores,
                )
            };
        }
    }

    /// `x = LN(x + a W^T + b)`, also into `xb`: the attention output and the
    /// FFN output products (`a` has `m` rows of stride `lda`).
    ///
    /// # Safety
    /// As [`Bert::forward`]; `a` readable for m (rounded up to 32) rows of
    /// `lda` >= the layer's K.
    #[inline(never)]
    unsafe fn dense_norm(
        &self,
        lin: &Linear,
        ln: &Norm,
        a: *const u16,
        lda: usize,
        m: usize,
        s: &mut Scratch,
    ) {
        let h = self.d.hidden;
        let (x, xb) = (s.x.as_mut_ptr(), s.xb.as_mut_ptr());
        let w = &lin.w;
        // Large weights (the FFN output) stream once, n-outer, into a
        // whole-matrix C, and LayerNorm runs when a panel's last chunk
        // lands; small ones (the attention output) run panel by panel.
        let big = w.ntiles * w.ktiles > 24 * 12;
        let (plan, c) = if big {
            (
                Plan {
                    full_ldc: Some(w.ntiles * TILE_N),
                    ..STREAM
                },
                s.cfull.as_mut_ptr(),
            )
        } else {
            (panel(w.ntiles), s.c.as_mut_ptr())
        };
        let (c_origin, ntiles) = (c as *const f32, w.ntiles);
        // SAFETY: x has m rows of h, xb m rows of k32(h), C (panel or whole)
        // as the plan says; the epilogue covers whole rows below m once
        // their last chunk is done.
        unsafe {
            let epi = |row0, rows, t0, tiles, c: *const f32, ldc| {
                if t0 + tiles < ntiles {
                    return;
                }
                let c = if big { c_origin.add(row0 * ldc) } else { c };
                let (g, b) = (ln.gamma.as_ptr(), ln.beta.as_ptr());
                simd::layer_norm(
                    x.add(row0 * h),
                    h,
                    Some((c, ldc)),
                    rows,
                    g,
                    b,
                    self.d.eps,
                    h,
                    xb.add(row0 * k32(h)),
                    k32(h),
                );
            };
            let bias = Some(lin.bias.as_slice());
            kernel::gemm(
                a,
                lda,
                m,
                w.data.as_ptr(),
                w.ktiles,
                w.ntiles,
                bias,
                plan,
                c,
                epi,
            )
        };
    }

    /// `inter = bf16(act(xb Wi^T + b))`.
    ///
    /// # Safety
    /// As [`Bert::forward`].
    #[inline(never)]
    unsafe fn up(&self, ly: &Layer, m: usize, s: &mut Scratch) {
        let (inter, ik, n) = (s.inter.as_mut_ptr(), k32(self.d.inter), self.d.inter);
        let w = &ly.up.w;
        // SAFETY: xb has m (rounded up to 32) rows of k32(h); inter m rows
        // of ik; the epilogue writes rows below m, columns below n.
        unsafe {
            let epi = |row0: usize, rows, t0: usize, tiles: usize, c, ldc| {
                let (c0, cols) = (t0 * TILE_N, (tiles * TILE_N).min(n - t0 * TILE_N));
                simd::act_block(
                    c,
                    ldc,
                    rows,
                    inter.add(row0 * ik + c0),
                    ik,
                    cols,
                    Some(self.d.act),
                );
            };
            let (a, lda) = (s.xb.as_ptr(), k32(self.d.hidden));
            let bias = Some(ly.up.bias.as_slice());
            kernel::gemm(
                a,
                lda,
                m,
                w.data.as_ptr(),
                w.ktiles,
                w.ntiles,
                bias,
                STREAM,
                s.c.as_mut_ptr(),
                epi,
            )
        };
    }
}

/// Plan for products whose epilogue needs no whole row: weights stream
/// once (n-outer), two N tiles (one 2x2 block column) per epilogue.
const STREAM: Plan = Plan {
    chunk: 2,
    n_outer: true,
    full_ldc: None,
};

/// Plan for whole-row epilogues: each 32-row panel across `ntiles`.
fn panel(ntiles: usize) -> Plan {
    Plan {
        chunk: ntiles,
        n_outer: false,
        full_ldc: None,
    }
}

/// Pack one head's keys (`src[i * ld + off + d]`, `i < m`, `d < dh`) as the
/// B operand of `q k^T`: N = tokens, K = head dims. Each tile row is a
/// gather of one dimension pair across 16 tokens.
///
/// # Safety
/// AVX-512 present; `src` holds `m` rows of stride `ld` with `off + dh <=
/// ld`; `out` holds `m.div_ceil(16) * ktiles` tiles.
#[allow(clippy::too_many_arguments)]
unsafe fn pack_keys(
    src: &[u16],
    ld: usize,
    off: usize,
    m: usize,
    dh: usize,
    ktiles: usize,
    out: &mut [u16],
) {
    let ntiles = m.div_ceil(TILE_N);
    assert!(out.len() >= ntiles * ktiles * TILE_ELEMS && m * ld <= src.len() && off + dh <= ld);
    if dh % 2 == 1 {
        // A pair would straddle two heads: the plain way.
        kernel::pack_nk(|i, d| src[i * ld + off + d], m, dh, ktiles, out);
        return;
    }
    for j in 0..ntiles {
        let tokens = (m - j * TILE_N).min(TILE_N);
        for t in 0..ktiles {
            let tile = &mut out[(j * ktiles + t) * TILE_ELEMS..][..TILE_ELEMS];
            let pairs = dh.saturating_sub(t * TILE_K).min(TILE_K) / 2;
            for r in 0..TILE_K / 2 {
                let dst = &mut tile[r * 32..][..32];
                if r < pairs {
                    let first = (j * TILE_N) * ld + off + t * TILE_K + 2 * r;
                    // SAFETY: token rows below `tokens` are inside `src` (m
                    // rows) and the pair is inside this head (`2r + 1 < dh`).
                    unsafe {
                        simd::gather_pairs(src.as_ptr().add(first), ld, tokens, dst.as_mut_ptr())
                    };
                } else {
                    dst.fill(0);
                }
            }
        }
    }
}

/// Pack one head's values (`src[i * ld + off + d]`) as the B operand of
/// `p v`: K = tokens (`ktiles` tiles), N = head dims (`ntiles` tiles).
///
/// # Safety
/// AVX-512 present; `src` holds `m` rows of stride `ld` with `off + dh <=
/// ld`; `out` holds `ntiles * ktiles` tiles.
#[allow(clippy::too_many_arguments)]
unsafe fn pack_values(
    src: &[u16],
    ld: usize,
    off: usize,
    m: usize,
    dh: usize,
    ktiles: usize,
    ntiles: usize,
    out: &mut [u16],
) {
    assert!(out.len() >= ntiles * ktiles * TILE_ELEMS && m * ld <= src.len() && off + dh <= ld);
    for j in 0..ntiles {
        let cols = dh.saturating_sub(j * TILE_N).min(TILE_N);
        for t in 0..ktiles {
            let tile = &mut out[(j * ktiles + t) * TILE_ELEMS..][..TILE_ELEMS];
            for r in 0..TILE_K / 2 {
                let i = t * TILE_K + 2 * r;
                let row = |i: usize| (i < m).then(|| src[i * ld + off + j * TILE_N..].as_ptr());
                // SAFETY: rows below m hold `cols` values from this head's
                // column `16j` (`16j + cols <= dh`).
                unsafe {
                    simd::interleave_rows(row(i), row(i + 1), cols, tile[r * 32..].as_mut_ptr())
                };
            }
        }
    }
}

/// Per-thread buffers, grown to the longest sequence seen. Matrices have
/// `rows` rows (a multiple of 32, so a 32-row panel never reads past the
/// end); column padding is zero from allocation and never written.
struct Scratch {
    rows: usize,
    shape: (usize, usize, usize),
    x: Buf<f32>,
    xb: Buf<u16>,
    qkv: Buf<u16>,
    kp: Buf<u16>,
    vp: Buf<u16>,
    p: Buf<u16>,
    ctx: Buf<u16>,
    inter: Buf<u16>,
    c: Buf<f32>,
    cfull: Buf<f32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            rows: 0,
            shape: (0, 0, 0),
            x: Buf::zeroed(0),
            xb: Buf::zeroed(0),
            qkv: Buf::zeroed(0),
            kp: Buf::zeroed(0),
            vp: Buf::zeroed(0),
            p: Buf::zeroed(0),
            ctx: Buf::zeroed(0),
            inter: Buf::zeroed(0),
            c: Buf::zeroed(0),
            cfull: Buf::zeroed(0),
        }
    }
}

impl Scratch {
    /// Make every buffer large enough for `m` tokens of a model with `d`.
    /// (Padding columns of A operands need only be finite: they meet zero
    /// rows of the packed B.)
    fn ensure(&mut self, d: &Dims, m: usize) {
        let shape = (d.hidden, d.head_dim, d.inter);
        if k32(m) <= self.rows && shape == self.shape {
            return;
        }
        let rows = k32(m).max(if shape == self.shape { self.rows } else { 0 });
        let (h, dk) = (d.hidden, k32(d.head_dim));
        self.x = Buf::zeroed(rows * h);
        self.xb = Buf::zeroed(rows * k32(h));
        // Slack: the last head's q tile reads up to 31 values past its end.
        self.qkv = Buf::zeroed(rows * 3 * h + TILE_K);
        self.kp = Buf::zeroed(rows / TILE_N * (dk / TILE_K) * TILE_ELEMS);
        self.vp = Buf::zeroed(d.head_dim.div_ceil(TILE_N) * (rows / TILE_K) * TILE_ELEMS);
        self.p = Buf::zeroed(32 * rows);
        self.ctx = Buf::zeroed(rows * k32(h));
        self.inter = Buf::zeroed(rows * k32(d.inter));
        self.cfull = Buf::zeroed(rows * n16(h));
        let widest = (2 * TILE_N).max(rows).max(n16(d.head_dim)).max(n16(h));
        self.c = Buf::zeroed(32 * widest);
        self.rows = rows;
        self.shape = shape;
    }
}
