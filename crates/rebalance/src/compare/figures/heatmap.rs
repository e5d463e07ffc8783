//! The heatmap of the mean test recall, variant × class, head → tail.

use super::*;

/// The heatmap of per-class recall, laid out in pixels.
pub(super) struct Heatmap<'a> {
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

    pub(super) fn of(f: &'a ComparisonFigures<'a>) -> Self {
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

    pub(super) fn size(&self) -> (u32, u32) {
        let columns = self.order.len().max(1) as u32;
        let rows = self.f.recall.len().max(1) as u32;
        let width = (self.left + columns * self.cell.0 + Self::BAR).max(700);
        (width, Self::TOP + rows * self.cell.1 + Self::BOTTOM)
    }
}

impl Figure for Heatmap<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        let f = self.f;
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
        Ok(())
    }
}
