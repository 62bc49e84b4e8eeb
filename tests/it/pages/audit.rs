//! The audit pages in-process (issue 23): sign-in with each role (a station key refused with one
//! sentence), the session cookie's attributes, the filtered events page against
//! `otpd audit --json`, the export links against `otpd audit export` byte for byte, expiry on an
//! injected clock, revocation, the brake on failed sign-ins, CSRF on every POST, and a row
//! edited in the database shown as "broken at row N" with the N `otpd audit verify` names — on
//! both stores.

use super::{Answer, Pages, assert_secure_headers};
use crate::audit::activity;
use crate::harness::*;
use crate::serve::{Key, key};

/// A signed-in visit: the cookies to send.
struct Visit {
    csrf: String,
    session: Option<String>,
}

impl Visit {
    fn cookie(&self) -> String {
        match &self.session {
            Some(s) => format!("otpd_audit_csrf={}; otpd_audit={s}", self.csrf),
            None => format!("otpd_audit_csrf={}", self.csrf),
        }
    }
}

/// The value a `Set-Cookie` header of `a` gives `name`, with its attributes.
fn set_cookie(a: &Answer, name: &str) -> Option<(String, String)> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| {
            let value = c[name.len() + 1..].split(';').next().unwrap().to_string();
            (value, c)
        })
}

/// Opens the sign-in page: the CSRF cookie the forms echo.
fn arrive(pages: &Pages) -> Visit {
    let a = pages.send("GET", "/audit/", None, "");
    assert_eq!(a.status, 200, "{}", a.body);
    assert_secure_headers(&a);
    assert!(a.body.contains("autocomplete=\"username\""), "{}", a.body);
    assert!(
        a.body.contains("autocomplete=\"current-password\""),
        "{}",
        a.body
    );
    let (csrf, attrs) = set_cookie(&a, "otpd_audit_csrf").expect("a CSRF cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
        "{attrs}"
    );
    Visit {
        csrf,
        session: None,
    }
}

fn sign_in_as(pages: &Pages, v: &mut Visit, sid: &str, secret: &str) -> Answer {
    let form = format!("csrf={}&sid={sid}&secret={secret}", v.csrf);
    let a = pages.send("POST", "/audit/sign-in", Some(&v.cookie()), &form);
    if let Some((token, attrs)) = set_cookie(&a, "otpd_audit") {
        assert!(attrs.contains("HttpOnly"), "{attrs}");
        assert!(attrs.contains("SameSite=Strict"), "{attrs}");
        assert!(attrs.contains("Path=/audit/"), "{attrs}");
        assert!(!attrs.contains("Secure"), "plain HTTP here: {attrs}");
        v.session = Some(token);
    }
    a
}

fn sign_in(pages: &Pages, k: &Key) -> Visit {
    let mut v = arrive(pages);
    let a = sign_in_as(pages, &mut v, &k.sid, &k.secret);
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), "/audit/");
    v
}

fn get(pages: &Pages, v: &Visit, path: &str) -> Answer {
    let a = pages.send("GET", path, Some(&v.cookie()), "");
    assert_secure_headers(&a);
    a
}

/// The ids in the events table, in page order.
fn row_ids(body: &str) -> Vec<i64> {
    let Some(tbody) = body.split("<tbody>").nth(1) else {
        return Vec::new();
    };
    let tbody = tbody.split("</tbody>").next().unwrap();
    tbody
        .split("<tr><td>")
        .skip(1)
        .map(|r| r.split("</td>").next().unwrap().parse().unwrap())
        .collect()
}

