//! The kiosk page's screens as HTML: one page per step, every sentence from the visitor's
//! locale file, every form posting back to `/kiosk/` with the visit's CSRF token, the last
//! answer in a live region, and the idle warning ready for the page's script. No number or code
//! is ever put in a URL; a number once typed is shown masked.

use chrono::{DateTime, Utc};

use super::visit::{Step, Tone, Visit, resend_wait};
use super::{PATH, SCRIPT};
use crate::app::App;
use crate::message::Locale;
use crate::message::when::duration;
use crate::web::csrf;
use crate::web::html::{Markup, document, html};

/// The seconds the idle warning stays up before the screen starts again (WCAG 2.2.1: at least
/// 20 s to ask for more time).
pub const WARN_SECONDS: u64 = 30;

/// The page of `v`'s current step.
pub fn visit(app: &App, v: &Visit, now: DateTime<Utc>) -> Markup {
    let page = v.locale.kiosk_page();
    let texts = v.texts();
    let cfg = &app.config().kiosk;
    let hidden = |action: &str| {
        html! {
            input type="hidden" name=(csrf::FIELD) value=(v.csrf);
            input type="hidden" name="action" value=(action);
        }
    };
    let step = match &v.step {
        Step::Language => html! {
            form method="post" action=(PATH) {
                (hidden("language"))
                h2 id="lang-q" { (page.choose_language) }
                div class="choices" role="group" aria-labelledby="lang-q" {
                    @for l in &cfg.locales {
                        button type="submit" name="lang" value=(l.tag()) lang=(l.tag()) { (l.name()) }
                    }
                }
            }
        },
        Step::Phone => {
            let example = app
                .config()
                .phone
                .default_region
                .and_then(|r| r.mobile_example());
            html! {
                form method="post" action=(PATH) autocomplete="off" {
                    (hidden("phone"))
                    label for="phone" { (texts.ask_phone(example.as_deref())) }
                    input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel"
                        required autofocus maxlength="40" data-keypad="tel";
                    div class="row" { button type="submit" { (page.send) } }
                }
            }
        }
        Step::Channel { .. } => html! {
            form method="post" action=(PATH) {
                (hidden("channel"))
                h2 id="channel-q" { (page.choose_channel) }
                div class="choices" role="group" aria-labelledby="channel-q" {
                    @for c in &cfg.channels {
                        button type="submit" name="channel" value=(c.as_str()) { (texts.by(*c)) }
                    }
                }
            }
        },
        Step::Code { sent_at, .. } => {
            let wait = resend_wait(app, *sent_at, now);
            let (before, after) = split(&page.resend_in(0), &duration(0));
            html! {
                form method="post" action=(PATH) autocomplete="off" {
                    (hidden("code"))
                    label for="code" { (texts.ask_code(false)) }
                    input id="code" name="code" type="text" autocomplete="one-time-code"
                        inputmode="numeric" required autofocus maxlength="20" data-keypad="digits";
                    div class="row" { button type="submit" { (page.check) } }
                }
                form method="post" action=(PATH) {
                    (hidden("resend"))
                    @if wait > 0 {
                        p id="resend-wait" data-countdown=(wait) {
                            (before) span data-left { (duration(wait)) } (after)
                        }
                    }
                    button type="submit" id="resend" class="secondary" { (page.resend) }
                }
            }
        }
        Step::Done => html! {},
    };
    let (tone, said) = match &v.said {
        Some((tone, text)) => (*tone, text.as_str()),
        None => (Tone::Info, ""),
    };
    let class = match tone {
        Tone::Info => "status",
        Tone::Bad => "status bad",
        Tone::Good => "status good",
    };
    let role = if tone == Tone::Bad { "alert" } else { "status" };
    let first = matches!(v.step, Step::Language)
        || (matches!(v.step, Step::Phone) && cfg.locales.len() < 2 && v.said.is_none());
    let auto_reset = matches!(v.step, Step::Done).then_some(cfg.result_seconds);
    let (warn_before, warn_after) = split(&page.idle_warning("#SECONDS#"), "#SECONDS#");
    let body = html! {
        main id="kiosk" data-idle=(cfg.idle_seconds) data-warn=(WARN_SECONDS)
            data-auto-reset=[auto_reset] data-keypad-label=(page.keypad)
            data-delete=(page.delete) {
            h1 { (page.title) }
            @if matches!(v.step, Step::Phone) && v.said.is_none() {
                p { (texts.welcome()) }
            }
            p id="said" class=(class) role=(role) { (said) }
            (step)
            form id="restart" method="post" action=(PATH) hidden[first] {
                (hidden("restart"))
                button type="submit" class="secondary" { (page.start_over) }
            }
            div id="idle" class="overlay" role="alertdialog" aria-modal="true"
                aria-labelledby="idle-text" hidden {
                div {
                    p id="idle-text" {
                        (warn_before) span data-idle-left { (WARN_SECONDS) } (warn_after)
                    }
                    button type="button" id="more" { (page.more_time) }
                }
            }
        }
    };
    document(v.locale.tag(), &page.title, body, &[&SCRIPT])
}

/// The page a browser gets that is not (or no longer) a kiosk: no form, nothing to do.
pub fn out_of_service(locale: &'static Locale) -> Markup {
    let page = locale.kiosk_page();
    let body = html! {
        main {
            h1 { (page.title) }
            p class="status bad" role="alert" { (page.out_of_service) }
        }
    };
    document(locale.tag(), &page.title, body, &[])
}

/// `text` around the first `marker` (which a script fills in), or all of it before.
fn split(text: &str, marker: &str) -> (String, String) {
    match text.split_once(marker) {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (text.to_string(), String::new()),
    }
}
