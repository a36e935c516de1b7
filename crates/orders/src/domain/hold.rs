//! Holds: stock set aside for one customer while they pay.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{Confirmation, Fingerprint, OrderLines, PricedLine, RequestId, ValidationError};

/// A hold's public id: a UUID, unguessable, since whoever knows it can pay for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HoldId(uuid::Uuid);

impl HoldId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::new("hold_id is required"));
        }
        // Only the hyphenated form this service hands out.
        match uuid::Uuid::try_parse(raw) {
            Ok(id) if raw.len() == 36 => Ok(Self(id)),
            _ => Err(ValidationError::new(format!(
                "hold_id {} is not a hold id this service issued",
                cinema_service::text::quote(raw)
            ))),
        }
    }

    pub fn from_db(id: uuid::Uuid) -> Self {
        Self(id)
    }

    pub fn get(self) -> uuid::Uuid {
        self.0
    }
}

impl Default for HoldId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// How long a hold lasts: 10 minutes unless asked otherwise, at most 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTtl(u32);

impl HoldTtl {
    pub const DEFAULT_SECONDS: u32 = 10 * 60;
    pub const MAX_SECONDS: u32 = 30 * 60;

    /// `0` means the default.
    pub fn parse(seconds: u32) -> Result<Self, ValidationError> {
        match seconds {
            0 => Ok(Self(Self::DEFAULT_SECONDS)),
            s if s <= Self::MAX_SECONDS => Ok(Self(s)),
            s => Err(ValidationError::new(format!(
                "ttl_seconds must be at most {} (30 minutes), got {s}",
                Self::MAX_SECONDS
            ))),
        }
    }

    /// A TTL chosen by the service itself (configuration), not by a client.
    pub fn from_config(seconds: u32) -> Self {
        Self(seconds.clamp(1, Self::MAX_SECONDS))
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.0))
    }
}

/// A validated HoldProducts request.
#[derive(Debug, Clone)]
pub struct HoldDraft {
    /// The client's request id: of its HoldProducts, or of the PlaceOrder it is for.
    pub request_id: RequestId,
    /// What the hold is stored under, namespaced: `hold:` and a HoldProducts id, or
    /// `order:` and a PlaceOrder's id.
    pub key: String,
    pub lines: OrderLines,
    pub ttl: HoldTtl,
}

impl HoldDraft {
    /// A hold asked for with HoldProducts.
    pub fn requested(request_id: &RequestId, lines: OrderLines, ttl: HoldTtl) -> Self {
        Self {
            key: format!("hold:{}", request_id.as_str()),
            request_id: request_id.clone(),
            lines,
            ttl,
        }
    }

    /// The hold a PlaceOrder with items makes for itself.
    pub fn for_order(request_id: &RequestId, lines: OrderLines, ttl: HoldTtl) -> Self {
        Self {
            key: format!("order:{}", request_id.as_str()),
            request_id: request_id.clone(),
            lines,
            ttl,
        }
    }

    /// What the request asked for (items, in order): a retry must ask for the same.
    pub fn fingerprint(&self) -> Fingerprint {
        self.lines
            .iter()
            .fold(Fingerprint::builder(), |f, line| {
                f.number(line.product_id.get()).number(line.quantity)
            })
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    Active,
    Confirmed,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        [Self::Active, Self::Confirmed, Self::Released, Self::Expired]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A hold as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub status: HoldStatus,
    /// The order the hold became: `Some` exactly when `status` is `Confirmed` (a
    /// cancelled order's hold stays confirmed), so that whoever holds the hold's id (a
    /// browser that paid twice, or came back to its checkout) can find its order.
    pub order: Option<Confirmation>,
    pub lines: Vec<PricedLine>,
    pub expires_at: DateTime<Utc>,
}

impl Hold {
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(PricedLine::price_cents).sum()
    }

    /// Active and not past its expiry (the sweeper may not have run yet).
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Active && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_ids_are_the_uuids_we_issue() {
        let id = HoldId::new();
        assert_eq!(HoldId::parse(&id.to_string()), Ok(id));
        assert!(HoldId::parse("").is_err());
        assert!(HoldId::parse("not-a-uuid").is_err());
        // Other spellings of a UUID are not ours.
        assert!(HoldId::parse(&id.get().simple().to_string()).is_err());
        assert!(HoldId::parse(&format!("{{{id}}}")).is_err());
    }

    #[test]
    fn ttls_default_to_ten_minutes_and_stop_at_thirty() {
        assert_eq!(HoldTtl::parse(0), Ok(HoldTtl(600)));
        assert_eq!(HoldTtl::parse(60), Ok(HoldTtl(60)));
        assert_eq!(HoldTtl::parse(1800), Ok(HoldTtl(1800)));
        assert!(HoldTtl::parse(1801).is_err());
    }
}
