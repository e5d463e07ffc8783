//! The default set's grids: what `compare --tune` without `[[variants]]` tunes, each grid
//! from its paper's own search (docs/compare.md#tuned-comparisons cites them).

use super::{Grid, GridKey};
use crate::compare::variants::DefaultVariant;

/// A grid's keys, each with its values.
type Keys = &'static [(&'static str, &'static [f64])];

/// The grid of each tuned default variant, by its name in the default set: the name it has
/// in the tuned set, and its keys with their values. `ens-0.999` and `focal-2` stand for
/// their families, whose other members (`ens-0.9`, `ens-0.99`, `ens-0.9999`, `focal-1`) are
/// points of the grid and leave the tuned set.
const GRIDS: [(&str, &str, Keys); 11] = [
    // Cui et al. (CVPR 2019) search β over these four on CIFAR-LT.
    ("ens-0.999", "ens", &[("beta", &[0.9, 0.99, 0.999, 0.9999])]),
    // Lin et al. (ICCV 2017), Table 1a: γ from 0 to 5; 0 is plain cross-entropy, `ce`.
    ("focal-2", "focal", &[("gamma", &[0.5, 1.0, 2.0, 5.0])]),
    // Cao et al. (NeurIPS 2019) tune the largest margin; 0.5 is their choice.
    ("ldam-drw", "ldam-drw", &[("max_margin", &[0.25, 0.5, 1.0])]),
    // Menon et al. (ICLR 2021), Fig. 3: τ swept around 1.
    (
        "logit-adjusted",
        "logit-adjusted",
        &[("tau", &[0.5, 1.0, 1.5, 2.0])],
    ),
    // Kini et al. (NeurIPS 2021) grid-search γ and τ; these bracket the library's default
    // (γ = 0.3, τ = 1), which over-corrects on this benchmark, from below.
    (
        "vs",
        "vs",
        &[("gamma", &[0.1, 0.2, 0.3]), ("tau", &[0.5, 1.0, 1.5])],
    ),
    // Hong et al. (CVPR 2021) set α per dataset; a decade either side of the default 0.1.
    ("lade", "lade", &[("alpha", &[0.01, 0.1, 0.5, 1.0])]),
    // Zhong et al. (CVPR 2021) choose ε_head in 0.1..0.4 and ε_tail in {0, 0.1}.
    (
        "label-aware",
        "label-aware",
        &[
            ("label_aware.head", &[0.1, 0.2, 0.3, 0.4]),
            ("label_aware.tail", &[0.0, 0.1]),
        ],
    ),
    // Menon et al. (ICLR 2021) choose the post-hoc τ on a holdout; Fig. 2 sweeps it.
    (
        "ce-posthoc",
        "ce-posthoc",
        &[("eval.posthoc_tau", &[0.5, 1.0, 1.5, 2.0])],
    ),
    // Multi-label: the same searches for the sigmoid losses.
    (
        "bce-ens",
        "bce-ens",
        &[("beta", &[0.9, 0.99, 0.999, 0.9999])],
    ),
    (
        "bce-ens-tuned",
        "bce-ens-tuned",
        &[("beta", &[0.9, 0.99, 0.999, 0.9999])],
    ),
    (
        "sigmoid-focal",
        "sigmoid-focal",
        &[("gamma", &[0.5, 1.0, 2.0])],
    ),
];

/// The variants of the default set that are points of another's grid, and leave the tuned
/// set.
const FOLDED: [&str; 4] = ["ens-0.9", "ens-0.99", "ens-0.9999", "focal-1"];

/// The default set `defaults` as `--tune` runs it: the variants of `GRIDS` with their grids
/// (the ENS and focal families each one tuned variant, `ens` and `focal`), the others as
/// they are.
pub fn tuned_defaults(defaults: Vec<DefaultVariant>) -> Vec<DefaultVariant> {
    defaults
        .into_iter()
        .filter(|v| !FOLDED.contains(&v.name.as_str()))
        .map(|mut v| {
            if let Some((_, name, keys)) = GRIDS.iter().find(|(from, ..)| *from == v.name) {
                v.name = name.to_string();
                v.tune = Some(grid(keys));
            }
            v
        })
        .collect()
}

/// A grid of float values, its keys in alphabetical order as a TOML table gives them.
fn grid(keys: &[(&str, &[f64])]) -> Grid {
    let mut keys: Vec<GridKey> = keys
        .iter()
        .map(|(key, values)| GridKey {
            key: key.to_string(),
            values: values.iter().map(|&v| toml::Value::Float(v)).collect(),
        })
        .collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    Grid { keys }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::compare::ComparePlan;

    #[test]
    fn the_tuned_default_set_has_the_papers_grids() {
        let plan =
            ComparePlan::from_text("[train]\nepochs = 20\n[compare]\ntune = true\n").unwrap();
        let tuned: Vec<(&str, usize)> = plan
            .variants
            .iter()
            .filter_map(|v| v.tune.as_ref().map(|g| (v.name.as_str(), g.points().len())))
            .collect();
        assert_eq!(
            tuned,
            [
                ("ens", 4),
                ("focal", 4),
                ("ldam-drw", 3),
                ("logit-adjusted", 4),
                ("vs", 9),
                ("lade", 4),
                ("label-aware", 8),
                ("ce-posthoc", 4)
            ]
        );
        assert_eq!(plan.variants.len(), 16);
        // Every variant shares the validation split --tune holds out of the synthetic data.
        assert!(plan.variants.iter().all(|v| {
            v.config.data.validation_per_class == Some(super::super::TUNE_VALIDATION_PER_CLASS)
        }));
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        // The shipped benchmark tunes too; a multi-label base folds nothing.
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/compare.toml");
        let plan = ComparePlan::load(&shipped, &["compare.tune=true".to_string()]).unwrap();
        assert_eq!(plan.variants.len(), 16);
        let ml =
            "[data]\ntask = \"multi-label\"\n[loss]\nkind = \"sigmoid\"\n[compare]\ntune = true\n";
        let plan = ComparePlan::from_text(ml).unwrap();
        assert_eq!(plan.variants.len(), 9);
        assert_eq!(plan.variants.iter().filter(|v| v.tune.is_some()).count(), 3);
        assert!(
            plan.variants.iter().all(
                |v| v.config.data.validation_fraction == super::super::TUNE_VALIDATION_FRACTION
            )
        );
    }
}
