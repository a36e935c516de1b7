//! Holds and payment authorizations.
//!
//! Units of a product are available (`quantity_remaining`), held (`quantity_held`) or
//! sold. Every statement that changes them touches each product row once, and a
//! statement touching several products first locks them in ascending id order, like
//! every other writer, so no two transactions can deadlock.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::StockChange;
use crate::domain::{
    Confirmation, Fingerprint, Hold, HoldDraft, HoldId, HoldStatus, PricedLine, ProductId,
    ProviderId,
};
use crate::error::Error;

const UNIQUE_VIOLATION: &str = "23505";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == UNIQUE_VIOLATION)
}

/// The hold already made under this idempotency key, and what it was asked for.
pub async fn find_hold_by_key(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<(i64, Fingerprint)>, Error> {
    let row = sqlx::query!(
        "SELECT id, request_fingerprint FROM holds WHERE request_id = $1",
        key,
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Fingerprint::from_db(&r.request_fingerprint)
            .map(|fp| (r.id, fp))
            .ok_or_else(|| Error::unexpected(format!("hold {} has a malformed fingerprint", r.id)))
    })
    .transpose()
}

/// Locks product rows in ascending id order (see the module doc). Needed only before a
/// statement that changes more than one product; `ids` need not be sorted.
pub async fn lock_in_order(conn: &mut PgConnection, ids: &[i64]) -> Result<(), Error> {
    if ids.len() > 1 {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        sqlx::query!(
            "SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &ids,
        )
        .fetch_all(conn)
        .await?;
    }
    Ok(())
}

/// The authorization a PlaceOrder claims with the hold it makes for itself (see
/// [`claim_authorization`]), in the same statement.
#[derive(Debug, Clone, Copy)]
pub struct ClaimFor<'a> {
    pub request_id: &'a str,
    pub lease: std::time::Duration,
    pub claimed_by: uuid::Uuid,
}

/// What `insert_hold` did.
#[derive(Debug)]
pub enum HoldInsert {
    /// The hold exists, as written (with the sold-out rows it called for). `claimed`:
    /// the [`ClaimFor`] asked for is this request's now (if one was asked for).
    Held { id: i64, hold: Hold, claimed: bool },
    /// Some product is unknown, has too few units available or is no longer on sale;
    /// nothing was taken and the caller must roll back.
    Short,
    /// Another request with the same key made its hold first; roll back and load it.
    Raced,
}

