//! Every byte the binary writes that is not a preview or a prompt: the JSON printer, the
//! outcome of a transaction, the error printer and the mapping of errors to exit codes.

use clawauth_core::error::Error;
use clawauth_core::txn::engine::{Engine, Outcome};

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

/// Text that holds a diff (previews, `show`): emphasised, headings and step titles wrapped, but
/// never a diff line, so each stays as the file has it.
pub fn print_diffable(s: &str) {
    use std::io::Write;
    let clean = text(s);
    let fitted = match crate::style::width() {
        // diff lines (` `, `+`, `-`, `@@`) and the step details under them stay as they are
        Some(w) => clean
            .split_inclusive('\n')
            .map(|l| if l.starts_with([' ', '+', '-', '@']) { l.to_string() } else { crate::style::wrap(l, w) })
            .collect(),
        None => clean.into_owned(),
    };
    let out = if crate::style::color() { crate::style::paint_diff(&fitted) } else { fitted };
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}

/// One line of text output (a newline is added).
pub fn print_line(s: &str) {
    print_text(&format!("{s}\n"));
}

/// The longest line of text output; longer ones are shortened, saying by how much.
pub const LINE_CAP: usize = 4096;

/// The engine's notes for the person, on stderr.
pub fn flush_notes(engine: &mut Engine) {
    for n in engine.notes.drain(..) {
        eprintln!("note: {}", text(&n));
    }
}

/// What a transaction came to: nothing to do, saved as planned, or applied.
pub fn outcome(engine: &mut Engine, outcome: &Outcome, json: bool) {
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
        print_json(&serde_json::json!({
            "schema_version": 1,
            "outcome": what,
            "txn": id,
            "plan": crate::preview::plan_json(plan, &engine.state_dir),
        }));
    } else if what == "planned" {
        println!("Saved as planned transaction {id}. Apply it later with `clawauth apply {id}`.");
    } else {
        println!("Applied transaction {id}. Undo it with `clawauth undo {id}`.");
    }
}

/// The one error printer: `error:`, each `caused by:`, then a `hint:`; returns the exit code.
pub fn print_error(e: &Error) -> i32 {
    eprintln!("error: {}", text(&e.to_string()));
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        eprintln!("caused by: {}", text(&s.to_string()));
        src = s.source();
    }
    if let Some(h) = e.hint() {
        eprintln!("hint: {}", text(&h));
    }
    exit_code(e)
}

/// Each kind of error to its documented exit code.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Usage(_) => exit::USAGE,
        Error::Conflict { .. } => exit::CONFLICT,
        Error::State(_)
        | Error::Io { .. }
        | Error::BadFile { .. }
        | Error::Sqlite { .. }
        | Error::NotFound(_)
        | Error::Declined(_)
        | Error::Journal { .. }
        | Error::Other(_) => exit::ERROR,
    }
}
