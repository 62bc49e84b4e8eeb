//! Verify's RateLimits and Buckets resources (issue 26): each form or query becomes a call to
//! the core as the key's caller, each result Twilio's shape (`shapes`), each refusal Twilio's
//! error (`errors`). The rules — who may, which names and numbers, how many — are the core's.

use axum::http::StatusCode;
use serde_json::Value;

use super::api::{Answer, Call, Form};
use super::errors::ApiError;
use super::shapes;
use crate::app::App;
use crate::service::rate_limits::Managed;
use crate::store::ApiKey;

/// The largest `PageSize`, and the one used when none is given (Twilio's default).
const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 50;

fn core<T>(r: Result<Managed<T>, crate::error::Error>) -> Result<T, ApiError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(d)) => Err(ApiError::from_denied(&d)),
        Err(e) => Err(ApiError::from_error(&e)),
    }
}

/// `Page` (from 0) and `PageSize` (1 to 1000, 50 by default).
pub fn paging(form: &Form) -> Result<(usize, usize), ApiError> {
    let size = match form.get("PageSize") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "PageSize must be a whole number from 1 to {MAX_PAGE}"
                ))
            })?,
        None => DEFAULT_PAGE,
    };
    let page = match form.get("Page") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 1_000_000)
            .ok_or_else(|| ApiError::invalid("Page must be a whole number from 0"))?,
        None => 0,
    };
    Ok((page, size))
}

/// One page of `items` in Twilio's list shape.
pub fn list(key: &str, url: &str, items: Vec<Value>, form: &Form) -> Answer {
    let (page, size) = paging(form)?;
    let more = items.len() > (page + 1).saturating_mul(size);
    let shown: Vec<Value> = items.into_iter().skip(page * size).take(size).collect();
    Ok((
        StatusCode::OK,
        shapes::page(key, url, shown, page, size, more),
    ))
}

/// A whole number parameter, if given.
fn number(form: &Form, name: &str) -> Result<Option<u32>, ApiError> {
    form.get(name)
        .map(|v| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| ApiError::invalid(format!("{name} must be a whole number")))
        })
        .transpose()
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, ApiError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
}

/// `GET …/RateLimits`.
pub fn list_rate_limits(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let all = core(app.rate_limits(&key.caller()))?;
    let items = all
        .iter()
        .map(|(r, _)| shapes::rate_limit(&call.base, r))
        .collect();
    list(
        "rate_limits",
        &call.base.service_url("/RateLimits"),
        items,
        &call.form,
    )
}

/// `POST …/RateLimits`: `UniqueName`, optional `Description`.
pub fn create_rate_limit(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let name = required(&call.form, "UniqueName")?;
    let description = call.form.get("Description").map(String::as_str);
    let r = core(app.create_rate_limit(&key.caller(), name, description))?;
    Ok((StatusCode::CREATED, shapes::rate_limit(&call.base, &r)))
}

/// `GET …/RateLimits/{RK}` (its SID or its `UniqueName`).
pub fn fetch_rate_limit(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let (r, _) = core(app.rate_limit(&key.caller(), &path[0]))?;
    Ok((StatusCode::OK, shapes::rate_limit(&call.base, &r)))
}

/// `POST …/RateLimits/{RK}`: `Description`.
pub fn update_rate_limit(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let description = call.form.get("Description").map(String::as_str);
    let r = core(app.update_rate_limit(&key.caller(), &path[0], description))?;
    Ok((StatusCode::OK, shapes::rate_limit(&call.base, &r)))
}

/// `DELETE …/RateLimits/{RK}`: with its buckets and counts.
pub fn delete_rate_limit(app: &mut App, key: &ApiKey, _: &Call, path: &[String]) -> Answer {
    core(app.delete_rate_limit(&key.caller(), &path[0]))?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

/// `GET …/RateLimits/{RK}/Buckets`.
pub fn list_buckets(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let (r, buckets) = core(app.rate_limit(&key.caller(), &path[0]))?;
    let items = buckets
        .iter()
        .map(|b| shapes::bucket(&call.base, b))
        .collect();
    let url = call
        .base
        .service_url(&format!("/RateLimits/{}/Buckets", r.sid));
    list("buckets", &url, items, &call.form)
}

/// `POST …/RateLimits/{RK}/Buckets`: `Max` and `Interval` (seconds).
pub fn create_bucket(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let max = number(&call.form, "Max")?.ok_or_else(|| ApiError::invalid("Max is required"))?;
    let interval =
        number(&call.form, "Interval")?.ok_or_else(|| ApiError::invalid("Interval is required"))?;
    let b = core(app.create_bucket(&key.caller(), &path[0], max, interval))?;
    Ok((StatusCode::CREATED, shapes::bucket(&call.base, &b)))
}

/// `GET …/RateLimits/{RK}/Buckets/{BL}`.
pub fn fetch_bucket(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let b = core(app.bucket(&key.caller(), &path[0], &path[1]))?;
    Ok((StatusCode::OK, shapes::bucket(&call.base, &b)))
}

/// `POST …/RateLimits/{RK}/Buckets/{BL}`: `Max` and/or `Interval`.
pub fn update_bucket(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let max = number(&call.form, "Max")?;
    let interval = number(&call.form, "Interval")?;
    let b = core(app.update_bucket(&key.caller(), &path[0], &path[1], (max, interval)))?;
    Ok((StatusCode::OK, shapes::bucket(&call.base, &b)))
}

/// `DELETE …/RateLimits/{RK}/Buckets/{BL}`.
pub fn delete_bucket(app: &mut App, key: &ApiKey, _: &Call, path: &[String]) -> Answer {
    core(app.delete_bucket(&key.caller(), &path[0], &path[1]))?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

/// `GET /v2/Services/{VA}`.
pub fn fetch_service(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let v = app
        .service_settings(&key.caller())
        .map_err(|e| ApiError::from_error(&e))?;
    Ok((StatusCode::OK, shapes::service(&call.base, &v)))
}

/// `GET /v2/Services`: the one service this server is.
pub fn list_services(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let v = app
        .service_settings(&key.caller())
        .map_err(|e| ApiError::from_error(&e))?;
    let url = format!("{}/v2/Services", call.base.origin);
    list(
        "services",
        &url,
        vec![shapes::service(&call.base, &v)],
        &call.form,
    )
}

/// `POST /v2/Services/{VA}`: `FriendlyName`, the one setting that changes while servers run.
pub fn update_service(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let v = match call.form.get("FriendlyName") {
        Some(name) => core(app.set_friendly_name(&key.caller(), name))?,
        None => app
            .service_settings(&key.caller())
            .map_err(|e| ApiError::from_error(&e))?,
    };
    Ok((StatusCode::OK, shapes::service(&call.base, &v)))
}
