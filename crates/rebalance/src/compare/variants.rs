//! The default variants: what a compare config without `[[variants]]` runs.

use rebalance_data::Resampling;
use rebalance_loss::{
    ClassBalancedBase, ClassBalancedKeys, ClassWeighting, CrossEntropyKeys, FocalKeys,
    LabelAwareSmoothing, LdamKeys, LogitAdjustedKeys, LossConfig, LossKind, SigmoidKeys,
};
use rebalance_weights::Scheme;

use rebalance_loss::PosWeight;

use super::tune::Grid;
use crate::run::config::{RunConfig, Stage2, ThresholdRule};

/// A variant of the default set: a name and what it changes in the base config.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultVariant {
    /// The name, as in `--only` and the tables.
    pub name: String,
    /// Replaces `[loss]` whole.
    pub loss: LossConfig,
    /// `eval.posthoc_tau`, where set.
    pub posthoc_tau: Option<f64>,
    /// `data.resampling`, where set.
    pub resampling: Option<Resampling>,
    /// `eval.thresholds`, where set (multi-label).
    pub thresholds: Option<ThresholdRule>,
    /// `train.stage2`, where set (cRT).
    pub stage2: Option<Stage2>,
    /// Its grid of settings for `--tune` ([`super::tuned_defaults`]), where it has one.
    pub tune: Option<Grid>,
}

impl DefaultVariant {
    fn new(name: impl Into<String>, loss: LossConfig) -> Self {
        Self {
            name: name.into(),
            loss,
            posthoc_tau: None,
            resampling: None,
            thresholds: None,
            stage2: None,
            tune: None,
        }
    }

    /// Whether the variant tunes its thresholds on the validation split
    /// (`eval.thresholds = "tuned"`).
    pub fn tunes_thresholds(&self) -> bool {
        self.thresholds == Some(ThresholdRule::Tuned)
    }

