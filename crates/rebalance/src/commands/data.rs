//! `rebalance data`: the per-class counts of each split, the imbalance factor and the feature
//! shape; `--export` writes the splits as CSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rebalance_data::{DatasetSummary, LabelsPerSample};

use super::Format;
use crate::run::config::RunConfig;
use crate::task::TaskKind;

/// `rebalance data`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML config; only its `[data]` section is used.
    #[arg(long)]
    config: PathBuf,
    /// Override a config key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write each split as CSV into this folder.
    #[arg(long)]
    export: Option<PathBuf>,
}

/// Loads the data and prints its summary (and exports it).
///
/// # Errors
/// A bad config, data that cannot be loaded, or an export that cannot be written.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config, &args.sets)?;
    let (format, export) = (args.format, args.export);
    if let Some(dir) = &export {
        refuse_overwriting_inputs(dir, &config)?;
    }
    crate::for_task!(config.data.task, T => {
        let data = T::load(&config)?;
        print_data(&data.summary(), format, &T::labels_per_sample(&data))?;
        if let Some(dir) = export {
            report_export(data.export_csv(&dir), &dir)?;
        }
    });
    Ok(())
}

/// The files an export writes (`train.csv`, `test.csv`, `validation.csv` in `dir`) must not be
/// the config's own input files, which the export would overwrite with its copy of them.
///
/// # Errors
/// One of them is `data.train` or `data.test`: a one-line error naming both.
fn refuse_overwriting_inputs(dir: &Path, config: &RunConfig) -> anyhow::Result<()> {
    let inputs = [
        ("data.train", &config.data.train),
        ("data.test", &config.data.test),
    ];
    for name in ["train.csv", "test.csv", "validation.csv"] {
        let Ok(written) = dir.join(name).canonicalize() else {
            continue;
        };
        for (key, input) in &inputs {
            if let Some(input) = input
                && input.canonicalize().is_ok_and(|input| input == written)
            {
                anyhow::bail!(
                    "--export {}: would overwrite {}, the config's {key}; export into another \
                     folder",
                    dir.display(),
                    written.display()
                );
            }
        }
    }
    Ok(())
}

/// Prints `rebalance data`'s summary as a table (per class or label and split, then the
/// labels per sample of a multi-label dataset) or as JSON (with `labels_per_sample`).
fn print_data(
    summary: &DatasetSummary,
    format: Format,
    per_sample: &[(&str, LabelsPerSample)],
) -> anyhow::Result<()> {
    let multi_label = !per_sample.is_empty();
    match format {
        Format::Json => {
            let mut json = serde_json::to_value(summary)?;
            if multi_label {
                json["task"] = "multi-label".into();
                json["labels_per_sample"] = serde_json::to_value(
                    per_sample
                        .iter()
                        .map(|(name, s)| (name.to_string(), s))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                )?;
            }
            super::print(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        }
        Format::Table => {
            let (what, count) = if multi_label {
                ("labels", "positives per label")
            } else {
                ("classes", "samples per class")
            };
            let mut text = format!(
                "{} {what}, features {:?}, imbalance factor {:.1} ({count})\n",
                summary.num_classes, summary.feature_shape, summary.imbalance_factor
            );
            let splits: Vec<&String> = summary.splits.keys().collect();
            let _ = write!(text, "{:>12}", if multi_label { "label" } else { "class" });
            for s in &splits {
                let _ = write!(text, "  {s:>10}");
            }
            text.push('\n');
            for c in 0..summary.num_classes {
                // A label with a newline or a terminal escape stays on its row, visible.
                let name = crate::run::overrides::escape_controls(&summary.class_names[c]);
                let _ = write!(text, "{name:>12}");
                for s in &splits {
                    let _ = write!(text, "  {:>10}", summary.splits[*s].counts[c]);
                }
                text.push('\n');
            }
            for (name, s) in per_sample {
                let _ = writeln!(
                    text,
                    "{name}: {} samples, {:.2} labels per sample (min {}, max {}), {} without \
                     a label",
                    summary.splits[*name].total, s.mean, s.min, s.max, s.without_labels
                );
            }
            super::print(&text)?;
        }
    }
    Ok(())
}

/// Says which files an export wrote.
fn report_export(
    written: Result<Vec<PathBuf>, rebalance_data::DataError>,
    dir: &Path,
) -> anyhow::Result<()> {
    let files = written.with_context(|| format!("cannot export to {}", dir.display()))?;
    for f in files {
        crate::say!("wrote {}", f.display());
    }
    Ok(())
}
