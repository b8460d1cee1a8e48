//! The BERT forward pass shared by the f32 and bf16 tiers, over a batch of
//! sequences packed end to end (no padding: the dense layers see one
//! matrix of all the batch's tokens; attention runs per sequence and head).
//!
//! Per layer (HF `modeling_bert.py`, as candle's `models/bert.rs`):
//! `qkv = x Wqkv^T + b`, per head `softmax(q k^T / sqrt(d)) v`,
//! `x = LN(x + ctx Wo^T + b)`, `x = LN(x + act(x Wi^T + b) Wd^T + b)`.
//! Products are split into tasks of rows and column panels on rayon's pool;
//! attention into tasks of one sequence and head.

use std::cell::RefCell;
use std::sync::Mutex;

use rayon::prelude::*;

use super::gemm::{Packed, MC};
use super::Kernels;
use crate::embed::buf::Buf;
use crate::embed::weights::{pool, Act, BertWeights, Dense, Dims, Norm};
use crate::embed::Pooling;

/// Tokens per forward batch: the activations of a batch (about 16 KB per
/// token for MiniLM) stay within a large L3.
const BATCH_TOKENS: usize = 2048;

/// A dense layer packed for tier `K`.
struct Linear<K: Kernels> {
    w: K::Weight,
    bias: Vec<f32>,
    n: usize,
}

impl<K: Kernels> Linear<K> {
    fn new(d: &Dense) -> Self {
        Linear {
            w: K::pack(&d.w, d.n, d.k),
            bias: d.b.clone(),
            n: d.n,
        }
    }
}

struct Layer<K: Kernels> {
    qkv: Linear<K>,
    out: Linear<K>,
    ln1: Norm,
    up: Linear<K>,
    down: Linear<K>,
    ln2: Norm,
}

/// A BERT encoder with its dense weights packed for tier `K`.
pub struct Bert<K: Kernels> {
    d: Dims,
    /// The embeddings (the dense layers were moved into `layers`).
    emb: BertWeights,
    layers: Vec<Layer<K>>,
    pooling: Pooling,
    /// Activations for batches in flight, one set per batch run at once.
    scratch: Vec<Mutex<Activations>>,
}

/// A raw pointer that tasks on other threads write through, each to its
/// own rows or columns.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: every task writes a disjoint region (see each use).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// The batch's activations, reused from batch to batch (fresh pages cost
/// the kernel's zeroing; see PERF-NOTES.md).
#[derive(Default)]
struct Activations {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    inter: Vec<f32>,
}

impl Activations {
    fn ensure(&mut self, d: &Dims, tokens: usize) {
        let h = d.hidden;
        for (v, width) in [
            (&mut self.x, h),
            (&mut self.qkv, 3 * h),
            (&mut self.ctx, h),
            (&mut self.tmp, h),
            (&mut self.inter, d.inter),
        ] {
            if v.len() < tokens * width {
                v.resize(tokens * width, 0.0);
            }
        }
    }
}

/// Per-thread attention buffers: scores and the packed keys and values of
/// one head.
struct Attn {
    scores: Buf<f32>,
    keys: Packed,
    values: Packed,
}

impl<K: Kernels> Bert<K> {
    /// Pack `w`'s dense layers for this tier; `None` where the CPU does
    /// not run it.
    pub fn new(mut w: BertWeights) -> Option<Self> {
        if !K::available() {
            return None;
        }
        let layers = std::mem::take(&mut w.layers)
            .iter()
            .map(|l| Layer {
                qkv: Linear::new(&l.qkv),
                out: Linear::new(&l.out),
                ln1: Norm {
                    gamma: l.ln1.gamma.clone(),
                    beta: l.ln1.beta.clone(),
                },
                up: Linear::new(&l.up),
                down: Linear::new(&l.down),
                ln2: Norm {
                    gamma: l.ln2.gamma.clone(),
                    beta: l.ln2.beta.clone(),
                },
            })
            .collect();
        Some(Bert {
            d: w.dims,
            pooling: w.pooling,
            emb: w,
            layers,
            scratch: (0..rayon::current_num_threads() + 1)
                .map(|_| Mutex::new(Activations::default()))
                .collect(),
        })
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.d.hidden
    }

    /// Longest sequence.
    pub fn max_len(&self) -> usize {
        self.d.max_pos
    }

