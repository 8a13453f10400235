//! PNG charts drawn with plotters' bitmap backend and an embedded font
//! (DejaVu Sans, `fonts/LICENSE`), so no system fontconfig is needed.
//!
//! Every chart has a title, axis descriptions with units, a legend and tick
//! labels formatted for people (1.2k rps, 250 ms, $1,234).

use std::path::Path;
use std::sync::Once;

use anyhow::anyhow;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// A chart's plotting area, on a PNG.
type Plot<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

use crate::units::{fmt_count, fmt_money, fmt_ms};

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 480;
const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a failure here is a build defect.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// Colours that stay apart in print and for common colour blindness
/// (Okabe–Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
const RED: RGBColor = RGBColor(200, 30, 30);
const GREY: RGBColor = RGBColor(120, 120, 120);

/// One named line.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Points drawn as markers: (label, points, filled circle or cross).
pub type Markers = (String, Vec<(f64, f64)>, bool);

/// A shaded band: (label, points of (x, low, high)).
pub type Band = (String, Vec<(f64, f64, f64)>);

/// A shaded stretch of the x axis (a phase of a run): label, from, to.
pub type Span = (String, f64, f64);

/// A horizontal or vertical reference line with its label.
pub struct Mark {
    pub label: String,
    pub at: f64,
}

/// How to format an axis.
#[derive(Clone, Copy)]
pub enum Unit {
    Ms,
    Rps,
    Count,
    Money,
    Seconds,
    /// Days since the Unix epoch, shown as dates.
    Date,
    /// Days since the Unix epoch, shown as months.
    Month,
    /// log10(1/(1−q)), shown as percentiles.
    Percentile,
    /// A share (0.999), shown as a percentage (99.9 %).
    Share,
}

fn fmt(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms => fmt_ms(v),
        Unit::Rps => format!("{} rps", fmt_count(v)),
        Unit::Count => fmt_count(v),
        Unit::Money => fmt_money(v),
        Unit::Seconds => format!("{v:.0} s"),
        Unit::Date => chrono::DateTime::from_timestamp((v * 86_400.0) as i64, 0)
            .map_or(String::new(), |d| d.format("%Y-%m-%d").to_string()),
        Unit::Month => chrono::DateTime::from_timestamp((v * 86_400.0) as i64, 0)
            .map_or(String::new(), |d| d.format("%Y-%m").to_string()),
        Unit::Share => {
            let s = format!("{:.3}", 100.0 * v);
            format!("{} %", s.trim_end_matches('0').trim_end_matches('.'))
        }
        Unit::Percentile => {
            let q = 100.0 * (1.0 - 10f64.powf(-v));
            let digits = (v - 2.0).ceil().clamp(0.0, 4.0) as usize;
            format!("{q:.digits$} %")
        }
    }
}

/// A line chart: what every chart here is, plus optional extras.
pub struct Chart<'a> {
    pub file: String,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub lines: Vec<Line>,
    /// Points drawn as markers, not joined.
    pub markers: Vec<Markers>,
    /// Shaded bands.
    pub bands: Vec<Band>,
    pub h_marks: Vec<Mark>,
    pub v_marks: Vec<Mark>,
    /// Shaded stretches of the x axis, behind everything else.
    pub spans: Vec<Span>,
    /// Draw lines as steps (cost staircases).
    pub steps: bool,
    /// Lines come in pairs (a demand and its capacity): one colour per
    /// pair, the second dashed.
    pub paired: bool,
    /// Earlier lines drawn wider, so lines that coincide stay visible.
    pub layered: bool,
    /// The y axis spans the data (and marks), not 0 to the top: for
    /// shares near 1, or values that go below 0.
    pub y_from_data: bool,
}

