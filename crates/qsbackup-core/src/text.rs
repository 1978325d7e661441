//! Text from an account (asset, user and group names, service messages) made safe to print: a
//! name holding an escape sequence, a carriage return or a line break must not recolour a
//! terminal, overwrite a line or forge a report line.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters a terminal acts on: C0 and C1 controls, DEL, and the bidirectional overrides
/// and isolates that reorder what is shown.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(out: &mut String, c: char) {
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

/// `s` with every control character escaped (`\x1b`, `\r`, `\n`, `\u{9b}`, ...): for one
/// value inside a line.
pub fn printable(s: &str) -> Cow<'_, str> {
    escape_if(s, unsafe_char)
}

/// `s` with every control character but line breaks and tabs escaped: for whole text whose
/// layout is its own, as a last guard before a terminal or a log file.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    escape_if(s, |c| unsafe_char(c) && c != '\n' && c != '\t')
}

fn escape_if(s: &str, bad: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_kept() {
        assert_eq!(printable("Sales dashboard é"), "Sales dashboard é");
        assert_eq!(printable("a\x1b[31mb\rc\nd"), "a\\x1b[31mb\\rc\\nd");
        assert_eq!(printable("x\u{9b}y\u{202e}z"), "x\\u{9b}y\\u{202e}z");
        assert_eq!(printable_lines("one\x1b[2K\ntwo\r\n"), "one\\x1b[2K\ntwo\\r\n");
    }
}