    /// Embeddings of `seqs` (each 1 ..= `max_len` ids), in order. Batches
    /// are formed in the order given, so sequences of similar length
    /// (sorted) make batches of even work.
    ///
    /// Batches run side by side on rayon's pool, and each batch's products
    /// split into tasks on the same pool: with many batches (indexing) each
    /// worker mostly runs a batch of its own, with no waiting on the others
    /// between steps (which, on a busy machine, lost a third of the time to
    /// whatever ran while a worker waited); with one (a query) its tasks
    /// spread over every worker.
    pub fn embed(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        let mut batches: Vec<std::ops::Range<usize>> = Vec::new();
        let mut i = 0;
        while i < seqs.len() {
            let mut tokens = 0;
            let mut j = i;
            while j < seqs.len() && (j == i || tokens + seqs[j].len() <= BATCH_TOKENS) {
                tokens += seqs[j].len();
                j += 1;
            }
            batches.push(i..j);
            i = j;
        }
        let per_batch: Vec<Vec<Vec<f32>>> = batches
            .into_par_iter()
            .with_max_len(1)
            .map(|range| {
                // Every set may be held by other batches: use fresh ones
                // rather than wait.
                let mut held = self.scratch.iter().find_map(|m| m.try_lock().ok());
                let mut fresh = Activations::default();
                let acts = held.as_deref_mut().unwrap_or(&mut fresh);
                self.forward(&seqs[range], acts)
            })
            .collect();
        per_batch.into_iter().flatten().collect()
    }

    /// One batch.
    fn forward(&self, seqs: &[&[u32]], a: &mut Activations) -> Vec<Vec<f32>> {
        let d = &self.d;
        let h = d.hidden;
        let mut offsets = Vec::with_capacity(seqs.len() + 1);
        offsets.push(0);
        for s in seqs {
            assert!(
                !s.is_empty() && s.len() <= d.max_pos,
                "sequence length checked by the caller"
            );
            offsets.push(offsets.last().unwrap_or(&0) + s.len());
        }
        let t = offsets[seqs.len()];
        a.ensure(d, t);
        // Embeddings, then their LayerNorm.
        seqs.par_iter()
            .zip(split_rows(&mut a.x[..t * h], &offsets, h))
            .for_each(|(ids, x)| self.emb.embed_tokens(ids, x));
        self.norm_rows(&mut a.x[..t * h], None, &[], &self.emb.emb_ln);
        for layer in &self.layers {
            self.layer(layer, seqs, &offsets, a);
        }
        seqs.par_iter()
            .enumerate()
            .map(|(s, ids)| pool(&a.x[offsets[s] * h..], ids.len(), h, self.pooling))
            .collect()
    }

    fn layer(&self, ly: &Layer<K>, seqs: &[&[u32]], offsets: &[usize], a: &mut Activations) {
        let (h, t) = (self.d.hidden, offsets[seqs.len()]);
        self.dense(&a.x, h, t, &ly.qkv, &mut a.qkv, Some(None));
        self.attention(&a.qkv, seqs, offsets, &mut a.ctx);
        self.dense(&a.ctx, h, t, &ly.out, &mut a.tmp, None);
        self.norm_rows(&mut a.x[..t * h], Some(&a.tmp), &ly.out.bias, &ly.ln1);
        self.dense(&a.x, h, t, &ly.up, &mut a.inter, Some(Some(self.d.act)));
        self.dense(&a.inter, self.d.inter, t, &ly.down, &mut a.tmp, None);
        self.norm_rows(&mut a.x[..t * h], Some(&a.tmp), &ly.down.bias, &ly.ln2);
    }

    /// `c = x W^T` for `t` rows of `x` (stride `k`), then per task
    /// `epilogue`: `None` leaves the product (the bias goes in with the
    /// LayerNorm), `Some(act)` adds the bias and applies `act`.
    fn dense(
        &self,
        x: &[f32],
        k: usize,
        t: usize,
        lin: &Linear<K>,
        c: &mut [f32],
        epilogue: Option<Option<Act>>,
    ) {
        let n = lin.n;
        assert!(x.len() >= t * k && c.len() >= t * n);
        let (xp, cp) = (Shared(x.as_ptr() as *mut f32), Shared(c.as_mut_ptr()));
        par_tiles(t, K::panels(&lin.w), |r0, rows, p0, p1| {
            // SAFETY: rows r0..r0 + rows of x (t rows of k) and of c (t rows
            // of n); this task alone writes c's columns of panels p0..p1 in
            // these rows.
            unsafe {
                let c = cp.get().add(r0 * n);
                K::gemm_weight(xp.get().add(r0 * k), k, rows, &lin.w, p0, p1, c, n);
                if let Some(act) = epilogue {
                    let c0 = p0 * K::NR;
                    let c1 = (p1 * K::NR).min(n);
                    K::bias_act(c.add(c0), n, rows, &lin.bias[c0..c1], act);
                }
            }
        });
    }

