//! Every tier against plain references: the products on odd shapes, and
//! the whole forward pass on a small random BERT (sequence lengths 1 to
//! 512) against a naive f64 forward pass. A tier this CPU cannot run is
//! named on stderr and skipped; the AVX2 tier runs wherever AVX2 exists,
//! and the bf16 tier's packing and driver run everywhere with its scalar
//! kernel.

use super::gemm::{self, Packed};
use super::{Encoder, Kernels, Tier};
use crate::embed::weights::{Act, BertWeights, Dense, Dims, Layer, Norm};
use crate::embed::Pooling;

/// Deterministic values in about [-1, 1].
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn skip(tier: Tier) {
    eprintln!("skipped: no {tier} on this CPU ({} tier not tested)", tier);
}

/// The shapes the issue names: 1 row, 7 rows, 383 columns, and k from 1 to
/// a few kc blocks.
const SHAPES: [(usize, usize, usize); 6] = [
    (1, 384, 383),
    (7, 33, 1536),
    (13, 1, 45),
    (64, 700, 96),
    (130, 384, 1152),
    (5, 1536, 384),
];

fn check_products<K: Kernels>() {
    if !K::available() {
        skip(K::TIER);
        return;
    }
    let bf16 = K::TIER.precision() == "bf16";
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = values(m * (k + 3), i as u64 + 1);
        let lda = k + 3;
        let w = values(n * k, i as u64 + 100);
        let want = gemm::reference(&a, lda, m, k, n, |r, c| w[c * k + r]);
        let scale = (k as f32).sqrt();
        // The weight product, whole and over a middle range of panels.
        let packed = K::pack(&w, n, k);
        let panels = K::panels(&packed);
        let mut c = vec![f32::NAN; m * n];
        // SAFETY: available; a has m rows of lda >= k, c m rows of n.
        unsafe { K::gemm_weight(a.as_ptr(), lda, m, &packed, 0, panels, c.as_mut_ptr(), n) };
        let tol = if bf16 { 0.02 * scale } else { 2e-5 * scale };
        for (j, (g, w)) in c.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= tol,
                "{:?} {m}x{k}x{n} [{j}]: {g} vs {w}",
                K::TIER
            );
        }
        if panels > 2 {
            let mut part = vec![-7.0f32; m * n];
            // SAFETY: as above, panels 1..panels-1 only.
            unsafe {
                K::gemm_weight(
                    a.as_ptr(),
                    lda,
                    m,
                    &packed,
                    1,
                    panels - 1,
                    part.as_mut_ptr(),
                    n,
                )
            };
            for r in 0..m {
                for col in 0..n {
                    let inside = col >= K::NR && col < (panels - 1) * K::NR;
                    let g = part[r * n + col];
                    if inside {
                        assert_eq!(g, c[r * n + col], "panel range, row {r} col {col}");
                    } else {
                        assert_eq!(g, -7.0, "wrote outside its panels: row {r} col {col}");
                    }
                }
            }
        }
        // The f32 product (attention's).
        let mut b = Packed::empty(K::NR);
        b.fill(n, k, |r, col| w[col * k + r]);
        let mut c = vec![f32::NAN; m * n];
        // SAFETY: as above.
        unsafe { K::gemm(a.as_ptr(), lda, m, &b, 0, b.panels(), c.as_mut_ptr(), n) };
        for (g, w) in c.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 2e-5 * scale,
                "{:?} f32 {m}x{k}x{n}: {g} vs {w}",
                K::TIER
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_products() {
    check_products::<super::avx2::Avx2>();
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_products() {
    check_products::<super::avx512::Avx512>();
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512bf16_products() {
    check_products::<super::avx512bf16::Avx512Bf16>();
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_products() {
    check_products::<super::neon::Neon>();
}

/// The bf16 tier's packing and driver, with its scalar kernel, on any
/// CPU: within bf16 rounding of the reference, and exact against a
/// reference that rounds its inputs to bf16 first.
#[cfg(target_arch = "x86_64")]
#[test]
fn bf16_packing_and_driver() {
    use super::avx512bf16::{bf16, f32_of, gemm_scalar, PackedBf16};
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = values(m * k, i as u64 + 7);
        let w = values(n * k, i as u64 + 70);
        let packed = PackedBf16::from_nk(&w, n, k);
        let mut c = vec![f32::NAN; m * n];
        // SAFETY: no instructions beyond the baseline; a is m x k, c m x n.
        unsafe {
            gemm_scalar(
                a.as_ptr(),
                k,
                m,
                &packed,
                0,
                packed.panels(),
                c.as_mut_ptr(),
                n,
            )
        };
        let round = |x: f32| f32_of(bf16(x));
        let ar: Vec<f32> = a.iter().map(|&x| round(x)).collect();
        let want = gemm::reference(&ar, k, m, k, n, |r, col| round(w[col * k + r]));
        for (g, w) in c.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-4 * (k as f32).sqrt(),
                "{m}x{k}x{n}: {g} vs {w}"
            );
        }
    }
    for k in [1, 31, 32, 33, 64, 77, 384] {
        let x: Vec<f32> = values(k, k as u64).iter().map(|v| v * 1e3).collect();
        let mut want = vec![0u32; k.div_ceil(2)];
        // SAFETY: x has k values, want ceil(k / 2).
        unsafe { super::avx512bf16::pairs_scalar(x.as_ptr(), k, want.as_mut_ptr()) };
        assert_eq!(want[0] as u16, bf16(x[0]), "k {k}: low half first");
        if Tier::Avx512Bf16.is_available() {
            let mut got = vec![7u32; k.div_ceil(2)];
            // SAFETY: the tier's features present; as above.
            unsafe { super::avx512bf16::pairs_avx512(x.as_ptr(), k, got.as_mut_ptr()) };
            assert_eq!(got, want, "k {k}: vcvtne2ps2bf16 rounds as bf16()");
        }
    }
    if !Tier::Avx512Bf16.is_available() {
        skip(Tier::Avx512Bf16);
    }
    assert_eq!(bf16(1.0), 0x3f80);
    assert_eq!(bf16(f32::from_bits(0x3f80_8000)), 0x3f80, "ties to even");
    assert_eq!(bf16(f32::from_bits(0x3f81_8000)), 0x3f82, "ties to even");
    assert!(f32_of(bf16(f32::NAN)).is_nan());
}

