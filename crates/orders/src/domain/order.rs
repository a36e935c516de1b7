use super::{Fingerprint, PaymentMethod, Phone, ProductId, RequestId, ValidationError};

pub const MAX_ITEMS: usize = 100;
pub const MAX_ITEM_QUANTITY: i64 = 10_000;

/// One item as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub product_id: ProductId,
    pub quantity: i64,
}

/// The order's line items: 1..=100 of them, one per product, each with a quantity in
/// 1..=10,000, in the order the products first appeared in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLines(Vec<LineRequest>);

impl OrderLines {
    /// Validates the items and merges those naming the same product, summing their
    /// quantities (the chapter orders one product four times and expects 4 x price).
    pub fn parse(items: &[LineRequest]) -> Result<Self, ValidationError> {
        if items.is_empty() {
            return Err(ValidationError::new("an order needs at least one item"));
        }
        if items.len() > MAX_ITEMS {
            return Err(ValidationError::new(format!(
                "an order may have at most {MAX_ITEMS} items, got {}",
                items.len()
            )));
        }
        let mut lines: Vec<LineRequest> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if !(1..=MAX_ITEM_QUANTITY).contains(&item.quantity) {
                return Err(ValidationError::of(
                    format!("items[{i}].quantity"),
                    format!(
                        "quantity for product {} must be 1 to {MAX_ITEM_QUANTITY}, got {}",
                        item.product_id, item.quantity
                    ),
                ));
            }
            match lines.iter_mut().find(|l| l.product_id == item.product_id) {
                Some(line) => line.quantity += item.quantity,
                None => lines.push(*item),
            }
        }
        if let Some(line) = lines.iter().find(|l| l.quantity > MAX_ITEM_QUANTITY) {
            return Err(ValidationError::new(format!(
                "quantity for product {} adds up to {}; the limit is {MAX_ITEM_QUANTITY}",
                line.product_id, line.quantity
            )));
        }
        Ok(Self(lines))
    }

    pub fn iter(&self) -> impl Iterator<Item = &LineRequest> {
        self.0.iter()
    }

    /// Whether the lines name one product: a statement changing it touches one row, so
    /// needs no lock order, and no transaction to be all or nothing.
    pub fn is_single_product(&self) -> bool {
        self.0.len() == 1
    }

    /// The distinct product ids, ascending: the order in which rows are locked, so two
    /// orders naming the same products in different orders can never deadlock.
    pub fn product_ids_sorted(&self) -> Vec<ProductId> {
        let mut ids: Vec<ProductId> = self.0.iter().map(|l| l.product_id).collect();
        ids.sort_unstable();
        ids
    }
}

/// A customer phone number that can receive texts, in E.164 form (`+14155550100`).
/// What a PlaceOrder pays for: seats already held, or items to hold first.
#[derive(Debug, Clone)]
pub enum Basket {
    Hold(super::HoldId),
    Items(OrderLines),
}

/// A validated PlaceOrder request.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    pub request_id: RequestId,
    pub basket: Basket,
    pub payment: PaymentMethod,
    pub phone: Option<Phone>,
}

impl OrderDraft {
    /// Digests the request body. The card contributes brand, last four and expiry, never
    /// its full number: an unkeyed hash of a card number can be reversed by brute force,
    /// so it must not be stored either.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut f = Fingerprint::builder();
        match &self.basket {
            Basket::Items(lines) => {
                for line in lines.iter() {
                    f = f
                        .text(&line.product_id.to_string())
                        .text(&line.quantity.to_string());
                }
            }
            Basket::Hold(hold) => f = f.text("hold").text(&hold.to_string()),
        }
        f = match &self.payment {
            PaymentMethod::CreditCard(card) => {
                let a = &card.billing_address;
                f.text("card")
                    .text(card.brand.as_str())
                    .text(card.number.last_four())
                    .text(&format!("{}/{}", card.expiry.month(), card.expiry.year()))
                    .text(&a.line_1)
                    .text(a.line_2.as_deref().unwrap_or(""))
                    .text(&a.city)
                    .text(a.state.as_str())
                    .text(a.zip.as_str())
            }
            PaymentMethod::PayPal(email) => f.text("paypal").text(email.as_str()),
            PaymentMethod::Promotion(code) => f.text("promotion").text(code.as_str()),
        };
        f.text(self.phone.as_ref().map_or("", Phone::as_str))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Placed,
    Cancelled,
}

