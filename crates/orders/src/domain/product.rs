use std::fmt;

use chrono::{DateTime, Utc};

use super::{ValidationError, parse_id};

/// A product's id: opaque to clients, a positive integer key inside the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(i64);

impl ProductId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        parse_id("product_id", raw).map(Self)
    }
    pub fn from_db(id: i64) -> Self {
        Self(id)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A registered provider's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderId(i64);

impl ProviderId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        parse_id("provider_id", raw).map(Self)
    }
    pub fn from_db(id: i64) -> Self {
        Self(id)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A product description: trimmed, 1..=1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        cinema_service::text::required_text("description", raw, Self::MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-negative number of units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(raw: i64) -> Result<Self, ValidationError> {
        if raw < 0 {
            return Err(ValidationError::new(format!(
                "quantity must be zero or more, got {raw}"
            )));
        }
        Ok(Self(raw))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A non-negative amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(i64);

impl Cents {
    pub fn parse(field: &str, raw: i64) -> Result<Self, ValidationError> {
        if raw < 0 {
            return Err(ValidationError::new(format!(
                "{field} must be zero or more, got {raw}"
            )));
        }
        Ok(Self(raw))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A provider's own reference for a product (e.g. a showtime id): 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRef(String);

impl ExternalRef {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        cinema_service::text::required_text("external_ref", raw, 200).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated AddProduct request.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub description: Description,
    pub quantity: Quantity,
    pub price: Cents,
    /// The owner and its reference, which make AddProduct idempotent. An external
    /// reference cannot exist without a provider (the type makes that impossible).
    pub provider: Option<(ProviderId, Option<ExternalRef>)>,
    /// When it stops being sold and its orders stop being cancellable; `None`: never.
    /// To the microsecond, as Postgres keeps it, so that a retry compares equal.
    pub sales_end: Option<DateTime<Utc>>,
    /// When its holders may be let in.
    pub admission: AdmissionWindow,
    /// Where its holders are let in; `None`: anywhere.
    pub venue: Option<Venue>,
}

/// Where a product's holders are let in (a theatre's id): 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue(String);

impl Venue {
    /// An empty venue is none: `None`.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, ValidationError> {
        if raw.is_empty() {
            return Ok(None);
        }
        cinema_service::text::required_text("venue", raw, 200).map(|v| Some(Self(v)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When a product's holders may be let in at the door (AdmitOrder): a showtime's
/// doors opening until the movie's end. Either side may be open; when both are set
/// the end is later than the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionWindow {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl AdmissionWindow {
    pub fn parse(
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, ValidationError> {
        match (start, end) {
            (Some(start), Some(end)) if end <= start => Err(ValidationError::new(format!(
                "admission_end ({end}) must be later than admission_start ({start})"
            ))),
            _ => Ok(Self { start, end }),
        }
    }
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.start
    }
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.end
    }
}

/// A provider's unique name: 1..=100 characters of letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderName(String);

impl ProviderName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let ok = (1..=100).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(ValidationError::new(
                "provider name must be 1 to 100 characters of letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a provider serves its callbacks: an `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackEndpoint(String);

impl CallbackEndpoint {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let rest = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"));
        let clean = !raw.contains(|c: char| c.is_whitespace() || c.is_control());
        match rest {
            Some(host) if !host.is_empty() && raw.len() <= 2048 && clean => {
                Ok(Self(raw.to_owned()))
            }
            _ => Err(ValidationError::new(format!(
                "callback_endpoint {} must be an http:// or https:// URL",
                cinema_service::text::quote(raw)
            ))),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_trimmed_and_bounded() {
        assert_eq!(
            Description::parse("  Seat  ").map(|d| d.0),
            Ok("Seat".into())
        );
        assert!(Description::parse("   ").is_err());
        assert!(Description::parse(&"é".repeat(1000)).is_ok());
        assert!(Description::parse(&"é".repeat(1001)).is_err());
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(ProductId::parse("42").map(ProductId::get), Ok(42));
        for bad in ["", "0", "-3", "abc", "1.5", "99999999999999999999"] {
            assert!(ProductId::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn an_admission_window_ends_after_it_starts() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("an instant");
        let end = start + chrono::TimeDelta::minutes(90);
        assert!(AdmissionWindow::parse(Some(start), Some(end)).is_ok());
        assert!(AdmissionWindow::parse(Some(start), None).is_ok());
        assert!(AdmissionWindow::parse(None, Some(end)).is_ok());
        assert!(AdmissionWindow::parse(Some(end), Some(start)).is_err());
        assert!(AdmissionWindow::parse(Some(start), Some(start)).is_err());
    }

    #[test]
    fn callback_endpoint_needs_a_scheme() {
        assert!(CallbackEndpoint::parse("http://movies:50051").is_ok());
        assert!(CallbackEndpoint::parse("movies:50051").is_err());
        assert!(CallbackEndpoint::parse("http://").is_err());
    }
}
