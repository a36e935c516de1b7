//! Payment processing behind a trait, so the checkout flow does not depend on one
//! processor. [`SimulatedProcessor`] approves every valid payment except documented
//! test values, which makes failed checkouts testable end to end.

use async_trait::async_trait;

use crate::domain::PaymentMethod;

/// A processor's approval: the reference it gave, kept with the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub code: String,
}

/// Why a processor refused a payment, in words a customer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Decline {
    pub reason: String,
}

#[async_trait]
pub trait PaymentProcessor: Send + Sync + std::fmt::Debug + 'static {
    /// Authorizes `amount_cents` on `method`. Promotions are settled by the store, not
    /// the processor, but still pass through here so a processor sees every checkout.
    async fn authorize(
        &self,
        method: &PaymentMethod,
        amount_cents: i64,
    ) -> Result<Authorization, Decline>;
}

/// Card number that the simulated processor always declines.
pub const DECLINED_CARD: &str = "4000000000000002";
/// PayPal addresses whose local part ends with this are declined (`jo+decline@x.com`).
pub const DECLINED_PAYPAL_SUFFIX: &str = "+decline";

#[derive(Debug, Default, Clone)]
pub struct SimulatedProcessor;

#[async_trait]
impl PaymentProcessor for SimulatedProcessor {
    async fn authorize(
        &self,
        method: &PaymentMethod,
        _amount_cents: i64,
    ) -> Result<Authorization, Decline> {
        let declined = match method {
            PaymentMethod::CreditCard(card) => card.number.expose_digits() == DECLINED_CARD,
            PaymentMethod::PayPal(email) => email
                .as_str()
                .split_once('@')
                .is_some_and(|(local, _)| local.ends_with(DECLINED_PAYPAL_SUFFIX)),
            PaymentMethod::Promotion(_) => false,
        };
        if declined {
            return Err(Decline {
                reason: match method {
                    PaymentMethod::PayPal(_) => "PayPal declined the payment".into(),
                    _ => "the card was declined by the issuer".into(),
                },
            });
        }
        Ok(Authorization {
            code: format!("SIM-{}", uuid_like()),
        })
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016X}")
}
