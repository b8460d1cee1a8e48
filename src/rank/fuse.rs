//! Reciprocal rank fusion.
//!
//! `score(d) = Σ_arms w_arm / (k + rank_arm(d))`, ranks 1-based, summed over
//! the arms that returned `d` (Cormack, Clarke & Büttcher, "Reciprocal Rank
//! Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR
//! 2009; k = 60 is the paper's constant).
//!
//! Keys are typed [`ChunkId`]s. (ck fused by formatted strings and merged
//! different passages that printed alike.) Ties are broken explicitly: fused
//! score descending, then the best single-arm rank ascending, then `ChunkId`
//! ascending, so the output never depends on hash-map order.

use std::collections::HashMap;

use crate::chunk::ChunkId;

/// One arm's result: an id and its score in that arm, in rank order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// The passage.
    pub id: ChunkId,
    /// The arm's own score (BM25, cosine).
    pub score: f32,
}

/// A fused result with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The passage.
    pub id: ChunkId,
    /// Fused score.
    pub score: f32,
    /// 1-based rank and score in each arm (`None` when the arm missed it).
    pub arms: Vec<Option<(usize, f32)>>,
}

/// The RRF constant of the paper.
///
/// (RRF is kept as an option; [`convex`] is the default, chosen by `podsift
/// eval`: see BENCHMARKS.md.)
pub const DEFAULT_K: f32 = 60.0;

