use std::fmt;

use rand::Rng;

use super::ValidationError;

/// An order's confirmation code: read aloud at a box office and typed on phones, so it
/// uses an alphabet without look-alikes (no 0/O, no 1/I).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Confirmation(String);

impl Confirmation {
    const ALPHABET: &'static [u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    /// 32^10 = 2^50 codes: collisions are rare, and handled by retrying anyway.
    const GENERATED_LEN: usize = 10;

    pub fn generate(rng: &mut impl Rng) -> Self {
        let code = (0..Self::GENERATED_LEN)
            .map(|_| char::from(Self::ALPHABET[rng.random_range(0..Self::ALPHABET.len())]))
            .collect();
        Self(code)
    }

    /// Parses a code a customer typed: case-insensitive, surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let code = raw.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(ValidationError::new("confirmation is required"));
        }
        if (8..=16).contains(&code.len()) && code.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(Self(code))
        } else {
            Err(ValidationError::new(format!(
                "confirmation {} is not a confirmation code (8 to 16 letters and digits, no 0, O, 1 or I)",
                cinema_service::text::quote(raw)
            )))
        }
    }

    pub fn from_db(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_and_avoid_ambiguous_characters() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = Confirmation::generate(&mut rng);
            assert!(!code.0.contains(['0', 'O', '1', 'I']));
            assert_eq!(Confirmation::parse(&code.0.to_lowercase()), Ok(code));
        }
        assert!(Confirmation::parse("ABC").is_err());
        assert!(Confirmation::parse("ABCDEFGH0").is_err());
    }
}
