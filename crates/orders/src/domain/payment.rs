//! Payment methods. A [`CardNumber`] holds the full number only in memory, for the
//! payment processor; its `Debug` shows brand-neutral last four digits, and the store
//! only ever receives [`CardNumber::last_four`]. A [`SecurityCode`] goes to the
//! processor only: no `Debug` of it shows a digit and nothing stores it.

use cinema_service::text::{optional_text, quote, required_text};
use std::fmt;

use chrono::Datelike;

use super::{UsState, ValidationError, ZipCode};
use cinema_service::error::AtField;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    AmericanExpress,
    Visa,
    MasterCard,
}

impl CardBrand {
    /// The name stored in the database (the chapter's values).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AmericanExpress => "AmericanExpress",
            Self::Visa => "Visa",
            Self::MasterCard => "MasterCard",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "AmericanExpress" => Some(Self::AmericanExpress),
            "Visa" => Some(Self::Visa),
            "MasterCard" => Some(Self::MasterCard),
            _ => None,
        }
    }

    /// Whether `digits` has a length and prefix this brand issues.
    fn issued(self, digits: &str) -> bool {
        let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
        match self {
            Self::AmericanExpress => digits.len() == 15 && matches!(prefix(2), 34 | 37),
            Self::Visa => matches!(digits.len(), 13 | 16 | 19) && digits.starts_with('4'),
            Self::MasterCard => {
                digits.len() == 16
                    && ((51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)))
            }
        }
    }
}

/// A card number that passed the Luhn check and matches its brand.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Accepts digits grouped with spaces or dashes.
    pub fn parse(raw: &str, brand: CardBrand) -> Result<Self, ValidationError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err(ValidationError::new("card number is required"));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(12..=19).contains(&digits.len()) {
            return Err(ValidationError::new(
                "card number must be 12 to 19 digits (spaces and dashes allowed)",
            ));
        }
        if !luhn_valid(&digits) {
            return Err(ValidationError::new(
                "card number is not valid (checksum failed): check for a typo",
            ));
        }
        if !brand.issued(&digits) {
            return Err(ValidationError::new(format!(
                "card number does not look like a {} card (length or prefix)",
                brand.as_str()
            )));
        }
        Ok(Self(digits))
    }

    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The full number, for the payment processor only.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(**** {})", self.last_four())
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card's security code (CVV/CVC): 3 digits, 4 on an American Express. Checked by the
/// payment processor against the issuer's; we only check its form, and keep it in
/// memory for the one authorization it is sent with.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityCode(String);

impl SecurityCode {
    /// `None` when not given (clients older than the field leave it to the processor).
    pub fn parse_optional(raw: &str, brand: CardBrand) -> Result<Option<Self>, ValidationError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let (digits, on) = match brand {
            CardBrand::AmericanExpress => (4, "the front of an American Express card"),
            CardBrand::Visa | CardBrand::MasterCard => (3, "the back of the card"),
        };
        if raw.len() != digits || !raw.bytes().all(|b| b.is_ascii_digit()) {
            // Not said back: it is a secret, even when mistyped.
            return Err(ValidationError::new(format!(
                "security code must be the {digits} digits on {on}"
            )));
        }
        Ok(Some(Self(raw.to_owned())))
    }

    /// The digits, for the payment processor only.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecurityCode(***)")
    }
}

/// A card's expiry month. A card is good through the last day of that month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    month: u8,
    year: u16,
}

