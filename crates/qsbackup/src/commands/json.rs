//! Every command's `--json` output: exactly one document per run on stdout, an object whose
//! first keys are `schema_version` and `command`, then the command's own keys (docs/json.md).
//! A command builds its body and calls [`emit`]; a command that runs others (the demo) wraps
//! them in [`gather`] and puts their bodies into its own document.

use std::sync::Mutex;

use anyhow::anyhow;
use serde_json::{Map, Value};

use crate::exit::Outcome;

/// Raised when a key is removed or renamed or its meaning or unit changes; new keys do not
/// raise it (readers ignore keys they do not know).
pub const SCHEMA_VERSION: u64 = 1;

/// Bodies held back while a command runs others, by command name.
static GATHERED: Mutex<Option<Vec<(String, Value)>>> = Mutex::new(None);

/// `body`'s keys after `schema_version` and `command`; a body that is not an object becomes
/// `result`.
pub fn document(command: &str, body: Value) -> Value {
    let mut doc = Map::new();
    doc.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
    doc.insert("command".into(), Value::from(command));
    match body {
        Value::Object(fields) => {
            for (k, v) in fields {
                if k != "schema_version" && k != "command" {
                    doc.insert(k, v);
                }
            }
        }
        other => {
            doc.insert("result".into(), other);
        }
    }
    Value::Object(doc)
}

/// Prints `command`'s one document on stdout (or hands its body to the [`gather`] around it).
pub fn emit(command: &str, body: &impl serde::Serialize) -> Result<(), Outcome> {
    let body = serde_json::to_value(body).map_err(|e| Outcome::failure(e.into()))?;
    if let Ok(mut gathered) = GATHERED.lock() {
        if let Some(bodies) = gathered.as_mut() {
            bodies.push((command.to_string(), body));
            return Ok(());
        }
    }
    let text = serde_json::to_string_pretty(&document(command, body)).map_err(|e| Outcome::failure(e.into()))?;
    crate::progress::clear();
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Outcome::failure(anyhow!("writing the JSON result: {e}")))
}

/// Runs `f` holding back the documents it emits; returns them by command name (each the body
/// only: the caller's own document carries the version).
pub async fn gather<T>(f: impl std::future::Future<Output = T>) -> (T, Map<String, Value>) {
    if let Ok(mut g) = GATHERED.lock() {
        *g = Some(Vec::new());
    }
    let out = f.await;
    let bodies = GATHERED.lock().ok().and_then(|mut g| g.take()).unwrap_or_default();
    (out, bodies.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_starts_with_its_version_and_command() {
        let doc = document("show", json!({"snapshot_id": "x", "command": "ignored"}));
        assert_eq!(doc["schema_version"], json!(SCHEMA_VERSION));
        assert_eq!(doc["command"], json!("show"));
        assert_eq!(doc["snapshot_id"], json!("x"));
        let doc = document("iam-policy", json!([1, 2]));
        assert_eq!(doc["result"], json!([1, 2]));
    }
}
