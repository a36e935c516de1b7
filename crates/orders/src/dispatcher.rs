//! Delivers outbox messages: at least once, with a growing, jittered, capped retry
//! schedule, every attempt recorded, and an exhausted state that stays visible.
//!
//! New rows are announced with `pg_notify` by the transaction that wrote them, so every
//! replica's dispatcher wakes at once (no polling delay on the happy path); a periodic
//! sweep is the safety net for missed notifications and for retries that fall due.
//! Any number of replicas may run: claims use `FOR UPDATE SKIP LOCKED` and a lease (see
//! `store::outbox`), so no message is in flight twice at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use cinema_proto::error::ErrorKind;
use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::product_provider_service_client::ProductProviderServiceClient;
use cinema_sms::SmsClient;
use secrecy::SecretString;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument;

use crate::payments::{PaymentError, PaymentProcessor};
use crate::store::outbox::{
    self, Callback, Claimed, Kind, Message, OUTBOX_CHANNEL, Outcome, Refund, Text,
};

/// How the dispatcher retries and paces itself.
///
/// The default schedule retries for a little over a day (see [`DispatchSettings::schedule`]
/// and the README's "Operating Cinema"): 1 s, 2 s, 4 s, ... doubling with jitter up to
/// one hour, then hourly, 36 attempts in all, before a message is marked exhausted and
/// waits for an operator's redrive.
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
        default_value_t = 3_600_000
    )]
    pub max_delay_ms: u64,
    /// Attempts before a message is marked exhausted.
    #[arg(
        long = "outbox-max-attempts",
        env = "ORDERS_OUTBOX_MAX_ATTEMPTS",
        default_value_t = 36
    )]
    pub max_attempts: u32,
    /// How often to look for due messages even without a notification.
    #[arg(
        long = "outbox-sweep-ms",
        env = "ORDERS_OUTBOX_SWEEP_MS",
        default_value_t = 5000
    )]
    pub sweep_ms: u64,
    /// Deadline of one callback attempt (one gRPC call to the provider).
    #[arg(
        long = "callback-timeout-ms",
        env = "ORDERS_CALLBACK_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub call_timeout_ms: u64,
    /// Deadline of one text attempt, the SMS stack's own quick retries included.
    #[arg(
        long = "text-timeout-ms",
        env = "ORDERS_TEXT_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub text_timeout_ms: u64,
    /// Deadline of one refund attempt (one call to the payment processor).
    #[arg(
        long = "refund-timeout-ms",
        env = "ORDERS_REFUND_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub refund_timeout_ms: u64,
    /// Added to an attempt's deadline to make its lease: how long a claimed message
    /// stays invisible to other replicas. A replica that dies mid-delivery leaves its
    /// messages to the others this long after it claimed them.
    #[arg(
        long = "outbox-lease-margin-ms",
        env = "ORDERS_OUTBOX_LEASE_MARGIN_MS",
        default_value_t = 2000
    )]
    pub lease_margin_ms: u64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            min_delay_ms: 1000,
            max_delay_ms: 3_600_000,
            max_attempts: 36,
            sweep_ms: 5000,
            call_timeout_ms: 5000,
            text_timeout_ms: 30_000,
            refund_timeout_ms: 30_000,
            lease_margin_ms: 2000,
        }
    }
}

impl DispatchSettings {
    fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }

    /// The longest one attempt at a message of `kind` may take; it is abandoned (and
    /// retried) after that, so it always ends before its lease lapses.
    pub fn attempt_timeout(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Sms => Duration::from_millis(self.text_timeout_ms),
            Kind::Refund => Duration::from_millis(self.refund_timeout_ms),
            Kind::ProductSoldOut | Kind::ProductAvailable => self.call_timeout(),
        }
    }

    /// How long a claimed message of `kind` stays claimed: its attempt's deadline plus
    /// the margin.
    pub fn lease(&self, kind: Kind) -> Duration {
        self.attempt_timeout(kind) + Duration::from_millis(self.lease_margin_ms)
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

    /// For each retry (the delay after attempt 1, 2, ...), the shortest and longest
    /// wait the jitter allows: the schedule an operator reads in the README.
    pub fn schedule(&self) -> Vec<(Duration, Duration)> {
        let max = Duration::from_millis(self.max_delay_ms);
        (1..self.max_attempts)
            .map(|attempt| {
                let base = Duration::from_millis(self.min_delay_ms)
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(max);
                (base, base.saturating_mul(2).min(max))
            })
            .collect()
    }
}

