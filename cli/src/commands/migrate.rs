//! `clawauth migrate --openclaw PATH | --before | --after`: a guarded OpenClaw upgrade, and
//! `undo`/`show` of one. The migration is a transaction (workflow `migrate`): a whole-tree
//! snapshot and every chat's identity are recorded first, OpenClaw's own `doctor --fix
//! --non-interactive` runs in an isolated environment with its output and exit code journaled,
//! then the repairs that give every chat its account back run as a second transaction linked
//! to it. `undo` restores the recorded tree.

use super::{load_state, mutating_engine, opts, tty};
use crate::args::{Global, MigrateArgs, MutateArgs};
use crate::output::{line, print_json};
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::model::release::{Release, Rules};
use clawauth_core::model::State;
use clawauth_core::txn::engine::{Confirm, Engine, Outcome};
use clawauth_core::txn::journal::Journal;
use clawauth_core::txn::migration::{self, MigrationRow, Phase};
use clawauth_core::txn::plan::Plan;
use clawauth_core::txn::status::{TxnKind, TxnStatus};
use clawauth_core::txn::tree::{self, Tree};
use clawauth_core::workflow::migrate::{self as mig, Difference, Record};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Every agent, whatever `--agent` says: an upgrade migrates the whole state dir.
fn all_agents(g: &Global) -> Global {
    Global { agent: None, all_agents: true, ..g.clone() }
}

fn load_all(g: &Global, ctx: &Context, rules: Option<Rules>) -> Result<State> {
    let mut state = load_state(&all_agents(g), ctx)?;
    for a in state.agents.iter_mut() {
        a.rules_override = g.rules.or(rules);
    }
    Ok(state)
}

/// What the snapshot and the comparison leave out: clawauth's own journal and its store.
fn skip_paths(state_dir: &Path, journal: &Path) -> Vec<PathBuf> {
    let mut v = vec![state_dir.join(".clawauth"), tree::store_dir(journal)];
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut s = journal.as_os_str().to_owned();
        s.push(suffix);
        v.push(PathBuf::from(s));
    }
    v
}

fn refuse_unreadable(state: &State) -> Result<()> {
    for a in &state.agents {
        if let Some(first) = a.unreadable.first() {
            return Err(Error::Refused(format!(
                "refusing to migrate agent {} while a live file cannot be read: {first}",
                a.paths.id
            )));
        }
    }
    Ok(())
}

fn refuse_gateway(state: &State) -> Result<()> {
    let b = clawauth_core::report::doctor::gateway_blockers(state, Path::new("/proc"));
    if b.is_empty() {
        return Ok(());
    }
    Err(Error::lock_held_list(
        "refusing to migrate while OpenClaw runs on this state dir:",
        b,
        "stop the OpenClaw gateway (`openclaw gateway stop`), then run the migration again",
    ))
}

fn scratch_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("clawauth-migrate-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))
}

fn sessions_count(r: &Record) -> usize {
    r.agents.iter().map(|a| a.sessions.len()).sum()
}

fn record_lines(r: &Record) -> Vec<String> {
    let mut out = vec![];
    for a in &r.agents {
        out.push(format!(
            "agent {}: layout {}, provider {}, rules of {}, {} profile(s), {} session(s)",
            a.id,
            a.layout,
            a.provider,
            a.rules,
            a.profiles.len(),
            a.sessions.len()
        ));
        for s in &a.sessions {
            let who = s.identity.as_ref().map(|i| i.label()).unwrap_or_else(|| "no account".into());
            let pin = match (&s.pin, &s.pin_source) {
                (Some(p), src) => format!(" (pin {p}, {})", src.as_deref().unwrap_or("no source")),
                _ => String::new(),
            };
            out.push(format!("  {} -> {} = {who}{pin}", s.key, s.profile.as_deref().unwrap_or("(none)")));
        }
    }
    out
}

fn diff_lines(d: &[Difference]) -> Vec<String> {
    d.iter().map(|x| format!("[{}] {} {}: {} -> {}", x.kind.as_str(), x.agent, x.subject, x.before, x.after)).collect()
}

fn tree_size(t: &Tree) -> (usize, u64) {
    t.values().filter(|e| e.kind == tree::Kind::File).fold((0, 0), |(n, s), e| (n + 1, s + e.size.unwrap_or(0)))
}

