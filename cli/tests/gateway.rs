//! Repairs beside a running gateway (issue 18), against a fake gateway on loopback that speaks
//! OpenClaw 2026.9.6's protocol (challenge, `connect`, `models.authRefresh`,
//! `models.authStatus`) and a `gateway-owner` lease naming this test process. The real
//! gateway is exercised by the conformance suite (`conformance/live.sh`).

mod common;
use common::*;

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

const ALICE_TEAM: &str = "openai:alice-team";
const ALICE: &str = "openai:alice@example.com";
const BOB: &str = "openai:bob@example.com";
const TOKEN: &str = "test-gateway-token-0123456789";

#[derive(Clone)]
struct Fake {
    port: u16,
    /// Every request: (method, params, token it was authenticated with).
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// What `models.authStatus` answers as the openai `profileOrder`.
    order: Arc<Mutex<Vec<String>>>,
}

/// A fake gateway: `with_refresh` false answers `models.authRefresh` with "unknown method", as
/// a gateway before that method would.
fn fake_gateway(with_refresh: bool) -> Fake {
    fake_gateway_as(with_refresh, false)
}

/// `stripped`: a JSON-era gateway (2026.5.28) that strips a token-only client's scopes, so
/// every call after `connect` is refused with "missing scope".
fn fake_gateway_as(with_refresh: bool, stripped: bool) -> Fake {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let fake = Fake {
        port: l.local_addr().unwrap().port(),
        calls: Arc::default(),
        order: Arc::new(Mutex::new(vec![ALICE_TEAM.into(), ALICE.into(), BOB.into()])),
    };
    let f = fake.clone();
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let f = f.clone();
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else { return };
                let challenge =
                    json!({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n", "ts": 1}});
                if ws.send(tungstenite::Message::text(challenge.to_string())).is_err() {
                    return;
                }
                let mut authed = false;
                while let Ok(m) = ws.read() {
                    let tungstenite::Message::Text(t) = m else { continue };
                    let req: Value = serde_json::from_str(t.as_str()).unwrap();
                    let (id, method, params) =
                        (req["id"].clone(), req["method"].as_str().unwrap().to_string(), req["params"].clone());
                    f.calls.lock().unwrap().push((method.clone(), params.clone()));
                    let res = if method == "connect" {
                        if params["auth"]["token"] == TOKEN && params["scopes"] == json!(["operator.admin"]) {
                            authed = true;
                            let mut methods = vec!["models.authStatus"];
                            if with_refresh {
                                methods.push("models.authRefresh");
                            }
                            json!({"type": "res", "id": id, "ok": true, "payload": {"type": "hello-ok", "protocol": 4,
                                "server": {"version": "2026.9.6"}, "features": {"methods": methods}}})
                        } else {
                            json!({"type": "res", "id": id, "ok": false, "error": {"code": "INVALID_REQUEST",
                                "message": "unauthorized: gateway token mismatch \u{1b}]0;owned\u{7}",
                                "details": {"code": "AUTH_TOKEN_MISMATCH"}}})
                        }
                    } else if stripped {
                        json!({"type": "res", "id": id, "ok": false, "error": {"code": "INVALID_REQUEST", "message": "missing scope: operator.read"}})
                    } else if !authed {
                        json!({"type": "res", "id": id, "ok": false, "error": {"code": "INVALID_REQUEST", "message": "not connected"}})
                    } else if method == "models.authRefresh" && with_refresh {
                        json!({"type": "res", "id": id, "ok": true, "payload": {"refreshed": true}})
                    } else if method == "models.authStatus" {
                        let order = f.order.lock().unwrap().clone();
                        json!({"type": "res", "id": id, "ok": true, "payload": {"providers": [
                            {"provider": "openai", "profileOrder": order}]}})
                    } else {
                        json!({"type": "res", "id": id, "ok": false, "error": {"code": "INVALID_REQUEST", "message": format!("unknown method: {method}")}})
                    };
                    // an unrelated event first, as a live gateway sends ticks
                    let _ = ws.send(tungstenite::Message::text(json!({"type": "event", "event": "tick"}).to_string()));
                    if ws.send(tungstenite::Message::text(res.to_string())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    fake
}

fn exec(db: &Path, sql: &str) {
    rusqlite::Connection::open(db).unwrap().execute_batch(sql).unwrap();
}

/// A `gateway-owner` lease as 2026.9.6 writes it, naming this (live) test process.
fn own_lease(fx: &Fx, port: u16) {
    let me = std::process::id() as i64;
    let start = clawauth_core::sys::proc_start(me).unwrap();
    let host = clawauth_core::sys::hostname();
    let payload = json!({"owner": {"pid": me, "host": host, "startedAt": start}, "port": port, "mode": "foreground", "supervisor": null});
    exec(
        &fx.state.join("state/openclaw.sqlite"),
        &format!(
            "INSERT INTO state_leases(scope, lease_key, owner, expires_at, heartbeat_at, payload_json, created_at, updated_at) \
             VALUES('gateway-owner', 'global', 'owner-uuid', {}, {NOW_MS}, '{payload}', {NOW_MS}, {NOW_MS}); \
             INSERT INTO agent_database_leases(lease_id, agent_id, path, owner_pid, owner_start_time, opened_at) \
             VALUES('l1', 'main', 'agents/main/agent/openclaw-agent.sqlite', {me}, {start}, {NOW_MS});",
            NOW_MS + 300_000
        ),
    );
}

fn live(fx: &Fx, args: &[&str], token: &str) -> Out {
    let mut c = fx.cmd(args);
    c.env("OPENCLAW_GATEWAY_TOKEN", token).env("CLAWAUTH_SETTLE_SECONDS", "0.2");
    run(c)
}

fn methods(f: &Fake) -> Vec<String> {
    f.calls.lock().unwrap().iter().map(|c| c.0.clone()).collect()
}

#[test]
fn writes_beside_a_running_gateway_then_it_reloads_and_settles() {
    let f = fake_gateway(true);
    let fx = Fx::committed("layout-d");
    own_lease(&fx, f.port);
    // status and doctor show the gateway of this state dir
    let s = fx.ok(&["status"]);
    assert!(
        s.stdout.contains(&format!("gateway         pid {} on 127.0.0.1:{}", std::process::id(), f.port)),
        "{}",
        s.stdout
    );
    let j = fx.ok(&["status", "--json"]).json();
    assert_eq!(j["gateway"]["port"], f.port);
    assert_eq!(j["gateway"]["port_source"], "lease");
    assert_eq!(j["gateway"]["release"], "2026.9.6", "the release that last opened the state database");
    let d = fx.run(&["doctor", "--json"]);
    let dj = d.json();
    let codes: Vec<&str> = dj["findings"].as_array().unwrap().iter().filter_map(|x| x["code"].as_str()).collect();
    assert!(codes.contains(&"CA026") && !codes.contains(&"CA021"), "{codes:?}");

    // the live lease and registration do not refuse the write
    *f.order.lock().unwrap() = vec![BOB.into(), ALICE.into(), ALICE_TEAM.into()];
    let o = live(&fx, &["order", "set", "openai", BOB, ALICE, ALICE_TEAM, "--yes"], TOKEN);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("Settled: gateway pid") && o.stdout.contains("(OpenClaw 2026.9.6)"), "{}", o.stdout);
    assert!(o.stdout.contains("reloaded agent main (models.authRefresh)"), "{}", o.stdout);
    let calls = f.calls.lock().unwrap().clone();
    let refresh = calls.iter().find(|c| c.0 == "models.authRefresh").expect("asked to reload");
    assert_eq!(refresh.1, json!({"operation": "update", "agentId": "main"}));
    // checked twice, each after the reload
    assert_eq!(methods(&f).iter().filter(|m| *m == "models.authStatus").count(), 2, "{:?}", methods(&f));
    // the journal keeps it; show prints it
    let shown = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(shown["transaction"]["settle"]["settled"], true, "{shown}");
    assert!(fx.ok(&["show", "1"]).stdout.contains("settled     yes"), "show prints the settle result");
    // the token is sent, never shown or journaled
    assert!(!o.all().contains(TOKEN));
    let journal = std::fs::read(fx.state.join(".clawauth/journal.db")).unwrap();
    assert!(!String::from_utf8_lossy(&journal).contains(TOKEN));

    // undo: reloads as well; --json carries the settle result
    *f.order.lock().unwrap() = vec![ALICE_TEAM.into(), ALICE.into(), BOB.into()];
    let u = live(&fx, &["undo", "1", "--yes", "--json"], TOKEN);
    assert_eq!(u.code, 0, "{}", u.all());
    assert_eq!(u.json()["gateway"]["settled"], true, "{}", u.stdout);
    assert_eq!(u.json()["gateway"]["reloads"][0]["method"], "models.authRefresh");
}

#[test]
fn a_gateway_that_keeps_the_old_order_is_said_loudly_and_recorded() {
    let f = fake_gateway(true);
    let fx = Fx::committed("layout-d");
    own_lease(&fx, f.port);
    // the fake keeps serving the old order whatever it is asked
    let o = live(&fx, &["order", "set", "openai", BOB, ALICE, ALICE_TEAM, "--yes"], TOKEN);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stdout.contains("Applied transaction 1"), "{}", o.stdout);
    assert!(o.stderr.contains("transaction 1 is applied but did NOT settle"), "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!("the gateway's openai order for agent main is [{ALICE_TEAM}, {ALICE}, {BOB}], the state on disk gives [{BOB}, {ALICE}, {ALICE_TEAM}]")),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("openclaw gateway restart"), "{}", o.stderr);
    let shown = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(shown["transaction"]["settle"]["settled"], false);
    assert!(fx.ok(&["show", "1"]).stdout.contains("settled     NO"));
}

#[test]
fn fallback_no_reload_and_a_wrong_token() {
    // a gateway without models.authRefresh: models.authStatus {refresh: true}
    let f = fake_gateway(false);
    let fx = Fx::committed("layout-d");
    own_lease(&fx, f.port);
    let o = live(&fx, &["pin", "agent:main:main", BOB, "--yes"], TOKEN);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("(models.authStatus refresh)"), "{}", o.stdout);
    let calls = f.calls.lock().unwrap().clone();
    assert!(calls.iter().any(|c| c.0 == "models.authStatus" && c.1["refresh"] == true), "{calls:?}");

    // --no-reload: the gateway is not called at all, and the person is told
    f.calls.lock().unwrap().clear();
    let o = live(&fx, &["unpin", "agent:main:main", "--yes", "--no-reload"], TOKEN);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(methods(&f).is_empty(), "{:?}", methods(&f));
    assert!(o.stderr.contains("was not asked to reload (--no-reload)"), "{}", o.stderr);

    // a wrong token: the gateway's refusal, sanitized, and the way out
    let o = live(&fx, &["pin", "agent:main:main", BOB, "--yes"], "wrong-token");
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("reload of agent main failed: AUTH_TOKEN_MISMATCH"), "{}", o.stderr);
    assert!(
        !o.stderr.contains('\u{1b}') && !o.stderr.contains('\u{7}'),
        "escape sequences from the gateway reach the terminal"
    );
    assert!(o.stderr.contains("OPENCLAW_GATEWAY_TOKEN"), "{}", o.stderr);
}

#[test]
fn only_openclaws_maintenance_refuses_a_write() {
    let fx = Fx::committed("layout-d");
    exec(
        &fx.state.join("state/openclaw.sqlite"),
        &format!(
            "INSERT INTO state_leases(scope, lease_key, owner, expires_at, heartbeat_at, payload_json, created_at, updated_at) \
             VALUES('core:agent-database-maintenance', 'global', 'doctor-7', {}, NULL, NULL, 1, 1)",
            NOW_MS + 60_000
        ),
    );
    let before_lease = dump(&fx);
    let o = fx.run(&["pin", "agent:main:main", BOB, "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("core:agent-database-maintenance") && o.stderr.contains("doctor-7"), "{}", o.stderr);
    assert_eq!(dump(&fx), before_lease, "nothing written");
    assert!(!fx.state.join(".clawauth").exists(), "not even the journal");
    let d = fx.run(&["doctor", "--json"]);
    assert!(d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "CA021" && x["evidence"]["scope"] == "core:agent-database-maintenance"));
    // expired: writes again
    exec(&fx.state.join("state/openclaw.sqlite"), &format!("UPDATE state_leases SET expires_at = {}", NOW_MS - 1));
    fx.ok(&["pin", "agent:main:main", BOB, "--yes"]);
}

#[test]
fn a_json_era_gateway_is_found_by_its_lock_file_and_a_dead_one_is_not() {
    let fx = Fx::standard(clawauth_core::model::Layout::B);
    let config = fx.state.join("openclaw.json");
    if !config.exists() {
        std::fs::write(&config, "{}\n").unwrap();
    }
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(config.to_string_lossy().as_bytes()))
    };
    let uid = unsafe { libc::getuid() };
    let dir = fx.state.join(format!("tmp/openclaw-{uid}"));
    std::fs::create_dir_all(&dir).unwrap();
    let me = std::process::id() as i64;
    let start = clawauth_core::sys::proc_start(me).unwrap();
    let lock = dir.join(format!("gateway.{}.lock", &hash[..8]));
    let body = |pid: i64, start: i64, cfg: &str| {
        json!({"pid": pid, "createdAt": "2026-05-01T12:00:00.000Z", "configPath": cfg, "startTime": start}).to_string()
    };
    std::fs::write(&lock, body(me, start, &config.to_string_lossy())).unwrap();
    let j = fx.ok(&["status", "--json"]).json();
    assert_eq!(j["gateway"]["pid"], me, "{}", j["gateway"]);
    assert_eq!(j["gateway"]["port"], 18789, "OpenClaw's default port");
    assert_eq!(j["gateway"]["port_source"], "default");
    let d = fx.run(&["doctor", "--json"]);
    assert!(d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "CA021" && x["evidence"]["source"] == "gateway lock file"));
    // a reused pid (another start time) or another state dir's config is no gateway of ours
    std::fs::write(&lock, body(me, start + 1, &config.to_string_lossy())).unwrap();
    assert!(fx.ok(&["status", "--json"]).json().get("gateway").is_none());
    std::fs::write(&lock, body(me, start, "/elsewhere/openclaw.json")).unwrap();
    assert!(fx.ok(&["status", "--json"]).json().get("gateway").is_none());
}

