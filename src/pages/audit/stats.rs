//! The stats page: the figures of `otpd audit stats` per day, each series drawn on the server as
//! an inline SVG bar chart (presentation attributes only, so the strict CSP holds) with a title
//! and, next to it, a data table for screen readers and for copying.

use super::view::{StatsView, link, shell};
use crate::audit::render::percent;
use crate::audit::stats::Day;
use crate::render::audit_pages as words;
use crate::web::html::{Markup, html};

/// The chart's drawing area, in SVG user units.
const WIDTH: i64 = 720;
const HEIGHT: i64 = 160;
const GAP: i64 = 2;

pub(super) fn page(s: &StatsView, csrf_token: &str) -> Markup {
    let content = html! {
        form.filters method="get" action="/audit/stats" {
            fieldset {
                legend { (words::FILTER_TITLE) }
                div.fields {
                    p {
                        label for="s-since" { (words::filter_label("since")) }
                        input #s-since type="text" name="since" autocomplete="off"
                            value=(s.args.filter.time.since.as_deref().map(crate::sanitize::sanitize).unwrap_or_default());
                    }
                    p {
                        label for="s-until" { (words::filter_label("until")) }
                        input #s-until type="text" name="until" autocomplete="off"
                            value=(s.args.filter.time.until.as_deref().map(crate::sanitize::sanitize).unwrap_or_default());
                    }
                    p {
                        label for="s-tz" { (words::ZONE_LABEL) }
                        input #s-tz type="text" name="tz" autocomplete="off" value=(crate::sanitize::sanitize(&s.zone_name));
                    }
                }
                button type="submit" { (words::FILTER_APPLY) }
            }
        }
        p { (words::times_in(&s.zone_name)) }
        @if s.days.is_empty() {
            p { (words::NO_DAYS) }
        } @else {
            @for (i, (title, series)) in words::CHARTS.iter().enumerate() {
                (chart(i, title, series, &s.days))
            }
        }
        p { a href={ "/audit/?" (link(&s.args, &s.zone_name, &[])) } { (words::NAV_EVENTS) } }
    };
    shell(
        words::STATS_TITLE,
        csrf_token,
        (&s.status, s.head.as_ref(), s.zone),
        content,
    )
}

/// One day's figure in a series: the bar's height (conversion in whole percent) and its text.
fn value(d: &Day, series: &str) -> (i64, String) {
    let n = match series {
        "sends" => d.sends,
        "approvals" => d.approvals,
        "failures" => d.failures,
        "lockouts" => d.lockouts,
        "rate_limited" => d.rate_limited,
        "sms_segments" => d.sms_segments,
        "conversion" => {
            return (
                d.conversion.map_or(0, |c| (c * 100.0).round() as i64),
                percent(d.conversion),
            );
        }
        _ => 0,
    };
    (n, n.to_string())
}

fn chart(i: usize, title: &str, series: &str, days: &[Day]) -> Markup {
    let values: Vec<(i64, String)> = days.iter().map(|d| value(d, series)).collect();
    let max = values.iter().map(|v| v.0).max().unwrap_or(0);
    let scale = if series == "conversion" {
        100
    } else {
        max.max(1)
    };
    let n = days.len() as i64;
    let bar = ((WIDTH - GAP * n) / n.max(1)).clamp(1, 48);
    let title_id = format!("chart-{i}-title");
    let desc_id = format!("chart-{i}-desc");
    html! {
        section.chart aria-labelledby=(title_id) {
            h2 #(title_id) { (title) }
            svg role="img" aria-labelledby={ (title_id) " " (desc_id) } viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
                width="100%" height=(HEIGHT) preserveAspectRatio="none" {
                title { (title) }
                desc #(desc_id) { (words::chart_summary(title, days.len(), max)) }
                line x1="0" y1=(HEIGHT - 1) x2=(WIDTH) y2=(HEIGHT - 1) stroke="#5a5a5a" stroke-width="2" {}
                @for (k, (v, _)) in values.iter().enumerate() {
                    @let h = (v * (HEIGHT - 4) / scale).max(if *v > 0 { 1 } else { 0 });
                    rect x=((k as i64) * (bar + GAP)) y=(HEIGHT - 2 - h) width=(bar) height=(h)
                        fill=(if days[k].low_conversion && series == "conversion" { "#a4000f" } else { "#0b4f8a" }) {}
                }
            }
            div.scroll {
                table {
                    caption { (title) }
                    thead { tr { th scope="col" { (words::DAY_COLUMN) } th scope="col" { (title) } } }
                    tbody {
                        @for (k, d) in days.iter().enumerate() {
                            tr {
                                th scope="row" { (d.day.format("%a %Y-%m-%d")) }
                                td { (values[k].1) }
                            }
                        }
                    }
                }
            }
        }
    }
}