    /// `base` with this variant's changes.
    pub fn apply(&self, base: &RunConfig) -> RunConfig {
        let mut config = base.clone();
        config.loss = self.loss.clone();
        if let Some(tau) = self.posthoc_tau {
            config.eval.posthoc_tau = Some(tau);
        }
        if let Some(resampling) = self.resampling {
            config.data.resampling = resampling;
        }
        if let Some(rule) = self.thresholds {
            config.eval.thresholds = rule;
        }
        if let Some(stage2) = &self.stage2 {
            config.train.stage2 = Some(stage2.clone());
        }
        config
    }
}

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
/// | `vs` | vector-scaling loss, γ = 0.3, τ = 1 (Kini et al., 2021) |
/// | `lade` | LADE: PC-softmax plus its regulariser, α = 0.1 (Hong et al., 2021) |
/// | `label-aware` | cross-entropy with label-aware smoothing, ε 0.3 → 0, concave (Zhong et al., 2021) |
/// | `ce-posthoc` | cross-entropy, logits adjusted post hoc with τ = 1 (Menon et al., 2021) |
/// | `crt` | cross-entropy, then the classifier retrained on frozen features with class-balanced sampling for half as many epochs again (Kang et al., 2020) |
/// | `cb-resampling` | cross-entropy on class-balanced re-sampling (Kang et al., 2020) |
/// | `sqrt-resampling` | cross-entropy on square-root re-sampling (Mahajan et al., 2018) |
pub fn default_variants(epochs: usize) -> Vec<DefaultVariant> {
    let ce = LossConfig::with_defaults(LossKind::CrossEntropy);
    let weighted_ce = |scheme: Scheme| {
        let mut loss = ce.clone();
        if let LossConfig::CrossEntropy(CrossEntropyKeys { weights, .. }) = &mut loss {
            *weights = Some(ClassWeighting::new(scheme));
        }
        loss
    };
    let mut variants = vec![
        DefaultVariant::new("ce", ce.clone()),
        DefaultVariant::new("ins", weighted_ce(Scheme::Ins)),
        DefaultVariant::new("isns", weighted_ce(Scheme::Isns)),
    ];
    for (name, beta) in [
        ("0.9", 0.9),
        ("0.99", 0.99),
        ("0.999", 0.999),
        ("0.9999", 0.9999),
    ] {
        variants.push(DefaultVariant::new(
            format!("ens-{name}"),
            weighted_ce(Scheme::Ens { beta }),
        ));
    }
    for gamma in [1, 2] {
        let mut focal = LossConfig::with_defaults(LossKind::Focal);
        if let LossConfig::Focal(FocalKeys { gamma: g, .. }) = &mut focal {
            *g = f64::from(gamma);
        }
        variants.push(DefaultVariant::new(format!("focal-{gamma}"), focal));
    }
    let mut cb_focal = LossConfig::with_defaults(LossKind::ClassBalanced);
    if let LossConfig::ClassBalanced(ClassBalancedKeys {
        beta, base, gamma, ..
    }) = &mut cb_focal
    {
        (*beta, *base, *gamma) = (0.999, ClassBalancedBase::Focal, 1.0);
    }
    variants.push(DefaultVariant::new("cb-focal", cb_focal));
    let mut ldam_drw = LossConfig::with_defaults(LossKind::Ldam);
    if let LossConfig::Ldam(LdamKeys { weights, .. }) = &mut ldam_drw {
        *weights = Some(ClassWeighting {
            // Cao et al. switch the weights on at epoch 161 of 200 (160 counted from 0).
            start_epoch: epochs * 4 / 5,
            ..ClassWeighting::new(Scheme::Ens { beta: 0.9999 })
        });
    }
    variants.push(DefaultVariant::new("ldam-drw", ldam_drw));
    let mut logit_adjusted = LossConfig::with_defaults(LossKind::LogitAdjusted);
    if let LossConfig::LogitAdjusted(LogitAdjustedKeys { tau, .. }) = &mut logit_adjusted {
        *tau = 1.0;
    }
    variants.push(DefaultVariant::new("logit-adjusted", logit_adjusted));
    variants.push(DefaultVariant::new(
        "balanced-softmax",
        LossConfig::with_defaults(LossKind::BalancedSoftmax),
    ));
    variants.push(DefaultVariant::new(
        "vs",
        LossConfig::with_defaults(LossKind::Vs),
    ));
    variants.push(DefaultVariant::new(
        "lade",
        LossConfig::with_defaults(LossKind::Lade),
    ));
    let mut label_aware = ce.clone();
    if let LossConfig::CrossEntropy(CrossEntropyKeys {
        label_aware: smoothing,
        ..
    }) = &mut label_aware
    {
        *smoothing = Some(LabelAwareSmoothing::default());
    }
    variants.push(DefaultVariant::new("label-aware", label_aware));
    variants.push(DefaultVariant {
        posthoc_tau: Some(1.0),
        ..DefaultVariant::new("ce-posthoc", ce.clone())
    });
    variants.push(DefaultVariant {
        // Kang et al. retrain the classifier for about a tenth of ImageNet-LT's epochs, which
        // are thousands of steps; on a small split that is a few dozen steps, too few for a head
        // drawn afresh (measured on configs/compare.toml, 2026-11-29: 2 epochs after 20 lost 5.7
        // points of balanced accuracy over 3 seeds; on seed 3, 10 epochs gained 6.6). Half the
        // first stage's epochs.
        stage2: Some(Stage2 {
            epochs: epochs.div_ceil(2),
            resampling: Resampling::ClassBalanced,
            learning_rate: None,
            loss: None,
        }),
        ..DefaultVariant::new("crt", ce.clone())
    });
    for (name, resampling) in [
        ("cb-resampling", Resampling::ClassBalanced),
        ("sqrt-resampling", Resampling::SquareRoot),
    ] {
        variants.push(DefaultVariant {
            resampling: Some(resampling),
            ..DefaultVariant::new(name, ce.clone())
        });
    }
    variants
}

