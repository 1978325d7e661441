//! Draws a [`ReportData`] as one self-contained HTML page: no network fetches, scripts and
//! styles inline, so it works offline, from a file and from S3. The page's text comes from a
//! MiniJinja template (auto-escaped), the history chart from `plotters`, graph layouts from
//! `layout-rs`; the bulky parts (logs, graphs, change lines) travel once as compact JSON that a
//! small inline script turns into tables and SVG when a section is opened.

mod chart;
mod graph;
mod payload;
mod view;

use crate::history::report::ReportData;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Output, State, Value};

const TEMPLATE: &str = include_str!("html/page.html");
const STYLE: &str = include_str!("html/page.css");
const SCRIPT: &str = include_str!("html/page.js");

fn failed(e: minijinja::Error) -> crate::Error {
    crate::Error::Render {
        what: "the report page".into(),
        message: e.to_string(),
    }
}

/// HTML escaping of `& < > "`: enough for text and for the template's attributes, all in double
/// quotes. MiniJinja's default also writes `'` and `/` (`&#x2f;`), which keys (`dashboard/…`)
/// and summaries are full of, to no gain there.
fn html_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), minijinja::Error> {
    if value.is_safe() || value.is_none() || value.is_undefined() || !matches!(state.auto_escape(), AutoEscape::Html) {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    out.write_str(&escaped)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// The page, whole.
pub fn render(data: &ReportData) -> crate::Result<String> {
    let chart = chart::draw(&data.snapshots)?;
    let payload = payload::to_script_json(&payload::build(data))?;
    let view = view::build(data);
    let mut env = Environment::new();
    env.set_formatter(html_formatter);
    // The `.html` name turns HTML auto-escaping on for everything the template prints.
    env.add_template("page.html", TEMPLATE).map_err(failed)?;
    let template = env.get_template("page.html").map_err(failed)?;
    let ctx = minijinja::context! {
        view => Value::from(Serde(&view)),
        chart_svg => chart.as_ref().map(|c| Value::from_safe_string(c.svg.clone())),
        legend => chart.as_ref().map(|c| Value::from(Serde(&c.legend))),
        payload => Value::from_safe_string(payload),
        style => Value::from_safe_string(STYLE.to_string()),
        script => Value::from_safe_string(SCRIPT.to_string()),
    };
    template.render(ctx).map_err(failed)
}

#[cfg(test)]
pub(crate) mod tests;