/// Moves each line's units from available to held and records the hold, priced now,
/// until `expires_at` or the end of its products' sales, whichever comes first,
/// with `claim`'s authorization claim for its total if given, and a sold-out outbox row
/// (announced) for each product of a provider it takes to zero. The `WHERE
/// quantity_remaining >= n` is the oversell guard; a line it skips makes the whole hold
/// `Short`, as does a product whose sales have ended.
///
/// One statement: with a single line it is all or nothing by itself and needs no
/// transaction. With several, lock them first ([`lock_in_order`]) in a transaction, and
/// roll it back unless `Held`: a short line leaves the others' units taken.
pub async fn insert_hold(
    conn: &mut PgConnection,
    id: HoldId,
    draft: &HoldDraft,
    expires_at: DateTime<Utc>,
    claim: Option<ClaimFor<'_>>,
) -> Result<HoldInsert, Error> {
    let lines: Vec<_> = draft.lines.iter().collect();
    let products: Vec<i64> = lines.iter().map(|l| l.product_id.get()).collect();
    let quantities: Vec<i64> = lines.iter().map(|l| l.quantity).collect();
    let positions: Vec<i32> = (1..=lines.len() as i32).collect();
    let fingerprint = draft.fingerprint();
    // Columns of a CTE carry no nullability: the `!` says what the schema guarantees.
    let result = sqlx::query!(
        r#"WITH taken AS (
             UPDATE products p
             SET quantity_remaining = p.quantity_remaining - t.quantity,
                 quantity_held = p.quantity_held + t.quantity
             FROM hold_lines($1::bigint[], $2::bigint[], $3::int[]) AS t
             WHERE p.id = t.id AND p.quantity_remaining >= t.quantity
               AND (p.sales_end IS NULL OR p.sales_end > now())
             RETURNING p.id, p.quantity_remaining, t.quantity, t.position, p.price_cents,
                       p.provider_id, p.external_ref, p.sales_end, p.description
         ),
         -- Held no longer than the products are on sale (least() skips NULLs).
         hold AS (
             INSERT INTO holds (public_id, request_id, request_fingerprint, expires_at)
             SELECT $4::uuid, $5::text, $6::bytea,
                    least($7::timestamptz, (SELECT min(sales_end) FROM taken))
             WHERE (SELECT count(*) FROM taken) = $8
             RETURNING id, expires_at
         ),
         items AS (
             INSERT INTO hold_items (hold_id, position, product_id, quantity, unit_price_cents)
             SELECT hold.id, taken.position, taken.id, taken.quantity, taken.price_cents
             FROM hold, taken
         ),
         -- As claim_authorization, for a hold that exists only from this statement on.
         claim AS (
             INSERT INTO payment_authorizations (request_id, hold_id, amount_cents, claimed_by)
             SELECT $9::text, hold.id,
                    (SELECT sum(taken.quantity * taken.price_cents) FROM taken), $10::uuid
             FROM hold WHERE $9::text IS NOT NULL
             ON CONFLICT (request_id) DO UPDATE
                 SET status = 'pending', hold_id = EXCLUDED.hold_id,
                     amount_cents = EXCLUDED.amount_cents, updated_at = now(),
                     authorization_code = NULL, claimed_by = EXCLUDED.claimed_by
                 WHERE payment_authorizations.status IN ('declined', 'voided')
                    OR (payment_authorizations.status = 'pending'
                        AND payment_authorizations.updated_at
                            < now() - make_interval(secs => $11::float8))
             RETURNING id
         ),
         -- Message::SoldOut's row (CallbackPayload's shape), for a hold that exists.
         sold_out AS (
             INSERT INTO outbox (kind, provider_id, product_id, payload)
             SELECT 'product_sold_out', taken.provider_id, taken.id,
                    jsonb_build_object('external_ref', taken.external_ref, 'remaining', 0,
                                       'traceparent', $12::text)
             FROM taken
             WHERE taken.quantity_remaining = 0 AND taken.provider_id IS NOT NULL
               AND EXISTS (SELECT 1 FROM hold)
             RETURNING id
         ),
         -- Announced as enqueue does, delivered at commit: one notification however
         -- many rows (pg_notify is volatile, so the CTE is never inlined away).
         announced AS (
             SELECT pg_notify($13::text, '') FROM (SELECT 1 FROM sold_out LIMIT 1) AS any_row
         )
         SELECT taken.id AS "id!", taken.quantity AS "quantity!",
                taken.external_ref AS "external_ref?", taken.description AS "description!",
                (SELECT id FROM hold) AS "hold_id?",
                (SELECT expires_at FROM hold) AS "expires_at?",
                taken.position AS "position!", taken.price_cents AS "unit_price_cents!",
                EXISTS (SELECT 1 FROM claim) AS "claimed!",
                (SELECT count(*) FROM announced) AS "announced!"
         FROM taken"#,
        &products,
        &quantities,
        &positions,
        id.get(),
        &draft.key,
        fingerprint.as_bytes().as_slice(),
        expires_at,
        lines.len() as i64,
        claim.map(|c| c.request_id),
        claim.map(|c| c.claimed_by),
        claim.map_or(0.0, |c| c.lease.as_secs_f64()),
        cinema_service::telemetry::current_traceparent(),
        super::outbox::OUTBOX_CHANNEL,
    )
    .fetch_all(conn)
    .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) if is_unique_violation(&e) => return Ok(HoldInsert::Raced),
        Err(e) => return Err(e.into()),
    };
    let Some(internal) = rows.first().and_then(|r| r.hold_id) else {
        return Ok(HoldInsert::Short);
    };
    let claimed = rows.first().is_some_and(|r| r.claimed);
    let expires_at = rows
        .first()
        .and_then(|r| r.expires_at)
        .unwrap_or(expires_at);
    // Built from what the statement wrote, not read back.
    let mut lines: Vec<PricedLine> = rows
        .iter()
        .map(|r| PricedLine {
            position: r.position as u32,
            product_id: ProductId::from_db(r.id),
            quantity: r.quantity,
            unit_price_cents: r.unit_price_cents,
            external_ref: r.external_ref.clone(),
            description: r.description.clone(),
        })
        .collect();
    lines.sort_by_key(|l| l.position);
    Ok(HoldInsert::Held {
        id: internal,
        hold: Hold {
            id,
            status: HoldStatus::Active,
            order: None,
            lines,
            expires_at,
        },
        claimed,
    })
}

