//! Every byte the binary writes that is not a preview or a prompt: the text renderers of each
//! report (one module per command), the JSON printer, the outcome of a transaction, the error
//! printer and the mapping of errors to exit codes.

/// `writeln!` for text output that interpolates untrusted values: the formatted text becomes
/// exactly one line (`clawauth_core::sanitize::line`), whatever its values hold. `outln!(o)`
/// writes an empty line.
macro_rules! outln {
    ($o:expr) => {
        $o.push('\n')
    };
    ($o:expr, $($arg:tt)*) => {{
        let l = format!($($arg)*);
        $o.push_str(&clawauth_core::sanitize::line(&l));
        $o.push('\n');
    }};
}
pub(crate) use outln;

pub mod doctor;
pub mod explain;
pub mod restore;
pub mod status;
pub mod usage;

use clawauth_core::error::Error;
use clawauth_core::txn::engine::{Engine, Outcome};
use clawauth_core::txn::settle::Settle;

/// The widest a table cell is shown (characters); a longer value is shortened, its length shown.
pub const CELL_CAP: usize = 256;

/// Columns aligned on the widest cell, each line prefixed by `indent`, trailing spaces cut.
/// Every cell is one line (`sanitize::value`): a newline inside a session key or a label can
/// never make a row of its own; and at most `CELL_CAP` characters, its length shown, since
/// every row is padded to the widest cell (one 1 MiB session key made a 305-session
/// `status --all` build 650 MB of padding).
pub fn table(rows: &[Vec<String>], indent: &str) -> String {
    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> =
        rows.iter().map(|r| r.iter().map(|c| clawauth_core::sanitize::value(c, CELL_CAP)).collect()).collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let w: Vec<usize> =
        (0..cols).map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = indent.to_string();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Exit codes shared by every command (documented in `--help`).
pub mod exit {
    pub use clawauth_core::error::exit::*;
}

/// Print a report as pretty JSON, streamed (a 100k-session `status --all --json` is not built
/// as one string first).
pub fn print_json<T: serde::Serialize>(v: &T) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // a closed pipe (`| head`) is not an error worth a panic
    if serde_json::to_writer_pretty(&mut out, v).is_ok() {
        let _ = writeln!(out);
    }
    let _ = out.flush();
}

