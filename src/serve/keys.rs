//! `otpd keys create | list | revoke`: the API keys `otpd serve` clients authenticate with. A
//! key's secret is printed once, at creation; the database keeps only its keyed hash.

use std::io::Write;

use secrecy::ExposeSecret;
use serde_json::json;

use crate::app::App;
use crate::config::Config;
use crate::domain::Outcome;
use crate::error::Error;
use crate::render;
use crate::store::Role;

/// What `otpd keys` was asked to do.
pub enum KeysAction {
    Create { station: String, role: String },
    List,
    Revoke { sid: String },
}

pub fn run(
    config: Config,
    action: KeysAction,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let (code, line) = match action {
        KeysAction::Create { station, role } => create(config, &station, &role, json)?,
        KeysAction::List => list(config, json)?,
        KeysAction::Revoke { sid } => revoke(config, &sid, json)?,
    };
    writeln!(out, "{line}").map_err(Error::Output)?;
    Ok(code)
}

fn bad(error: String, json: bool) -> (u8, String) {
    let o = Outcome::InvalidInput { error };
    let line = if json {
        render::json(&o)
    } else {
        render::text(&o)
    };
    (o.exit_code(), line)
}

fn create(config: Config, station: &str, role: &str, json: bool) -> Result<(u8, String), Error> {
    let Some(role) = Role::parse(role) else {
        return Ok(bad(
            format!(
                "unknown role \"{}\"; use station, auditor, admin or kiosk",
                crate::sanitize::sanitize(role)
            ),
            json,
        ));
    };
    if let Err(e) = crate::config::validate_station(station.to_string()) {
        return Ok(bad(e.to_string(), json));
    }
    let ttl = config.server.enrol_ttl_seconds;
    let base = config.server.public_base();
    let mut app = App::for_process(config)?;
    let key = app.create_key(station, role)?;
    if role == Role::Kiosk {
        // The key's secret is never shown: a browser becomes the kiosk through this link.
        let token = app.create_enrolment(&key.sid, ttl)?;
        return Ok((
            0,
            kiosk_created(&key, &format!("{base}{ENROL_PATH}{token}"), ttl, json),
        ));
    }
    let secret = key.secret.expose_secret();
    let line = if json {
        json!({
            "outcome": "key_created",
            "sid": key.sid,
            "secret": secret,
            "station": key.station,
            "role": key.role,
        })
        .to_string()
    } else {
        format!(
            "Key {} created for station {} (role {}).\nSecret: {secret}\nThe secret is shown only this once; clients send SID:secret with HTTP Basic.",
            key.sid,
            key.station,
            key.role.as_str()
        )
    };
    Ok((0, line))
}

/// Where an enrolment link points (the pages front-end serves it), before its token.
pub const ENROL_PATH: &str = "/kiosk/enrol/";

fn kiosk_created(key: &crate::app::CreatedKey, url: &str, ttl: u64, json: bool) -> String {
    if json {
        json!({
            "outcome": "key_created",
            "sid": key.sid,
            "station": key.station,
            "role": key.role,
            "enrol_url": url,
            "enrol_expires_in_seconds": ttl,
        })
        .to_string()
    } else {
        format!(
            "Kiosk key {} created for station {}.\nOpen this link once, in the kiosk's browser, within {ttl} seconds:\n{url}\nIt sets the browser up as this kiosk; otpd keys revoke {} ends it.",
            key.sid, key.station, key.sid
        )
    }
}

fn list(config: Config, json: bool) -> Result<(u8, String), Error> {
    let keys = App::for_process(config)?.list_keys()?;
    if json {
        let keys: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "sid": k.sid,
                    "station": k.station,
                    "role": k.role,
                    "created_at": k.created_at,
                    "revoked_at": k.revoked_at,
                    "tampered": k.tampered,
                })
            })
            .collect();
        return Ok((0, json!({"outcome": "keys", "keys": keys}).to_string()));
    }
    if keys.is_empty() {
        return Ok((
            0,
            "No API keys. Create one with otpd keys create --station NAME.".into(),
        ));
    }
    let lines: Vec<String> = keys
        .iter()
        .map(|k| {
            let state = match (k.tampered, k.revoked_at) {
                (true, _) => {
                    "tampered (its row does not match its seal; it authenticates nothing)".into()
                }
                (false, Some(t)) => format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                (false, None) => "live".into(),
            };
            format!(
                "{}  {:<8} {}  created {}  {state}",
                k.sid,
                k.role.as_str(),
                k.station,
                k.created_at.format("%Y-%m-%d %H:%M")
            )
        })
        .collect();
    Ok((0, lines.join("\n")))
}

fn revoke(config: Config, sid: &str, json: bool) -> Result<(u8, String), Error> {
    let well_formed =
        sid.len() == 34 && sid.starts_with("SK") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Ok(bad(
            "a key SID is SK followed by 32 hex digits (see otpd keys list)".into(),
            json,
        ));
    }
    let done = App::for_process(config)?.revoke_key(sid)?;
    let (code, outcome, text) = if done {
        (0, "key_revoked", format!("Key {sid} revoked."))
    } else {
        (
            1,
            "no_such_key",
            format!("No live key {sid} (see otpd keys list)."),
        )
    };
    let line = if json {
        json!({"outcome": outcome, "sid": sid}).to_string()
    } else {
        text
    };
    Ok((code, line))
}
