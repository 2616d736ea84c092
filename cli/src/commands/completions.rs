//! `clawauth completions SHELL` and `clawauth man [--out DIR]`: generated from the same clap
//! definition the binary parses with, so they cannot drift from it.

use crate::args::{Cli, Shell};
use clap::CommandFactory;
use clawauth_core::error::{Error, Result};
use std::io::Write;
use std::path::Path;

pub fn completions(shell: Shell) -> Result<i32> {
    let mut cmd = Cli::command();
    let sh = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut out = std::io::stdout().lock();
    clap_complete::generate(sh, &mut cmd, "clawauth", &mut out);
    let _ = out.flush();
    Ok(0)
}

/// roff of one command (`clawauth`, or `clawauth-order-set` style names for subcommands).
fn page(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut buf = vec![];
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::Other(format!("cannot render the man page: {e}")))?;
    Ok(buf)
}

pub fn man(out: Option<&Path>) -> Result<i32> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = out else {
        // one page: the top command, then every subcommand's own page after it, so
        // `clawauth man | man -l -` shows everything
        let mut all = page(cmd.clone())?;
        for sub in all_subcommands(&cmd, "clawauth", "clawauth") {
            all.extend(page(sub)?);
        }
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(&all);
        let _ = so.flush();
        return Ok(0);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = vec![];
    for c in std::iter::once(cmd.clone()).chain(all_subcommands(&cmd, "clawauth", "clawauth")) {
        let p = dir.join(format!("{}.1", c.get_name()));
        std::fs::write(&p, page(c)?).map_err(|e| Error::io(&p, e))?;
        written.push(p);
    }
    for p in written {
        println!("{}", crate::output::text(&p.display().to_string()));
    }
    Ok(0)
}

/// Every subcommand at any depth, parents first, named as man pages are (`clawauth-order-set`).
fn all_subcommands(cmd: &clap::Command, prefix: &str, bin: &str) -> Vec<clap::Command> {
    let mut out = vec![];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{prefix}-{}", sub.get_name());
        let sub_bin = format!("{bin} {}", sub.get_name());
        // clap names are 'static; a one-shot command can afford the few bytes
        let static_name: &'static str = Box::leak(name.clone().into_boxed_str());
        out.push(sub.clone().name(static_name).bin_name(sub_bin.clone()).version(env!("CARGO_PKG_VERSION")));
        out.extend(all_subcommands(sub, &name, &sub_bin));
    }
    out
}
