//! One table: the snapshot times of restic's own policy tests, each policy with the kept set
//! written out (checked against restic's golden files where it has one).

use super::*;

/// restic's `testExpireSnapshots` times (tags dropped: qsbackup has none).
const TIMES: &[&str] = &[
    "2014-09-01 10:20:30",
    "2014-09-02 10:20:30",
    "2014-09-05 10:20:30",
    "2014-09-06 10:20:30",
    "2014-09-08 10:20:30",
    "2014-09-09 10:20:30",
    "2014-09-10 10:20:30",
    "2014-09-11 10:20:30",
    "2014-09-20 10:20:30",
    "2014-09-22 10:20:30",
    "2014-08-08 10:20:30",
    "2014-08-10 10:20:30",
    "2014-08-12 10:20:30",
    "2014-08-13 10:20:30",
    "2014-08-13 10:20:30.1",
    "2014-08-15 10:20:30",
    "2014-08-18 10:20:30",
    "2014-08-20 10:20:30",
    "2014-08-21 10:20:30",
    "2014-08-22 10:20:30",
    "2014-10-01 10:20:30",
    "2014-10-02 10:20:30",
    "2014-10-05 10:20:30",
    "2014-10-06 10:20:30",
    "2014-10-08 10:20:30",
    "2014-10-09 10:20:30",
    "2014-10-10 10:20:30",
    "2014-10-11 10:20:30",
    "2014-10-20 10:20:30",
    "2014-10-22 10:20:30",
    "2014-11-08 10:20:30",
    "2014-11-10 10:20:30",
    "2014-11-12 10:20:30",
    "2014-11-13 10:20:30",
    "2014-11-13 10:20:30.1",
    "2014-11-15 10:20:30",
    "2014-11-18 10:20:30",
    "2014-11-20 10:20:30",
    "2014-11-21 10:20:30",
    "2014-11-22 10:20:30",
    "2015-09-01 10:20:30",
    "2015-09-02 10:20:30",
    "2015-09-05 10:20:30",
    "2015-09-06 10:20:30",
    "2015-09-08 10:20:30",
    "2015-09-09 10:20:30",
    "2015-09-10 10:20:30",
    "2015-09-11 10:20:30",
    "2015-09-20 10:20:30",
    "2015-09-22 10:20:30",
    "2015-08-08 10:20:30",
    "2015-08-10 10:20:30",
    "2015-08-12 10:20:30",
    "2015-08-13 10:20:30",
    "2015-08-13 10:20:30.1",
    "2015-08-15 10:20:30",
    "2015-08-18 10:20:30",
    "2015-08-20 10:20:30",
    "2015-08-21 10:20:30",
    "2015-08-22 10:20:30",
    "2015-10-01 10:20:30",
    "2015-10-02 10:20:30",
    "2015-10-05 10:20:30",
    "2015-10-06 10:20:30",
    "2015-10-08 10:20:30",
    "2015-10-09 10:20:30",
    "2015-10-10 10:20:30",
    "2015-10-11 10:20:30",
    "2015-10-20 10:20:30",
    "2015-10-22 10:20:30",
    "2015-10-22 10:20:30",
    "2015-10-22 10:20:30",
    "2015-10-22 10:20:30",
    "2015-10-22 10:20:30",
    "2015-11-08 10:20:30",
    "2015-11-10 10:20:30",
    "2015-11-12 10:20:30",
    "2015-11-13 10:20:30",
    "2015-11-13 10:20:30.1",
    "2015-11-15 10:20:30",
    "2015-11-18 10:20:30",
    "2015-11-20 10:20:30",
    "2015-11-21 10:20:30",
    "2015-11-22 10:20:30",
    "2016-01-01 01:02:03",
    "2016-01-01 01:03:03",
    "2016-01-01 07:08:03",
    "2016-01-03 07:02:03",
    "2016-01-04 10:23:03",
    "2016-01-04 11:23:03",
    "2016-01-04 12:23:03",
    "2016-01-04 12:24:03",
    "2016-01-04 12:28:03",
    "2016-01-04 12:30:03",
    "2016-01-04 16:23:03",
    "2016-01-05 09:02:03",
    "2016-01-06 08:02:03",
    "2016-01-07 10:02:03",
    "2016-01-08 20:02:03",
    "2016-01-09 21:02:03",
    "2016-01-12 21:02:03",
    "2016-01-12 21:08:03",
    "2016-01-18 12:02:03",
];

