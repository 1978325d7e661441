//! Draws a [`ReportData`] as one self-contained HTML page: no network fetches, scripts and
//! styles inline, so it works offline and from S3.

use crate::history::report::ReportData;

/// The page, whole.
pub fn render(data: &ReportData) -> crate::Result<String> {
    let json = serde_json::to_string(data).map_err(|source| crate::Error::Json {
        context: "the report's data".into(),
        source,
    })?;
    Ok(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>qsbackup report</title></head><body><script type=\"application/json\" id=\"report-data\">{}</script></body></html>",
        json.replace("</", "<\\/")
    ))
}
