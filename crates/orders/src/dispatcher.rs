//! Delivers outbox messages: at least once, with a growing, jittered, capped retry
//! schedule, every attempt recorded, and an exhausted state that stays visible.
//!
//! New rows are announced with `pg_notify` by the transaction that wrote them, so every
//! replica's dispatcher wakes at once (no polling delay on the happy path); a periodic
//! sweep is the safety net for missed notifications and for retries that fall due.
//! Any number of replicas may run: claims use `FOR UPDATE SKIP LOCKED` and a lease (see
//! `store::outbox`), so no message is in flight twice at the same time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::product_provider_service_client::ProductProviderServiceClient;
use cinema_sms::SmsClient;
use secrecy::SecretString;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument;

use crate::store::outbox::{self, Claimed, Kind, OUTBOX_CHANNEL, Outcome};

/// How the dispatcher retries and paces itself.
#[derive(Debug, Clone, clap::Args)]
pub struct DispatchSettings {
    /// Delay before the first retry; later ones double, with jitter.
    #[arg(
        long = "outbox-min-delay-ms",
        env = "ORDERS_OUTBOX_MIN_DELAY_MS",
        default_value_t = 1000
    )]
    pub min_delay_ms: u64,
    /// The longest delay between two attempts.
    #[arg(
        long = "outbox-max-delay-ms",
        env = "ORDERS_OUTBOX_MAX_DELAY_MS",
        default_value_t = 300_000
    )]
    pub max_delay_ms: u64,
    /// Attempts before a message is marked exhausted.
    #[arg(
        long = "outbox-max-attempts",
        env = "ORDERS_OUTBOX_MAX_ATTEMPTS",
        default_value_t = 15
    )]
    pub max_attempts: u32,
    /// How often to look for due messages even without a notification.
    #[arg(
        long = "outbox-sweep-ms",
        env = "ORDERS_OUTBOX_SWEEP_MS",
        default_value_t = 5000
    )]
    pub sweep_ms: u64,
    /// Deadline of one delivery call.
    #[arg(
        long = "callback-timeout-ms",
        env = "ORDERS_CALLBACK_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub call_timeout_ms: u64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            min_delay_ms: 1000,
            max_delay_ms: 300_000,
            max_attempts: 15,
            sweep_ms: 5000,
            call_timeout_ms: 5000,
        }
    }
}

impl DispatchSettings {
    fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }

    /// Long enough that a delivery in progress always ends before its claim lapses
    /// (a text goes through the SMS stack's own retries, which take longer than one
    /// callback).
    fn lease(&self) -> Duration {
        (self.call_timeout() * 3 + Duration::from_secs(1)).max(Duration::from_secs(120))
    }

    /// The delay after `attempt` failed attempts, from backon's exponential schedule.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let max = Duration::from_millis(self.max_delay_ms);
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.min_delay_ms))
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(attempt as usize)
            .build()
            .nth(attempt.saturating_sub(1) as usize)
            .unwrap_or(max)
            .min(max)
    }
}

/// Messages claimed per round trip.
const BATCH: i64 = 32;
/// The shortest pause between two looks at the outbox when nothing was claimable.
const MIN_WAIT: Duration = Duration::from_millis(10);

#[derive(Debug)]
pub struct Dispatcher {
    pool: PgPool,
    settings: DispatchSettings,
    /// Presented to providers on every callback.
    callback_token: SecretString,
    /// One channel per provider endpoint, reused across deliveries.
    channels: Mutex<HashMap<String, Channel>>,
    /// Sends texts; `None` when no SMS gateway is configured.
    sms: Option<SmsClient>,
}

impl Dispatcher {
    pub fn new(
        pool: PgPool,
        settings: DispatchSettings,
        callback_token: SecretString,
        sms: Option<SmsClient>,
    ) -> Self {
        Self {
            pool,
            settings,
            callback_token,
            channels: Mutex::new(HashMap::new()),
            sms,
        }
    }

