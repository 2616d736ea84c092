//! The repair commands (`order`, `pin`, `unpin`, `restore-token`, `resync`, `cooldown`,
//! `profile`, `preference`, `lastgood`, `rekey-state`): each is its arguments turned into a
//! typed `Repair`, run through `mutate`.

use crate::args::{Command, CooldownCmd, LastgoodCmd, MutateArgs, OrderCmd, PreferenceCmd, ProfileCmd};
use clawauth_core::workflow::Repair;

/// The `Repair` a command names, with its `--yes`/`--dry-run`; any other command comes back.
pub fn from_command(cmd: Command) -> Result<(Repair, MutateArgs), Box<Command>> {
    Ok(match cmd {
        Command::Order(OrderCmd::Set { provider, ids, m }) => (Repair::OrderSet { provider, ids }, m),
        Command::Order(OrderCmd::Clear { provider, m }) => (Repair::OrderClear { provider }, m),
        Command::Pin { session, profile, source, m } => (Repair::Pin { session, profile, source }, m),
        Command::Unpin { session, m } => (Repair::Unpin { session }, m),
        Command::RestoreToken { profile, from, force, list: false, m } => {
            (Repair::RestoreToken { profile, from, force }, m)
        }
        Command::Resync { session, all: _, auto_only, m } => (Repair::Resync { session, auto_only }, m),
        Command::Activate { repo_profile, session, force, m } => (Repair::Activate { repo_profile, session, force }, m),
        Command::Cooldown(CooldownCmd::Clear { profile, all: _, m }) => (Repair::CooldownClear { profile }, m),
        Command::ProfileCmd(ProfileCmd::Remove { id, m }) => (Repair::ProfileRemove { id }, m),
        Command::ProfileCmd(ProfileCmd::Rename { old, new, m }) => (Repair::ProfileRename { old, new }, m),
        Command::ProfileCmd(ProfileCmd::Merge { keep, drop, m }) => (Repair::ProfileMerge { keep, drop }, m),
        Command::Preference(PreferenceCmd::Set { id, m }) => (Repair::PreferenceSet { id }, m),
        Command::Lastgood(LastgoodCmd::Set { provider, id, m }) => (Repair::LastgoodSet { provider, id }, m),
        Command::Lastgood(LastgoodCmd::Clear { provider, m }) => (Repair::LastgoodClear { provider }, m),
        Command::RekeyState { m } => (Repair::RekeyState, m),
        Command::Revalidate { session, m } => (Repair::Revalidate { session }, m),
        other => return Err(Box::new(other)),
    })
}