#[test]
fn self_check_passes_on_every_available_tier() {
    let mut ran = 0;
    for tier in Tier::ALL {
        if tier == Tier::Amx {
            continue;
        }
        if !tier.is_available() {
            skip(tier);
            continue;
        }
        let ok = match tier {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => super::self_check::<super::avx2::Avx2>(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => super::self_check::<super::avx512::Avx512>(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512Bf16 => super::self_check::<super::avx512bf16::Avx512Bf16>(),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => super::self_check::<super::neon::Neon>(),
            _ => unreachable!("available tiers are covered"),
        };
        assert!(ok, "{tier} failed its self-check");
        ran += 1;
    }
    assert!(
        ran > 0 || Tier::best().is_none(),
        "no tier checked although {:?} is available",
        Tier::best()
    );
}

/// A small random BERT: 2 layers, hidden 64, 4 heads, 512 positions.
fn tiny(act: Act, pooling: Pooling) -> BertWeights {
    let (h, inter, vocab, max_pos) = (64, 96, 50, 512);
    let dense = |n: usize, k: usize, seed: u64| Dense {
        w: values(n * k, seed).iter().map(|v| v * 0.3).collect(),
        b: values(n, seed + 1).iter().map(|v| v * 0.1).collect(),
        n,
        k,
    };
    let norm = |seed: u64| Norm {
        gamma: values(h, seed).iter().map(|v| 1.0 + 0.2 * v).collect(),
        beta: values(h, seed + 1).iter().map(|v| 0.1 * v).collect(),
    };
    let layers = (0..2)
        .map(|l| {
            let s = 1000 * (l + 1);
            Layer {
                qkv: dense(3 * h, h, s + 1),
                out: dense(h, h, s + 3),
                ln1: norm(s + 5),
                up: dense(inter, h, s + 7),
                down: dense(h, inter, s + 9),
                ln2: norm(s + 11),
            }
        })
        .collect();
    BertWeights {
        dims: Dims {
            hidden: h,
            heads: 4,
            head_dim: 16,
            inter,
            vocab,
            max_pos,
            eps: 1e-12,
            act,
        },
        word: values(vocab * h, 1),
        pos: values(max_pos * h, 2).iter().map(|v| v * 0.5).collect(),
        token_type: values(h, 3),
        emb_ln: norm(4),
        layers,
        pooling,
    }
}

/// The forward pass one value at a time, in f64.
fn naive(w: &BertWeights, ids: &[u32]) -> Vec<f32> {
    let d = w.dims;
    let (h, m) = (d.hidden, ids.len());
    let ln = |x: &mut [f64], n: &Norm| {
        let mean = x.iter().sum::<f64>() / h as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / h as f64;
        for (i, v) in x.iter_mut().enumerate() {
            *v = (*v - mean) / (var + d.eps as f64).sqrt() * n.gamma[i] as f64 + n.beta[i] as f64;
        }
    };
    let lin = |x: &[f64], l: &Dense| -> Vec<f64> {
        (0..l.n)
            .map(|j| {
                l.b[j] as f64
                    + (0..l.k)
                        .map(|i| x[i] * l.w[j * l.k + i] as f64)
                        .sum::<f64>()
            })
            .collect()
    };
    let mut x: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let mut v: Vec<f64> = (0..h)
                .map(|k| (w.word[id as usize * h + k] + w.pos[p * h + k] + w.token_type[k]) as f64)
                .collect();
            ln(&mut v, &w.emb_ln);
            v
        })
        .collect();
    for l in &w.layers {
        let qkv: Vec<Vec<f64>> = x.iter().map(|r| lin(r, &l.qkv)).collect();
        let dh = d.head_dim;
        let mut ctx = vec![vec![0f64; h]; m];
        for head in 0..d.heads {
            for i in 0..m {
                let s: Vec<f64> = (0..m)
                    .map(|j| {
                        (0..dh)
                            .map(|t| qkv[i][head * dh + t] * qkv[j][h + head * dh + t])
                            .sum::<f64>()
                            / (dh as f64).sqrt()
                    })
                    .collect();
                let mx = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for t in 0..dh {
                    ctx[i][head * dh + t] = (0..m)
                        .map(|j| e[j] / z * qkv[j][2 * h + head * dh + t])
                        .sum();
                }
            }
        }
        for i in 0..m {
            let o = lin(&ctx[i], &l.out);
            let mut r: Vec<f64> = x[i].iter().zip(&o).map(|(a, b)| a + b).collect();
            ln(&mut r, &l.ln1);
            let up: Vec<f64> = lin(&r, &l.up)
                .into_iter()
                .map(|v| match d.act {
                    Act::Gelu => 0.5 * v * (1.0 + candle_core::cpu::erf::erf_f64(v / 2f64.sqrt())),
                    Act::GeluTanh => {
                        0.5 * v
                            * (1.0
                                + ((2.0 / std::f64::consts::PI).sqrt()
                                    * (v + 0.044715 * v.powi(3)))
                                .tanh())
                    }
                    Act::Relu => v.max(0.0),
                })
                .collect();
            let down = lin(&up, &l.down);
            let mut y: Vec<f64> = r.iter().zip(&down).map(|(a, b)| a + b).collect();
            ln(&mut y, &l.ln2);
            x[i] = y;
        }
    }
    let mut v: Vec<f64> = match w.pooling {
        Pooling::Cls => x[0].clone(),
        Pooling::Mean => (0..h)
            .map(|k| x.iter().map(|r| r[k]).sum::<f64>() / m as f64)
            .collect(),
    };
    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    v.iter_mut().for_each(|a| *a /= n);
    v.into_iter().map(|a| a as f32).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Our tiers on sequences of 1, 7, 64 and 512 tokens (mixed in one call,
/// so they share batches), against the naive pass.
#[test]
fn forward_pass_matches_naive_on_every_available_tier() {
    let lens = [512usize, 64, 7, 1, 33];
    let seqs: Vec<Vec<u32>> = lens
        .iter()
        .enumerate()
        .map(|(s, &n)| (0..n).map(|i| ((i * 7 + s * 3) % 50) as u32).collect())
        .collect();
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    for (act, pooling) in [(Act::Gelu, Pooling::Mean), (Act::GeluTanh, Pooling::Cls)] {
        let want: Vec<Vec<f32>> = refs.iter().map(|s| naive(&tiny(act, pooling), s)).collect();
        for tier in Tier::ALL {
            if !tier.is_available() {
                skip(tier);
                continue;
            }
            let enc = Encoder::load(tier, tiny(act, pooling)).expect("tier loads");
            let got = enc.embed(&refs);
            let floor = if tier.precision() == "bf16" {
                0.999
            } else {
                0.999_999
            };
            for (s, (g, w)) in got.iter().zip(&want).enumerate() {
                let cos = cosine(g, w);
                assert!(
                    cos >= floor,
                    "{tier} {act:?} length {}: cosine {cos}",
                    lens[s]
                );
            }
        }
    }
}

#[test]
fn empty_and_over_long_sequences() {
    let Some(tier) = Tier::best() else {
        eprintln!("skipped: no tier of our engine on this CPU");
        return;
    };
    let enc = Encoder::load(tier, tiny(Act::Gelu, Pooling::Mean)).expect("loads");
    let long: Vec<u32> = (0..600).map(|i| (i % 50) as u32).collect();
    let out = enc.embed(&[&[], &long, &[999_999]]);
    assert_eq!(out.len(), 3);
    assert!(out[0].iter().all(|&v| v == 0.0), "empty gives zeros");
    let cut = naive(&tiny(Act::Gelu, Pooling::Mean), &long[..512]);
    assert!(cosine(&out[1], &cut) > 0.999, "cut at the position limit");
    let clamped = naive(&tiny(Act::Gelu, Pooling::Mean), &[49]);
    assert!(
        cosine(&out[2], &clamped) > 0.999,
        "ids past the vocabulary clamp"
    );
}

#[test]
fn tiers_by_name() {
    for t in Tier::ALL {
        assert_eq!(Tier::from_name(t.name()), Some(t));
    }
    assert_eq!(Tier::from_name("sse2"), None);
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        assert!(Tier::Avx2.is_available());
        assert!(Tier::best().is_some());
    }
    #[cfg(target_arch = "aarch64")]
    assert_eq!(Tier::best(), Some(Tier::Neon));
}

/// Names, on stderr, the tiers this CPU runs and those its tests skip
/// (`scripts/test` runs it with `--nocapture`, so the report shows).
#[test]
fn tiers_on_this_cpu() {
    let (here, not): (Vec<Tier>, Vec<Tier>) = Tier::ALL.into_iter().partition(|t| t.is_available());
    let names = |ts: &[Tier]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    eprintln!(
        "engine tiers tested on this CPU: {}; skipped (this CPU lacks them): {}",
        if here.is_empty() {
            "none".into()
        } else {
            names(&here)
        },
        if not.is_empty() {
            "none".into()
        } else {
            names(&not)
        }
    );
    let ranked = Tier::ranked();
    assert_eq!(ranked.first().copied(), Tier::best());
    let mut sorted = ranked.clone();
    sorted.sort_by_key(|t| Tier::ALL.iter().position(|x| x == t));
    assert_eq!(sorted, here, "ranked holds exactly the available tiers");
    eprintln!(
        "engine tiers this CPU runs, fastest first: {}",
        names(&ranked)
    );
}

/// The timed choice between the bf16 dot-product tier and the AVX-512 f32
/// tier (`Tier::ranked`), where this CPU runs both: each product timed,
/// and the choice agrees with the timings it reports.
#[cfg(target_arch = "x86_64")]
#[test]
fn bf16_against_f32_timed_where_both_run() {
    if !(Tier::Avx512Bf16.is_available() && Tier::Avx512.is_available()) {
        eprintln!("skipped: this CPU does not run both the avx512bf16 and avx512 tiers");
        return;
    }
    let bf16 = super::time_product::<super::avx512bf16::Avx512Bf16>();
    let f32 = super::time_product::<super::avx512::Avx512>();
    eprintln!("one FFN task's product: avx512bf16 {bf16:?}, avx512 {f32:?}");
    let faster = super::bf16_products_faster();
    // The choice was timed separately: only a clear difference must agree.
    if bf16 * 2 < f32 {
        assert!(faster, "bf16 clearly faster but ranked after f32");
    } else if f32 * 2 < bf16 {
        assert!(!faster, "f32 clearly faster but ranked after bf16");
    }
    let ranked = Tier::ranked();
    let at = |t| ranked.iter().position(|x| *x == t).unwrap();
    if ranked[0] != Tier::Amx {
        assert_eq!(at(Tier::Avx512Bf16) < at(Tier::Avx512), faster);
    }
}
