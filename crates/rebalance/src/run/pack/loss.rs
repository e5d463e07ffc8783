//! The losses of a packed group: one packed loss of the library per loss kind present (it packs
//! one kind at a time; the task's, [`PackTask`]), each on its runs' rows of the logits, put
//! back in the group's order.

use burn::prelude::*;
use rebalance_loss::LossConfig;
use rebalance_weights::ClassCounts;

use super::PackTask;

/// The losses of a group's runs at one epoch: run `r`'s loss is `forward(..)[r]`.
#[derive(Debug)]
pub(super) struct GroupLoss<T: PackTask> {
    /// The packs of one kind each, with their runs (indices in the group, increasing).
    packs: Vec<(Vec<usize>, T::PackedLoss)>,
    /// Where each run's loss is in the packs' losses side by side: `[R]`.
    order: Option<Tensor<1, Int>>,
}

impl<T: PackTask> GroupLoss<T> {
    /// The losses `configs[r]` of the runs with `counts[r]` over `samples[r]` training rows,
    /// each with the class weights in force at `epochs[r]` (counted from 0: a DRW run's phase),
    /// on `device`. A run joins the first pack that takes it (the library's packed loss
    /// decides what packs, through its [`PackTask`]), else starts one.
    ///
    /// # Errors
    /// A loss that cannot be built.
    pub(super) fn new(
        configs: &[&LossConfig],
        counts: &[ClassCounts],
        samples: &[u64],
        epochs: &[usize],
        device: &Device,
    ) -> anyhow::Result<Self> {
        let build = |runs: &[usize]| {
            let configs: Vec<LossConfig> = runs.iter().map(|&r| configs[r].clone()).collect();
            let counts: Vec<ClassCounts> = runs.iter().map(|&r| counts[r].clone()).collect();
            let samples: Vec<u64> = runs.iter().map(|&r| samples[r]).collect();
            // Runs in one phase share the epoch their weights are computed for.
            T::pack_loss(&configs, &counts, &samples, epochs[runs[0]], device)
        };
        let mut packs: Vec<Vec<usize>> = Vec::new();
        for r in 0..configs.len() {
            let joined = packs.iter_mut().find(|runs| {
                epochs[runs[0]] == epochs[r] && {
                    let mut with = runs.to_vec();
                    with.push(r);
                    build(&with).is_ok()
                }
            });
            match joined {
                Some(runs) => runs.push(r),
                None => packs.push(vec![r]),
            }
        }
        let packs = packs
            .into_iter()
            .map(|runs| {
                let loss = build(&runs)
                    .map_err(|e| anyhow::anyhow!("run {} of the pack: loss: {e}", runs[0] + 1))?;
                Ok((runs, loss))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let side_by_side: Vec<usize> = packs.iter().flat_map(|(runs, _)| runs.clone()).collect();
        let order = (packs.len() > 1).then(|| {
            let mut position = vec![0i64; side_by_side.len()];
            for (k, &r) in side_by_side.iter().enumerate() {
                position[r] = k as i64;
            }
            Tensor::<1, Int>::from_ints(position.as_slice(), device)
        });
        Ok(Self { packs, order })
    }

    /// Each run's loss, `[R]`, of `logits` `[R, B, C]` against `targets`: differentiate their
    /// sum, and each run's parameters get its own loss's gradient.
    pub(super) fn forward(&self, logits: Tensor<3>, targets: T::Targets) -> Tensor<1> {
        let [(_, only)] = self.packs.as_slice() else {
            let device = logits.device();
            let losses: Vec<Tensor<1>> = self
                .packs
                .iter()
                .map(|(runs, loss)| {
                    let rows: Vec<i64> = runs.iter().map(|&r| r as i64).collect();
                    let rows = Tensor::<1, Int>::from_ints(rows.as_slice(), &device);
                    T::loss(
                        loss,
                        logits.clone().select(0, rows.clone()),
                        T::select(targets.clone(), rows),
                    )
                })
                .collect();
            let side_by_side = Tensor::cat(losses, 0);
            return match &self.order {
                Some(order) => side_by_side.select(0, order.clone()),
                None => side_by_side,
            };
        };
        T::loss(only, logits, targets)
    }
}
