//! The report as one self-contained HTML page: inline CSS and inline SVG,
//! nothing fetched when it is opened (no script, font or image from
//! anywhere). First every SLO's status at a glance, then a section per SLO:
//! its summary row, its burn rates and its three charts, and the alerts
//! that fired.
//!
//! Each number is printed for people and carries its exact value in
//! `data-field` / `data-value` attributes, named as in `report --json`
//! (`attainment_percent`, `error_budget.left_percent`, ...), so a test can
//! check the page against the JSON.

use std::fmt::Write as _;

use anyhow::Result;
use flight_core::catalog::GoodWhen;
use flight_core::duration::duration_text;
use flight_core::envelope::format_time;

use super::view::{Report, SloView};
use super::{axis, charts};

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1400px;margin:0 auto;padding:16px 24px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.2rem;margin:0 0 .4em}
p.meta{color:#666;margin:.2em 0 1em}
section{background:#fff;border:1px solid #e3e5e8;border-radius:8px;padding:14px 18px;margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:4px 8px;text-align:left;border-bottom:1px solid #eee;white-space:nowrap}
th{color:#555;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;font-weight:600;color:#fff;vertical-align:middle}
.num.alarm{color:#c62828;font-weight:700}
.met{background:#2e7d32}.breached{background:#c62828}.no-data{background:#9e9e9e}.firing{background:#e53935}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px;margin-top:10px}
figure{margin:0}figcaption{font-weight:600;font-size:.9rem;margin-bottom:2px}
figure svg{width:100%;height:auto;display:block}
.key{font-size:.8rem;color:#555}.key span{margin-right:10px;white-space:nowrap}
.key i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;vertical-align:-1px}
.desc{color:#555;margin:0 0 .5em}
.scroll{overflow-x:auto}
";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn colour(c: plotters::style::RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// A key entry: a coloured dot and its meaning.
fn key(c: plotters::style::RGBColor, text: &str) -> String {
    format!(
        "<span><i style=\"background:{}\"></i>{}</span>",
        colour(c),
        escape(text)
    )
}

/// A table cell with a number for people and its exact value for tests.
fn cell(field: &str, value: Option<f64>, text: &str) -> String {
    let exact = value.map_or_else(|| "null".to_string(), |v| v.to_string());
    format!(
        "<td class=\"num\" data-field=\"{field}\" data-value=\"{exact}\">{}</td>",
        escape(text)
    )
}

/// Attainment as the table prints it: `95.00%`, or `-` without data.
fn attainment_text(view: &SloView) -> String {
    view.status
        .attainment()
        .map_or_else(|| "-".into(), |a| format!("{a:.2}%"))
}

/// Budget left as the table prints it: `54.5%`, `exhausted`, or `-`.
fn budget_text(view: &SloView) -> String {
    match view.status.budget_left_percent() {
        _ if view.status.values == 0 => "-".into(),
        Some(p) => format!("{p:.1}%"),
        None => "exhausted".into(),
    }
}

fn objective_text(view: &SloView) -> String {
    let side = match view.status.slo.good_when {
        GoodWhen::AtMost => "≤",
        GoodWhen::AtLeast => "≥",
    };
    format!(
        "{}% {side} {}",
        view.status.slo.objective,
        axis::value(view.status.slo.threshold, &view.unit)
    )
}

fn badge(view: &SloView) -> String {
    let verdict = view.status.verdict().as_str();
    let mut out = format!(
        "<span class=\"badge {}\" data-field=\"status\" data-value=\"{verdict}\">{verdict}</span>",
        verdict.replace(' ', "-")
    );
    for alarm in &view.firing {
        let _ = write!(
            out,
            " <span class=\"badge firing\" data-firing=\"{}\">{} firing</span>",
            escape(&alarm.name),
            alarm.severity.as_str()
        );
    }
    out
}

/// The severities in ALARM at the instant: `page, ticket`, or `-`.
fn firing_text(view: &SloView) -> String {
    let firing: Vec<&str> = view.firing.iter().map(|c| c.severity.as_str()).collect();
    if firing.is_empty() {
        "-".into()
    } else {
        firing.join(", ")
    }
}

fn anchor(view: &SloView) -> String {
    format!("slo-{}", escape(&view.status.slo.name))
}

/// The first section: one row per SLO.
fn overview(report: &Report) -> String {
    let mut out = String::from(
        "<section id=\"overview\"><h2>At a glance</h2><div class=\"scroll\"><table>\
<tr><th>SLO</th><th>Status</th><th>Objective</th><th>Period</th><th>Values</th><th>Bad</th>\
<th>Attainment</th><th>Budget left</th><th>Alerts fired</th><th>Firing now</th></tr>",
    );
    for view in &report.slos {
        let s = &view.status;
        let _ = write!(
            out,
            "<tr data-slo=\"{name}\"><td><a href=\"#{anchor}\">{name}</a></td><td>{badge}</td><td>{objective}</td>\
<td>{period}</td>{values}{bad}{attainment}{left}<td class=\"num\">{alerts}</td><td>{firing}</td></tr>",
            name = escape(&s.slo.name),
            anchor = anchor(view),
            badge = badge(view),
            objective = escape(&objective_text(view)),
            period = axis::duration((s.until - s.since) as f64 / 1000.0),
            values = cell("values", Some(s.values as f64), &s.values.to_string()),
            bad = cell("bad", Some(s.bad() as f64), &s.bad().to_string()),
            attainment = cell("attainment_percent", s.attainment(), &attainment_text(view)),
            left = cell("error_budget.left_percent", s.budget_left_percent(), &budget_text(view)),
            alerts = view.episodes.len(),
            firing = firing_text(view),
        );
    }
    out.push_str("</table></div></section>");
    out
}

/// The summary row of one SLO.
fn summary(view: &SloView) -> String {
    let s = &view.status;
    let mut head = String::from(
        "<tr><th>Objective</th><th>Values</th><th>Good</th><th>Bad</th><th>Attainment</th>\
<th>Budget (bad allowed)</th><th>Budget left</th><th>Budget left %</th><th>Percentile</th>",
    );
    let percentile = view.percentile.map(|p| axis::value(p, &view.unit));
    let mut row = format!(
        "<tr><td>{}</td>{}{}{}{}{}{}{}{}",
        escape(&objective_text(view)),
        cell("values", Some(s.values as f64), &s.values.to_string()),
        cell("good", Some(s.good as f64), &s.good.to_string()),
        cell("bad", Some(s.bad() as f64), &s.bad().to_string()),
        cell("attainment_percent", s.attainment(), &attainment_text(view)),
        cell(
            "error_budget.allowed_bad",
            Some(s.budget()),
            &axis::number(s.budget())
        ),
        cell(
            "error_budget.left",
            Some(s.budget_left()),
            &axis::number(s.budget_left())
        ),
        cell(
            "error_budget.left_percent",
            s.budget_left_percent(),
            &budget_text(view)
        ),
        cell(
            "percentile",
            view.percentile,
            percentile.as_deref().unwrap_or("-")
        ),
    );
    head.push_str("<th>Status</th></tr>");
    let _ = write!(row, "<td>{}</td></tr>", badge(view));
    format!(
        "<div class=\"scroll\"><table class=\"summary\">{head}{row}</table></div>{}",
        burn_rates(view)
    )
}

/// The burn rate of each window alarm at the instant, against its factor.
fn burn_rates(view: &SloView) -> String {
    if view.burn_rates.is_empty() {
        return String::new();
    }
    let mut head = String::from("<tr><th>Burn rate now</th>");
    let mut row = String::from("<tr><td>bad share ÷ budget share</td>");
    for (i, r) in view.burn_rates.iter().enumerate() {
        let _ = write!(
            head,
            "<th title=\"{}\">{} (alarm &gt; {})</th>",
            escape(&r.alarm),
            duration_text(r.window),
            axis::number(r.factor)
        );
        let text = format!(
            "{} ({}/{} bad)",
            axis::number(r.burn),
            r.values - r.good,
            r.values
        );
        let mut td = cell(&format!("burn_rates.{i}.burn_rate"), Some(r.burn), &text);
        if r.firing {
            td = td.replacen("class=\"num\"", "class=\"num alarm\"", 1);
        }
        row.push_str(&td);
    }
    format!("<div class=\"scroll\"><table class=\"burn\">{head}</tr>{row}</tr></table></div>")
}

/// One chart in its figure, with a caption and a key.
fn figure(name: &str, caption: &str, svg: &str, keys: &[String]) -> String {
    format!(
        "<figure class=\"chart\" data-chart=\"{name}\"><figcaption>{}</figcaption>{svg}<div class=\"key\">{}</div></figure>",
        escape(caption),
        keys.concat()
    )
}

/// The section of one SLO: title, summary row, burn rates, charts, alerts.
fn section(view: &SloView) -> Result<String> {
    let s = &view.status;
    let threshold = format!("threshold {}", axis::value(s.slo.threshold, &view.unit));
    let alerts = match view.episodes.len() {
        0 => "no alert fired".to_string(),
        1 => "1 alert fired".to_string(),
        n => format!("{n} alerts fired"),
    };
    let mut out = format!(
        "<section class=\"slo\" id=\"{anchor}\" data-slo=\"{name}\"><h2>{name} {badge}</h2>\
<p class=\"desc\">{metric} from {since} to {until} (UTC)</p>",
        anchor = anchor(view),
        name = escape(&s.slo.name),
        badge = badge(view),
        metric = escape(&s.slo.metric),
        since = format_time(s.since),
        until = format_time(s.until),
    );
    out.push_str(&summary(view));
    out.push_str("<div class=\"charts\">");
    out.push_str(&figure(
        "burn-down",
        "Error budget left over the period",
        &charts::burn_down(view)?,
        &[
            key(charts::LINE, "budget left"),
            key(charts::PAGE, "page"),
            key(charts::TICKET, "ticket"),
            format!("<span>{alerts}</span>"),
        ],
    ));
    out.push_str(&figure(
        "values",
        "Values over time",
        &charts::values(view)?,
        &[
            key(charts::GOOD, "good"),
            key(charts::BAD, "bad"),
            key(charts::THRESHOLD, &threshold),
        ],
    ));
    let percentile = match view.percentile {
        Some(p) => format!(
            "{}th percentile {}",
            axis::number(objective_rank(view)),
            axis::value(p, &view.unit)
        ),
        None => "percentile -".into(),
    };
    out.push_str(&figure(
        "distribution",
        "Distribution (share of values at most x)",
        &charts::distribution(view)?,
        &[
            key(charts::LINE, "CDF"),
            key(charts::THRESHOLD, &threshold),
            key(charts::PERCENTILE, &percentile),
        ],
    ));
    out.push_str("</div>");
    if !view.episodes.is_empty() {
        out.push_str(
            "<div class=\"scroll\"><table class=\"episodes\"><tr><th>Alert</th><th>Fired</th><th>Cleared</th>\
<th>Burn rates when it fired</th></tr>",
        );
        for e in &view.episodes {
            let rates: Vec<String> = e
                .burn_rates
                .iter()
                .map(|r| format!("{} {}", duration_text(r.window), axis::number(r.burn)))
                .collect();
            let _ = write!(
                out,
                "<tr data-episode=\"{severity}\"><td>{severity}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                format_time(e.fired_at),
                e.cleared_at.map_or_else(|| "still firing".into(), format_time),
                rates.join(", "),
                severity = e.severity.as_str(),
            );
        }
        out.push_str("</table></div>");
    }
    out.push_str("</section>");
    Ok(out)
}

/// The percentile the objective names: 95 for `at_most` 95 %, 10 for `at_least` 90 %.
fn objective_rank(view: &SloView) -> f64 {
    match view.status.slo.good_when {
        GoodWhen::AtMost => view.status.slo.objective,
        GoodWhen::AtLeast => 100.0 - view.status.slo.objective,
    }
}

/// The whole page.
pub fn render(report: &Report) -> Result<String> {
    let env = escape(&report.environment);
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
<title>SLO report: {env}</title><style>{STYLE}</style></head><body><main>\
<h1>SLO report: environment {env}</h1><p class=\"meta\">At {at}, from the measurement records in {source}. \
Each SLO over its period; good and bad exactly as <code>flightctl report</code> counts them; alerts as \
<code>flightctl alerts backtest</code> finds them, with a publishing delay of {delay}.</p>",
        at = format_time(report.at),
        delay = axis::duration(report.publish_delay as f64),
        source = escape(&report.source),
    );
    out.push_str(&overview(report));
    for view in &report.slos {
        out.push_str(&section(view)?);
    }
    out.push_str("</main></body></html>\n");
    Ok(out)
}
