//! How phone numbers are read and which kinds are refused (issue 15): `[phone]
//! default_region` (beaten by `OTPD_REGION`, then by `--region`), `[limits] refuse_types` and
//! `[delivery] fixed_line_channel`, each validated with a message that names its key.

use serde::Deserialize;

use super::ConfigError;
use crate::domain::{NumberType, Region, RegionError};

/// `[phone]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhone {
    pub(super) default_region: Option<String>,
}

/// `[phone]`: how numbers typed without `+` are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhoneConfig {
    /// Numbers without `+` or `00` are national numbers of this region; `None` refuses them
    /// (a country code is needed).
    pub default_region: Option<Region>,
}

/// The region from `--region`, else `OTPD_REGION`, else `[phone] default_region`; the error
/// names whichever was used.
pub(super) fn phone(
    raw: &RawPhone,
    flag: Option<&str>,
    env: Option<&str>,
) -> Result<PhoneConfig, ConfigError> {
    let chosen = flag
        .map(|v| ("--region", v))
        .or(env.map(|v| ("OTPD_REGION", v)))
        .or(raw
            .default_region
            .as_deref()
            .map(|v| ("phone.default_region", v)));
    let default_region = match chosen {
        None => None,
        Some((key, value)) => Some(Region::parse(value).map_err(|e| region_error(key, e))?),
    };
    Ok(PhoneConfig { default_region })
}

fn region_error(key: &'static str, e: RegionError) -> ConfigError {
    let (value, expected) = match e {
        RegionError::Shape(v) => (
            v,
            "use an ISO 3166 two-letter region code (alpha-2), e.g. US, GB, DE or IN",
        ),
        RegionError::Unknown(v) => (
            v,
            "not a region of the numbering plan: use an ISO 3166 two-letter region code (alpha-2) of a country or territory, e.g. US, GB, DE or IN (UK is GB)",
        ),
    };
    ConfigError::Value {
        key,
        value: format!("\"{}\"", crate::sanitize::truncate(&value, 24)),
        expected: expected.into(),
    }
}

/// `[limits] refuse_types`: names of [`NumberType`]s; unset is
/// [`NumberType::DEFAULT_REFUSED`], `[]` refuses no type.
pub(super) fn refuse_types(listed: Option<&[String]>) -> Result<Vec<NumberType>, ConfigError> {
    let Some(listed) = listed else {
        return Ok(NumberType::DEFAULT_REFUSED.to_vec());
    };
    NumberType::parse_list(listed).map_err(|e| ConfigError::Value {
        key: "limits.refuse_types",
        value: format!("\"{}\"", crate::sanitize::truncate(&e.0, 24)),
        expected: format!(
            "not a number type: list names from {}",
            NumberType::ALL.map(|t| t.as_str()).join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(region: Option<&str>) -> RawPhone {
        RawPhone {
            default_region: region.map(str::to_string),
        }
    }

    #[test]
    fn the_flag_beats_the_environment_which_beats_the_file() {
        let r = |f, e, file| {
            phone(&raw(file), f, e)
                .unwrap()
                .default_region
                .map(|r| r.to_string())
        };
        assert_eq!(r(None, None, None), None);
        assert_eq!(r(None, None, Some("gb")), Some("GB".into()));
        assert_eq!(r(None, Some("DE"), Some("GB")), Some("DE".into()));
        assert_eq!(r(Some("IN"), Some("DE"), Some("GB")), Some("IN".into()));
    }

    #[test]
    fn a_bad_region_names_its_source_and_what_is_accepted() {
        let err = |f, e, file| phone(&raw(file), f, e).unwrap_err().to_string();
        assert_eq!(
            err(None, None, Some("USA")),
            "invalid configuration: phone.default_region = \"USA\": use an ISO 3166 two-letter region code (alpha-2), e.g. US, GB, DE or IN"
        );
        let uk = err(None, Some("UK"), None);
        assert!(uk.starts_with("invalid configuration: OTPD_REGION = \"UK\": not a region"));
        assert!(uk.ends_with("(UK is GB)"), "{uk}");
        assert!(err(Some("X1"), None, None).starts_with("invalid configuration: --region = "));
        assert!(!err(Some("\u{1b}[2J"), None, None).contains('\u{1b}'));
    }

    #[test]
    fn refuse_types_default_empty_and_typos() {
        assert_eq!(
            refuse_types(None).unwrap(),
            NumberType::DEFAULT_REFUSED.to_vec()
        );
        assert_eq!(refuse_types(Some(&[])).unwrap(), vec![]);
        let e = refuse_types(Some(&["premium".into()]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid configuration: limits.refuse_types = \"premium\": not a number type: list names from mobile, fixed_line,"),
            "{e}"
        );
    }
}
