//! The run's plots, as SVG and PNG: per-class recall against training frequency, and the
//! training curves.

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

/// DejaVu Sans (Bitstream Vera license, `assets/DejaVuSans-LICENSE.txt`), embedded so PNG text
/// renders the same on every machine.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped with the crate.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One point per class: its training count (log scale) and its test recall.
fn draw_recall<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    counts: &[usize],
    recall: &[f64],
    title: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let max = counts.iter().copied().max().unwrap_or(1).max(2) as f64;
    let min = counts.iter().copied().filter(|&n| n > 0).min().unwrap_or(1) as f64;
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((min / 1.5..max * 1.5).log_scale(), 0.0..1.02)
        .map_err(|e| anyhow!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc("training samples of the class (log scale)")
        .y_desc("test recall")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))?;
    let points: Vec<(f64, f64)> = counts
        .iter()
        .zip(recall)
        .map(|(&n, &r)| (n.max(1) as f64, r))
        .collect();
    let mut line = points.clone();
    line.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(line, BLUE.mix(0.5)))
        .map_err(|e| anyhow!("{e:?}"))?;
    chart
        .draw_series(points.iter().enumerate().map(|(c, &(x, y))| {
            EmptyElement::at((x, y))
                + Circle::new((0, 0), 4, BLUE.filled())
                + Text::new(format!("{c}"), (6, -14), ("sans-serif", 12))
        }))
        .map_err(|e| anyhow!("{e:?}"))?;
    area.present().map_err(|e| anyhow!("{e:?}"))?;
    Ok(())
}

/// Training loss and validation balanced accuracy per epoch.
fn draw_curves<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    loss: &[f64],
    balanced: &[f64],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
    let epochs = loss.len().max(balanced.len()).max(2) as f64;
    for (area, values, title, colour) in [
        (left, loss, "training loss", RED),
        (right, balanced, "validation balanced accuracy", BLUE),
    ] {
        let top = values.iter().copied().fold(0.0f64, f64::max).max(1e-6) * 1.05;
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(1.0..epochs, 0.0..top)
            .map_err(|e| anyhow!("{e:?}"))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels((epochs as usize).min(10))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| anyhow!("{e:?}"))?;
        let points = values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v));
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| anyhow!("{e:?}"))?;
        chart
            .draw_series(points.map(|p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| anyhow!("{e:?}"))?;
    }
    area.present().map_err(|e| anyhow!("{e:?}"))?;
    Ok(())
}

/// Writes `per_class_recall.{svg,png}` and `training_curves.{svg,png}` into `dir`.
///
/// # Errors
/// A file cannot be written.
pub fn write_plots(
    dir: &Path,
    counts: &[usize],
    recall: &[f64],
    loss: &[f64],
    balanced: &[f64],
    title: &str,
) -> anyhow::Result<()> {
    register_font();
    // The backends pick the image format from the extension, so it stays last.
    let partial = |name: &str| {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        dir.join(format!("{stem}.partial.{ext}"))
    };
    let finish = |name: &str| {
        std::fs::rename(partial(name), dir.join(name))
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    draw_recall(
        SVGBackend::new(&partial("per_class_recall.svg"), (800, 500)).into_drawing_area(),
        counts,
        recall,
        title,
    )?;
    finish("per_class_recall.svg")?;
    draw_recall(
        BitMapBackend::new(&partial("per_class_recall.png"), (800, 500)).into_drawing_area(),
        counts,
        recall,
        title,
    )?;
    finish("per_class_recall.png")?;
    draw_curves(
        SVGBackend::new(&partial("training_curves.svg"), (1000, 400)).into_drawing_area(),
        loss,
        balanced,
    )?;
    finish("training_curves.svg")?;
    draw_curves(
        BitMapBackend::new(&partial("training_curves.png"), (1000, 400)).into_drawing_area(),
        loss,
        balanced,
    )?;
    finish("training_curves.png")
}

/// The final value of metric `file` (`Loss.log`) of each epoch of `split` in a run directory,
/// from burn-train's logs (`<split>/epoch-N/<file>`, last line `value,final`, or the mean of
/// the batch lines).
pub fn epoch_values(dir: &Path, split: &str, file: &str) -> Vec<f64> {
    let mut values = Vec::new();
    for epoch in 1.. {
        let path = dir.join(split).join(format!("epoch-{epoch}")).join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        let mut weighted = (0.0, 0.0);
        let mut final_value = None;
        for line in text.lines() {
            let mut parts = line.split(',');
            let (Some(v), Some(c)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(v) = v.trim().parse::<f64>() else {
                continue;
            };
            match c.trim() {
                "final" => final_value = Some(v),
                c => {
                    let c = c.parse::<f64>().unwrap_or(1.0);
                    weighted = (weighted.0 + v * c, weighted.1 + c);
                }
            }
        }
        values.push(final_value.unwrap_or(if weighted.1 > 0.0 {
            weighted.0 / weighted.1
        } else {
            0.0
        }));
    }
    values
}
