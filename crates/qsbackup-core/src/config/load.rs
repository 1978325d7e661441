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

/// Loads and checks the config file at `path`. Relative paths in it (`repository`, the default
/// repository, `logging.file_path`) are resolved against the file's directory, so the config
/// means the same from any working directory.
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
    let mut config = load_str(&text, format, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        config.resolve_paths(dir);
    }
    Ok(config)
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
            let de = serde_norway::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = key_of(e.path());
                let inner = e.into_inner();
                let message = clean_message(&inner.to_string(), &key);
                // serde_norway places errors at the start of the enclosing mapping; the key's own
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
    let mut config = config;
    // A single-account config means its own account and region by `{account}` and `{region}`;
    // a config listing accounts fills them in per target (`Config::for_target`).
    if let (Some(account), Some(d)) = (config.aws.account_id.clone(), config.dynamodb.as_mut()) {
        d.table_name_format = d
            .table_name_format
            .replace("{account}", account.as_str())
            .replace("{region}", config.aws.region.as_str());
    }
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
        crate::repository::check_s3_bucket(&s3.bucket_name).map_err(|m| ("s3.bucket_name".into(), m))?;
        crate::repository::check_prefix(&s3.prefix).map_err(|m| ("s3.prefix".into(), m))?;
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
    // Already refused while parsing; repeated so the range holds even if the field is ever read
    // another way (a default, a serde attribute change).
    if !(1..=super::MAX_JOB_TIMEOUT_SECONDS).contains(&config.backup.job_timeout_seconds) {
        return Err((
            "backup.job_timeout_seconds".into(),
            format!(
                "{} is not accepted: whole seconds from 1 to {} (24 h)",
                config.backup.job_timeout_seconds,
                super::MAX_JOB_TIMEOUT_SECONDS
            ),
        ));
    }
    super::targets::check(config)?;
    if let Some(d) = &config.dynamodb {
        check_table_names(d)?;
    }
    if let Some(table) = config.lock.as_ref().and_then(|l| l.dynamodb_table.as_deref()) {
        if !crate::dynamodb::is_valid_table_name(table) {
            return Err(("lock.dynamodb_table".into(), table_name_rule(table)));
        }
    }
    Ok(())
}

fn table_name_rule(name: &str) -> String {
    format!("`{name}` is not a valid DynamoDB table name: 3 to 255 characters of letters, digits, `_`, `-` and `.`")
}

/// The identity tables are created by name at the end of a backup; a name DynamoDB refuses
/// there costs the identities of the run, so every name is built once here with a sample date.
fn check_table_names(d: &super::DynamoDbSection) -> Result<(), (String, String)> {
    const FORMAT_KEY: &str = "dynamodb.table_name_format";
    let format = &d.table_name_format;
    for placeholder in ["{base}", "{date}"] {
        if !format.contains(placeholder) {
            return Err((
                FORMAT_KEY.into(),
                format!(
                    "`{format}` does not contain `{placeholder}`: the format must contain both `{{base}}` and \
                     `{{date}}`, e.g. \"{{base}}-{{date}}\" or the sample tool's \"{{date}}-{{base}}\""
                ),
            ));
        }
    }
    let date = "2026-01-01";
    let name = |base: &str| {
        format
            .replace("{base}", base)
            .replace("{date}", date)
            .replace("{account}", "123456789012")
            .replace("{region}", "us-east-1")
    };
    let sample = name("abc");
    if !crate::dynamodb::is_valid_table_name(&sample) {
        return Err((
            FORMAT_KEY.into(),
            format!(
                "`{format}` makes table names such as `{sample}` that DynamoDB refuses: outside \
                 `{{base}}` and `{{date}}` use only letters, digits, `_`, `-` and `.`"
            ),
        ));
    }
    for (key, base) in [
        ("dynamodb.users_table_name", &d.users_table_name),
        ("dynamodb.groups_table_name", &d.groups_table_name),
        ("dynamodb.users_group_table_name", &d.users_group_table_name),
    ] {
        let table = name(base);
        if !crate::dynamodb::is_valid_table_name(&table) {
            return Err((key.into(), table_name_rule(&table)));
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

/// serde_norway decorates its messages with the path and position we report separately.
fn clean_message(message: &str, key: &str) -> String {
    let mut m = message;
    if let Some(rest) = m.strip_prefix(key).and_then(|r| r.strip_prefix(": ")) {
        m = rest;
    }
    if let Some(i) = m.rfind(" at line ") {
        m = &m[..i];
    }
    unknown_field_message(m).unwrap_or_else(|| m.to_string())
}

/// serde's "unknown field `x`, expected one of ..." lists every field the section declares,
/// including the access-key fields that exist only to be refused. Rewritten to list only what is
/// accepted.
fn unknown_field_message(message: &str) -> Option<String> {
    // serde_norway may put the section's path before it ("aws: unknown field ...").
    let start = message.find("unknown field `")?;
    let (head, expected) = message[start..].split_once(", expected ")?;
    let accepted: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|field| !super::AwsSection::REFUSED_KEYS.contains(field))
        .collect();
    Some(if accepted.is_empty() {
        format!("{head}; this section takes no keys")
    } else {
        format!("{head}; accepted: {}", accepted.join(", "))
    })
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

/// Best-effort line of a dotted key, for rules checked after parsing. A list index
/// (`accounts[1].role_arn`) is followed by counting the list's items (`- ` in YAML, `{` in JSON).
fn find_line(text: &str, format: ConfigFormat, key: &str) -> Option<usize> {
    let parts: Vec<(&str, Option<usize>)> = key
        .split('.')
        .map(|segment| match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
            None => (segment, None),
        })
        .collect();
    let mut want = 0;
    // Items of the list just found still to skip before its indexed item.
    let mut items_left: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let mut trimmed = line.trim_start();
        if let Some(left) = items_left {
            let item = match format {
                ConfigFormat::Yaml => trimmed.starts_with("- ") || trimmed == "-",
                ConfigFormat::Json => trimmed.starts_with('{'),
            };
            if !item {
                continue;
            }
            if left > 0 {
                items_left = Some(left - 1);
                continue;
            }
            items_left = None;
            if want == parts.len() {
                return Some(i + 1);
            }
            // The item's first key may share its line (`- account_id: "1"`).
            trimmed = trimmed.trim_start_matches(['-', '{']).trim_start();
        }
        let (name, index) = parts[want];
        let found = match format {
            ConfigFormat::Yaml => trimmed
                .strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with(':')),
            ConfigFormat::Json => trimmed.starts_with(&format!("\"{name}\"")),
        };
        if found {
            want += 1;
            if let Some(index) = index {
                items_left = Some(index);
                continue;
            }
            if want == parts.len() {
                return Some(i + 1);
            }
        }
    }
    None
}