pub fn run(g: &Global, ctx: &Context, a: &MigrateArgs) -> Result<i32> {
    if a.after {
        let mut engine = mutating_engine(g, ctx)?;
        let id = match a.txn {
            Some(t) => t,
            None => migration::pending(&engine.journal)?.ok_or_else(|| {
                Error::NotFound("no pending migration: record one with `clawauth migrate --before` first".into())
            })?,
        };
        let release_to = match &a.openclaw {
            Some(p) => locate(ctx, p, a.node.as_deref())?.release,
            None => None,
        };
        return finish(g, ctx, &mut engine, id, release_to, &a.m);
    }
    let mut engine = mutating_engine(g, ctx)?;
    if let Some(p) = migration::pending(&engine.journal)? {
        return Err(Error::conflict_hint(
            format!("migration transaction {p} is still pending"),
            format!("finish it with `clawauth migrate --after`, or restore the tree with `clawauth undo {p}`"),
        ));
    }
    // --before never runs OpenClaw (the operator does), even when --openclaw names it
    let cli = match (&a.openclaw, a.before) {
        (_, true) => None,
        (Some(p), false) => Some(locate(ctx, p, a.node.as_deref())?),
        (None, false) => return Err(Error::Usage("migrate needs --openclaw PATH, --before or --after".into())),
    };
    if let Some(c) = &cli {
        match c.release {
            None => {
                return Err(Error::Usage(format!(
                    "cannot tell which OpenClaw release {} is (read {})",
                    c.argv.join(" "),
                    c.release_from
                )))
            }
            Some(r) if r < mig::OLDEST_TARGET => {
                return Err(Error::Usage(format!(
                    "OpenClaw {r} has no provider migration; `migrate` wraps the `doctor --fix` of {} and later",
                    mig::OLDEST_TARGET
                )))
            }
            _ => {}
        }
    }
    // before: everything is read and checked before a byte is written
    let state = load_all(g, ctx, None)?;
    refuse_unreadable(&state)?;
    refuse_gateway(&state)?;
    let rules_before = |ag: &clawauth_core::model::AgentState| g.rules.unwrap_or(Rules::of(mig::state_release(ag)));
    let before = mig::record(&state, &rules_before);
    let state_dir = engine.state_dir.clone();
    let skip = skip_paths(&state_dir, &engine.journal.path);
    let preview_tree = tree::scan(&state_dir, &skip, None)?;
    let (nfiles, nbytes) = tree_size(&preview_tree);
    let store = tree::store_dir(&engine.journal.path);
    let mut lines = vec![format!("Guarded OpenClaw upgrade of {}", state_dir.display())];
    lines.extend(record_lines(&before));
    lines.push(format!(
        "snapshot: {} entries, {nfiles} file(s), {nbytes} bytes, copied into {}",
        preview_tree.len(),
        store.display()
    ));
    match &cli {
        Some(c) => lines.push(format!(
            "will run: OpenClaw {} ({}) {} with OPENCLAW_STATE_DIR={} and a throw-away HOME",
            c.release.map(|r| r.to_string()).unwrap_or_default(),
            c.release_from,
            mig::migration_args().join(" "),
            state_dir.display()
        )),
        None => lines.push("will record a pending migration; you run OpenClaw's migration yourself".into()),
    }
    if !g.json {
        println!("{}", own_lines(&lines));
    }
    if a.m.dry_run {
        if g.json {
            print_json(
                &json!({"schema_version": 1, "outcome": "dry_run", "before": before.to_value(), "snapshot_entries": preview_tree.len()}),
            );
        } else {
            println!("Dry run: nothing recorded, nothing run.");
        }
        return Ok(0);
    }
    let mut t = tty(g, &a.m);
    t.confirm(if cli.is_some() {
        "Snapshot the state dir and run OpenClaw's migration?"
    } else {
        "Snapshot the state dir and record a pending migration?"
    })?;
    let from_release = state.agents.first().map(|ag| rules_before(ag).name());
    let plan = Plan::new(
        "migrate",
        match &cli {
            Some(c) => format!(
                "OpenClaw upgrade to {} with its own migration",
                c.release.map(|r| r.to_string()).unwrap_or_default()
            ),
            None => "OpenClaw upgrade (migration run by the operator)".to_string(),
        },
    );
    let id = engine.journal.record(
        ctx,
        &plan,
        TxnKind::Apply,
        TxnStatus::Planned,
        &engine.argv,
        &state_dir,
        None,
        false,
        &[],
    )?;
    let snap = match tree::scan(&state_dir, &skip, Some(&store)) {
        Ok(t) => t,
        Err(e) => {
            engine.journal.set_status(ctx, id, TxnStatus::Failed, Some(&format!("snapshot failed: {e}")))?;
            return Err(e);
        }
    };
    let row = MigrationRow {
        txn_id: id,
        phase: Phase::Before,
        store: store.display().to_string(),
        openclaw: a.openclaw.as_ref().map(|p| p.display().to_string()),
        release_from: from_release,
        release_to: None,
        layout_from: state.agents.first().map(|ag| ag.layout.name().to_string()),
        layout_to: None,
        record_before: before.to_value(),
        record_migrated: None,
        record_final: None,
        command: None,
        exit_code: None,
        stdout: None,
        stderr: None,
        ran_ms: None,
        repair_txn: None,
        undo_txn: None,
    };
    migration::insert(&mut engine.journal, &row, &snap)?;
    clawauth_core::txn::engine::failpoint(ctx, "migrate-before-run", engine.on_failpoint);
    eprintln!("recorded migration transaction {id}: {} entries snapshotted", snap.len());
    let Some(cli) = cli else {
        if g.json {
            print_json(&json!({"schema_version": 1, "outcome": "pending", "migration_txn": id}));
        } else {
            println!(
                "Pending migration {id}. Now stop the gateway, run OpenClaw's migration on this state dir, e.g.\n  OPENCLAW_STATE_DIR={} openclaw doctor --fix --non-interactive\nthen `clawauth migrate --after` (or `clawauth undo {id}` to restore the snapshot).",
                state_dir.display()
            );
        }
        return Ok(0);
    };
    // migrate
    let scratch = scratch_dir()?;
    let out = mig::run_isolated(
        &cli,
        &mig::migration_args(),
        Some(&state_dir),
        &ctx.env,
        scratch.path(),
        std::time::Duration::from_secs(a.timeout),
    )?;
    drop(scratch);
    let release_to = cli.release.map(|r| r.to_string());
    migration::set_ran(
        &engine.journal,
        id,
        &migration::Ran {
            openclaw: &cli.argv.join(" "),
            release_to: release_to.clone(),
            command: &out.command,
            exit_code: out.exit_code,
            stdout: &out.stdout,
            stderr: &out.stderr,
            ran_ms: out.ms,
        },
    )?;
    let migrated = tree::scan(&state_dir, &skip, None)?;
    migration::save_tree(&mut engine.journal, id, "migrated", &migrated)?;
    let changed = tree::diff(&snap, &migrated, true);
    eprintln!(
        "OpenClaw's migration exited {} after {} ms; {} path(s) changed",
        out.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "by a signal".into()),
        out.ms,
        changed.count()
    );
    if out.exit_code != Some(0) || out.timed_out {
        let why = if out.timed_out {
            format!("OpenClaw's migration timed out after {} s", a.timeout)
        } else {
            format!("OpenClaw's migration exited {:?}", out.exit_code)
        };
        engine.journal.set_status(ctx, id, TxnStatus::Failed, Some(&why))?;
        let lines: Vec<&str> = out.stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(12)..].iter().map(|l| l.to_string()).collect();
        return Err(Error::conflict_list(
            format!("{why}; its output is in `clawauth show {id}`. Last lines of its stderr:"),
            tail,
            format!("`clawauth undo {id}` restores the tree recorded before it ran"),
        ));
    }
    finish(g, ctx, &mut engine, id, cli.release, &a.m)
}

