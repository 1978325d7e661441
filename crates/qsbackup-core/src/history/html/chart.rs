//! The history chart, drawn by the `plotters` crate into an SVG string: stored assets per type,
//! failed and skipped counts over time, bytes on a second axis, and one circle per snapshot
//! (coloured by its status) on the stored total. The legend is HTML beside it.

use crate::history::report::SnapshotPoint;
use crate::repository::manifest::SnapshotStatus;
use chrono::DateTime;
use plotters::prelude::*;
use serde::Serialize;
use std::collections::BTreeSet;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 340;

const STORED: RGBColor = RGBColor(0x22, 0x22, 0x22);
const FAILED: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const SKIPPED: RGBColor = RGBColor(0xe0, 0x8a, 0x00);
const BYTES: RGBColor = RGBColor(0x90, 0x90, 0x90);
pub const COMPLETE: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub const PARTIAL: RGBColor = RGBColor(0xef, 0x6c, 0x00);

/// The drawing and what its lines mean.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub svg: String,
    pub legend: Vec<LegendItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub label: String,
    /// `#rrggbb`.
    pub color: String,
    /// The bytes line is dashed, on the right-hand axis.
    pub dashed: bool,
}

/// A line of the chart: its label, colour and value per snapshot.
type Series = (&'static str, RGBColor, fn(&SnapshotPoint) -> usize);

fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn failed(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Render {
        what: "the history chart".into(),
        message: e.to_string(),
    }
}

/// The chart of `snapshots` (oldest first); `None` when there are none.
pub fn draw(snapshots: &[SnapshotPoint]) -> crate::Result<Option<Chart>> {
    let (Some(first), Some(last)) = (snapshots.first(), snapshots.last()) else {
        return Ok(None);
    };
    let t0 = first.started_at.timestamp();
    let t1 = last.started_at.timestamp();
    // A lone snapshot (or several in one second) still needs a width of time to sit in.
    let pad = ((t1 - t0) / 30).max(1800);
    let x_range = (t0 - pad)..(t1 + pad);
    let long_span = t1 - t0 > 60 * 86_400;
    let x_label = move |t: &i64| {
        DateTime::from_timestamp(*t, 0)
            .map(|d| d.format(if long_span { "%Y-%m-%d" } else { "%m-%d %H:%M" }).to_string())
            .unwrap_or_default()
    };
    let y_max = snapshots
        .iter()
        .map(|s| s.stored.max(s.failed).max(s.skipped))
        .max()
        .unwrap_or(0) as i64;
    let y_range = 0..(y_max + y_max / 10 + 1);
    let b_max = snapshots.iter().map(|s| s.bytes).max().unwrap_or(0) as f64;
    let b_range = 0f64..(b_max * 1.1).max(1.0);
    let types: BTreeSet<&str> = snapshots
        .iter()
        .flat_map(|s| s.assets_by_type.keys().map(String::as_str))
        .collect();

    let mut svg = String::new();
    let mut legend = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), y_range)
            .map_err(failed)?
            .set_secondary_coord(x_range, b_range);
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_labels(6)
            .x_label_formatter(&x_label)
            .y_desc("assets")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        chart
            .configure_secondary_axes()
            .y_desc("bytes")
            .y_label_formatter(&|b| crate::units::human_bytes(*b as u64))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;

        let at = |s: &SnapshotPoint| s.started_at.timestamp();
        for (i, t) in types.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let rgb = RGBColor(color.0, color.1, color.2);
            let points = snapshots
                .iter()
                .map(|s| (at(s), s.assets_by_type.get(*t).copied().unwrap_or(0) as i64));
            chart
                .draw_series(LineSeries::new(points, rgb.stroke_width(1)))
                .map_err(failed)?;
            legend.push(LegendItem {
                label: (*t).to_string(),
                color: css(rgb),
                dashed: false,
            });
        }
        let series: [Series; 3] = [
            ("failed", FAILED, |s| s.failed),
            ("skipped", SKIPPED, |s| s.skipped),
            ("stored (all types)", STORED, |s| s.stored),
        ];
        for (label, color, value) in series {
            let points = snapshots.iter().map(|s| (at(s), value(s) as i64));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(failed)?;
            legend.push(LegendItem {
                label: label.into(),
                color: css(color),
                dashed: false,
            });
        }
        chart
            .draw_secondary_series(DashedLineSeries::new(
                snapshots.iter().map(|s| (at(s), s.bytes as f64)),
                6,
                4,
                BYTES.stroke_width(1),
            ))
            .map_err(failed)?;
        legend.push(LegendItem {
            label: "bytes (right axis)".into(),
            color: css(BYTES),
            dashed: true,
        });
        // The one series of circles: a point per snapshot, on the stored total.
        chart
            .draw_series(snapshots.iter().map(|s| {
                let color = match s.status {
                    SnapshotStatus::Complete => COMPLETE,
                    SnapshotStatus::Partial => PARTIAL,
                };
                Circle::new((at(s), s.stored as i64), 4, color.filled())
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(Some(Chart { svg, legend }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::html::tests::snapshot;

    #[test]
    fn one_circle_per_snapshot() {
        let snaps: Vec<_> = (0..7).map(|i| snapshot(i, 100 + i, i % 3 == 0)).collect();
        let chart = draw(&snaps).unwrap().expect("a chart");
        assert_eq!(chart.svg.matches("<circle").count(), 7);
        assert!(chart.svg.starts_with("<svg"));
        assert!(chart.legend.iter().any(|l| l.label == "dashboard"));
        let lone = draw(&snaps[..1]).unwrap().expect("a chart");
        assert_eq!(lone.svg.matches("<circle").count(), 1);
        assert!(draw(&[]).unwrap().is_none());
    }
}
