//! The kiosk page's own words (issue 22): buttons, labels and the sentences a touchscreen needs
//! that a terminal does not (the idle warning, the countdown, out of service). Everything else
//! the page says comes from [`super::KioskTexts`], as the terminal kiosk's does. From the
//! locale's `[kiosk_page]` table.

use serde::Deserialize;

use super::template::fill;
use super::when::duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageTexts {
    /// The page's title.
    pub title: String,
    pub choose_language: String,
    pub choose_channel: String,
    pub send: String,
    pub check: String,
    pub resend: String,
    /// `{wait}`: the time until a new code may be asked for.
    resend_in: String,
    pub start_over: String,
    pub more_time: String,
    /// `{seconds}`: the seconds before the screen resets.
    idle_warning: String,
    pub out_of_service: String,
    pub delete: String,
    pub keypad: String,
}

impl PageTexts {
    pub fn resend_in(&self, seconds: i64) -> String {
        fill(&self.resend_in, &[("wait", &duration(seconds))])
    }

    /// The idle warning; the page passes a marker for `{seconds}` (its script counts down).
    pub fn idle_warning(&self, seconds: &str) -> String {
        fill(&self.idle_warning, &[("seconds", seconds)])
    }
}