/// What a product offers a hold now, for explaining a `Short`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSale {
    NoSuchProduct,
    Ended,
    Available(i64),
}

/// Each product's [`OnSale`], in the order given.
pub async fn on_sale(
    conn: &mut PgConnection,
    ids: &[ProductId],
) -> Result<Vec<(ProductId, OnSale)>, Error> {
    let raw: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows = sqlx::query!(
        r#"SELECT t.id AS "id!", p.quantity_remaining AS "available?",
                  p.sales_end <= now() AS "ended?"
           FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, position)
           LEFT JOIN products p ON p.id = t.id
           ORDER BY t.position"#,
        &raw,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let on_sale = match (r.available, r.ended) {
                (None, _) => OnSale::NoSuchProduct,
                (Some(_), Some(true)) => OnSale::Ended,
                (Some(left), _) => OnSale::Available(left),
            };
            (ProductId::from_db(r.id), on_sale)
        })
        .collect())
}

/// Which hold to load.
#[derive(Debug, Clone, Copy)]
pub enum HoldKey {
    Internal(i64),
    Public(HoldId),
}

/// A hold with its items, and its internal id.
///
/// Its products are looked up by key (their ids as an array, as in [`end_hold`]): as a
/// plain join, planned without statistics, the planner guessed hundreds of items per
/// hold and read the whole catalogue to show one.
pub async fn load_hold(
    conn: &mut PgConnection,
    key: HoldKey,
) -> Result<Option<(i64, Hold)>, Error> {
    let (internal, public) = match key {
        HoldKey::Internal(id) => (Some(id), None),
        HoldKey::Public(id) => (None, Some(id.get())),
    };
    let rows = sqlx::query!(
        r#"SELECT h.id, h.public_id, h.status, h.expires_at,
                i.position, i.product_id, i.quantity, i.unit_price_cents, p.external_ref,
                p.description, o.confirmation_code AS "confirmation_code?"
         FROM holds h JOIN hold_items i ON i.hold_id = h.id
         JOIN products p ON p.id = i.product_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE (h.id = $1 OR h.public_id = $2)
           AND p.id = ANY (ARRAY(SELECT product_id FROM hold_items WHERE hold_id = h.id))
         ORDER BY i.position"#,
        internal,
        public,
    )
    .fetch_all(conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (id, public_id, expires_at) = (first.id, first.public_id, first.expires_at);
    let status = HoldStatus::from_db(&first.status)
        .ok_or_else(|| Error::unexpected(format!("hold {id} has status {}", first.status)))?;
    let order = first.confirmation_code.clone().map(Confirmation::from_db);
    if (status == HoldStatus::Confirmed) != order.is_some() {
        return Err(Error::unexpected(format!(
            "hold {id} is {} with order {order:?}",
            first.status
        )));
    }
    Ok(Some((
        id,
        Hold {
            id: HoldId::from_db(public_id),
            status,
            order,
            expires_at,
            lines: rows
                .into_iter()
                .map(|r| PricedLine {
                    position: r.position as u32,
                    product_id: ProductId::from_db(r.product_id),
                    quantity: r.quantity,
                    unit_price_cents: r.unit_price_cents,
                    external_ref: r.external_ref,
                    description: r.description,
                })
                .collect(),
        },
    )))
}

/// Ends an active hold (released by the customer, or expired) and returns its units to
/// available. `None` when the hold is no longer active: someone else ended it first.
/// Run it in a transaction.
///
/// The hold's products are locked before its row is updated, as every writer takes
/// them: the update gives the hold row a new version under its request id, and a retry
/// of the request that made the hold, holding a product while its own hold waits to
/// see whether that key is taken, would otherwise deadlock with it. (The ids as an
/// array, so that the planner expects a handful and finds them by key, as in
/// [`insert_confirmed_order`](crate::store::insert_confirmed_order).)
pub async fn end_hold(
    conn: &mut PgConnection,
    hold: i64,
    how: HoldStatus,
) -> Result<Option<Vec<StockChange>>, Error> {
    let locked: Vec<i64> = sqlx::query_scalar!(
        "SELECT p.id FROM products p
         WHERE p.id = ANY (ARRAY(SELECT product_id FROM hold_items WHERE hold_id = $1))
         ORDER BY p.id FOR UPDATE OF p",
        hold,
    )
    .fetch_all(&mut *conn)
    .await?;
    let ended = sqlx::query!(
        "UPDATE holds SET status = $2::text, ended_at = now() WHERE id = $1 AND status = 'active'",
        hold,
        how.as_str(),
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if ended == 0 {
        return Ok(None);
    }
    // The products just locked, by key (joined to the hold's items by their
    // statistics alone, a young catalogue was read whole).
    let rows = sqlx::query!(
        "UPDATE products p
         SET quantity_remaining = p.quantity_remaining + i.quantity,
             quantity_held = p.quantity_held - i.quantity
         FROM hold_items i
         WHERE p.id = ANY ($2) AND i.hold_id = $1 AND i.product_id = p.id
         RETURNING p.id, p.quantity_remaining, i.quantity, p.provider_id, p.external_ref",
        hold,
        &locked,
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(
        rows.into_iter()
            .map(|r| StockChange {
                product: ProductId::from_db(r.id),
                remaining: r.quantity_remaining,
                delta: r.quantity,
                provider: r.provider_id.map(ProviderId::from_db),
                external_ref: r.external_ref,
            })
            .collect(),
    ))
}

/// Claims one active hold past its expiry that no other replica is handling (`SKIP
/// LOCKED`), locked for the rest of the transaction.
pub async fn claim_expired_hold(conn: &mut PgConnection) -> Result<Option<i64>, Error> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM holds WHERE status = 'active' AND expires_at <= now()
         ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(conn)
    .await?)
}