on_both_stores! {
    fn auditor_and_admin_keys_sign_in_and_see_what_otpd_audit_lists(store) {
        let mut env = Env::with_config_on(store, "[phone]\ndefault_region = \"US\"\n");
        activity(&mut env);
        let auditor = key(&env, "hq", "auditor");
        let admin = key(&env, "hq", "admin");
        let station = key(&env, "desk-1", "station");
        let pages = Pages::start(&env);

        // A station key is refused with one sentence; a wrong secret too.
        let mut v = arrive(&pages);
        let a = sign_in_as(&pages, &mut v, &station.sid, &station.secret);
        assert_eq!(a.status, 403);
        assert!(a.body.contains("A station key cannot read the audit log; sign in with an auditor or admin key."), "{}", a.body);
        assert!(v.session.is_none());
        let a = sign_in_as(&pages, &mut v, &auditor.sid, "nope");
        assert_eq!(a.status, 401);
        assert!(a.body.contains("do not match a live key"), "{}", a.body);
        // Without the CSRF field, nothing is checked.
        let a = pages.send("POST", "/audit/sign-in", Some(&v.cookie()),
            &format!("sid={}&secret={}", auditor.sid, auditor.secret));
        assert_eq!(a.status, 403);
        assert!(set_cookie(&a, "otpd_audit").is_none());

        for k in [&auditor, &admin] {
            let v = sign_in(&pages, k);
            for filter in ["", "event=sent", "event=sent&event=delivered&station=desk-2",
                           "phone=415+555+2671", "outcome=refused", "station=desk-1&outcome=ok"] {
                let page = get(&pages, &v, &format!("/audit/?tz=UTC&{filter}"));
                assert_eq!(page.status, 200, "{filter}: {}", page.body);
                let mut args = vec!["audit", "--json"];
                let words: Vec<String> = filter
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .flat_map(|p| {
                        let (k, v) = p.split_once('=').unwrap();
                        [format!("--{k}"), v.replace('+', " ")]
                    })
                    .collect();
                args.extend(words.iter().map(String::as_str));
                let listed: Vec<i64> = env.run(&args).ok().json_lines().iter()
                    .map(|r| r["id"].as_i64().unwrap()).collect();
                assert_eq!(row_ids(&page.body), listed, "{filter}");
                // The export links give what `otpd audit export` prints, byte for byte.
                let mut export = vec!["audit", "export"];
                export.extend(words.iter().map(String::as_str));
                let csv = get(&pages, &v, &format!("/audit/export.csv?tz=UTC&{filter}"));
                assert_eq!(csv.status, 200);
                assert_eq!(csv.body, env.run(&export).ok().stdout, "{filter}");
                export.extend(["--format", "json"]);
                let json = get(&pages, &v, &format!("/audit/export.json?tz=UTC&{filter}"));
                assert_eq!(json.body, env.run(&export).ok().stdout, "{filter}");
            }
            // Never a full number on the page.
            let page = get(&pages, &v, "/audit/?tz=UTC");
            for full in [US_E164, US2_E164, UK_E164, "4155552671"] {
                assert!(!page.body.contains(full), "{full} leaked");
            }
            // A bad filter is one sentence saying what is accepted.
            let bad = get(&pages, &v, "/audit/?tz=UTC&outcome=maybe");
            assert_eq!(bad.status, 400);
            assert!(bad.body.contains("ok, refused, failed"), "{}", bad.body);
            let bad = get(&pages, &v, "/audit/?tz=Mars/Olympus");
            assert!(bad.body.contains("IANA name"), "{}", bad.body);
            // The stats page: a chart per series, each with its title and a data table.
            let stats = get(&pages, &v, "/audit/stats?tz=UTC");
            assert_eq!(stats.status, 200, "{}", stats.body);
            assert_eq!(stats.body.matches("<svg").count(), 7);
            assert_eq!(stats.body.matches("<table>").count(), 7);
            assert!(stats.body.contains("<title>Sends per day</title>"));
        }
        // Sign-ins, refused ones and sign-outs are audit events.
        let v = sign_in(&pages, &auditor);
        let out = pages.send("POST", "/audit/sign-out", Some(&v.cookie()), &format!("csrf={}", v.csrf));
        assert_eq!(out.status, 200);
        assert!(out.body.contains("You have signed out."));
        let again = get(&pages, &v, "/audit/?tz=UTC");
        assert!(again.body.contains("Sign in to the audit log"), "the session ended");
        let events: Vec<String> = env.run(&["audit", "--json", "--limit", "100"]).ok().json_lines()
            .iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
        assert_eq!(events.iter().filter(|e| *e == "signed_in").count(), 3);
        assert_eq!(events.iter().filter(|e| *e == "sign_in_refused").count(), 2);
        assert_eq!(events.iter().filter(|e| *e == "signed_out").count(), 1);
        let all = env.run(&["audit", "export", "--format", "json"]).ok().stdout.clone();
        assert!(!all.contains(&auditor.secret) && !all.contains(&admin.secret), "a secret leaked");
        assert!(!all.contains(v.session.as_deref().unwrap()), "a session token leaked");
    }
}