/// Messages claimed per round trip.
const BATCH: i64 = 32;
/// The shortest pause between two looks at the outbox when nothing was claimable.
const MIN_WAIT: Duration = Duration::from_millis(10);
/// Identical failures within this window are logged once, then counted.
const FOLD_WINDOW: Duration = Duration::from_secs(60);

/// Decides which failure lines are worth writing: the first of a kind (same endpoint,
/// same error) in each window, carrying how many identical ones the window before it
/// swallowed. Deliberately small: a peer that is down fails every message the same
/// way, and one line a minute says so as well as a thousand.
#[derive(Debug)]
struct LogFolder {
    window: Duration,
    seen: Mutex<HashMap<(String, String), (std::time::Instant, u64)>>,
}

impl LogFolder {
    fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` when this failure should be logged, `n` being the identical failures
    /// folded since the last line about it; `None` when it is folded.
    fn admit(&self, endpoint: &str, error: &str) -> Option<u64> {
        let now = std::time::Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, (since, _)| now.duration_since(*since) < self.window * 10);
        match seen.get_mut(&(endpoint.to_owned(), error.to_owned())) {
            Some((since, folded)) if now.duration_since(*since) < self.window => {
                *folded += 1;
                None
            }
            Some((since, folded)) => {
                let summary = *folded;
                *since = now;
                *folded = 0;
                Some(summary)
            }
            None => {
                seen.insert((endpoint.to_owned(), error.to_owned()), (now, 0));
                Some(0)
            }
        }
    }
}

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
    /// Gives cancelled orders' payments back.
    processor: Arc<dyn PaymentProcessor>,
    /// Keeps identical failures from flooding the log.
    log_folder: LogFolder,
}

impl Dispatcher {
    pub fn new(
        pool: PgPool,
        settings: DispatchSettings,
        callback_token: SecretString,
        sms: Option<SmsClient>,
        processor: Arc<dyn PaymentProcessor>,
    ) -> Self {
        Self {
            pool,
            settings,
            callback_token,
            channels: Mutex::new(HashMap::new()),
            sms,
            processor,
            log_folder: LogFolder::new(FOLD_WINDOW),
        }
    }

    /// Runs until `shutdown` is cancelled; a delivery in progress is finished first.
    pub async fn run(self: std::sync::Arc<Self>, shutdown: CancellationToken) {
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
            if let Err(e) = self.deliver_due().await {
                let error = e.to_string();
                if let Some(folded) = self.log_folder.admit("orders-database", &error) {
                    tracing::warn!(%error, similar_failures_folded = folded, "outbox dispatch failed; will retry");
                }
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

    /// Attempts every message that is due, until none is, and returns how many
    /// attempts it made. The loop of [`Dispatcher::run`]; tests call it to drain the
    /// outbox at a moment of their choosing instead of waiting on the clock.
    pub async fn deliver_due(&self) -> Result<usize, crate::Error> {
        let mut attempted = 0;
        loop {
            let batch = outbox::claim(&self.pool, BATCH, |kind| self.settings.lease(kind)).await?;
            if batch.is_empty() {
                return Ok(attempted);
            }
            attempted += batch.len();
            let deliveries = batch.iter().map(|message| async move {
                let span = tracing::info_span!(
                    "deliver",
                    outbox_id = message.id,
                    kind = message.kind().as_str(),
                    attempt = message.attempt,
                    product_id = tracing::field::Empty,
                );
                if let Some(product) = message.product() {
                    span.record("product_id", tracing::field::display(product));
                }
                if let Some(traceparent) = &message.traceparent {
                    cinema_service::telemetry::continue_trace(&span, traceparent);
                }
                let deadline = self.settings.attempt_timeout(message.kind());
                let outcome = match tokio::time::timeout(deadline, self.attempt(message))
                    .instrument(span.clone())
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(_) => span.in_scope(|| {
                        self.retry_or_exhaust(
                            message,
                            format!("no answer within {deadline:?}"),
                            None,
                        )
                    }),
                };
                let result = match &outcome {
                    Outcome::Delivered => "delivered",
                    Outcome::RetryAfter(..) => "failed",
                    Outcome::Exhausted(_) => "exhausted",
                };
                metrics::counter!(
                    "cinema_outbox_attempts_total",
                    "kind" => message.kind().as_str(),
                    "result" => result
                )
                .increment(1);
                if let Err(e) =
                    outbox::record(&self.pool, message.id, message.attempt, &outcome).await
                {
                    // The lease runs out and the message is retried: at least once.
                    tracing::warn!(outbox_id = message.id, error = %e, "cannot record delivery");
                }
            });
            futures::future::join_all(deliveries).await;
        }
    }

    async fn attempt(&self, message: &Claimed) -> Outcome {
        let event = EventHeader::of(message);
        let delivered = match &message.message {
            Message::Text(text) => return self.text(message, text).await,
            Message::Refund(refund) => return self.refund(message, refund).await,
            Message::SoldOut(callback) => {
                let request = pb::ProductSoldOutRequest {
                    event_id: event.id,
                    product_id: callback.product.to_string(),
                    external_ref: external_ref(callback),
                    occurred_at: event.occurred_at,
                    sequence: event.sequence,
                };
                self.call_back(message, Event::SoldOut(request)).await
            }
            Message::Available {
                callback,
                remaining,
            } => {
                let request = pb::ProductAvailableRequest {
                    event_id: event.id,
                    product_id: callback.product.to_string(),
                    external_ref: external_ref(callback),
                    remaining: *remaining,
                    occurred_at: event.occurred_at,
                    sequence: event.sequence,
                };
                self.call_back(message, Event::Available(request)).await
            }
        };
        match delivered {
            Ok(()) => {
                tracing::info!("callback delivered");
                Outcome::Delivered
            }
            Err(status) => {
                let error = format!("{:?}: {}", status.code(), status.message());
                let kind = ErrorKind::of(&status);
                // The provider's answer will not change: it does not know the product,
                // refuses the event, or does not serve callbacks at all.
                let permanent = matches!(
                    kind,
                    ErrorKind::NotFound
                        | ErrorKind::InvalidArgument
                        | ErrorKind::Refused
                        | ErrorKind::Unsupported
                );
                if kind == ErrorKind::Unauthenticated {
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
    async fn text(&self, message: &Claimed, text: &Text) -> Outcome {
        let Some(sms) = &self.sms else {
            let error = "no SMS gateway is configured".to_owned();
            return self.retry_or_exhaust(message, error, None);
        };
        match sms.send_sms(&text.phone, &text.body).await {
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

    /// Gives a cancelled order's payment back. A processor that cannot be reached is
    /// tried again; one that refuses the refund will not change its mind, so the
    /// message is kept, exhausted, for an operator to settle with the processor.
    async fn refund(&self, message: &Claimed, refund: &Refund) -> Outcome {
        let answer = self
            .processor
            .refund(
                &refund.request_id,
                &refund.authorization_code,
                refund.amount_cents,
            )
            .await;
        match answer {
            Ok(()) => {
                tracing::info!(amount_cents = refund.amount_cents, "payment refunded");
                Outcome::Delivered
            }
            Err(PaymentError::Unavailable(error)) => self.retry_or_exhaust(message, error, None),
            Err(PaymentError::Declined(error)) => {
                tracing::error!(%error, "the payment processor refused a refund; settle it by hand");
                Outcome::Exhausted(error)
            }
        }
    }

    fn retry_or_exhaust(
        &self,
        message: &Claimed,
        error: String,
        at_least: Option<Duration>,
    ) -> Outcome {
        let attempt = message.attempt_in_round.max(1) as u32;
        if attempt >= self.settings.max_attempts {
            tracing::error!(
                endpoint = message.target(),
                %error,
                "delivery failed on the last attempt; the message is exhausted (redrive it with `cinema outbox redrive`)"
            );
            return Outcome::Exhausted(error);
        }
        let delay = self.settings.retry_delay(attempt);
        let delay = at_least.map_or(delay, |min| delay.max(min));
        let next_attempt_at =
            chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        // One line per failed attempt, but a peer that is down fails every message the
        // same way: repeats are folded into one summary line a minute.
        if let Some(folded) = self.log_folder.admit(message.target(), &error) {
            tracing::warn!(
                endpoint = message.target(),
                %error,
                next_attempt_at = %next_attempt_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                similar_failures_folded = folded,
                "delivery failed; will retry"
            );
        }
        Outcome::RetryAfter(delay, error)
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
        cinema_service::telemetry::inject_trace_context(request.metadata_mut());
        if let Some(value) = cinema_service::BearerAuth::header_value(&self.callback_token) {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Calls the product's provider back, at its endpoint as it is now.
    async fn call_back(&self, message: &Claimed, event: Event) -> Result<(), tonic::Status> {
        let endpoint = message.endpoint.as_deref().ok_or_else(|| {
            tonic::Status::failed_precondition("the provider has no callback endpoint")
        })?;
        let mut client = ProductProviderServiceClient::new(self.channel(endpoint)?);
        match event {
            Event::SoldOut(request) => client
                .product_sold_out(self.authorized(request))
                .await
                .map(|_| ()),
            Event::Available(request) => client
                .product_available(self.authorized(request))
                .await
                .map(|_| ()),
        }
    }
}

/// What every callback says about its event.
struct EventHeader {
    id: String,
    occurred_at: Option<prost_types::Timestamp>,
    sequence: u64,
}

impl EventHeader {
    fn of(message: &Claimed) -> Self {
        Self {
            id: format!("orders-outbox-{}", message.id),
            occurred_at: Some(prost_types::Timestamp {
                seconds: message.occurred_at.timestamp(),
                nanos: message.occurred_at.timestamp_subsec_nanos() as i32,
            }),
            // Events about one product are written under its row lock, so outbox ids
            // grow with every event about it: they order events per product.
            sequence: message.id as u64,
        }
    }
}

fn external_ref(callback: &Callback) -> String {
    callback.external_ref.clone().unwrap_or_default()
}

/// A callback request, ready to send.
enum Event {
    SoldOut(pb::ProductSoldOutRequest),
    Available(pb::ProductAvailableRequest),
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

    #[test]
    fn the_default_schedule_retries_for_at_least_a_day_then_stops() {
        let settings = DispatchSettings::default();
        let schedule = settings.schedule();
        assert_eq!(schedule.len() + 1, settings.max_attempts as usize);
        let shortest: Duration = schedule.iter().map(|(low, _)| *low).sum();
        let longest: Duration = schedule.iter().map(|(_, high)| *high).sum();
        assert!(shortest >= Duration::from_secs(24 * 3600), "{shortest:?}");
        assert!(longest <= Duration::from_secs(27 * 3600), "{longest:?}");
        // What the dispatcher actually waits stays inside the documented window.
        for (attempt, (low, high)) in (1..).zip(&schedule) {
            let delay = settings.retry_delay(attempt);
            assert!(
                delay >= *low && delay <= *high,
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn a_lease_outlasts_its_attempt_and_is_short() {
        let settings = DispatchSettings::default();
        for kind in [
            Kind::ProductSoldOut,
            Kind::ProductAvailable,
            Kind::Sms,
            Kind::Refund,
        ] {
            assert!(settings.lease(kind) > settings.attempt_timeout(kind));
        }
        assert!(settings.lease(Kind::ProductSoldOut) < Duration::from_secs(10));
    }

    #[test]
    fn identical_failures_are_folded_into_one_line_a_window() {
        let folder = LogFolder::new(Duration::from_millis(50));
        assert_eq!(folder.admit("http://a", "down"), Some(0));
        assert_eq!(folder.admit("http://a", "down"), None);
        assert_eq!(folder.admit("http://a", "down"), None);
        assert_eq!(
            folder.admit("http://b", "down"),
            Some(0),
            "another endpoint"
        );
        assert_eq!(
            folder.admit("http://a", "refused"),
            Some(0),
            "another error"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            folder.admit("http://a", "down"),
            Some(2),
            "the summary counts"
        );
    }
}
