//! How sizes and times read in text, the same in every report and command: sizes in binary
//! units (`3.95 MiB`), times to the second with the zone (`2026-12-02 06:42:33 UTC`). JSON keeps
//! exact bytes and RFC 3339 timestamps.

use chrono::{DateTime, Utc};

/// `512 B`, `1.50 KiB`, `3.95 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// `2026-12-02 06:42:33 UTC`.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(4_146_229), "3.95 MiB");
        assert_eq!(human_bytes(3 << 30), "3.00 GiB");
        let t = DateTime::parse_from_rfc3339("2026-12-02T06:42:33.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(&t), "2026-12-02 06:42:33 UTC");
    }
}