/// Fuse ranked lists with weights (one per list).
///
/// ```
/// use podsift::chunk::ChunkId;
/// use podsift::rank::fuse::{rrf, Ranked};
/// let a = [Ranked { id: ChunkId(1), score: 9.0 }, Ranked { id: ChunkId(2), score: 5.0 }];
/// let b = [Ranked { id: ChunkId(2), score: 0.8 }];
/// let fused = rrf(&[&a, &b], &[1.0, 1.0], 60.0);
/// assert_eq!(fused[0].id, ChunkId(2)); // 1/62 + 1/61 beats 1/61
/// assert_eq!(fused[0].arms, vec![Some((2, 5.0)), Some((1, 0.8))]);
/// ```
pub fn rrf(lists: &[&[Ranked]], weights: &[f32], k: f32) -> Vec<Fused> {
    let mut by_id: HashMap<ChunkId, Fused> = HashMap::new();
    for (arm, list) in lists.iter().enumerate() {
        let w = weights.get(arm).copied().unwrap_or(1.0);
        let mut seen = std::collections::HashSet::new();
        for (i, r) in list.iter().enumerate() {
            if !seen.insert(r.id) {
                continue;
            }
            let rank = i + 1;
            let e = by_id.entry(r.id).or_insert_with(|| Fused {
                id: r.id,
                score: 0.0,
                arms: vec![None; lists.len()],
            });
            e.score += w / (k + rank as f32);
            e.arms[arm] = Some((rank, r.score));
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// Convex combination of min-max normalised scores (as Meilisearch and txtai
/// fuse): each arm's scores are scaled to 0..1 over its candidates, and
/// `score = Σ_arm w_arm * norm_arm(d)`, an arm that missed `d` adding 0.
/// Ties are broken like [`rrf`].
pub fn convex(lists: &[&[Ranked]], weights: &[f32]) -> Vec<Fused> {
    let mut by_id: HashMap<ChunkId, Fused> = HashMap::new();
    for (arm, list) in lists.iter().enumerate() {
        let w = weights.get(arm).copied().unwrap_or(1.0);
        let (lo, hi) = list
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(r.score), hi.max(r.score))
            });
        // One candidate, or all equal: each gets the full weight.
        let span = hi - lo;
        let mut seen = std::collections::HashSet::new();
        for (i, r) in list.iter().enumerate() {
            if !seen.insert(r.id) {
                continue;
            }
            let e = by_id.entry(r.id).or_insert_with(|| Fused {
                id: r.id,
                score: 0.0,
                arms: vec![None; lists.len()],
            });
            e.score += if span > 1e-6 {
                w * (r.score - lo) / span
            } else {
                w
            };
            e.arms[arm] = Some((i + 1, r.score));
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

fn best_rank(f: &Fused) -> usize {
    f.arms
        .iter()
        .flatten()
        .map(|(r, _)| *r)
        .min()
        .unwrap_or(usize::MAX)
}

/// Sort one arm's results: score descending, then id ascending.
pub fn sort_ranked(list: &mut [Ranked]) {
    list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(ids: &[u64]) -> Vec<Ranked> {
        ids.iter()
            .enumerate()
            .map(|(i, &id)| Ranked {
                id: ChunkId(id),
                score: 100.0 - i as f32,
            })
            .collect()
    }

    #[test]
    fn both_arms_beat_one_at_equal_rank() {
        let a = list(&[1, 2]);
        let b = list(&[2, 3]);
        let f = rrf(&[&a, &b], &[1.0, 1.0], 60.0);
        let ids: Vec<u64> = f.iter().map(|x| x.id.0).collect();
        assert_eq!(ids, vec![2, 1, 3]);
    }

    proptest! {
        #[test]
        fn fusion_properties(a in prop::collection::vec(0u64..40, 0..30), b in prop::collection::vec(0u64..40, 0..30)) {
            let (la, lb) = (list(&a), list(&b));
            let f = rrf(&[&la, &lb], &[1.0, 1.0], 60.0);
            // Each id once.
            let mut ids: Vec<u64> = f.iter().map(|x| x.id.0).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), n);
            // Order of the arms does not matter.
            let g = rrf(&[&lb, &la], &[1.0, 1.0], 60.0);
            let fi: Vec<u64> = f.iter().map(|x| x.id.0).collect();
            let gi: Vec<u64> = g.iter().map(|x| x.id.0).collect();
            prop_assert_eq!(&fi, &gi);
            // Sorted by score, deterministic.
            prop_assert!(f.windows(2).all(|w| w[0].score >= w[1].score));
            prop_assert_eq!(f.clone(), rrf(&[&la, &lb], &[1.0, 1.0], 60.0));
        }
    }

    /// `ids` without repeats, first occurrence kept.
    fn unique(ids: &[u64]) -> Vec<u64> {
        let mut seen = std::collections::HashSet::new();
        ids.iter().copied().filter(|i| seen.insert(*i)).collect()
    }

    #[test]
    fn convex_scales_each_arm_to_its_candidates() {
        // Arm a: 1 (max) and 2 (min); arm b: 2 alone (full weight).
        let a = [
            Ranked {
                id: ChunkId(1),
                score: 12.0,
            },
            Ranked {
                id: ChunkId(2),
                score: 2.0,
            },
        ];
        let b = [Ranked {
            id: ChunkId(2),
            score: 0.4,
        }];
        let f = convex(&[&a, &b], &[1.0, 1.0]);
        let got: Vec<(u64, f32)> = f.iter().map(|x| (x.id.0, x.score)).collect();
        // 2: 0 + 1 = 1; 1: 1 + 0 = 1; the tie goes to the better best rank
        // (both first in an arm), then the smaller id.
        assert_eq!(got, vec![(1, 1.0), (2, 1.0)]);
        assert_eq!(f[1].arms, vec![Some((2, 2.0)), Some((1, 0.4))]);
        // A weight scales its arm.
        let f = convex(&[&a, &b], &[1.0, 0.5]);
        assert_eq!(f[0].id, ChunkId(1));
        assert!((f[1].score - 0.5).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn convex_properties(a in prop::collection::vec(0u64..40, 0..30), b in prop::collection::vec(0u64..40, 0..30), pick in 0usize..30) {
            let (a, b) = (unique(&a), unique(&b));
            let (la, lb) = (list(&a), list(&b));
            let f = convex(&[&la, &lb], &[1.0, 1.0]);
            // Each id once, and every candidate is there.
            let mut ids: Vec<u64> = f.iter().map(|x| x.id.0).collect();
            ids.sort();
            let mut all: Vec<u64> = a.iter().chain(&b).copied().collect();
            all.sort();
            all.dedup();
            prop_assert_eq!(&ids, &all);
            // The order of the arms does not matter.
            let g = convex(&[&lb, &la], &[1.0, 1.0]);
            let fi: Vec<(u64, f32)> = f.iter().map(|x| (x.id.0, x.score)).collect();
            let gi: Vec<(u64, f32)> = g.iter().map(|x| (x.id.0, x.score)).collect();
            prop_assert_eq!(&fi, &gi);
            // Sorted by score; ties by best rank in any arm, then id.
            for w in f.windows(2) {
                let key = |x: &Fused| (best_rank(x), x.id);
                prop_assert!(
                    w[0].score > w[1].score || (w[0].score == w[1].score && key(&w[0]) < key(&w[1])),
                    "{:?} before {:?}", w[0], w[1]
                );
            }
            // Monotone in an arm: a passage raised to the top of arm a
            // scores no less and ranks no lower than before.
            if !a.is_empty() {
                let d = a[pick % a.len()];
                let before_pos = f.iter().position(|x| x.id.0 == d).unwrap();
                let before = f[before_pos].score;
                let mut raised = la.clone();
                raised.retain(|r| r.id.0 != d);
                raised.insert(0, Ranked { id: ChunkId(d), score: 101.0 });
                let h = convex(&[&raised, &lb], &[1.0, 1.0]);
                let pos = h.iter().position(|x| x.id.0 == d).unwrap();
                prop_assert!(h[pos].score >= before - 1e-6);
                prop_assert!(pos <= before_pos, "{} ranked {} then {}", d, before_pos, pos);
            }
        }
    }

    /// An arm as the retrieval arms hand it over: unique ids with integer
    /// scores (exact in f32, so min-max scaling only rounds in its one
    /// division), in rank order ([`sort_ranked`]).
    fn arm() -> impl Strategy<Value = Vec<Ranked>> {
        prop::collection::vec((0u64..40, -20i32..20), 0..25).prop_map(|v| {
            let mut seen = std::collections::HashSet::new();
            let mut list: Vec<Ranked> = v
                .into_iter()
                .filter(|(id, _)| seen.insert(*id))
                .map(|(id, s)| Ranked {
                    id: ChunkId(id),
                    score: s as f32,
                })
                .collect();
            sort_ranked(&mut list);
            list
        })
    }

    /// A positive arm weight, as `--keyword-weight` takes.
    fn weight() -> impl Strategy<Value = f32> {
        prop::sample::select(vec![0.25f32, 0.5, 0.7, 1.0, 2.0])
    }

    /// A weight that is a power of two, so `w * (s - lo)` is exact.
    fn dyadic_weight() -> impl Strategy<Value = f32> {
        prop::sample::select(vec![0.25f32, 0.5, 1.0, 2.0])
    }

    /// Each id's fused score and per-arm scores (not ranks).
    fn scores(f: &[Fused]) -> Vec<(ChunkId, u32, Vec<Option<u32>>)> {
        let mut v: Vec<_> = f
            .iter()
            .map(|x| {
                let arms = x.arms.iter().map(|a| a.map(|(_, s)| s.to_bits())).collect();
                (x.id, x.score.to_bits(), arms)
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Shuffling the candidates inside an arm changes no id's fused
        /// score (bit for bit), and the output's sequence of scores and the
        /// ids at each score stay the same. Within one score the order may
        /// change: the best-rank tie-break reads positions in the arm, which
        /// is why the arms are handed over in rank order.
        #[test]
        fn convex_ignores_the_order_within_an_arm(
            a in arm(),
            b in arm(),
            wa in weight(),
            wb in weight(),
            perm in prop::collection::vec(any::<prop::sample::Index>(), 25),
        ) {
            let mut shuffled = a.clone();
            for (i, p) in perm.iter().enumerate().take(shuffled.len()) {
                let j = p.index(shuffled.len());
                shuffled.swap(i, j);
            }
            let f = convex(&[&a, &b], &[wa, wb]);
            let g = convex(&[&shuffled, &b], &[wa, wb]);
            prop_assert_eq!(scores(&f), scores(&g));
            let groups = |f: &[Fused]| {
                let mut out: Vec<(u32, Vec<ChunkId>)> = Vec::new();
                for x in f {
                    match out.last_mut() {
                        Some((s, ids)) if *s == x.score.to_bits() => ids.push(x.id),
                        _ => out.push((x.score.to_bits(), vec![x.id])),
                    }
                }
                for (_, ids) in &mut out {
                    ids.sort();
                }
                out
            };
            prop_assert_eq!(groups(&f), groups(&g));
        }

        /// The same input gives the same output, every field, though each
        /// call collects through a fresh (randomly seeded) hash map; equal
        /// fused scores are ordered by best single-arm rank, then id.
        #[test]
        fn convex_breaks_ties_deterministically(a in arm(), b in arm(), wa in weight(), wb in weight()) {
            let f = convex(&[&a, &b], &[wa, wb]);
            for _ in 0..3 {
                prop_assert_eq!(&f, &convex(&[&a, &b], &[wa, wb]));
            }
            for w in f.windows(2) {
                prop_assert!(w[0].score >= w[1].score, "{:?} before {:?}", w[0], w[1]);
                if w[0].score == w[1].score {
                    prop_assert!(
                        (best_rank(&w[0]), w[0].id) < (best_rank(&w[1]), w[1].id),
                        "{:?} before {:?}", w[0], w[1]
                    );
                }
            }
        }

        /// Two arms with the same scores on disjoint ids tie pairwise on
        /// fused score and on best rank, so each pair comes out by id.
        #[test]
        fn convex_orders_full_ties_by_id(a in arm(), shift in 40u64..80) {
            let b: Vec<Ranked> = a
                .iter()
                .map(|r| Ranked { id: ChunkId(r.id.0 + shift), score: r.score })
                .collect();
            // Either arm first: the smaller id of each pair still leads.
            for lists in [[&a[..], &b[..]], [&b[..], &a[..]]] {
                let f = convex(&lists, &[1.0, 1.0]);
                prop_assert_eq!(f.len(), 2 * a.len());
                for (pair, r) in f.chunks(2).zip(&a) {
                    prop_assert_eq!(pair[0].score, pair[1].score);
                    prop_assert_eq!(pair[0].id, r.id);
                    prop_assert_eq!(pair[1].id, ChunkId(r.id.0 + shift));
                }
            }
        }

        /// Raising one candidate's score in one arm (the arm re-sorted, as
        /// an arm always is) never lowers its fused score or its place:
        /// every passage ahead of it afterwards was ahead of it before.
        ///
        /// Exactly so for dyadic weights. `convex` rounds `w * (s - lo)`
        /// before dividing by the span, so with a weight such as 0.7 a
        /// passage at the top of an arm scores 0.7 or one ulp less by span
        /// (0.7 * 10 / 10 vs 0.7 * 7 / 7); when raising the arm's unique
        /// lowest candidate shrinks the span, an untouched passage can gain
        /// that ulp and pass an exact tie.
        #[test]
        fn convex_is_monotone_in_an_arms_score(
            a in arm(),
            b in arm(),
            wa in dyadic_weight(),
            wb in dyadic_weight(),
            pick in any::<prop::sample::Index>(),
            by in 1i32..50,
            in_b in any::<bool>(),
        ) {
            let (mut a, mut b) = (a, b);
            let target = if in_b { &mut b } else { &mut a };
            prop_assume!(!target.is_empty());
            let before = convex(&[&a, &b], &[wa, wb]);
            let target = if in_b { &mut b } else { &mut a };
            let i = pick.index(target.len());
            let d = target[i].id;
            target[i].score += by as f32;
            sort_ranked(target);
            let after = convex(&[&a, &b], &[wa, wb]);
            let at = |f: &[Fused]| f.iter().position(|x| x.id == d).unwrap();
            let (p0, p1) = (at(&before), at(&after));
            prop_assert!(after[p1].score >= before[p0].score, "{:?} then {:?}", before[p0], after[p1]);
            prop_assert!(p1 <= p0, "{:?} ranked {} then {}", d, p0, p1);
            let ahead: std::collections::HashSet<ChunkId> = before[..p0].iter().map(|x| x.id).collect();
            for x in &after[..p1] {
                prop_assert!(ahead.contains(&x.id), "{:?} passed {:?}", x.id, d);
            }
        }
    }
}
