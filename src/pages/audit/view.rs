//! The audit pages' markup: the page shell with the chain's live region and the navigation,
//! the sign-in form, the events table with its filter form, keyset links and export links.
//! Every stored string goes through the one sanitiser, then maud escapes it.

use axum::http::StatusCode;
use axum::response::Response;

use super::SCRIPT;
use crate::audit::Zone;
use crate::audit::args::{ExportFormat, ListArgs, OUTCOMES};
use crate::audit::query::Page;
use crate::audit::stats::Day;
use crate::audit::watch::Status;
use crate::clock::from_ms;
use crate::render::audit_pages as words;
use crate::sanitize::sanitize;
use crate::store::audit::Event;
use crate::web::csrf;
use crate::web::html::{self, Markup, html};

/// What a signed-in request answers.
pub(super) enum Body {
    Events(Box<Events>),
    Stats(Box<StatsView>),
    File(ExportFormat, Vec<u8>),
    Json(serde_json::Value),
    Redirect(String),
    /// A sentence saying what was wrong with the request.
    Problem(String),
}

pub(super) struct Events {
    pub page: Page,
    pub head: Option<(i64, String)>,
    pub status: Status,
    pub zone: Zone,
    pub zone_name: String,
    pub args: ListArgs,
}

pub(super) struct StatsView {
    pub days: Vec<Day>,
    pub head: Option<(i64, String)>,
    pub status: Status,
    pub zone: Zone,
    pub zone_name: String,
    pub args: ListArgs,
}

/// A page that says one thing went wrong (and links back to the events).
pub(super) fn problem(status: StatusCode, why: &str) -> Response {
    let body = html! {
        main {
            h1 { (words::PRODUCT) }
            p.status.bad role="alert" { (why) }
            p { a href="/audit/" { (words::NAV_EVENTS) } }
        }
    };
    html::with_status(status, html::document("en", words::PRODUCT, body, &[]))
}

/// The sign-in page: `msg` (why the visitor is here again) in an alert, the SID kept.
pub(super) fn sign_in(
    status: StatusCode,
    msg: Option<&str>,
    csrf_token: &str,
    sid: &str,
) -> Response {
    let body = html! {
        main {
            h1 { (words::SIGN_IN_TITLE) }
            @if let Some(m) = msg {
                p.status.bad role="alert" { (m) }
            }
            p { (words::SIGN_IN_INTRO) }
            form method="post" action="/audit/sign-in" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                p {
                    label for="sid" { (words::SID_LABEL) }
                    input #sid type="text" name="sid" autocomplete="username" required
                        spellcheck="false" autocapitalize="none" value=(sanitize(sid));
                }
                p {
                    label for="secret" { (words::SECRET_LABEL) }
                    input #secret type="password" name="secret" autocomplete="current-password" required;
                }
                button type="submit" { (words::SIGN_IN) }
            }
        }
    };
    html::with_status(
        status,
        html::document("en", words::SIGN_IN_TITLE, body, &[]),
    )
}

/// The shell of a signed-in page: navigation, the chain's live region, `content`, sign-out.
pub(super) fn shell(
    title: &str,
    csrf_token: &str,
    (status, head, zone): (&Status, Option<&(i64, String)>, Zone),
    content: Markup,
) -> Markup {
    let (line, detail) = words::chain_status(status, zone);
    let running = matches!(status, Status::Running { .. });
    let body = html! {
        header.wide {
            nav aria-label=(words::NAV_LABEL) {
                a href="/audit/" { (words::NAV_EVENTS) }
                " · "
                a href="/audit/stats" { (words::NAV_STATS) }
            }
            form.inline method="post" action="/audit/sign-out" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                button.secondary type="submit" { (words::SIGN_OUT) }
            }
        }
        main.wide {
            h1 { (title) }
            section.chain aria-labelledby="chain-title" {
                h2 #chain-title { (words::CHAIN_TITLE) }
                p #chain-status role="status" aria-live="polite"
                    data-running=(if running { "1" } else { "0" }) { (line) }
                @if let Status::Running { reached, head } = status {
                    progress #chain-progress max=(head) value=(reached) aria-label=(line) {}
                }
                p #chain-detail { (detail.unwrap_or_default()) }
                @if let Some((id, mac)) = head {
                    p { (words::HEAD_LABEL) " " code.head { (id) ":" (sanitize(mac)) } }
                }
                form method="post" action="/audit/check" {
                    input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                    button.secondary type="submit" { (words::CHECK_AGAIN) }
                }
            }
            (content)
        }
    };
    html::document("en", title, body, &[&SCRIPT])
}