fn locate(ctx: &Context, p: &Path, node: Option<&Path>) -> Result<mig::OpenClawCli> {
    let scratch = scratch_dir()?;
    mig::locate(p, node, &ctx.env, scratch.path())
}

/// After OpenClaw's migration: read the new layout under the new release's rules, list what
/// changed for every chat, plan and apply the repairs, record the outcome.
fn finish(
    g: &Global,
    ctx: &Context,
    engine: &mut Engine,
    id: i64,
    release_to: Option<Release>,
    m: &MutateArgs,
) -> Result<i32> {
    let row = migration::get(&engine.journal, id)?
        .ok_or_else(|| Error::NotFound(format!("transaction {id} is not a migration")))?;
    if !matches!(row.phase, Phase::Before | Phase::Migrated) {
        return Err(Error::State(format!("migration {id} is {}; nothing to finish", row.phase.as_str())));
    }
    let before = Record::from_value(&row.record_before)
        .ok_or_else(|| Error::journal(&engine.journal.path, format!("migration {id}: unreadable before-record")))?;
    let state_dir = engine.state_dir.clone();
    let skip = skip_paths(&state_dir, &engine.journal.path);
    if row.phase == Phase::Before {
        // the operator ran OpenClaw: what the tree looks like now is the post-migration record
        let migrated = tree::scan(&state_dir, &skip, None)?;
        migration::save_tree(&mut engine.journal, id, "migrated", &migrated)?;
    }
    let release_to = release_to.or_else(|| row.release_to.as_deref().and_then(Release::parse));
    let state = load_all(g, ctx, release_to.map(Rules::of))?;
    refuse_unreadable(&state)?;
    let release_to = release_to.or_else(|| state.agents.first().map(|ag| ag.detect_release().release));
    let migrated = mig::record(&state, &|ag| ag.rules());
    migration::set_migrated(
        &engine.journal,
        id,
        release_to.map(|r| r.to_string()).as_deref(),
        state.agents.first().map(|ag| ag.layout.name()).unwrap_or("?"),
        &migrated.to_value(),
    )?;
    let diffs = mig::differences(&before, &migrated);
    let n_before = mig::accounts_changed(&diffs);
    if !g.json {
        println!(
            "\nWhat OpenClaw's migration changed ({} difference(s); {n_before} chat(s) on another account):",
            diffs.len()
        );
        for l in diff_lines(&diffs) {
            println!("  {}", line(&l));
        }
        println!();
    }
    let (plan, unresolved) = mig::plan_repairs(&state, &before, id)?;
    let outcome = engine.run(&plan, &opts(m, false), &mut tty(g, m), TxnKind::Apply, None)?;
    let repair_txn = match &outcome {
        Outcome::Applied(r, _) => Some(*r),
        Outcome::Planned(r, _) => {
            if g.json {
                print_json(
                    &json!({"schema_version": 1, "outcome": "planned", "migration_txn": id, "repair_txn": r, "differences": diffs}),
                );
            } else {
                println!("Repairs saved as planned transaction {r}; `clawauth apply {r}`, then `clawauth migrate --after --txn {id}` records the outcome.");
            }
            return Ok(0);
        }
        Outcome::NothingToDo => None,
    };
    crate::output::flush_notes(engine);
    let state = load_all(g, ctx, release_to.map(Rules::of))?;
    let mut fin = mig::record(&state, &|ag| ag.rules());
    fin.notes = unresolved.clone();
    let still = mig::differences(&before, &fin);
    let n_after = mig::accounts_changed(&still);
    migration::set_final(&engine.journal, id, repair_txn, &fin.to_value())?;
    let final_tree = tree::scan(&state_dir, &skip, None)?;
    migration::save_tree(&mut engine.journal, id, "final", &final_tree)?;
    engine.journal.set_status(ctx, id, TxnStatus::Applied, None)?;
    if g.json {
        print_json(&json!({
            "schema_version": 1,
            "outcome": "migrated",
            "migration_txn": id,
            "repair_txn": repair_txn,
            "release_to": release_to.map(|r| r.to_string()),
            "accounts_changed_without_repair": n_before,
            "accounts_changed_after_repair": n_after,
            "differences": diffs,
            "still_different": still,
            "unresolved": unresolved,
        }));
    } else {
        match repair_txn {
            Some(r) => println!("Applied repairs as transaction {r} (linked to migration {id})."),
            None => println!("No repair needed."),
        }
        if !still.is_empty() {
            println!("Still different from before the upgrade:");
            for l in diff_lines(&still) {
                println!("  {}", line(&l));
            }
        }
        for u in &unresolved {
            println!("  not restorable: {}", line(u));
        }
        println!(
            "Sessions whose account changed across the upgrade: {n_before} without clawauth's repairs, {n_after} after them ({} session(s) compared).",
            sessions_count(&before)
        );
        println!("Migration {id} complete. `clawauth show {id}` reports it; `clawauth undo {id}` restores the tree from before.");
    }
    Ok(0)
}

