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
//!   bars with their 95% confidence intervals.

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::reporting::plots::{Figure, save};

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

/// DejaVu Sans at `size` pixels, anchored at `h`, `v`.
fn font(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v))
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("{e:?}")
}

/// The width of `text` at `size` pixels in DejaVu Sans, estimated (0.62 em a character).
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

/// The dot plot of the ranking metric.
struct DotPlot<'a>(&'a ComparisonFigures<'a>);

impl Figure for DotPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let f = self.0;
        area.fill(&WHITE).map_err(err)?;
        let ranked = f.ranked;
        let n = ranked.len().max(1);
        // Row k from the top sits at y = n − 1 − k.
        let name_of = |y: &f64| -> String {
            let k = n as f64 - 1.0 - y;
            if (k - k.round()).abs() > 1e-6 || k < -0.5 {
                return String::new();
            }
            ranked.get(k.round() as usize).map_or(String::new(), |e| {
                let name = if e.name == f.baseline {
                    format!("{} (baseline)", e.name)
                } else {
                    e.name.clone()
                };
                format!("{name}  {:.3}", e.mean)
            })
        };
        let longest = (0..n)
            .map(|k| text_width(&name_of(&((n - 1 - k) as f64)), TICK))
            .max()
            .unwrap_or(100);
        let (low, high) = zoomed(ranked);
        let mut chart = ChartBuilder::on(&area)
            .caption(format!("{} per variant", f.label), ("sans-serif", TITLE))
            .margin(16)
            .margin_right(44)
            .x_label_area_size(80)
            .y_label_area_size(longest + 24)
            .build_cartesian_2d(low..high, -0.5..(n as f64 - 0.5))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!("test {}: mean, {}", f.label, f.interval))
            .x_labels(6)
            .x_label_formatter(&tick(high - low))
            .y_labels(n)
            .y_label_formatter(&name_of)
            .label_style(("sans-serif", TICK))
            .axis_desc_style(("sans-serif", AXIS))
            .light_line_style(WHITE)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(err)?;
        if let Some(base) = ranked.iter().find(|e| e.name == f.baseline) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(base.mean, -0.5), (base.mean, n as f64 - 0.5)],
                    10,
                    8,
                    VERMILLION.stroke_width(2),
                ))
                .map_err(err)?;
        }
        let colour = |e: &Estimate| {
            if e.name == f.baseline {
                VERMILLION
            } else {
                BLUE_OI
            }
        };
        let y = |k: usize| (n - 1 - k) as f64;
        chart
            .draw_series(ranked.iter().enumerate().map(|(k, e)| {
                ErrorBar::new_horizontal(
                    y(k),
                    e.low.max(low),
                    e.mean,
                    e.high.min(high),
                    colour(e).stroke_width(3),
                    16,
                )
            }))
            .map_err(err)?;
        chart
            .draw_series(
                ranked
                    .iter()
                    .enumerate()
                    .map(|(k, e)| Circle::new((e.mean, y(k)), 9, colour(e).filled())),
            )
            .map_err(err)?;
        area.present().map_err(err)?;
        Ok(())
    }
}

/// The heatmap of per-class recall, laid out in pixels.
struct Heatmap<'a> {
    f: &'a ComparisonFigures<'a>,
    order: Vec<usize>,
    left: u32,
    cell: (u32, u32),
    values: bool,
}

impl<'a> Heatmap<'a> {
    const TOP: u32 = 70;
    const BOTTOM: u32 = 110;
    const BAR: u32 = 150;

    fn of(f: &'a ComparisonFigures<'a>) -> Self {
        let classes = f.recall.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let order = head_to_tail(f.counts, classes);
        let left = f
            .recall
            .iter()
            .map(|(name, _)| text_width(&format!("{name} (baseline)"), TICK))
            .max()
            .unwrap_or(60)
            + 30;
        let values = classes <= 30;
        let width = if values {
            72
        } else {
            (900 / classes.max(1) as u32).clamp(6, 40)
        };
        Self {
            f,
            order,
            left,
            cell: (width, 44),
            values,
        }
    }

    fn size(&self) -> (u32, u32) {
        let columns = self.order.len().max(1) as u32;
        let rows = self.f.recall.len().max(1) as u32;
        let width = (self.left + columns * self.cell.0 + Self::BAR).max(700);
        (width, Self::TOP + rows * self.cell.1 + Self::BOTTOM)
    }
}