fn parse(t: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .expect("test time")
        .and_utc()
}

fn snapshots() -> Vec<(String, DateTime<Utc>)> {
    TIMES
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("s{i:03}"), parse(t)))
        .collect()
}

fn policy(spec: &str) -> RetentionPolicy {
    let mut p = RetentionPolicy::default();
    for part in spec.split_whitespace() {
        let (k, v) = part.split_once('=').expect("k=v");
        match k {
            "last" => p.keep_last = v.parse().unwrap(),
            "hourly" => p.keep_hourly = v.parse().unwrap(),
            "daily" => p.keep_daily = v.parse().unwrap(),
            "weekly" => p.keep_weekly = v.parse().unwrap(),
            "monthly" => p.keep_monthly = v.parse().unwrap(),
            "yearly" => p.keep_yearly = v.parse().unwrap(),
            "within" => p.keep_within = Some(v.parse().unwrap()),
            _ => panic!("{k}"),
        }
    }
    p
}

fn kept(p: &RetentionPolicy) -> Vec<String> {
    let now = parse("2026-01-01 00:00:00");
    apply(p, &snapshots(), now)
        .into_iter()
        .filter(|d| d.keep)
        .map(|d| d.time.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        .collect()
}

/// Every time from `since` on (inclusive), newest first, duplicates included.
fn all_since(since: &str) -> Vec<String> {
    let since = parse(since);
    let mut times: Vec<DateTime<Utc>> = snapshots().into_iter().map(|s| s.1).filter(|t| *t >= since).collect();
    times.sort_by(|a, b| b.cmp(a));
    times
        .into_iter()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        .collect()
}

fn list(times: &[&str]) -> Vec<String> {
    times.iter().map(|t| t.to_string()).collect()
}

#[test]
fn the_retention_table() {
    let table: Vec<(&str, Vec<String>)> = vec![
        (
            "last=3",
            list(&["2016-01-18 12:02:03", "2016-01-12 21:08:03", "2016-01-12 21:02:03"]),
        ),
        // restic policy_keep_snapshots_5
        (
            "hourly=20",
            list(&[
                "2016-01-18 12:02:03",
                "2016-01-12 21:08:03",
                "2016-01-09 21:02:03",
                "2016-01-08 20:02:03",
                "2016-01-07 10:02:03",
                "2016-01-06 08:02:03",
                "2016-01-05 09:02:03",
                "2016-01-04 16:23:03",
                "2016-01-04 12:30:03",
                "2016-01-04 11:23:03",
                "2016-01-04 10:23:03",
                "2016-01-03 07:02:03",
                "2016-01-01 07:08:03",
                "2016-01-01 01:03:03",
                "2015-11-22 10:20:30",
                "2015-11-21 10:20:30",
                "2015-11-20 10:20:30",
                "2015-11-18 10:20:30",
                "2015-11-15 10:20:30",
                "2015-11-13 10:20:30.100",
            ]),
        ),
        (
            "daily=3",
            list(&["2016-01-18 12:02:03", "2016-01-12 21:08:03", "2016-01-09 21:02:03"]),
        ),
        ("weekly=2", list(&["2016-01-18 12:02:03", "2016-01-12 21:08:03"])),
        // restic policy_keep_snapshots_14
        (
            "monthly=6",
            list(&[
                "2016-01-18 12:02:03",
                "2015-11-22 10:20:30",
                "2015-10-22 10:20:30",
                "2015-09-22 10:20:30",
                "2015-08-22 10:20:30",
                "2014-11-22 10:20:30",
            ]),
        ),
        // restic policy_keep_snapshots_15: rules overlap, each counts on its own.
        (
            "daily=2 weekly=2 monthly=6",
            list(&[
                "2016-01-18 12:02:03",
                "2016-01-12 21:08:03",
                "2015-11-22 10:20:30",
                "2015-10-22 10:20:30",
                "2015-09-22 10:20:30",
                "2015-08-22 10:20:30",
                "2014-11-22 10:20:30",
            ]),
        ),
        // restic policy_keep_snapshots_16: counts left at the end keep the oldest snapshot.
        (
            "yearly=10",
            list(&[
                "2016-01-18 12:02:03",
                "2015-11-22 10:20:30",
                "2014-11-22 10:20:30",
                "2014-08-08 10:20:30",
            ]),
        ),
        // restic policy_keep_snapshots_39: -1 keeps every bucket.
        (
            "daily=3 weekly=2 monthly=-1 yearly=-1",
            list(&[
                "2016-01-18 12:02:03",
                "2016-01-12 21:08:03",
                "2016-01-09 21:02:03",
                "2015-11-22 10:20:30",
                "2015-10-22 10:20:30",
                "2015-09-22 10:20:30",
                "2015-08-22 10:20:30",
                "2014-11-22 10:20:30",
                "2014-10-22 10:20:30",
                "2014-09-22 10:20:30",
                "2014-08-22 10:20:30",
                "2014-08-08 10:20:30",
            ]),
        ),
        ("within=1d", list(&["2016-01-18 12:02:03"])),
        (
            "within=7d",
            list(&["2016-01-18 12:02:03", "2016-01-12 21:08:03", "2016-01-12 21:02:03"]),
        ),
        // 2016-01-18 12:02:03 minus 2 months and 2 hours is 2015-11-18 10:02:03.
        ("within=2m2h", all_since("2015-11-18 10:02:04")),
        // restic policy_keep_snapshots_26: everything since 2014-12-17 12:02:03.
        ("within=1y1d1m", all_since("2014-12-17 12:02:04")),
        ("last=-1", all_since("2000-01-01 00:00:00")),
    ];
    for (spec, want) in table {
        assert_eq!(kept(&policy(spec)), want, "policy {spec}");
    }
}

#[test]
fn reasons_say_which_rules_keep_a_snapshot() {
    let decisions = apply(&policy("daily=2 yearly=10"), &snapshots(), parse("2026-01-01 00:00:00"));
    assert_eq!(decisions.len(), TIMES.len());
    assert_eq!(decisions[0].reasons, vec!["daily", "yearly"]);
    let last = decisions.last().unwrap();
    assert_eq!(last.time, parse("2014-08-08 10:20:30"));
    assert_eq!(last.reasons, vec!["oldest yearly"]);
    assert!(decisions.iter().filter(|d| !d.keep).all(|d| d.reasons.is_empty()));
}

#[test]
fn keep_within_counts_from_the_newest_snapshot_not_in_the_future() {
    let mut s = snapshots();
    s.push(("future".into(), parse("2030-01-01 00:00:00")));
    let now = parse("2026-01-01 00:00:00");
    let kept: Vec<String> = apply(&policy("within=1d"), &s, now)
        .into_iter()
        .filter(|d| d.keep)
        .map(|d| d.id)
        .collect();
    // The future snapshot is newer than the anchor, so it is within; the anchor is 2016-01-18.
    assert_eq!(kept, vec!["future".to_string(), format!("s{:03}", TIMES.len() - 1)]);
}

#[test]
fn spans_parse_print_and_subtract_like_restic() {
    let s: CalendarSpan = "1y2m3d4h".parse().unwrap();
    assert_eq!((s.years, s.months, s.days, s.hours), (1, 2, 3, 4));
    assert_eq!(s.to_string(), "1y2m3d4h");
    assert_eq!("7d".parse::<CalendarSpan>().unwrap().to_string(), "7d");
    for bad in ["", "3w", "7", "d", "1.5d"] {
        assert!(bad.parse::<CalendarSpan>().is_err(), "{bad}");
    }
    // Go's AddDate: 31 March minus one month normalises to 3 March (2015 is not a leap year).
    let one_month: CalendarSpan = "1m".parse().unwrap();
    assert_eq!(
        one_month.before(parse("2015-03-31 12:00:00")),
        Some(parse("2015-03-03 12:00:00"))
    );
    assert_eq!(
        "1y".parse::<CalendarSpan>()
            .unwrap()
            .before(parse("2016-02-29 00:00:00")),
        Some(parse("2015-03-01 00:00:00"))
    );
}

#[test]
fn an_empty_or_negative_policy_is_refused() {
    assert!(RetentionPolicy::default().is_empty());
    assert!(!policy("last=1").is_empty());
    assert!(!policy("within=1h").is_empty());
    assert!(policy("daily=-2").validate().is_err());
    assert!(policy("daily=-1").validate().is_ok());
    assert_eq!(
        policy("last=3 monthly=-1 within=7d").to_string(),
        "keep 3 last, all monthly, all within 7d of the newest"
    );
}
