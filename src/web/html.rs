//! HTML for the pages: maud's `html!` escapes every interpolated value by construction (only
//! [`PreEscaped`] opts out, and nothing here feeds it visitor text). [`document`] is the one
//! page shell (language, title, the embedded stylesheet and, when asked, a script).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::assets::Asset;

/// A whole page: `<html lang>`, a title, the stylesheet, `body`, and `scripts` (deferred).
pub fn document(lang: &str, title: &str, body: Markup, scripts: &[&Asset]) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href=(super::assets::STYLE.path);
                @for s in scripts {
                    script src=(s.path) defer {}
                }
            }
            body { (body) }
        }
    }
}

/// `markup` as a 200 `text/html` answer.
pub fn page(markup: Markup) -> Response {
    with_status(StatusCode::OK, markup)
}

pub fn with_status(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// 303 See Other to `location` (after a POST: the browser GETs the next screen, and reloading
/// it posts nothing again).
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_text_is_escaped() {
        let hostile = "<script>alert(1)</script>\"'&";
        let out = document("en", hostile, html! { p { (hostile) } }, &[]).into_string();
        assert!(!out.contains("<script>alert"));
        assert!(out.contains("&lt;script&gt;"));
        assert!(out.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    }
}
