//! The domain types both services mean the same way, with one set of rules: a request
//! id, a US ZIP code, a US state, an E.164 phone number and an instant. Each service keeps only its
//! own domain. As everywhere, `parse()` is the only way in from outside; `from_db()`
//! trusts what this code wrote.

use crate::error::ValidationError;
use crate::text::quote;

/// A client's idempotency key: 1..=64 printable ASCII characters, no spaces. A retry
/// sends the same one; a different request must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::new(
                "request_id is required: send a UUID that you reuse when retrying",
            ));
        }
        if raw.len() > 64 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "request_id must be at most 64 printable ASCII characters without spaces",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A five-digit US ZIP code. ZIP+4 input (`02139-4307`) is accepted and cut to five
/// digits, and surrounding spaces are ignored, because that is how people write it.
/// Whether the ZIP exists is the database's question, not this type's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let five = match trimmed.split_once('-') {
            Some((five, plus4))
                if plus4.len() == 4 && plus4.bytes().all(|b| b.is_ascii_digit()) =>
            {
                five
            }
            Some(_) => "",
            None => trimmed,
        };
        if five.len() == 5 && five.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(five.to_owned()))
        } else {
            Err(ValidationError::new(format!(
                "zip_code {} must be five digits, e.g. \"02139\"",
                quote(raw)
            )))
        }
    }
    pub fn from_db(raw: String) -> Self {
        Self(raw)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A US state, district or territory postal code, upper case (`ma` is read as `MA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsState(&'static str);

impl UsState {
    const CODES: [&'static str; 56] = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
        "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
        "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
        "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP",
    ];

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let upper = raw.trim().to_ascii_uppercase();
        Self::CODES
            .iter()
            .find(|code| **code == upper)
            .map(|code| Self(code))
            .ok_or_else(|| {
                ValidationError::new(format!(
                    "state {} is not a two-letter US state code such as \"MA\"",
                    quote(raw)
                ))
            })
    }
    /// A code read back from the database; `None` if it is not one (never written).
    pub fn from_db(raw: &str) -> Option<Self> {
        Self::CODES
            .iter()
            .find(|code| **code == raw)
            .map(|c| Self(c))
    }
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A phone number in E.164 form, exactly: `+`, then 8 to 15 digits, the first not 0,
/// that the numbering plan allows (checked with `phonenumber`, the library the SMS
/// module sends with, so an accepted number can be texted). Nothing around the number
/// is cleaned away, so what is stored is what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| {
            ValidationError::new(format!(
                "phone {} {why}; use the E.164 form, e.g. \"+14155550100\"",
                quote(raw)
            ))
        };
        let digits = raw.strip_prefix('+').unwrap_or_default();
        let e164 = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !e164 {
            return Err(invalid("is not a full international number"));
        }
        match phonenumber::parse(None, raw) {
            Ok(number)
                if phonenumber::is_valid(&number)
                    && number.format().mode(phonenumber::Mode::E164).to_string() == raw =>
            {
                Ok(Self(raw.to_owned()))
            }
            _ => Err(invalid("is not a valid phone number")),
        }
    }
    pub fn from_db(raw: String) -> Self {
        Self(raw)
    }
    /// Its last four digits, which is what a page reached by a confirmation code alone
    /// shows of it.
    pub fn last_four(&self) -> &str {
        // E.164 has at least 8 digits after the `+`: there are always four.
        &self.0[self.0.len() - 4..]
    }
    /// A number of the North American plan (`+1`): the US and its neighbours.
    pub fn is_north_american(&self) -> bool {
        self.0.starts_with("+1")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An instant as a protobuf Timestamp.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf Timestamp, as protobuf defines it: nanos in 0..=999,999,999 (chrono would
/// read more as a leap second, i.e. silently as the next second) and seconds within
/// years 1..=9999.
pub fn instant(
    field: &str,
    t: &prost_types::Timestamp,
) -> Result<chrono::DateTime<chrono::Utc>, ValidationError> {
    const MIN_SECONDS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(0..=999_999_999).contains(&t.nanos) {
        return Err(ValidationError::of(
            format!("{field}.nanos"),
            format!("{field}.nanos must be 0 to 999999999, got {}", t.nanos),
        ));
    }
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&t.seconds) {
        return Err(ValidationError::of(
            format!("{field}.seconds"),
            format!("{field}.seconds is out of range, got {}", t.seconds),
        ));
    }
    chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32)
        .ok_or_else(|| ValidationError::of(field, format!("{field} is not a valid timestamp")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_short_printable_keys() {
        assert!(RequestId::parse("").is_err());
        assert!(RequestId::parse(&"a".repeat(65)).is_err());
        assert!(RequestId::parse("has space").is_err());
        assert!(RequestId::parse("6f1c3b0e-8d7a-4a57-9c0c-2f4d5e6a7b8c").is_ok());
    }

    #[test]
    fn zip_codes_are_five_digits_and_zip_plus_4_is_cut() {
        assert_eq!(ZipCode::parse("02139").map(|z| z.0), Ok("02139".into()));
        assert_eq!(
            ZipCode::parse(" 02139-4307 ").map(|z| z.0),
            Ok("02139".into())
        );
        for bad in ["2139", "021390", "02139-43", "0213a", "", "02139-"] {
            assert!(ZipCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn states_are_usps_codes() {
        assert_eq!(UsState::parse(" ma").map(UsState::as_str), Ok("MA"));
        assert_eq!(UsState::parse("PR").map(UsState::as_str), Ok("PR"));
        assert!(UsState::parse("XX").is_err());
        assert_eq!(UsState::from_db("MA"), Some(UsState("MA")));
        assert_eq!(UsState::from_db("ma"), None);
    }

    #[test]
    fn phones_are_exactly_e164_and_valid() {
        for good in ["+14155550132", "+16175550100", "+442079460958"] {
            assert_eq!(Phone::parse(good).map(|p| p.0), Ok(good.into()));
        }
        for bad in [
            "+1 (415) 555-0132",
            "415 555 0132",
            "(617) 555-0100",
            "++14155550132",
            "\u{7}+14155550132",
            "+14155550132\0",
            " +14155550132",
            "+14155550132 ",
            "555-0100",
            "+0123456789",
            "+1415555013",
            "+10175550100",
            "+16171550100",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Phone::parse("12345").map_err(|e| e.message().to_owned()),
            Err(r#"phone "12345" is not a full international number; use the E.164 form, e.g. "+14155550100""#.into())
        );
        assert!(
            Phone::parse("+16175550100")
                .expect("valid")
                .is_north_american()
        );
        assert!(
            !Phone::parse("+442079460958")
                .expect("valid")
                .is_north_american()
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_nor_accept_control_chars(raw in proptest::prelude::any::<String>()) {
            for accepted in [
                Phone::parse(&raw).map(|p| p.0).ok(),
                ZipCode::parse(&raw).map(|z| z.0).ok(),
                RequestId::parse(&raw).map(|r| r.0).ok(),
                UsState::parse(&raw).map(|s| s.0.to_owned()).ok(),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(!accepted.chars().any(char::is_control));
            }
        }
    }
}
