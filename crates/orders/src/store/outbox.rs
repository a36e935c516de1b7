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
    fn as_str(self) -> &'static str {
        match self {
            Self::ProductSoldOut => "product_sold_out",
            Self::ProductAvailable => "product_available",
            Self::Sms => "sms",
        }
    }
    fn from_db(raw: &str) -> Option<Self> {
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
    sqlx::query(
        "INSERT INTO outbox (kind, provider_id, product_id, payload)
         VALUES ($1, $2, $3, jsonb_build_object('external_ref', $4::text, 'remaining', $5::bigint,
                                               'traceparent', $6::text))",
    )
    .bind(event.kind.as_str())
    .bind(event.provider.get())
    .bind(event.product.get())
    .bind(event.external_ref.as_deref())
    .bind(event.remaining)
    // Delivery happens later, elsewhere: it continues the trace of the change.
    .bind(cinema_runtime::telemetry::current_traceparent())
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(OUTBOX_CHANNEL)
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
    sqlx::query(
        "INSERT INTO outbox (kind, payload)
         VALUES ('sms', jsonb_build_object('phone', $1::text, 'message', $2::text,
                                           'traceparent', $3::text))",
    )
    .bind(phone.as_str())
    .bind(message)
    .bind(cinema_runtime::telemetry::current_traceparent())
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(OUTBOX_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed message, ready to deliver.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: Kind,
    pub product: ProductId,
    pub external_ref: String,
    pub remaining: i64,
    pub occurred_at: DateTime<Utc>,
    /// This attempt's number (1 for the first); the fencing token for writing back.
    pub attempt: i32,
    pub endpoint: String,
    /// For texts: the recipient and the message.
    pub phone: String,
    pub message: String,
    /// The trace of the change that caused the message.
    pub traceparent: Option<String>,
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
    endpoint: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    traceparent: Option<String>,
}

/// Claims up to `limit` due messages for `lease`.
pub async fn claim(pool: &PgPool, limit: i64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "UPDATE outbox o
            SET attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
           FROM (SELECT id FROM outbox
                  WHERE status = 'pending' AND next_attempt_at <= now()
                  ORDER BY next_attempt_at, id
                  LIMIT $1
                  FOR UPDATE SKIP LOCKED) due
          WHERE o.id = due.id
      RETURNING o.id, o.kind, o.product_id, o.payload ->> 'external_ref' AS external_ref,
                (o.payload ->> 'remaining')::bigint AS remaining, o.occurred_at, o.attempts,
                o.payload ->> 'phone' AS phone, o.payload ->> 'message' AS message,
                o.payload ->> 'traceparent' AS traceparent,
                (SELECT callback_endpoint FROM providers p WHERE p.id = o.provider_id) AS endpoint",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                kind: Kind::from_db(&row.kind).ok_or_else(|| {
                    Error::unexpected(format!("outbox {} has kind {:?}", row.id, row.kind))
                })?,
                product: ProductId::from_db(row.product_id.unwrap_or_default()),
                external_ref: row.external_ref.unwrap_or_default(),
                remaining: row.remaining.unwrap_or_default(),
                occurred_at: row.occurred_at,
                attempt: row.attempts,
                endpoint: row.endpoint.unwrap_or_default(),
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
    sqlx::query(
        "INSERT INTO outbox_attempts (outbox_id, attempt, error) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(message.id)
    .bind(message.attempt)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    // Guarded by the attempt number: only the holder of the latest claim writes back.
    sqlx::query(
        "UPDATE outbox
            SET status = $3,
                last_error = $4,
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
                next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                                       ELSE now() + make_interval(secs => $5) END
          WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(message.id)
    .bind(message.attempt)
    .bind(status)
    .bind(error)
    .bind(delay)
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
    let seconds: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
         FROM outbox WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await?;
    Ok(seconds.map(|s| Duration::from_secs_f64(s.max(0.0))))
}
