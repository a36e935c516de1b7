//! Payment processing behind a trait, so the checkout flow does not depend on one
//! processor. [`SimulatedProcessor`] approves every valid payment except documented
//! test values, after a configurable delay, which makes failed and slow checkouts
//! testable end to end.

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
