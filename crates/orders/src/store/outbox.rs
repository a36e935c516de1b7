//! The outbox: messages written in the same transaction as the change that caused
//! them, then delivered by the dispatcher. Rows are claimed with a lease (`FOR UPDATE
//! SKIP LOCKED` picks rows no other replica is claiming, and pushing `next_attempt_at`
//! forward keeps them from being claimed again while in flight), and every outcome is
//! written back guarded by the attempt number, so a replica whose lease ran out can
//! never overwrite the result of a newer attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::Error;
use crate::domain::{Phone, ProductId, ProviderId};

/// The Postgres channel on which new outbox rows are announced.
pub const OUTBOX_CHANNEL: &str = "cinema_outbox";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ProductSoldOut,
    ProductAvailable,
    /// A text to a customer.
    Sms,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductSoldOut => "product_sold_out",
            Self::ProductAvailable => "product_available",
            Self::Sms => "sms",
        }
    }
    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "product_sold_out" => Some(Self::ProductSoldOut),
            "product_available" => Some(Self::ProductAvailable),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// A product's availability changed in a way its provider must hear about.
#[derive(Debug, Clone)]
pub struct AvailabilityEvent {
    pub kind: Kind,
    pub provider: ProviderId,
    pub product: ProductId,
    pub external_ref: Option<String>,
    pub remaining: i64,
}

/// Writes the event in the caller's transaction and announces it (Postgres delivers
/// the notification only if, and when, the transaction commits).
pub async fn enqueue(conn: &mut PgConnection, event: &AvailabilityEvent) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO outbox (kind, provider_id, product_id, payload)
         VALUES ($1, $2, $3, jsonb_build_object('external_ref', $4::text, 'remaining', $5::bigint,
                                               'traceparent', $6::text))",
        event.kind.as_str(),
        event.provider.get(),
        event.product.get(),
        event.external_ref.as_deref(),
        event.remaining,
        // Delivery happens later, elsewhere: it continues the trace of the change.
        cinema_runtime::telemetry::current_traceparent(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT FROM pg_notify($1, '')", OUTBOX_CHANNEL,)
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a text to a customer in the caller's transaction.
pub async fn enqueue_sms(
    conn: &mut PgConnection,
    phone: &Phone,
    message: &str,
) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO outbox (kind, payload)
         VALUES ('sms', jsonb_build_object('phone', $1::text, 'message', $2::text,
                                           'traceparent', $3::text))",
        phone.as_str(),
        message,
        cinema_runtime::telemetry::current_traceparent(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT FROM pg_notify($1, '')", OUTBOX_CHANNEL,)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed message, ready to deliver.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: Kind,
    /// For callbacks: the product the event is about (texts have none).
    pub product: Option<ProductId>,
    pub external_ref: Option<String>,
    pub remaining: i64,
    pub occurred_at: DateTime<Utc>,
    /// This attempt's number (1 for the first); the fencing token for writing back.
    pub attempt: i32,
    /// This attempt's number since the latest redrive: what the schedule counts.
    pub attempt_in_round: i32,
    /// For callbacks: the provider's callback endpoint.
    pub endpoint: Option<String>,
    /// For texts: the recipient and the message.
    pub phone: String,
    pub message: String,
    /// The trace of the change that caused the message.
    pub traceparent: Option<String>,
}

impl Claimed {
    /// Where the message goes, for logs: the provider's endpoint, or the SMS gateways.
    pub fn target(&self) -> &str {
        match self.kind {
            Kind::Sms => "sms-gateways",
            Kind::ProductSoldOut | Kind::ProductAvailable => self
                .endpoint
                .as_deref()
                .unwrap_or("(provider without an endpoint)"),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    kind: String,
    product_id: Option<i64>,
    external_ref: Option<String>,
    remaining: Option<i64>,
    occurred_at: DateTime<Utc>,
    attempts: i32,
    attempts_before_redrive: i32,
    endpoint: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    traceparent: Option<String>,
}

/// Claims up to `limit` due messages: callbacks for `callback_lease`, texts for
/// `text_lease`.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    callback_lease: Duration,
    text_lease: Duration,
) -> Result<Vec<Claimed>, Error> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "UPDATE outbox o
            SET attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(
                    secs => CASE WHEN o.kind = 'sms' THEN $3 ELSE $2 END)
           FROM (SELECT id FROM outbox
                  WHERE status = 'pending' AND next_attempt_at <= now()
                  ORDER BY next_attempt_at, id
                  LIMIT $1
                  FOR UPDATE SKIP LOCKED) due
          WHERE o.id = due.id
      RETURNING o.id, o.kind, o.product_id, o.payload ->> 'external_ref' AS external_ref,
                (o.payload ->> 'remaining')::bigint AS remaining, o.occurred_at, o.attempts,
                o.attempts_before_redrive,
                o.payload ->> 'phone' AS phone, o.payload ->> 'message' AS message,
                o.payload ->> 'traceparent' AS traceparent,
                (SELECT callback_endpoint FROM providers p WHERE p.id = o.provider_id) AS endpoint",
    )
    .bind(limit)
    .bind(callback_lease.as_secs_f64())
    .bind(text_lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                kind: Kind::from_db(&row.kind).ok_or_else(|| {
                    Error::unexpected(format!("outbox {} has kind {:?}", row.id, row.kind))
                })?,
                product: row.product_id.map(ProductId::from_db),
                external_ref: row.external_ref,
                remaining: row.remaining.unwrap_or_default(),
                occurred_at: row.occurred_at,
                attempt: row.attempts,
                attempt_in_round: row.attempts - row.attempts_before_redrive,
                endpoint: row.endpoint,
                phone: row.phone.unwrap_or_default(),
                message: row.message.unwrap_or_default(),
                traceparent: row.traceparent,
                id: row.id,
            })
        })
        .collect()
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Failed; try again after the delay.
    RetryAfter(Duration, String),
    /// Failed for good (the last attempt, or an error retrying cannot fix).
    Exhausted(String),
}

