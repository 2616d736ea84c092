//! `clawauth usage` end to end: the real binary against a small local HTTP server on
//! 127.0.0.1 that answers like `chatgpt.com/backend-api/wham/usage` (recorded shape), fails in
//! every way the real one can (401/403, 500, garbage, hang-ups, slowness), and logs every request
//! so the tests can check that each profile was asked with its own credential. No test reaches
//! the internet.

mod common;
use common::*;

use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Account, Scenario};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ----------------------------------------------------------------------------------------------
// the test server: std only, one thread per connection, routes by ChatGPT-Account-Id

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str())
    }
    fn account(&self) -> &str {
        self.header("ChatGPT-Account-Id").unwrap_or("")
    }
    fn bearer(&self) -> &str {
        self.header("Authorization").and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("")
    }
}

enum Reply {
    Json(u16, String),
    /// 200 with a body that is not JSON
    Html(String),
    /// bytes that are not HTTP at all
    Raw(&'static [u8]),
    /// close the connection without a word
    Hangup,
    Slow(Duration, Box<Reply>),
}

struct Server {
    url: String,
    log: Arc<Mutex<Vec<Req>>>,
    max_inflight: Arc<AtomicUsize>,
}

impl Server {
    fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(route: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let route = Arc::new(route);
    let log = Arc::new(Mutex::new(vec![]));
    let inflight = Arc::new(AtomicUsize::new(0));
    let max_inflight = Arc::new(AtomicUsize::new(0));
    let (l2, i2, m2) = (log.clone(), inflight.clone(), max_inflight.clone());
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let (route, log, inflight, max) = (route.clone(), l2.clone(), i2.clone(), m2.clone());
            std::thread::spawn(move || handle(s, &*route, &log, &inflight, &max));
        }
    });
    Server { url, log, max_inflight }
}

fn handle(
    s: TcpStream,
    route: &(dyn Fn(&Req) -> Reply + Send + Sync),
    log: &Mutex<Vec<Req>>,
    inflight: &AtomicUsize,
    max: &AtomicUsize,
) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let req = Req { method, path, headers };
    let reply = route(&req);
    log.lock().unwrap().push(req);
    let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    respond(s, reply);
    inflight.fetch_sub(1, Ordering::SeqCst);
}

