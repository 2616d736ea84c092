//! Colour and width of text output, decided once per run: colour from `--color`, `NO_COLOR`,
//! `CLICOLOR_FORCE` and whether stdout is a terminal (anstream's rules, the ones clap's own
//! help follows); the width from `COLUMNS`, else the terminal, else none (a pipe gets lines as
//! they are). Both apply to text that has already been through the sanitizer: a line is
//! wrapped, then emphasis is added by the shape of the lines clawauth's own renderers write,
//! so an escape sequence can only come from here, never from data. `--json` never comes here.

use crate::args::ColorWhen;
use anstyle::{AnsiColor, Style};
use std::io::IsTerminal;
use std::sync::OnceLock;

static COLOR: OnceLock<bool> = OnceLock::new();
static WIDTH: OnceLock<Option<usize>> = OnceLock::new();

/// Decide colour and width for this run (the first call wins); `fallback_width` is used when
/// neither `COLUMNS` nor a terminal gives one (the demo tells its story in 99 columns).
pub fn init(when: ColorWhen, fallback_width: Option<usize>) {
    let stdout = std::io::stdout();
    let on = match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        // NO_COLOR wins, then CLICOLOR_FORCE, then "is it a terminal" (and TERM != dumb)
        ColorWhen::Auto => anstream::AutoStream::choice(&stdout) != anstream::ColorChoice::Never,
    };
    let _ = COLOR.set(on);
    let _ = WIDTH.set(detect_width(stdout.is_terminal()).or(fallback_width));
}

fn detect_width(tty: bool) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
        if n > 0 {
            return Some(n.max(MIN_WIDTH));
        }
    }
    if !tty {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| (w.0 as usize).max(MIN_WIDTH))
}

/// Narrower than this, wrapping helps nobody.
const MIN_WIDTH: usize = 40;

pub fn color() -> bool {
    *COLOR.get().unwrap_or(&false)
}

/// The width text output must fit, when there is one.
pub fn width() -> Option<usize> {
    *WIDTH.get().unwrap_or(&None)
}

/// Sanitized text to what is printed: wrapped to the width, then emphasised.
pub fn finish(clean: &str) -> String {
    let wrapped = match width() {
        Some(w) => wrap(clean, w),
        None => clean.to_string(),
    };
    if color() {
        paint(&wrapped)
    } else {
        wrapped
    }
}

fn cols(s: &str) -> usize {
    s.chars().count()
}

/// Wrap every line wider than `w` at spaces. A continuation line is indented to the line's
/// value column (the text after its first run of two or more spaces: doctor's `layers    x`,
/// explain's `2 auth order           x`, a table's second column) when that leaves room, else
/// four past the line's own indent. A single token wider than the room (a long path) stays
/// whole on its own line: cutting it would make it wrong to copy.
pub fn wrap(text: &str, w: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for l in text.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        if cols(body) <= w {
            out.push_str(l);
            continue;
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let hang = value_column(body).filter(|&c| c <= w / 2).unwrap_or((indent + 4).min(w / 2));
        let pad = " ".repeat(hang);
        let mut line = String::from(&body[..indent]);
        let mut line_cols = indent;
        let mut first_word = true;
        for word in body[indent..].split(' ') {
            let wc = cols(word);
            if !first_word && line_cols + 1 + wc > w && line.trim() != "" {
                out.push_str(line.trim_end());
                out.push('\n');
                line = pad.clone();
                line_cols = hang;
                first_word = true;
            }
            if !first_word {
                line.push(' ');
                line_cols += 1;
            }
            line.push_str(word);
            line_cols += wc;
            first_word = false;
        }
        out.push_str(line.trim_end());
        if l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Column where a line's value starts: after the first run of two or more spaces past the indent.
fn value_column(body: &str) -> Option<usize> {
    let indent = body.len() - body.trim_start_matches(' ').len();
    let rest = &body[indent..];
    let gap = rest.find("  ")?;
    let after = rest[gap..].len() - rest[gap..].trim_start_matches(' ').len();
    Some(cols(&body[..indent + gap]) + after)
}

const HEADING: Style = Style::new().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const INFO: Style = AnsiColor::Cyan.on_default();
const GOOD: Style = AnsiColor::Green.on_default();
const TABLE_HEAD: Style = Style::new().bold().underline();

fn styled(s: Style, text: &str) -> String {
    format!("{}{text}{}", s.render(), s.render_reset())
}

/// Emphasis by line shape: doctor's severities, section headings, table headers, verdicts and
/// the ok/missing marks of `status`' file list. Everything else is left as it is.
pub fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for l in text.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        out.push_str(&paint_line(body));
        if l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn paint_line(body: &str) -> String {
    let trimmed = body.trim_start_matches(' ');
    let indent = &body[..body.len() - trimmed.len()];
    for (word, style) in [
        ("ERROR ", ERROR),
        ("WARNING ", WARNING),
        ("INFO ", INFO),
        ("error:", ERROR),
        ("warning:", WARNING),
        ("missing ", WARNING),
        ("stranded ", ERROR),
        ("ok ", GOOD),
    ] {
        if trimmed.starts_with(word) && (indent.is_empty() || !word.ends_with(':')) {
            let w = word.trim_end();
            return format!("{indent}{}{}", styled(style, w), &trimmed[w.len()..]);
        }
    }
    if let Some(rest) = trimmed.strip_prefix("verdict:") {
        return format!("{indent}{}{rest}", styled(HEADING, "verdict:"));
    }
    let is_heading = (indent.is_empty() && (trimmed.starts_with("agent ") || trimmed.starts_with("# ")))
        || (indent.len() == 2 && trimmed.ends_with(':') && !trimmed.contains("  "));
    if is_heading {
        return format!("{indent}{}", styled(HEADING, trimmed));
    }
    if is_table_header(trimmed) {
        return format!("{indent}{}", styled(TABLE_HEAD, trimmed));
    }
    body.to_string()
}

/// A table's header row: at least three columns, every one in capitals.
fn is_table_header(s: &str) -> bool {
    let cells: Vec<&str> = s.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    cells.len() >= 3
        && cells.iter().all(|c| {
            c.chars().any(|ch| ch.is_ascii_uppercase())
                && !c.chars().any(|ch| ch.is_lowercase())
                && !c.contains(':')
                && !c.chars().any(|ch| ch.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_fits_and_keeps_words() {
        let line = format!("                layers    {}", "word ".repeat(40));
        let out = wrap(&line, 80);
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(out.lines().skip(1).all(|l| l.starts_with(&" ".repeat(26))), "{out}");
        assert_eq!(out.split_whitespace().collect::<Vec<_>>(), line.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn a_long_token_stays_whole() {
        let tok = "x".repeat(120);
        let out = wrap(&format!("  archives: {tok}, y"), 80);
        assert!(out.lines().any(|l| l.trim() == format!("{tok},")), "{out}");
    }

    #[test]
    fn paint_only_known_shapes() {
        assert!(paint("ERROR    CA010  x").starts_with("\x1b["));
        assert!(!paint("    openai:alice  oauth  acct").contains('\x1b'));
        assert!(paint("    ID  TYPE  ACCOUNT").contains('\x1b'));
    }
}
