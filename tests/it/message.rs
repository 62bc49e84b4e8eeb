//! What a person receives, through the binary: each built-in locale's SMS and kiosk texts,
//! `send --locale` (and the prompt's `send PHONE es`), the `[message]` template and its
//! refusals at start-up, the WebOTP and app-hash lines, what a message costs in SMS segments
//! (start-up warning, `otpd config`, `audit stats`), the call's `<Say language=…>`, and the
//! kiosk's language choice in a pseudo-terminal.

use rexpect::session::{PtySession, spawn_command};

use crate::fake_twilio::{FakeTwilio, Reply};
use crate::harness::*;

/// Each built-in locale and its SMS text for a code valid 5 minutes (`CODE` stands for it).
const SMS: [(&str, &str); 5] = [
    (
        "en",
        "Your verification code is CODE. It expires in 5 minutes. Never share it.",
    ),
    (
        "es",
        "Su código es CODE. Caduca en 5 minutos. No lo comparta.",
    ),
    (
        "fr",
        "Votre code de vérification est CODE. Il expire dans 5 minutes. Ne le communiquez à personne.",
    ),
    (
        "de",
        "Ihr Bestätigungscode lautet CODE. Er läuft in 5 Minuten ab. Geben Sie ihn nicht weiter.",
    ),
    (
        "pt",
        "Seu código é CODE. Expira em 5 minutos. Não o compartilhe.",
    ),
];

/// The newest outbox message: (body, code, locale).
fn last_message(env: &Env) -> (String, String, String) {
    let m = env.outbox().pop().expect("a message in the outbox");
    let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    (s("body"), s("code"), s("locale"))
}

#[test]
fn each_built_in_locale_has_its_sms_text_and_send_locale_picks_it() {
    let env = Env::new();
    let phones = [US, US2, UK, "+1 415 555 2672", "+1 415 555 2673"];
    for ((locale, text), phone) in SMS.iter().zip(phones) {
        let r = env.run(&["send", "--json", phone, "--locale", locale]);
        assert_eq!(r.outcome(), "sent", "{locale}: {r:?}");
        let (body, code, tag) = last_message(&env);
        assert_eq!(body, text.replace("CODE", &code), "{locale}");
        assert_eq!(tag, *locale);
    }
    // The configured locale is the default; a region tag picks its language.
    let env = Env::with_config("[message]\nlocale = \"pt-BR\"\n");
    env.run(&["send", US]).ok();
    let (body, code, tag) = last_message(&env);
    assert_eq!(
        (body, tag.as_str()),
        (SMS[4].1.replace("CODE", &code), "pt")
    );
}

#[test]
fn an_unknown_locale_is_one_line_listing_the_built_in_ones() {
    let env = Env::new();
    let want = "Unknown locale \"klingon\": the built-in locales are en, es, fr, de, pt.";
    let r = env.run(&["send", US, "--locale", "klingon"]);
    assert_eq!((r.code, r.stdout.trim()), (2, want), "{r:?}");
    let r = env.run(&["send", "--json", US, "--locale", "klingon"]);
    assert_eq!(r.outcome(), "invalid_input");
    assert!(env.outbox().is_empty());

    let env = Env::with_config("[message]\nlocale = \"xx\"\n");
    let r = env.run(&["config"]);
    assert_eq!(r.code, 2, "{r:?}");
    let last = r.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "otpd: invalid configuration: message.locale: unknown locale \"xx\": the built-in locales are en, es, fr, de, pt",
        "{r:?}"
    );
}

