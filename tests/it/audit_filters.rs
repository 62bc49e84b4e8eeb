//! `otpd audit export` with the listing's filters (`--event`, `--phone`, `--station`,
//! `--outcome`, `--since`, `--until`): it exports exactly the rows `otpd audit --json` lists for
//! the same options, oldest first — the promise the audit pages' export links build on.

use crate::audit::{activity, env_with};
use crate::harness::*;

fn ids(rows: &[serde_json::Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

on_both_stores! {
    fn export_takes_the_listing_filters_and_exports_what_the_listing_lists(store) {
        let mut env = env_with(store, "[phone]\ndefault_region = \"US\"\n");
        activity(&mut env);
        let cases: &[&[&str]] = &[
            &[],
            &["--event", "sent"],
            &["--event", "sent", "--event", "delivered", "--station", "desk-2"],
            &["--phone", "415", "555", "2671"],
            &["--phone", "+44 7911 123456", "--outcome", "refused"],
            &["--outcome", "refused"],
            &["--outcome", "ok", "--station", "desk-1"],
            &["--station", "lobby"],
            &["--since", "2026-11-28T10:00:00Z", "--until", "2026-11-28T10:00:05Z"],
        ];
        let mut seen_nonempty = 0;
        for filter in cases {
            let mut list = vec!["audit", "--json", "--limit", "1000"];
            list.extend_from_slice(filter);
            let mut listed = env.run(&list).ok().json_lines();
            listed.reverse();
            let mut export = vec!["audit", "export", "--format", "json"];
            export.extend_from_slice(filter);
            let exported = env.run(&export).ok().json_lines();
            assert_eq!(ids(&exported), ids(&listed), "{filter:?}");
            if !listed.is_empty() {
                seen_nonempty += 1;
            }
        }
        assert!(seen_nonempty >= 6, "the cases must select something");
        // The outcome filter: exactly the refused rows.
        let refused = env.run(&["audit", "export", "--format", "json", "--outcome", "refused"]);
        let refused = refused.ok().json_lines();
        assert_eq!(refused.len(), 3, "invalid, rate_limited, no_pending");
        assert!(refused.iter().all(|r| r["outcome"] == "refused"));
        // CSV takes the same filters.
        let csv = env.run(&["audit", "export", "--event", "sent"]).ok().stdout.clone();
        assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
        // Bad filter values are one line saying what is accepted.
        for (args, says) in [
            (&["audit", "export", "--outcome", "maybe"][..], "ok, refused, failed"),
            (&["audit", "export", "--event", "sending"], "rate_limited"),
            (&["audit", "export", "--phone", "+1 555 0100"], "--phone"),
        ] {
            let r = env.run(args);
            assert_eq!(r.code, 2, "{args:?}: {r:?}");
            assert!(r.stderr.contains(says), "{args:?}: {r:?}");
        }
    }
}
