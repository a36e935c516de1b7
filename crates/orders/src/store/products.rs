use sqlx::PgPool;

use super::is_foreign_key_violation;
use crate::domain::{CallbackEndpoint, NewProduct, ProductId, ProviderId, ProviderName, Venue};
use crate::error::Error;

/// Registers a provider, or updates the endpoint of the one with the same name.
pub async fn upsert_provider(
    pool: &PgPool,
    name: &ProviderName,
    endpoint: &CallbackEndpoint,
) -> Result<ProviderId, Error> {
    let id: i64 = sqlx::query_scalar!(
        "INSERT INTO providers (name, callback_endpoint) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE
             SET callback_endpoint = excluded.callback_endpoint, updated_at = now()
         RETURNING id",
        name.as_str(),
        endpoint.as_str(),
    )
    .fetch_one(pool)
    .await?;
    Ok(ProviderId::from_db(id))
}

/// The result of an idempotent AddProduct.
#[derive(Debug, PartialEq, Eq)]
pub enum AddedProduct {
    /// A new product, or the existing one registered earlier with the same values.
    Added(ProductId),
    /// The (provider, external_ref) pair is taken by a product with other values.
    Conflict(ProductId),
}

pub async fn add_product(pool: &PgPool, product: &NewProduct) -> Result<AddedProduct, Error> {
    let (provider_id, external_ref) = match &product.provider {
        Some((provider, external_ref)) => (
            Some(provider.get()),
            external_ref.as_ref().map(|r| r.as_str()),
        ),
        None => (None, None),
    };
    let inserted: Option<i64> = sqlx::query_scalar!(
        "INSERT INTO products
             (description, price_cents, quantity_total, quantity_remaining, provider_id,
              external_ref, sales_end, admission_start, admission_end, admission_venue)
         VALUES ($1::text, $2::bigint, $3::bigint, $3, $4, $5::text, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT products_provider_external_ref_key DO NOTHING
         RETURNING id",
        product.description.as_str(),
        product.price.get(),
        product.quantity.get(),
        provider_id,
        external_ref,
        product.sales_end,
        product.admission.start(),
        product.admission.end(),
        product.venue.as_ref().map(Venue::as_str),
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| {
        if is_foreign_key_violation(&e) {
            let provider = provider_id.unwrap_or_default();
            Error::not_found(
                "provider",
                provider,
                format!("provider {provider} is not registered"),
            )
        } else {
            e.into()
        }
    })?;
    if let Some(id) = inserted {
        return Ok(AddedProduct::Added(ProductId::from_db(id)));
    }

    // The pair exists: a provider retrying after a timeout gets its product back, and a
    // different product under the same reference is refused.
    let existing = sqlx::query!(
        "SELECT id, description, price_cents, quantity_total, sales_end, admission_start,
                admission_end, admission_venue
         FROM products
         WHERE provider_id = $1 AND external_ref = $2",
        provider_id,
        external_ref,
    )
    .fetch_one(pool)
    .await?;
    let id = ProductId::from_db(existing.id);
    let same = existing.description == product.description.as_str()
        && existing.price_cents == product.price.get()
        && existing.quantity_total == product.quantity.get();
    // The door's rules (when, where) are one: all of them or none are on record.
    let stored_door = (
        existing.admission_start,
        existing.admission_end,
        existing.admission_venue.as_deref(),
    );
    let asked_door = (
        product.admission.start(),
        product.admission.end(),
        product.venue.as_ref().map(Venue::as_str),
    );
    // Registered before products had a sales end or the door's rules (a provider
    // retrying across the upgrade): the retry supplies what is missing. What is on
    // record must be asked for again as it is.
    let compatible = same
        && (existing.sales_end.is_none() || existing.sales_end == product.sales_end)
        && (stored_door == (None, None, None) || stored_door == asked_door);
    if !compatible {
        return Ok(AddedProduct::Conflict(id));
    }
    if existing.sales_end != product.sales_end || stored_door != asked_door {
        // Compatible, so what was asked is what is on record, or fills its gaps.
        sqlx::query!(
            "UPDATE products
             SET sales_end = $2, admission_start = $3, admission_end = $4, admission_venue = $5
             WHERE id = $1",
            existing.id,
            product.sales_end,
            product.admission.start(),
            product.admission.end(),
            product.venue.as_ref().map(Venue::as_str),
        )
        .execute(pool)
        .await?;
    }
    Ok(AddedProduct::Added(id))
}

/// Available and held units of each product that exists, in no particular order.
pub async fn availability(
    pool: &PgPool,
    ids: &[ProductId],
) -> Result<Vec<(ProductId, i64, i64)>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows = sqlx::query!(
        "SELECT id, quantity_remaining, quantity_held FROM products WHERE id = ANY($1)",
        &ids,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                ProductId::from_db(r.id),
                r.quantity_remaining,
                r.quantity_held,
            )
        })
        .collect())
}