#[test]
fn the_prompt_takes_a_locale_after_the_number_in_text_and_json_lines() {
    let env = Env::with_config("[policy]\nresend_cooldown_seconds = 0\n");
    let r = env.run_stdin(
        &[],
        format!("send {US} es\nresend\n{UK} whatsapp de\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let out = env.outbox();
    assert_eq!(out[0]["locale"], "es");
    // A resend to the current number keeps the language of its send.
    assert_eq!(out[1]["locale"], "es", "{r:?}");
    assert_eq!(out[2]["locale"], "de");
    assert_eq!(out[2]["channel"], "whatsapp");
    let r = env.run_stdin(
        &["--json"],
        format!("send {US2} --locale fr\nsend {US2} zz\n").as_bytes(),
    );
    let lines = r.json_lines();
    assert_eq!(lines[0]["outcome"], "sent");
    assert_eq!(env.outbox()[3]["locale"], "fr");
    assert_eq!(lines[1]["outcome"], "invalid_input");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("built-in locales are en, es"),
        "{lines:?}"
    );
}

on_both_stores! {
    /// The language is kept with the verification: a resend from another process (after a
    /// restart, from another terminal, through the server) speaks it unless told otherwise.
    fn a_resend_in_a_new_process_speaks_the_language_of_the_code_it_replaces(store) {
        let env = Env::with_config_on(
            store,
            "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 10\n",
        );
        env.run(&["send", US, "--locale", "es"]).ok();
        env.run(&["resend"]).ok();
        env.run(&["resend", US, "--locale", "fr"]).ok();
        env.run(&["resend", US]).ok();
        env.run(&["resend", "de"]).ok();
        // A new `send` without a language is in the configured one again.
        env.run(&["send", US]).ok();
        env.run(&["resend"]).ok();
        let locales: Vec<_> = env.outbox().iter().map(|m| m["locale"].clone()).collect();
        assert_eq!(locales, ["es", "es", "fr", "fr", "de", "en", "en"]);
        let (body, code, _) = last_message(&env);
        assert!(body.starts_with(&format!("Your verification code is {code}.")), "{body}");
    }
}

#[test]
fn a_template_fills_code_app_and_minutes() {
    let env = Env::with_config(
        "[policy]\nttl_seconds = 60\n[message]\napp_name = \"Acme Clinic\"\ntemplate = \"{app}: {code} is your code ({minutes} min).\"\n",
    );
    env.run(&["send", US]).ok();
    let (body, code, _) = last_message(&env);
    assert_eq!(body, format!("Acme Clinic: {code} is your code (1 min)."));
    // Without a template the app's name leads the built-in text, in every language.
    let env = Env::with_config("[message]\napp_name = \"Acme Clinic\"\n");
    env.run(&["send", US, "--locale", "es"]).ok();
    let (body, code, _) = last_message(&env);
    assert_eq!(
        body,
        format!("Acme Clinic: su código es {code}. Caduca en 5 minutos. No lo comparta.")
    );
}

#[test]
fn a_bad_message_setting_is_refused_at_start_up_in_one_line() {
    let cases = [
        (
            "template = \"Your code expires in {minutes} minutes\"",
            "message.template: the template must contain {code}, where the code goes",
        ),
        (
            "template = \"Hi {name}, your code is {code}\"",
            "message.template: unknown placeholder {name}: the accepted placeholders are {code}, {app} and {minutes}",
        ),
        (
            "template = \"{app}: {code}\"",
            "message.template: the template uses {app} but message.app_name is not set",
        ),
        (
            "template = \"{code} {\"",
            "message.template: the '{' at character 8 is not closed",
        ),
        (
            "app_hash = \"short\"",
            "message.app_hash: an app hash is 11 characters of A-Z, a-z, 0-9, + and /",
        ),
        (
            "webotp_domain = \"https://example.com/login\"",
            "message.webotp_domain: \"https://example.com/login\" is not a domain name",
        ),
    ];
    for (line, want) in cases {
        let env = Env::with_config(&format!("[message]\n{line}\n"));
        for args in [&["config"][..], &["send", US][..]] {
            let r = env.run(args);
            assert_eq!(r.code, 2, "{line}: {r:?}");
            let errors: Vec<&str> = r
                .stderr
                .lines()
                .filter(|l| !l.contains("warning"))
                .collect();
            assert_eq!(errors.len(), 1, "{line}: {r:?}");
            assert!(
                errors[0].starts_with(&format!("otpd: invalid configuration: {want}")),
                "{line}: {r:?}"
            );
        }
        assert!(env.outbox().is_empty());
    }
    // Unknown keys in [message] are refused like everywhere else.
    let env = Env::with_config("[message]\nsender = \"Acme\"\n");
    let r = env.run(&["config"]);
    assert!(r.code == 2 && r.stderr.contains("sender"), "{r:?}");
}

#[test]
fn the_outbox_message_ends_with_the_app_hash_and_the_webotp_line() {
    let env = Env::with_config(
        "[message]\nwebotp_domain = \"Example.com\"\napp_hash = \"FA+9qCX9VSu\"\n",
    );
    env.run(&["send", US]).ok();
    let (body, code, _) = last_message(&env);
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines,
        [
            SMS[0].1.replace("CODE", &code).as_str(),
            "",
            "FA+9qCX9VSu",
            "",
            &format!("@example.com #{code}"),
        ]
    );
    // WhatsApp does not autofill: no extra lines.
    env.run(&["send", UK, "whatsapp"]).ok();
    let (body, code, _) = last_message(&env);
    assert_eq!(body, SMS[0].1.replace("CODE", &code));
}

