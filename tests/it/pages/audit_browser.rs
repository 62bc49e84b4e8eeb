//! The audit pages in a real headless Chromium (issue 23): a station key refused, each role
//! signing in, the filtered page against `otpd audit --json`, the chain's live region, the
//! stats page's charts; axe-core finds no serious or critical violation on any page, and the
//! screenshots in the README are taken here (docs/audit-pages/).

use std::path::Path;

use crate::audit::activity;
use crate::browser::Browser;
use crate::harness::*;
use crate::serve::{Key, Server, key};

fn shots() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/audit-pages"))
}

async fn sign_in(b: &Browser, base: &str, k: &Key) {
    b.goto(&format!("{base}/audit/?tz=UTC")).await;
    b.type_into("#sid", &k.sid).await;
    b.type_into("#secret", &k.secret).await;
    b.click("button[type=submit]").await;
}

async fn no_violations(b: &Browser, page: &str) {
    let v = b.axe().await;
    assert!(v.is_empty(), "{page}: axe-core found {v:#?}");
}

#[test]
fn audit_pages_in_a_real_browser() {
    let mut env = Env::with_config("[phone]\ndefault_region = \"US\"\n");
    activity(&mut env);
    let auditor = key(&env, "hq", "auditor");
    let admin = key(&env, "hq", "admin");
    let station = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let base = server.base.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let wide = crate::browser::Options {
            size: (1280, 1000),
            ..Default::default()
        };
        let Some(b) = Browser::start_with(wide).await else {
            return;
        };
        // The sign-in page; a station key is refused with one sentence.
        b.goto(&format!("{base}/audit/?tz=UTC")).await;
        b.wait_text("Sign in to the audit log").await;
        no_violations(&b, "sign-in").await;
        b.screenshot(&shots().join("sign-in.png")).await;
        sign_in(&b, &base, &station).await;
        b.wait_text("A station key cannot read the audit log").await;
        no_violations(&b, "refused sign-in").await;

        for k in [&admin, &auditor] {
            sign_in(&b, &base, k).await;
            b.wait_text("Audit events").await;
            b.wait_text("intact: ").await;
            no_violations(&b, "events").await;
            for (query, words) in [
                ("event=sent", vec!["--event", "sent"]),
                ("event=delivered&station=desk-2", vec!["--event", "delivered", "--station", "desk-2"]),
                ("outcome=refused", vec!["--outcome", "refused"]),
            ] {
                b.goto(&format!("{base}/audit/?tz=UTC&{query}")).await;
                b.wait_text("Audit events").await;
                let ids = b
                    .run("return Array.from(document.querySelectorAll('#events tbody tr td:first-child')).map(td => Number(td.textContent));")
                    .await;
                let mut args = vec!["audit", "--json"];
                args.extend(words);
                let listed: Vec<serde_json::Value> = env
                    .run(&args)
                    .ok()
                    .json_lines()
                    .iter()
                    .map(|r| r["id"].clone())
                    .collect();
                assert_eq!(ids.as_array().unwrap(), &listed, "{query}");
            }
            b.goto(&format!("{base}/audit/stats?tz=UTC")).await;
            b.wait_text("Sends per day").await;
            no_violations(&b, "stats").await;
            if k.sid == auditor.sid {
                b.run("document.querySelector('section.chart').scrollIntoView(); return 0;")
                    .await;
                b.screenshot(&shots().join("stats.png")).await;
                b.goto(&format!("{base}/audit/?tz=UTC")).await;
                b.wait_text("intact: ").await;
                b.run("document.querySelector('#events').scrollIntoView(); return 0;")
                    .await;
                b.screenshot(&shots().join("events.png")).await;
            }
            b.click("form[action='/audit/sign-out'] button").await;
            b.wait_text("You have signed out.").await;
        }
        // Without a zone in the address, the page's script sends the browser's.
        sign_in(&b, &base, &auditor).await;
        b.goto(&format!("{base}/audit/")).await;
        let text = b.wait_text("Times are shown in").await;
        assert!(text.contains("Audit events"), "{text}");
        b.close().await;
    });
    drop(server);
}
