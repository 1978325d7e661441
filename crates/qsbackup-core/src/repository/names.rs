//! Which bucket names and key prefixes a repository accepts. A name S3 refuses otherwise fails
//! only after the client's retries, and a prefix the URL parser or the object store rewrites
//! (`..`, `.`, `//`, characters they percent-encode) puts the data somewhere other than where
//! the banner, `iam-policy` and the manifest say. Both are refused before anything runs.

/// Characters besides ASCII letters and digits allowed in a prefix segment: those neither the
/// URL parser nor the object store rewrite, so the keys written are the prefix as typed.
const PREFIX_PUNCTUATION: &str = "!$&'()+,-.:;=@_";

/// What a prefix may look like, for messages.
pub const PREFIX_RULE: &str = "segments separated by single `/`, each of letters, digits and \
     `! $ & ' ( ) + , - . : ; = @ _`, none `.` or `..`, no leading `/`";

/// What an S3 bucket name may look like, for messages.
pub const BUCKET_RULE: &str = "S3 bucket names are 3 to 63 characters of lowercase letters, \
     digits, `.` and `-`, begin and end with a letter or digit, have no `..`, are not an IP \
     address, do not start with `xn--`, `sthree-` or `amzn-s3-demo-` and do not end with \
     `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or `--table-s3`";

/// Checks a key prefix (`s3.prefix`, or the path of an `s3://`, `gs://` or `az://` URL without
/// its first `/`). Empty means the bucket's root; one trailing `/` is allowed and ignored.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.starts_with('/') {
        return Err(format!("`{prefix}` starts with `/`; a prefix is {PREFIX_RULE}"));
    }
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    for segment in body.split('/') {
        let problem = if segment.is_empty() {
            Some("has an empty segment (`//`)".to_string())
        } else if segment == "." || segment == ".." {
            Some(format!("has a `{segment}` segment"))
        } else {
            segment
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || PREFIX_PUNCTUATION.contains(*c)))
                .map(|c| format!("has the character {c:?}"))
        };
        if let Some(problem) = problem {
            return Err(format!("`{prefix}` {problem}; a prefix is {PREFIX_RULE}"));
        }
    }
    Ok(())
}

/// Checks a bucket name against S3's rules for general purpose buckets.
pub fn check_s3_bucket(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{name}` {why}; {BUCKET_RULE}"));
    if !(3..=63).contains(&name.len()) {
        return bad(&format!("has {} characters", name.chars().count()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return bad(&format!("has the character {c:?}"));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return bad("does not begin and end with a letter or digit");
    }
    if name.contains("..") {
        return bad("has two adjacent periods");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("is formatted as an IP address");
    }
    for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(reserved) {
            return bad(&format!("starts with the reserved prefix `{reserved}`"));
        }
    }
    for reserved in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(reserved) {
            return bad(&format!("ends with the reserved suffix `{reserved}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_that_would_be_rewritten_are_refused() {
        for ok in ["", "qsb", "quicksight-backups/", "team.a/prod_1", "a=b/c@d"] {
            assert_eq!(check_prefix(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("../../x", "`..`"),
            ("a/./b", "`.`"),
            ("/abs", "starts with `/`"),
            ("a//b", "empty segment"),
            ("a/b//", "empty segment"),
            ("my prefix", "' '"),
            ("a%2e%2e", "'%'"),
            ("x?y", "'?'"),
            ("caf\u{e9}", "'\u{e9}'"),
            ("a*b", "'*'"),
        ] {
            let message = check_prefix(bad).expect_err(bad);
            assert!(message.contains(why), "{bad}: {message}");
            assert!(
                message.contains("segments separated by"),
                "says what is accepted: {message}"
            );
        }
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "my.bucket.2026", "0bucket9", &"a".repeat(63)] {
            assert_eq!(check_s3_bucket(ok), Ok(()), "{ok}");
        }
        for bad in [
            "My_Bucket!",
            "ab",
            &"a".repeat(64),
            "Bucket",
            "my_bucket",
            "-bucket",
            "bucket-",
            ".bucket",
            "my..bucket",
            "192.168.5.4",
            "xn--bucket",
            "sthree-bucket",
            "amzn-s3-demo-bucket",
            "bucket-s3alias",
            "bucket--ol-s3",
            "bucket.mrap",
            "bucket--x-s3",
            "bucket--table-s3",
        ] {
            let message = check_s3_bucket(bad).expect_err(bad);
            assert!(
                message.contains("3 to 63 characters"),
                "says what is accepted: {message}"
            );
        }
    }
}
