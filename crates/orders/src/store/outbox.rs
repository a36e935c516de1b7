//! The outbox: messages written in the same transaction as the change that caused
//! them, then delivered by the dispatcher. Rows are claimed with a lease (`FOR UPDATE
//! SKIP LOCKED` picks rows no other replica is claiming, and pushing `next_attempt_at`
//! forward keeps them from being claimed again while in flight), and every outcome is
//! written back guarded by the attempt number, so a replica whose lease ran out can
//! never overwrite the result of a newer attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use serde::{Deserialize, Serialize};

use super::StockChange;
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
    /// A cancelled order's payment, to give back through the payment processor.
    Refund,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductSoldOut => "product_sold_out",
            Self::ProductAvailable => "product_available",
            Self::Sms => "sms",
            Self::Refund => "payment_refund",
        }
    }
    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "product_sold_out" => Some(Self::ProductSoldOut),
            "product_available" => Some(Self::ProductAvailable),
            "sms" => Some(Self::Sms),
            "payment_refund" => Some(Self::Refund),
            _ => None,
        }
    }
}

/// What one outbox row asks to be delivered, one variant per kind, each with its own
/// delivery. Stored as the row's `kind` and a JSON payload of that kind's shape; the
/// `provider_id` and `product_id` columns keep callbacks joinable and listable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Tells a product's provider that it sold out.
    SoldOut(Callback),
    /// Tells a product's provider that it is on sale again, with `remaining` units.
    Available { callback: Callback, remaining: i64 },
    /// Texts a customer.
    Text(Text),
    /// Gives a cancelled order's payment back.
    Refund(Refund),
}

/// Whom a callback is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub provider: ProviderId,
    pub product: ProductId,
    /// The provider's own reference for the product, if it gave one.
    pub external_ref: Option<String>,
}

/// A text to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub phone: String,
    #[serde(rename = "message")]
    pub body: String,
}

/// A payment to give back: the whole amount taken under `authorization_code` for the
/// checkout `request_id` (the processor's key for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub request_id: String,
    pub authorization_code: String,
    pub amount_cents: i64,
}

/// The payload of a callback row (`remaining` only matters for `Available`).
#[derive(Serialize, Deserialize)]
struct CallbackPayload {
    external_ref: Option<String>,
    #[serde(default)]
    remaining: i64,
}

impl Message {
    /// The availability message a stock change calls for, if any: products without a
    /// provider have no one to tell, and only reaching zero or rising from it counts.
    pub fn for_stock_change(change: &StockChange) -> Option<Self> {
        let callback = Callback {
            provider: change.provider?,
            product: change.product,
            external_ref: change.external_ref.clone(),
        };
        if change.sold_out() {
            Some(Self::SoldOut(callback))
        } else if change.back_in_stock() {
            Some(Self::Available {
                callback,
                remaining: change.remaining,
            })
        } else {
            None
        }
    }

