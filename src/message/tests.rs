//! The message module through its public surface: every built-in locale's texts, the
//! template and autofill checks, and what the messages cost.

use super::*;
use crate::domain::{Outcome, PhoneNumber};

const CODE: &str = "482913";

fn code() -> Code {
    Code::parse(CODE).unwrap()
}

fn composer(s: Settings) -> Composer {
    Composer::new(&s).unwrap()
}

fn settings() -> Settings {
    Settings::default()
}

fn compose(c: &Composer, channel: Channel, locale: &'static Locale, seconds: i64) -> String {
    let code = code();
    let parts = Parts {
        code: &code,
        valid_for_seconds: seconds,
        locale: Some(locale),
        app_hash: None,
    };
    c.compose(channel, &parts).expose().to_string()
}

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+1 415 555 2671").unwrap()
}

#[test]
fn english_keeps_todays_wording() {
    let c = composer(settings());
    let en = c.locale();
    assert_eq!(en.tag(), "en");
    assert_eq!(
        compose(&c, Channel::Sms, en, 300),
        "Your verification code is 482913. It expires in 5 minutes. Never share it."
    );
    assert_eq!(
        compose(&c, Channel::Sms, en, 45),
        "Your verification code is 482913. It expires in 1 minute. Never share it."
    );
    let today = "<Response><Pause length=\"1\"/><Say>Your verification code is</Say><Pause length=\"1\"/><Say>4, 8, 2, 9, 1, 3.</Say><Pause length=\"2\"/><Say>Again, your code is</Say><Pause length=\"1\"/><Say>4, 8, 2, 9, 1, 3.</Say><Pause length=\"1\"/><Say>Goodbye.</Say></Response>";
    assert_eq!(
        compose(&c, Channel::Call, en, 300),
        today.replace("<Say>", "<Say language=\"en-US\">")
    );
    let k = en.kiosk();
    let channels = [Channel::Sms, Channel::Whatsapp, Channel::Call];
    let cases = [
        (
            k.welcome().to_string(),
            "Welcome. Let's verify your mobile number.",
        ),
        (
            k.ask_phone(None),
            "Enter your mobile number, starting with + and the country code (e.g. +44 7400 123456):",
        ),
        (
            k.not_a_phone(false).to_string(),
            "Please enter a mobile number, starting with + and the country code.",
        ),
        (
            k.ask_channel(&channels),
            "How should we send the code? Type sms or whatsapp or call:",
        ),
        (
            k.ask_code(true),
            "Enter the code we sent (didn't get it? type resend):",
        ),
        (k.ask_code(false), "Enter the code we sent:"),
        (
            k.not_a_code().to_string(),
            "Please enter the digits of the code we sent.",
        ),
        (k.done(10), "Thank you. This screen resets in 10 s."),
        (k.start_over().to_string(), "Let's start again."),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn every_locale_renders_sms_voice_and_whatsapp_with_the_code() {
    let c = composer(settings());
    for locale in Locale::all().unwrap() {
        let tag = locale.tag();
        for seconds in [60, 600] {
            let sms = compose(&c, Channel::Sms, locale, seconds);
            assert!(sms.contains(CODE), "{tag}: {sms}");
            assert!(sms.contains(&format!("{}", seconds / 60)), "{tag}: {sms}");
            assert!(!sms.contains('{'), "{tag}: {sms}");
            assert_eq!(compose(&c, Channel::Whatsapp, locale, seconds), sms);
        }
        let call = compose(&c, Channel::Call, locale, 300);
        let lang = format!("<Say language=\"{}\">", locale.voice().language);
        assert_eq!(call.matches(&lang).count(), 5, "{tag}: {call}");
        assert_eq!(
            call.matches("4, 8, 2, 9, 1, 3.").count(),
            2,
            "{tag}: {call}"
        );
        assert!(!call.contains('{'), "{tag}: {call}");
    }
    let es = Locale::get("es").unwrap();
    assert_eq!(
        compose(&c, Channel::Sms, es, 600),
        "Su código es 482913. Caduca en 10 minutos. No lo comparta."
    );
}

#[test]
fn every_locale_has_every_kiosk_screen() {
    let channels = [Channel::Sms, Channel::Call];
    let sent = |resent| Outcome::Sent {
        phone: phone(),
        channel: Channel::Call,
        code_length: 6,
        expires_at: chrono::Utc::now(),
        expires_in_seconds: 300,
        attempts_left: 5,
        resent,
        instead_of: None,
        delivery: "outbox".into(),
        provider_ref: None,
    };
    let outcomes = [
        sent(false),
        sent(true),
        Outcome::Approved { phone: phone() },
        Outcome::Invalid {
            phone: phone(),
            attempts_left: 2,
        },
        Outcome::Invalid {
            phone: phone(),
            attempts_left: 1,
        },
        Outcome::Invalid {
            phone: phone(),
            attempts_left: 0,
        },
        Outcome::Expired { phone: phone() },
        Outcome::Locked { phone: phone() },
        Outcome::AlreadyUsed { phone: phone() },
        Outcome::NoPending {
            phone: Some(phone()),
        },
        Outcome::InvalidPhone {
            error: "too short".into(),
        },
        Outcome::CountryBlocked {
            phone: phone(),
            country: "US".into(),
            reason: "not allowed".into(),
        },
        Outcome::DeliveryFailed {
            phone: phone(),
            channel: Channel::Sms,
            reason: "HTTP 500".into(),
            provider_code: None,
        },
        Outcome::RateLimited {
            phone: Some(phone()),
            retry_after_seconds: 90,
            reason: "cooldown".into(),
            limit: None,
            operator_action: None,
            scope: None,
        },
        Outcome::NumberLocked {
            phone: phone(),
            consecutive_failures: 9,
            retry_after_seconds: 0,
            operator_action: Some("unlock".into()),
        },
    ];
    for locale in Locale::all().unwrap() {
        let k = locale.kiosk();
        let mut screens = vec![
            k.welcome().to_string(),
            k.ask_phone(None),
            k.ask_phone(Some("(201) 555-0123")),
            k.not_a_phone(true).to_string(),
            k.not_a_phone(false).to_string(),
            k.ask_channel(&channels),
            k.ask_code(true),
            k.ask_code(false),
            k.not_a_code().to_string(),
            k.done(30),
            k.start_over().to_string(),
            language_menu(&[locale]),
        ];
        for o in &outcomes {
            screens.push(
                k.outcome(o)
                    .unwrap_or_else(|| panic!("{}: {o:?}", locale.tag())),
            );
        }
        for s in &screens {
            assert!(!s.trim().is_empty(), "{}: an empty screen", locale.tag());
            assert!(!s.contains(['{', '}']), "{}: {s}", locale.tag());
        }
        assert!(screens[2].contains("(201) 555-0123"), "{}", screens[2]);
        assert!(screens[9].contains("30 s"), "{}", screens[9]);
        // Every outcome that names the number shows it masked.
        let masked = phone().masked().to_string();
        assert!(screens[12].contains(&masked), "{}", screens[12]);
        let unique: std::collections::HashSet<&String> = screens.iter().collect();
        assert_eq!(
            unique.len(),
            screens.len(),
            "{}: two screens alike",
            locale.tag()
        );
    }
    let en = Locale::get("en").unwrap().kiosk();
    assert_eq!(
        en.outcome(&outcomes[3]).unwrap(),
        "That code is not right. 2 attempts left."
    );
    assert_eq!(
        en.outcome(&outcomes[13]).unwrap(),
        "Please wait 1 min 30 s before asking for another code."
    );
    let none = Outcome::PhoneRequired { pending: 2 };
    assert!(en.outcome(&none).is_none());
}

#[test]
fn a_visitor_picks_a_language_and_answers_in_it() {
    let en = Locale::get("en").unwrap();
    let es = Locale::get("es").unwrap();
    let pt = Locale::get("pt").unwrap();
    let offered = [en, es, pt];
    assert_eq!(
        language_menu(&offered),
        "1  English\n2  Español\n3  Português\nChoose your language (type its number or name): / Elija su idioma (escriba su número o su nombre): / Escolha o seu idioma (digite o número ou o nome):"
    );
    for (answer, want) in [
        ("2", Some("es")),
        (" espanol ", Some("es")),
        ("Português", Some("pt")),
    ] {
        assert_eq!(
            pick_language(answer, &offered).map(Locale::tag),
            want,
            "{answer}"
        );
    }
    for answer in ["0", "4", "", "fr", "Français", "99999999999999999999999"] {
        assert!(pick_language(answer, &offered).is_none(), "{answer}");
    }
    let k = es.kiosk();
    let channels = [Channel::Sms, Channel::Call];
    assert_eq!(
        k.ask_channel(&channels),
        "¿Cómo le enviamos el código? Escriba sms o llamada:"
    );
    assert_eq!(k.parse_channel("Llamada", &channels), Some(Channel::Call));
    assert_eq!(k.parse_channel("call", &channels), Some(Channel::Call));
    assert_eq!(k.parse_channel("whatsapp", &channels), None);
    assert_eq!(
        pt.kiosk().parse_channel("ligacao", &channels),
        Some(Channel::Call)
    );
    assert!(k.is_resend("Reenviar") && k.is_resend("resend") && !k.is_resend("no"));
}

#[test]
fn app_name_leads_the_message_and_the_call() {
    let c = composer(Settings {
        app_name: Some(" Acme Clinic ".into()),
        ..settings()
    });
    let en = c.locale();
    assert_eq!(
        compose(&c, Channel::Sms, en, 300),
        "Acme Clinic: your verification code is 482913. It expires in 5 minutes. Never share it."
    );
    assert!(compose(&c, Channel::Call, en, 300).contains("This is Acme Clinic. Your"));
    for locale in Locale::all().unwrap() {
        let sms = compose(&c, Channel::Sms, locale, 300);
        assert!(
            sms.starts_with("Acme Clinic") && sms.contains(CODE),
            "{sms}"
        );
        assert!(compose(&c, Channel::Call, locale, 300).contains("Acme Clinic"));
    }
    // Markup in a name is spoken, not obeyed.
    let c = composer(Settings {
        app_name: Some("A&B <Clinic>".into()),
        ..settings()
    });
    let call = compose(&c, Channel::Call, en, 300);
    assert!(call.contains("This is A&amp;B &lt;Clinic&gt;."), "{call}");
}

#[test]
fn a_template_replaces_every_locale_text() {
    let c = composer(Settings {
        app_name: Some("Acme".into()),
        template: Some("{app} code {code} ({minutes} min)".into()),
        locale: Some("de".into()),
        ..settings()
    });
    assert_eq!(c.locale().tag(), "de");
    for locale in Locale::all().unwrap() {
        assert_eq!(
            compose(&c, Channel::Sms, locale, 120),
            "Acme code 482913 (2 min)"
        );
    }
}

#[test]
fn bad_settings_are_refused_naming_the_key() {
    let cases = [
        (
            Settings {
                template: Some("Your code expires soon".into()),
                ..settings()
            },
            "message.template: the template must contain {code}, where the code goes",
        ),
        (
            Settings {
                template: Some("{code} for {user}".into()),
                ..settings()
            },
            "message.template: unknown placeholder {user}: the accepted placeholders are {code}, {app} and {minutes} (write {{ and }} for literal braces)",
        ),
        (
            Settings {
                template: Some("{app}: {code}".into()),
                ..settings()
            },
            "message.template: the template uses {app} but message.app_name is not set",
        ),
        (
            Settings {
                locale: Some("klingon".into()),
                ..settings()
            },
            "message.locale: unknown locale \"klingon\": the built-in locales are en, es, fr, de, pt",
        ),
        (
            Settings {
                app_name: Some("Acme\x1b[2J".into()),
                ..settings()
            },
            "message.app_name: the app name has a control character or a brace: plain text on one line only",
        ),
        (
            Settings {
                app_name: Some("x".repeat(41)),
                ..settings()
            },
            "message.app_name: the app name is 41 characters long; the limit is 40",
        ),
        (
            Settings {
                webotp_domain: Some("https://example.com".into()),
                ..settings()
            },
            "message.webotp_domain: \"https://example.com\" is not a domain name: give the web site's host alone, like example.com (letters, digits, hyphens and dots; no https://, port or path)",
        ),
        (
            Settings {
                app_hash: Some("short".into()),
                ..settings()
            },
            "message.app_hash: an app hash is 11 characters of A-Z, a-z, 0-9, + and / (the hash Android's SMS Retriever computes for the app); that was 5 characters",
        ),
    ];
    for (s, want) in cases {
        assert_eq!(Composer::new(&s).unwrap_err().to_string(), want);
    }
}

#[test]
fn autofill_lines_end_the_sms_only() {
    let c = composer(Settings {
        webotp_domain: Some("Example.com".into()),
        app_hash: Some("FA+9qCX9VSu".into()),
        ..settings()
    });
    let en = c.locale();
    let sms = compose(&c, Channel::Sms, en, 300);
    assert_eq!(
        sms,
        "Your verification code is 482913. It expires in 5 minutes. Never share it.\n\nFA+9qCX9VSu\n\n@example.com #482913"
    );
    assert_eq!(sms.lines().last(), Some("@example.com #482913"));
    assert!(!compose(&c, Channel::Whatsapp, en, 300).contains('@'));
    // A message's own hash (the server's AppHash) replaces the configured one.
    let code = code();
    let own = AppHash::parse("abc/DEF+123").unwrap();
    let parts = Parts {
        code: &code,
        valid_for_seconds: 300,
        locale: None,
        app_hash: Some(&own),
    };
    let sms = c.compose(Channel::Sms, &parts);
    assert!(
        sms.expose()
            .contains("\n\nabc/DEF+123\n\n@example.com #482913")
    );
    assert!(!sms.expose().contains("FA+9qCX9VSu"));
    // Only the WebOTP line when only the domain is set.
    let c = composer(Settings {
        webotp_domain: Some("example.com".into()),
        ..settings()
    });
    assert!(
        compose(&c, Channel::Sms, en, 300).ends_with("Never share it.\n\n@example.com #482913")
    );
}

#[test]
fn bodies_never_show_the_code_in_debug() {
    let c = composer(settings());
    let code = code();
    let parts = Parts {
        code: &code,
        valid_for_seconds: 300,
        locale: None,
        app_hash: None,
    };
    for channel in Channel::ALL {
        let body = c.compose(channel, &parts);
        assert!(body.expose().contains('4'));
        let shown = format!("{body:?} {parts:?}");
        assert!(!shown.contains(CODE) && !shown.contains("4, 8"), "{shown}");
        assert!(shown.starts_with("Body("), "{shown}");
    }
}

#[test]
fn every_built_in_sms_fits_one_segment_with_the_longest_code() {
    let c = composer(settings());
    for locale in Locale::all().unwrap() {
        let cost = c.cost(locale, 10, 600);
        assert_eq!(cost.segments, 1, "{}: {cost:?}", locale.tag());
        assert!(cost.warning(locale.tag()).is_none());
    }
    let en = c.cost(Locale::get("en").unwrap(), 10, 600);
    assert_eq!(en.encoding, Encoding::Gsm7);
    assert_eq!(en.summary(), "GSM-7, 79 characters, 1 segment");
    let es = c.cost(Locale::get("es").unwrap(), 10, 600);
    assert_eq!(
        (es.encoding, es.forced_ucs2.clone()),
        (Encoding::Ucs2, vec!['ó'])
    );
}

#[test]
fn a_costly_template_gets_a_warning_naming_the_culprits() {
    let c = composer(Settings {
        template: Some(
            "Here’s your code: {code}. It’s valid for {minutes} minutes — don’t share it 🔐".into(),
        ),
        ..settings()
    });
    let cost = c.cost(c.locale(), 8, 300);
    assert_eq!((cost.encoding, cost.segments), (Encoding::Ucs2, 2));
    let w = cost.warning("message.template").unwrap();
    assert!(
        w.ends_with("because of ’ (U+2019), — (U+2014), 🔐 (U+1F510)"),
        "{w}"
    );
    // The same words in plain quotes fit one GSM-7 segment.
    let c = composer(Settings {
        template: Some(
            "Here's your code: {code}. It's valid for {minutes} minutes - don't share it".into(),
        ),
        ..settings()
    });
    let cost = c.cost(c.locale(), 8, 300);
    assert_eq!((cost.encoding, cost.segments), (Encoding::Gsm7, 1));
    // The autofill lines count: a long WebOTP domain tips a UCS-2 text into two segments.
    let es = Locale::get("es").unwrap();
    let plain = composer(settings()).cost(es, 6, 300);
    let with_line = composer(Settings {
        webotp_domain: Some("login.example.com".into()),
        ..settings()
    })
    .cost(es, 6, 300);
    assert_eq!((plain.segments, with_line.segments), (1, 2));
}
