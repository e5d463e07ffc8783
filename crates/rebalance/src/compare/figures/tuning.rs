//! `tuning`: a tuned comparison's validation scores against each tuned key, one panel per
//! tuned variant.

use super::*;
use crate::compare::tune::{Tuned, name_of};

/// One panel per tuned variant: the validation score (mean over seeds, a line per setting of
/// the other keys; each seed's score a small dot) against the values of the grid's first key.
pub struct TuningPanels<'a> {
    /// Each tuned variant's name and what its tuning chose.
    pub variants: &'a [(String, &'a Tuned)],
    /// The ranking metric's label: what the validation score is.
    pub label: &'a str,
}

/// The panels' columns: two from two variants on.
fn columns(n: usize) -> usize {
    n.clamp(1, 2)
}

/// The figure's size for `n` panels.
pub fn size(n: usize) -> (u32, u32) {
    let rows = n.div_ceil(columns(n)).max(1) as u32;
    (1000, 60 + 440 * rows)
}

/// Writes `tuning.svg` and `tuning.png` into `dir` (nothing without a tuned variant).
///
/// # Errors
/// A file cannot be written.
pub fn write(dir: &Path, panels: &TuningPanels) -> anyhow::Result<()> {
    if panels.variants.is_empty() {
        return Ok(());
    }
    save(dir, "tuning", size(panels.variants.len()), panels)
}

impl Figure for TuningPanels<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        let (title, body) = area.split_vertically(60);
        draw_title(
            &title,
            &format!("validation {} of each grid point", self.label),
        )?;
        let n = self.variants.len();
        let cols = columns(n);
        let panels = body.split_evenly((n.div_ceil(cols), cols));
        for ((name, tuned), panel) in self.variants.iter().zip(panels) {
            draw_panel(&panel, name, tuned, self.label)?;
        }
        Ok(())
    }
}

/// The height of a legend row, in pixels, at the legend's font ([`CELL`]).
const LEGEND_ROW: f64 = CELL as f64 + 6.0;

/// One variant's panel.
fn draw_panel<DB: DrawingBackend<ErrorType: 'static>>(
    area: &Area<DB>,
    name: &str,
    tuned: &Tuned,
    label: &str,
) -> anyhow::Result<()> {
    let Some(first) = tuned.grid.keys.first() else {
        return Ok(());
    };
    // Point k sits at x = k / inner (the first key's value index) on line k % inner (the
    // setting of the other keys), as `Grid::points` orders them.
    let inner = tuned.points.len() / first.values.len().max(1);
    let scores: Vec<f64> = tuned
        .chosen
        .iter()
        .flat_map(|c| c.validation.iter().copied())
        .filter(|s| s.is_finite())
        .collect();
    let low = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let high = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if low.is_finite() && high.is_finite() {
        let pad = ((high - low) * 0.1).max(0.01);
        (low - pad, high + pad)
    } else {
        (0.0, 1.0)
    };
    // With a legend, room above the points for it, so that it covers none: its rows' share
    // of the plot's height (the panel less its caption, margins and x labels).
    let high = if inner > 1 {
        let plot = f64::from(area.dim_in_pixel().1).max(200.0) - (AXIS as f64 + 28.0 + 60.0);
        let share = ((LEGEND_ROW * inner as f64 + 16.0) / plot.max(1.0)).min(0.6);
        high + (high - low) * share / (1.0 - share)
    } else {
        high
    };
    let last = first.values.len().max(2) as f64 - 1.0;
    let values: Vec<String> = first.values.iter().map(name_of).collect();
    let tick_of = |x: &f64| -> String {
        if (x - x.round()).abs() > 1e-6 || *x < -0.1 {
            return String::new();
        }
        values.get(x.round() as usize).cloned().unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", AXIS))
        .margin(14)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.3..last + 0.3, low..high)
        .map_err(err)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc(first.key.as_str())
            .y_desc(label)
            .x_labels(values.len().max(2))
            .x_label_formatter(&tick_of)
            .y_labels(5)
            .y_label_formatter(&tick(high - low)),
    )?;
    for line in 0..inner.max(1) {
        let colour = OKABE_ITO[line % OKABE_ITO.len()];
        let at = |x: usize| x * inner + line;
        let mean: Vec<(f64, f64)> = (0..first.values.len())
            .filter_map(|x| {
                let seeds: Vec<f64> = tuned
                    .chosen
                    .iter()
                    .filter_map(|c| c.validation.get(at(x)).copied())
                    .filter(|s| s.is_finite())
                    .collect();
                (!seeds.is_empty())
                    .then(|| (x as f64, seeds.iter().sum::<f64>() / seeds.len() as f64))
            })
            .collect();
        let legend = setting(tuned, line, inner);
        let series = chart
            .draw_series(LineSeries::new(mean.clone(), colour.stroke_width(3)))
            .map_err(err)?;
        if !legend.is_empty() {
            series.label(legend).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
            });
        }
        chart
            .draw_series(mean.iter().map(|&p| Circle::new(p, 6, colour.filled())))
            .map_err(err)?;
        let dots: Vec<(f64, f64)> = tuned
            .chosen
            .iter()
            .flat_map(|c| {
                (0..first.values.len())
                    .filter_map(|x| c.validation.get(at(x)).map(|&s| (x as f64, s)))
                    .collect::<Vec<_>>()
            })
            .filter(|(_, s)| s.is_finite())
            .collect();
        chart
            .draw_series(dots.into_iter().map(|p| Circle::new(p, 3, colour.mix(0.5))))
            .map_err(err)?;
    }
    if inner > 1 {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", CELL))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// The setting of the keys after the first on line `line` of `inner`: `tau=0.5`.
fn setting(tuned: &Tuned, line: usize, inner: usize) -> String {
    let mut rest = line;
    let mut parts: Vec<String> = Vec::new();
    let mut stride = inner;
    for key in tuned.grid.keys.iter().skip(1) {
        stride /= key.values.len().max(1);
        let k = rest / stride.max(1);
        rest %= stride.max(1);
        if let Some(v) = key.values.get(k) {
            parts.push(format!("{}={}", key.key, name_of(v)));
        }
    }
    parts.join(", ")
}
