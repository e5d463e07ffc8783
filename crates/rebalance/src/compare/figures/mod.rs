//! A comparison's figures, each as SVG and PNG, sized to stay legible when shrunk to a
//! paper's column width (large type, thick lines) and coloured for colour-blind readers
//! (Okabe–Ito's palette, the viridis colormap):
//! - `<rank metric>` (`balanced_accuracy`, `macro_f1`, ...): a dot plot of the ranking metric
//!   per variant, with its 95% confidence interval over seeds, on an axis zoomed to the data,
//!   best first, the baseline marked;
//! - `per_class_recall` (`per_label_recall`): a heatmap of the mean test recall, variant ×
//!   class, head → tail, the values printed in the cells;
//! - `per_class_recall_lines` (`per_label_recall_lines`): the same recall as lines, for the
//!   few variants chosen with `--plot-variants`;
//! - `shot_groups` (single-label only): many/medium/few-shot accuracy per variant as grouped
//!   bars with their 95% confidence intervals;
//! - `tuning` (tuned comparisons only): each tuned variant's validation scores against its
//!   grid's keys, a panel per variant.

mod dot_plot;
mod heatmap;
mod recall_lines;
mod shot_bars;
mod tuning;

use std::path::Path;

use anyhow::anyhow;
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::reporting::plots::{Area, Figure, save};
use dot_plot::DotPlot;
use heatmap::Heatmap;
use recall_lines::RecallLines;
use shot_bars::ShotBars;
pub(super) use tuning::{TuningPanels, write as write_tuning};

/// The most variants `--plot-variants` may draw as lines: the palette's colours.
pub const MAX_LINE_VARIANTS: usize = 6;

/// Okabe and Ito's colour-blind-safe palette (2008), without its yellow (too pale on white):
/// blue, vermillion, bluish green, orange, reddish purple, sky blue, black.
const OKABE_ITO: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
const BLUE_OI: RGBColor = OKABE_ITO[0];
const VERMILLION: RGBColor = OKABE_ITO[1];

/// The colours of the many-, medium- and few-shot bars.
const SHOT_COLOURS: [RGBColor; 3] = [OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[4]];

/// Type sizes in pixels, for figures about 1000 px wide.
const TITLE: u32 = 30;
const AXIS: u32 = 24;
const TICK: u32 = 22;
const CELL: u32 = 20;

/// matplotlib's viridis at 0, 0.1, ..., 1.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x24, 0x75),
    (0x41, 0x44, 0x87),
    (0x35, 0x5f, 0x8d),
    (0x2a, 0x78, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x22, 0xa8, 0x84),
    (0x44, 0xbf, 0x70),
    (0x7a, 0xd1, 0x51),
    (0xbd, 0xdf, 0x26),
    (0xfd, 0xe7, 0x25),
];

/// Viridis at `v` in `[0, 1]` (clamped), linearly between its tabulated colours.
fn viridis(v: f64) -> RGBColor {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * 10.0;
    let i = (x.floor() as usize).min(9);
    let t = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + t * (q as f64 - p as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A variant's value of a metric over its seeds: the mean and its 95% confidence interval
/// (`low == high == mean` with one seed).
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The variant.
    pub name: String,
    /// Mean over seeds.
    pub mean: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// What a comparison's figures show.
#[derive(Debug, Clone)]
pub struct ComparisonFigures<'a> {
    /// The ranking metric's key, the dot plot's file stem (`balanced_accuracy`, ...).
    pub key: &'a str,
    /// The ranking metric's label (`balanced accuracy`, ...).
    pub label: &'a str,
    /// The ranking metric per variant, best first.
    pub ranked: &'a [Estimate],
    /// The baseline's name.
    pub baseline: &'a str,
    /// What a column is: `class` or `label`.
    pub unit: &'a str,
    /// The training samples (positives) per class, by class index.
    pub counts: &'a [usize],
    /// Per variant, in the order of `ranked`: its mean test recall per class, by class index.
    pub recall: &'a [(String, Vec<f64>)],
    /// The variants drawn as recall lines (at most [`MAX_LINE_VARIANTS`]); none: no line plot.
    pub lines: &'a [String],
    /// Per shot group, `(its title, each variant's accuracy on it in the order of `ranked`)`;
    /// empty for multi-label: no `shot_groups` figure.
    pub shots: &'a [(String, Vec<Estimate>)],
    /// What the intervals are, for the axis descriptions: `95% CI over 3 seeds`.
    pub interval: &'a str,
}

/// Writes a comparison's figures into `dir` (see the module's documentation).
///
/// # Errors
/// A file cannot be written.
pub fn write(dir: &Path, figures: &ComparisonFigures) -> anyhow::Result<()> {
    let rows = figures.ranked.len().max(1) as u32;
    save(dir, figures.key, (1000, 150 + 46 * rows), &DotPlot(figures))?;
    let heatmap = Heatmap::of(figures);
    save(
        dir,
        &format!("per_{}_recall", figures.unit),
        heatmap.size(),
        &heatmap,
    )?;
    if !figures.lines.is_empty() {
        save(
            dir,
            &format!("per_{}_recall_lines", figures.unit),
            (1000, 640),
            &RecallLines(figures),
        )?;
    }
    if !figures.shots.is_empty() {
        let height = 160 + 40 * figures.shots.len() as u32 + 84 * rows;
        save(dir, "shot_groups", (1000, height), &ShotBars(figures))?;
    }
    Ok(())
}

/// Draws a figure's `title`, centred in `area` (the strip above the figure's body).
fn draw_title<DB: DrawingBackend>(area: &Area<DB>, title: &str) -> anyhow::Result<()> {
    let (width, height) = area.dim_in_pixel();
    area.draw(&Text::new(
        title,
        (width as i32 / 2, height as i32 / 2),
        font(TITLE, HPos::Center, VPos::Center),
    ))
    .map_err(err)
}

/// DejaVu Sans at `size` pixels, anchored at `h`, `v`.
fn font(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v))
}

