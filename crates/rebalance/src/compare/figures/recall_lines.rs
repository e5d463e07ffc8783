//! The recall lines of the variants chosen with `--plot-variants`.

use super::*;

/// Per-class recall as lines, head → tail, for the variants of `lines`.
pub(super) struct RecallLines<'a>(pub(super) &'a ComparisonFigures<'a>);

impl Figure for RecallLines<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        let f = self.0;
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
        draw_title(
            &title,
            &format!("test recall per {} (mean over seeds)", f.unit),
        )?;
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
        draw_mesh(
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
                .y_label_formatter(&|v| format!("{v:.1}")),
        )?;
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
        Ok(())
    }
}
