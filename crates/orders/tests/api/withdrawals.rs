//! A provider withdraws a product (a cancelled showing): its sales end at once, the
//! holds of it are given back, and every order of it is cancelled and refunded, its
//! customer texted, once, however often the withdrawal is asked for.

use std::sync::Arc;

use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;
use crate::refunds::{Processor, code_for};

const PHONE: &str = "+14155550132";

/// A service that refunds through `processor`, queues texts (to a gateway nobody
/// listens on: the test reads them in the outbox) and delivers its outbox when told.
async fn spawn(processor: Arc<Processor>) -> TestApp {
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("test database");
    let mut config = delivering_on_demand(&database);
    config.sms.watertel_url = Some("http://127.0.0.1:9/watertel".into());
    config.sms.watertel_password = Some("secret".to_owned().into());
    config.sms.watertel_weight = 100;
    spawn_app_with_processor(config, database, processor).await
}

async fn withdraw(
    app: &TestApp,
    product: &str,
) -> Result<pb::WithdrawProductResponse, tonic::Status> {
    app.client()
        .withdraw_product(admin(pb::WithdrawProductRequest {
            product_id: product.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

/// The texts queued for customers, in order.
async fn texts(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT payload->>'message' FROM outbox WHERE kind = 'sms' ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn withdrawing_a_product_cancels_and_refunds_every_order_of_it_once() {
    let processor = Arc::new(Processor::default());
    let app = spawn(processor.clone()).await;
    let heat = app
        .add_product(
            "Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST",
            20,
            1250,
        )
        .await;
    let other = app.add_product("Alien, 9 pm", 20, 1000).await;
    app.add_promotion("FREEBIE", 5, true).await;

    let mut by_card = order(vec![item(&heat, 2)], card(VISA));
    by_card.customer = Some(pb::Customer {
        phone: Some(PHONE.into()),
    });
    let by_paypal = order(vec![item(&heat, 1)], paypal("jo@example.com"));
    let by_promotion = order(vec![item(&heat, 1)], promotion("FREEBIE"));
    let elsewhere = order(vec![item(&other, 1)], card(VISA));
    let mut withdrawn = Vec::new();
    for request in [&by_card, &by_paypal, &by_promotion] {
        withdrawn.push(app.place(request, "order").await.confirmation);
    }
    let untouched = app.place(&elsewhere, "order").await.confirmation;
    // Somebody is choosing how to pay for two seats.
    let held = app
        .client()
        .hold_products(pb::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![item(&heat, 2)],
            ttl_seconds: 0,
        })
        .await
        .expect("hold")
        .into_inner()
        .hold
        .expect("hold");
    app.deliver_until_settled().await;
    let texts_before = texts(&app).await.len();

    let first = withdraw(&app, &heat).await.expect("withdrawn");
    assert_eq!(first.orders_cancelled, 3);
    for confirmation in &withdrawn {
        let order = app.order(confirmation).await;
        assert_eq!(order.status(), pb::OrderStatus::Cancelled, "{order:?}");
        assert!(order.cancelled_by_provider, "{order:?}");
    }
    let other_order = app.order(&untouched).await;
    assert_eq!(other_order.status(), pb::OrderStatus::Placed);
    assert!(!other_order.cancelled_by_provider);

    // Its sales are over: no new hold, and the hold being paid for is given back.
    let refused = app
        .client()
        .hold_products(pb::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![item(&heat, 1)],
            ttl_seconds: 0,
        })
        .await;
    let details = expect_details(refused, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::SalesEnded));
    let mut pay_the_hold = order(Vec::new(), card(VISA));
    pay_the_hold.hold_id = held.hold_id.clone();
    let details = expect_details(
        app.client().place_order(pay_the_hold).await,
        Code::FailedPrecondition,
    );
    assert_eq!(details.reason, Some(Reason::HoldExpired));

    // Asked again (the provider's retry): the same answer, nothing more cancelled.
    let again = withdraw(&app, &heat).await.expect("withdrawn again");
    assert_eq!(again, first);
    // The customer's own cancellation of a withdrawn order changes nothing either.
    let cancelled = app
        .client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: withdrawn[0].clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("already cancelled")
        .into_inner()
        .order
        .expect("order");
    assert!(cancelled.cancelled_by_provider);

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
        "card and PayPal refunded in full, once each"
    );
    // The promotion's use is given back: it pays for a fifth order of the other product.
    let texts = texts(&app).await;
    assert_eq!(
        texts[texts_before..],
        [format!(
            "Cinema: Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST is \
             cancelled. Order {}: $25.00 will be refunded.",
            withdrawn[0]
        )],
        "only the customer who gave a phone is texted, once"
    );
    let uses: i32 =
        sqlx::query_scalar("SELECT uses_remaining FROM promotions WHERE code = 'FREEBIE'")
            .fetch_one(&app.pool)
            .await
            .expect("promotion");
    assert_eq!(uses, 5, "the promotion's use is given back");
}

/// The projector breaks mid-film: the showing is called off after its audience was let
/// in, and they are refunded too; their orders keep the record of the visit.
#[tokio::test]
async fn a_showing_called_off_after_its_doors_opened_refunds_those_let_in() {
    let processor = Arc::new(Processor::default());
    let app = spawn(processor.clone()).await;
    let heat = app.add_product("Heat, 7 pm", 10, 1250).await;
    let request = order(vec![item(&heat, 2)], card(VISA));
    let let_in = app.place(&request, "order").await.confirmation;
    let door = crate::admission::admit_anyway(&app, &let_in)
        .await
        .expect("let in");

    let withdrawn = withdraw(&app, &heat).await.expect("withdrawn");
    assert_eq!(withdrawn.orders_cancelled, 1);
    let cancelled = app.order(&let_in).await;
    assert_eq!(cancelled.status(), pb::OrderStatus::Cancelled);
    assert!(cancelled.cancelled_by_provider);
    assert_eq!(
        cancelled.admitted_at, door.admitted_at,
        "when they came stays"
    );
    app.deliver_until_settled().await;
    assert_eq!(
        processor.refunds(),
        [(
            request.request_id.clone(),
            code_for(&request.request_id),
            2500
        )]
    );
}

#[tokio::test]
async fn only_an_admin_withdraws_a_product_that_exists() {
    let app = spawn(Arc::new(Processor::default())).await;
    let product = app.add_product("Heat, 7 pm", 10, 1250).await;
    let anonymous = app
        .client()
        .withdraw_product(pb::WithdrawProductRequest {
            product_id: product.clone(),
        })
        .await;
    expect_code(anonymous, Code::Unauthenticated);
    let message = expect_code(withdraw(&app, "999999").await, Code::NotFound);
    assert!(message.contains("999999"), "{message}");
    let message = expect_code(withdraw(&app, "seven").await, Code::InvalidArgument);
    assert!(message.contains("product_id"), "{message}");
    // Nothing changed: it is still sold.
    assert_eq!(app.availability(&product).await, 10);
    app.place(&order(vec![item(&product, 1)], card(VISA)), "order")
        .await;
}

/// An order of a withdrawn product and another is cancelled whole; its provider hears
/// that the other is available again, and nothing of the withdrawn one.
#[tokio::test]
async fn an_order_of_two_products_gives_the_other_back_to_sale() {
    let app = spawn(Arc::new(Processor::default())).await;
    let provider_id = register_provider(&mut app.client(), "http://127.0.0.1:9").await;
    let product = |external_ref: &'static str| {
        let mut client = app.client();
        let provider_id = provider_id.clone();
        async move {
            client
                .add_product(admin(pb::AddProductRequest {
                    description: format!("Showtime {external_ref}"),
                    quantity: 2,
                    price_cents: 1000,
                    provider_id: Some(provider_id),
                    external_ref: Some(external_ref.into()),
                    ..Default::default()
                }))
                .await
                .expect("product")
                .into_inner()
                .product_id
        }
    };
    let (withdrawn, other) = (product("7").await, product("8").await);
    // Both sold out by one order.
    app.place(
        &order(vec![item(&withdrawn, 2), item(&other, 2)], card(VISA)),
        "order",
    )
    .await;
    let events = || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT kind, payload->>'external_ref' FROM outbox
             WHERE kind LIKE 'product_%' ORDER BY id",
        )
        .fetch_all(&app.pool)
        .await
        .expect("outbox")
    };
    let before = events().await.len();

    let done = withdraw(&app, &withdrawn).await.expect("withdrawn");
    assert_eq!(done.orders_cancelled, 1);
    assert_eq!(
        events().await[before..],
        [("product_available".to_owned(), "8".to_owned())]
    );
    assert_eq!(app.availability(&other).await, 2);
}

