//! Order texts: queued with the order, sent through the SMS stack, never lost.

use std::net::SocketAddr;

use cinema_orders::config::SmsSettings;
use cinema_sms_sim::{SimSettings, Simulator, Text};
use secrecy::SecretString;

use crate::fake_provider::free_addr;
use crate::helpers::*;

const PHONE: &str = "+14155550132";

fn sms_settings(sim: SocketAddr) -> SmsSettings {
    SmsSettings {
        watertel_url: Some(format!("http://{sim}/watertel")),
        watertel_username: "cinema".into(),
        watertel_password: Some(SecretString::from("watertel-secret".to_owned())),
        watertel_weight: 80,
        milio_url: Some(format!("http://{sim}/milio")),
        milio_token: Some(SecretString::from("milio-token".to_owned())),
        milio_registered_phone: "+14155550100".into(),
        milio_weight: 20,
        retries: 1,
        retry_base_ms: 50,
    }
}

/// A service whose outbox the test delivers itself, with `deliver_due()`.
async fn spawn_app_texting(sim: SocketAddr) -> TestApp {
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("database");
    let mut config = settings(&database);
    config.sms = sms_settings(sim);
    config.dispatcher = false;
    spawn_app_with(config, database).await
}

/// What the simulator accepted; nothing while it is down.
async fn texts(sim: SocketAddr) -> Vec<Text> {
    async {
        let body = reqwest::get(format!("http://{sim}/texts")).await.ok()?;
        body.json::<Vec<Text>>().await.ok()
    }
    .await
    .unwrap_or_default()
}

fn with_phone(
    mut request: cinema_proto::orders::v1::PlaceOrderRequest,
) -> cinema_proto::orders::v1::PlaceOrderRequest {
    request.customer = Some(cinema_proto::orders::v1::Customer {
        phone: Some(PHONE.into()),
    });
    request
}

/// What GetOrder says of where an order's texts go.
async fn phone_of(app: &TestApp, confirmation: &str) -> String {
    app.client()
        .get_order(cinema_proto::orders::v1::GetOrderRequest {
            confirmation: confirmation.to_owned(),
        })
        .await
        .expect("order read")
        .into_inner()
        .order
        .expect("the order")
        .phone_last_four
}