on_both_stores! {
    fn sessions_end_idle_after_eight_hours_and_on_revocation(store) {
        let mut env = Env::with_config_on(store, "");
        activity(&mut env);
        let auditor = key(&env, "hq", "auditor");
        let pages = Pages::start(&env);
        let v = sign_in(&pages, &auditor);
        assert_eq!(get(&pages, &v, "/audit/?tz=UTC").status, 200);
        drop(pages);
        // 14 minutes later the session lives (and the request restarts the idle limit) …
        env.advance(14 * 60);
        let pages = Pages::start(&env);
        assert!(get(&pages, &v, "/audit/?tz=UTC").body.contains("Audit events"));
        drop(pages);
        // … 15 idle minutes end it.
        env.advance(15 * 60);
        let pages = Pages::start(&env);
        let a = get(&pages, &v, "/audit/?tz=UTC");
        assert!(a.body.contains("after 15 minutes without activity"), "{}", a.body);
        assert!(set_cookie(&a, "otpd_audit").is_some_and(|(v, _)| v.is_empty()), "cleared");
        // A busy session still ends 8 hours after its sign-in.
        let v = sign_in(&pages, &auditor);
        drop(pages);
        for _ in 0..32 {
            env.advance(14 * 60 + 50);
            let pages = Pages::start(&env);
            assert!(get(&pages, &v, "/audit/?tz=UTC").body.contains("Audit events"));
        }
        env.advance(14 * 60);
        let pages = Pages::start(&env);
        let a = get(&pages, &v, "/audit/?tz=UTC");
        assert!(a.body.contains("after 8 hours"), "{}", a.body);
        // Revoking the key ends its sessions at once.
        let v = sign_in(&pages, &auditor);
        assert!(get(&pages, &v, "/audit/?tz=UTC").body.contains("Audit events"));
        env.run(&["keys", "revoke", &auditor.sid]).ok();
        let a = get(&pages, &v, "/audit/?tz=UTC");
        assert!(a.body.contains("its key has been revoked"), "{}", a.body);
    }
}

on_both_stores! {
    fn failed_sign_ins_are_braked_per_address(store) {
        let env = Env::with_config_on(store, "");
        let auditor = key(&env, "hq", "auditor");
        let pages = Pages::start(&env);
        let mut v = arrive(&pages);
        for _ in 0..5 {
            assert_eq!(sign_in_as(&pages, &mut v, &auditor.sid, "wrong").status, 401);
        }
        // The sixth is refused unchecked, even with the right secret.
        let a = sign_in_as(&pages, &mut v, &auditor.sid, &auditor.secret);
        assert_eq!(a.status, 429, "{}", a.body);
        assert!(a.body.contains("Too many failed sign-ins"), "{}", a.body);
        assert!(v.session.is_none());
    }
}

on_both_stores! {
    fn an_edited_row_shows_broken_at_the_row_otpd_audit_verify_names(store) {
        let mut env = Env::with_config_on(store, "");
        activity(&mut env);
        let auditor = key(&env, "hq", "auditor");
        let pages = Pages::start(&env);
        let v = sign_in(&pages, &auditor);
        let chain = |pages: &Pages| loop {
            let a = get(pages, &v, "/audit/chain?tz=UTC");
            let j: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            if !j["running"].as_bool().unwrap() && j["status"] != "Not checked yet since the server started." {
                return j;
            }
        };
        // The first page starts a check.
        get(&pages, &v, "/audit/?tz=UTC");
        let j = chain(&pages);
        assert!(j["status"].as_str().unwrap().starts_with("intact: "), "{j}");
        env.execute("UPDATE audit_events SET detail = 'attempt 9 of 5' WHERE id = 3");
        let verdict = env.run(&["audit", "verify", "--json"]).json();
        let row = verdict["row"].as_i64().unwrap();
        // Check again (a POST with the CSRF field; without it, refused).
        let no = pages.send("POST", "/audit/check", Some(&v.cookie()), "");
        assert_eq!(no.status, 403);
        let a = pages.send("POST", "/audit/check", Some(&v.cookie()), &format!("csrf={}", v.csrf));
        assert_eq!(a.status, 303);
        let j = chain(&pages);
        assert_eq!(j["status"], format!("broken at row {row}"), "{j}");
        assert!(j["detail"].as_str().unwrap().contains(verdict["message"].as_str().unwrap()), "{j}");
        let page = get(&pages, &v, "/audit/?tz=UTC");
        assert!(page.body.contains(&format!("broken at row {row}")), "{}", page.body);
        assert!(page.body.contains("aria-live=\"polite\""));
    }
}
