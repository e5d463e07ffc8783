//! Dense targets (segmentation): logits `[B, C, d1, …, dk]` and targets `[B, d1, …, dk]`, as
//! PyTorch's `cross_entropy` takes them, turned into the `[N, C]` rows every loss of this
//! crate takes.

use burn::prelude::*;
use rebalance_weights::ClassCounts;

use crate::{
    BalancedSoftmax, Focal, ImbalanceLoss, Lade, Ldam, LogitAdjusted, LossError, Vs,
    WeightedCrossEntropy,
};

/// Dense logits `[B, C, d1, …, dk]` and targets `[B, d1, …, dk]` as the rows of a classifier:
/// logits `[B·d1·…·dk, C]` (the class dimension moved last, then flattened) and targets
/// `[B·d1·…·dk]`, row `((b·d1 + i1)·d2 + i2)…` being the element `[b, i1, i2, …]`.
///
/// Every loss of this crate then takes them as a batch of `B·d1·…·dk` samples: a pixel is a
/// sample, so `weighted-mean` is PyTorch's `cross_entropy` of the dense tensors (the weighted
/// mean over pixels). The losses' `forward_dense` methods do this for `[B, C, H, W]`; for any
/// other rank call this function, then `forward` (and reshape a `none` result back to the
/// targets' shape):
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::{FocalConfig, dense_to_rows};
///
/// let device = Device::flex();
/// // A 3-D volume: [B, C, D, H, W] = [1, 2, 2, 1, 2], and its labels [B, D, H, W].
/// let logits = Tensor::<5>::from_floats(
///     [[[[[2.0, 0.5]], [[-1.0, 0.0]]], [[[0.1, 1.5]], [[0.3, -0.2]]]]],
///     &device,
/// );
/// let targets = Tensor::<4, Int>::from_ints([[[[0, 1]], [[1, 0]]]], &device);
/// let (rows, labels) = dense_to_rows(logits, targets);
/// assert_eq!(rows.dims(), [4, 2]);
/// assert_eq!(labels.dims(), [4]);
/// // Voxel [0, 0, 0, 1] (the second row) has logits [0.5, 1.5].
/// let second: Vec<f32> = rows.clone().slice([1..2, 0..2]).into_data().try_to_vec().unwrap();
/// assert_eq!(second, vec![0.5, 1.5]);
///
/// let loss = FocalConfig::new().init(&device)?;
/// let value = loss.forward(rows, labels); // the mean over the 4 voxels
/// assert_eq!(value.dims(), [1]);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
///
/// # Panics
/// If `D < 2`, `DT + 1 != D`, or the targets' shape is not the logits' without dimension 1
/// (a shape mismatch is a programming error, as in Burn's own tensor ops).
pub fn dense_to_rows<const D: usize, const DT: usize>(
    logits: Tensor<D>,
    targets: Tensor<DT, Int>,
) -> (Tensor<2>, Tensor<1, Int>) {
    assert!(
        D >= 2 && DT + 1 == D,
        "dense_to_rows: logits of rank {D} need targets of rank {} (got {DT})",
        D.saturating_sub(1)
    );
    let logits_shape = logits.dims();
    let targets_shape = targets.dims();
    let expected: Vec<usize> = logits_shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| (i != 1).then_some(d))
        .collect();
    assert!(
        expected == targets_shape,
        "dense_to_rows: logits {logits_shape:?} ([B, C, ...]) need targets {expected:?} \
         ([B, ...]), got {targets_shape:?}"
    );
    let num_classes = logits_shape[1];
    let rows: usize = expected.iter().product();
    let logits = if D > 2 {
        logits.movedim(1usize, D - 1)
    } else {
        logits
    };
    (logits.reshape([rows, num_classes]), targets.reshape([rows]))
}

