//! The dot plot of the ranking metric per variant, with its intervals.

use super::*;

/// The dot plot of the ranking metric.
pub(super) struct DotPlot<'a>(pub(super) &'a ComparisonFigures<'a>);

impl Figure for DotPlot<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        let f = self.0;
        let ranked = f.ranked;
        let n = ranked.len().max(1);
        // Row k from the top sits at y = n − 1 − k.
        let name_of = |y: &f64| -> String {
            row_at(*y, n)
                .and_then(|k| ranked.get(k))
                .map_or(String::new(), |e| {
                    format!("{}  {:.3}", row_name(&e.name, f.baseline), e.mean)
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
        draw_mesh(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(format!("test {}: mean, {}", f.label, f.interval))
                .x_labels(6)
                .x_label_formatter(&tick(high - low))
                .y_labels(n)
                .y_label_formatter(&name_of),
        )?;
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
        Ok(())
    }
}
