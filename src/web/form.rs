//! A page's form body, bounded in size and in time: urlencoded fields, the first value of each
//! name kept. Numbers and codes reach the pages only this way, never in a URL.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;

/// The largest form a page accepts.
pub const LIMIT: usize = 16 * 1024;

/// How long a form body may take to arrive.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A form's fields.
pub type Fields = HashMap<String, String>;

/// Why a form was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    TooLarge,
    TooSlow,
}

pub async fn read(body: Body) -> Result<Fields, FormError> {
    let bytes = match tokio::time::timeout(TIMEOUT, axum::body::to_bytes(body, LIMIT)).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(FormError::TooLarge),
        Err(_) => return Err(FormError::TooSlow),
    };
    let mut fields = Fields::new();
    for (k, v) in form_urlencoded::parse(&bytes) {
        fields
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    Ok(fields)
}
