//! Packs: R runs of the same architecture trained as one model whose parameters carry a leading
//! run dimension, so that a sweep makes the kernel launches of one run per step, not of R.
//! Each run keeps its own weights (it starts from the weights it would have alone), its own
//! batch-norm statistics and its own gradients; a pack is stacked from R ordinary models and
//! unstacked back into them, which are saved and evaluated alone.

pub mod conv;
pub mod resnet;
#[cfg(test)]
mod testing;
