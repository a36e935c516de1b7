//! Domain types: each one can only be built through `parse`, so a value that exists is
//! valid. The gRPC layer parses requests into these; the store only ever sees them.

mod confirmation;
mod hold;
mod order;
mod payment;
mod product;
mod promotion;

pub use confirmation::Confirmation;
pub use hold::{Hold, HoldDraft, HoldId, HoldStatus, HoldTtl};
pub use order::{
    Admission, Basket, LineRequest, MAX_ITEM_QUANTITY, MAX_ITEMS, Order, OrderDraft, OrderLines,
    OrderStatus, PaymentSummary, PricedLine,
};
pub use payment::{
    Address, CardBrand, CardNumber, CreditCard, Email, Expiry, PaymentMethod, PromoCode,
    SecurityCode,
};
pub use product::{
    AdmissionWindow, CallbackEndpoint, Cents, Description, ExternalRef, NewProduct, ProductId,
    ProviderId, ProviderName, Quantity, Venue,
};
pub use promotion::{NewPromotion, Promotion, PromotionUses};

pub use cinema_service::domain::{Phone, RequestId, UsState, ZipCode};
pub use cinema_service::error::ValidationError;
pub use cinema_service::idempotency::Fingerprint;

/// Parses an opaque id made of decimal digits (the store's bigint keys).
fn parse_id(field: &str, raw: &str) -> Result<i64, ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(format!("{field} is required")));
    }
    // Digits only: `i64::from_str` would also take a sign.
    Some(raw)
        .filter(|raw| raw.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ValidationError::new(format!(
                "{field} {} is not a valid id",
                cinema_service::text::quote(raw)
            ))
        })
}
