use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::is_constraint_violation;
use super::outbox::{NewRow, Refund};
use crate::domain::{
    Admission, CardBrand, Confirmation, Expiry, Fingerprint, Order, OrderStatus, PaymentMethod,
    PaymentSummary, Phone, PricedLine, ProductId, PromoCode, ProviderId, RequestId, Venue, ZipCode,
};
use crate::error::Error;
use crate::payments::Authorization;

/// The unique constraint a newly drawn confirmation code can collide with.
const CONFIRMATION_CODE_TAKEN: &str = "orders_confirmation_code_key";

/// The order already placed with this request id, with the fingerprint of its body.
pub async fn find_by_request_id(
    conn: &mut PgConnection,
    id: &RequestId,
) -> Result<Option<(i64, Fingerprint)>, Error> {
    let row = sqlx::query!(
        "SELECT id, request_fingerprint FROM orders WHERE request_id = $1",
        id.as_str(),
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Fingerprint::from_db(&r.request_fingerprint)
            .map(|fp| (r.id, fp))
            .ok_or_else(|| Error::unexpected(format!("order {} has a malformed fingerprint", r.id)))
    })
    .transpose()
}

/// A product row locked for the rest of the transaction.
#[derive(Debug, Clone, Copy)]
pub struct LockedProduct {
    pub id: ProductId,
    pub price_cents: i64,
    pub remaining: i64,
    /// The product is no longer sold, nor its orders cancelled.
    pub sales_ended: bool,
}

/// Locks the products' rows in ascending id order. Every checkout locks in this one
/// order, so two orders naming the same products in opposite orders cannot deadlock.
pub async fn lock_products(
    conn: &mut PgConnection,
    sorted_ids: &[ProductId],
) -> Result<Vec<LockedProduct>, Error> {
    let ids: Vec<i64> = sorted_ids.iter().map(|id| id.get()).collect();
    let rows = sqlx::query!(
        r#"SELECT id, price_cents, quantity_remaining,
                  coalesce(sales_end <= now(), false) AS "sales_ended!"
           FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE"#,
        &ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LockedProduct {
            id: ProductId::from_db(r.id),
            price_cents: r.price_cents,
            remaining: r.quantity_remaining,
            sales_ended: r.sales_ended,
        })
        .collect())
}

pub async fn zip_exists(conn: &mut PgConnection, zip: &ZipCode) -> Result<bool, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM zip_codes WHERE zip = $1) AS "exists!""#,
        zip.as_str(),
    )
    .fetch_one(conn)
    .await?)
}

/// Why a promotion code cannot pay.
#[derive(Debug, PartialEq, Eq)]
pub enum PromotionRefused {
    Unknown,
    Inactive,
    UsedUp,
}

/// A product whose stock a transaction changed, as it is after the change.
#[derive(Debug, Clone)]
pub struct StockChange {
    pub product: ProductId,
    pub remaining: i64,
    /// How much the change added (positive) or took (negative).
    pub delta: i64,
    pub provider: Option<ProviderId>,
    pub external_ref: Option<String>,
}

impl StockChange {
    /// This change took the product to zero: its provider must hear it sold out.
    pub fn sold_out(&self) -> bool {
        self.remaining == 0 && self.delta < 0
    }
    /// This change lifted the product from zero: it is available again.
    pub fn back_in_stock(&self) -> bool {
        self.remaining > 0 && self.remaining == self.delta
    }
}

/// Adds `delta` to each product's remaining quantity (negative to take stock). The rows
/// must already be locked and checked; the table's check constraint still refuses to
/// go below zero or above the registered total should that ever be wrong.
pub async fn change_stock(
    conn: &mut PgConnection,
    deltas: &[(ProductId, i64)],
) -> Result<Vec<StockChange>, Error> {
    let ids: Vec<i64> = deltas.iter().map(|(id, _)| id.get()).collect();
    let amounts: Vec<i64> = deltas.iter().map(|(_, d)| *d).collect();
    let rows = sqlx::query!(
        r#"UPDATE products p SET quantity_remaining = p.quantity_remaining + t.delta
           FROM unnest($1::bigint[], $2::bigint[]) AS t(id, delta)
           WHERE p.id = t.id
           RETURNING p.id, p.quantity_remaining, t.delta AS "delta!", p.provider_id,
                     p.external_ref"#,
        &ids,
        &amounts,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StockChange {
            product: ProductId::from_db(r.id),
            remaining: r.quantity_remaining,
            delta: r.delta,
            provider: r.provider_id.map(ProviderId::from_db),
            external_ref: r.external_ref,
        })
        .collect())
}