/// Where a checkout's payment authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationClaim {
    /// This request may ask the processor now (its row is `pending`, ours).
    Mine,
    /// Another attempt of the same request is asking right now, in the process
    /// `claimed_by` (unknown for claims older than the column).
    InFlight { claimed_by: Option<uuid::Uuid> },
    /// Already captured: the order exists.
    Captured,
}

/// Records, before asking the processor, that this request is about to authorize
/// `amount_cents` for `hold`: the write-ahead record a restart uses to void what a dead
/// process authorized.
///
/// A `pending` row belongs to the attempt that wrote it for `lease` (longer than any
/// processor call); after that the attempt is presumed dead and a retry takes over,
/// asking the processor again under the same request id, which answers with the same
/// authorization.
pub async fn claim_authorization(
    conn: &mut PgConnection,
    request_id: &str,
    hold: i64,
    amount_cents: i64,
    lease: std::time::Duration,
    claimed_by: uuid::Uuid,
) -> Result<AuthorizationClaim, Error> {
    let mine: Option<i64> = sqlx::query_scalar!(
        "INSERT INTO payment_authorizations (request_id, hold_id, amount_cents, claimed_by)
         VALUES ($1::text, $2, $3::bigint, $5)
         ON CONFLICT (request_id) DO UPDATE
             SET status = 'pending', hold_id = $2, amount_cents = $3, updated_at = now(),
                 authorization_code = NULL, claimed_by = $5
             WHERE payment_authorizations.status IN ('declined', 'voided')
                OR (payment_authorizations.status = 'pending'
                    AND payment_authorizations.updated_at < now() - make_interval(secs => $4::float8))
         RETURNING id",
        request_id,
        hold,
        amount_cents,
        lease.as_secs_f64(),
        claimed_by,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if mine.is_some() {
        return Ok(AuthorizationClaim::Mine);
    }
    claim_of_another(conn, request_id).await
}

/// Where the claim on a request's authorization stands when it is not the caller's.
pub async fn claim_of_another(
    conn: &mut PgConnection,
    request_id: &str,
) -> Result<AuthorizationClaim, Error> {
    let current = sqlx::query!(
        "SELECT status, claimed_by FROM payment_authorizations WHERE request_id = $1",
        request_id,
    )
    .fetch_one(conn)
    .await?;
    Ok(match current.status.as_str() {
        "captured" => AuthorizationClaim::Captured,
        _ => AuthorizationClaim::InFlight {
            claimed_by: current.claimed_by,
        },
    })
}

/// Takes over a pending claim that `me` (this process) made for an attempt that is
/// no longer running; `false` if the claim has moved on meanwhile.
pub async fn take_over_authorization(
    conn: &mut PgConnection,
    request_id: &str,
    me: uuid::Uuid,
) -> Result<bool, Error> {
    Ok(sqlx::query!(
        "UPDATE payment_authorizations SET updated_at = now()
         WHERE request_id = $1 AND status = 'pending' AND claimed_by = $2",
        request_id,
        me,
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Gives up an attempt's claim on a still-`pending` authorization (the attempt ended
/// without confirming, on a transient failure), so the next retry takes over at once
/// instead of waiting for the claim's lease to run out.
pub async fn abandon_authorization(conn: &mut PgConnection, request_id: &str) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE payment_authorizations SET updated_at = '-infinity'
         WHERE request_id = $1 AND status = 'pending'",
        request_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a request's authorization from one status to the next (recording the
/// processor's code when there is one); `false` if it was not in `from`.
pub async fn set_authorization(
    conn: &mut PgConnection,
    request_id: &str,
    from: &[&str],
    to: &str,
    code: Option<&str>,
) -> Result<bool, Error> {
    let from: Vec<String> = from.iter().map(|s| (*s).to_owned()).collect();
    Ok(sqlx::query!(
        "UPDATE payment_authorizations
         SET status = $3::text, authorization_code = coalesce($4::text, authorization_code), updated_at = now()
         WHERE request_id = $1 AND status = ANY($2)",
        request_id,
        &from,
        to,
        code,
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// An authorization that can no longer become an order: its hold ended without it
/// (expired, released, or paid by another request), and it is not being worked on.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub request_id: String,
    pub code: Option<String>,
}

/// Authorizations to void: granted or pending, whose hold is no longer active and not
/// confirmed by their own request, untouched for `grace_secs` (an attempt still in
/// flight voids its own).
///
/// Each open authorization (a handful at any time) looks up its hold and its order by
/// key, in scalar subqueries: as a join, or as `NOT EXISTS`, the planner could hash
/// every hold and every order on each sweep when the tables' statistics were missing or
/// stale, and every replica sweeps every second.
pub async fn orphaned_authorizations(
    conn: &mut PgConnection,
    grace_secs: i32,
    limit: i64,
) -> Result<Vec<Orphan>, Error> {
    let rows = sqlx::query!(
        "SELECT a.request_id, a.authorization_code
         FROM payment_authorizations a
         WHERE a.status IN ('pending', 'authorized')
           AND a.updated_at < now() - make_interval(secs => $1::float8)
           AND CASE (SELECT h.status FROM holds h WHERE h.id = a.hold_id)
                   WHEN 'expired' THEN true
                   WHEN 'released' THEN true
                   WHEN 'confirmed' THEN
                       (SELECT o.id FROM orders o WHERE o.request_id = a.request_id) IS NULL
                   ELSE false
               END
         ORDER BY a.id LIMIT $2",
        f64::from(grace_secs),
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Orphan {
            request_id: r.request_id,
            code: r.authorization_code,
        })
        .collect())
}

/// Holds still setting units aside, for metrics.
pub async fn active_holds(pool: &sqlx::PgPool) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM holds WHERE status = 'active'"#,)
            .fetch_one(pool)
            .await?,
    )
}

/// The active holds with units of `product`. (Read by a scan of the holds' items: a
/// withdrawal is rare, and an index on the product would cost every hold.)
pub async fn active_holds_of(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<Vec<i64>, Error> {
    Ok(sqlx::query_scalar!(
        "SELECT h.id FROM holds h
         WHERE h.status = 'active'
           AND h.id IN (SELECT hold_id FROM hold_items WHERE product_id = $1)
         ORDER BY h.id",
        product.get(),
    )
    .fetch_all(conn)
    .await?)
}
