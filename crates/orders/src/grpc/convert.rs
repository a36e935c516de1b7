//! Wire (proto) types to domain types and back: the logical model the API speaks on one
//! side, the validated domain on the other.

use chrono::DateTime;
use cinema_proto::orders::v1 as pb;
use cinema_service::domain::{instant, timestamp};
use cinema_service::error::AtField;

use crate::domain::{
    Address, AdmissionWindow, Basket, CardBrand, CardNumber, Cents, CreditCard, Description, Email,
    Expiry, ExternalRef, Hold, HoldDraft, HoldId, HoldStatus, HoldTtl, LineRequest, NewProduct,
    Order, OrderDraft, OrderLines, OrderStatus, PaymentMethod, PaymentSummary, Phone, PricedLine,
    ProductId, PromoCode, ProviderId, Quantity, RequestId, SecurityCode, ValidationError, Venue,
};

/// At most this many product ids per GetAvailability or GetSales call, so that one
/// call stays one cheap query.
const MAX_PRODUCT_IDS: usize = 1000;

/// A batch call's `product_ids`: 1 to [`MAX_PRODUCT_IDS`] of them, each well formed,
/// each kept once in the order first given.
pub fn product_ids(raw: &[String]) -> Result<Vec<ProductId>, ValidationError> {
    if raw.is_empty() || raw.len() > MAX_PRODUCT_IDS {
        return Err(ValidationError::of(
            "product_ids",
            format!("send 1 to {MAX_PRODUCT_IDS} product ids, got {}", raw.len()),
        ));
    }
    let mut ids: Vec<ProductId> = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let id = ProductId::parse(id).at(format!("product_ids[{i}]"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// NOT_FOUND naming the first of `asked` that is not among `found`, and listing them all.
pub fn all_found(
    asked: &[ProductId],
    found: impl IntoIterator<Item = ProductId>,
) -> Result<(), crate::error::Error> {
    let found: std::collections::HashSet<ProductId> = found.into_iter().collect();
    let missing: Vec<String> = asked
        .iter()
        .filter(|id| !found.contains(id))
        .map(ToString::to_string)
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(crate::error::Error::not_found(
            "product",
            first,
            format!("unknown product id(s): {}", missing.join(", ")),
        )),
    }
}

pub fn new_product(req: &pb::AddProductRequest) -> Result<NewProduct, ValidationError> {
    let provider = match (req.provider_id.as_deref(), req.external_ref.as_deref()) {
        (None | Some(""), None | Some("")) => None,
        (None | Some(""), Some(_)) => {
            return Err(ValidationError::of(
                "provider_id",
                "external_ref needs a provider_id: references are per provider",
            ));
        }
        (Some(provider), external_ref) => Some((
            ProviderId::parse(provider).at("provider_id")?,
            external_ref
                .filter(|r| !r.is_empty())
                .map(ExternalRef::parse)
                .transpose()
                .at("external_ref")?,
        )),
    };
    // To the microsecond, as Postgres keeps them, so that a retry compares equal.
    let micros = |field: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(|t| instant(field, t))
            .transpose()
            .map(|t| t.map(|t| DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)))
    };
    Ok(NewProduct {
        description: Description::parse(&req.description).at("description")?,
        quantity: Quantity::parse(req.quantity).at("quantity")?,
        price: Cents::parse("price_cents", req.price_cents).at("price_cents")?,
        provider,
        sales_end: micros("sales_end", &req.sales_end)?,
        admission: AdmissionWindow::parse(
            micros("admission_start", &req.admission_start)?,
            micros("admission_end", &req.admission_end)?,
        )
        .at("admission_end")?,
        venue: Venue::parse_optional(&req.admission_venue).at("admission_venue")?,
    })
}

fn order_lines(items: &[pb::OrderItem]) -> Result<OrderLines, ValidationError> {
    let items = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            Ok(LineRequest {
                product_id: ProductId::parse(&item.product_id)
                    .at(format!("items[{i}].product_id"))?,
                quantity: item.quantity,
            })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    OrderLines::parse(&items).at("items")
}

pub fn hold_draft(req: &pb::HoldProductsRequest) -> Result<HoldDraft, ValidationError> {
    let request_id = RequestId::parse(&req.request_id).at("request_id")?;
    let lines = order_lines(&req.items)?;
    Ok(HoldDraft::requested(
        &request_id,
        lines,
        HoldTtl::parse(req.ttl_seconds).at("ttl_seconds")?,
    ))
}

pub fn hold(hold: &Hold) -> pb::Hold {
    pb::Hold {
        hold_id: hold.id.to_string(),
        status: match hold.status {
            HoldStatus::Active => pb::HoldStatus::Active,
            HoldStatus::Confirmed => pb::HoldStatus::Confirmed,
            HoldStatus::Released => pb::HoldStatus::Released,
            HoldStatus::Expired => pb::HoldStatus::Expired,
        }
        .into(),
        line_items: hold.lines.iter().map(line_item).collect(),
        price_cents: hold.total_cents(),
        expires_at: Some(timestamp(hold.expires_at)),
        confirmation: hold
            .order
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    }
}