impl Expiry {
    pub fn parse(month: u32, year: u32, today: chrono::NaiveDate) -> Result<Self, ValidationError> {
        if !(1..=12).contains(&month) {
            return Err(ValidationError::new(format!(
                "expiration month must be 1 to 12, got {month}"
            )));
        }
        let this_year = u32::try_from(today.year()).unwrap_or(0);
        if !(2000..=this_year + 25).contains(&year) {
            return Err(ValidationError::new(format!(
                "expiration year must be 2000 to {}, got {year}",
                this_year + 25
            )));
        }
        if (year, month) < (this_year, today.month()) {
            return Err(ValidationError::new(format!(
                "the card expired in {month:02}/{year}"
            )));
        }
        Ok(Self {
            month: month as u8,
            year: year as u16,
        })
    }
    pub fn from_db(month: i16, year: i16) -> Self {
        Self {
            month: month as u8,
            year: year as u16,
        }
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn year(self) -> u16 {
        self.year
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line_1: String,
    pub line_2: Option<String>,
    pub city: String,
    pub state: UsState,
    pub zip: ZipCode,
}

impl Address {
    pub fn parse(
        line_1: &str,
        line_2: &str,
        city: &str,
        state: &str,
        zip: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            line_1: required_text("billing address line_1", line_1, 256).at("line_1")?,
            line_2: optional_text("billing address line_2", line_2, 256).at("line_2")?,
            city: required_text("billing address city", city, 128).at("city")?,
            state: UsState::parse(state).at("state")?,
            zip: ZipCode::parse(zip).at("zip_code")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCard {
    pub brand: CardBrand,
    pub number: CardNumber,
    pub expiry: Expiry,
    pub billing_address: Address,
    pub security_code: Option<SecurityCode>,
}

/// An email address, checked for syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        // `email_address` follows RFC 5321/5322; on top of it we insist on a dotted
        // domain, which every deliverable PayPal account has.
        let valid = email_address::EmailAddress::parse_with_options(
            raw,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .is_ok_and(|email| email.domain().contains('.'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(format!(
                "paypal email {} is not a valid email address",
                quote(raw)
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A promotion code: 3..=32 letters, digits or dashes, case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoCode(String);

impl PromoCode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let upper = raw.trim().to_ascii_uppercase();
        if (3..=32).contains(&upper.len())
            && upper
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            Ok(Self(upper))
        } else {
            Err(ValidationError::new(format!(
                "promotion code {} must be 3 to 32 letters, digits or dashes",
                quote(raw)
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    CreditCard(CreditCard),
    PayPal(Email),
    Promotion(PromoCode),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date")
    }

    #[test]
    fn security_codes_have_the_brands_length_and_never_show() {
        use CardBrand::*;
        assert_eq!(SecurityCode::parse_optional("  ", Visa), Ok(None));
        let code = SecurityCode::parse_optional(" 123 ", Visa)
            .expect("3 digits")
            .expect("given");
        assert_eq!(code.expose_digits(), "123");
        assert_eq!(format!("{code:?}"), "SecurityCode(***)");
        assert!(SecurityCode::parse_optional("1234", AmericanExpress).is_ok());
        for (raw, brand) in [
            ("1234", Visa),
            ("12", MasterCard),
            ("123", AmericanExpress),
            ("12a", Visa),
        ] {
            let error = SecurityCode::parse_optional(raw, brand).expect_err(raw);
            assert!(
                !error.to_string().contains(raw),
                "a mistyped code is not said back: {error}"
            );
        }
    }

    #[test]
    fn card_numbers_are_checked_against_luhn_and_brand() {
        use CardBrand::*;
        assert!(CardNumber::parse("4111 1111 1111 1111", Visa).is_ok());
        assert!(
            CardNumber::parse("4111-1111-1111-1112", Visa).is_err(),
            "Luhn"
        );
        assert!(CardNumber::parse("378282246310005", AmericanExpress).is_ok());
        assert!(
            CardNumber::parse("378282246310005", Visa).is_err(),
            "Amex is not Visa"
        );
        assert!(CardNumber::parse("4111111111111111", AmericanExpress).is_err());
        assert!(CardNumber::parse("5555555555554444", MasterCard).is_ok());
        assert!(
            CardNumber::parse("2223003122003222", MasterCard).is_ok(),
            "2-series"
        );
        assert!(CardNumber::parse("4111x111111111111", Visa).is_err());
        assert!(CardNumber::parse("", Visa).is_err());
    }

    #[test]
    fn card_number_debug_never_shows_the_full_number() {
        let number = CardNumber::parse("4111111111111111", CardBrand::Visa).expect("valid");
        let shown = format!("{number:?}");
        assert!(!shown.contains("4111111111111111"));
        assert!(shown.contains("1111"));
    }

    #[test]
    fn expiry_is_good_through_its_month() {
        assert!(Expiry::parse(11, 2026, today()).is_ok());
        assert!(Expiry::parse(10, 2026, today()).is_err());
        assert!(Expiry::parse(13, 2027, today()).is_err());
        assert!(Expiry::parse(0, 2027, today()).is_err());
        assert!(
            Expiry::parse(1, 27, today()).is_err(),
            "two-digit years are refused"
        );
    }

    #[test]
    fn emails_and_promotion_codes() {
        assert!(Email::parse("buyer@example.com").is_ok());
        assert!(Email::parse("buyer@localhost").is_err());
        assert!(Email::parse("not an email").is_err());
        assert_eq!(
            PromoCode::parse("free-movie").map(|p| p.0),
            Ok("FREE-MOVIE".into())
        );
        assert!(PromoCode::parse("x").is_err());
    }
}