impl<'a> Chart<'a> {
    pub fn new(file: String, title: &'a str, x: (&'a str, Unit), y: (&'a str, Unit)) -> Self {
        Chart {
            file,
            title,
            x_desc: x.0,
            y_desc: y.0,
            x_unit: x.1,
            y_unit: y.1,
            lines: Vec::new(),
            markers: Vec::new(),
            bands: Vec::new(),
            h_marks: Vec::new(),
            v_marks: Vec::new(),
            spans: Vec::new(),
            steps: false,
            paired: false,
            layered: false,
            y_from_data: false,
        }
    }

    fn ranges(&self) -> Option<((f64, f64), (f64, f64))> {
        let mut xs: Vec<f64> = Vec::new();
        let mut ys: Vec<f64> = Vec::new();
        for l in &self.lines {
            for &(x, y) in &l.points {
                xs.push(x);
                ys.push(y);
            }
        }
        for (_, pts, _) in &self.markers {
            for &(x, y) in pts {
                xs.push(x);
                ys.push(y);
            }
        }
        for (_, pts) in &self.bands {
            for &(x, lo, hi) in pts {
                xs.push(x);
                ys.push(lo);
                ys.push(hi);
            }
        }
        ys.extend(self.h_marks.iter().map(|m| m.at));
        xs.extend(self.v_marks.iter().map(|m| m.at));
        for (_, from, to) in &self.spans {
            xs.push(*from);
            xs.push(*to);
        }
        xs.retain(|v| v.is_finite());
        ys.retain(|v| v.is_finite());
        let lo_hi = |v: &[f64]| {
            v.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                })
        };
        if xs.is_empty() || ys.is_empty() {
            return None;
        }
        let (x0, mut x1) = lo_hi(&xs);
        let (ylo, y1) = lo_hi(&ys);
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if self.y_from_data {
            let pad = ((y1 - ylo) * 0.08).max(1e-6);
            return Some(((x0, x1), (ylo - pad, y1 + pad)));
        }
        let y1 = if y1 > 0.0 { y1 * 1.08 } else { 1.0 };
        Some(((x0, x1), (0.0, y1)))
    }

    /// Shaded spans and bands, then the lines (stepped, dashed in pairs or
    /// layered as asked).
    fn areas_and_lines(
        &self,
        chart: &mut Plot<'_, '_>,
        (y0, y1): (f64, f64),
    ) -> anyhow::Result<()> {
        for (i, (label, from, to)) in self.spans.iter().enumerate() {
            let c = [RED, PALETTE[1], PALETTE[2]][i % 3].mix(0.12);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(*from, y0), (*to, y1)],
                    c.filled(),
                )))
                .map_err(err)?
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled()));
        }
        for (i, (label, pts)) in self.bands.iter().enumerate() {
            let c = PALETTE[0].mix(0.15 + 0.12 * i as f64);
            let mut poly: Vec<(f64, f64)> = pts.iter().map(|&(x, _, hi)| (x, hi)).collect();
            poly.extend(pts.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, c.filled())))
                .map_err(err)?
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled()));
        }
        let n = self.lines.len();
        for (i, l) in self.lines.iter().enumerate() {
            let c = match self.paired {
                true => PALETTE[(i / 2) % PALETTE.len()],
                false => PALETTE[i % PALETTE.len()],
            };
            let width = match self.layered {
                true => (2 + 2 * (n - 1 - i) as u32).min(10),
                false => 2,
            };
            let style = c.stroke_width(width);
            let dashed = self.paired && i % 2 == 1;
            let pts: Vec<(f64, f64)> = if self.steps {
                let mut v = Vec::with_capacity(2 * l.points.len());
                for w in l.points.windows(2) {
                    v.push(w[0]);
                    v.push((w[1].0, w[0].1));
                }
                v.extend(l.points.last());
                v
            } else {
                l.points.clone()
            };
            let drawn = match dashed {
                true => chart.draw_series(DashedLineSeries::new(pts, 8, 5, style)),
                false => chart.draw_series(LineSeries::new(pts, style)),
            };
            drawn
                .map_err(err)?
                .label(l.label.as_str())
                .legend(move |(x, y)| match dashed {
                    true => PathElement::new(vec![(x, y), (x + 7, y)], c.stroke_width(2)),
                    false => PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)),
                });
        }
        Ok(())
    }

    /// Point markers, and horizontal and vertical marks across the plot.
    fn marks(
        &self,
        chart: &mut Plot<'_, '_>,
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
    ) -> anyhow::Result<()> {
        for (label, pts, filled) in &self.markers {
            let c = if *filled { PALETTE[2] } else { RED };
            if *filled {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.filled())))
                    .map_err(err)?
                    .label(label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
            } else {
                chart
                    .draw_series(pts.iter().map(|&p| Cross::new(p, 6, c.stroke_width(2))))
                    .map_err(err)?
                    .label(label.as_str())
                    .legend(move |(x, y)| Cross::new((x + 9, y), 6, c.stroke_width(2)));
            }
        }
        for m in &self.h_marks {
            chart
                .draw_series(LineSeries::new(
                    vec![(x0, m.at), (x1, m.at)],
                    RED.stroke_width(1),
                ))
                .map_err(err)?
                .label(m.label.as_str())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(1)));
        }
        for (i, m) in self.v_marks.iter().enumerate() {
            let c = if i == 0 { GREY } else { PALETTE[3] };
            chart
                .draw_series(LineSeries::new(
                    vec![(m.at, y0), (m.at, y1)],
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(m.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        Ok(())
    }

    /// Draws the chart into `dir/file` and returns the PNG bytes.
    pub fn draw(&self, dir: &Path) -> anyhow::Result<Vec<u8>> {
        register_font();
        let path = dir.join(&self.file);
        {
            let root = BitMapBackend::new(&path, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let Some(((x0, x1), (y0, y1))) = self.ranges() else {
                root.draw(&Text::new(
                    format!("{}: no data", self.title),
                    (20, 20),
                    (FONT, 20).into_font(),
                ))
                .map_err(err)?;
                root.present().map_err(err)?;
                return std::fs::read(&path).map_err(Into::into);
            };
            let mut chart = ChartBuilder::on(&root)
                .caption(self.title, (FONT, 22).into_font())
                .margin(12)
                .margin_right(40)
                .x_label_area_size(48)
                .y_label_area_size(84)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            let (xu, yu) = (self.x_unit, self.y_unit);
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .y_desc(self.y_desc)
                .x_labels(8)
                .y_labels(8)
                .x_label_formatter(&|v| fmt(xu, *v))
                .y_label_formatter(&|v| fmt(yu, *v))
                .label_style((FONT, 14).into_font())
                .axis_desc_style((FONT, 15).into_font())
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            self.areas_and_lines(&mut chart, (y0, y1))?;
            self.marks(&mut chart, (x0, x1), (y0, y1))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 14).into_font())
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .draw()
                .map_err(err)?;
            root.present().map_err(err)?;
        }
        std::fs::read(&path).map_err(Into::into)
    }
}

/// x for a quantile on a percentile-spectrum axis: log10(1/(1−q)).
pub fn spectrum_x(q: f64) -> f64 {
    -(1.0 - q).max(1e-6).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_read_like_people_write() {
        assert_eq!(fmt(Unit::Ms, 250.0), "250 ms");
        assert_eq!(fmt(Unit::Rps, 1200.0), "1200 rps");
        assert_eq!(fmt(Unit::Money, 1234.0), "$1,234");
        assert_eq!(fmt(Unit::Date, 20_454.0), "2026-01-01");
        assert_eq!(fmt(Unit::Percentile, spectrum_x(0.99)), "99 %");
        assert_eq!(fmt(Unit::Percentile, spectrum_x(0.999)), "99.9 %");
        assert_eq!(fmt(Unit::Percentile, 0.0), "0 %");
    }
}
