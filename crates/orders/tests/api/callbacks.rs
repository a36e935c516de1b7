//! Sold-out and available callbacks: durable, retried, exactly one per transition.

use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use tokio::task::JoinSet;
use tonic::Code;

use crate::fake_provider::{Behaviour, FakeProvider, free_addr};
use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(15);

pub async fn register(app: &TestApp, endpoint: &str) -> String {
    register_provider(&mut app.client(), endpoint).await
}

pub async fn provided_product(
    app: &TestApp,
    provider: &str,
    external_ref: &str,
    seats: i64,
) -> String {
    app.client()
        .add_product(admin(pb::AddProductRequest {
            description: format!("Showtime {external_ref}"),
            quantity: seats,
            price_cents: 1000,
            provider_id: Some(provider.into()),
            external_ref: Some(external_ref.into()),
            ..Default::default()
        }))
        .await
        .expect("added")
        .into_inner()
        .product_id
}

async fn outbox_state(app: &TestApp, product: &str) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as(
        "SELECT status, attempts, last_error FROM outbox WHERE product_id = $1 ORDER BY id",
    )
    .bind(product.parse::<i64>().expect("id"))
    .fetch_all(&app.pool)
    .await
    .expect("outbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_buyers_for_ten_seats_cause_exactly_one_sold_out_callback() {
    let provider =
        FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Accept).await;
    let app = spawn_app_delivering_on_demand().await;
    let provider_id = register(&app, &provider.endpoint()).await;
    let product = provided_product(&app, &provider_id, "showtime-7", 10).await;

    let mut buyers = JoinSet::new();
    for _ in 0..100 {
        let mut client = app.client();
        let request = order(vec![item(&product, 1)], card(VISA));
        buyers.spawn(async move { client.place_order(request).await.is_ok() });
    }
    let mut sold = 0;
    while let Some(ok) = buyers.join_next().await {
        sold += usize::from(ok.expect("task"));
    }
    assert_eq!(sold, 10);

    // Exactly one event was written, and delivering the outbox sends exactly it.
    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let received = provider.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].kind, "sold_out");
    assert_eq!(received[0].product_id, product);
    assert_eq!(received[0].external_ref, "showtime-7");
    let outbox = outbox_state(&app, &product).await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].0, "delivered", "{outbox:?}");
    assert_eq!(
        app.outbox.deliver_due().await.expect("deliver"),
        0,
        "nothing left"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_is_down_gets_the_callback_when_it_comes_back() {
    let addr = free_addr().await;
    let app = spawn_app_delivering_on_demand().await;
    let provider_id = register(&app, &format!("http://{addr}")).await;
    let product = provided_product(&app, &provider_id, "showtime-1", 2).await;
    app.client()
        .place_order(order(vec![item(&product, 2)], card(VISA)))
        .await
        .expect("sold out");

    // Attempts fail while nothing listens; each one is recorded with its error, and the
    // message waits for its next attempt.
    for attempt in 1..=2 {
        assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
        let state = outbox_state(&app, &product).await;
        assert_eq!((state[0].0.as_str(), state[0].1), ("pending", attempt));
        assert!(state[0].2.is_some(), "attempt {attempt}'s error is kept");
        assert_eq!(
            app.outbox.deliver_due().await.expect("deliver"),
            0,
            "not due yet"
        );
        sqlx::query("UPDATE outbox SET next_attempt_at = now()")
            .execute(&app.pool)
            .await
            .expect("due");
    }
    let provider = FakeProvider::start(addr, Behaviour::Accept).await;
    assert_eq!(app.deliver_until_settled().await, 1);
    assert_eq!(provider.received().len(), 1);
    assert_eq!(outbox_state(&app, &product).await[0].0, "delivered");
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_attempts WHERE error IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .expect("attempts");
    assert_eq!(failed, 2);
    app.stop().await;
}

#[tokio::test]
async fn callbacks_pending_when_orders_stops_are_delivered_after_it_restarts() {
    let addr = free_addr().await;
    let app = spawn_app().await;
    let provider_id = register(&app, &format!("http://{addr}")).await;
    let product = provided_product(&app, &provider_id, "showtime-9", 1).await;
    app.client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("sold out");
    eventually("a failed attempt", DEADLINE, || async {
        (outbox_state(&app, &product).await[0].1 >= 1).then_some(())
    })
    .await;
    let database = app.database.clone();
    app.stop().await;

    let provider = FakeProvider::start(addr, Behaviour::Accept).await;
    let restarted = spawn_app_with(settings(&database), database).await;
    let received = eventually("delivery after restart", DEADLINE, || async {
        let received = provider.received();
        (!received.is_empty()).then_some(received)
    })
    .await;
    assert_eq!(received[0].product_id, product);
    restarted.stop().await;
}

#[tokio::test]
async fn a_provider_that_always_fails_leaves_the_callback_exhausted_with_every_attempt() {
    let provider = FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Fail).await;
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("database");
    let mut config = settings(&database);
    config.dispatch.max_attempts = 3;
    config.dispatcher = false;
    let app = spawn_app_with(config, database).await;
    let provider_id = register(&app, &provider.endpoint()).await;
    let product = provided_product(&app, &provider_id, "showtime-3", 1).await;
    app.client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("sold out");

    assert_eq!(
        app.deliver_until_settled().await,
        3,
        "every attempt, then no more"
    );
    let (status, attempts, error) = outbox_state(&app, &product).await[0].clone();
    assert_eq!((status.as_str(), attempts), ("exhausted", 3));
    assert!(error.expect("last error").contains("maintenance"));
    let recorded: Vec<(i32, Option<String>)> =
        sqlx::query_as("SELECT attempt, error FROM outbox_attempts ORDER BY attempt")
            .fetch_all(&app.pool)
            .await
            .expect("attempts");
    assert_eq!(
        recorded.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(
        recorded
            .iter()
            .all(|(_, e)| e.as_deref().is_some_and(|e| e.contains("Unavailable")))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_database_never_deliver_a_message_twice_at_once() {
    let provider = FakeProvider::start(
        "127.0.0.1:0".parse().expect("addr"),
        Behaviour::AcceptSlowly(Duration::from_millis(150)),
    )
    .await;
    let first = spawn_app().await;
    let second = spawn_app_with(settings(&first.database), first.database.clone()).await;
    let provider_id = register(&first, &provider.endpoint()).await;
    let mut products = Vec::new();
    for i in 0..20 {
        products.push(provided_product(&first, &provider_id, &format!("showtime-{i}"), 1).await);
    }
    // Orders arrive through both replicas.
    for (i, product) in products.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        app.client()
            .place_order(order(vec![item(product, 1)], card(VISA)))
            .await
            .expect("sold out");
    }
    eventually("all callbacks", DEADLINE, || async {
        (provider.received().len() >= 20).then_some(())
    })
    .await;
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'delivered'")
            .fetch_one(&first.pool)
            .await
            .expect("count");
    assert_eq!(provider.max_in_flight_per_event(), 1);
    let mut ids: Vec<_> = provider
        .received()
        .into_iter()
        .map(|r| r.event_id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "each event delivered once");
    assert!(delivered <= 20);
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn cancelling_returns_stock_and_tells_the_provider_once_it_is_available_again() {
    let provider =
        FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Accept).await;
    let app = spawn_app_delivering_on_demand().await;
    let provider_id = register(&app, &provider.endpoint()).await;
    let product = provided_product(&app, &provider_id, "showtime-5", 3).await;
    let first = app
        .client()
        .place_order(order(vec![item(&product, 2)], card(VISA)))
        .await
        .expect("order")
        .into_inner();
    let second = app
        .client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("order")
        .into_inner();
    assert_eq!(app.availability(&product).await, 0);
    assert_eq!(
        app.outbox.deliver_due().await.expect("deliver"),
        1,
        "sold out"
    );

    let cancel = |confirmation: &str| pb::CancelOrderRequest {
        confirmation: confirmation.into(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let cancelled = app
        .client()
        .cancel_order(cancel(&first.confirmation))
        .await
        .expect("cancelled")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(cancelled.status(), pb::OrderStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(app.availability(&product).await, 2);
    let again = app
        .client()
        .cancel_order(cancel(&first.confirmation))
        .await
        .expect("idempotent")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(again, cancelled, "cancelling twice returns the same result");
    assert_eq!(
        app.availability(&product).await,
        2,
        "and returns the stock once"
    );
    // Lifting 2 -> 3 is not a transition from zero: no second event.
    app.client()
        .cancel_order(cancel(&second.confirmation))
        .await
        .expect("cancelled");
    assert_eq!(app.availability(&product).await, 3);

    assert_eq!(
        app.outbox.deliver_due().await.expect("deliver"),
        3,
        "available, and the two orders' refunds"
    );
    let received = provider.received();
    let kinds: Vec<_> = received.iter().map(|r| (r.kind, r.remaining)).collect();
    assert_eq!(kinds, vec![("sold_out", 0), ("available", 2)]);
    assert!(received[0].sequence < received[1].sequence);
    let events: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM outbox GROUP BY kind ORDER BY kind")
            .fetch_all(&app.pool)
            .await
            .expect("count");
    let events: Vec<_> = events.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        events,
        vec![
            ("payment_refund", 2),
            ("product_available", 1),
            ("product_sold_out", 1)
        ]
    );

    let status = app
        .client()
        .cancel_order(cancel("ABCDEFGHJK"))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .client()
        .cancel_order(cancel("nope"))
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = app
        .client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: first.confirmation.clone(),
            request_id: String::new(),
        })
        .await
        .expect_err("no request id");
    assert_eq!(status.code(), Code::InvalidArgument);
    app.stop().await;
}

#[tokio::test]
async fn the_callback_continues_the_trace_of_the_order_that_sold_out() {
    let provider =
        FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Accept).await;
    let app = spawn_app_delivering_on_demand().await;
    let provider_id = register(&app, &provider.endpoint()).await;
    let product = provided_product(&app, &provider_id, "showtime-t", 1).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(order(vec![item(&product, 1)], card(VISA)));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .expect("ascii"),
    );
    app.client().place_order(request).await.expect("sold out");

    assert_eq!(app.outbox.deliver_due().await.expect("deliver"), 1);
    let received = provider
        .received()
        .into_iter()
        .next()
        .expect("the callback");
    let traceparent = received
        .traceparent
        .expect("the callback carries a trace context");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "same trace, through the outbox: {traceparent}"
    );
    app.stop().await;
}

/// Committed transactions in the app's database so far, as Postgres counts them.
async fn transactions(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&app.pool)
    .await
    .expect("stats")
}

#[tokio::test]
async fn an_idle_dispatcher_waits_for_work_instead_of_polling() {
    let app = spawn_app().await;
    assert_eq!(
        cinema_orders::store::outbox::next_due_in(&app.pool)
            .await
            .expect("query"),
        None,
        "nothing pending means nothing due"
    );
    // With nothing to deliver the dispatcher sweeps every 200 ms (these tests'
    // setting) and health is checked every 2 s: a few dozen statements in three
    // seconds. A dispatcher that polls in a loop runs thousands.
    //
    // The lesser of two windows: Postgres counts a backend's transactions when it
    // flushes its statistics, which under a busy server can be seconds after they ran,
    // so the setup's own transactions may land in the first window; a polling
    // dispatcher fills both.
    let mut windows = Vec::new();
    for _ in 0..2 {
        let before = transactions(&app).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        windows.push(transactions(&app).await - before);
    }
    let during = windows.into_iter().min().expect("two windows");
    assert!(
        during < 150,
        "{during} transactions in 3 s while idle: the dispatcher is polling"
    );
    app.stop().await;
}
