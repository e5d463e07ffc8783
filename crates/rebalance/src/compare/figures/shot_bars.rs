//! Many-, medium- and few-shot accuracy per variant as grouped bars.

use super::*;

/// Many/medium/few-shot accuracy per variant as grouped horizontal bars with intervals.
pub(super) struct ShotBars<'a>(pub(super) &'a ComparisonFigures<'a>);

impl Figure for ShotBars<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        let f = self.0;
        let groups = f.shots.len();
        let (head, plot) = area.split_vertically(60 + 34 * groups as u32);
        let (title, legend) = head.split_vertically(50);
        draw_title(&title, "accuracy by shot group")?;
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
            row_at(*y, n)
                .and_then(|k| names.get(k))
                .map_or(String::new(), |name| row_name(name, f.baseline))
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
        draw_mesh(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(format!("test accuracy of the group: mean, {}", f.interval))
                .x_labels(6)
                .x_label_formatter(&|v| format!("{v:.1}"))
                .y_labels(n)
                .y_label_formatter(&name_of),
        )?;
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
        Ok(())
    }
}
