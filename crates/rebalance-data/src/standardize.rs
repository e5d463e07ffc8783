//! Feature standardization with statistics from the training split.

use serde::{Deserialize, Serialize};

use crate::{MultiLabelSamples, Samples};

/// `x ← (x - mean) / std` per feature, with mean and standard deviation computed on the
/// training split only (so nothing of the test split leaks into training). Images use one
/// mean and one deviation per channel, as is usual for CIFAR.
///
/// Serializable, so inference applies exactly the statistics training used. A constant
/// feature (deviation below `1e-8`) is only centred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Mean per feature (per channel values repeated over the channel's pixels).
    pub mean: Vec<f32>,
    /// Standard deviation per feature, population form (divides by `N`).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Per-feature statistics of `train`.
    pub fn per_feature(train: &Samples) -> Self {
        Self::grouped(train, train.dim(), 1)
    }

    /// Per-feature statistics of a multi-label training split.
    ///
    /// ```
    /// use rebalance_data::{MultiLabelSamples, Standardizer};
    ///
    /// let train = MultiLabelSamples::new(vec![1.0, 10.0, 3.0, 10.0], vec![vec![0], vec![]], 2, 1)?;
    /// let s = Standardizer::per_feature_multi_label(&train);
    /// assert_eq!((s.mean, s.std), (vec![2.0, 10.0], vec![1.0, 0.0]));
    /// # Ok::<(), rebalance_data::DataError>(())
    /// ```
    pub fn per_feature_multi_label(train: &MultiLabelSamples) -> Self {
        Self::grouped_rows(train.features(), train.dim(), train.dim(), 1)
    }

    /// Per-channel statistics of `train`, whose samples are `[channels, h, w]` images.
    /// `channels` must divide the feature count.
    pub fn per_channel(train: &Samples, channels: usize) -> Self {
        let channels = channels.max(1);
        Self::grouped(train, channels, train.dim() / channels)
    }

    /// Statistics of `groups` consecutive runs of `run` features each.
    fn grouped(train: &Samples, groups: usize, run: usize) -> Self {
        Self::grouped_rows(train.features(), train.dim(), groups, run)
    }

    /// [`grouped`](Self::grouped) over a flat buffer of rows of `dim` values.
    fn grouped_rows(features: &[f32], dim: usize, groups: usize, run: usize) -> Self {
        let groups = groups.max(1);
        let rows = features.len().checked_div(dim).unwrap_or(0);
        let mut sum = vec![0.0f64; groups];
        let mut sum_sq = vec![0.0f64; groups];
        for row in features.chunks(dim.max(1)).take(rows) {
            for (j, &v) in row.iter().enumerate() {
                let g = (j / run).min(groups - 1);
                sum[g] += f64::from(v);
                sum_sq[g] += f64::from(v) * f64::from(v);
            }
        }
        let n = (rows * run).max(1) as f64;
        let (mut mean, mut std) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
        for j in 0..dim {
            let g = (j / run).min(groups - 1);
            let m = sum[g] / n;
            let var = (sum_sq[g] / n - m * m).max(0.0);
            mean.push(m as f32);
            std.push(var.sqrt() as f32);
        }
        Self { mean, std }
    }

    /// Standardizes `row` into `out` (appending).
    pub fn apply_into(&self, row: &[f32], out: &mut Vec<f32>) {
        out.extend(
            row.iter()
                .zip(self.mean.iter().zip(&self.std))
                .map(|(&x, (&m, &s))| if s > 1e-8 { (x - m) / s } else { x - m }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_feature_statistics() {
        let train = Samples::new(vec![1.0, 10.0, 3.0, 10.0], vec![0, 1], 2).unwrap();
        let s = Standardizer::per_feature(&train);
        assert_eq!(s.mean, [2.0, 10.0]);
        assert_eq!(s.std, [1.0, 0.0]);
        let mut out = Vec::new();
        s.apply_into(&[3.0, 12.0], &mut out);
        assert_eq!(out, [1.0, 2.0]);
    }

    #[test]
    fn per_channel_statistics() {
        // Two images of 2 channels × 2 pixels.
        let train =
            Samples::new(vec![0.0, 2.0, 5.0, 5.0, 4.0, 6.0, 5.0, 5.0], vec![0, 1], 4).unwrap();
        let s = Standardizer::per_channel(&train, 2);
        assert_eq!(s.mean, [3.0, 3.0, 5.0, 5.0]);
        assert_eq!(s.std[0], 5f32.sqrt());
        assert_eq!(s.std[2], 0.0);
    }
}
