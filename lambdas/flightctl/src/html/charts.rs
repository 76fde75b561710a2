//! The report's three charts per SLO, drawn with `plotters` into SVG text
//! (inlined in the page): the error budget's burn-down with the alerts that
//! fired, the values over time against the threshold, and the distribution
//! of the values (a CDF) with the threshold and the objective's percentile.
//! Titles and legends are the page's (HTML text); the charts carry the axes.

use anyhow::{anyhow, Result};
use flight_core::catalog::{GoodWhen, Severity};
use flight_core::Millis;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis;
use super::view::SloView;

/// The size of each chart in SVG pixels (it scales with the page).
const SIZE: (u32, u32) = (440, 260);
/// Colours: good values, bad values, the threshold, the budget line and
/// CDF, the objective's percentile, alerts.
pub const GOOD: RGBColor = RGBColor(46, 125, 50);
pub const BAD: RGBColor = RGBColor(198, 40, 40);
pub const THRESHOLD: RGBColor = RGBColor(120, 40, 140);
pub const LINE: RGBColor = RGBColor(21, 101, 192);
pub const PERCENTILE: RGBColor = RGBColor(100, 170, 240);
pub const PAGE: RGBColor = RGBColor(229, 57, 53);
pub const TICKET: RGBColor = RGBColor(251, 140, 0);
const GRID: RGBColor = RGBColor(230, 230, 230);
const MUTED: RGBColor = RGBColor(120, 120, 120);

fn font() -> TextStyle<'static> {
    ("sans-serif", 14).into_font().color(&MUTED)
}

/// Draws into an SVG string with `draw`, which receives the whole area.
fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>) -> Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        draw(&root)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(text)
}

/// An axis with ticks of our choosing (round durations, UTC-aligned times);
/// its labels are formatted by the chart ([`axis`]).
struct Ticked<R: Ranged> {
    inner: R,
    ticks: Vec<R::ValueType>,
}

impl<R: Ranged> Ranged for Ticked<R>
where
    R::ValueType: Clone,
{
    type FormatOption = DefaultFormatting;
    type ValueType = R::ValueType;

    fn map(&self, value: &Self::ValueType, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<Self::ValueType> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<Self::ValueType> {
        self.inner.range()
    }
}

/// A time axis over `[since, until)` with round UTC ticks.
fn time_range(since: Millis, until: Millis) -> Ticked<RangedCoordi64> {
    Ticked {
        inner: (since..until.max(since + 1)).into(),
        ticks: axis::time_ticks(since, until),
    }
}

/// A value axis over `[lo, hi]` with round ticks in the unit.
fn value_range(lo: f64, hi: f64, unit: &str) -> Ticked<RangedCoordf64> {
    let hi = if hi > lo { hi } else { lo + 1.0 };
    Ticked {
        inner: (lo..hi).into(),
        ticks: axis::ticks(lo, hi, unit),
    }
}

/// Says "no data in the period" in the middle of an empty chart.
fn no_data(root: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let style = ("sans-serif", 14)
        .into_font()
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        "no data in the period",
        (SIZE.0 as i32 / 2, SIZE.1 as i32 / 2),
        style,
    ))
    .map_err(|e| anyhow!("{e}"))
}

