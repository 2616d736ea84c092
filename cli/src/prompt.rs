//! Asking the person: the plan preview on stdout and `[y/N]` on a terminal (refused without
//! one unless `--yes`). The engine receives this as its [`Confirm`] callback.

use clawauth_core::error::{Error, Result};
use clawauth_core::txn::engine::{Confirm, DocCache};
use clawauth_core::txn::plan::Plan;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

pub struct Tty {
    /// `--yes`: apply without asking.
    pub yes: bool,
    /// `--json`: no text preview on stdout.
    pub json: bool,
    /// `--dry-run`: the preview is the point.
    pub dry_run: bool,
}

impl Tty {
    /// Without a terminal and without `--yes` a change is refused: the refusal comes first,
    /// and the plan is shown only with `--dry-run`.
    fn refused(&self) -> bool {
        !self.yes && !self.dry_run && !std::io::stdin().is_terminal()
    }
}

impl Confirm for Tty {
    fn preview(&mut self, plan: &Plan, state_dir: &Path, docs: &mut DocCache) -> Result<()> {
        if self.refused() {
            return Err(Error::Declined(format!(
                "refused: no terminal to confirm on and no --yes, so nothing was written ({})",
                plan.summary
            )));
        }
        if !self.json {
            crate::output::print_diffable(&crate::preview::render_plan_with(plan, state_dir, docs));
        }
        Ok(())
    }

    fn confirm(&mut self, question: &str) -> Result<()> {
        if self.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::Declined("no terminal to confirm on: nothing was written".into()));
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Other(format!("cannot read the answer: {e}")))?;
        answer(&line)
    }
}

/// `y`/`yes` (any case) applies; anything else declines.
fn answer(line: &str) -> Result<()> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::Declined("declined: nothing was written".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_applies() {
        assert!(answer("y\n").is_ok());
        assert!(answer(" YES ").is_ok());
        assert!(matches!(answer("n\n"), Err(Error::Declined(_))));
        assert!(matches!(answer(""), Err(Error::Declined(_))));
    }
}