impl Figure for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let f = self.f;
        area.fill(&WHITE).map_err(err)?;
        let (cw, ch) = (self.cell.0 as i32, self.cell.1 as i32);
        let (left, top) = (self.left as i32, Self::TOP as i32);
        let centred = |size: u32| font(size, HPos::Center, VPos::Center);
        let grid_right = left + cw * self.order.len() as i32;
        area.draw(&Text::new(
            format!("test recall per {} (mean over seeds), head → tail", f.unit),
            ((left + grid_right) / 2, top / 2),
            centred(TITLE),
        ))
        .map_err(err)?;
        for (row, (name, recall)) in f.recall.iter().enumerate() {
            let y = top + ch * row as i32;
            let (ink, shown) = if *name == f.baseline {
                (VERMILLION, format!("{name} (baseline)"))
            } else {
                (BLACK, name.clone())
            };
            let label = font(TICK, HPos::Right, VPos::Center).color(&ink);
            area.draw(&Text::new(shown, (left - 12, y + ch / 2), label))
                .map_err(err)?;
            for (col, &class) in self.order.iter().enumerate() {
                let x = left + cw * col as i32;
                let value = recall.get(class).copied().unwrap_or(f64::NAN);
                let fill = if value.is_finite() {
                    viridis(value)
                } else {
                    RGBColor(200, 200, 200)
                };
                area.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], fill.filled()))
                    .map_err(err)?;
                if self.values && value.is_finite() {
                    let ink = if value < 0.6 { WHITE } else { BLACK };
                    area.draw(&Text::new(
                        format!("{value:.2}"),
                        (x + cw / 2, y + ch / 2),
                        centred(CELL).color(&ink),
                    ))
                    .map_err(err)?;
                }
            }
        }
        // Column labels: the class index, its training count beneath, every column where
        // there is room.
        let bottom = top + ch * f.recall.len() as i32;
        let every = if self.values { 1 } else { 5 };
        for (col, &class) in self.order.iter().enumerate() {
            if col % every != 0 {
                continue;
            }
            let x = left + cw * col as i32 + cw / 2;
            area.draw(&Text::new(
                class.to_string(),
                (x, bottom + 16),
                centred(TICK),
            ))
            .map_err(err)?;
            if self.values {
                let n = f.counts.get(class).copied().unwrap_or(0);
                area.draw(&Text::new(
                    n.to_string(),
                    (x, bottom + 42),
                    centred(CELL).color(&BLACK.mix(0.7)),
                ))
                .map_err(err)?;
            }
        }
        let axis = if self.values {
            format!("{}, its training samples beneath", f.unit)
        } else {
            format!("{}, head → tail", f.unit)
        };
        area.draw(&Text::new(
            axis,
            ((left + grid_right) / 2, bottom + 80),
            centred(AXIS),
        ))
        .map_err(err)?;
        // The colour bar, 0 at the bottom.
        let (bx, height) = (grid_right + 30, (ch * f.recall.len() as i32).max(ch));
        let steps = height.max(1);
        for s in 0..steps {
            let v = 1.0 - s as f64 / steps as f64;
            area.draw(&Rectangle::new(
                [(bx, top + s), (bx + 26, top + s + 1)],
                viridis(v).filled(),
            ))
            .map_err(err)?;
        }
        area.draw(&Rectangle::new(
            [(bx, top), (bx + 26, top + height)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        for v in [0.0, 0.5, 1.0] {
            let y = top + ((1.0 - v) * height as f64) as i32;
            area.draw(&Text::new(
                format!("{v:.1}"),
                (bx + 34, y),
                font(TICK, HPos::Left, VPos::Center),
            ))
            .map_err(err)?;
        }
        area.present().map_err(err)?;
        Ok(())
    }
}

/// Per-class recall as lines, head → tail, for the variants of `lines`.
struct RecallLines<'a>(&'a ComparisonFigures<'a>);

impl Figure for RecallLines<'_> {
    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let f = self.0;
        area.fill(&WHITE).map_err(err)?;
        let drawn: Vec<(&String, &Vec<f64>)> = f
            .lines
            .iter()
            .filter_map(|name| {
                f.recall
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(n, r)| (n, r))
            })
            .collect();
        let classes = f.recall.iter().map(|(_, r)| r.len()).max().unwrap_or(1);
        let order = head_to_tail(f.counts, classes);
        let colours: Vec<RGBColor> = (0..drawn.len())
            .map(|k| OKABE_ITO[k % OKABE_ITO.len()])
            .collect();
        let legend_height = 24 + 34 * drawn.len() as u32;
        let (legend, plot) = area.split_vertically(legend_height + 50);
        let (title, legend) = legend.split_vertically(50);
        title
            .draw(&Text::new(
                format!("test recall per {} (mean over seeds)", f.unit),
                (500, 25),
                font(TITLE, HPos::Center, VPos::Center),
            ))
            .map_err(err)?;
        let entries: Vec<(String, RGBColor)> = drawn
            .iter()
            .zip(&colours)
            .map(|((name, _), &c)| {
                let name = if **name == f.baseline {
                    format!("{name} (baseline)")
                } else {
                    (*name).clone()
                };
                (name, c)
            })
            .collect();
        legend_rows(&legend, &entries, true)?;
        let last = classes.max(2) as f64 - 1.0;
        let label = |x: &f64| -> String {
            if (x - x.round()).abs() > 1e-6 || *x < -0.1 {
                return String::new();
            }
            order
                .get(x.round() as usize)
                .map_or(String::new(), |c| c.to_string())
        };
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .margin_right(44)
            .x_label_area_size(70)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.3..last + 0.3, 0.0..1.02)
            .map_err(err)?;
        let first = order
            .first()
            .map_or(0, |&c| f.counts.get(c).copied().unwrap_or(0));
        let tail = order
            .last()
            .map_or(0, |&c| f.counts.get(c).copied().unwrap_or(0));
        chart
            .configure_mesh()
            .x_desc(format!(
                "{}, head → tail ({first} … {tail} training samples)",
                f.unit
            ))
            .y_desc("test recall")
            .x_labels(classes.min(20))
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(("sans-serif", TICK))
            .axis_desc_style(("sans-serif", AXIS))
            .light_line_style(WHITE)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(err)?;
        for ((_, recall), &colour) in drawn.iter().zip(&colours) {
            let points: Vec<(f64, f64)> = order
                .iter()
                .enumerate()
                .filter_map(|(x, &c)| recall.get(c).map(|&r| (x as f64, r)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(4)))
                .map_err(err)?;
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 7, colour.filled())),
                )
                .map_err(err)?;
        }
        area.present().map_err(err)?;
        Ok(())
    }
}