/// A withdrawal that stopped after ending the sales (the process killed there) is
/// finished by the provider's retry: its orders are cancelled then, once.
#[tokio::test]
async fn a_withdrawal_cut_short_is_finished_by_the_next_call() {
    let processor = Arc::new(Processor::default());
    let app = spawn(processor.clone()).await;
    let product = app.add_product("Heat, 7 pm", 10, 1250).await;
    let request = order(vec![item(&product, 2)], card(VISA));
    let confirmation = app.place(&request, "order").await.confirmation;
    // What the first step of a withdrawal writes, and nothing after it.
    sqlx::query("UPDATE products SET sales_end = now(), withdrawn_at = now() WHERE id = $1")
        .bind(product.parse::<i64>().expect("id"))
        .execute(&app.pool)
        .await
        .expect("first step");
    assert_eq!(
        app.order(&confirmation).await.status(),
        pb::OrderStatus::Placed
    );

    let done = withdraw(&app, &product).await.expect("finished");
    assert_eq!(done.orders_cancelled, 1);
    let order = app.order(&confirmation).await;
    assert_eq!(order.status(), pb::OrderStatus::Cancelled);
    assert!(order.cancelled_by_provider);
    assert_eq!(withdraw(&app, &product).await.expect("again"), done);
    app.deliver_until_settled().await;
    assert_eq!(
        processor.refunds(),
        [(
            request.request_id.clone(),
            code_for(&request.request_id),
            2500
        )]
    );
}