/// Error budget left (%) over the period as a step line, each alert that
/// fired as a band from its firing to its clearing (page red, ticket orange).
pub fn burn_down(view: &SloView) -> Result<String> {
    let (since, until) = (view.status.since, view.status.until);
    svg(|root| {
        if view.burn_down.is_empty() {
            return no_data(root);
        }
        let lowest = view.burn_down.iter().map(|(_, l)| *l).fold(0.0, f64::min);
        let lo = if lowest < 0.0 {
            lowest * 1.1 - 5.0
        } else {
            0.0
        };
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(time_range(since, until), value_range(lo, 105.0, "Percent"))
            .map_err(|e| anyhow!("{e}"))?;
        let span = until - since;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(font())
            .x_label_formatter(&|t| axis::time(*t, span))
            .y_label_formatter(&|v| axis::percent(*v))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let bands = view.episodes.iter().map(|e| {
            let colour = if e.severity == Severity::Page {
                PAGE
            } else {
                TICKET
            };
            let end = e.cleared_at.unwrap_or(until - 1);
            Rectangle::new(
                [(e.fired_at, 105.0), (end.max(e.fired_at + 1), lo)],
                colour.mix(0.25).filled(),
            )
        });
        chart.draw_series(bands).map_err(|e| anyhow!("{e}"))?;
        let starts = view.episodes.iter().map(|e| {
            let colour = if e.severity == Severity::Page {
                PAGE
            } else {
                TICKET
            };
            PathElement::new(
                vec![(e.fired_at, 105.0), (e.fired_at, lo)],
                colour.stroke_width(2),
            )
        });
        chart.draw_series(starts).map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(LineSeries::new(
                [(since, 0.0), (until - 1, 0.0)],
                BLACK.mix(0.5),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        let mut steps = Vec::with_capacity(view.burn_down.len() * 2);
        for (i, &(at, left)) in view.burn_down.iter().enumerate() {
            if i > 0 {
                steps.push((at, view.burn_down[i - 1].1));
            }
            steps.push((at, left));
        }
        chart
            .draw_series(LineSeries::new(steps, LINE.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?;
        Ok(())
    })
}

/// The values over time (good green, bad red) and the threshold as a line.
pub fn values(view: &SloView) -> Result<String> {
    let (since, until) = (view.status.since, view.status.until);
    let threshold = view.status.slo.threshold;
    svg(|root| {
        let top = view
            .points
            .iter()
            .map(|p| p.value)
            .fold(threshold, f64::max);
        let bottom = view.points.iter().map(|p| p.value).fold(0.0, f64::min);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(
                time_range(since, until),
                value_range(bottom, top * 1.15, &view.unit),
            )
            .map_err(|e| anyhow!("{e}"))?;
        let span = until - since;
        let unit = view.unit.as_str();
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(font())
            .x_label_formatter(&|t| axis::time(*t, span))
            .y_label_formatter(&|v| axis::value(*v, unit))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(LineSeries::new(
                [(since, threshold), (until - 1, threshold)],
                THRESHOLD.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        // Smaller dots when there are many, so that the bad ones stand out.
        let radius = if view.points.len() > 200 { 2 } else { 4 };
        // Good first, bad over them.
        let ordered = view
            .points
            .iter()
            .filter(|p| p.good)
            .chain(view.points.iter().filter(|p| !p.good));
        let dots = ordered.map(|p| {
            let colour = if p.good { GOOD } else { BAD };
            Circle::new((p.at, p.value), radius, colour.filled())
        });
        chart.draw_series(dots).map_err(|e| anyhow!("{e}"))?;
        if view.points.is_empty() {
            no_data(root)?;
        }
        Ok(())
    })
}

/// The share of values at most each value (a CDF), with the threshold, the
/// objective's percentile and the objective's level marked.
pub fn distribution(view: &SloView) -> Result<String> {
    let slo = &view.status.slo;
    svg(|root| {
        if view.points.is_empty() {
            return no_data(root);
        }
        let mut values: Vec<f64> = view.points.iter().map(|p| p.value).collect();
        values.sort_by(f64::total_cmp);
        let lo = values[0].min(slo.threshold).min(0.0);
        let hi = values[values.len() - 1].max(slo.threshold) * 1.15;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(
                value_range(lo, hi, &view.unit),
                value_range(0.0, 105.0, "Percent"),
            )
            .map_err(|e| anyhow!("{e}"))?;
        let unit = view.unit.as_str();
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(font())
            .x_label_formatter(&|v| axis::value(*v, unit))
            .y_label_formatter(&|v| axis::percent(*v))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let level = match slo.good_when {
            GoodWhen::AtMost => slo.objective,
            GoodWhen::AtLeast => 100.0 - slo.objective,
        };
        chart
            .draw_series(LineSeries::new(
                [(lo, level), (hi, level)],
                MUTED.stroke_width(1),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(LineSeries::new(
                [(slo.threshold, 0.0), (slo.threshold, 105.0)],
                THRESHOLD.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        if let Some(p) = view.percentile {
            chart
                .draw_series(LineSeries::new(
                    [(p, 0.0), (p, 105.0)],
                    PERCENTILE.stroke_width(2),
                ))
                .map_err(|e| anyhow!("{e}"))?;
        }
        let n = values.len() as f64;
        let mut steps = vec![(lo, 0.0)];
        for (i, v) in values.iter().enumerate() {
            steps.push((*v, i as f64 * 100.0 / n));
            steps.push((*v, (i + 1) as f64 * 100.0 / n));
        }
        steps.push((hi, 100.0));
        chart
            .draw_series(LineSeries::new(steps, LINE.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?;
        let dots = view.points.iter().map(|p| {
            let rank = values.partition_point(|v| *v <= p.value) as f64 * 100.0 / n;
            Circle::new((p.value, rank), 3, if p.good { GOOD } else { BAD }.filled())
        });
        chart.draw_series(dots).map_err(|e| anyhow!("{e}"))?;
        Ok(())
    })
}