/// Many/medium/few-shot accuracy per variant as grouped horizontal bars with intervals.
struct ShotBars<'a>(&'a ComparisonFigures<'a>);

impl Figure for ShotBars<'_> {
    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let f = self.0;
        area.fill(&WHITE).map_err(err)?;
        let groups = f.shots.len();
        let (head, plot) = area.split_vertically(60 + 34 * groups as u32);
        let (title, legend) = head.split_vertically(50);
        title
            .draw(&Text::new(
                "accuracy by shot group",
                (500, 25),
                font(TITLE, HPos::Center, VPos::Center),
            ))
            .map_err(err)?;
        let entries: Vec<(String, RGBColor)> = f
            .shots
            .iter()
            .zip(SHOT_COLOURS.iter().cycle())
            .map(|((t, _), &c)| (t.clone(), c))
            .collect();
        legend_rows(&legend, &entries, false)?;
        let names: Vec<&str> = f.ranked.iter().map(|e| e.name.as_str()).collect();
        let n = names.len().max(1);
        let name_of = |y: &f64| -> String {
            let k = n as f64 - 1.0 - y;
            if (k - k.round()).abs() > 1e-6 || k < -0.5 {
                return String::new();
            }
            names.get(k.round() as usize).map_or(String::new(), |s| {
                if *s == f.baseline {
                    format!("{s} (baseline)")
                } else {
                    s.to_string()
                }
            })
        };
        let longest = (0..n)
            .map(|k| text_width(&name_of(&((n - 1 - k) as f64)), TICK))
            .max()
            .unwrap_or(100);
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .margin_right(44)
            .x_label_area_size(80)
            .y_label_area_size(longest + 24)
            .build_cartesian_2d(0.0..1.0, -0.5..(n as f64 - 0.5))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!("test accuracy of the group: mean, {}", f.interval))
            .x_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_labels(n)
            .y_label_formatter(&name_of)
            .label_style(("sans-serif", TICK))
            .axis_desc_style(("sans-serif", AXIS))
            .light_line_style(WHITE)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(err)?;
        let band = 0.84 / groups.max(1) as f64;
        for (g, ((_, estimates), &colour)) in
            f.shots.iter().zip(SHOT_COLOURS.iter().cycle()).enumerate()
        {
            // Variant k's bars from the top of its row down: many, medium, few.
            let rows: Vec<(f64, &Estimate)> = names
                .iter()
                .enumerate()
                .filter_map(|(k, name)| {
                    let e = estimates.iter().find(|e| e.name == *name)?;
                    let top = (n - 1 - k) as f64 + 0.42 - band * g as f64;
                    Some((top, e))
                })
                .collect();
            chart
                .draw_series(rows.iter().map(|&(top, e)| {
                    Rectangle::new([(0.0, top - band), (e.mean, top)], colour.filled())
                }))
                .map_err(err)?;
            chart
                .draw_series(rows.iter().map(|&(top, e)| {
                    ErrorBar::new_horizontal(
                        top - band / 2.0,
                        e.low.max(0.0),
                        e.mean,
                        e.high.min(1.0),
                        BLACK.stroke_width(2),
                        8,
                    )
                }))
                .map_err(err)?;
        }
        area.present().map_err(err)?;
        Ok(())
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