/// The single-label default set on `base` ([`default_variants`]).
pub(crate) fn single_label_defaults(
    base: &RunConfig,
    _notes: &mut Vec<String>,
) -> Vec<DefaultVariant> {
    default_variants(base.train.epochs)
}

/// The multi-label default set on `base` ([`default_multi_label_variants`]), without its
/// tuned-threshold variants when `base` has no validation split, noted in `notes`.
pub(crate) fn multi_label_defaults(
    base: &RunConfig,
    notes: &mut Vec<String>,
) -> Vec<DefaultVariant> {
    let (tuned, mut others): (Vec<_>, Vec<_>) = default_multi_label_variants()
        .into_iter()
        .partition(|v| v.tunes_thresholds());
    if base.data.validation_fraction > 0.0 {
        others.extend(tuned);
    } else {
        let names: Vec<&str> = tuned.iter().map(|v| v.name.as_str()).collect();
        notes.push(format!(
            "default variants {} left out: tuned thresholds need a validation split and every \
             variant of a seed trains on the same data; set data.validation_fraction (e.g. \
             0.15) to compare them",
            names.join(", ")
        ));
    }
    others
}

/// The default variants of a multi-label config: one-vs-all sigmoid losses, the weighting
/// schemes under the `positive-sum` label weighting (each row weighs the sum of its positive
/// labels' weights, the article's rule), and thresholds tuned per label against the fixed 0.5.
///
/// | name | what |
/// |---|---|
/// | `bce` | plain binary cross-entropy, thresholds 0.5 (the baseline) |
/// | `bce-ins`, `bce-isns` | BCE weighted by `1/n`, `1/√n` of the labels' training positives |
/// | `bce-ens` | BCE weighted by the effective number, β = 0.999 (Cui et al., 2019) |
/// | `bce-pos-balanced` | BCE with `pos_weight = "balanced"`: `n_neg / n_pos` per label |
/// | `sigmoid-focal` | sigmoid focal loss, the library's γ and α (Lin et al., 2017) |
/// | `cb-focal` | class-balanced focal loss, β = 0.999, γ = 1 (Cui et al., 2019) |
/// | `bce-tuned` | `bce` with `eval.thresholds = "tuned"` |
/// | `bce-ens-tuned` | `bce-ens` with `eval.thresholds = "tuned"` |
///
/// The two `-tuned` variants need a validation split: a sweep's variants of a seed must train
/// on the same data, so a base config with `data.validation_fraction = 0` leaves them out
/// (the plan says so, [`ComparePlan::notes`](super::ComparePlan::notes)) rather than
/// splitting for them alone. The other variants set `eval.thresholds = "fixed"` (0.5),
/// whatever the base says, so that the `-tuned` ones are what differs.
pub fn default_multi_label_variants() -> Vec<DefaultVariant> {
    let bce = LossConfig::with_defaults(LossKind::Sigmoid);
    let weighted_bce = |scheme: Scheme| {
        let mut loss = bce.clone();
        if let LossConfig::Sigmoid(SigmoidKeys { weights, .. }) = &mut loss {
            *weights = Some(ClassWeighting::new(scheme));
        }
        loss
    };
    let ens = weighted_bce(Scheme::Ens { beta: 0.999 });
    let mut pos_balanced = bce.clone();
    if let LossConfig::Sigmoid(SigmoidKeys { pos_weight, .. }) = &mut pos_balanced {
        *pos_weight = Some(PosWeight::Balanced);
    }
    let mut cb_focal = LossConfig::with_defaults(LossKind::ClassBalanced);
    if let LossConfig::ClassBalanced(ClassBalancedKeys {
        beta, base, gamma, ..
    }) = &mut cb_focal
    {
        (*beta, *base, *gamma) = (0.999, ClassBalancedBase::Focal, 1.0);
    }
    let with = |name: &str, loss: &LossConfig, rule: ThresholdRule| DefaultVariant {
        thresholds: Some(rule),
        ..DefaultVariant::new(name, loss.clone())
    };
    let fixed = |name: &str, loss: LossConfig| with(name, &loss, ThresholdRule::Fixed);
    vec![
        fixed("bce", bce.clone()),
        fixed("bce-ins", weighted_bce(Scheme::Ins)),
        fixed("bce-isns", weighted_bce(Scheme::Isns)),
        fixed("bce-ens", ens.clone()),
        fixed("bce-pos-balanced", pos_balanced),
        fixed(
            "sigmoid-focal",
            LossConfig::with_defaults(LossKind::SigmoidFocal),
        ),
        fixed("cb-focal", cb_focal),
        with("bce-tuned", &bce, ThresholdRule::Tuned),
        with("bce-ens-tuned", &ens, ThresholdRule::Tuned),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::ComparePlan;

    #[test]
    fn the_default_set_parses() {
        let plan = ComparePlan::from_text("[train]\nepochs = 20\n").unwrap();
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
                "vs",
                "lade",
                "label-aware",
                "ce-posthoc",
                "crt",
                "cb-resampling",
                "sqrt-resampling"
            ]
        );
        assert_eq!(plan.baseline(), "ce");
        let ldam = &plan.variants[10].config.loss;
        // Epoch 17 counted from 1 is the library's 16.
        assert_eq!(ldam.weighting().map(|w| w.start_epoch), Some(16));
        assert_eq!(plan.variants[16].config.eval.posthoc_tau, Some(1.0));
        assert_eq!(
            plan.variants[18].config.data.resampling,
            Resampling::ClassBalanced
        );
        assert_eq!(plan.compare.seeds, 3);
    }

    #[test]
    fn the_multi_label_default_set_parses() {
        let load = |validation: &str, rule: &str| {
            ComparePlan::from_text(&format!(
                "[data]\ntask = \"multi-label\"\nvalidation_fraction = {validation}\n\
                 [loss]\nkind = \"sigmoid\"\n[eval]\nthresholds = \"{rule}\"\n"
            ))
            .unwrap()
        };
        let plan = load("0.15", "tuned");
        let names: Vec<&str> = plan.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bce",
                "bce-ins",
                "bce-isns",
                "bce-ens",
                "bce-pos-balanced",
                "sigmoid-focal",
                "cb-focal",
                "bce-tuned",
                "bce-ens-tuned"
            ]
        );
        assert_eq!(plan.baseline(), "bce");
        assert_eq!(plan.rank_by, crate::compare::Metric::MacroF1);
        assert!(plan.notes.is_empty());
        // Thresholds: 0.5 but for the -tuned variants, whatever the base says.
        let rules: Vec<ThresholdRule> = plan
            .variants
            .iter()
            .map(|v| v.config.eval.thresholds)
            .collect();
        assert_eq!(rules[..7], [ThresholdRule::Fixed; 7]);
        assert_eq!(rules[7..], [ThresholdRule::Tuned; 2]);
        assert_eq!(plan.variants[7].config.loss, plan.variants[0].config.loss);
        assert_eq!(plan.variants[8].config.loss, plan.variants[3].config.loss);
        assert!(matches!(
            plan.variants[4].config.loss,
            LossConfig::Sigmoid(SigmoidKeys {
                pos_weight: Some(PosWeight::Balanced),
                ..
            })
        ));
        // Every variant of a seed trains on the same data.
        assert!(
            plan.variants
                .iter()
                .all(|v| v.config.data == plan.base.data)
        );
        // No validation split: the tuned variants are left out, saying so.
        let plan = load("0.0", "fixed");
        assert_eq!(plan.variants.len(), 7);
        assert!(plan.variants.iter().all(|v| !v.name.ends_with("-tuned")));
        assert_eq!(plan.notes.len(), 1);
        assert!(
            plan.notes[0].contains("bce-tuned, bce-ens-tuned left out: tuned thresholds need a validation split and every"),
            "{:?}",
            plan.notes
        );
    }

    /// Each default variant is the `[[variants]]` entry a user would write for it, and
    /// `--set` overrides it as it would that entry.
    #[test]
    fn the_default_set_is_what_its_config_spelling_says() {
        let spelled = |epochs: usize| {
            let ce = r#"{ kind = "cross-entropy" }"#;
            let mut entries = vec![
                ("ce".to_string(), format!("loss = {ce}")),
                (
                    "ins".to_string(),
                    r#"loss = { kind = "cross-entropy", scheme = "ins" }"#.to_string(),
                ),
                (
                    "isns".to_string(),
                    r#"loss = { kind = "cross-entropy", scheme = "isns" }"#.to_string(),
                ),
            ];
            for beta in ["0.9", "0.99", "0.999", "0.9999"] {
                entries.push((
                    format!("ens-{beta}"),
                    format!(
                        r#"loss = {{ kind = "cross-entropy", scheme = "ens", beta = {beta} }}"#
                    ),
                ));
            }
            let drw = epochs * 4 / 5 + 1;
            for (name, keys) in [
                ("focal-1", r#"loss = { kind = "focal", gamma = 1.0 }"#.to_string()),
                ("focal-2", r#"loss = { kind = "focal", gamma = 2.0 }"#.to_string()),
                ("cb-focal", r#"loss = { kind = "class-balanced", base = "focal", beta = 0.999, gamma = 1.0 }"#.to_string()),
                ("ldam-drw", format!(r#"loss = {{ kind = "ldam", scheme = "ens", beta = 0.9999, drw_start_epoch = {drw} }}"#)),
                ("logit-adjusted", r#"loss = { kind = "logit-adjusted", tau = 1.0 }"#.to_string()),
                ("balanced-softmax", r#"loss = { kind = "balanced-softmax" }"#.to_string()),
                ("vs", r#"loss = { kind = "vs" }"#.to_string()),
                ("lade", r#"loss = { kind = "lade" }"#.to_string()),
                ("label-aware", r#"loss = { kind = "cross-entropy", label_aware = { head = 0.3, tail = 0.0, shape = "concave" } }"#.to_string()),
                ("ce-posthoc", format!("loss = {ce}\neval = {{ posthoc_tau = 1.0 }}")),
                ("crt", format!("loss = {ce}\ntrain = {{ stage2 = {{ epochs = {} }} }}", epochs.div_ceil(2))),
                ("cb-resampling", format!("loss = {ce}\ndata = {{ resampling = \"class-balanced\" }}")),
                ("sqrt-resampling", format!("loss = {ce}\ndata = {{ resampling = \"square-root\" }}")),
            ] {
                entries.push((name.to_string(), keys));
            }
            entries
                .into_iter()
                .map(|(name, keys)| format!("[[variants]]\nname = \"{name}\"\n{keys}\n"))
                .collect::<String>()
        };
        let dir = tempfile::tempdir().unwrap();
        let base = "[loss]\nkind = \"focal\"\ngamma = 3.0\n[data]\nresampling = \"square-root\"\n";
        let overrides = [
            "loss.reduction=sum".to_string(),
            "data.resampling=none".to_string(),
        ];
        for epochs in [1, 2, 5, 20, 200] {
            for sets in [&[][..], &overrides[..1], &overrides[..]] {
                let load = |name: &str, variants: &str| {
                    let path = dir.path().join(name);
                    let text = format!("{base}[train]\nepochs = {epochs}\n{variants}");
                    std::fs::write(&path, text).unwrap();
                    ComparePlan::load(&path, sets).unwrap().variants
                };
                assert_eq!(
                    load("default.toml", ""),
                    load("spelled.toml", &spelled(epochs)),
                    "{epochs} epochs, {sets:?}"
                );
            }
        }
    }
}
