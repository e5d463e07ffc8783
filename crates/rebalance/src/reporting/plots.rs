//! Plots, as SVG and PNG: a run's per-class recall (per-label AP and F1, multi-label) against
//! training frequency, its training curves and its reliability diagram; a comparison's figures (`crate::compare`, which calls
//! `save`).

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::reporting::calibration::CalibrationScores;

/// DejaVu Sans (Bitstream Vera license, `assets/DejaVuSans-LICENSE.txt`), embedded so PNG text
/// renders the same on every machine.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped with the crate.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One point per class and series: its training count (log scale) and its value; the classes'
/// indices beside the first series' points, a legend where there are several series.
fn draw_by_frequency<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    figure: &FrequencyFigure,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let counts = figure.counts;
    let max = counts.iter().copied().max().unwrap_or(1).max(2) as f64;
    let min = counts.iter().copied().filter(|&n| n > 0).min().unwrap_or(1) as f64;
    let mut chart = ChartBuilder::on(&area)
        .caption(figure.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((min / 1.5..max * 1.5).log_scale(), 0.0..1.02)
        .map_err(|e| anyhow!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc(figure.x_desc)
        .y_desc(figure.y_desc)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))?;
    for (k, &(name, values)) in figure.series.iter().enumerate() {
        let colour = [BLUE, RED, GREEN][k % 3];
        let points: Vec<(f64, f64)> = counts
            .iter()
            .zip(values)
            .map(|(&n, &v)| (n.max(1) as f64, v))
            .collect();
        let mut line = points.clone();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line, colour.mix(0.5)))
            .map_err(|e| anyhow!("{e:?}"))?;
        let labelled = k == 0;
        chart
            .draw_series(points.iter().enumerate().map(|(c, &(x, y))| {
                let text = if labelled {
                    format!("{c}")
                } else {
                    String::new()
                };
                EmptyElement::at((x, y))
                    + Circle::new((0, 0), 4, colour.filled())
                    + Text::new(text, (6, -14), ("sans-serif", 12))
            }))
            .map_err(|e| anyhow!("{e:?}"))?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
    }
    if figure.series.len() > 1 {
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    }
    Ok(())
}

/// Training loss and the validation score (`valid_label`) per epoch.
fn draw_curves<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    loss: &[f64],
    valid: &[f64],
    valid_label: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
    let epochs = loss.len().max(valid.len()).max(2) as f64;
    for (area, values, title, colour) in [
        (left, loss, "training loss", RED),
        (right, valid, valid_label, BLUE),
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
    Ok(())
}

/// A whole figure's drawing area on a plotters backend.
pub(crate) type Area<DB> = DrawingArea<DB, Shift>;

/// A figure that draws on any plotters backend, so it can be saved as SVG and as PNG. Its
/// area comes filled white, and is presented after drawing ([`save`]).
pub(crate) trait Figure {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()>;
}

/// The chart's series labels at `position`, on a translucent white box.
fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))
}

/// Draws `figure` on a white `area` and presents it (writes the file).
fn render<DB: DrawingBackend>(
    figure: &impl Figure,
    area: DrawingArea<DB, Shift>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    figure.draw(area.clone())?;
    area.present().map_err(|e| anyhow!("{e:?}"))?;
    Ok(())
}

/// Saves `figure` as `dir/stem.svg` and `dir/stem.png`, each through a temporary name that is
/// removed if drawing or renaming fails.
///
/// # Errors
/// A file cannot be written, naming it (and saying so where the disk is full).
pub(crate) fn save(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    figure: &impl Figure,
) -> anyhow::Result<()> {
    register_font();
    for ext in ["svg", "png"] {
        // The backends pick the image format from the extension, so it stays last.
        let partial = dir.join(format!("{stem}.partial.{ext}"));
        let path = dir.join(format!("{stem}.{ext}"));
        let drawn = if ext == "svg" {
            render(figure, SVGBackend::new(&partial, size).into_drawing_area())
        } else {
            render(
                figure,
                BitMapBackend::new(&partial, size).into_drawing_area(),
            )
        };
        let saved = drawn.and_then(|()| Ok(std::fs::rename(&partial, &path)?));
        if let Err(error) = saved {
            let _ = std::fs::remove_file(&partial);
            return Err(plot_error(&path, &error));
        }
    }
    Ok(())
}

/// A failed plot as one line naming its file: plotters reports I/O failures as nested
/// `Debug` text (`BackendError(DrawingError(ImageError(IoError(…))))`).
fn plot_error(path: &Path, error: &anyhow::Error) -> anyhow::Error {
    let text = format!("{error:?}");
    let reason = if text.contains("StorageFull") || text.contains("No space left") {
        "no space left on device".to_string()
    } else if let Some(io) = error.downcast_ref::<std::io::Error>() {
        io.to_string()
    } else if text.contains("PermissionDenied") {
        "permission denied".to_string()
    } else {
        error.to_string()
    };
    anyhow!("cannot write {}: {reason}", path.display())
}

/// Per-class (or per-label) values against the training frequency.
/// A run's scores of each class (label) against its training samples (positives), head →
/// tail on a log scale: [`write_plots`]' first figure.
pub struct FrequencyFigure<'a> {
    /// The file's name, without extension (`per_class_recall`).
    pub name: &'a str,
    /// Each class's training samples (a label's positives).
    pub counts: &'a [usize],
    /// `(legend, one value per class)`.
    pub series: Vec<(&'a str, &'a [f64])>,
    /// The x axis' description.
    pub x_desc: &'a str,
    /// The y axis' description.
    pub y_desc: &'a str,
    /// The title.
    pub title: &'a str,
}