/// Withdraws a product: its sales end now (unless they already have), and it is
/// marked withdrawn, once. Returns when it was first withdrawn; `None` for an unknown
/// product. The row is updated, so a hold or a confirmation of it running now
/// finishes first or sees the end of its sales.
pub async fn withdraw_product(
    conn: &mut sqlx::PgConnection,
    id: ProductId,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE products
           SET sales_end = least(coalesce(sales_end, now()), now()),
               withdrawn_at = coalesce(withdrawn_at, now())
           WHERE id = $1
           RETURNING withdrawn_at AS "withdrawn_at!""#,
        id.get(),
    )
    .fetch_optional(conn)
    .await?)
}

/// What one product sold: `GetSales`' figures, money in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSales {
    pub id: ProductId,
    pub description: String,
    pub quantity_total: i64,
    pub available: i64,
    pub held: i64,
    pub orders: i64,
    pub sold: i64,
    pub admitted_orders: i64,
    pub admitted: i64,
    pub promotional: i64,
    pub takings_cents: i64,
    pub cancelled_orders: i64,
    pub cancelled: i64,
    pub refunded_cents: i64,
    pub withdrawn_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How each of `ids` sold, in one statement; unknown ids are left out.
///
/// An order's lines are its hold's items, which have no index by product: one would
/// cost every order another index entry on the checkout's path, for a report an
/// operator asks for now and then. So this reads `hold_items` once for all the
/// products asked about, rather than once per product.
pub async fn sales(pool: &PgPool, ids: &[ProductId]) -> Result<Vec<ProductSales>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows = sqlx::query!(
        r#"WITH lines AS (
               SELECT i.product_id, i.quantity, i.quantity * i.unit_price_cents AS cents,
                      o.status = 'placed' AS standing, o.admitted_at IS NOT NULL AS admitted,
                      o.promotional_payment_id IS NOT NULL AS promotional
               FROM hold_items i
               JOIN orders o ON o.hold_id = i.hold_id
               WHERE i.product_id = ANY($1)
           )
           SELECT p.id, p.description, p.quantity_total, p.quantity_remaining,
                  p.quantity_held, p.withdrawn_at,
                  count(l.product_id) FILTER (WHERE l.standing) AS "orders!",
                  coalesce(sum(l.quantity) FILTER (WHERE l.standing), 0)::bigint AS "sold!",
                  count(l.product_id) FILTER (WHERE l.standing AND l.admitted)
                      AS "admitted_orders!",
                  coalesce(sum(l.quantity) FILTER (WHERE l.standing AND l.admitted), 0)::bigint
                      AS "admitted!",
                  coalesce(sum(l.quantity) FILTER (WHERE l.standing AND l.promotional), 0)::bigint
                      AS "promotional!",
                  coalesce(sum(l.cents) FILTER (WHERE l.standing AND NOT l.promotional), 0)::bigint
                      AS "takings_cents!",
                  count(l.product_id) FILTER (WHERE NOT l.standing) AS "cancelled_orders!",
                  coalesce(sum(l.quantity) FILTER (WHERE NOT l.standing), 0)::bigint
                      AS "cancelled!",
                  coalesce(sum(l.cents) FILTER (WHERE NOT l.standing AND NOT l.promotional), 0)::bigint
                      AS "refunded_cents!"
           FROM products p
           LEFT JOIN lines l ON l.product_id = p.id
           WHERE p.id = ANY($1)
           GROUP BY p.id"#,
        &ids,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ProductSales {
            id: ProductId::from_db(r.id),
            description: r.description,
            quantity_total: r.quantity_total,
            available: r.quantity_remaining,
            held: r.quantity_held,
            orders: r.orders,
            sold: r.sold,
            admitted_orders: r.admitted_orders,
            admitted: r.admitted,
            promotional: r.promotional,
            takings_cents: r.takings_cents,
            cancelled_orders: r.cancelled_orders,
            cancelled: r.cancelled,
            refunded_cents: r.refunded_cents,
            withdrawn_at: r.withdrawn_at,
        })
        .collect())
}