/// An order locked for cancellation.
#[derive(Debug, Clone)]
pub struct LockedOrder {
    pub id: i64,
    pub cancelled: bool,
    /// When its holder was let in, if they were.
    pub admitted_at: Option<DateTime<Utc>>,
    pub lines: Vec<(ProductId, i64)>,
    pub promotion: Option<String>,
    /// What the processor took, when it took something (a card or PayPal; a
    /// promotion is settled here): its checkout key, authorization and the amount.
    pub taken: Option<Refund>,
    /// Where the customer asked to be texted about the order, if anywhere.
    pub phone: Option<String>,
}

pub async fn lock_order(
    conn: &mut PgConnection,
    code: &Confirmation,
) -> Result<Option<LockedOrder>, Error> {
    let row = sqlx::query!(
        r#"SELECT o.id, o.hold_id, o.status, o.request_id, o.customer_phone::text, o.admitted_at,
                  pr.promotion_code AS "promotion_code?",
                  coalesce(cc.authorization_code, pp.authorization_code) AS "authorization_code?: String"
           FROM orders o
           LEFT JOIN promotional_payments pr ON pr.id = o.promotional_payment_id
           LEFT JOIN credit_card_payments cc ON cc.id = o.credit_card_payment_id
           LEFT JOIN paypal_payments pp ON pp.id = o.paypal_payment_id
           WHERE o.confirmation_code = $1
           FOR UPDATE OF o"#,
        code.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let lines = sqlx::query!(
        // An order's lines are its hold's items.
        "SELECT product_id, quantity, unit_price_cents FROM hold_items
         WHERE hold_id = $1 ORDER BY product_id",
        row.hold_id,
    )
    .fetch_all(conn)
    .await?;
    let total_cents = lines.iter().map(|l| l.quantity * l.unit_price_cents).sum();
    Ok(Some(LockedOrder {
        id: row.id,
        cancelled: row.status == "cancelled",
        admitted_at: row.admitted_at,
        lines: lines
            .into_iter()
            .map(|l| (ProductId::from_db(l.product_id), l.quantity))
            .collect(),
        promotion: row.promotion_code,
        taken: row.authorization_code.map(|authorization_code| Refund {
            request_id: row.request_id,
            authorization_code,
            amount_cents: total_cents,
        }),
        phone: row.customer_phone,
    }))
}

/// Cancels an order: by its customer under `request_id`, or, with `by_provider`,
/// because its provider withdrew a product of it.
pub async fn mark_cancelled(
    conn: &mut PgConnection,
    order_id: i64,
    request_id: Option<&RequestId>,
    by_provider: bool,
) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE orders SET status = 'cancelled', cancelled_at = now(), cancel_request_id = $2::text,
                           cancelled_by_provider = $3
         WHERE id = $1",
        order_id,
        request_id.map(RequestId::as_str),
        by_provider,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Why an order's holder cannot be let in.
#[derive(Debug, PartialEq, Eq)]
pub enum AdmissionRefused {
    Unknown,
    Cancelled,
    AlreadyAdmitted(DateTime<Utc>),
    /// Too early: its products' admission opens then.
    NotOpen(DateTime<Utc>),
    /// Too late: its products' admission closed then.
    Closed(DateTime<Utc>),
    /// A product of it is admitted at this other venue.
    WrongVenue(String),
}

/// Whether the admission window is kept or a manager overrode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Enforced,
    Overridden,
}

