//! What may be texted. Validation happens before any network call.

use std::fmt;

use phonenumber::Mode;
use phonenumber::country::Id as Region;

use crate::SmsError;

/// The gateways' limit (appendices A and B). Counted in characters (Unicode scalar
/// values), not bytes: "Café" is 4.
pub const MAX_MESSAGE_CHARS: usize = 140;

/// A phone number that can receive texts, held in E.164 form (`+14155550100`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts international numbers (`+44 20 7946 0958`), and national numbers of
    /// `default_region` (`(415) 555-0100` with `US`). Checked against the numbering
    /// plan, not just the digit count.
    pub fn parse(raw: &str, default_region: Region) -> Result<Self, SmsError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(SmsError::InvalidPhone("the phone number is empty".into()));
        }
        let number = phonenumber::parse(Some(default_region), trimmed).map_err(|e| {
            SmsError::InvalidPhone(format!("{trimmed:?} is not a phone number ({e})"))
        })?;
        if !phonenumber::is_valid(&number) {
            return Err(SmsError::InvalidPhone(format!(
                "{trimmed:?} is not a valid phone number"
            )));
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneNumber {
    /// Only the last digits: a phone number is personal data, and logs are not the
    /// place for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        write!(f, "PhoneNumber(…{tail})")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A text: not blank, at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(String);

impl Message {
    pub fn parse(raw: &str) -> Result<Self, SmsError> {
        if raw.trim().is_empty() {
            return Err(SmsError::InvalidMessage("the message is empty".into()));
        }
        let chars = raw.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(SmsError::InvalidMessage(format!(
                "the message is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        let us = |raw| PhoneNumber::parse(raw, Region::US).map(|p| p.0);
        assert_eq!(us("(415) 555-0132"), Ok("+14155550132".into()));
        assert_eq!(us("+1 415 555 0132"), Ok("+14155550132".into()));
        assert_eq!(us("+44 20 7946 0958"), Ok("+442079460958".into()));
        assert!(us("").is_err());
        assert!(us("12345").is_err());
        assert!(us("+1 999 555 0132").is_err(), "no such area code");
        assert!(us("call me").is_err());
    }

    #[test]
    fn debug_hides_the_number() {
        let phone = PhoneNumber::parse("+14155550132", Region::US).expect("valid");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(…32)");
    }

    #[test]
    fn messages_are_bounded_in_characters() {
        assert!(
            Message::parse(&"é".repeat(140)).is_ok(),
            "140 characters, 280 bytes"
        );
        assert!(Message::parse(&"a".repeat(141)).is_err());
        assert!(Message::parse("   ").is_err());
    }
}
