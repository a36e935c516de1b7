//! Retries and the traffic split, composed around fake senders.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cinema_sms::{
    Message, PhoneNumber, Region, RetryPolicy, Retrying, Router, SendSms, SmsClient, SmsError,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

/// A sender that answers from a script (the last answer repeats) and records when it
/// was called, on tokio's clock.
#[derive(Debug)]
struct Scripted {
    name: &'static str,
    answers: Vec<Result<(), SmsError>>,
    calls: Mutex<Vec<Instant>>,
}

impl Scripted {
    fn new(name: &'static str, answers: Vec<Result<(), SmsError>>) -> Arc<Self> {
        Arc::new(Self {
            name,
            answers,
            calls: Mutex::new(Vec::new()),
        })
    }
    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().expect("calls").clone()
    }
}

#[async_trait]
impl SendSms for Scripted {
    async fn send(&self, _: &PhoneNumber, _: &Message) -> Result<(), SmsError> {
        let mut calls = self.calls.lock().expect("calls");
        calls.push(Instant::now());
        let i = (calls.len() - 1).min(self.answers.len() - 1);
        self.answers[i].clone()
    }
    fn name(&self) -> &str {
        self.name
    }
}

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+14155550132", Region::US).expect("valid")
}
fn text() -> Message {
    Message::parse("hello").expect("valid")
}
fn down(n: u32) -> SmsError {
    SmsError::retryable(format!("gateway down #{n}"))
}

#[tokio::test(start_paused = true)]
async fn the_default_schedule_retries_at_once_then_after_about_2_then_4_seconds() {
    let gateway = Scripted::new(
        "flaky",
        vec![Err(down(1)), Err(down(2)), Err(down(3)), Err(down(4))],
    );
    let start = Instant::now();
    let error = Retrying::new(gateway.clone(), RetryPolicy::default())
        .send(&phone(), &text())
        .await
        .expect_err("gives up");
    assert_eq!(error, down(4), "the last attempt's error is returned");
    let offsets: Vec<f64> = gateway
        .calls()
        .iter()
        .map(|t| (*t - start).as_secs_f64())
        .collect();
    assert_eq!(
        offsets.len(),
        4,
        "one attempt and three retries: {offsets:?}"
    );
    assert_eq!(offsets[0], 0.0);
    assert_eq!(offsets[1], 0.0, "the first retry is immediate");
    let second_gap = offsets[2] - offsets[1];
    let third_gap = offsets[3] - offsets[2];
    assert!((1.6..=2.4).contains(&second_gap), "about 2 s: {offsets:?}");
    assert!((3.2..=4.8).contains(&third_gap), "about 4 s: {offsets:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_succeeds_stops_retrying() {
    let gateway = Scripted::new("flaky", vec![Err(down(1)), Ok(())]);
    Retrying::new(gateway.clone(), RetryPolicy::default())
        .send(&phone(), &text())
        .await
        .expect("sent");
    assert_eq!(gateway.calls().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn bad_input_misconfiguration_and_unconfirmed_sends_are_never_retried() {
    for error in [
        SmsError::Rejected("bad phone".into()),
        SmsError::Misconfigured("bad password".into()),
        SmsError::Unconfirmed("timed out after sending".into()),
    ] {
        let gateway = Scripted::new("gw", vec![Err(error.clone())]);
        let got = Retrying::new(gateway.clone(), RetryPolicy::default())
            .send(&phone(), &text())
            .await
            .expect_err("fails");
        assert_eq!(got, error);
        assert_eq!(gateway.calls().len(), 1, "{error:?} must not be retried");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_but_clamped() {
    let limited = |secs| SmsError::Retryable {
        reason: "429".into(),
        retry_after: Some(Duration::from_secs(secs)),
    };
    let gateway = Scripted::new("milio", vec![Err(limited(10)), Err(limited(3600)), Ok(())]);
    let start = Instant::now();
    Retrying::new(gateway.clone(), RetryPolicy::default())
        .send(&phone(), &text())
        .await
        .expect("sent");
    let offsets: Vec<f64> = gateway
        .calls()
        .iter()
        .map(|t| (*t - start).as_secs_f64())
        .collect();
    assert!(
        offsets[1] >= 10.0,
        "waits what the gateway asked, not 0 s: {offsets:?}"
    );
    let clamped = offsets[2] - offsets[1];
    assert!(
        (30.0..=31.0).contains(&clamped),
        "an hour is clamped to 30 s: {offsets:?}"
    );
}

#[tokio::test]
async fn the_router_splits_80_20_within_two_points_over_ten_thousand_texts() {
    let watertel = Scripted::new("watertel", vec![Ok(())]);
    let milio = Scripted::new("milio", vec![Ok(())]);
    let router = Router::with_rng(
        vec![
            (80, watertel.clone() as Arc<dyn SendSms>),
            (20, milio.clone() as Arc<dyn SendSms>),
        ],
        StdRng::seed_from_u64(2024),
    )
    .expect("router");
    for _ in 0..10_000 {
        router.send(&phone(), &text()).await.expect("sent");
    }
    let share = watertel.calls().len() as f64 / 10_000.0;
    assert_eq!(watertel.calls().len() + milio.calls().len(), 10_000);
    assert!((0.78..=0.82).contains(&share), "watertel got {share}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_can_reach_the_other_gateway() {
    // One gateway always fails; retry wraps the router, so every text still goes out.
    let broken = Scripted::new("broken", vec![Err(down(0))]);
    let healthy = Scripted::new("healthy", vec![Ok(())]);
    let router = Router::with_rng(
        vec![
            (50, broken.clone() as Arc<dyn SendSms>),
            (50, healthy.clone() as Arc<dyn SendSms>),
        ],
        StdRng::seed_from_u64(7),
    )
    .expect("router");
    let policy = RetryPolicy {
        retries: 10,
        ..RetryPolicy::default()
    };
    let stack = Retrying::new(router, policy);
    for _ in 0..50 {
        stack
            .send(&phone(), &text())
            .await
            .expect("sent through the healthy gateway");
    }
    assert_eq!(healthy.calls().len(), 50);
    assert!(
        !broken.calls().is_empty(),
        "the broken gateway was tried first at least once"
    );
}

#[test]
fn weights_must_be_usable() {
    let gw = Scripted::new("gw", vec![Ok(())]);
    assert!(matches!(
        Router::new(vec![]),
        Err(SmsError::Misconfigured(_))
    ));
    assert!(matches!(
        Router::new(vec![(0, gw as Arc<dyn SendSms>)]),
        Err(SmsError::Misconfigured(_))
    ));
}

#[tokio::test]
async fn send_sms_validates_before_any_network_call() {
    let gateway = Scripted::new("gw", vec![Ok(())]);
    let client = SmsClient::new(gateway.clone(), Region::US);
    assert!(matches!(
        client.send_sms("555-01", "hi").await,
        Err(SmsError::InvalidPhone(_))
    ));
    assert!(matches!(
        client.send_sms("+14155550132", "").await,
        Err(SmsError::InvalidMessage(_))
    ));
    assert!(matches!(
        client.send_sms("+14155550132", &"x".repeat(141)).await,
        Err(SmsError::InvalidMessage(_))
    ));
    assert!(gateway.calls().is_empty(), "nothing was sent");
    client
        .send_sms("(415) 555-0132", "hi")
        .await
        .expect("a national number with the default region");
    assert_eq!(gateway.calls().len(), 1);
}