/// Draws a chart's mesh, configured by the caller, in the figures' style: their tick and axis
/// fonts, no minor lines, light major lines.
fn draw_mesh<X, Y, DB>(mesh: &mut MeshStyle<'_, '_, X, Y, DB>) -> anyhow::Result<()>
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    mesh.label_style(("sans-serif", TICK))
        .axis_desc_style(("sans-serif", AXIS))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(err)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("{e:?}")
}

/// The width of `text` at `size` pixels in DejaVu Sans, estimated (0.62 em a character).
/// The row of `n` (drawn top to bottom, row k at y = n − 1 − k) that the axis value `y`
/// stands at; `None` between rows.
fn row_at(y: f64, n: usize) -> Option<usize> {
    let k = n as f64 - 1.0 - y;
    ((k - k.round()).abs() <= 1e-6 && k >= -0.5).then(|| k.round() as usize)
}

/// The name of a variant's row, marked when it is the baseline.
fn row_name(name: &str, baseline: &str) -> String {
    if name == baseline {
        format!("{name} (baseline)")
    } else {
        name.to_string()
    }
}

fn text_width(text: &str, size: u32) -> u32 {
    (text.chars().count() as f64 * 0.62 * size as f64).ceil() as u32
}

/// The class indices ordered head → tail: by training count, most first; ties by index.
fn head_to_tail(counts: &[usize], classes: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..classes).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(counts.get(c).copied().unwrap_or(0)));
    order
}

/// A legend drawn in its own strip above a chart, one entry a row: never over the data.
fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    line: bool,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let text = font(TICK, HPos::Left, VPos::Center);
    for (k, (name, colour)) in entries.iter().enumerate() {
        let y = 12 + 34 * k as i32;
        if line {
            area.draw(&PathElement::new(
                vec![(90, y + 12), (140, y + 12)],
                colour.stroke_width(4),
            ))
            .map_err(err)?;
            area.draw(&Circle::new((115, y + 12), 7, colour.filled()))
                .map_err(err)?;
        } else {
            area.draw(&Rectangle::new(
                [(100, y + 1), (130, y + 23)],
                colour.filled(),
            ))
            .map_err(err)?;
        }
        area.draw(&Text::new(name.clone(), (152, y + 12), text.clone()))
            .map_err(err)?;
    }
    Ok(())
}

/// The x range of the dot plot: the intervals, padded, in `[0, 1]`.
fn zoomed(estimates: &[Estimate]) -> (f64, f64) {
    let low = estimates
        .iter()
        .map(|e| e.low)
        .fold(f64::INFINITY, f64::min);
    let high = estimates
        .iter()
        .map(|e| e.high)
        .fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    let span = (high - low).max(0.02);
    let (low, high) = ((low - 0.1 * span).max(0.0), (high + 0.1 * span).min(1.0));
    if high > low { (low, high) } else { (0.0, 1.0) }
}

/// Tick labels with as many decimals as the span needs.
fn tick(span: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if span < 0.05 {
            format!("{v:.3}")
        } else {
            format!("{v:.2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }

    #[test]
    fn the_axis_zooms_to_the_intervals() {
        let e = |mean: f64, half: f64| Estimate {
            name: String::new(),
            mean,
            low: mean - half,
            high: mean + half,
        };
        let (low, high) = zoomed(&[e(0.80, 0.02), e(0.70, 0.01)]);
        assert!(
            (low - 0.677).abs() < 1e-9 && (high - 0.833).abs() < 1e-9,
            "{low} {high}"
        );
        let (low, high) = zoomed(&[e(0.99, 0.05)]);
        assert!((low - 0.93).abs() < 1e-9 && high == 1.0, "{low} {high}");
        assert_eq!(zoomed(&[]), (0.0, 1.0));
    }

    #[test]
    fn classes_go_head_to_tail() {
        assert_eq!(head_to_tail(&[5, 50, 50, 1], 4), [1, 2, 0, 3]);
    }
}