#[test]
fn the_cost_of_a_message_is_shown_and_a_second_segment_warned_about() {
    // The default English text: GSM-7, one segment, no warning.
    let env = Env::new();
    let r = env.run(&["config"]).ok().stdout.clone();
    assert!(
        r.contains("sms cost         en: GSM-7, 74 characters, 1 segment (code at full length)"),
        "{r}"
    );
    assert!(!env.run(&["config"]).stderr.contains("segment"));

    // A curly quote makes it UCS-2; long enough, two segments, and the quote is named.
    let template = format!(
        "Here’s your code: {{code}}. {}Bye.",
        "Keep it to yourself. ".repeat(2)
    );
    let env = Env::with_config(&format!(
        "[policy]\ncode_length = 8\n[message]\ntemplate = \"{template}\"\n[kiosk]\nlocales = [\"en\", \"es\"]\n"
    ));
    let r = env.run(&["config"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("sms cost         en: UCS-2, 74 characters, 2 segments; es: UCS-2, 74 characters, 2 segments"),
        "{r:?}"
    );
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("segments"))
        .collect();
    assert_eq!(warnings.len(), 2, "{r:?}");
    assert!(
        warnings[0].starts_with("otpd: warning: message.template in en needs 2 SMS segments")
            && warnings[0].ends_with("because of ’ (U+2019)"),
        "{r:?}"
    );

    // An emoji: two UTF-16 units, and UCS-2 for the whole text.
    let env = Env::with_config("[message]\ntemplate = \"🔐 {code}\"\n");
    let r = env.run(&["config"]);
    assert!(
        r.stdout.contains("en: UCS-2, 8 characters, 1 segment"),
        "{r:?}"
    );
}

#[test]
fn audit_stats_counts_the_sms_segments_delivered() {
    let env = Env::with_config("[message]\ntemplate = \"{code} ’ {code}\"\n");
    let long = Env::with_config(&format!(
        "[message]\ntemplate = \"{{code}} {}\"\n",
        "á".repeat(70)
    ));
    for e in [&env, &long] {
        e.run(&["send", US]).ok();
        e.run(&["send", UK, "whatsapp"]).ok();
        e.run(&["send", US2]).ok();
    }
    let segments = |e: &Env| {
        let r = e.run(&["audit", "stats", "--json"]);
        r.ok().json()["sms_segments"].as_i64().unwrap()
    };
    // Two SMS of one segment; WhatsApp is not billed by segment.
    assert_eq!(segments(&env), 2);
    // 77 UCS-2 units: two segments each.
    assert_eq!(segments(&long), 4);
    let table = long.run(&["audit", "stats"]).ok().stdout.clone();
    assert!(
        table.contains("SMS segments") && table.contains("4 SMS segments."),
        "{table}"
    );
    // The audit chain still verifies with the new detail.
    long.run(&["audit", "verify"]).ok();
}