/// Undoing a pin after the gateway ran turns on that chat: the turns moved the entry's
/// `updatedAt` (and their own fields) on; that is no conflict — the pin is taken back, the
/// turns' fields stay, and `updatedAt` is stamped now, never moved backwards.
#[test]
fn undo_after_turns_moved_the_entry_on() {
    // layout D: a turn rewrites the row as OpenClaw's writer does
    let fx = Fx::committed("layout-d");
    fx.ok(&["pin", "agent:main:main", BOB, "--yes"]);
    let db = fx.state.join("agents/main/agent/openclaw-agent.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    let entry: String = c
        .query_row("SELECT entry_json FROM session_nodes WHERE session_key = 'agent:main:main'", [], |r| r.get(0))
        .unwrap();
    let mut v: Value = serde_json::from_str(&entry).unwrap();
    let turn_at = NOW_MS - 1_000;
    v["updatedAt"] = json!(turn_at);
    v["inputTokens"] = json!(1234);
    c.execute(
        "UPDATE session_nodes SET entry_json = ?1, updated_at = ?2 WHERE session_key = 'agent:main:main'",
        rusqlite::params![v.to_string(), turn_at],
    )
    .unwrap();
    c.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key = 'agent:main:main'", []).unwrap();
    drop(c);
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let c = rusqlite::Connection::open(&db).unwrap();
    let (entry, ts, valid): (String, i64, i64) = c
        .query_row(
            "SELECT entry_json, updated_at, entry_valid FROM session_nodes WHERE session_key = 'agent:main:main'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let v: Value = serde_json::from_str(&entry).unwrap();
    assert!(v.get("authProfileOverride").is_none(), "{v}");
    assert_eq!(v["inputTokens"], 1234, "the turn's own field stays");
    assert_eq!(v["updatedAt"], NOW_MS, "stamped now");
    assert_eq!((ts, valid), (NOW_MS, 1));

    // layout B: the same in sessions.json
    let fx = Fx::standard(clawauth_core::model::Layout::B);
    fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
    let mut s = read_json(&fx.sessions());
    s["agent:main:main"]["updatedAt"] = json!(NOW_MS - 1_000);
    s["agent:main:main"]["inputTokens"] = json!(99);
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let s = read_json(&fx.sessions());
    assert!(s["agent:main:main"].get("authProfileOverride").is_none());
    assert_eq!(s["agent:main:main"]["inputTokens"], 99);
    assert_eq!(s["agent:main:main"]["updatedAt"], NOW_MS);
    // a pin changed by someone else is still a conflict
    fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
    let mut s = read_json(&fx.sessions());
    s["agent:main:main"]["authProfileOverride"] = json!("openai-codex:alice@example.com");
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let o = fx.run(&["undo", "3", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
}

/// A JSON-era gateway refuses a token-only client every call: clawauth cannot make it reload,
/// says so, and proves what it can — the files still hold the change 3 s later (measured
/// against real 2026.5.28 in conformance/live.sh: such a gateway re-reads the changed store by
/// itself, and its turns keep clawauth's writes).
#[test]
fn a_gateway_that_cannot_be_asked_is_settled_on_disk() {
    let f = fake_gateway_as(false, true);
    let fx = Fx::committed("layout-d");
    own_lease(&fx, f.port);
    let o = live(&fx, &["pin", "agent:main:main", BOB, "--yes"], TOKEN);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("Settled on disk") && o.stdout.contains("cannot be asked to reload"), "{}", o.stdout);
    let shown = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(shown["transaction"]["settle"]["reload_unsupported"], true);
    assert_eq!(shown["transaction"]["settle"]["settled"], true);
    // written over in the meantime: not settled, whatever the gateway could be asked
    let db = fx.state.join("agents/main/agent/openclaw-agent.sqlite");
    let o = {
        let mut c = fx.cmd(&["unpin", "agent:main:main", "--yes"]);
        c.env("OPENCLAW_GATEWAY_TOKEN", TOKEN).env("CLAWAUTH_SETTLE_SECONDS", "1.5");
        let child = c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        // someone puts a pin back while clawauth waits for its second check
        std::thread::sleep(std::time::Duration::from_millis(900));
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        let entry: String = conn
            .query_row("SELECT entry_json FROM session_nodes WHERE session_key = 'agent:main:main'", [], |r| r.get(0))
            .unwrap();
        let mut v: Value = serde_json::from_str(&entry).unwrap();
        v["authProfileOverride"] = json!(ALICE);
        conn.execute("UPDATE session_nodes SET entry_json = ?1 WHERE session_key = 'agent:main:main'", [v.to_string()])
            .unwrap();
        conn.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key = 'agent:main:main'", []).unwrap();
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("no longer as written"), "{}", o.stderr);
}
