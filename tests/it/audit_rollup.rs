//! The statistics' rollup stays exact: what `otpd audit stats` shows from it, as rows are
//! appended, bounds fall inside a 15-minute bucket, and retention removes a prefix, is what a
//! rollup rebuilt from nothing (a full scan of the log) shows — on both stores.

use crate::audit::{activity, env_with};
use crate::harness::*;

/// `audit stats --json` with `extra` options, as one string per day.
fn stats(env: &Env, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["audit", "stats", "--json"];
    args.extend_from_slice(extra);
    env.run(&args)
        .ok()
        .json_lines()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// What the stats say when the rollup is thrown away and rebuilt from the whole log.
fn rebuilt(env: &Env, extra: &[&str]) -> Vec<String> {
    env.execute("DELETE FROM audit_rollup; UPDATE audit_rollup_mark SET through_id = 0;");
    stats(env, extra)
}

on_both_stores! {
    fn the_rollup_answers_what_a_full_scan_answers(store) {
        let mut env = env_with(store, "[audit]\nretention_days = 30\n");
        activity(&mut env);
        let first = stats(&env, &[]);
        assert!(!first.is_empty());
        assert!(env.query_i64("SELECT count(*) FROM audit_rollup") > 0, "the view folded the log");
        assert_eq!(
            env.query_i64("SELECT through_id FROM audit_rollup_mark"),
            env.query_i64("SELECT max(id) FROM audit_events")
        );
        // Rows appended after a view are folded by the next one.
        env.advance(20 * 86_400);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        env.run(&["verify", &code, "--phone", US]).ok();
        let second = stats(&env, &[]);
        assert_ne!(first, second);
        assert_eq!(second, rebuilt(&env, &[]));
        // Bounds inside a bucket: the edges come from the log, the middle from the rollup.
        let t0 = env.now() - chrono::TimeDelta::days(20);
        let since = (t0 - chrono::TimeDelta::minutes(7)).to_rfc3339();
        let until = (env.now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
        let bounded = ["--since", since.as_str(), "--until", until.as_str()];
        let mid = stats(&env, &bounded);
        assert_eq!(mid, second, "the bounds hold every row");
        let tight = (t0 + chrono::TimeDelta::seconds(1)).to_rfc3339();
        let inside = stats(&env, &["--since", since.as_str(), "--until", tight.as_str()]);
        assert_eq!(inside, rebuilt(&env, &["--since", since.as_str(), "--until", tight.as_str()]));
        // Retention removes the first day's rows: the rollup forgets them too.
        env.advance(15 * 86_400);
        env.run(&["prune", "--older-than", "30d"]).ok();
        let after = stats(&env, &[]);
        assert_ne!(after, second);
        assert_eq!(after, rebuilt(&env, &[]));
    }
}
