//! The kiosk page driven in-process (issue 22): enrolment with a one-time link and its cookie,
//! the flow as form posts and redirects (what a browser with JavaScript off does), the CSRF
//! token, a revoked key, and the audit events naming the kiosk's station and key. What only a
//! browser shows is in `browser.rs`.

use super::{Answer, Pages, assert_secure_headers};
use crate::harness::{Env, US_E164, on_both_stores};

pub const CONFIG: &str =
    "[phone]\ndefault_region = \"US\"\n[policy]\nresend_cooldown_seconds = 30\n";

/// `otpd keys create --station STATION --role kiosk --json`: the key's SID and its link's token.
pub fn kiosk_key(env: &Env, station: &str) -> (String, String) {
    let run = env.run(&[
        "keys",
        "create",
        "--station",
        station,
        "--role",
        "kiosk",
        "--json",
    ]);
    run.ok();
    let j = run.json();
    assert!(
        j.get("secret").is_none(),
        "a kiosk key's secret is never shown: {j}"
    );
    let url = j["enrol_url"].as_str().expect("enrol_url").to_string();
    assert!(
        url.starts_with("http://127.0.0.1:8080/kiosk/enrol/"),
        "{url}"
    );
    let token = url.rsplit('/').next().unwrap().to_string();
    (j["sid"].as_str().unwrap().to_string(), token)
}

/// The CSRF token in a page's forms.
pub fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

/// The device cookie a Set-Cookie header sets, as a Cookie header.
fn device_cookie(a: &Answer) -> String {
    let set = a.header("set-cookie");
    set.split(';').next().unwrap().to_string()
}

fn post(p: &Pages, cookie: &str, fields: &[(&str, &str)]) -> Answer {
    let page = p.send("GET", "/kiosk/", Some(cookie), "");
    let mut body = format!("csrf={}", csrf(&page.body));
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", v.replace('+', "%2B").replace(' ', "+")));
    }
    let a = p.send("POST", "/kiosk/", Some(cookie), &body);
    assert_eq!(
        (a.status, a.header("location")),
        (303, "/kiosk/"),
        "{}",
        a.body
    );
    p.send("GET", "/kiosk/", Some(cookie), "")
}

on_both_stores! {
fn kiosk_page_enrols_once_runs_the_flow_without_javascript_and_audits_its_key(store) {
    let env = Env::with_config_on(store, CONFIG);
    let (sid, token) = kiosk_key(&env, "lobby");
    let p = Pages::start(&env);
    // No cookie: out of service, no form.
    let bare = p.send("GET", "/kiosk/", None, "");
    assert_eq!(bare.status, 403);
    assert!(bare.body.contains("out of service") && !bare.body.contains("<form"));
    assert_secure_headers(&bare);
    let enrolled = p.send("GET", &format!("/kiosk/enrol/{token}"), None, "");
    assert_eq!(
        (enrolled.status, enrolled.header("location")),
        (303, "/kiosk/")
    );
    let set = enrolled.header("set-cookie");
    for part in ["Path=/kiosk/", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let cookie = device_cookie(&enrolled);
    // The link works once.
    let again = p.send("GET", &format!("/kiosk/enrol/{token}"), None, "");
    assert_eq!(again.status, 403);
    assert_eq!(again.header("set-cookie"), "");
    // The number, national (the region's example shown), then the code.
    let start = p.send("GET", "/kiosk/", Some(&cookie), "");
    assert_eq!(start.status, 200);
    assert_secure_headers(&start);
    assert!(start.body.contains("<html lang=\"en\">"), "{}", start.body);
    assert!(start.body.contains("e.g. (201) 555-0123"), "{}", start.body);
    assert!(
        start
            .body
            .contains("type=\"tel\" autocomplete=\"tel\" inputmode=\"tel\"")
    );
    // A post without the CSRF token does nothing.
    let forged = p.send(
        "POST",
        "/kiosk/",
        Some(&cookie),
        "action=phone&phone=4155552671",
    );
    assert_eq!(forged.status, 303);
    assert!(env.outbox().is_empty());
    let code_page = post(
        &p,
        &cookie,
        &[("action", "phone"), ("phone", "(415) 555-2671")],
    );
    assert!(
        code_page.body.contains("autocomplete=\"one-time-code\""),
        "{}",
        code_page.body
    );
    assert!(
        !code_page.body.contains("2671") || code_page.body.contains("•"),
        "masked: {}",
        code_page.body
    );
    assert!(
        code_page
            .body
            .contains("You can ask for a new code in <span data-left>30 s</span>."),
        "{}",
        code_page.body
    );
    let wrong = post(
        &p,
        &cookie,
        &[("action", "code"), ("code", &env.wrong_code(US_E164))],
    );
    assert!(
        wrong.body.contains("That code is not right."),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("role=\"alert\""));
    let code = env.last_code(US_E164);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let done = post(&p, &cookie, &[("action", "code"), ("code", &spaced)]);
    assert!(done.body.contains("Verified"), "{}", done.body);
    assert!(done.body.contains("This screen resets in"), "{}", done.body);
    assert!(
        done.body
            .contains("starts again in <span data-idle-left>30</span> seconds"),
        "{}",
        done.body
    );
    // The audit events name the kiosk's station and key.
    let rows = env.query_strings(
        "SELECT station || ' ' || event || ' ' || detail FROM audit_events WHERE event IN ('sent', 'verified', 'failed') ORDER BY id",
    );
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.starts_with("lobby ") && r.contains(&format!("kiosk key {sid}"))),
        "{rows:?}"
    );
    // Revoked: the device ends at its next request.
    env.run(&["keys", "revoke", &sid]).ok();
    let revoked = p.send("GET", "/kiosk/", Some(&cookie), "");
    assert_eq!(revoked.status, 403);
    assert!(revoked.body.contains("out of service") && !revoked.body.contains("<form"));
    assert!(revoked.header("set-cookie").contains("Max-Age=0"));
}
}