    /// Runs until `shutdown` is cancelled; a delivery in progress is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(OUTBOX_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN; falling back to sweeping");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN; falling back to sweeping");
                None
            }
        };
        let sweep = Duration::from_millis(self.settings.sweep_ms);
        while !shutdown.is_cancelled() {
            if let Err(e) = self.drain().await {
                tracing::warn!(error = %e, "outbox dispatch failed; will retry");
            }
            let wait = match outbox::next_due_in(&self.pool).await {
                // Still due right after a drain means another dispatcher holds it
                // locked for a moment: look again shortly rather than spin.
                Ok(Some(due)) => due.clamp(MIN_WAIT, sweep.max(MIN_WAIT)),
                _ => sweep,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                notified = async {
                    match listener.as_mut() {
                        Some(l) => l.recv().await.map(|_| ()),
                        None => std::future::pending().await,
                    }
                } => {
                    if let Err(e) = notified {
                        // PgListener reconnects on the next recv; until then, sweep.
                        tracing::warn!(error = %e, "outbox notification stream failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        tracing::info!("outbox dispatcher stopped");
    }

    /// Delivers due messages until none are due.
    async fn drain(&self) -> Result<(), crate::Error> {
        loop {
            let batch = outbox::claim(&self.pool, BATCH, self.settings.lease()).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let deliveries = batch.iter().map(|message| async move {
                let span = tracing::info_span!("deliver", outbox_id = message.id);
                if let Some(traceparent) = &message.traceparent {
                    cinema_runtime::telemetry::continue_trace(&span, traceparent);
                }
                let outcome = self.attempt(message).instrument(span).await;
                if let Err(e) = outbox::record(&self.pool, message, &outcome).await {
                    // The lease runs out and the message is retried: at least once.
                    tracing::warn!(outbox_id = message.id, error = %e, "cannot record delivery");
                }
            });
            futures::future::join_all(deliveries).await;
        }
    }

    #[tracing::instrument(skip_all, fields(outbox_id = message.id, attempt = message.attempt, kind = ?message.kind, product_id = %message.product))]
    async fn attempt(&self, message: &Claimed) -> Outcome {
        if message.kind == Kind::Sms {
            return self.text(message).await;
        }
        match self.deliver(message).await {
            Ok(()) => {
                tracing::info!("callback delivered");
                Outcome::Delivered
            }
            Err(status) => {
                let error = format!("{:?}: {}", status.code(), status.message());
                let permanent = matches!(
                    status.code(),
                    Code::NotFound
                        | Code::InvalidArgument
                        | Code::FailedPrecondition
                        | Code::Unimplemented
                );
                if status.code() == Code::Unauthenticated {
                    tracing::error!(
                        "the provider refused our callback credential: check ORDERS_CALLBACK_TOKEN"
                    );
                }
                if permanent {
                    tracing::error!(%error, "callback refused for good");
                    Outcome::Exhausted(error)
                } else {
                    self.retry_or_exhaust(message, error, None)
                }
            }
        }
    }

    /// Sends a text through the SMS stack (which retries briefly by itself). What the
    /// stack could not send is retried later if retrying can help, and otherwise kept,
    /// exhausted, with its error: never resent automatically.
    async fn text(&self, message: &Claimed) -> Outcome {
        let Some(sms) = &self.sms else {
            let error = "no SMS gateway is configured".to_owned();
            return self.retry_or_exhaust(message, error, None);
        };
        match sms.send_sms(&message.phone, &message.message).await {
            Ok(()) => Outcome::Delivered,
            Err(e) if e.is_retryable() => {
                self.retry_or_exhaust(message, e.to_string(), e.retry_after())
            }
            Err(e) => {
                tracing::error!(error = %e, "text cannot be sent");
                Outcome::Exhausted(e.to_string())
            }
        }
    }

    fn retry_or_exhaust(
        &self,
        message: &Claimed,
        error: String,
        at_least: Option<Duration>,
    ) -> Outcome {
        if message.attempt as u32 >= self.settings.max_attempts {
            tracing::error!(%error, "giving up after the last attempt");
            return Outcome::Exhausted(error);
        }
        let delay = self.settings.retry_delay(message.attempt as u32);
        tracing::warn!(%error, ?delay, "delivery failed; will retry");
        Outcome::RetryAfter(at_least.map_or(delay, |min| delay.max(min)), error)
    }

    fn channel(&self, endpoint: &str) -> Result<Channel, tonic::Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| {
                tonic::Status::invalid_argument(format!("bad endpoint {endpoint:?}: {e}"))
            })?
            .connect_timeout(self.settings.call_timeout())
            .timeout(self.settings.call_timeout())
            .connect_lazy();
        channels.insert(endpoint.to_owned(), channel.clone());
        Ok(channel)
    }

    fn authorized<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        cinema_runtime::telemetry::inject_trace_context(request.metadata_mut());
        if let Some(value) = cinema_runtime::BearerAuth::header_value(&self.callback_token) {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    async fn deliver(&self, message: &Claimed) -> Result<(), tonic::Status> {
        let mut client = ProductProviderServiceClient::new(self.channel(&message.endpoint)?);
        let occurred_at = Some(prost_types::Timestamp {
            seconds: message.occurred_at.timestamp(),
            nanos: message.occurred_at.timestamp_subsec_nanos() as i32,
        });
        let event_id = format!("orders-outbox-{}", message.id);
        // Events about one product are written under its row lock, so outbox ids grow
        // with every event about it: they order events per product.
        let sequence = message.id as u64;
        let product_id = message.product.to_string();
        let external_ref = message.external_ref.clone();
        match message.kind {
            Kind::ProductSoldOut => client
                .product_sold_out(self.authorized(pb::ProductSoldOutRequest {
                    event_id,
                    product_id,
                    external_ref,
                    occurred_at,
                    sequence,
                }))
                .await
                .map(|_| ()),
            Kind::Sms => Err(tonic::Status::internal("texts are not callbacks")),
            Kind::ProductAvailable => client
                .product_available(self.authorized(pb::ProductAvailableRequest {
                    event_id,
                    product_id,
                    external_ref,
                    remaining: message.remaining,
                    occurred_at,
                    sequence,
                }))
                .await
                .map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_grows_and_is_capped() {
        let settings = DispatchSettings {
            min_delay_ms: 1000,
            max_delay_ms: 10_000,
            ..DispatchSettings::default()
        };
        for _ in 0..50 {
            let first = settings.retry_delay(1);
            let third = settings.retry_delay(3);
            // Jitter adds up to one more current delay: 1..2 s, then 4..8 s.
            assert!(
                first >= Duration::from_secs(1) && first <= Duration::from_secs(2),
                "{first:?}"
            );
            assert!(
                third >= Duration::from_secs(4) && third <= Duration::from_secs(8),
                "{third:?}"
            );
            assert!(settings.retry_delay(20) <= Duration::from_secs(10));
        }
    }
}
