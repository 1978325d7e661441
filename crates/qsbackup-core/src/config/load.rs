//! Reading a config file: format by extension, parse errors turned into [`Error::Config`] with the
//! file, the dotted key path and the line, then the rules that span several keys.

use super::Config;
use crate::error::{Error, Result};
use std::path::Path;

/// The two formats a config file may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

impl ConfigFormat {
    /// The format for a file name: `.yaml`/`.yml` or `.json`.
    pub fn from_path(path: &Path) -> Option<ConfigFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(ConfigFormat::Yaml),
            "json" => Some(ConfigFormat::Json),
            _ => None,
        }
    }
}

/// Loads and checks the config file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    let format = ConfigFormat::from_path(path).ok_or_else(|| Error::Config {
        file: path.to_path_buf(),
        key: "(file name)".into(),
        line: None,
        message: "unsupported extension: name the file *.yaml, *.yml or *.json".into(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        file: path.to_path_buf(),
        source,
    })?;
    load_str(&text, format, path)
}

/// Parses and checks config `text`; `file` is only used in messages.
pub fn load_str(text: &str, format: ConfigFormat, file: &Path) -> Result<Config> {
    let err = |key: String, line: Option<usize>, message: String| Error::Config {
        file: file.to_path_buf(),
        key,
        line,
        message,
    };
    if text.trim().is_empty() {
        return Err(err("(file)".into(), None, "the file is empty".into()));
    }
    let config: Config = match format {
        ConfigFormat::Yaml => {
            let de = serde_yaml::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = key_of(e.path());
                let inner = e.into_inner();
                let message = clean_message(&inner.to_string(), &key);
                // serde_yaml places errors at the start of the enclosing mapping; the key's own
                // line is more useful when it can be found.
                let line = line_of_error(text, format, &key, &message).or(inner.location().map(|l| l.line()));
                err(key, line, message)
            })?
        }
        ConfigFormat::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let key = key_of(e.path());
                let inner = e.into_inner();
                let message = clean_message(&inner.to_string(), &key);
                let line = Some(inner.line()).filter(|l| *l > 0);
                err(key, line, message)
            })?
        }
    };
    check_across_keys(&config).map_err(|(key, message)| {
        let line = find_line(text, format, &key);
        err(key, line, message)
    })?;
    Ok(config)
}

/// Rules that involve more than one value.
fn check_across_keys(config: &Config) -> Result<(), (String, String)> {
    if config.repository.is_some() && config.s3.is_some() {
        return Err((
            "repository".into(),
            "set either `repository` or `s3`, not both (`s3` means s3://bucket_name/prefix)".into(),
        ));
    }
    if let Some(url) = &config.repository {
        if let Err(message) = crate::repository::check_url(url) {
            return Err(("repository".into(), message));
        }
    }
    if let Some(s3) = &config.s3 {
        if s3.bucket_name.trim().is_empty() {
            return Err(("s3.bucket_name".into(), "must not be empty".into()));
        }
    }
    if config.backup.asset_types.is_empty() {
        return Err((
            "backup.asset_types".into(),
            format!(
                "must name at least one type; accepted: {}",
                crate::asset::AssetType::ALL.map(|t| t.as_str()).join(", ")
            ),
        ));
    }
    if config.backup.job_timeout_seconds == 0 {
        return Err((
            "backup.job_timeout_seconds".into(),
            "must be at least 1 (seconds)".into(),
        ));
    }
    if let Some(d) = &config.dynamodb {
        if !d.table_name_format.contains("{base}") {
            return Err((
                "dynamodb.table_name_format".into(),
                "must contain `{base}` (and usually `{date}`), e.g. \"{base}-{date}\"".into(),
            ));
        }
    }
    Ok(())
}

fn key_of(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." || s.is_empty() {
        "(top level)".into()
    } else {
        s
    }
}

/// serde_yaml decorates its messages with the path and position we report separately.
fn clean_message(message: &str, key: &str) -> String {
    let mut m = message;
    if let Some(rest) = m.strip_prefix(key).and_then(|r| r.strip_prefix(": ")) {
        m = rest;
    }
    if let Some(i) = m.rfind(" at line ") {
        m = &m[..i];
    }
    m.to_string()
}

/// The line of the key an error is about: the key path itself, or for an unknown key, the
/// unknown key under its path.
fn line_of_error(text: &str, format: ConfigFormat, key: &str, message: &str) -> Option<usize> {
    let mut path: String = key
        .split('.')
        .map(|segment| segment.split('[').next().unwrap_or(segment))
        .collect::<Vec<_>>()
        .join(".");
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        path = if key.starts_with('(') {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
    }
    if path.starts_with('(') {
        return None;
    }
    find_line(text, format, &path)
}

/// Best-effort line of a dotted key, for rules checked after parsing.
fn find_line(text: &str, format: ConfigFormat, key: &str) -> Option<usize> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut want = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let found = match format {
            ConfigFormat::Yaml => trimmed
                .strip_prefix(parts[want])
                .is_some_and(|r| r.trim_start().starts_with(':')),
            ConfigFormat::Json => trimmed.starts_with(&format!("\"{}\"", parts[want])),
        };
        if found {
            want += 1;
            if want == parts.len() {
                return Some(i + 1);
            }
        }
    }
    None
}