#[tokio::test]
async fn an_order_with_a_phone_is_confirmed_by_text() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    let app = spawn_app_texting(sim.addr).await;
    let product = app.add_product("Seat", 10, 1000).await;
    let placed = app
        .client()
        .place_order(with_phone(order(vec![item(&product, 4)], card(VISA))))
        .await
        .expect("order")
        .into_inner();
    assert!(texts(sim.addr).await.is_empty(), "queued, not sent inline");
    // The order says where its texts go, by the number's last digits only: its
    // confirmation code alone reads it.
    assert_eq!(phone_of(&app, &placed.confirmation).await, "0132");

    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let texts = texts(sim.addr).await;
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].phone, "+14155550132");
    assert!(
        texts[0].message.contains(&placed.confirmation),
        "{:?}",
        texts[0]
    );
    assert!(
        texts[0].message.contains("4 tickets") && texts[0].message.contains("$40.00"),
        "{:?}",
        texts[0]
    );

    // Orders without a phone send nothing, and say so.
    let silent = app
        .client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("order")
        .into_inner();
    assert_eq!(phone_of(&app, &silent.confirmation).await, "");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = 'sms'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(queued, 1);
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_cancelled_order_with_a_phone_is_texted_once_with_its_refund() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    let app = spawn_app_texting(sim.addr).await;
    let product = app.add_product("Seat", 10, 1250).await;
    let placed = app
        .place(
            &with_phone(order(vec![item(&product, 2)], card(VISA))),
            "order",
        )
        .await;
    let unannounced = app
        .place(&order(vec![item(&product, 1)], card(VISA)), "order")
        .await;
    app.deliver_until_settled().await;
    let confirmations = texts(sim.addr).await.len();

    for confirmation in [
        &placed.confirmation,
        &placed.confirmation,
        &unannounced.confirmation,
    ] {
        app.client()
            .cancel_order(cinema_proto::orders::v1::CancelOrderRequest {
                confirmation: confirmation.clone(),
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .expect("cancelled");
    }
    app.deliver_until_settled().await;
    let sent = texts(sim.addr).await;
    let cancelled: Vec<_> = sent[confirmations..].iter().collect();
    assert_eq!(
        cancelled.len(),
        1,
        "once, and only to the order with a phone: {sent:?}"
    );
    assert_eq!(cancelled[0].phone, PHONE);
    assert!(
        cancelled[0].message.contains(&placed.confirmation)
            && cancelled[0].message.contains("cancelled")
            && cancelled[0].message.contains("$25.00 will be refunded"),
        "{:?}",
        cancelled[0]
    );
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_declined_payment_is_recorded_and_texted() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    let app = spawn_app_texting(sim.addr).await;
    let product = app.add_product("Seat", 10, 1000).await;
    let status = app
        .client()
        .place_order(with_phone(order(
            vec![item(&product, 2)],
            card("4000 0000 0000 0002"),
        )))
        .await
        .expect_err("declined");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);

    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let texts = texts(sim.addr).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].message.contains("declined") && texts[0].message.contains("$20.00"),
        "{:?}",
        texts[0]
    );
    let (declines, orders): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM declined_checkouts), (SELECT count(*) FROM orders)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((declines, orders), (1, 0));
    assert_eq!(app.availability(&product).await, 10, "no stock taken");
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn with_the_gateways_down_the_text_arrives_after_they_come_back() {
    let addr = free_addr().await;
    let app = spawn_app_texting(addr).await;
    let product = app.add_product("Seat", 10, 1000).await;
    let placed = app
        .client()
        .place_order(with_phone(order(vec![item(&product, 1)], card(VISA))))
        .await
        .expect("the order does not wait for the gateways")
        .into_inner();
    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempts, last_error FROM outbox WHERE kind = 'sms'")
            .fetch_one(&app.pool)
            .await
            .expect("the text");
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(error.is_some(), "the failure is on record");
    assert_eq!(
        app.outbox.deliver_due().await.expect("deliver"),
        0,
        "a failed text waits for its retry"
    );

    let sim = Simulator::start(addr, SimSettings::default())
        .await
        .expect("sim");
    // The retry falls due (as if its delay had passed).
    sqlx::query("UPDATE outbox SET next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .expect("due");
    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let texts = texts(sim.addr).await;
    assert_eq!(texts.len(), 1);
    assert!(texts[0].message.contains(&placed.confirmation));
    app.stop().await;
    sim.stop().await;
}

/// A row this version cannot read (written by hand, or by a newer version) is set
/// aside with the reason for an operator, and the rest of the outbox still flows.
#[tokio::test]
async fn an_unreadable_message_is_set_aside_and_the_rest_delivered() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    let app = spawn_app_texting(sim.addr).await;
    sqlx::query("INSERT INTO outbox (kind, payload) VALUES ('sms', '{\"to\": \"nobody\"}')")
        .execute(&app.pool)
        .await
        .expect("a malformed row");
    let product = app.add_product("Seat", 10, 1000).await;
    app.client()
        .place_order(with_phone(order(vec![item(&product, 1)], card(VISA))))
        .await
        .expect("order");

    assert_eq!(
        app.outbox.deliver_due().await.expect("deliver"),
        1,
        "only the readable one"
    );
    assert_eq!(texts(sim.addr).await.len(), 1);
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, last_error FROM outbox ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("rows");
    assert_eq!(rows[0].0, "exhausted");
    assert!(
        rows[0]
            .1
            .as_deref()
            .is_some_and(|e| e.contains("unreadable sms payload")),
        "{rows:?}"
    );
    assert_eq!(rows[1].0, "delivered");
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_text_that_exhausts_its_retries_is_kept_with_its_last_error() {
    let failing = SimSettings {
        failure_rate: 1.0,
        ..SimSettings::default()
    };
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), failing)
        .await
        .expect("sim");
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("database");
    let mut config = settings(&database);
    config.sms = sms_settings(sim.addr);
    config.dispatch.max_attempts = 2;
    config.dispatcher = false;
    let app = spawn_app_with(config, database).await;
    let product = app.add_product("Seat", 10, 1000).await;
    app.client()
        .place_order(with_phone(order(vec![item(&product, 1)], card(VISA))))
        .await
        .expect("order");

    assert_eq!(app.deliver_until_settled().await, 2);
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempts, last_error FROM outbox WHERE kind = 'sms'")
            .fetch_one(&app.pool)
            .await
            .expect("the text");
    assert_eq!((status.as_str(), attempts), ("exhausted", 2));
    assert!(
        error
            .expect("kept with its error")
            .contains("failed with 500")
    );
    assert!(texts(sim.addr).await.is_empty());
    app.stop().await;
    sim.stop().await;
}
