//! The one sanitizer for text that reaches a terminal. Strings from state files, the journal
//! and the network are untrusted: a session key or a label can hold escape sequences that
//! rewrite the screen, set the window title (OSC 0) or plant a link (OSC 8), carriage returns
//! that overwrite a line, or bidi overrides that reorder what is shown. Text output passes
//! through here last, so the only control character that reaches the terminal is the newline
//! clawauth itself writes between lines; `--json` never passes here (JSON escapes its strings
//! and carries the exact values).

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that reorder or hide text without being control characters: bidi embeddings,
/// overrides and isolates, the line and paragraph separators, and zero-width marks.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// One character as it is shown: `\e` for ESC, `\r`, `\t`, `\0`, else `\u{XX}`.
fn escape(c: char, out: &mut String) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn unsafe_char(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && c == '\n')) || invisible(c)
}

/// A whole block of text output: every control character except the newline, and every
/// invisible reordering character, is shown escaped.
pub fn terminal_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| unsafe_char(c, true)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c, true) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One untrusted value inside a line: newlines escaped too (`\n`), so a value can never start
/// a line of its own, and shortened to `max` characters with its full length shown.
pub fn value(s: &str, max: usize) -> Cow<'_, str> {
    // only the first `max` characters are walked to tell (a 10 MiB label is not counted whole)
    let long = s.len() > max && s.chars().nth(max).is_some();
    if !long && !s.chars().any(|c| unsafe_char(c, false)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            let _ = write!(out, "…({} bytes)", s.len());
            break;
        }
        if c == '\n' {
            out.push_str("\\n");
        } else if unsafe_char(c, false) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of text output: every control character, the newline included, and every invisible
/// reordering character shown escaped, so values interpolated into it can never end it or
/// start a line of their own. Not shortened (the printer caps every line).
pub fn line(s: &str) -> Cow<'_, str> {
    value(s, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_drives_a_terminal() {
        let hostile = "agent:main:\u{1b}]0;pwned\u{7}x\u{1b}[2J\rover\u{202e}txt\u{9b}31m";
        let shown = terminal_text(hostile);
        assert!(!shown.chars().any(|c| c.is_control() || invisible(c)), "{shown}");
        assert_eq!(shown, "agent:main:\\e]0;pwned\\u{7}x\\e[2J\\rover\\u{202e}txt\\u{9b}31m");
        assert_eq!(terminal_text("line one\nline two"), "line one\nline two");
        assert!(matches!(terminal_text("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_value_never_breaks_a_line_and_is_bounded() {
        assert_eq!(value("a\nb", 100), "a\\nb");
        let big = "x".repeat(10 << 20);
        let v = value(&big, 200);
        assert!(v.len() < 300 && v.ends_with(&format!("…({} bytes)", 10 << 20)), "{}", &v[..50]);
        assert!(matches!(value("bob@example.com", 200), Cow::Borrowed(_)));
    }

    #[test]
    fn a_line_stays_one_line() {
        let key = "agent:main:x\nFAKE ROW\r\u{1b}[2J";
        assert_eq!(line(&format!("  {key}  ok")), "  agent:main:x\\nFAKE ROW\\r\\e[2J  ok");
    }
}