impl OrderStatus {
    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "placed" => Some(Self::Placed),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, quantity: i64) -> LineRequest {
        LineRequest {
            product_id: ProductId::from_db(id),
            quantity,
        }
    }

    #[test]
    fn items_for_the_same_product_merge_keeping_first_position() {
        let lines =
            OrderLines::parse(&[item(7, 1), item(3, 2), item(7, 1), item(7, 2)]).expect("valid");
        let merged: Vec<_> = lines
            .iter()
            .map(|l| (l.product_id.get(), l.quantity))
            .collect();
        assert_eq!(merged, vec![(7, 4), (3, 2)]);
        assert_eq!(
            lines.product_ids_sorted(),
            vec![ProductId::from_db(3), ProductId::from_db(7)]
        );
    }

    #[test]
    fn item_count_and_quantities_are_bounded() {
        assert!(OrderLines::parse(&[]).is_err());
        assert!(OrderLines::parse(&[item(1, 0)]).is_err());
        assert!(OrderLines::parse(&[item(1, MAX_ITEM_QUANTITY + 1)]).is_err());
        assert!(OrderLines::parse(&[item(1, MAX_ITEM_QUANTITY), item(1, 1)]).is_err());
        let many: Vec<_> = (1..=101).map(|i| item(i, 1)).collect();
        assert!(OrderLines::parse(&many).is_err());
        assert!(OrderLines::parse(&many[..100]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_nor_accept_control_chars(raw in proptest::prelude::any::<String>()) {
            for accepted in [
                super::super::Description::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::ExternalRef::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::CallbackEndpoint::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::ProviderName::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::Email::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::PromoCode::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::ZipCode::parse(&raw).map(|d| d.as_str().to_owned()).ok(),
                super::super::Confirmation::parse(&raw).map(|d| d.to_string()).ok(),
                super::super::Address::parse(&raw, &raw, &raw, "MA", "02139").map(|a| a.line_1).ok(),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(!accepted.chars().any(char::is_control));
            }
        }
    }
}

/// A line item as stored: position, product, quantity and the unit price paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub position: u32,
    pub product_id: ProductId,
    pub quantity: i64,
    pub unit_price_cents: i64,
    /// The provider's reference for the product (a showtime id), so a front-end can
    /// say what was bought.
    pub external_ref: Option<String>,
    /// What the product is, in its provider's words ("Heat at Kendall Square Cinema,
    /// auditorium 2, Sun Dec 6 7:30 PM EST").
    pub description: String,
}

impl PricedLine {
    pub fn price_cents(&self) -> i64 {
        self.quantity * self.unit_price_cents
    }
}

/// What is kept of a payment: never the full card number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentSummary {
    CreditCard {
        brand: super::CardBrand,
        last_four: String,
        expiry: super::Expiry,
    },
    PayPal {
        email: String,
    },
    Promotion {
        code: String,
    },
}

impl PaymentSummary {
    /// What is kept of `method` once it has paid.
    pub fn of(method: &super::PaymentMethod) -> Self {
        match method {
            super::PaymentMethod::CreditCard(card) => Self::CreditCard {
                brand: card.brand,
                last_four: card.number.last_four().to_owned(),
                expiry: card.expiry,
            },
            super::PaymentMethod::PayPal(email) => Self::PayPal {
                email: email.as_str().to_owned(),
            },
            super::PaymentMethod::Promotion(code) => Self::Promotion {
                code: code.as_str().to_owned(),
            },
        }
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub confirmation: super::Confirmation,
    pub status: OrderStatus,
    pub lines: Vec<PricedLine>,
    pub payment: PaymentSummary,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Cancelled because its provider withdrew a product of it, not by its customer.
    pub cancelled_by_provider: bool,
    /// Whether, and how, its holder was let in at the door.
    pub admitted: Option<Admission>,
    /// Where the order's texts go, when the customer asked for them.
    pub phone: Option<Phone>,
}

/// An order's holder let in at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub at: chrono::DateTime<chrono::Utc>,
    /// Outside its products' admission window, by a manager's override.
    pub overridden: bool,
}

impl Order {
    /// The total is derived from the line items rather than stored beside them, so the
    /// two can never disagree.
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(PricedLine::price_cents).sum()
    }
}
