//! Free text from requests: one set of rules for every field of every service.
//!
//! Text goes into Postgres, logs and error messages. Postgres refuses a NUL byte (which
//! would surface as INTERNAL), other control characters corrupt logs and terminals, and
//! a client that sends a megabyte must not get a megabyte back in `grpc-message`, so:
//! fields refuse control characters, and errors quote at most [`QUOTE_CHARS`] of a value.

use crate::error::ValidationError;

/// The most characters of a bad value an error message repeats.
pub const QUOTE_CHARS: usize = 64;

/// `raw` as a quoted, escaped string (like `{:?}`), cut to [`QUOTE_CHARS`] characters
/// with an ellipsis, for error messages.
pub fn quote(raw: &str) -> String {
    let mut chars = raw.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        format!("{:?}…", head)
    } else {
        format!("{head:?}")
    }
}

/// Refuses a value that contains a control character (NUL, escape, bell, newline, ...).
pub fn no_control_chars(field: &str, raw: &str) -> Result<(), ValidationError> {
    if raw.chars().any(char::is_control) {
        return Err(ValidationError::new(format!(
            "{field} must not contain control characters, got {}",
            quote(raw)
        )));
    }
    Ok(())
}

/// A required single-line text: trimmed, 1..=`max` characters, no control characters.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, ValidationError> {
    no_control_chars(field, raw)?;
    let value = raw.trim();
    if value.is_empty() {
        return Err(ValidationError::new(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(value.to_owned())
}

/// An optional single-line text: like [`required_text`], but blank is `None`.
pub fn optional_text(
    field: &str,
    raw: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    if raw.trim().is_empty() {
        no_control_chars(field, raw)?;
        return Ok(None);
    }
    required_text(field, raw, max).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("a\0b"), "\"a\\0b\"");
        let long = "x".repeat(1_000_000);
        let quoted = quote(&long);
        assert!(
            quoted.chars().count() <= QUOTE_CHARS + 3,
            "{}",
            quoted.len()
        );
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn text_refuses_control_characters_and_blanks() {
        assert_eq!(required_text("name", "  Heat ", 10), Ok("Heat".to_owned()));
        assert!(required_text("name", "He\0at", 10).is_err());
        assert!(required_text("name", "He\u{1b}[31mat", 10).is_err());
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "elevenchars", 10).is_err());
        assert_eq!(optional_text("line_2", " ", 10), Ok(None));
        assert!(optional_text("line_2", "\0", 10).is_err());
        let message = required_text("name", &"\0".repeat(10_000), 10)
            .expect_err("refused")
            .to_string();
        assert!(message.starts_with("name must not contain control characters"));
        assert!(message.len() < 1024, "{}", message.len());
    }

    proptest! {
        #[test]
        fn text_never_accepts_a_control_character(raw in any::<String>(), max in 1usize..300) {
            if let Ok(value) = required_text("field", &raw, max) {
                prop_assert!(!value.chars().any(char::is_control));
                prop_assert!(!value.is_empty() && value.chars().count() <= max);
            }
        }

        #[test]
        fn quoting_is_bounded(raw in any::<String>()) {
            // Escapes can at most quadruple-ish a character (\u{10ffff}), never more.
            prop_assert!(quote(&raw).chars().count() <= QUOTE_CHARS * 10 + 3);
        }
    }
}