    pub fn text(phone: &Phone, body: impl Into<String>) -> Self {
        Self::Text(Text {
            phone: phone.as_str().to_owned(),
            body: body.into(),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::SoldOut(_) => Kind::ProductSoldOut,
            Self::Available { .. } => Kind::ProductAvailable,
            Self::Text(_) => Kind::Sms,
            Self::Refund(_) => Kind::Refund,
        }
    }

    fn callback(&self) -> Option<&Callback> {
        match self {
            Self::SoldOut(callback) | Self::Available { callback, .. } => Some(callback),
            Self::Text(_) | Self::Refund(_) => None,
        }
    }

    /// The row's payload; `traceparent` lets the delivery continue the trace of the
    /// change that caused it.
    fn payload(&self, traceparent: Option<String>) -> serde_json::Value {
        let mut payload = match self {
            Self::SoldOut(callback) => serde_json::to_value(CallbackPayload {
                external_ref: callback.external_ref.clone(),
                remaining: 0,
            }),
            Self::Available {
                callback,
                remaining,
            } => serde_json::to_value(CallbackPayload {
                external_ref: callback.external_ref.clone(),
                remaining: *remaining,
            }),
            Self::Text(text) => serde_json::to_value(text),
            Self::Refund(refund) => serde_json::to_value(refund),
        }
        .unwrap_or_default();
        payload["traceparent"] = traceparent.into();
        payload
    }

    /// Reads a row back; `Err` says why this version cannot deliver it.
    fn from_row(
        kind: &str,
        provider: Option<i64>,
        product: Option<i64>,
        payload: serde_json::Value,
    ) -> Result<Self, String> {
        let callback = |external_ref| match (provider, product) {
            (Some(provider), Some(product)) => Ok(Callback {
                provider: ProviderId::from_db(provider),
                product: ProductId::from_db(product),
                external_ref,
            }),
            _ => Err("a callback without a provider or product".to_owned()),
        };
        let unreadable = |e: serde_json::Error| format!("unreadable {kind} payload: {e}");
        match Kind::from_db(kind) {
            Some(Kind::ProductSoldOut) => {
                let p: CallbackPayload = serde_json::from_value(payload).map_err(unreadable)?;
                Ok(Self::SoldOut(callback(p.external_ref)?))
            }
            Some(Kind::ProductAvailable) => {
                let p: CallbackPayload = serde_json::from_value(payload).map_err(unreadable)?;
                Ok(Self::Available {
                    callback: callback(p.external_ref)?,
                    remaining: p.remaining,
                })
            }
            Some(Kind::Sms) => Ok(Self::Text(
                serde_json::from_value(payload).map_err(unreadable)?,
            )),
            Some(Kind::Refund) => Ok(Self::Refund(
                serde_json::from_value(payload).map_err(unreadable)?,
            )),
            None => Err(format!("unknown message kind {kind:?}")),
        }
    }
}

/// An outbox row as it is written: what [`enqueue`] inserts, and what a statement
/// that writes its own outbox row (in a CTE, committing with its change without a
/// transaction around it) inserts.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub kind: &'static str,
    pub provider: Option<i64>,
    pub product: Option<i64>,
    pub payload: serde_json::Value,
}

impl Message {
    /// The row that asks for this message. Delivery happens later, elsewhere: the row
    /// carries the current trace so that it continues the trace of the change.
    pub fn row(&self) -> NewRow {
        let callback = self.callback();
        NewRow {
            kind: self.kind().as_str(),
            provider: callback.map(|c| c.provider.get()),
            product: callback.map(|c| c.product.get()),
            payload: self.payload(cinema_service::telemetry::current_traceparent()),
        }
    }
}