#[test]
fn kiosk_key_authenticates_no_api_request_and_is_listed_as_kiosk() {
    let env = Env::with_config(CONFIG);
    let (sid, _) = kiosk_key(&env, "lobby");
    let list = env.run(&["keys", "list", "--json"]);
    let j = list.json();
    assert_eq!(j["keys"][0]["role"], "kiosk", "{j}");
    assert_eq!(j["keys"][0]["sid"], sid.as_str());
    let bad = env.run(&["keys", "create", "--station", "x", "--role", "root"]);
    assert!(
        bad.stdout.contains("use station, auditor, admin or kiosk"),
        "{}",
        bad.stdout
    );
}

#[test]
fn kiosk_page_refuses_an_expired_link_and_never_logs_a_token() {
    let mut env = Env::with_config(CONFIG);
    let (_, token) = kiosk_key(&env, "lobby");
    // The server starts after the link's 900 s are over.
    env.advance(901);
    let p = Pages::start(&env);
    let expired = p.send("GET", &format!("/kiosk/enrol/{token}"), None, "");
    assert_eq!(expired.status, 403);
    assert!(expired.body.contains("out of service") && !expired.body.contains("<form"));
    assert_eq!(expired.header("set-cookie"), "");
    let junk = p.send("GET", "/kiosk/enrol/not-a-token", None, "");
    assert_eq!(junk.status, 403);
    let log = p.log.clone();
    drop(p);
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("/kiosk/enrol/{token}"),
        "the route's template: {log}"
    );
    assert!(!log.contains(&token), "{log}");
}