/// Text for the terminal, through the one sanitizer: strings from state files, the journal or
/// the network may hold escape sequences, carriage returns or bidi overrides; only clawauth's
/// own newlines pass (`clawauth_core::sanitize`). `--json` never goes through here.
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    let clean = clawauth_core::sanitize::terminal_text(s);
    if !clean.lines().any(|l| l.len() > LINE_CAP) {
        return clean;
    }
    // a value of megabytes (a label, a key) must not become megabytes of terminal output
    let mut out = String::with_capacity(s.len().min(1 << 20));
    for l in clean.split_inclusive('\n') {
        let body = l.trim_end_matches('\n');
        if body.len() > LINE_CAP {
            let cut = (0..=LINE_CAP).rev().find(|&i| body.is_char_boundary(i)).unwrap_or(0);
            out.push_str(&body[..cut]);
            out.push_str(&format!("…({} more bytes)", body.len() - cut));
            out.push_str(&l[body.len()..]);
        } else {
            out.push_str(l);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One line of text output through the sanitizer, with every newline inside it escaped too
/// (`\n`): for a note, a warning or a line that interpolates untrusted values.
pub fn line(s: &str) -> String {
    text(&clawauth_core::sanitize::line(s)).into_owned()
}

/// Print text output: sanitized, then fitted to the terminal width and emphasised
/// (`crate::style`), in that order, so colour never comes from data.
pub fn print_text(s: &str) {
    use std::io::Write;
    let out = crate::style::finish(&text(s));
    let mut so = std::io::stdout().lock();
    // a closed pipe (`| head`) is not an error worth a panic
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}

/// Text that holds a diff (previews, `show`): emphasised, notes and steps wrapped, but never a
/// diff line, so each stays as the file has it.
pub fn print_diffable(s: &str) {
    use std::io::Write;
    let clean = text(s);
    let fitted = match crate::style::width() {
        // a diff (from its `--- ` header to the first line that is not a diff line) stays as it is
        Some(w) => {
            let mut in_diff = false;
            clean
                .split_inclusive('\n')
                .map(|l| {
                    if l.starts_with("--- ") {
                        in_diff = true;
                    } else if in_diff && !l.starts_with([' ', '+', '-', '@', '\\']) {
                        in_diff = false;
                    }
                    if in_diff {
                        l.to_string()
                    } else {
                        crate::style::wrap(l, w)
                    }
                })
                .collect()
        }
        None => clean.into_owned(),
    };
    let out = if crate::style::color() { crate::style::paint_diff(&fitted) } else { fitted };
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}

/// One line of text output (a newline is added; one inside `s` is shown escaped).
pub fn print_line(s: &str) {
    print_text(&format!("{}\n", clawauth_core::sanitize::line(s)));
}

/// The longest line of text output; longer ones are shortened, saying by how much.
pub const LINE_CAP: usize = 4096;

/// The engine's notes for the person, on stderr.
pub fn flush_notes(engine: &mut Engine) {
    for n in engine.notes.drain(..) {
        eprintln!("note: {}", line(&n));
    }
}

/// What a transaction came to: nothing to do, saved as planned, or applied.
pub fn outcome(engine: &mut Engine, outcome: &Outcome, json: bool, settled: Option<&(i64, Settle)>) {
    let (what, id, plan) = match outcome {
        Outcome::NothingToDo => {
            if json {
                print_json(&serde_json::json!({"schema_version": 1, "outcome": "nothing_to_do"}));
            } else {
                println!("Nothing to do.");
            }
            return;
        }
        Outcome::Planned(id, plan) => ("planned", *id, plan),
        Outcome::Applied(id, plan) => ("applied", *id, plan),
    };
    flush_notes(engine);
    if json {
        let mut v = serde_json::json!({
            "schema_version": 1,
            "outcome": what,
            "txn": id,
            "plan": crate::preview::plan_json(plan, &engine.state_dir),
        });
        if let Some((_, s)) = settled {
            v["gateway"] = serde_json::to_value(s).unwrap_or_default();
        }
        print_json(&v);
    } else if what == "planned" {
        println!("Saved as planned transaction {id}. Apply it later with `clawauth apply {id}`.");
    } else {
        println!("Applied transaction {id}. Undo it with `clawauth undo {id}`.");
        if let Some((id, s)) = settled {
            settle(*id, s);
        }
    }
}

/// What a running gateway made of transaction `id`: one line when it settled; otherwise each
/// disagreement, loudly, on stderr, with the way out.
pub fn settle(id: i64, s: &Settle) {
    let who = format!(
        "gateway pid {} on 127.0.0.1:{}{}",
        s.gateway_pid,
        s.gateway_port,
        s.gateway_version.as_deref().map(|v| format!(" (OpenClaw {})", line(v))).unwrap_or_default()
    );
    let how: Vec<String> =
        s.reloads.iter().filter_map(|r| r.method.as_ref().map(|m| format!("{} ({m})", line(&r.agent)))).collect();
    let last = s.checks.last().map(|c| c.after_ms as f64 / 1000.0).unwrap_or(0.0);
    if s.settled && s.reload_unsupported {
        println!(
            "Settled on disk: the files hold transaction {id} now and {last:.1} s later. The {who} cannot be asked to reload by clawauth (a JSON-era release refuses a token-only client); it re-reads the changed stores by itself, so its next turn may still use what it read before."
        );
        return;
    }
    if s.settled {
        println!(
            "Settled: {who} reloaded agent {}; its order and the files agree with transaction {id} now and {last:.1} s later.",
            how.join(", ")
        );
        return;
    }
    if !s.reload_requested {
        return;
    }
    eprintln!("warning: transaction {id} is applied but did NOT settle beside the {who}:");
    for r in &s.reloads {
        if let Some(e) = &r.error {
            eprintln!("  reload of agent {} failed: {}", line(&r.agent), line(e));
        }
    }
    for c in &s.checks {
        let at = c.after_ms as f64 / 1000.0;
        for p in c.problems() {
            eprintln!("  {at:.1} s after: {}", line(&p));
        }
    }
    if let Some(w) = s.way_out(id) {
        eprintln!("hint: {}", line(&w));
    }
}

/// The one error printer: `error:` and the headline, the lines it lists (`Error::details`),
/// each `caused by:`, then a `hint:`; returns the exit code. Each is one line through `line`:
/// a profile id, a session key or a file name inside a message is shown with every control
/// character escaped, its newlines too, so the only line breaks are the printer's own.
pub fn print_error(e: &Error) -> i32 {
    eprintln!("error: {}", line(&e.headline()));
    for d in e.details() {
        eprintln!("  {}", line(d));
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        eprintln!("caused by: {}", line(&s.to_string()));
        src = s.source();
    }
    if let Some(h) = e.hint() {
        eprintln!("hint: {}", line(&h));
    }
    exit_code(e)
}

/// With `--json`, an error is JSON on stdout too: `{"schema_version": 1, "error": {"kind",
/// "message", "causes", "hint"}, "exit": N}` (the text error still goes to stderr).
pub fn error_json(e: &Error, code: i32) {
    let mut causes = vec![];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        causes.push(s.to_string());
        src = s.source();
    }
    print_json_error(error_kind(e), &e.to_string(), &e.to_string(), &causes, e.hint(), code);
}

/// The JSON error document (see `error_json`); `detail` is the full text when it says more
/// than `message` (a usage error's clap rendering).
pub fn print_json_error(kind: &str, message: &str, detail: &str, causes: &[String], hint: Option<String>, code: i32) {
    let mut err = serde_json::json!({"kind": kind, "message": message, "causes": causes, "hint": hint});
    if detail != message {
        err["detail"] = serde_json::Value::from(detail.trim_end());
    }
    print_json(&serde_json::json!({"schema_version": 1, "error": err, "exit": code}));
}

/// A stable name for each kind of error (`error.kind` in `--json`).
pub fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Usage(_) => "usage",
        Error::Conflict { .. } => "conflict",
        Error::LockHeld { .. } => "lock_held",
        Error::Refused(_) => "refused",
        Error::State(_) => "state",
        Error::Io { .. } => "io",
        Error::BadFile { .. } => "bad_file",
        Error::Sqlite { .. } => "sqlite",
        Error::NotFound(_) => "not_found",
        Error::NoState { .. } => "no_state",
        Error::Declined(_) => "declined",
        Error::Journal { .. } => "journal",
        Error::Other(_) => "other",
    }
}