/// Writes the message in the caller's transaction and announces it (Postgres delivers
/// the notification only if, and when, the transaction commits).
pub async fn enqueue(conn: &mut PgConnection, message: &Message) -> Result<(), Error> {
    let row = message.row();
    sqlx::query!(
        "INSERT INTO outbox (kind, provider_id, product_id, payload) VALUES ($1, $2, $3, $4)",
        row.kind,
        row.provider,
        row.product,
        row.payload,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT FROM pg_notify($1, '')", OUTBOX_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed message, ready to deliver.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub message: Message,
    pub occurred_at: DateTime<Utc>,
    /// This attempt's number (1 for the first); the fencing token for writing back.
    pub attempt: i32,
    /// This attempt's number since the latest redrive: what the schedule counts.
    pub attempt_in_round: i32,
    /// For callbacks: the provider's callback endpoint as it is now.
    pub endpoint: Option<String>,
    /// The trace of the change that caused the message.
    pub traceparent: Option<String>,
}

impl Claimed {
    pub fn kind(&self) -> Kind {
        self.message.kind()
    }

    /// The product a callback is about.
    pub fn product(&self) -> Option<ProductId> {
        self.message.callback().map(|c| c.product)
    }

    /// Where the message goes, for logs: the provider's endpoint, or the SMS gateways.
    pub fn target(&self) -> &str {
        match self.message {
            Message::Text(_) => "sms-gateways",
            Message::Refund(_) => "payment-processor",
            Message::SoldOut(_) | Message::Available { .. } => self
                .endpoint
                .as_deref()
                .unwrap_or("(provider without an endpoint)"),
        }
    }
}

/// Claims up to `limit` due messages, each for its kind's `lease`. A row this version cannot read is set aside, exhausted with the
/// reason, for an operator: it is neither returned nor retried.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    lease: impl Fn(Kind) -> Duration,
) -> Result<Vec<Claimed>, Error> {
    let rows = sqlx::query!(
        "UPDATE outbox o
            SET attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(
                    secs => CASE o.kind WHEN 'sms' THEN $3::float8
                                        WHEN 'payment_refund' THEN $4::float8
                                        ELSE $2::float8 END)
           FROM (SELECT id FROM outbox
                  WHERE status = 'pending' AND next_attempt_at <= now()
                  ORDER BY next_attempt_at, id
                  LIMIT $1
                  FOR UPDATE SKIP LOCKED) due
          WHERE o.id = due.id
      RETURNING o.id, o.kind, o.provider_id, o.product_id, o.payload, o.occurred_at,
                o.attempts, o.attempts_before_redrive,
                (SELECT callback_endpoint FROM providers p WHERE p.id = o.provider_id) AS endpoint",
        limit,
        lease(Kind::ProductSoldOut).as_secs_f64(),
        lease(Kind::Sms).as_secs_f64(),
        lease(Kind::Refund).as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let traceparent = row.payload["traceparent"].as_str().map(str::to_owned);
        match Message::from_row(&row.kind, row.provider_id, row.product_id, row.payload) {
            Ok(message) => claimed.push(Claimed {
                id: row.id,
                message,
                occurred_at: row.occurred_at,
                attempt: row.attempts,
                attempt_in_round: row.attempts - row.attempts_before_redrive,
                endpoint: row.endpoint,
                traceparent,
            }),
            Err(why) => {
                tracing::error!(outbox_id = row.id, %why, "outbox message set aside");
                record(pool, row.id, row.attempts, &Outcome::Exhausted(why)).await?;
            }
        }
    }
    Ok(claimed)
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

/// Writes back what attempt `attempt` at message `id` came to.
pub async fn record(pool: &PgPool, id: i64, attempt: i32, outcome: &Outcome) -> Result<(), Error> {
    let (status, delay, error) = match outcome {
        Outcome::Delivered => ("delivered", None, None),
        Outcome::RetryAfter(delay, e) => ("pending", Some(delay.as_secs_f64()), Some(e.as_str())),
        Outcome::Exhausted(e) => ("exhausted", None, Some(e.as_str())),
    };
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO outbox_attempts (outbox_id, attempt, error) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        id,
        attempt,
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
        id,
        attempt,
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
#[derive(Debug, Clone)]
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
    /// What a refund gives back.
    pub refund_cents: Option<i64>,
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
    Ok(sqlx::query_as!(
        OutboxEntry,
        "SELECT o.id, o.kind, o.status, o.attempts, o.last_error, o.occurred_at,
                o.next_attempt_at, o.delivered_at, o.product_id,
                (SELECT callback_endpoint FROM providers p WHERE p.id = o.provider_id) AS endpoint,
                right(o.payload ->> 'phone', 4) AS phone_last4,
                (o.payload ->> 'amount_cents')::bigint AS refund_cents
           FROM outbox o
          WHERE ($1::text IS NULL OR o.status = $1)
            AND ($2::text IS NULL OR o.kind = $2)
            AND ($3::bigint IS NULL OR o.id < $3)
          ORDER BY o.id DESC
          LIMIT $4",
        filter.status,
        filter.kind.map(Kind::as_str),
        filter.before,
        filter.limit,
    )
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
        let found = sqlx::query!(
            "SELECT id, status FROM outbox WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            ids,
        )
        .fetch_all(&mut *tx)
        .await?;
        if let Some(&missing) = ids.iter().find(|id| !found.iter().any(|f| f.id == **id)) {
            return Ok(Err(RedriveRefused::Unknown(missing)));
        }
        if let Some(row) = found.into_iter().find(|f| f.status != "exhausted") {
            return Ok(Err(RedriveRefused::NotExhausted {
                id: row.id,
                status: row.status,
            }));
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
    sqlx::query!("SELECT FROM pg_notify($1, '')", OUTBOX_CHANNEL)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut redriven = redriven;
    redriven.sort_unstable();
    Ok(Ok(redriven))
}

/// Messages by kind and status, for metrics.
pub async fn depth(pool: &PgPool) -> Result<Vec<(String, String, i64)>, Error> {
    let rows = sqlx::query!(
        r#"SELECT kind, status, count(*) AS "count!" FROM outbox
           GROUP BY kind, status ORDER BY kind, status"#,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.kind, r.status, r.count))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback() -> Callback {
        Callback {
            provider: ProviderId::from_db(7),
            product: ProductId::from_db(42),
            external_ref: Some("showtime-9".into()),
        }
    }

    /// What `enqueue` writes, `claim` reads back as the same message.
    #[test]
    fn every_kind_reads_back_as_written() {
        let messages = [
            Message::SoldOut(callback()),
            Message::Available {
                callback: callback(),
                remaining: 3,
            },
            Message::Text(Text {
                phone: "+14155550132".into(),
                body: "Your tickets: ABCD2345".into(),
            }),
        ];
        for message in messages {
            let payload = message.payload(Some("00-abc-def-01".into()));
            assert_eq!(payload["traceparent"], "00-abc-def-01");
            let callback = message.callback();
            let read = Message::from_row(
                message.kind().as_str(),
                callback.map(|c| c.provider.get()),
                callback.map(|c| c.product.get()),
                payload,
            );
            assert_eq!(read.as_ref(), Ok(&message));
        }
    }

    /// Rows written before the typed outbox (same JSON shape) still deliver.
    #[test]
    fn rows_of_the_earlier_shape_are_read() {
        let payload = serde_json::json!({
            "external_ref": null, "remaining": 5, "traceparent": null
        });
        assert_eq!(
            Message::from_row("product_available", Some(1), Some(2), payload),
            Ok(Message::Available {
                callback: Callback {
                    provider: ProviderId::from_db(1),
                    product: ProductId::from_db(2),
                    external_ref: None,
                },
                remaining: 5,
            })
        );
    }

    #[test]
    fn a_row_that_cannot_be_delivered_says_why() {
        let empty = serde_json::json!({});
        let text = Message::from_row("sms", None, None, empty.clone()).expect_err("no phone");
        assert!(text.contains("unreadable sms payload"), "{text}");
        let orphan =
            Message::from_row("product_sold_out", None, Some(2), empty.clone()).expect_err("");
        assert!(orphan.contains("without a provider"), "{orphan}");
        let unknown = Message::from_row("fax", None, None, empty).expect_err("unknown");
        assert!(unknown.contains("unknown message kind"), "{unknown}");
    }

    #[test]
    fn only_reaching_zero_or_leaving_it_calls_a_provider_back() {
        let change = |remaining, delta, provider: Option<i64>| StockChange {
            product: ProductId::from_db(2),
            remaining,
            delta,
            provider: provider.map(ProviderId::from_db),
            external_ref: None,
        };
        assert!(matches!(
            Message::for_stock_change(&change(0, -2, Some(1))),
            Some(Message::SoldOut(_))
        ));
        assert!(matches!(
            Message::for_stock_change(&change(2, 2, Some(1))),
            Some(Message::Available { remaining: 2, .. })
        ));
        assert_eq!(Message::for_stock_change(&change(3, -1, Some(1))), None);
        assert_eq!(Message::for_stock_change(&change(0, -2, None)), None);
    }
}