pub async fn record(pool: &PgPool, message: &Claimed, outcome: &Outcome) -> Result<(), Error> {
    let (status, delay, error) = match outcome {
        Outcome::Delivered => ("delivered", None, None),
        Outcome::RetryAfter(delay, e) => ("pending", Some(delay.as_secs_f64()), Some(e.as_str())),
        Outcome::Exhausted(e) => ("exhausted", None, Some(e.as_str())),
    };
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO outbox_attempts (outbox_id, attempt, error) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        message.id,
        message.attempt,
        error,
    )
    .execute(&mut *tx)
    .await?;
    // Guarded by the attempt number: only the holder of the latest claim writes back.
    sqlx::query!(
        "UPDATE outbox
            SET status = $3,
                last_error = $4,
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
                next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                                       ELSE now() + make_interval(secs => $5) END
          WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        message.id,
        message.attempt,
        status,
        error,
        delay,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How long until the earliest pending message is due (zero if one is due now), or
/// `None` when nothing is pending.
pub async fn next_due_in(pool: &PgPool) -> Result<Option<Duration>, Error> {
    // Clamped here, not with SQL's greatest(): greatest(0, NULL) is 0, which turned
    // "nothing pending" into "due now" and kept an idle dispatcher polling non-stop.
    let seconds: Option<f64> = sqlx::query_scalar!(
        "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
         FROM outbox WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await?;
    Ok(seconds.map(|s| Duration::from_secs_f64(s.max(0.0))))
}

/// A message as an operator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub product_id: Option<i64>,
    pub endpoint: Option<String>,
    /// Only the last four digits of a text's recipient leave the database.
    pub phone_last4: Option<String>,
}

/// Which messages [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<&'static str>,
    pub kind: Option<Kind>,
    /// Only messages older than this id (the page cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

/// Messages, newest first.
pub async fn list(pool: &PgPool, filter: &ListFilter) -> Result<Vec<OutboxEntry>, Error> {
    Ok(sqlx::query_as(
        "SELECT o.id, o.kind, o.status, o.attempts, o.last_error, o.occurred_at,
                o.next_attempt_at, o.delivered_at, o.product_id,
                (SELECT callback_endpoint FROM providers p WHERE p.id = o.provider_id) AS endpoint,
                right(o.payload ->> 'phone', 4) AS phone_last4
           FROM outbox o
          WHERE ($1::text IS NULL OR o.status = $1)
            AND ($2::text IS NULL OR o.kind = $2)
            AND ($3::bigint IS NULL OR o.id < $3)
          ORDER BY o.id DESC
          LIMIT $4",
    )
    .bind(filter.status)
    .bind(filter.kind.map(Kind::as_str))
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(pool)
    .await?)
}

/// Why a redrive was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveRefused {
    Unknown(i64),
    NotExhausted { id: i64, status: String },
}

/// Makes the named exhausted messages (or, with `ids` = `None`, every exhausted one)
/// pending again and due now, and announces them. All or nothing.
pub async fn redrive(
    pool: &PgPool,
    ids: Option<&[i64]>,
) -> Result<Result<Vec<i64>, RedriveRefused>, Error> {
    let mut tx = pool.begin().await?;
    if let Some(ids) = ids {
        let found: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, status FROM outbox WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(&missing) = ids.iter().find(|id| !found.iter().any(|(f, _)| f == *id)) {
            return Ok(Err(RedriveRefused::Unknown(missing)));
        }
        if let Some((id, status)) = found.into_iter().find(|(_, status)| status != "exhausted") {
            return Ok(Err(RedriveRefused::NotExhausted { id, status }));
        }
    }
    let redriven: Vec<i64> = sqlx::query_scalar!(
        "UPDATE outbox
            SET status = 'pending', next_attempt_at = now(), redriven_at = now(),
                attempts_before_redrive = attempts
          WHERE status = 'exhausted' AND ($1::bigint[] IS NULL OR id = ANY($1))
      RETURNING id",
        ids,
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!("SELECT FROM pg_notify($1, '')", OUTBOX_CHANNEL,)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut redriven = redriven;
    redriven.sort_unstable();
    Ok(Ok(redriven))
}

/// Messages by kind and status, for metrics.
pub async fn depth(pool: &PgPool) -> Result<Vec<(String, String, i64)>, Error> {
    Ok(sqlx::query_as(
        "SELECT kind, status, count(*) FROM outbox GROUP BY kind, status ORDER BY kind, status",
    )
    .fetch_all(pool)
    .await?)
}