/// Lets an order's holder in: records when, once, for an order that stands, at the
/// `venue` its products are admitted at (when the door names one), while their
/// admission is open (from the first opening to the last end, on the database's
/// clock, like sales ends) unless `window` is overridden, in which case the order
/// records that it was. The row is locked, so of two admissions at once (two copies
/// of one code at two doors) one waits for the other, and is refused.
pub async fn admit(
    pool: &PgPool,
    code: &Confirmation,
    venue: Option<&Venue>,
    window: Window,
) -> Result<Result<Order, AdmissionRefused>, Error> {
    let mut tx = pool.begin().await?;
    let Some(order) = lock_order(&mut tx, code).await? else {
        return Ok(Err(AdmissionRefused::Unknown));
    };
    if order.cancelled {
        return Ok(Err(AdmissionRefused::Cancelled));
    }
    if let Some(at) = order.admitted_at {
        return Ok(Err(AdmissionRefused::AlreadyAdmitted(at)));
    }
    let door = check_door(&mut tx, &order, venue).await?;
    if let Some(elsewhere) = door.elsewhere {
        return Ok(Err(AdmissionRefused::WrongVenue(elsewhere)));
    }
    let overridden = match (door.outside_window, window) {
        (Some(refused), Window::Enforced) => return Ok(Err(refused)),
        (outside, _) => outside.is_some(),
    };
    sqlx::query!(
        "UPDATE orders SET admitted_at = now(), admitted_by_override = $2 WHERE id = $1",
        order.id,
        overridden,
    )
    .execute(&mut *tx)
    .await?;
    let admitted = load_order(&mut tx, OrderKey::Id(order.id))
        .await?
        .ok_or_else(|| Error::unexpected(format!("order {} vanished", order.id)))?;
    tx.commit().await?;
    Ok(Ok(admitted))
}

/// What the door's rules say of an order now.
struct Door {
    /// The venue of a product admitted elsewhere than the door's.
    elsewhere: Option<String>,
    /// Too early or too late: before the first of its products' openings, or after
    /// the last of their ends. A product without a bound on a side leaves the order
    /// without one there.
    outside_window: Option<AdmissionRefused>,
}

async fn check_door(
    conn: &mut PgConnection,
    order: &LockedOrder,
    venue: Option<&Venue>,
) -> Result<Door, Error> {
    let products: Vec<i64> = order.lines.iter().map(|(id, _)| id.get()).collect();
    let rules = sqlx::query!(
        r#"SELECT CASE WHEN bool_and(p.admission_start IS NOT NULL)
                       THEN min(p.admission_start) END AS opens,
                  CASE WHEN bool_and(p.admission_end IS NOT NULL)
                       THEN max(p.admission_end) END AS closes,
                  min(p.admission_venue) FILTER (WHERE p.admission_venue <> $2) AS elsewhere,
                  now() AS "now!"
           FROM products p WHERE p.id = ANY($1)"#,
        &products,
        venue.map(Venue::as_str),
    )
    .fetch_one(conn)
    .await?;
    let outside_window = match (rules.opens, rules.closes) {
        (Some(opens), _) if rules.now < opens => Some(AdmissionRefused::NotOpen(opens)),
        (_, Some(closes)) if rules.now > closes => Some(AdmissionRefused::Closed(closes)),
        _ => None,
    };
    Ok(Door {
        elsewhere: rules.elsewhere,
        outside_window,
    })
}

