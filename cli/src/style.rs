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
        Some(w) => wrap(&fit_tables(clean, w), w),
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

/// Tables (a header row in capitals and the aligned rows under it) wider than `w` get their
/// widest columns narrowed, down to 10 characters each (16 for the first and the last); `--json`
/// has the full values. A table that cannot fit that way is left to `wrap`.
pub fn fit_tables(text: &str, w: usize) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let trimmed = l.trim_start_matches(' ');
        if !is_table_header(trimmed) || cols(l) <= w && !rows_wider(&lines[i + 1..], l, w) {
            out.push(l.to_string());
            i += 1;
            continue;
        }
        let indent = l.len() - trimmed.len();
        let mut end = i + 1;
        while end < lines.len() {
            let r = lines[end];
            let ri = r.len() - r.trim_start_matches(' ').len();
            if r.trim().is_empty() || ri != indent {
                break;
            }
            end += 1;
        }
        match fit_table(&lines[i..end], indent, w) {
            Some(fitted) => out.extend(fitted),
            None => out.extend(lines[i..end].iter().map(|s| s.to_string())),
        }
        i = end;
    }
    out.join("\n")
}

/// A cell cut to `w` columns, predictably: an id or key (no spaces) keeps two thirds of its
/// start and a third of its end around a `…`, so keys that differ only at the end
/// (`agent:main…:1001`, `agent:main…:1002`) stay apart; text keeps its start.
fn cut(cell: &str, w: usize) -> String {
    let ch: Vec<char> = cell.chars().collect();
    if w < 2 || ch.len() <= w {
        return ch.into_iter().take(w).collect();
    }
    if cell.contains(' ') {
        return format!("{}…", ch[..w - 1].iter().collect::<String>());
    }
    let tail = (w - 1) / 3;
    let head = w - 1 - tail;
    format!("{}…{}", ch[..head].iter().collect::<String>(), ch[ch.len() - tail..].iter().collect::<String>())
}

/// Whether any row of the table starting after `header` is wider than `w`.
fn rows_wider(rest: &[&str], header: &str, w: usize) -> bool {
    let indent = header.len() - header.trim_start_matches(' ').len();
    rest.iter()
        .take_while(|r| !r.trim().is_empty() && r.len() - r.trim_start_matches(' ').len() == indent)
        .any(|r| cols(r) > w)
}

fn fit_table(block: &[&str], indent: usize, w: usize) -> Option<Vec<String>> {
    let header: Vec<char> = block[0].chars().collect();
    // column starts: the header's first cell, then each cell after a run of 2+ spaces
    let mut starts = vec![indent];
    for p in indent + 2..header.len() {
        if header[p] != ' ' && header[p - 1] == ' ' && header[p - 2] == ' ' {
            starts.push(p);
        }
    }
    let n = starts.len();
    let mut rows: Vec<Vec<String>> = vec![];
    for line in block {
        let ch: Vec<char> = line.chars().collect();
        let mut cells = vec![];
        for c in 0..n {
            let from = starts[c];
            let to = if c + 1 < n { starts[c + 1] } else { ch.len() };
            // aligned: the cell starts where its header does, after a separator
            if c > 0 && from < ch.len() && ch.get(from - 1) != Some(&' ') {
                return None;
            }
            let cell: String = ch.get(from.min(ch.len())..to.min(ch.len())).unwrap_or(&[]).iter().collect();
            cells.push(cell.trim_end().to_string());
        }
        rows.push(cells);
    }
    let mut widths: Vec<usize> = (0..n).map(|c| rows.iter().map(|r| cols(&r[c])).max().unwrap_or(0)).collect();
    // the first column names the row (an id, a session key): it keeps the most
    let mins: Vec<usize> =
        widths.iter().enumerate().map(|(c, &wd)| wd.min(if c == 0 || c + 1 == n { 16 } else { 10 })).collect();
    let total = |ws: &[usize]| indent + ws.iter().sum::<usize>() + 2 * (n - 1);
    while total(&widths) > w {
        let c = (0..n).filter(|&c| widths[c] > mins[c]).max_by_key(|&c| widths[c] - mins[c])?;
        widths[c] -= 1;
    }
    let pad = " ".repeat(indent);
    Some(
        rows.iter()
            .map(|r| {
                let cells: Vec<String> = (0..n)
                    .map(|c| {
                        let cell = if cols(&r[c]) > widths[c] { cut(&r[c], widths[c]) } else { r[c].clone() };
                        format!("{cell:<wd$}", wd = widths[c])
                    })
                    .collect();
                format!("{pad}{}", cells.join("  ")).trim_end().to_string()
            })
            .collect(),
    )
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

/// `paint`, and a diff's added lines green, removed lines red, hunk headers cyan.
pub fn paint_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for l in text.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        let style = if body.starts_with("+++ ") || body.starts_with("--- ") {
            Some(HEADING)
        } else if body.starts_with('+') {
            Some(GOOD)
        } else if body.starts_with('-') {
            Some(AnsiColor::Red.on_default())
        } else if body.starts_with("@@") {
            Some(INFO)
        } else {
            None
        };
        match style {
            Some(s) => out.push_str(&styled(s, body)),
            None => out.push_str(&paint_line(body)),
        }
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

/// A table's header row: at least three columns, each starting with a word in capitals
/// (`ID`, `USAGE SHOWN FOR`, `EMAIL (stored / token)`).
fn is_table_header(s: &str) -> bool {
    let cells: Vec<&str> = s.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    cells.len() >= 3
        && cells.iter().all(|c| {
            let first = c.split(' ').next().unwrap_or("");
            first.len() >= 2 && first.chars().all(|ch| ch.is_ascii_uppercase() || ch == '/' || ch == '_')
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
    fn tables_narrow_their_widest_columns() {
        let t = "  ID                        TYPE   ACCOUNT\n  openai:alice@example.com  oauth  acct-alice-personal-0001\n  b                         oauth  x\n";
        let out = fit_tables(t, 50);
        assert!(out.lines().all(|l| l.chars().count() <= 50), "{out}");
        assert_eq!(out.lines().nth(1).unwrap(), "  openai:alice@…le.com  oauth  acct-alice-p…l-0001", "{out}");
        assert!(out.lines().nth(2).unwrap().contains("oauth"), "{out}");
        // already narrow enough: untouched
        assert_eq!(fit_tables(t, 200), t);
    }

    #[test]
    fn cut_keeps_ids_apart() {
        assert_eq!(cut("openai:alice@example.com", 16), "openai:ali…e.com");
        assert_eq!(cut("openai:alice-team", 16), "openai:ali…-team");
        assert_eq!(cut("agent:main:telegram:direct:1001", 16), "agent:main…:1001");
        assert_eq!(cut("cooldown in 55m (rate_limit)", 12), "cooldown in…");
        assert_eq!(cut("short", 12), "short");
    }

    #[test]
    fn paint_only_known_shapes() {
        assert!(paint("ERROR    CA010  x").starts_with("\x1b["));
        assert!(!paint("    openai:alice  oauth  acct").contains('\x1b'));
        assert!(paint("    ID  TYPE  ACCOUNT").contains('\x1b'));
    }
}
