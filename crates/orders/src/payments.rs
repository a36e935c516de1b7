//! Payment processing behind a trait, so the checkout flow does not depend on one
//! processor. [`SimulatedProcessor`] approves every valid payment except documented
//! test values, after a configurable delay, which makes failed and slow checkouts
//! testable end to end.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::PaymentMethod;

/// A processor's approval: the reference it gave, kept with the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub code: String,
}

/// Why a processor did not authorize a payment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// Refused, in words a customer can act on. Retrying the same payment will not help.
    #[error("{0}")]
    Declined(String),
    /// The processor could not be reached or did not answer in time. Nothing is known to
    /// be authorized; retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait PaymentProcessor: Send + Sync + std::fmt::Debug + 'static {
    /// Authorizes `amount_cents` on `method`. `request_id` is the checkout's idempotency
    /// key: a processor sees the same key on a retry. Promotions are settled by the
    /// store, not the processor, but still pass through here so a processor sees every
    /// checkout.
    async fn authorize(
        &self,
        request_id: &str,
        method: &PaymentMethod,
        amount_cents: i64,
    ) -> Result<Authorization, PaymentError>;

    /// Cancels an authorization that will not be captured (its hold expired, or the
    /// process that asked for it died). Idempotent: voiding twice, or voiding a request
    /// that was never authorized (`code` is then `None`), succeeds.
    async fn void(&self, request_id: &str, code: Option<&str>) -> Result<(), PaymentError>;

    /// Gives back the whole of a payment that was taken for an order since cancelled:
    /// `code` is the authorization it was taken under, `request_id` the checkout's key.
    /// Idempotent on `request_id`: the outbox delivers at least once, and refunding the
    /// same payment twice must refund it once.
    async fn refund(
        &self,
        request_id: &str,
        code: &str,
        amount_cents: i64,
    ) -> Result<(), PaymentError>;
}

/// Card number that the simulated processor always declines.
pub const DECLINED_CARD: &str = "4000000000000002";
/// Card number for which the simulated processor never answers in time (UNAVAILABLE).
pub const UNAVAILABLE_CARD: &str = "4000000000000119";
/// Card number whose security code, when one is given, the simulated processor finds
/// wrong (declined), as a real issuer would a mistyped one.
pub const WRONG_SECURITY_CODE_CARD: &str = "4000000000000101";
/// PayPal addresses whose local part ends with this are declined (`jo+decline@x.com`).
pub const DECLINED_PAYPAL_SUFFIX: &str = "+decline";

/// Approves valid payments after `latency` (a real processor takes 200 ms to 2 s),
/// except the documented test values.
#[derive(Debug, Default, Clone)]
pub struct SimulatedProcessor {
    latency: Duration,
}

impl SimulatedProcessor {
    pub fn new(latency: Duration) -> Self {
        Self { latency }
    }
}

#[async_trait]
impl PaymentProcessor for SimulatedProcessor {
    async fn authorize(
        &self,
        _request_id: &str,
        method: &PaymentMethod,
        _amount_cents: i64,
    ) -> Result<Authorization, PaymentError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        match method {
            PaymentMethod::CreditCard(card) if card.number.expose_digits() == DECLINED_CARD => Err(
                PaymentError::Declined("the card was declined by the issuer".into()),
            ),
            PaymentMethod::CreditCard(card)
                if card.number.expose_digits() == WRONG_SECURITY_CODE_CARD
                    && card.security_code.is_some() =>
            {
                Err(PaymentError::Declined(
                    "the card's security code does not match; check the digits on the card".into(),
                ))
            }
            PaymentMethod::CreditCard(card) if card.number.expose_digits() == UNAVAILABLE_CARD => {
                Err(PaymentError::Unavailable(
                    "the payment processor did not answer in time; retry".into(),
                ))
            }
            PaymentMethod::PayPal(email)
                if email
                    .as_str()
                    .split_once('@')
                    .is_some_and(|(local, _)| local.ends_with(DECLINED_PAYPAL_SUFFIX)) =>
            {
                Err(PaymentError::Declined("PayPal declined the payment".into()))
            }
            _ => Ok(Authorization {
                code: format!("SIM-{}", uuid_like()),
            }),
        }
    }

    async fn void(&self, _request_id: &str, _code: Option<&str>) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn refund(
        &self,
        _request_id: &str,
        _code: &str,
        _amount_cents: i64,
    ) -> Result<(), PaymentError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(())
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016X}")
}