/// The class counts of dense labels (every pixel of a segmentation mask is a sample), read
/// back to the host: the `counts` a rebalancing loss is built from. Elements equal to
/// `ignore_index` are skipped. For a whole dataset, add the masks up with
/// [`add_dense_label_counts`] and finish with [`ClassCounts::from_counts`].
///
/// ```
/// use burn::prelude::*;
/// let device = Device::flex();
/// let mask = Tensor::<3, Int>::from_ints([[[0, 0, 255], [2, 0, 2]]], &device);
/// let counts = rebalance_loss::dense_class_counts(mask, 3, Some(255))?;
/// assert_eq!(counts.as_slice(), &[3, 0, 2]);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
///
/// # Errors
/// [`LossError::LabelOutOfRange`] for an element outside `0..num_classes` that is not the
/// ignore index; `num_classes` of 0, or no counted element ([`LossError::Weights`]).
pub fn dense_class_counts<const D: usize>(
    targets: Tensor<D, Int>,
    num_classes: usize,
    ignore_index: Option<usize>,
) -> Result<ClassCounts, LossError> {
    let mut counts = vec![0; num_classes];
    add_dense_label_counts(&mut counts, targets, ignore_index)?;
    Ok(ClassCounts::from_counts(counts)?)
}

/// Adds the class of every element of `targets` to `counts` (`counts[c]` += the elements
/// equal to `c`; `counts.len()` is the number of classes), skipping `ignore_index`: the
/// accumulator behind [`dense_class_counts`], for counting a dataset batch by batch. Reads
/// `targets` back to the host.
///
/// # Errors
/// [`LossError::LabelOutOfRange`] for an element outside `0..counts.len()` that is not the
/// ignore index (`counts` is then unchanged).
pub fn add_dense_label_counts<const D: usize>(
    counts: &mut [u64],
    targets: Tensor<D, Int>,
    ignore_index: Option<usize>,
) -> Result<(), LossError> {
    let labels: Vec<i64> = targets
        .into_data()
        .convert::<i64>()
        .try_into_vec()
        .map_err(|err| LossError::InvalidParameter {
            name: "targets",
            value: format!("{err:?}"),
            expected: "an integer tensor readable on the host",
        })?;
    let ignore = ignore_index.and_then(|i| i64::try_from(i).ok());
    let num_classes = counts.len();
    let mut added = vec![0u64; num_classes];
    for (position, &label) in labels.iter().enumerate() {
        if Some(label) == ignore {
            continue;
        }
        let slot = usize::try_from(label)
            .ok()
            .and_then(|l| added.get_mut(l))
            .ok_or(LossError::LabelOutOfRange {
                position,
                label,
                num_classes,
            })?;
        *slot += 1;
    }
    for (count, extra) in counts.iter_mut().zip(added) {
        *count += extra;
    }
    Ok(())
}

/// `forward_dense` and `forward_dense_no_reduction` for `[B, C, H, W]` logits.
macro_rules! dense_forward {
    ($($loss:ty),* $(,)?) => {$(
        impl $loss {
            /// The loss of dense logits `[B, C, H, W]` and targets `[B, H, W]`, every pixel a
            /// sample (see [`dense_to_rows`](crate::dense_to_rows)), reduced as configured:
            /// shape `[1]`, or `[B·H·W]` for `none`. Equals [`forward`](Self::forward) of the
            /// flattened rows.
            pub fn forward_dense(&self, logits: Tensor<4>, targets: Tensor<3, Int>) -> Tensor<1> {
                let (rows, targets) = dense_to_rows(logits, targets);
                self.forward(rows, targets)
            }

            /// The per-pixel losses of dense logits `[B, C, H, W]` and targets `[B, H, W]`,
            /// shape `[B, H, W]`: [`forward_no_reduction`](Self::forward_no_reduction) of the
            /// flattened rows, reshaped.
            pub fn forward_dense_no_reduction(
                &self,
                logits: Tensor<4>,
                targets: Tensor<3, Int>,
            ) -> Tensor<3> {
                let shape = targets.dims();
                let (rows, targets) = dense_to_rows(logits, targets);
                self.forward_no_reduction(rows, targets).reshape(shape)
            }
        }
    )*};
}

dense_forward!(
    WeightedCrossEntropy,
    Focal,
    Ldam,
    LogitAdjusted,
    BalancedSoftmax,
    Vs,
    Lade,
    ImbalanceLoss,
);