impl Figure for FrequencyFigure<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        draw_by_frequency(area, self)
    }
}

/// A run's training curves: [`write_plots`]' second figure, `training_curves`.
pub struct CurvesFigure {
    /// The training loss of each epoch.
    pub loss: Vec<f64>,
    /// The validation score of each epoch.
    pub valid: Vec<f64>,
    /// The validation score's name.
    pub valid_label: &'static str,
}

impl Figure for CurvesFigure {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        draw_curves(area, &self.loss, &self.valid, self.valid_label)
    }
}

/// A reliability diagram (Guo et al., 2017): the accuracy of each confidence bin as a bar,
/// against the diagonal of perfect calibration; the gap to it shaded.
fn draw_reliability<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    calibration: &CalibrationScores,
    title: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let caption = format!("{title} (ECE {:.3})", calibration.ece);
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(|e| anyhow!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc("confidence (top-label probability)")
        .y_desc("accuracy")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))?;
    let width = 1.0 / calibration.reliability.len().max(1) as f64;
    let filled = calibration
        .reliability
        .iter()
        .enumerate()
        .filter(|(_, bin)| bin.count > 0);
    chart
        .draw_series(filled.clone().map(|(m, bin)| {
            let left = m as f64 * width;
            Rectangle::new(
                [(left, 0.0), (left + width, bin.accuracy)],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(|e| anyhow!("{e:?}"))?
        .label("accuracy of the bin")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BLUE.mix(0.7).filled()));
    chart
        .draw_series(filled.map(|(m, bin)| {
            let left = m as f64 * width;
            let (low, high) = if bin.accuracy < bin.confidence {
                (bin.accuracy, bin.confidence)
            } else {
                (bin.confidence, bin.accuracy)
            };
            Rectangle::new([(left, low), (left + width, high)], RED.mix(0.3).filled())
        }))
        .map_err(|e| anyhow!("{e:?}"))?
        .label("gap to the mean confidence")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], RED.mix(0.3).filled()));
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.6).stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e:?}"))?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

struct ReliabilityFigure<'a> {
    calibration: &'a CalibrationScores,
    title: &'a str,
}

impl Figure for ReliabilityFigure<'_> {
    fn draw<DB: DrawingBackend<ErrorType: 'static>>(&self, area: Area<DB>) -> anyhow::Result<()> {
        draw_reliability(area, self.calibration, self.title)
    }
}

/// Writes the reliability diagram `reliability.{svg,png}` into `dir`.
///
/// # Errors
/// A file cannot be written.
pub fn write_reliability(
    dir: &Path,
    calibration: &CalibrationScores,
    title: &str,
) -> anyhow::Result<()> {
    save(
        dir,
        "reliability",
        (600, 600),
        &ReliabilityFigure { calibration, title },
    )
}

/// Writes a run's `frequency` figure (`per_class_recall`, `per_label`) and its
/// `training_curves` into `dir`, each as `.svg` and `.png`.
///
/// # Errors
/// A file cannot be written.
pub fn write_plots(
    dir: &Path,
    frequency: &FrequencyFigure,
    curves: &CurvesFigure,
) -> anyhow::Result<()> {
    save(dir, frequency.name, (800, 500), frequency)?;
    save(dir, "training_curves", (1000, 400), curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plots_into(dir: &Path) -> anyhow::Result<()> {
        write_plots(
            dir,
            &FrequencyFigure {
                name: "per_class_recall",
                counts: &[10, 5, 1],
                series: vec![("test recall", &[0.9, 0.5, 0.1])],
                x_desc: "training samples of the class (log scale)",
                y_desc: "test recall",
                title: "t",
            },
            &CurvesFigure {
                loss: vec![1.0, 0.5],
                valid: vec![0.3, 0.6],
                valid_label: "validation balanced accuracy",
            },
        )
    }

    /// Every file in `dir`.
    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failed_plot_names_its_file_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // The PNG cannot take its name: a folder holds it.
        std::fs::create_dir(dir.path().join("per_class_recall.png")).unwrap();
        let err = plots_into(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot write "), "{err}");
        assert!(err.contains("per_class_recall.png"), "{err}");
        assert!(!err.contains("BackendError"), "{err}");
        assert_eq!(
            files(dir.path()),
            ["per_class_recall.png", "per_class_recall.svg"]
        );

        // A folder that is a file: the first figure's name, no panic.
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let err = plots_into(&file).unwrap_err().to_string();
        assert!(err.contains("a-file/per_class_recall.svg"), "{err}");

        let ok = tempfile::tempdir().unwrap();
        plots_into(ok.path()).unwrap();
        assert_eq!(
            files(ok.path()),
            [
                "per_class_recall.png",
                "per_class_recall.svg",
                "training_curves.png",
                "training_curves.svg"
            ]
        );
    }

    #[test]
    fn a_full_disk_is_said_in_words() {
        let full = anyhow!(
            "BackendError(DrawingError(ImageError(IoError(Os {{ code: 28, kind: StorageFull, \
             message: \"No space left on device\" }}))))"
        );
        assert_eq!(
            plot_error(Path::new("run/per_class_recall.png"), &full).to_string(),
            "cannot write run/per_class_recall.png: no space left on device"
        );
    }
}