pub fn order_draft(
    req: &pb::PlaceOrderRequest,
    today: chrono::NaiveDate,
) -> Result<OrderDraft, ValidationError> {
    let request_id = RequestId::parse(&req.request_id).at("request_id")?;
    let basket = match (req.hold_id.is_empty(), req.items.is_empty()) {
        (true, _) => Basket::Items(order_lines(&req.items)?),
        (false, true) => Basket::Hold(HoldId::parse(&req.hold_id).at("hold_id")?),
        (false, false) => {
            return Err(ValidationError::of(
                "hold_id",
                "send either hold_id or items, not both",
            ));
        }
    };
    let payment = payment_method(req.payment.as_ref(), today)?;
    let phone = req
        .customer
        .as_ref()
        .and_then(|c| c.phone.as_deref())
        // Absent or empty: no text. Anything else must be a phone number.
        .filter(|p| !p.is_empty())
        .map(Phone::parse)
        .transpose()
        .at("customer.phone")?;
    Ok(OrderDraft {
        request_id,
        basket,
        payment,
        phone,
    })
}

fn payment_method(
    payment: Option<&pb::Payment>,
    today: chrono::NaiveDate,
) -> Result<PaymentMethod, ValidationError> {
    let method = payment.and_then(|p| p.method.as_ref()).ok_or_else(|| {
        ValidationError::of(
            "payment",
            "payment is required: a credit card, PayPal or a promotion code",
        )
    })?;
    Ok(match method {
        pb::payment::Method::CreditCard(card) => {
            let brand = match pb::CardBrand::try_from(card.brand) {
                Ok(pb::CardBrand::AmericanExpress) => CardBrand::AmericanExpress,
                Ok(pb::CardBrand::Visa) => CardBrand::Visa,
                Ok(pb::CardBrand::Mastercard) => CardBrand::MasterCard,
                _ => {
                    return Err(ValidationError::of(
                        "payment.credit_card.brand",
                        "card brand is required: AMERICAN_EXPRESS, VISA or MASTERCARD",
                    ));
                }
            };
            let address = card.billing_address.as_ref().ok_or_else(|| {
                ValidationError::of(
                    "payment.credit_card.billing_address",
                    "a card payment needs its billing address",
                )
            })?;
            PaymentMethod::CreditCard(CreditCard {
                brand,
                number: CardNumber::parse(&card.number, brand).at("payment.credit_card.number")?,
                expiry: Expiry::parse(card.expiration_month, card.expiration_year, today)
                    .at("payment.credit_card.expiration_month")?,
                billing_address: Address::parse(
                    &address.line_1,
                    &address.line_2,
                    &address.city,
                    &address.state,
                    &address.zip_code,
                )
                .within("payment.credit_card.billing_address")?,
                security_code: SecurityCode::parse_optional(&card.security_code, brand)
                    .at("payment.credit_card.security_code")?,
            })
        }
        pb::payment::Method::Paypal(paypal) => {
            PaymentMethod::PayPal(Email::parse(&paypal.email).at("payment.paypal.email")?)
        }
        pb::payment::Method::Promotion(promo) => {
            PaymentMethod::Promotion(PromoCode::parse(&promo.code).at("payment.promotion.code")?)
        }
    })
}

fn line_item(line: &PricedLine) -> pb::LineItem {
    pb::LineItem {
        position: line.position,
        product_id: line.product_id.to_string(),
        quantity: line.quantity,
        unit_price_cents: line.unit_price_cents,
        price_cents: line.price_cents(),
        external_ref: line.external_ref.clone().unwrap_or_default(),
        description: line.description.clone(),
    }
}

pub fn order_placed(order: &Order) -> pb::PlaceOrderResponse {
    pb::PlaceOrderResponse {
        confirmation: order.confirmation.to_string(),
        price_cents: order.total_cents(),
        line_items: order.lines.iter().map(line_item).collect(),
        created_at: Some(timestamp(order.created_at)),
    }
}

fn card_brand(brand: CardBrand) -> pb::CardBrand {
    match brand {
        CardBrand::AmericanExpress => pb::CardBrand::AmericanExpress,
        CardBrand::Visa => pb::CardBrand::Visa,
        CardBrand::MasterCard => pb::CardBrand::Mastercard,
    }
}

pub fn order(order: &Order) -> pb::Order {
    let payment = match &order.payment {
        PaymentSummary::CreditCard {
            brand,
            last_four,
            expiry,
        } => pb::payment_summary::Method::CreditCard(pb::CardSummary {
            brand: card_brand(*brand).into(),
            last_four: last_four.clone(),
            expiration_month: u32::from(expiry.month()),
            expiration_year: u32::from(expiry.year()),
        }),
        PaymentSummary::PayPal { email } => pb::payment_summary::Method::Paypal(pb::PayPal {
            email: email.clone(),
        }),
        PaymentSummary::Promotion { code } => {
            pb::payment_summary::Method::Promotion(pb::Promotion { code: code.clone() })
        }
    };
    pb::Order {
        confirmation: order.confirmation.to_string(),
        status: match order.status {
            OrderStatus::Placed => pb::OrderStatus::Placed,
            OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
        }
        .into(),
        line_items: order.lines.iter().map(line_item).collect(),
        total_cents: order.total_cents(),
        payment: Some(pb::PaymentSummary {
            method: Some(payment),
        }),
        created_at: Some(timestamp(order.created_at)),
        cancelled_at: order.cancelled_at.map(timestamp),
        admitted_at: order.admitted.map(|a| timestamp(a.at)),
        admitted_by_override: order.admitted.is_some_and(|a| a.overridden),
        cancelled_by_provider: order.cancelled_by_provider,
        phone_last_four: order
            .phone
            .as_ref()
            .map(|p| p.last_four().to_owned())
            .unwrap_or_default(),
    }
}