/// Any processor, its calls counted and timed: `cinema_payment_calls_total{operation,
/// result}` and `cinema_payment_call_duration_seconds{operation}`. A buyer waits on the
/// processor (outside every lock), so its latency is the first thing to look at when a
/// checkout is slow, and a run of `unavailable` or `abandoned` answers, or of
/// `declined` ones, is the first sign of its trouble.
#[derive(Debug)]
pub struct Metered(pub Arc<dyn PaymentProcessor>);

#[async_trait]
impl PaymentProcessor for Metered {
    async fn authorize(
        &self,
        request_id: &str,
        method: &PaymentMethod,
        amount_cents: i64,
    ) -> Result<Authorization, PaymentError> {
        let call = Call::start("authorize");
        call.finish(self.0.authorize(request_id, method, amount_cents).await)
    }

    async fn void(&self, request_id: &str, code: Option<&str>) -> Result<(), PaymentError> {
        let call = Call::start("void");
        call.finish(self.0.void(request_id, code).await)
    }

    async fn refund(
        &self,
        request_id: &str,
        code: &str,
        amount_cents: i64,
    ) -> Result<(), PaymentError> {
        let call = Call::start("refund");
        call.finish(self.0.refund(request_id, code, amount_cents).await)
    }
}

/// One call to the processor, recorded once: with its answer, or as `abandoned` when
/// the caller gives up waiting (a checkout's deadline drops the call mid-flight).
struct Call {
    operation: &'static str,
    started: std::time::Instant,
    recorded: bool,
}

impl Call {
    fn start(operation: &'static str) -> Self {
        Self {
            operation,
            started: std::time::Instant::now(),
            recorded: false,
        }
    }

    fn finish<T>(mut self, answer: Result<T, PaymentError>) -> Result<T, PaymentError> {
        self.record(match &answer {
            Ok(_) => "ok",
            Err(PaymentError::Declined(_)) => "declined",
            Err(PaymentError::Unavailable(_)) => "unavailable",
        });
        answer
    }

    fn record(&mut self, result: &'static str) {
        self.recorded = true;
        let operation = self.operation;
        metrics::counter!("cinema_payment_calls_total", "operation" => operation, "result" => result)
            .increment(1);
        metrics::histogram!("cinema_payment_call_duration_seconds", "operation" => operation)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.recorded {
            self.record("abandoned");
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::domain::Email;

    /// `(operation, result)` of each payment call counted, with its count.
    fn calls(recorder: &DebuggingRecorder) -> Vec<(String, String, u64)> {
        let mut calls: Vec<_> = recorder
            .snapshotter()
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| {
                let key = key.key();
                let label = |name: &str| {
                    key.labels()
                        .find(|l| l.key() == name)
                        .map(|l| l.value().to_owned())
                };
                match value {
                    DebugValue::Counter(n) if key.name() == "cinema_payment_calls_total" => {
                        Some((label("operation")?, label("result")?, n))
                    }
                    _ => None,
                }
            })
            .collect();
        calls.sort();
        calls
    }

    #[test]
    fn every_call_is_counted_once_with_its_answer_or_as_abandoned() {
        let recorder = DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let slow = Metered(Arc::new(SimulatedProcessor::new(Duration::from_secs(5))));
                let paypal =
                    |email: &str| PaymentMethod::PayPal(Email::parse(email).expect("an address"));
                let payment = paypal("jo@example.com");
                // A checkout that stops waiting after a second drops the call.
                let waited = tokio::time::timeout(
                    Duration::from_secs(1),
                    slow.authorize("a", &payment, 100),
                )
                .await;
                assert!(waited.is_err(), "the processor takes five seconds");
                slow.authorize("b", &payment, 100).await.expect("approved");
                let declined = paypal(&format!("jo{DECLINED_PAYPAL_SUFFIX}@example.com"));
                slow.authorize("c", &declined, 100)
                    .await
                    .expect_err("declined");
                slow.void("a", None).await.expect("voided");
            });
        });
        let expected = [
            ("authorize", "abandoned", 1),
            ("authorize", "declined", 1),
            ("authorize", "ok", 1),
            ("void", "ok", 1),
        ]
        .map(|(operation, result, n)| (operation.to_owned(), result.to_owned(), n));
        assert_eq!(calls(&recorder), expected);
    }
}
