//! The default region for national input (issue 15, "Local numbers"): an ISO 3166 alpha-2 code
//! the numbering plan knows, checked once where configuration is read.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;

use super::formatting::{Style, written};
use super::plan;

/// A region of the numbering plan, e.g. `US` or `GB`: numbers typed without `+` are read as
/// its national numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    id: Id,
    country_code: u16,
}

/// Why a region code was refused; each message says what is accepted.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    Shape(String),
    Unknown(String),
}

impl Region {
    /// Parses `US`, ` gb ` (spaces and case forgiven). Anything but two ASCII letters is
    /// [`RegionError::Shape`]; two letters the plan has no numbers for (`XX`, `UK`) are
    /// [`RegionError::Unknown`].
    pub fn parse(input: &str) -> Result<Region, RegionError> {
        let code = input.trim().to_ascii_uppercase();
        let shown = || crate::sanitize::sanitize(input.trim());
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(RegionError::Shape(shown()));
        }
        let country_code =
            plan::code_of_region(&code).ok_or_else(|| RegionError::Unknown(shown()))?;
        let id = code
            .parse::<Id>()
            .map_err(|_| RegionError::Unknown(shown()))?;
        Ok(Region { id, country_code })
    }

    /// The two-letter code, e.g. `US`.
    pub fn as_str(&self) -> &str {
        self.id.as_ref()
    }

    /// The calling code its numbers have, e.g. 1 for `US`, 44 for `GB`.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    pub(crate) fn id(self) -> Id {
        self.id
    }

    /// The plan's example mobile number in national form, e.g. `(201) 555-0123` for `US`,
    /// `07400 123456` for `GB`: what a kiosk shows as "Enter your mobile number".
    pub fn mobile_example(&self) -> Option<String> {
        let db = plan::for_code(self.country_code)?;
        let example = db
            .by_id(self.id.as_ref())?
            .descriptors()
            .mobile()?
            .example()?;
        let parsed = phonenumber::parse_with(db, Some(self.id), example).ok()?;
        Some(written(db, &parsed, Style::National))
    }
}

impl FromStr for Region {
    type Err = RegionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse(s)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id.as_ref())
    }
}