/// The query string of a listing (its filter, the zone, and `extra`), for links.
pub(super) fn link(args: &ListArgs, zone_name: &str, extra: &[(&str, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in args.filter_pairs() {
        q.append_pair(k, &v);
    }
    q.append_pair("tz", zone_name);
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    q.finish()
}

pub(super) fn events(e: &Events, csrf_token: &str) -> Markup {
    let q = &e.args.filter;
    let content = html! {
        (filter_form(&e.args, &e.zone_name))
        p { (words::times_in(&e.zone_name)) }
        p {
            a.button.secondary href={ "/audit/export.csv?" (link(&e.args, &e.zone_name, &[])) } { (words::EXPORT_CSV) }
            a.button.secondary href={ "/audit/export.json?" (link(&e.args, &e.zone_name, &[])) } { (words::EXPORT_JSON) }
        }
        @if e.page.rows.is_empty() {
            p { (words::NO_EVENTS) }
        } @else {
            div.scroll {
                table #events {
                    caption { (words::shown(e.page.rows.len(), e.page.more)) }
                    thead { tr { @for c in words::EVENT_COLUMNS { th scope="col" { (c) } } } }
                    tbody {
                        @for r in &e.page.rows {
                            tr {
                                td { (r.id) }
                                td { time datetime=(from_ms(r.at).to_rfc3339()) {
                                    (e.zone.wall(from_ms(r.at)).format("%Y-%m-%d %H:%M:%S"))
                                } }
                                td { (sanitize(&r.station)) }
                                td { (sanitize(&r.event)) }
                                td { (r.phone_masked.as_deref().map(sanitize).unwrap_or_default()) }
                                td { (sanitize(&r.outcome)) }
                                td { (sanitize(&r.detail)) }
                            }
                        }
                    }
                }
            }
        }
        nav aria-label=(words::EVENTS_TITLE) {
            @if e.args.before.is_some() {
                a href={ "/audit/?" (link(&e.args, &e.zone_name, &[])) } { (words::NEWER) }
                " "
            }
            @if e.page.more && let Some(last) = e.page.rows.last() {
                a href={ "/audit/?" (link(&e.args, &e.zone_name, &[("before", last.id.to_string())])) } { (words::OLDER) }
            }
        }
    };
    let _ = q;
    shell(
        words::EVENTS_TITLE,
        csrf_token,
        (&e.status, e.head.as_ref(), e.zone),
        content,
    )
}

/// The filter form: a GET to the events page, each field named as `otpd audit`'s option.
fn filter_form(args: &ListArgs, zone_name: &str) -> Markup {
    let f = &args.filter;
    let event = f.events.first().map(|e| e.as_str());
    html! {
        form.filters method="get" action="/audit/" {
            fieldset {
                legend { (words::FILTER_TITLE) }
                div.fields {
                    p {
                        label for="f-event" { (words::filter_label("event")) }
                        select #f-event name="event" {
                            option value="" selected[event.is_none()] { (words::ANY) }
                            @for ev in Event::ALL {
                                option value=(ev.as_str()) selected[event == Some(ev.as_str())] { (ev.as_str()) }
                            }
                        }
                    }
                    p {
                        label for="f-phone" { (words::filter_label("phone")) }
                        input #f-phone type="text" name="phone" autocomplete="off"
                            value=(f.phone.as_ref().map(|p| sanitize(&p.join(" "))).unwrap_or_default());
                    }
                    p {
                        label for="f-station" { (words::filter_label("station")) }
                        input #f-station type="text" name="station" autocomplete="off"
                            value=(f.station.as_deref().map(sanitize).unwrap_or_default());
                    }
                    p {
                        label for="f-outcome" { (words::filter_label("outcome")) }
                        select #f-outcome name="outcome" {
                            option value="" selected[f.outcome.is_none()] { (words::ANY) }
                            @for o in OUTCOMES {
                                option value=(o) selected[f.outcome == Some(o)] { (o) }
                            }
                        }
                    }
                    p {
                        label for="f-since" { (words::filter_label("since")) }
                        input #f-since type="text" name="since" autocomplete="off"
                            value=(f.time.since.as_deref().map(sanitize).unwrap_or_default());
                    }
                    p {
                        label for="f-until" { (words::filter_label("until")) }
                        input #f-until type="text" name="until" autocomplete="off"
                            value=(f.time.until.as_deref().map(sanitize).unwrap_or_default());
                    }
                    p {
                        label for="f-tz" { (words::ZONE_LABEL) }
                        input #f-tz type="text" name="tz" autocomplete="off" value=(sanitize(zone_name));
                    }
                }
                button type="submit" { (words::FILTER_APPLY) }
                a.button.secondary href={ "/audit/?tz=" (form_urlencoded::byte_serialize(zone_name.as_bytes()).collect::<String>()) } { (words::FILTER_CLEAR) }
            }
        }
    }
}
