//! Placing an order: the one flow that spans the store and the payment processor.
//!
//! Everything happens in one transaction, so an order is all or nothing:
//!
//! 1. lock the request id (racing retries queue up behind each other) and return the
//!    order already placed under it, if any;
//! 2. lock the products' rows in ascending id order (no deadlocks) and check stock;
//! 3. check what the payment needs from the database (billing ZIP, promotion);
//! 4. ask the payment processor to authorize the total;
//! 5. take the stock, write the payment, the order and its line items, commit.
//!
//! Any error before the commit rolls everything back: no stock is taken, no promotion
//! is used up, and no row is written.

use std::sync::Arc;

use crate::domain::{Confirmation, Order, OrderDraft, PaymentMethod, PricedLine, RequestId};
use crate::error::Error;
use crate::payments::PaymentProcessor;
use crate::store::outbox::{self, AvailabilityEvent, Kind};
use crate::store::{self, OrderKey, PromotionRefused, StockChange};
use crate::texts;

/// How many confirmation codes to draw before giving up; with 2^50 codes a second
/// draw is already astronomically rare.
const CONFIRMATION_ATTEMPTS: usize = 5;

#[derive(Debug, Clone)]
pub struct Checkout {
    pool: sqlx::PgPool,
    processor: Arc<dyn PaymentProcessor>,
    /// Whether customers who gave a phone number are texted (SMS is configured).
    texts: bool,
}

impl Checkout {
    pub fn new(pool: sqlx::PgPool, processor: Arc<dyn PaymentProcessor>, texts: bool) -> Self {
        Self {
            pool,
            processor,
            texts,
        }
    }

