//! Retries by composition: wraps any sender, retries only what retrying can fix.

use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use rand::Rng;

use crate::{Message, PhoneNumber, SendSms, SmsError};

/// When to retry. The default is the book's: at once, then after about 2 s, then after
/// about 4 s, then give up (four attempts in all).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: usize,
    /// Make the first retry at once (a blip often clears immediately).
    pub immediate_first_retry: bool,
    /// The first delayed retry waits this long; each later one `factor` times longer.
    pub base_delay: Duration,
    pub factor: f32,
    pub max_delay: Duration,
    /// Each delay is moved at random by up to this fraction (0.2: ±20 %), so many
    /// senders failing together do not retry in lockstep.
    pub jitter: f64,
    /// A gateway's `Retry-After` is honoured up to this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            immediate_first_retry: true,
            base_delay: Duration::from_secs(2),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// The policy's delays, from backon's exponential schedule.
#[derive(Debug, Clone)]
struct Schedule(RetryPolicy);

impl BackoffBuilder for Schedule {
    type Backoff = Box<dyn Iterator<Item = Duration> + Send + Sync + Unpin>;

    fn build(self) -> Self::Backoff {
        let policy = self.0;
        let immediate = usize::from(policy.immediate_first_retry && policy.retries > 0);
        let delayed = ExponentialBuilder::default()
            .with_min_delay(policy.base_delay)
            .with_factor(policy.factor)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.retries - immediate)
            .build();
        Box::new(std::iter::repeat_n(Duration::ZERO, immediate).chain(delayed))
    }
}

impl RetryPolicy {
    /// The delay before the next attempt: the schedule's, jittered, and no shorter
    /// than the gateway's `Retry-After` (clamped).
    fn adjust(&self, error: &SmsError, scheduled: Option<Duration>) -> Option<Duration> {
        let scheduled = scheduled?;
        let jittered = if scheduled.is_zero() || self.jitter <= 0.0 {
            scheduled
        } else {
            let factor = 1.0 + rand::rng().random_range(-self.jitter..=self.jitter);
            scheduled.mul_f64(factor.max(0.0))
        };
        Some(match error.retry_after() {
            Some(asked) => jittered.max(asked.min(self.max_retry_after)),
            None => jittered,
        })
    }
}

/// A sender that retries another on retryable errors only.
#[derive(Debug)]
pub struct Retrying<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Retrying<S> {
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

#[async_trait]
impl<S: SendSms> SendSms for Retrying<S> {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError> {
        (|| self.inner.send(phone, message))
            .retry(Schedule(self.policy.clone()))
            .when(SmsError::is_retryable)
            .adjust(|error, delay| self.policy.adjust(error, delay))
            .notify(
                // Debug: a retry that then succeeds is not news, and one that fails for
                // good is reported once, by the caller.
                |error, delay| tracing::debug!(%error, ?delay, "sending a text failed; retrying"),
            )
            .await
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