/// `undo TXN` of a migration: the recorded pre-migration tree, byte for byte. Refused when the
/// state was written since the post-migration record (unless `--force`).
pub fn undo(g: &Global, mut engine: Engine, id: i64, force: bool, m: &MutateArgs) -> Result<i32> {
    let ctx = engine.ctx;
    let row = migration::get(&engine.journal, id)?
        .ok_or_else(|| Error::NotFound(format!("transaction {id} is not a migration")))?;
    if row.phase == Phase::Undone {
        return Err(Error::conflict_hint(
            format!("migration {id} was already undone by transaction {}", row.undo_txn.unwrap_or(0)),
            "nothing to restore",
        ));
    }
    let state_dir = engine.state_dir.clone();
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let txn = engine.txn(id)?;
    if canon(Path::new(&txn.state_dir)) != canon(&state_dir) {
        return Err(Error::conflict(format!(
            "migration {id} was recorded for state dir {}, not {}",
            txn.state_dir,
            state_dir.display()
        )));
    }
    // restoring files under a running OpenClaw would hand it a tree it does not expect; a state
    // that cannot even be loaded (a migration that failed half-way) is restored all the same
    if let Ok(state) = load_all(g, ctx, None) {
        refuse_gateway(&state)?;
    }
    let skip = skip_paths(&state_dir, &engine.journal.path);
    let target = migration::load_tree(&engine.journal, id, "before")?
        .ok_or_else(|| Error::journal(&engine.journal.path, format!("migration {id} has no before-tree")))?;
    let store = PathBuf::from(&row.store);
    let now = tree::scan(&state_dir, &skip, None)?;
    let mut forced = false;
    if row.phase != Phase::Undoing {
        let refs: Vec<(&str, Tree)> = ["final", "migrated"]
            .iter()
            .filter_map(|n| migration::load_tree(&engine.journal, id, n).ok().flatten().map(|t| (*n, t)))
            .collect();
        // clawauth's repair undone by its own `undo`: the documents it wrote differ from the
        // post-OpenClaw record only by SQLite page layout, not by anything the gateway wrote
        let mut repair_docs: Vec<String> = vec![];
        if let Some(r) = row.repair_txn.filter(|r| engine.journal.reverted_by(*r).is_ok_and(|u| !u.is_empty())) {
            for st in engine.journal.steps(r)? {
                if let Ok(rel) = st.location.file().strip_prefix(&state_dir) {
                    repair_docs.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        let repaired_doc = |p: &str| {
            repair_docs.iter().any(|f| p == f || p.strip_prefix(f.as_str()).is_some_and(|s| s.starts_with('-')))
        };
        let matches = refs.is_empty()
            || refs.iter().any(|(_, t)| tree::diff(t, &now, true).is_empty())
            || (!repair_docs.is_empty()
                && refs.iter().any(|(n, t)| {
                    let d = tree::diff(t, &now, true);
                    *n == "migrated"
                        && d.added.is_empty()
                        && d.removed.is_empty()
                        && d.changed.iter().all(|p| repaired_doc(p))
                }));
        if !matches {
            let (name, reference) = &refs[0];
            let d = tree::diff(reference, &now, true);
            let msg = format!(
                "the state was written since the post-migration record ({name}): {} path(s) differ:",
                d.count()
            );
            if !force {
                return Err(Error::conflict_list(
                    format!("cannot undo migration {id}; {msg}"),
                    d.lines(12),
                    "a running gateway or a later change wrote these; pass --force to restore the pre-migration tree anyway (those writes are lost)",
                ));
            }
            eprintln!("warning: forced: {}", line(&msg));
            for l in d.lines(12) {
                eprintln!("  {}", line(&l));
            }
            forced = true;
        }
    }
    tree::verify_objects(&store, &target)?;
    let d = tree::diff(&now, &target, true);
    let mut lines = vec![format!("Undo migration {id}: restore the state dir as it was before OpenClaw's migration")];
    lines.extend(d.removed.iter().map(|p| format!("  remove   {p}")));
    lines.extend(d.added.iter().map(|p| format!("  put back {p}")));
    lines.extend(d.changed.iter().map(|p| format!("  restore  {p}")));
    if let Some(r) = row.repair_txn {
        lines.push(format!("  (this also reverts clawauth's repairs, transaction {r})"));
    }
    if !g.json {
        println!("{}", own_lines(&lines));
    }
    if m.dry_run {
        if !g.json {
            println!("Dry run: nothing written.");
        }
        return Ok(0);
    }
    tty(g, m).confirm(&format!("Restore {} path(s)?", d.count()))?;
    let plan = Plan::new("migrate-undo", format!("undo migration {id}: restore the pre-migration tree"));
    let uid = match row.undo_txn.filter(|_| row.phase == Phase::Undoing) {
        Some(u) => u,
        None => engine.journal.record(
            ctx,
            &plan,
            TxnKind::Undo,
            TxnStatus::Planned,
            &engine.argv,
            &state_dir,
            Some(id),
            forced,
            &[],
        )?,
    };
    engine.journal.set_status(ctx, uid, TxnStatus::Applying, None)?;
    migration::set_undo(&engine.journal, id, uid, Phase::Undoing)?;
    clawauth_core::txn::engine::failpoint(ctx, "migrate-undo-before-restore", engine.on_failpoint);
    let done = tree::restore(&state_dir, &skip, &store, &target)?;
    clawauth_core::txn::engine::failpoint(ctx, "migrate-undo-before-mark", engine.on_failpoint);
    let back = tree::scan(&state_dir, &skip, None)?;
    let left = tree::diff(&target, &back, true);
    if !left.is_empty() {
        let msg = format!("after restoring, {} path(s) still differ: {}", left.count(), left.lines(8).join(", "));
        engine.journal.set_status(ctx, uid, TxnStatus::Failed, Some(&msg))?;
        return Err(Error::Other(format!("{msg}; run `clawauth undo {id}` again")));
    }
    engine.journal.set_status(ctx, uid, TxnStatus::Applied, None)?;
    migration::set_undo(&engine.journal, id, uid, Phase::Undone)?;
    if g.json {
        print_json(&json!({"schema_version": 1, "outcome": "applied", "txn": uid, "reverts": id, "restored": done}));
    } else {
        println!(
            "Applied transaction {uid}: {} path(s) restored; the state dir is byte-identical to before migration {id}.",
            done.len()
        );
    }
    Ok(0)
}

/// `show TXN` of a migration: what OpenClaw changed, what clawauth repaired, what still differs.
pub fn show(g: &Global, j: &Journal, row: &clawauth_core::txn::journal::TxnRow, mig_row: &MigrationRow) -> Result<i32> {
    let id = row.id;
    let before = Record::from_value(&mig_row.record_before).unwrap_or_default();
    let migrated = mig_row.record_migrated.as_ref().and_then(Record::from_value);
    let fin = mig_row.record_final.as_ref().and_then(Record::from_value);
    let by_openclaw = migrated.as_ref().map(|m| mig::differences(&before, m)).unwrap_or_default();
    let still = fin.as_ref().map(|f| mig::differences(&before, f));
    let t_before = migration::load_tree(j, id, "before")?.unwrap_or_default();
    let files = migration::load_tree(j, id, "migrated")?.map(|t| tree::diff(&t_before, &t, true));
    let repair_steps = match mig_row.repair_txn {
        Some(r) => j.steps(r)?.into_iter().map(|s| s.title).collect::<Vec<_>>(),
        None => vec![],
    };
    if g.json {
        let mut v = super::log::row_json(row, 0);
        v["migration"] = json!({
            "phase": mig_row.phase,
            "release_from": mig_row.release_from, "release_to": mig_row.release_to,
            "layout_from": mig_row.layout_from, "layout_to": mig_row.layout_to,
            "openclaw": mig_row.openclaw, "command": mig_row.command, "exit_code": mig_row.exit_code,
            "ran_ms": mig_row.ran_ms, "stdout": mig_row.stdout, "stderr": mig_row.stderr,
            "snapshot_entries": t_before.len(),
            "files_changed": files,
            "changed_by_openclaw": by_openclaw,
            "accounts_changed_without_repair": mig::accounts_changed(&by_openclaw),
            "repair_txn": mig_row.repair_txn, "repaired": repair_steps,
            "still_different": still,
            "accounts_changed_after_repair": still.as_ref().map(|s| mig::accounts_changed(s)),
            "not_restorable": fin.as_ref().map(|f| f.notes.clone()).unwrap_or_default(),
            "undo_txn": mig_row.undo_txn,
        });
        print_json(&json!({"schema_version": 1, "transaction": v}));
        return Ok(0);
    }
    let mut o = vec![
        format!("transaction {id}  migration  {}  (phase {})", row.status, mig_row.phase.as_str()),
        format!("summary     {}", row.summary),
        format!("when        created {}, ended {}", row.created_at, row.ended_at.as_deref().unwrap_or("—")),
        format!("who         {}@{} with clawauth {}", row.user, row.host, row.tool_version),
        format!("state dir   {}", row.state_dir),
        format!(
            "release     {} (layout {}) -> {} (layout {})",
            mig_row.release_from.as_deref().unwrap_or("?"),
            mig_row.layout_from.as_deref().unwrap_or("?"),
            mig_row.release_to.as_deref().unwrap_or("?"),
            mig_row.layout_to.as_deref().unwrap_or("?")
        ),
        format!("snapshot    {} entries in {}", t_before.len(), mig_row.store),
    ];
    if let Some(c) = &mig_row.command {
        o.push(format!(
            "ran         {} -> exit {} in {} ms",
            c.join(" "),
            mig_row.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
            mig_row.ran_ms.unwrap_or(0)
        ));
    }
    if let Some(e) = &row.error {
        o.push(format!("error       {e}"));
    }
    if let Some(f) = &files {
        o.push(format!("\nFiles OpenClaw changed ({}):", f.count()));
        o.extend(f.lines(40).into_iter().map(|l| format!("  {l}")));
    }
    o.push(format!(
        "\nWhat OpenClaw changed for the chats ({} chat(s) on another account):",
        mig::accounts_changed(&by_openclaw)
    ));
    o.extend(diff_lines(&by_openclaw).into_iter().map(|l| format!("  {l}")));
    match mig_row.repair_txn {
        Some(r) => {
            o.push(format!("\nWhat clawauth repaired (transaction {r}):"));
            o.extend(repair_steps.iter().map(|s| format!("  {s}")));
        }
        None => o.push("\nWhat clawauth repaired: nothing (no repair transaction)".into()),
    }
    match &still {
        Some(s) => {
            o.push(format!("\nStill different ({} chat(s) on another account):", mig::accounts_changed(s)));
            if s.is_empty() {
                o.push("  nothing".into());
            }
            o.extend(diff_lines(s).into_iter().map(|l| format!("  {l}")));
            for n in fin.as_ref().map(|f| f.notes.clone()).unwrap_or_default() {
                o.push(format!("  not restorable: {n}"));
            }
        }
        None => o.push("\nNot finished: run `clawauth migrate --after`".into()),
    }
    if let Some(u) = mig_row.undo_txn {
        o.push(format!("\nundone by   transaction {u} ({})", mig_row.phase.as_str()));
    }
    for (name, body) in [("stdout", &mig_row.stdout), ("stderr", &mig_row.stderr)] {
        if let Some(b) = body.as_ref().filter(|b| !b.trim().is_empty()) {
            let tail: Vec<&str> = b.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
            o.push(format!("\nOpenClaw {name} (last {} lines):", tail.len()));
            o.extend(tail.iter().map(|l| format!("  {l}")));
        }
    }
    // a closed pipe (`| head`) is not an error worth a panic
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{}", own_lines(&o));
    Ok(0)
}

/// Lines of text output, each one line whatever the paths, values and OpenClaw output inside it
/// hold (`output::line`); an element's leading newlines (a blank line before a heading) are
/// clawauth's own.
fn own_lines(lines: &[String]) -> String {
    let one = |l: &String| {
        let body = l.trim_start_matches('\n');
        format!("{}{}", &l[..l.len() - body.len()], line(body))
    };
    lines.iter().map(one).collect::<Vec<_>>().join("\n")
}