#[test]
fn a_call_speaks_in_the_message_s_language() {
    let fake = FakeTwilio::start();
    fake.always(Reply::json(
        201,
        serde_json::json!({"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued"}),
    ));
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"+14155550100\"\napi_base = \"{}\"\n[message]\napp_name = \"Acme\"\n",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", "tok-SENTINEL");
    let r = env.run(&["send", "--json", US, "call", "de"]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let twiml = fake.requests()[0].field("Twiml").unwrap();
    assert!(
        twiml.contains("<Say language=\"de-DE\">Hier ist Acme."),
        "{twiml}"
    );
    assert!(!twiml.contains("<Say>"), "{twiml}");
}

#[test]
fn the_prompt_s_banner_says_what_an_sms_costs() {
    let env = Env::with_config("[kiosk]\nlocales = [\"en\", \"fr\"]\n");
    let mut p = spawn_command(env.pty_command(&[]), Some(10_000)).expect("spawn otpd");
    expect(
        &mut p,
        "SMS cost per message: en: GSM-7, 74 characters, 1 segment; fr: GSM-7, 94 characters, 1 segment.",
    );
    expect(&mut p, "otpd> ");
}

// ── The kiosk ────────────────────────────────────────────────────────────────────────────────

const ALL: &str = "[kiosk]\nlocales = [\"en\", \"es\", \"fr\", \"de\", \"pt\"]\n";

/// Each locale's first kiosk screens: (welcome, number question).
const KIOSK: [(&str, &str); 5] = [
    (
        "Welcome. Let's verify your mobile number.",
        "Enter your mobile number, starting with + and the country code (e.g. +44 7400 123456):",
    ),
    (
        "Bienvenido. Vamos a verificar su número de móvil.",
        "Introduzca su número de móvil, empezando por + y el prefijo del país (p. ej. +44 7400 123456):",
    ),
    (
        "Bienvenue. Vérifions votre numéro de mobile.",
        "Saisissez votre numéro de mobile, en commençant par + et l'indicatif du pays (p. ex. +44 7400 123456) :",
    ),
    (
        "Willkommen. Bestätigen wir Ihre Mobilnummer.",
        "Geben Sie Ihre Mobilnummer ein, beginnend mit + und der Ländervorwahl (z. B. +44 7400 123456):",
    ),
    (
        "Bem-vindo. Vamos verificar o seu número de celular.",
        "Digite o seu número de celular, começando com + e o código do país (ex.: +44 7400 123456):",
    ),
];

#[test]
fn each_locale_s_kiosk_screens_after_picking_it_by_number_or_name() {
    let env = Env::with_config(ALL);
    let names = ["English", "espanol", "FRANÇAIS", "german", "português"];
    for (i, ((welcome, ask_phone), name)) in KIOSK.iter().zip(names).enumerate() {
        for pick in [(i + 1).to_string(), name.to_string()] {
            let r = env.run_stdin(&["kiosk"], format!("{pick}\n").as_bytes());
            assert_eq!(r.code, 0, "{r:?}");
            let menu = "1  English\n2  Español\n3  Français\n4  Deutsch\n5  Português\n";
            assert!(r.stdout.contains(menu), "{r:?}");
            assert!(
                r.stdout
                    .contains(&format!("\n> {welcome}\n{ask_phone}\n> ")),
                "{pick}: {r:?}"
            );
        }
    }
}

#[test]
fn a_spanish_visitor_is_answered_and_texted_in_spanish_and_the_next_starts_over() {
    let env = Env::with_config(&format!("{ALL}[policy]\nresend_cooldown_seconds = 0\n"));
    let r = env.run_stdin(
        &["kiosk"],
        format!("9\nes\n{US}\n12ab\nreenviar\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let s = &r.stdout;
    // "9" is no language: the menu is asked again.
    assert_eq!(s.matches("5  Português").count(), 2, "{s}");
    for line in [
        "Hemos enviado un código de 6 cifras por SMS al +1 •••-•••-2671.",
        "Introduzca las cifras del código que le hemos enviado.",
        "Hemos enviado un código nuevo de 6 cifras por SMS al +1 •••-•••-2671.",
    ] {
        assert!(s.contains(line), "{line}: {s}");
    }
    let out = env.outbox();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|m| m["locale"] == "es"), "{out:?}");
}

fn pty(env: &Env) -> PtySession {
    spawn_command(env.pty_command(&["kiosk"]), Some(10_000)).expect("spawn otpd kiosk")
}

/// Waits for `text`; returns what the screen showed before it. rexpect reads Latin-1; the
/// screen is UTF-8.
#[track_caller]
fn expect(p: &mut PtySession, text: &str) -> String {
    let latin1: String = text.bytes().map(char::from).collect();
    match p.exp_string(&latin1) {
        Ok(before) => {
            let bytes: Vec<u8> = before.chars().map(|c| c as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(e) => panic!("expected {text:?} on the screen: {e}"),
    }
}

fn type_line(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

#[test]
fn on_a_terminal_the_visitor_picks_a_language_on_a_cleared_centred_screen() {
    let env = Env::with_config(&format!("{ALL}result_seconds = 1\n"));
    let mut p = pty(&env);
    let before = expect(&mut p, "Choose your language");
    assert!(
        before.contains("\x1b[H\x1b[2J"),
        "the screen is cleared: {before:?}"
    );
    // Centred: the menu's lines are indented, not at the left edge.
    assert!(before.contains("   1  English"), "{before:?}");
    expect(&mut p, "> ");
    type_line(&mut p, "deutsch");
    expect(&mut p, "Willkommen. Bestätigen wir Ihre Mobilnummer.");
    expect(&mut p, "> ");
    type_line(&mut p, US);
    expect(&mut p, "Ein 6-stelliger Code wurde per SMS");
    expect(&mut p, "> ");
    // Ctrl-C, Ctrl-\ and Ctrl-D echo nothing, and do not make the line a bad one.
    p.send_control('c').unwrap();
    p.send_control('\\').unwrap();
    p.send_control('d').unwrap();
    type_line(&mut p, &env.last_code(US_E164));
    let shown = expect(&mut p, "Vielen Dank.");
    assert!(
        !shown.contains("^C") && !shown.contains("^\\") && !shown.contains("^D"),
        "{shown:?}"
    );
    assert!(shown.contains("ist bestätigt"), "{shown:?}");
    // The choice ends with the visit: the next visitor is asked again, on a clean screen.
    let next = expect(&mut p, "Choose your language");
    assert!(next.contains("\x1b[H\x1b[2J"), "{next:?}");
    assert_eq!(env.outbox()[0]["locale"], "de");
}