fn respond(mut s: TcpStream, reply: Reply) {
    let write = |s: &mut TcpStream, code: u16, ctype: &str, body: &str| {
        let reason = match code {
            200 => "OK",
            401 => "Unauthorized",
            403 => "Forbidden",
            500 => "Internal Server Error",
            _ => "Status",
        };
        let _ = write!(
            s,
            "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match reply {
        Reply::Json(code, body) => write(&mut s, code, "application/json", &body),
        Reply::Html(body) => write(&mut s, 200, "text/html", &body),
        Reply::Raw(b) => {
            let _ = s.write_all(b);
        }
        Reply::Hangup => {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        Reply::Slow(d, r) => {
            std::thread::sleep(d);
            respond(s, *r);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// answers in the recorded shape

const NOW_S: i64 = NOW_MS / 1000;

fn win(used: f64, secs: i64, reset_at: Option<i64>, reset_after: Option<i64>) -> Value {
    let mut w = json!({"used_percent": used, "limit_window_seconds": secs});
    if let Some(r) = reset_at {
        w["reset_at"] = json!(r);
    }
    if let Some(r) = reset_after {
        w["reset_after_seconds"] = json!(r);
    }
    w
}

fn answer(user: &str, acct: &str, email: &str, plan: &str, primary: Value, secondary: Value, reached: bool) -> Value {
    json!({
        "user_id": user,
        "account_id": acct,
        "email": email,
        "plan_type": plan,
        "rate_limit": {
            "allowed": !reached,
            "limit_reached": reached,
            "primary_window": primary,
            "secondary_window": secondary,
        },
        "code_review_rate_limit": null,
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
    })
}

/// The real API answers about the login behind the bearer token: identity from the token's
/// claims, the workspace from the header.
fn echo_identity(r: &Req, primary: Value, secondary: Value, reached: bool) -> Value {
    let c = clawauth_core::model::token::decode_claims(r.bearer()).unwrap_or_default();
    answer(
        c.user_id.as_deref().unwrap_or("?"),
        r.account(),
        c.email.as_deref().unwrap_or("?"),
        c.plan.as_deref().unwrap_or("?"),
        primary,
        secondary,
        reached,
    )
}

fn ok(v: Value) -> Reply {
    Reply::Json(200, v.to_string())
}

/// Every (access, accountId) pair stored in the main agent: what a request may legitimately carry.
fn stored_pairs(fx: &Fx) -> Vec<(String, String, String)> {
    let a = read_json(&fx.agent().join("auth-profiles.json"));
    a["profiles"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(id, c)| {
            Some((id.clone(), c["access"].as_str()?.to_string(), c["accountId"].as_str()?.to_string()))
        })
        .collect()
}

fn profile<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["agents"][0]["profiles"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id}: {v}"))
}

fn usage(fx: &Fx, srv: &Server, extra: &[&str]) -> Out {
    let mut args = vec!["usage", "--endpoint", srv.url.as_str()];
    args.extend_from_slice(extra);
    fx.run(&args)
}

const ALICE: &str = "openai-codex:alice@example.com";
const TEAM: &str = "openai-codex:alice-team";
const BOB: &str = "openai-codex:bob@example.com";
const CAROL: &str = "openai-codex:carol-team";
const SLOT: &str = "openai-codex:default";

// ----------------------------------------------------------------------------------------------

#[test]
fn each_profile_is_asked_with_its_own_credential_and_windows_are_labelled() {
    // router setup (bob copied into the active slot) plus carol, a second member of alice's team
    let mut sc = Scenario::standard(fixture::REF_NOW_MS).with_router();
    let carol = Account::new(CAROL, "carol@example.com", "acct-alice-team-0002", "user-carol-0004", "team");
    sc.profiles.insert(CAROL.into(), fixture::credential("openai-codex", &carol, fixture::FAR_MS, sc.now_ms, 1));
    let fx = Fx::scenario(&sc, Layout::B);
    let srv = serve(|r| {
        let user = clawauth_core::model::token::decode_claims(r.bearer()).and_then(|c| c.user_id).unwrap_or_default();
        match (r.account(), user.as_str()) {
            ("acct-alice-personal-0001", _) => ok(echo_identity(
                r,
                win(12.0, 18_000, Some(NOW_S + 3_600), Some(999)),
                win(40.0, 604_800, Some(NOW_S + 3 * 86_400), None),
                false,
            )),
            ("acct-alice-team-0002", "user-alice-0001") => ok(echo_identity(
                r,
                win(100.0, 18_000, Some(NOW_S + 600), None),
                win(55.5, 604_800, Some(NOW_S + 86_400), None),
                true,
            )),
            ("acct-alice-team-0002", _) => {
                ok(echo_identity(r, win(0.0, 18_000, None, Some(18_000)), win(10.0, 1_800, None, Some(900)), false))
            }
            ("acct-bob-0003", _) => {
                let mut v =
                    echo_identity(r, win(30.0, 18_000, None, Some(1_800)), win(5.0, 86_400, None, Some(7_200)), false);
                v["code_review_rate_limit"] = json!({
                    "allowed": true, "limit_reached": false,
                    "primary_window": win(25.0, 604_800, Some(NOW_S + 5 * 86_400), None),
                    "secondary_window": null,
                });
                ok(v)
            }
            _ => Reply::Json(404, "{}".into()),
        }
    });
    let o = usage(&fx, &srv, &["--json"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let v = o.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["agents"][0]["profiles"].as_array().unwrap().len(), 5);

    // every request: right path and headers, and a token only ever with its own profile's account
    let pairs = stored_pairs(&fx);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 5, "one request per profile");
    for r in &reqs {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/backend-api/wham/usage"));
        assert_eq!(r.header("Accept"), Some("application/json"));
        assert!(pairs.iter().any(|(_, a, acct)| a == r.bearer() && acct == r.account()), "foreign pairing: {r:?}");
    }
    for (id, access, acct) in &pairs {
        assert!(
            reqs.iter().any(|r| r.bearer() == access && r.account() == acct),
            "{id} was not asked with its own token"
        );
        assert_eq!(profile(&v, id)["request_account_id"], acct.as_str());
        assert_eq!(profile(&v, id)["request_account_source"], "credential");
    }

    // alice: reset_at wins over reset_after_seconds; percent LEFT
    let a = &profile(&v, ALICE)["usage"];
    assert_eq!(
        (a["user_id"].as_str(), a["account_id"].as_str(), a["email"].as_str(), a["plan_type"].as_str()),
        (Some("user-alice-0001"), Some("acct-alice-personal-0001"), Some("alice@example.com"), Some("plus"))
    );
    let w = &a["rate_limit"]["windows"];
    assert_eq!((w[0]["label"].as_str(), w[0]["percent_left"].as_f64()), (Some("5h"), Some(88.0)));
    assert_eq!((w[0]["reset_at"].as_i64(), w[0]["reset_from"].as_str()), (Some(NOW_S + 3_600), Some("reset_at")));
    assert_eq!((w[1]["label"].as_str(), w[1]["percent_left"].as_f64()), (Some("week"), Some(60.0)));
    assert_eq!(a["rate_limit"]["limit_reached"], false);
    // team: limit reached, fractional percent
    let t = &profile(&v, TEAM)["usage"]["rate_limit"];
    assert_eq!((t["limit_reached"].as_bool(), t["windows"][0]["percent_left"].as_f64()), (Some(true), Some(0.0)));
    assert_eq!(t["windows"][1]["percent_left"].as_f64(), Some(44.5));
    // carol: an unusual window length is labelled by its length
    assert_eq!(profile(&v, CAROL)["usage"]["rate_limit"]["windows"][1]["label"], "30m");
    assert_eq!(profile(&v, CAROL)["usage"]["user_id"], "user-carol-0004");
    // bob: only reset_after_seconds -> now + it; a day window; code-review windows
    let b = &profile(&v, BOB)["usage"];
    assert_eq!(b["rate_limit"]["windows"][0]["reset_at"].as_i64(), Some(NOW_S + 1_800));
    assert_eq!(b["rate_limit"]["windows"][0]["reset_from"], "reset_after_seconds");
    assert_eq!(b["rate_limit"]["windows"][0]["reset_at_rfc3339"], "2026-05-01T12:35:00Z");
    assert_eq!(b["rate_limit"]["windows"][1]["label"], "day");
    let cr = &b["code_review_rate_limit"]["windows"];
    assert_eq!(cr.as_array().unwrap().len(), 1, "a null window is skipped");
    assert_eq!((cr[0]["label"].as_str(), cr[0]["percent_left"].as_f64()), (Some("week"), Some(75.0)));

    // the active slot is marked, and which repo identity it holds
    assert_eq!(profile(&v, SLOT)["active_slot"], true);
    assert_eq!(profile(&v, BOB)["active_slot"], false);
    assert_eq!(v["active_slot"]["holds"], BOB);

    // identity: two users in one workspace are two quotas; bob and the slot are one login
    let notes = v["agents"][0]["identity"].as_array().unwrap();
    let shared = notes.iter().find(|n| n["kind"] == "shared_workspace").expect("shared workspace note");
    assert_eq!(shared["account_id"], "acct-alice-team-0002");
    assert_eq!(shared["profiles"], json!([TEAM, CAROL]));
    assert!(shared["message"].as_str().unwrap().contains("separate members of one workspace, not one quota"));
    let same = notes.iter().find(|n| n["kind"] == "same_login").expect("same login note");
    let mut same_ids: Vec<&str> = same["profiles"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    same_ids.sort();
    assert_eq!(same_ids, vec![BOB, SLOT]);
    assert!(!notes.iter().any(|n| n["kind"] == "api_mismatch"), "{notes:?}");

    // sessions: effective profile and usage source, exactly as `status` resolves them
    let st = fx.ok(&["status", "--json"]).json();
    let sessions = v["agents"][0]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    for s in st["agents"][0]["sessions"].as_array().unwrap() {
        let u = sessions.iter().find(|x| x["key"] == s["key"]).unwrap();
        assert_eq!(
            (&u["effective"], &u["usage_source"], &u["differs"]),
            (&s["effective"], &s["usage_source"], &s["usage_differs"])
        );
    }
    let tg = sessions.iter().find(|s| s["key"] == "agent:main:telegram:direct:1001").unwrap();
    assert_eq!(
        (tg["effective"].as_str(), tg["usage_source"].as_str(), tg["differs"].as_bool()),
        (Some(BOB), Some(SLOT), Some(false))
    );

    // the text view says the same, without a secret
    let text = usage(&fx, &srv, &[]);
    assert_eq!(text.code, 0, "{}", text.all());
    let t = &text.stdout;
    assert!(t.contains(&format!("{SLOT}  [active slot]")), "{t}");
    assert!(t.contains("5h     88% left, resets 2026-05-01T13:05:00Z (in 60m)"), "{t}");
    assert!(t.contains("week   44.5% left") && t.contains("LIMIT REACHED"), "{t}");
    assert!(t.contains("code review week   75% left"), "{t}");
    assert!(t.contains("separate members of one workspace, not one quota"), "{t}");
    assert!(t.contains("(differs!)"), "{t}");
    let secrets = secrets_of(&fx.state);
    assert!(secrets.len() >= 10);
    for out in [o.all(), text.all()] {
        assert_no_secrets(&out, &secrets);
    }
    // the slot and bob are two ids for one login: /status shows another profile, not another quota
    let v = usage(&fx, &srv, &["--json", "--session", "agent:main:telegram:direct:1001"]).json();
    let c = &v["agents"][0]["cross_check"];
    assert_eq!((c["differs"].as_bool(), c["same_login"].as_bool()), (Some(false), Some(true)), "{c}");
    assert!(c["message"].as_str().unwrap().contains("the same login, so the quota shown is the one being spent"));
    assert!(!fx.state.join(".clawauth").exists(), "usage without --record writes no journal");
}

#[test]
fn every_error_kind_is_reported_per_profile_without_secrets() {
    let mut sc = Scenario::standard(fixture::REF_NOW_MS);
    let mk = |short: &str, acct: &str| {
        let a = Account::new(
            &format!("openai-codex:{short}"),
            &format!("{short}@example.com"),
            acct,
            &format!("user-{short}"),
            "plus",
        );
        (a.id.clone(), fixture::credential("openai-codex", &a, fixture::FAR_MS, fixture::REF_NOW_MS, 1))
    };
    for (short, acct) in
        [("garbage", "acct-garbage"), ("hangup", "acct-hangup"), ("nothttp", "acct-nothttp"), ("liar", "acct-liar")]
    {
        let (id, c) = mk(short, acct);
        sc.profiles.insert(id, c);
    }
    let (id, mut c) = mk("noaccess", "acct-noaccess");
    c.as_object_mut().unwrap().remove("access");
    sc.profiles.insert(id, c);
    let (id, mut c) = mk("noacct", "acct-noacct");
    c.as_object_mut().unwrap().remove("accountId");
    c["access"] = json!("opaque-not-a-jwt-access-token");
    sc.profiles.insert(id, c);
    let fx = Fx::scenario(&sc, Layout::B);
    let srv = serve(|r| match r.account() {
        "acct-alice-personal-0001" => Reply::Json(401, r#"{"detail":"token expired"}"#.into()),
        "acct-alice-team-0002" => Reply::Json(403, r#"{"detail":"forbidden"}"#.into()),
        "acct-bob-0003" => Reply::Json(500, "oops".into()),
        "acct-garbage" => Reply::Html("<html><body>Just a moment...</body></html>".into()),
        "acct-hangup" => Reply::Hangup,
        "acct-nothttp" => Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n"),
        // answers for another workspace and person than the credential claims
        "acct-liar" => ok(answer(
            "user-mallory",
            "acct-someone-else",
            "mallory@example.com",
            "plus",
            win(1.0, 18_000, None, None),
            json!(null),
            false,
        )),
        _ => Reply::Json(404, "{}".into()),
    });
    let o = usage(&fx, &srv, &["--json"]);
    assert_eq!(o.code, 1, "a profile without an answer makes the exit code 1:\n{}", o.all());
    let v = o.json();
    let err = |id: &str| {
        let p = profile(&v, id);
        assert_eq!(p["ok"], false, "{p}");
        (p["error"]["kind"].as_str().unwrap().to_string(), p["error"]["message"].as_str().unwrap().to_string())
    };
    assert_eq!(err(ALICE), ("unauthorized".into(), "token expired or revoked (HTTP 401)".into()));
    assert_eq!(err(TEAM), ("unauthorized".into(), "token expired or revoked (HTTP 403)".into()));
    assert_eq!(profile(&v, TEAM)["error"]["http_status"], 403);
    assert_eq!(err(BOB), ("http_status".into(), "HTTP 500".into()));
    let (k, m) = err("openai-codex:garbage");
    assert!(k == "bad_response" && m.contains("not JSON"), "{k}: {m}");
    let (k, m) = err("openai-codex:hangup");
    assert!(k == "connection" || k == "protocol", "{k}: {m}");
    let (k, _) = err("openai-codex:nothttp");
    assert_eq!(k, "protocol");
    assert_eq!(err("openai-codex:noaccess").0, "no_access_token");
    assert_eq!(err("openai-codex:noacct").0, "no_account_id");
    // nothing was sent for the two that cannot be asked
    let accts: Vec<String> = srv.requests().iter().map(|r| r.account().to_string()).collect();
    assert_eq!(accts.len(), 7, "{accts:?}");
    assert!(!accts.iter().any(|a| a == "acct-noaccess" || a.is_empty()), "{accts:?}");
    // the liar is answered, and flagged
    let liar = profile(&v, "openai-codex:liar");
    assert_eq!(liar["ok"], true);
    let flags: Vec<&str> = liar["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(flags.iter().any(|f| f.contains("account acct-someone-else") && f.contains("acct-liar")), "{flags:?}");
    assert!(flags.iter().any(|f| f.contains("mallory@example.com") && f.contains("liar@example.com")), "{flags:?}");
    let notes = v["agents"][0]["identity"].as_array().unwrap();
    assert_eq!(notes.iter().filter(|n| n["kind"] == "api_mismatch").count(), 2);

    let text = usage(&fx, &srv, &[]);
    assert_eq!(text.code, 1);
    for s in [
        "error   token expired or revoked (HTTP 401)",
        "error   HTTP 500",
        "FLAG    the API answered for account acct-someone-else",
    ] {
        assert!(text.stdout.contains(s), "{s}:\n{}", text.stdout);
    }

    // nobody listening: a connection error per profile, still a full report
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = fx.run(&["usage", "--json", "--endpoint", &format!("http://127.0.0.1:{port}"), ALICE, BOB]);
    assert_eq!(dead.code, 1, "{}", dead.all());
    let dv = dead.json();
    for id in [ALICE, BOB] {
        let e = &profile(&dv, id)["error"];
        assert_eq!(e["kind"], "connection", "{e}");
        assert!(e["message"].as_str().unwrap().contains("refused"), "{e}");
    }
    let secrets = secrets_of(&fx.state);
    for out in [o.all(), text.all(), dead.all()] {
        assert_no_secrets(&out, &secrets);
        assert!(!out.contains("opaque-not-a-jwt-access-token"));
    }
}

#[test]
fn a_slow_profile_does_not_hold_the_report() {
    let fx = Fx::standard(Layout::B);
    let srv = serve(|r| {
        let body = echo_identity(r, win(20.0, 18_000, Some(NOW_S + 60), None), win(20.0, 604_800, None, None), false);
        if r.account() == "acct-bob-0003" {
            Reply::Slow(Duration::from_secs(20), Box::new(ok(body)))
        } else {
            ok(body)
        }
    });
    let t0 = Instant::now();
    let o = usage(&fx, &srv, &["--json", "--timeout", "2"]);
    let wall = t0.elapsed();
    eprintln!("slow-profile wall time: {wall:?} (timeout 2s)");
    assert!(wall < Duration::from_millis(3_500), "the report waited {wall:?} for a 2s timeout");
    assert_eq!(o.code, 1, "{}", o.all());
    let v = o.json();
    assert_eq!(profile(&v, BOB)["error"]["kind"], "timeout");
    assert_eq!(profile(&v, BOB)["error"]["message"], "no answer from 127.0.0.1 within 2s");
    for id in [ALICE, TEAM] {
        assert_eq!(profile(&v, id)["ok"], true, "{}", profile(&v, id));
        assert!(profile(&v, id)["elapsed_ms"].as_u64().unwrap() < 1_500);
    }
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));
}

#[test]
fn the_pool_is_bounded() {
    let fx = Fx::standard(Layout::B);
    let srv = serve(|r| {
        Reply::Slow(
            Duration::from_millis(400),
            Box::new(ok(echo_identity(r, win(1.0, 18_000, None, None), json!(null), false))),
        )
    });
    let t0 = Instant::now();
    let o = usage(&fx, &srv, &["--json", "--concurrency", "2"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(srv.max_inflight.load(Ordering::SeqCst), 2, "at most 2 requests at once");
    assert!(t0.elapsed() >= Duration::from_millis(800), "3 jobs on 2 workers take two rounds");
    assert_eq!(o.json()["concurrency"], 2);
    let srv2 = serve(|r| {
        Reply::Slow(
            Duration::from_millis(300),
            Box::new(ok(echo_identity(r, win(1.0, 18_000, None, None), json!(null), false))),
        )
    });
    fx.ok(&["usage", "--endpoint", &srv2.url]);
    assert_eq!(srv2.max_inflight.load(Ordering::SeqCst), 3, "default pool of 4 runs all 3 at once");
}

fn standard_server() -> Server {
    serve(|r| {
        let (p, s) = match r.account() {
            "acct-alice-personal-0001" => (91.0, 70.0),
            "acct-bob-0003" => (15.0, 35.0),
            _ => (50.0, 50.0),
        };
        ok(echo_identity(
            r,
            win(p, 18_000, Some(NOW_S + 7_200), None),
            win(s, 604_800, Some(NOW_S + 4 * 86_400), None),
            false,
        ))
    })
}

#[test]
fn session_cross_check_shows_both_windows_when_status_shows_another_account() {
    let fx = Fx::standard(Layout::B);
    let srv = standard_server();
    // pinned to bob by the user; /status fetches the first usable profile of the order: alice
    let key = "agent:main:telegram:direct:1001";
    let v = usage(&fx, &srv, &["--json", "--session", key]).json();
    let a = &v["agents"][0];
    assert_eq!(a["sessions"].as_array().unwrap().len(), 1);
    let c = &a["cross_check"];
    assert_eq!((c["session"].as_str(), c["differs"].as_bool()), (Some(key), Some(true)));
    assert_eq!((c["usage_source"].as_str(), c["effective"].as_str()), (Some(ALICE), Some(BOB)));
    assert_eq!(c["usage_source_windows"][0]["percent_left"].as_f64(), Some(9.0));
    assert_eq!(c["effective_windows"][0]["percent_left"].as_f64(), Some(85.0));
    assert_eq!(c["same_login"], false);
    // asking about one profile still fetches both sides of the cross-check
    let v = usage(&fx, &srv, &["--json", "--session", key, "--profile-id", TEAM]).json();
    assert_eq!(v["agents"][0]["profiles"].as_array().unwrap().len(), 3);
    assert_eq!(v["agents"][0]["cross_check"]["effective_windows"][0]["percent_left"].as_f64(), Some(85.0));
    let o = usage(&fx, &srv, &["--session", key]);
    let t = &o.stdout;
    assert!(t.contains(&format!("cross-check {key}:")), "{t}");
    assert!(t.contains(&format!("/status shows the usage of {ALICE}, but this session's replies use {BOB}")), "{t}");
    let head = t.lines().find(|l| l.trim_start().starts_with("WINDOW")).expect("side-by-side table");
    assert!(
        head.contains(&format!("{ALICE} (shown by /status)")) && head.contains(&format!("{BOB} (serves the session)"))
    );
    // one row per window length: the quota /status shows next to the quota actually spent
    let row = |label: &str, left: &str, right: &str| {
        t.lines().any(|l| l.trim_start().starts_with(label) && l.contains(left) && l.contains(right))
    };
    assert!(row("5h ", " 9% left", "85% left"), "{t}");
    assert!(row("week ", "30% left", "65% left"), "{t}");
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));

    // a session served by the profile /status shows: they agree, no table
    let v = usage(&fx, &srv, &["--json", "--session", "agent:main:main"]).json();
    let c = &v["agents"][0]["cross_check"];
    assert_eq!((c["differs"].as_bool(), c["effective"].as_str()), (Some(false), Some(ALICE)));
    let t = usage(&fx, &srv, &["--session", "agent:main:main"]).stdout;
    assert!(t.contains("the profile that serves this session") && !t.contains("WINDOW"), "{t}");
    // an unknown session is an error, before any request
    let before = srv.requests().len();
    let o = usage(&fx, &srv, &["--session", "agent:main:nope"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no session 'agent:main:nope'"), "{}", o.stderr);
    assert_eq!(srv.requests().len(), before);
}

#[test]
fn profile_selection_and_bad_arguments() {
    let fx = Fx::standard(Layout::B);
    let srv = standard_server();
    let v = usage(&fx, &srv, &["--json", "--profile-id", BOB]).json();
    assert_eq!(v["agents"][0]["profiles"].as_array().unwrap().len(), 1);
    // positional ids, and the other Codex spelling
    let v = usage(&fx, &srv, &["--json", "openai:alice@example.com", TEAM]).json();
    let ids: Vec<&str> =
        v["agents"][0]["profiles"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&TEAM) && ids.contains(&ALICE), "{ids:?}");
    assert_eq!(srv.requests().len(), 3);
    let o = usage(&fx, &srv, &["openai-codex:carol@example.com"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no profile 'openai-codex:carol@example.com'"), "{}", o.stderr);
    // the global --profile is OpenClaw's profile dir, not an auth profile
    let o = fx.run(&["--profile", BOB, "usage", "--endpoint", &srv.url]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(o.stderr.contains("--profile-id"), "{}", o.stderr);
    // tokens never go over plain http to another machine
    let o = fx.run(&["usage", "--endpoint", "http://example.com"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unencrypted"), "{}", o.stderr);
    for bad in [["--timeout", "0"], ["--concurrency", "0"]] {
        let o = usage(&fx, &srv, &bad);
        assert_eq!(o.code, 2, "{bad:?}: {}", o.all());
    }
    assert_eq!(srv.requests().len(), 3, "no request for refused invocations");
}

#[test]
fn recorded_usage_shows_before_and_after_a_repair() {
    let fx = Fx::standard(Layout::B);
    let used = Arc::new(AtomicUsize::new(10));
    let u2 = used.clone();
    let srv = serve(move |r| {
        let p = u2.load(Ordering::SeqCst) as f64;
        ok(echo_identity(
            r,
            win(p, 18_000, Some(NOW_S + 3_600), None),
            win(p / 2.0, 604_800, None, Some(86_400)),
            false,
        ))
    });
    let at = |when: &str, args: &[&str]| {
        let mut c = fx.cmd(&[&["usage", "--endpoint", srv.url.as_str()][..], args].concat());
        c.env("CLAWAUTH_NOW", when);
        run(c)
    };
    // 12:00 before the repair, the repair at 12:05, 12:08 after it, 13:00 far outside
    let o = at("2026-05-01T12:00:00Z", &["--record"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("recorded 3 usage snapshot(s) in the journal"), "{}", o.stdout);
    fx.ok(&["pin", "agent:main:main", BOB, "--yes"]);
    used.store(60, Ordering::SeqCst);
    let j = at("2026-05-01T12:08:00Z", &["--record", "--json"]);
    assert_eq!(j.json()["recorded"], 3);
    at("2026-05-01T13:00:00Z", &["--record"]);

    let show = fx.ok(&["show", "1"]);
    let t = &show.stdout;
    assert!(t.contains("usage snapshots (within 10 minutes of this transaction):"), "{t}");
    let before: Vec<&str> = t.lines().filter(|l| l.trim_start().starts_with("before")).collect();
    let after: Vec<&str> = t.lines().filter(|l| l.trim_start().starts_with("after")).collect();
    assert_eq!((before.len(), after.len()), (3, 3), "{t}");
    assert!(before.iter().any(|l| l.contains(BOB) && l.contains("5h 90% left, week 95% left")), "{t}");
    assert!(after.iter().any(|l| l.contains(BOB) && l.contains("5h 40% left, week 70% left")), "{t}");
    assert!(!t.contains("13:00:00Z"), "a snapshot 55 minutes later is not this repair's evidence:\n{t}");
    let sj = fx.ok(&["show", "1", "--json"]).json();
    let snaps = sj["transaction"]["usage_snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 6);
    assert_eq!(snaps[0]["when"], "before");
    assert_eq!(snaps[0]["snapshot"]["windows"]["windows"][0]["label"], "5h");

    // the journal rows hold no secret either
    let c = rusqlite::Connection::open(fx.state.join(".clawauth/journal.db")).unwrap();
    let dump: String = c
        .query_row(
            "SELECT group_concat(coalesce(profile_id,'') || coalesce(account_id,'') || coalesce(user_id,'') || coalesce(windows,'') || coalesce(error,''), '|') FROM usage_snapshot",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(dump.contains("acct-bob-0003"));
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, clawauth_core::txn::journal::SCHEMA_VERSION);
    let secrets = secrets_of(&fx.state);
    for out in [o.all(), j.all(), show.all(), sj.to_string(), dump] {
        assert_no_secrets(&out, &secrets);
    }
}

#[test]
fn an_endpoint_that_echoes_secrets_back_gets_fingerprints_and_bounded_fields() {
    let fx = Fx::standard(Layout::B);
    let secrets = secrets_of(&fx.state);
    // a hostile endpoint (or proxy): the bearer token as user id, the refresh tokens in the
    // email, a 1 MB plan name with escape sequences
    let refresh: Vec<String> = secrets.iter().filter(|s| !s.starts_with("eyJ")).cloned().collect();
    let srv = serve(move |r| {
        let mut a = echo_identity(r, win(10.0, 18_000, Some(NOW_S + 60), None), win(20.0, 604_800, None, None), false);
        a["user_id"] = json!(r.bearer());
        a["email"] = json!(format!("x{}y", refresh.join(",")));
        a["plan_type"] = json!(format!("\u{1b}]0;t\u{7}{}", "p".repeat(1 << 20)));
        ok(a)
    });
    for extra in [&[][..], &["--json"]] {
        let o = usage(&fx, &srv, extra);
        assert_no_secrets(&o.all(), &secrets);
        assert!(o.all().len() < 200_000, "{} bytes of output", o.all().len());
        assert!(!o.all().contains('\u{1b}') || extra == ["--json"], "{}", o.all());
    }
    let v = usage(&fx, &srv, &["--json"]).json();
    let u = &profile(&v, BOB)["usage"];
    assert!(u["user_id"].as_str().unwrap().starts_with("eyJ…#"), "{u}");
    assert!(
        u["plan_type"].as_str().unwrap().ends_with(&format!("({} bytes)", (1 << 20) + 6)),
        "{}",
        &u["plan_type"].as_str().unwrap()[..20]
    );
}

// ----------------------------------------------------------------------------------------------
// issue 22: the one-line-per-profile table and proxies

#[test]
fn usage_table_is_one_line_per_profile_with_both_windows() {
    let fx = Fx::standard(Layout::B);
    let srv = standard_server();
    let o = usage(&fx, &srv, &["--table"]);
    assert_eq!(o.code, 0, "{}", o.all());
    eprintln!("{}", o.stdout);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("PROFILE") && lines[0].contains("5H") && lines[0].contains("WEEK"), "{}", o.stdout);
    assert_eq!(lines.len(), 4, "a header and one line per profile:\n{}", o.stdout);
    let alice = lines.iter().find(|l| l.starts_with(ALICE)).unwrap();
    for s in
        ["alice@example.com (acct-alice-p…)", "plus", "9% left, 05-01 14:05Z (in 2h)", "30% left, 05-05 12:05Z (in 4d)"]
    {
        assert!(alice.contains(s), "{s}:\n{alice}");
    }
    let bob = lines.iter().find(|l| l.starts_with(BOB)).unwrap();
    assert!(bob.contains("85% left") && bob.contains("65% left"), "{bob}");
}

/// A proxy that records the first line of each request and refuses with 502.
fn refusing_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(vec![]));
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            // the rest of the head
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            log.lock().unwrap().push(first.trim_end().to_string());
            let mut s = s;
            let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (addr, seen)
}

#[test]
fn https_proxy_carries_the_request_and_errors_name_host_proxy_and_profile() {
    let fx = Fx::standard(Layout::B);
    let (proxy, seen) = refusing_proxy();
    let mut c = fx.cmd(&["usage", "--json", "--endpoint", "https://usage.example.test/backend-api", ALICE]);
    c.env("HTTPS_PROXY", format!("http://{proxy}"));
    let o = run(c);
    assert_eq!(o.code, 1, "{}", o.all());
    assert_eq!(
        *seen.lock().unwrap(),
        ["CONNECT usage.example.test:443 HTTP/1.1"],
        "the request went through the proxy"
    );
    let v = o.json();
    let e = &profile(&v, ALICE)["error"];
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains(&format!("proxy {proxy}")) && msg.contains("usage.example.test"), "{e}");
    // text: the profile's line names it too
    let mut c = fx.cmd(&["usage", "--table", "--endpoint", "https://usage.example.test/backend-api", ALICE]);
    c.env("https_proxy", format!("http://user:secret@{proxy}"));
    let o = run(c);
    let line = o.stdout.lines().find(|l| l.starts_with(ALICE)).unwrap_or_else(|| panic!("{}", o.all()));
    assert!(line.contains("usage.example.test") && line.contains(&proxy), "{line}");
    assert!(!o.all().contains("secret"), "proxy credentials must not be shown:\n{}", o.all());
}

#[test]
fn no_proxy_exempts_the_endpoint_host() {
    let fx = Fx::standard(Layout::B);
    let srv = standard_server();
    let (proxy, seen) = refusing_proxy();
    let port = srv.url.rsplit(':').next().unwrap().to_string();
    // plain http endpoints use HTTP_PROXY: without NO_PROXY the request goes to the proxy
    let mut c = fx.cmd(&["usage", "--json", "--endpoint", &srv.url, ALICE]);
    c.env("HTTP_PROXY", format!("http://{proxy}"));
    let o = run(c);
    assert_eq!(o.code, 1, "{}", o.all());
    assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());
    assert!(
        seen.lock().unwrap()[0].starts_with(&format!("GET http://127.0.0.1:{port}/")),
        "{:?}",
        seen.lock().unwrap()
    );
    for no_proxy in ["127.0.0.1", "localhost,.example.com, 127.0.0.1", "*", &format!("127.0.0.1:{port}")] {
        let mut c = fx.cmd(&["usage", "--json", "--endpoint", &srv.url, ALICE]);
        c.env("HTTP_PROXY", format!("http://{proxy}")).env("NO_PROXY", no_proxy);
        let o = run(c);
        assert_eq!(o.code, 0, "NO_PROXY={no_proxy}: {}", o.all());
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY must bypass the proxy");
    // a NO_PROXY entry for another port does not exempt this one
    let mut c = fx.cmd(&["usage", "--json", "--endpoint", &srv.url, ALICE]);
    c.env("HTTP_PROXY", format!("http://{proxy}")).env("NO_PROXY", "127.0.0.1:1");
    assert_eq!(run(c).code, 1);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// Issue 20: usage read between a `--dry-run` plan and its `apply` is from before the change;
/// the transaction spans only its apply, so the snapshot is tagged `before`, not `during`.
#[test]
fn a_snapshot_taken_before_a_planned_pin_is_applied_is_before_it() {
    let fx = Fx::standard(Layout::B);
    let srv = serve(move |r| {
        ok(echo_identity(r, win(10.0, 18_000, Some(NOW_S + 3_600), None), win(5.0, 604_800, None, Some(86_400)), false))
    });
    let with_now = |when: &str, args: &[&str]| {
        let mut c = fx.cmd(args);
        c.env("CLAWAUTH_NOW", when);
        run(c)
    };
    let o = with_now("2026-05-01T12:00:00Z", &["pin", "agent:main:main", BOB, "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let o = with_now("2026-05-01T12:03:00Z", &["usage", "--endpoint", srv.url.as_str(), "--record"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let o = with_now("2026-05-01T12:05:00Z", &["apply", "1", "--yes"]);
    assert_eq!(o.code, 0, "{}", o.all());
    let sj = fx.ok(&["show", "1", "--json"]).json();
    let snaps = sj["transaction"]["usage_snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 3, "{sj}");
    for s in snaps {
        assert_eq!(s["when"], "before", "{s}");
    }
}