/// Records a checkout whose payment was declined.
pub async fn record_declined_checkout(
    conn: &mut PgConnection,
    request_id: &RequestId,
    phone: Option<&Phone>,
    total_cents: i64,
    reason: &str,
) -> Result<(), Error> {
    let reason: String = reason.chars().take(500).collect();
    sqlx::query!(
        "INSERT INTO declined_checkouts (request_id, customer_phone, total_cents, reason)
         VALUES ($1, $2, $3, $4)",
        request_id.as_str(),
        phone.map(Phone::as_str),
        total_cents,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a promotion back the redemption a cancelled order used.
pub async fn restore_promotion(conn: &mut PgConnection, code: &str) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE promotions SET uses_remaining = uses_remaining + 1 WHERE code = $1",
        code,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Which order to load.
#[derive(Debug, Clone, Copy)]
pub enum OrderKey<'a> {
    Id(i64),
    Confirmation(&'a Confirmation),
}

struct OrderRow {
    id: i64,
    /// Whose items are the order's lines.
    hold_id: i64,
    confirmation_code: String,
    status: String,
    created_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    admitted_at: Option<DateTime<Utc>>,
    admitted_by_override: bool,
    cancelled_by_provider: bool,
    customer_phone: Option<String>,
    card_brand: Option<String>,
    card_last_four: Option<String>,
    card_exp_month: Option<i16>,
    card_exp_year: Option<i16>,
    paypal_email: Option<String>,
    promotion_code: Option<String>,
}

pub async fn load_order(
    conn: &mut PgConnection,
    key: OrderKey<'_>,
) -> Result<Option<Order>, Error> {
    let (id, code) = match key {
        OrderKey::Id(id) => (Some(id), None),
        OrderKey::Confirmation(code) => (None, Some(code.as_str())),
    };
    // The payment tables are outer-joined: `?` marks their columns nullable.
    let row = sqlx::query_as!(
        OrderRow,
        r#"SELECT o.id, o.hold_id, o.confirmation_code, o.status, o.created_at, o.cancelled_at,
                  o.admitted_at, o.admitted_by_override, o.cancelled_by_provider,
                  o.customer_phone::text AS "customer_phone?",
                  c.brand AS "card_brand?", c.last_four AS "card_last_four?",
                  c.expiration_month AS "card_exp_month?",
                  c.expiration_year AS "card_exp_year?",
                  pp.email AS "paypal_email?", pr.promotion_code AS "promotion_code?"
           FROM orders o
           LEFT JOIN credit_card_payments c ON c.id = o.credit_card_payment_id
           LEFT JOIN paypal_payments pp ON pp.id = o.paypal_payment_id
           LEFT JOIN promotional_payments pr ON pr.id = o.promotional_payment_id
           WHERE o.id = $1 OR o.confirmation_code = $2"#,
        id,
        code,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };

    // The hold's products by key, as in `load_hold`: joined by statistics alone, a young
    // catalogue was read whole for each order shown.
    let lines = sqlx::query!(
        "SELECT i.position, i.product_id, i.quantity, i.unit_price_cents, p.external_ref,
                p.description
         FROM hold_items i JOIN products p ON p.id = i.product_id
         WHERE i.hold_id = $1
           AND p.id = ANY (ARRAY(SELECT product_id FROM hold_items WHERE hold_id = $1))
         ORDER BY i.position",
        row.hold_id,
    )
    .fetch_all(conn)
    .await?;

    let corrupt = |what: &str| Error::Unexpected(anyhow::anyhow!("order {} has {what}", row.id));
    let payment = match (&row.card_brand, &row.paypal_email, &row.promotion_code) {
        (Some(brand), None, None) => PaymentSummary::CreditCard {
            brand: CardBrand::from_db(brand).ok_or_else(|| corrupt("an unknown card brand"))?,
            last_four: row.card_last_four.clone().unwrap_or_default(),
            expiry: Expiry::from_db(
                row.card_exp_month.unwrap_or_default(),
                row.card_exp_year.unwrap_or_default(),
            ),
        },
        (None, Some(email), None) => PaymentSummary::PayPal {
            email: email.clone(),
        },
        (None, None, Some(code)) => PaymentSummary::Promotion { code: code.clone() },
        _ => return Err(corrupt("not exactly one payment")),
    };
    Ok(Some(Order {
        confirmation: Confirmation::from_db(row.confirmation_code.clone()),
        status: OrderStatus::from_db(&row.status).ok_or_else(|| corrupt("an unknown status"))?,
        lines: lines
            .into_iter()
            .map(|l| PricedLine {
                position: l.position as u32,
                product_id: ProductId::from_db(l.product_id),
                quantity: l.quantity,
                unit_price_cents: l.unit_price_cents,
                external_ref: l.external_ref,
                description: l.description,
            })
            .collect(),
        payment,
        created_at: row.created_at,
        cancelled_at: row.cancelled_at,
        cancelled_by_provider: row.cancelled_by_provider,
        admitted: row.admitted_at.map(|at| Admission {
            at,
            overridden: row.admitted_by_override,
        }),
        phone: row.customer_phone.map(Phone::from_db),
    }))
}

/// Loads an order outside any transaction.
pub async fn get_order(pool: &PgPool, code: &Confirmation) -> Result<Option<Order>, Error> {
    let mut conn = pool.acquire().await?;
    load_order(&mut conn, OrderKey::Confirmation(code)).await
}

/// What `insert_confirmed_order` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmInsert {
    Placed {
        order_id: i64,
        created_at: DateTime<Utc>,
    },
    /// The confirmation code is taken: draw another and try again.
    CodeTaken,
    /// The hold is no longer active (expired, released, or paid by another request).
    HoldGone,
    /// The promotion has no uses left (or was deactivated) since it was checked.
    PromotionRefused,
}

/// Writes a paid order in one statement: the hold confirmed and its units moved from
/// held to sold, the promotion redemption (for promotions), the payment row, the order
/// (whose lines are the hold's items), the authorization marked captured, and `text`
/// queued (and announced) for the customer.
///
/// `HoldGone` and `CodeTaken` write nothing, so for one product paid by card or PayPal
/// the statement needs no transaction. Otherwise run it in one and roll back unless
/// `Placed`: a promotion used up meanwhile leaves the hold confirmed, and with more
/// than one product, lock them first ([`super::lock_in_order`]). The statement itself
/// locks the hold's products before the hold row, as every writer does.
#[allow(clippy::too_many_arguments)]
pub async fn insert_confirmed_order(
    conn: &mut PgConnection,
    confirmation: &Confirmation,
    request_id: &RequestId,
    fingerprint: &Fingerprint,
    phone: Option<&Phone>,
    method: &PaymentMethod,
    authorization: &Authorization,
    hold: i64,
    text: Option<&NewRow>,
) -> Result<ConfirmInsert, Error> {
    let (kind, card, email, promotion) = match method {
        PaymentMethod::CreditCard(card) => ("card", Some(card), None, None),
        PaymentMethod::PayPal(email) => ("paypal", None, Some(email.as_str()), None),
        PaymentMethod::Promotion(code) => ("promotion", None, None, Some(code.as_str())),
    };
    let address = card.map(|c| &c.billing_address);
    let fingerprint = fingerprint.as_bytes().as_slice();
    let row = sqlx::query!(
        r#"WITH locked AS (
             -- The hold's products first, in id order, as every writer takes them:
             -- confirming gives the hold row a new version under its request id, and
             -- a retry of the same request, holding a product while its own hold
             -- waits to see whether that key is taken, would otherwise deadlock.
             -- The ids as an array: the planner then expects a handful and finds
             -- them by key. As a join it guessed the hold's items from hold_items'
             -- statistics, and on young tables hashed it, reading every product.
             SELECT p.id FROM products p
             WHERE p.id = ANY (ARRAY(SELECT product_id FROM hold_items WHERE hold_id = $18))
             ORDER BY p.id FOR UPDATE OF p
         ),
         confirmed AS (
             UPDATE holds SET status = 'confirmed', ended_at = now()
             WHERE id = $18 AND status = 'active' AND expires_at > now()
               AND (SELECT count(*) FROM locked) > 0
             RETURNING id
         ),
         sold AS (
             UPDATE products p SET quantity_held = p.quantity_held - i.quantity
             FROM hold_items i JOIN confirmed c ON c.id = i.hold_id
             WHERE p.id = i.product_id
         ),
         redeemed AS (
             UPDATE promotions SET uses_remaining = uses_remaining - 1
             WHERE $1 = 'promotion' AND code = $13 AND active AND uses_remaining > 0
               AND EXISTS (SELECT 1 FROM confirmed)
             RETURNING code
         ),
         card AS (
             INSERT INTO credit_card_payments
                 (brand, last_four, expiration_month, expiration_year, billing_line_1,
                  billing_line_2, billing_city, billing_state, billing_zip, authorization_code)
             SELECT $2::text, $3::text, $4::smallint, $5::smallint, $6::text, $7::text,
                    $8::text, $9::text, $10::text, $11::text
             WHERE $1 = 'card' AND EXISTS (SELECT 1 FROM confirmed)
             RETURNING id
         ),
         paypal AS (
             INSERT INTO paypal_payments (email, authorization_code)
             SELECT $12::text, $11::text
             WHERE $1 = 'paypal' AND EXISTS (SELECT 1 FROM confirmed)
             RETURNING id
         ),
         promo AS (
             INSERT INTO promotional_payments (promotion_code)
             SELECT code FROM redeemed
             RETURNING id
         ),
         placed AS (
             INSERT INTO orders
                 (confirmation_code, request_id, request_fingerprint, customer_phone,
                  credit_card_payment_id, paypal_payment_id, promotional_payment_id, hold_id)
             SELECT $14::text, $15::text, $16::bytea, $17::text,
                    (SELECT id FROM card), (SELECT id FROM paypal), (SELECT id FROM promo),
                    $18::bigint
             WHERE num_nonnulls((SELECT id FROM card), (SELECT id FROM paypal),
                                (SELECT id FROM promo)) = 1
             RETURNING id, created_at
         ),
         captured AS (
             UPDATE payment_authorizations
             SET status = 'captured', authorization_code = $11::text, updated_at = now()
             WHERE request_id = $15 AND EXISTS (SELECT 1 FROM placed)
         ),
         texted AS (
             INSERT INTO outbox (kind, payload)
             SELECT $19::text, $20::jsonb FROM placed WHERE $19::text IS NOT NULL
             RETURNING id
         ),
         -- As outbox::enqueue announces, delivered at commit (pg_notify is volatile, so
         -- the CTE is never inlined away).
         announced AS (
             SELECT pg_notify($21::text, '') FROM texted
         )
         SELECT EXISTS (SELECT 1 FROM confirmed) AS "confirmed!",
                (SELECT id FROM placed) AS order_id,
                (SELECT created_at FROM placed) AS created_at,
                (SELECT count(*) FROM redeemed) AS "redeemed!",
                (SELECT count(*) FROM announced) AS "announced!""#,
        kind,
        card.map(|c| c.brand.as_str()),
        card.map(|c| c.number.last_four()),
        card.map(|c| i16::from(c.expiry.month())),
        card.map(|c| c.expiry.year() as i16),
        address.map(|a| a.line_1.as_str()),
        address.and_then(|a| a.line_2.as_deref()),
        address.map(|a| a.city.as_str()),
        address.map(|a| a.state.as_str()),
        address.map(|a| a.zip.as_str()),
        &authorization.code,
        email,
        promotion,
        confirmation.as_str(),
        request_id.as_str(),
        fingerprint,
        phone.map(Phone::as_str),
        hold,
        text.map(|t| t.kind),
        text.map(|t| &t.payload),
        super::outbox::OUTBOX_CHANNEL,
    )
    .fetch_one(conn)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(e) if is_constraint_violation(&e, CONFIRMATION_CODE_TAKEN) => {
            return Ok(ConfirmInsert::CodeTaken);
        }
        Err(e) => return Err(e.into()),
    };
    if !row.confirmed {
        return Ok(ConfirmInsert::HoldGone);
    }
    Ok(match (row.order_id, row.created_at) {
        (Some(order_id), Some(created_at)) => ConfirmInsert::Placed {
            order_id,
            created_at,
        },
        // Confirmed but not placed: only a promotion that could not be redeemed.
        _ if promotion.is_some() && row.redeemed == 0 => ConfirmInsert::PromotionRefused,
        _ => return Err(Error::unexpected("a confirmed hold placed no order")),
    })
}