    /// `x = LN(x + add + bias)` row by row (`add` `None`: `x = LN(x)`).
    fn norm_rows(&self, x: &mut [f32], add: Option<&[f32]>, bias: &[f32], ln: &Norm) {
        let h = self.d.hidden;
        let eps = self.d.eps;
        x.par_chunks_mut(h)
            .enumerate()
            .with_min_len(32)
            .for_each(|(r, row)| {
                let add = add.map_or(&[][..], |a| &a[r * h..(r + 1) * h]);
                let bias = if add.is_empty() { &[][..] } else { bias };
                // SAFETY: one row of h values, with add/bias of h or empty.
                unsafe { K::add_layer_norm(row, add, bias, &ln.gamma, &ln.beta, eps) };
            });
    }

    /// Self-attention from `qkv` (`t` rows of `3h`) into `ctx` (`t` rows of
    /// `h`), one task per sequence and head.
    fn attention(&self, qkv: &[f32], seqs: &[&[u32]], offsets: &[usize], ctx: &mut [f32]) {
        thread_local! {
            static ATTN: RefCell<Option<Attn>> = const { RefCell::new(None) };
        }
        let d = &self.d;
        let (h, dh, heads) = (d.hidden, d.head_dim, d.heads);
        let ld = 3 * h;
        let scale = 1.0 / (dh as f32).sqrt();
        let out = Shared(ctx.as_mut_ptr());
        (0..seqs.len() * heads).into_par_iter().for_each(|task| {
            let (s, head) = (task / heads, task % heads);
            let (s0, len) = (offsets[s], seqs[s].len());
            let run = |at: &mut Attn| {
                let (q, k, v) = (s0 * ld + head * dh, h + head * dh, 2 * h + head * dh);
                at.keys
                    .refill_columns(K::NR, len, dh, &qkv[s0 * ld + k..], ld);
                at.values
                    .refill_rows(K::NR, dh, len, &qkv[s0 * ld + v..], ld);
                if at.scores.as_slice().len() < len * len {
                    at.scores = Buf::zeroed(len * len);
                }
                let sp = at.scores.as_mut_ptr();
                // SAFETY: q rows (len of dh at stride ld) lie in qkv; the
                // scores hold len x len; this task alone writes ctx's rows
                // s0..s0 + len, columns of this head.
                unsafe {
                    K::gemm(
                        qkv.as_ptr().add(q),
                        ld,
                        len,
                        &at.keys,
                        0,
                        at.keys.panels(),
                        sp,
                        len,
                    );
                    K::softmax_rows(sp, len, len, len, scale);
                    let dst = out.get().add(s0 * h + head * dh);
                    K::gemm(sp, len, len, &at.values, 0, at.values.panels(), dst, h);
                }
            };
            ATTN.with(|cell| match cell.try_borrow_mut() {
                Ok(mut slot) => run(slot.get_or_insert_with(|| Attn {
                    scores: Buf::zeroed(0),
                    keys: Packed::empty(K::NR),
                    values: Packed::empty(K::NR),
                })),
                Err(_) => run(&mut Attn {
                    scores: Buf::zeroed(0),
                    keys: Packed::empty(K::NR),
                    values: Packed::empty(K::NR),
                }),
            });
        });
    }
}

/// `x` split at the sequences' row offsets (`h` values a row).
fn split_rows<'a>(mut x: &'a mut [f32], offsets: &[usize], h: usize) -> Vec<&'a mut [f32]> {
    let mut out = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let (head, rest) = x.split_at_mut((w[1] - w[0]) * h);
        out.push(head);
        x = rest;
    }
    out
}

/// Run `task(r0, rows, p0, p1)` over an `m`-row product with `panels`
/// column panels, split so that every thread gets several tasks: row blocks
/// of [`MC`], and column groups when there are few rows (a query).
fn par_tiles(m: usize, panels: usize, task: impl Fn(usize, usize, usize, usize) + Sync) {
    if m == 0 || panels == 0 {
        return;
    }
    let want = 4 * rayon::current_num_threads();
    let row_blocks = m.div_ceil(MC);
    let groups = if row_blocks >= want {
        1
    } else {
        want.div_ceil(row_blocks).min(panels)
    };
    let per = panels.div_ceil(groups);
    (0..row_blocks * groups).into_par_iter().for_each(|i| {
        let (rb, g) = (i / groups, i % groups);
        let r0 = rb * MC;
        let (p0, p1) = (g * per, ((g + 1) * per).min(panels));
        if p0 < p1 {
            task(r0, MC.min(m - r0), p0, p1);
        }
    });
}
