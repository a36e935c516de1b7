//! Cancelling an order gives its payment back through the payment processor, once,
//! however often the cancellation is retried, and whenever the processor answers: the
//! refund is written with the cancellation and delivered by the outbox dispatcher.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cinema_orders::domain::PaymentMethod;
use cinema_orders::payments::{Authorization, PaymentError, PaymentProcessor};
use cinema_proto::orders::v1 as pb;

use crate::helpers::*;
use crate::outbox_admin::{admin_client, list};

/// Approves every payment under a code derived from its request id, records every
/// refund it gives, and answers the first `unavailable` refunds as if it were down, or
/// refuses every refund when `refuse` is set.
#[derive(Debug, Default)]
pub(crate) struct Processor {
    unavailable: AtomicUsize,
    refuse: bool,
    refunds: Mutex<Vec<(String, String, i64)>>,
}

impl Processor {
    pub(crate) fn refunds(&self) -> Vec<(String, String, i64)> {
        self.refunds.lock().expect("lock").clone()
    }
}

pub(crate) fn code_for(request_id: &str) -> String {
    format!("AUTH-{}", &request_id[..8])
}

#[async_trait]
impl PaymentProcessor for Processor {
    async fn authorize(
        &self,
        request_id: &str,
        _: &PaymentMethod,
        _: i64,
    ) -> Result<Authorization, PaymentError> {
        Ok(Authorization {
            code: code_for(request_id),
        })
    }
    async fn void(&self, _: &str, _: Option<&str>) -> Result<(), PaymentError> {
        Ok(())
    }
    async fn refund(&self, request_id: &str, code: &str, amount: i64) -> Result<(), PaymentError> {
        if self.refuse {
            return Err(PaymentError::Declined(
                "the authorization is too old to refund".into(),
            ));
        }
        let down = self
            .unavailable
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if down.is_ok() {
            return Err(PaymentError::Unavailable("processor unreachable".into()));
        }
        self.refunds
            .lock()
            .expect("lock")
            .push((request_id.to_owned(), code.to_owned(), amount));
        Ok(())
    }
}

/// A service with `processor`, whose outbox the test delivers itself.
async fn spawn(processor: Arc<Processor>) -> TestApp {
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("test database");
    spawn_app_with_processor(delivering_on_demand(&database), database, processor).await
}

async fn cancel(app: &TestApp, confirmation: &str) -> pb::Order {
    app.client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: confirmation.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("cancelled")
        .into_inner()
        .order
        .expect("order")
}

/// The refund rows of the outbox: (status, attempts, last error).
async fn refund_rows(app: &TestApp) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as(
        "SELECT status, attempts, last_error FROM outbox WHERE kind = 'payment_refund' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("outbox")
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_the_whole_payment_once() {
    let processor = Arc::new(Processor::default());
    let app = spawn(processor.clone()).await;
    let product = app.add_product("Heat, 7 pm", 10, 1250).await;
    app.add_promotion("FREEBIE", 5, true).await;

    let by_card = order(vec![item(&product, 2)], card(VISA));
    let by_paypal = order(vec![item(&product, 1)], paypal("jo@example.com"));
    let by_promotion = order(vec![item(&product, 1)], promotion("FREEBIE"));
    let mut confirmations = Vec::new();
    for request in [&by_card, &by_paypal, &by_promotion] {
        confirmations.push(app.place(request, "order").await.confirmation);
    }
    app.deliver_until_settled().await;
    assert!(
        processor.refunds().is_empty(),
        "nothing refunded before a cancellation"
    );

    for confirmation in &confirmations {
        cancel(&app, confirmation).await;
        // A retried cancellation (a second click, a client's retry) refunds nothing more.
        cancel(&app, confirmation).await;
    }
    app.deliver_until_settled().await;

    let mut refunds = processor.refunds();
    refunds.sort();
    let mut expected = vec![
        (
            by_card.request_id.clone(),
            code_for(&by_card.request_id),
            2500,
        ),
        (
            by_paypal.request_id.clone(),
            code_for(&by_paypal.request_id),
            1250,
        ),
    ];
    expected.sort();
    assert_eq!(
        refunds, expected,
        "card and PayPal refunded in full, once each; a promotion is given back here"
    );
    assert_eq!(
        refund_rows(&app).await,
        vec![("delivered".to_owned(), 1, None); 2]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refund_waits_for_a_processor_that_is_down_and_is_given_once_it_answers() {
    let processor = Arc::new(Processor {
        unavailable: AtomicUsize::new(2),
        ..Processor::default()
    });
    let app = spawn(processor.clone()).await;
    let product = app.add_product("Heat, 9 pm", 10, 1000).await;
    let placed = order(vec![item(&product, 3)], card(VISA));
    let confirmation = app.place(&placed, "order").await.confirmation;

    let cancelled = cancel(&app, &confirmation).await;
    assert_eq!(
        cancelled.status(),
        pb::OrderStatus::Cancelled,
        "the cancellation does not wait for the processor"
    );
    app.outbox.deliver_due().await.expect("deliver");
    let rows = refund_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1), ("pending", 1));
    assert_eq!(rows[0].2.as_deref(), Some("processor unreachable"));
    assert!(processor.refunds().is_empty());

    app.deliver_until_settled().await;
    assert_eq!(
        processor.refunds(),
        vec![(
            placed.request_id.clone(),
            code_for(&placed.request_id),
            3000
        )]
    );
    assert_eq!(
        refund_rows(&app).await,
        vec![("delivered".to_owned(), 3, None)]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refund_the_processor_refuses_is_kept_for_an_operator_and_not_retried() {
    let processor = Arc::new(Processor {
        refuse: true,
        ..Processor::default()
    });
    let app = spawn(processor.clone()).await;
    let product = app.add_product("Heat, 11 pm", 10, 1000).await;
    let confirmation = app
        .place(&order(vec![item(&product, 1)], card(VISA)), "order")
        .await
        .confirmation;

    cancel(&app, &confirmation).await;
    app.deliver_until_settled().await;
    assert_eq!(
        refund_rows(&app).await,
        vec![(
            "exhausted".to_owned(),
            1,
            Some("the authorization is too old to refund".to_owned())
        )],
        "one attempt, its error kept: `cinema outbox list` shows it, `redrive` retries it"
    );
    let mut admin = admin_client(&app).await;
    let exhausted = list(&mut admin, pb::OutboxStatus::Exhausted).await;
    assert_eq!(exhausted.len(), 1);
    assert_eq!(exhausted[0].kind(), pb::OutboxKind::PaymentRefund);
    assert_eq!(
        exhausted[0].refund_cents, 1000,
        "what an operator must give back"
    );
    assert_eq!(
        exhausted[0].last_error,
        "the authorization is too old to refund"
    );
    assert_eq!(
        app.availability(&product).await,
        10,
        "the seats are back whatever the processor says"
    );
    app.stop().await;
}
