//! Pooling token vectors into one sentence vector, and L2 normalisation.
//! Pure tensor functions.
//!
//! Mean pooling must weight by the attention mask: padding positions carry
//! vectors too, and counting them gives embeddings that differ with batch
//! composition (one of the two silent traps in `../shared/docs/PERF-NOTES.md`).

use candle_core::{DType, Tensor, D};

use super::model::Pooling;

/// Pool `hidden` (`[batch, seq, dim]`) with `mask` (`[batch, seq]`, 1 for real
/// tokens) into `[batch, dim]`.
pub fn pool(hidden: &Tensor, mask: &Tensor, pooling: Pooling) -> candle_core::Result<Tensor> {
    match pooling {
        Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1),
        Pooling::Mean => {
            let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            summed.broadcast_div(&counts)
        }
    }
}

/// Scale each row of `[batch, dim]` to unit length.
pub fn normalize(v: &Tensor) -> candle_core::Result<Tensor> {
    let v = v.to_dtype(DType::F32)?;
    let norm = v
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    v.broadcast_div(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn mean_ignores_padding() {
        let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu).unwrap();
        let m = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).unwrap();
        let p = pool(&h, &m, Pooling::Mean)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(p, vec![vec![2., 3.]]);
        let c = pool(&h, &m, Pooling::Cls)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(c, vec![vec![1., 2.]]);
    }

    #[test]
    fn unit_norm() {
        let v = Tensor::new(&[[3f32, 4.], [0., 0.]], &Device::Cpu).unwrap();
        let n = normalize(&v).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(n[0], vec![0.6, 0.8]);
        assert_eq!(n[1], vec![0., 0.]);
    }
}
