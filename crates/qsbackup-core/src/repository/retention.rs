//! Retention policies with restic's semantics, as a pure function over snapshot times.
//!
//! Snapshots are walked newest first. `keep-last N` keeps the N newest; `keep-hourly N` keeps the
//! newest snapshot of each of the N most recent hours that have one, and likewise per day, ISO
//! week, month and year (calendar buckets in UTC). `-1` means "every bucket". A rule that still
//! has counts left when it reaches the oldest snapshot keeps that one too, so the history kept
//! is as long as the policy allows. `keep-within 1y2m3d4h` keeps every snapshot newer than that
//! span before the newest snapshot (not before now, so a repository that stopped getting
//! backups does not lose its history). A snapshot is kept when any rule keeps it; every rule
//! counts on its own.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A span in calendar units, as restic writes it: `1y2m3d4h` (years, months, days, hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CalendarSpan {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl CalendarSpan {
    pub fn is_zero(&self) -> bool {
        *self == CalendarSpan::default()
    }

    /// `t` minus this span, with Go's `AddDate` normalisation (31 March minus a month is
    /// 3 March), as restic computes it.
    pub fn before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let months =
            i64::from(t.year()) * 12 + i64::from(t.month0()) - (i64::from(self.years) * 12 + i64::from(self.months));
        let year = i32::try_from(months.div_euclid(12)).ok()?;
        let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let date = first.checked_add_signed(Duration::days(i64::from(t.day()) - 1 - i64::from(self.days)))?;
        let shifted = date.and_time(t.time()).and_utc();
        shifted.checked_sub_signed(Duration::hours(i64::from(self.hours)))
    }
}

impl FromStr for CalendarSpan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err("an empty duration; expected e.g. 7d, 12h or 1y6m".into());
        }
        let mut span = CalendarSpan::default();
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let n: u32 = digits
                .parse()
                .map_err(|_| format!("invalid duration {text:?}: a number must come before `{c}`"))?;
            digits.clear();
            match c {
                'y' => span.years += n,
                'm' => span.months += n,
                'd' => span.days += n,
                'h' => span.hours += n,
                other => {
                    return Err(format!(
                    "invalid duration {text:?}: unknown unit `{other}`; use y (years), m (months), d (days), h (hours)"
                ))
                }
            }
        }
        if !digits.is_empty() {
            return Err(format!(
                "invalid duration {text:?}: `{digits}` has no unit (y, m, d or h)"
            ));
        }
        Ok(span)
    }
}

impl fmt::Display for CalendarSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
                any = true;
            }
        }
        if !any {
            f.write_str("0h")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for CalendarSpan {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CalendarSpan> for String {
    fn from(s: CalendarSpan) -> String {
        s.to_string()
    }
}

/// Which snapshots to keep. Counts: 0 = rule off, -1 = unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RetentionPolicy {
    #[serde(default)]
    pub keep_last: i32,
    #[serde(default)]
    pub keep_hourly: i32,
    #[serde(default)]
    pub keep_daily: i32,
    #[serde(default)]
    pub keep_weekly: i32,
    #[serde(default)]
    pub keep_monthly: i32,
    #[serde(default)]
    pub keep_yearly: i32,
    #[serde(default)]
    pub keep_within: Option<CalendarSpan>,
}

impl RetentionPolicy {
    /// No rule at all: applying it would remove everything, so callers refuse it.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(n, _)| *n == 0) && self.keep_within.is_none_or(|w| w.is_zero())
    }

    /// Refuses counts below -1.
    pub fn validate(&self) -> Result<(), String> {
        for (n, name) in self.counts() {
            if n < -1 {
                return Err(format!("--keep-{name} {n}: use a count of 0 or more, or -1 for all"));
            }
        }
        Ok(())
    }

    fn counts(&self) -> [(i32, &'static str); 6] {
        [
            (self.keep_last, "last"),
            (self.keep_hourly, "hourly"),
            (self.keep_daily, "daily"),
            (self.keep_weekly, "weekly"),
            (self.keep_monthly, "monthly"),
            (self.keep_yearly, "yearly"),
        ]
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (n, name) in self.counts() {
            match n {
                0 => {}
                -1 => parts.push(format!("all {name}")),
                n => parts.push(format!("{n} {name}")),
            }
        }
        if let Some(w) = self.keep_within.filter(|w| !w.is_zero()) {
            parts.push(format!("all within {w} of the newest"));
        }
        if parts.is_empty() {
            f.write_str("keep nothing")
        } else {
            write!(f, "keep {}", parts.join(", "))
        }
    }
}

/// What the policy decided for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    #[serde(rename = "snapshot_id")]
    pub id: String,
    pub time: DateTime<Utc>,
    pub keep: bool,
    /// Which rules keep it, e.g. `daily`, `oldest monthly`, `within 7d`.
    pub reasons: Vec<String>,
}

type Bucketer = fn(DateTime<Utc>, usize) -> i64;

fn always(_: DateTime<Utc>, nr: usize) -> i64 {
    nr as i64
}
fn hour(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year()) * 1_000_000 + i64::from(t.month()) * 10_000 + i64::from(t.day()) * 100 + i64::from(t.hour())
}
fn day(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year()) * 10_000 + i64::from(t.month()) * 100 + i64::from(t.day())
}
fn week(t: DateTime<Utc>, _: usize) -> i64 {
    let w = t.iso_week();
    i64::from(w.year()) * 100 + i64::from(w.week())
}
fn month(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year()) * 100 + i64::from(t.month())
}
fn year(t: DateTime<Utc>, _: usize) -> i64 {
    i64::from(t.year())
}

/// Applies `policy` to `(id, time)` snapshots as of `now`; decisions come newest first.
/// Snapshots with equal times keep their input order.
pub fn apply(policy: &RetentionPolicy, snapshots: &[(String, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<Decision> {
    let mut list: Vec<&(String, DateTime<Utc>)> = snapshots.iter().collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.1));
    // The newest snapshot that is not in the future anchors keep-within.
    let latest = list.iter().map(|s| s.1).filter(|t| *t < now).max();
    let mut buckets: Vec<(i32, Bucketer, Option<i64>, &str)> = vec![
        (policy.keep_last, always, None, "last"),
        (policy.keep_hourly, hour, None, "hourly"),
        (policy.keep_daily, day, None, "daily"),
        (policy.keep_weekly, week, None, "weekly"),
        (policy.keep_monthly, month, None, "monthly"),
        (policy.keep_yearly, year, None, "yearly"),
    ];
    let within_since = match (policy.keep_within, latest) {
        (Some(w), Some(latest)) if !w.is_zero() => w.before(latest).map(|t| (w, t)),
        _ => None,
    };
    let oldest = list.len().saturating_sub(1);
    let mut out = Vec::with_capacity(list.len());
    for (nr, (id, time)) in list.iter().enumerate() {
        let mut reasons = Vec::new();
        if let Some((w, since)) = within_since {
            if *time > since {
                reasons.push(format!("within {w}"));
            }
        }
        for (count, bucketer, last, name) in buckets.iter_mut() {
            if *count == 0 {
                continue;
            }
            let value = bucketer(*time, nr);
            if Some(value) != *last || nr == oldest {
                let oldest_only = Some(value) == *last;
                reasons.push(if oldest_only {
                    format!("oldest {name}")
                } else {
                    name.to_string()
                });
                *last = Some(value);
                if *count > 0 {
                    *count -= 1;
                }
            }
        }
        out.push(Decision {
            id: id.clone(),
            time: *time,
            keep: !reasons.is_empty(),
            reasons,
        });
    }
    out
}

#[cfg(test)]
mod tests;