    #[tracing::instrument(skip_all, fields(request_id = draft.request_id.as_str()))]
    pub async fn place_order(&self, draft: &OrderDraft) -> Result<Order, Error> {
        let fingerprint = draft.fingerprint();
        let mut tx = self.pool.begin().await?;

        store::lock_request_id(&mut tx, &draft.request_id).await?;
        if let Some((order_id, stored)) =
            store::find_by_request_id(&mut tx, &draft.request_id).await?
        {
            if stored != fingerprint {
                return Err(Error::Conflict(format!(
                    "request_id {:?} was already used for a different order; \
                     use a new request_id for a new order",
                    draft.request_id.as_str()
                )));
            }
            tracing::info!("replaying the order already placed for this request id");
            return store::load_order(&mut tx, OrderKey::Id(order_id))
                .await?
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("order {order_id} vanished")));
        }

        let lines = self.price_and_check_stock(&mut tx, draft).await?;
        let total: i64 = lines
            .iter()
            .try_fold(0i64, |sum, line| {
                line.quantity
                    .checked_mul(line.unit_price_cents)
                    .and_then(|price| sum.checked_add(price))
            })
            .ok_or_else(|| Error::failed_precondition("the order total is too large"))?;

        match &draft.payment {
            PaymentMethod::CreditCard(card) => {
                let zip = &card.billing_address.zip;
                if !store::zip_exists(&mut tx, zip).await? {
                    return Err(crate::domain::ValidationError::new(format!(
                        "billing ZIP code {} is not a known US ZIP code",
                        zip.as_str()
                    ))
                    .into());
                }
            }
            PaymentMethod::Promotion(code) => match store::redeem_promotion(&mut tx, code).await? {
                Ok(()) => {}
                Err(PromotionRefused::Unknown) => {
                    return Err(Error::not_found(format!(
                        "promotion code {} does not exist",
                        code.as_str()
                    )));
                }
                Err(PromotionRefused::Inactive) => {
                    return Err(Error::failed_precondition(format!(
                        "promotion code {} is no longer active",
                        code.as_str()
                    )));
                }
                Err(PromotionRefused::UsedUp) => {
                    return Err(Error::failed_precondition(format!(
                        "promotion code {} has no uses left",
                        code.as_str()
                    )));
                }
            },
            PaymentMethod::PayPal(_) => {}
        }

        let authorization = match self.processor.authorize(&draft.payment, total).await {
            Ok(authorization) => authorization,
            Err(decline) => {
                tracing::info!(reason = %decline, "payment declined");
                // Nothing of the order stays; the decline itself is recorded, with the
                // customer's text, in a transaction of its own.
                tx.rollback().await?;
                self.record_decline(draft, total, &decline.reason).await?;
                return Err(Error::failed_precondition(format!(
                    "payment declined: {decline}"
                )));
            }
        };

        let taken: Vec<_> = lines.iter().map(|l| (l.product_id, -l.quantity)).collect();
        let changes = store::change_stock(&mut tx, &taken).await?;
        // The row locks make this transaction the only one that can take these
        // products to zero: one sold-out event per sell-out, however many buyers race.
        enqueue_availability_events(&mut tx, &changes).await?;
        let payment = store::insert_payment(&mut tx, &draft.payment, &authorization).await?;

        let mut order_id = None;
        for _ in 0..CONFIRMATION_ATTEMPTS {
            let code = Confirmation::generate(&mut rand::rng());
            order_id = store::insert_order(
                &mut tx,
                &code,
                &draft.request_id,
                &fingerprint,
                draft.phone.as_ref(),
                payment,
            )
            .await?;
            if order_id.is_some() {
                break;
            }
            tracing::warn!("confirmation code collision; drawing another");
        }
        let order_id = order_id.ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "no free confirmation code after {CONFIRMATION_ATTEMPTS} draws"
            ))
        })?;
        store::insert_line_items(&mut tx, order_id, &lines).await?;

        let order = store::load_order(&mut tx, OrderKey::Id(order_id))
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("order {order_id} vanished")))?;
        if let (true, Some(phone)) = (self.texts, &draft.phone) {
            // Queued with the order, sent later: the order never waits for a gateway.
            outbox::enqueue_sms(&mut tx, phone, &texts::order_confirmed(&order)).await?;
        }
        tx.commit().await?;
        tracing::info!(confirmation = %order.confirmation, total_cents = total, "order placed");
        Ok(order)
    }

    async fn record_decline(
        &self,
        draft: &OrderDraft,
        total: i64,
        reason: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        store::record_declined_checkout(
            &mut tx,
            &draft.request_id,
            draft.phone.as_ref(),
            total,
            reason,
        )
        .await?;
        if let (true, Some(phone)) = (self.texts, &draft.phone) {
            outbox::enqueue_sms(&mut tx, phone, &texts::checkout_declined(total, reason)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Cancels an order: returns its stock and its promotion use, and tells providers
    /// about products that are available again. Cancelling twice returns the same
    /// cancelled order.
    #[tracing::instrument(skip_all, fields(confirmation = %code))]
    pub async fn cancel_order(
        &self,
        code: &Confirmation,
        request_id: &RequestId,
    ) -> Result<Order, Error> {
        let mut tx = self.pool.begin().await?;
        let order = store::lock_order(&mut tx, code)
            .await?
            .ok_or_else(|| Error::not_found(format!("no order with confirmation {code}")))?;
        if !order.cancelled {
            let ids: Vec<_> = order.lines.iter().map(|(id, _)| *id).collect();
            // Same lock order as checkout: ascending product id.
            store::lock_products(&mut tx, &ids).await?;
            let changes = store::change_stock(&mut tx, &order.lines).await?;
            enqueue_availability_events(&mut tx, &changes).await?;
            if let Some(promotion) = &order.promotion {
                store::restore_promotion(&mut tx, promotion).await?;
            }
            store::mark_cancelled(&mut tx, order.id, request_id).await?;
            tracing::info!("order cancelled");
        }
        let cancelled = store::load_order(&mut tx, OrderKey::Id(order.id))
            .await?
            .ok_or_else(|| Error::unexpected(format!("order {} vanished", order.id)))?;
        tx.commit().await?;
        Ok(cancelled)
    }

    /// Locks the order's products and prices its lines at today's prices, refusing the
    /// whole order if any product is unknown or short.
    async fn price_and_check_stock(
        &self,
        conn: &mut sqlx::PgConnection,
        draft: &OrderDraft,
    ) -> Result<Vec<PricedLine>, Error> {
        let locked = store::lock_products(conn, &draft.lines.product_ids_sorted()).await?;
        let missing: Vec<String> = draft
            .lines
            .iter()
            .filter(|line| !locked.iter().any(|p| p.id == line.product_id))
            .map(|line| line.product_id.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(Error::not_found(format!(
                "unknown product id(s): {}",
                missing.join(", ")
            )));
        }
        let mut lines = Vec::new();
        for (index, line) in draft.lines.iter().enumerate() {
            let product = locked
                .iter()
                .find(|p| p.id == line.product_id)
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("locked product vanished")))?;
            if product.remaining < line.quantity {
                return Err(Error::OutOfStock(format!(
                    "product {} has {} left; {} requested",
                    product.id, product.remaining, line.quantity
                )));
            }
            lines.push(PricedLine {
                position: index as u32 + 1,
                product_id: product.id,
                quantity: line.quantity,
                unit_price_cents: product.price_cents,
            });
        }
        Ok(lines)
    }
}

/// Writes an outbox event for every product of a provider that this transaction sold
/// out or brought back into stock.
async fn enqueue_availability_events(
    conn: &mut sqlx::PgConnection,
    changes: &[StockChange],
) -> Result<(), Error> {
    for change in changes {
        let Some(provider) = change.provider else {
            continue;
        };
        let kind = if change.sold_out() {
            Kind::ProductSoldOut
        } else if change.back_in_stock() {
            Kind::ProductAvailable
        } else {
            continue;
        };
        outbox::enqueue(
            conn,
            &AvailabilityEvent {
                kind,
                provider,
                product: change.product,
                external_ref: change.external_ref.clone(),
                remaining: change.remaining,
            },
        )
        .await?;
    }
    Ok(())
}