/// Whether a promotion could pay now (checked before authorizing; redeemed at confirm).
pub async fn check_promotion(
    conn: &mut PgConnection,
    code: &PromoCode,
) -> Result<Result<(), PromotionRefused>, Error> {
    let state = sqlx::query!(
        "SELECT active, uses_remaining FROM promotions WHERE code = $1",
        code.as_str(),
    )
    .fetch_optional(conn)
    .await?;
    Ok(match state.map(|p| (p.active, p.uses_remaining)) {
        None => Err(PromotionRefused::Unknown),
        Some((false, _)) => Err(PromotionRefused::Inactive),
        Some((true, 0)) => Err(PromotionRefused::UsedUp),
        Some(_) => Ok(()),
    })
}

/// The codes of the orders of `product` that still stand, oldest first.
pub async fn standing_orders_of(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<Vec<Confirmation>, Error> {
    let codes = sqlx::query_scalar!(
        "SELECT o.confirmation_code FROM orders o
         WHERE o.status = 'placed'
           AND o.hold_id IN (SELECT hold_id FROM hold_items WHERE product_id = $1)
         ORDER BY o.id",
        product.get(),
    )
    .fetch_all(conn)
    .await?;
    Ok(codes.into_iter().map(Confirmation::from_db).collect())
}

/// How many orders of `product` were cancelled because it was withdrawn.
pub async fn withdrawn_orders_of(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders o
           WHERE o.cancelled_by_provider
             AND o.hold_id IN (SELECT hold_id FROM hold_items WHERE product_id = $1)"#,
        product.get(),
    )
    .fetch_one(conn)
    .await?)
}
