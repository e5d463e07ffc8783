//! The default variants: what a compare config without `[[variants]]` runs.

use std::fmt::Write as _;

/// The default variants, for a base config training `epochs` epochs: the weighting schemes,
/// the losses that adjust for the prior, and the re-sampling baselines.
///
/// | name | what |
/// |---|---|
/// | `ce` | plain cross-entropy |
/// | `ins`, `isns` | cross-entropy weighted by `1/n`, `1/√n` |
/// | `ens-0.9` … `ens-0.9999` | cross-entropy weighted by the effective number (Cui et al., 2019) |
/// | `focal-1`, `focal-2` | softmax focal loss, γ = 1, 2 (Lin et al., 2017) |
/// | `cb-focal` | class-balanced focal loss, β = 0.999, γ = 1 (Cui et al., 2019) |
/// | `ldam-drw` | LDAM, ENS β = 0.9999 weights deferred to the last fifth of the epochs (Cao et al., 2019) |
/// | `logit-adjusted` | logit-adjusted loss, τ = 1 (Menon et al., 2021) |
/// | `balanced-softmax` | Balanced Softmax (Ren et al., 2020) |
/// | `ce-posthoc` | cross-entropy, logits adjusted post hoc with τ = 1 (Menon et al., 2021) |
/// | `cb-resampling` | cross-entropy on class-balanced re-sampling (Kang et al., 2020) |
/// | `sqrt-resampling` | cross-entropy on square-root re-sampling (Mahajan et al., 2018) |
pub fn default_variants(epochs: usize) -> String {
    // Cao et al. switch the weights on at epoch 161 of 200.
    let drw = epochs * 4 / 5 + 1;
    let mut text = String::new();
    let ce = r#"{ kind = "cross-entropy" }"#;
    let mut add = |name: &str, keys: &str| {
        let _ = writeln!(text, "[[variants]]\nname = \"{name}\"\n{keys}\n");
    };
    add("ce", &format!("loss = {ce}"));
    add(
        "ins",
        r#"loss = { kind = "cross-entropy", scheme = "ins" }"#,
    );
    add(
        "isns",
        r#"loss = { kind = "cross-entropy", scheme = "isns" }"#,
    );
    for beta in ["0.9", "0.99", "0.999", "0.9999"] {
        add(
            &format!("ens-{beta}"),
            &format!(r#"loss = {{ kind = "cross-entropy", scheme = "ens", beta = {beta} }}"#),
        );
    }
    for gamma in [1, 2] {
        add(
            &format!("focal-{gamma}"),
            &format!(r#"loss = {{ kind = "focal", gamma = {gamma}.0 }}"#),
        );
    }
    add(
        "cb-focal",
        r#"loss = { kind = "class-balanced", base = "focal", beta = 0.999, gamma = 1.0 }"#,
    );
    add(
        "ldam-drw",
        &format!(
            r#"loss = {{ kind = "ldam", scheme = "ens", beta = 0.9999, drw_start_epoch = {drw} }}"#
        ),
    );
    add(
        "logit-adjusted",
        r#"loss = { kind = "logit-adjusted", tau = 1.0 }"#,
    );
    add(
        "balanced-softmax",
        r#"loss = { kind = "balanced-softmax" }"#,
    );
    add(
        "ce-posthoc",
        &format!("loss = {ce}\neval = {{ posthoc_tau = 1.0 }}"),
    );
    add(
        "cb-resampling",
        &format!("loss = {ce}\ndata = {{ resampling = \"class-balanced\" }}"),
    );
    add(
        "sqrt-resampling",
        &format!("loss = {ce}\ndata = {{ resampling = \"square-root\" }}"),
    );
    text
}

#[cfg(test)]
mod tests {
    use rebalance_data::Resampling;

    use crate::compare::ComparePlan;

    #[test]
    fn the_default_set_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[train]\nepochs = 20\n").unwrap();
        let plan = ComparePlan::load(&path, &[]).unwrap();
        let names: Vec<&str> = plan.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ce",
                "ins",
                "isns",
                "ens-0.9",
                "ens-0.99",
                "ens-0.999",
                "ens-0.9999",
                "focal-1",
                "focal-2",
                "cb-focal",
                "ldam-drw",
                "logit-adjusted",
                "balanced-softmax",
                "ce-posthoc",
                "cb-resampling",
                "sqrt-resampling"
            ]
        );
        assert_eq!(plan.baseline(), "ce");
        let ldam = &plan.variants[10].config.loss;
        // Epoch 17 counted from 1 is the library's 16.
        assert_eq!(ldam.weighting().map(|w| w.start_epoch), Some(16));
        assert_eq!(plan.variants[13].config.eval.posthoc_tau, Some(1.0));
        assert_eq!(
            plan.variants[14].config.data.resampling,
            Resampling::ClassBalanced
        );
        assert_eq!(plan.compare.seeds, 3);
    }
}