#[test]
fn kiosk_page_holds_the_stations_limits_in_visitor_words() {
    let env = Env::with_config(&format!(
        "{CONFIG}[limits]\nper_number_per_hour = 1\nmax_cooldown_seconds = 0\n"
    ));
    let (_, token) = kiosk_key(&env, "lobby");
    let p = Pages::start(&env);
    let cookie = device_cookie(&p.send("GET", &format!("/kiosk/enrol/{token}"), None, ""));
    let sent = post(
        &p,
        &cookie,
        &[("action", "phone"), ("phone", "415 555 2671")],
    );
    assert!(sent.body.contains("Sent a 6-digit code"), "{}", sent.body);
    post(&p, &cookie, &[("action", "restart")]);
    let refused = post(
        &p,
        &cookie,
        &[("action", "phone"), ("phone", "415 555 2671")],
    );
    assert!(refused.body.contains("Please wait"), "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""));
    assert!(
        !refused.body.contains("per_number"),
        "no operator words: {}",
        refused.body
    );
    assert_eq!(env.outbox().len(), 1);
    // The access log names the route and the kiosk's station, never the number or the cookie.
    let log = p.log.clone();
    drop(p);
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let posts: Vec<&str> = log.lines().filter(|l| l.contains("POST /kiosk/")).collect();
    assert!(
        !posts.is_empty() && posts.iter().all(|l| l.contains("lobby")),
        "{log}"
    );
    assert!(
        !log.contains("5552671") && !log.contains("555 2671"),
        "{log}"
    );
    assert!(!log.contains(cookie.split('=').nth(1).unwrap()), "{log}");
}

#[test]
fn kiosk_page_forgets_an_idle_visitor_on_the_server_too() {
    // JavaScript off, nobody touches the screen: the next request after idle_seconds and the
    // warning's 30 s starts a new visit, whatever the browser still shows.
    let env = Env::with_config(&format!("{CONFIG}[kiosk]\nidle_seconds = 60\n"));
    let (_, token) = kiosk_key(&env, "lobby");
    let clock = env.path("clock");
    let now = env.now();
    std::fs::write(&clock, now.to_rfc3339()).unwrap();
    let p = Pages::start_on_clock(&env, &clock);
    let cookie = device_cookie(&p.send("GET", &format!("/kiosk/enrol/{token}"), None, ""));
    let sent = post(
        &p,
        &cookie,
        &[("action", "phone"), ("phone", "415 555 2671")],
    );
    assert!(sent.body.contains("2671"), "{}", sent.body);
    // Within the warning: still this visitor.
    std::fs::write(&clock, (now + chrono::TimeDelta::seconds(89)).to_rfc3339()).unwrap();
    let still = p.send("GET", "/kiosk/", Some(&cookie), "");
    assert!(still.body.contains("one-time-code"), "{}", still.body);
    // Past it: a new visitor, nothing of the last one on the page.
    std::fs::write(
        &clock,
        (now + chrono::TimeDelta::seconds(89 + 91)).to_rfc3339(),
    )
    .unwrap();
    let fresh = p.send("GET", "/kiosk/", Some(&cookie), "");
    assert!(fresh.body.contains("type=\"tel\""), "{}", fresh.body);
    assert!(!fresh.body.contains("2671") && !fresh.body.contains("one-time-code"));
}

#[test]
fn keys_create_kiosk_in_text_prints_the_link_and_no_secret() {
    let env = Env::with_config("[server]\npublic_url = \"https://otpd.example:8443/\"\n");
    let run = env.run(&["keys", "create", "--station", "lobby", "--role", "kiosk"]);
    run.ok();
    assert!(
        run.stdout
            .contains("https://otpd.example:8443/kiosk/enrol/"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Secret"), "{}", run.stdout);
    let wrong = Env::with_config("[server]\npublic_url = \"ftp://x\"\n");
    let refused = wrong.run(&["keys", "list"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("server.public_url"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
}

#[test]
fn kiosk_page_is_held_by_the_conversion_guard_like_any_station() {
    let env = Env::with_config(&format!(
        "{CONFIG}[limits]\nmin_sends_for_conversion = 2\nmin_conversion = 0.5\n"
    ));
    let (_, token) = kiosk_key(&env, "lobby");
    let p = Pages::start(&env);
    let cookie = device_cookie(&p.send("GET", &format!("/kiosk/enrol/{token}"), None, ""));
    for number in ["415 555 2671", "202 555 0123"] {
        let sent = post(&p, &cookie, &[("action", "phone"), ("phone", number)]);
        assert!(sent.body.contains("Sent a 6-digit code"), "{}", sent.body);
        post(&p, &cookie, &[("action", "restart")]);
    }
    // Two sends, none verified: sending is paused, and the visitor is asked to find staff.
    let held = post(
        &p,
        &cookie,
        &[("action", "phone"), ("phone", "+44 7911 123456")],
    );
    assert!(
        held.body.contains("Please ask a member of staff."),
        "{}",
        held.body
    );
    assert!(
        !held.body.contains("otpd limits"),
        "no operator words: {}",
        held.body
    );
    assert_eq!(env.outbox().len(), 2);
    let paused = env.query_strings(
        "SELECT station FROM audit_events WHERE event = 'limits_paused' ORDER BY id",
    );
    assert_eq!(paused, ["lobby"]);
}