/// Each kind of error to its documented exit code.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Usage(_) => exit::USAGE,
        Error::Conflict { .. } | Error::LockHeld { .. } => exit::CONFLICT,
        Error::State(_)
        | Error::Io { .. }
        | Error::BadFile { .. }
        | Error::Sqlite { .. }
        | Error::NotFound(_)
        | Error::NoState { .. }
        | Error::Declined(_)
        | Error::Refused(_)
        | Error::Journal { .. }
        | Error::Other(_) => exit::ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_cell_never_makes_a_row_of_its_own() {
        // a 10 MiB label of escapes and newlines and a 1 MiB key of newlines: one row, no control byte
        let label = "\u{1b}]0;x\u{7}\n".repeat(1 << 20);
        let rows = vec![vec!["KEY".to_string(), "LABEL".into()], vec!["k\n".repeat(1 << 19), label]];
        let t = table(&rows, "  ");
        assert_eq!(t.lines().count(), 2);
        assert!(!t.trim_end_matches('\n').bytes().any(|b| b < 0x20 && b != b'\n'), "a control byte in the table");
        assert!(t.lines().nth(1).unwrap().starts_with("  k\\nk\\n"));
    }

    #[test]
    fn outln_writes_exactly_one_line() {
        let mut o = String::new();
        let key = "agent:main:x\nFAKE ROW\r\u{1b}[2J";
        outln!(o, "  {key}  {}", "ok");
        outln!(o);
        assert_eq!(o, "  agent:main:x\\nFAKE ROW\\r\\e[2J  ok\n\n");
    }
}
