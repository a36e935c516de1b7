//! Holds and the checkout that pays outside every lock: units move from available to
//! held to sold, or back to available when a hold is released, expires, or its process
//! dies mid-payment; nothing is oversold, and no payment is taken twice or left behind.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cinema_orders::domain::PaymentMethod;
use cinema_orders::payments::{Authorization, PaymentError, PaymentProcessor};
use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tokio::task::JoinSet;
use tonic::Code;

use crate::fake_provider::{Behaviour, FakeProvider};
use crate::helpers::*;

async fn hold(app: &TestApp, items: Vec<pb::OrderItem>) -> Result<pb::Hold, tonic::Status> {
    app.client()
        .hold_products(pb::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items,
            ttl_seconds: 0,
        })
        .await
        .map(|r| r.into_inner().hold.expect("hold"))
}

fn pay(hold_id: &str, payment: pb::Payment) -> pb::PlaceOrderRequest {
    pb::PlaceOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        hold_id: hold_id.into(),
        payment: Some(payment),
        ..Default::default()
    }
}

async fn units(app: &TestApp, product: &str) -> (i64, i64) {
    let p = app
        .client()
        .get_availability(pb::GetAvailabilityRequest {
            product_ids: vec![product.into()],
        })
        .await
        .expect("availability")
        .into_inner()
        .products
        .remove(0);
    assert_eq!(
        p.available, p.quantity_remaining,
        "old clients read the same"
    );
    (p.available, p.held)
}

async fn hold_status(app: &TestApp, hold_id: &str) -> pb::HoldStatus {
    app.client()
        .get_hold(pb::GetHoldRequest {
            hold_id: hold_id.into(),
        })
        .await
        .expect("hold")
        .into_inner()
        .hold
        .expect("hold")
        .status()
}

/// Moves a hold's expiry into the past, as if its time had run out.
async fn age(app: &TestApp, hold_id: &str) {
    sqlx::query(
        "UPDATE holds SET expires_at = now() - interval '1 second' WHERE public_id = $1::uuid",
    )
    .bind(hold_id)
    .execute(&app.pool)
    .await
    .expect("aged");
}

#[tokio::test]
async fn held_units_leave_available_and_an_order_for_the_hold_sells_them() {
    let app = spawn_app().await;
    let product = app.add_product("Heat, 19:30", 10, 1250).await;

    let held = hold(&app, vec![item(&product, 3)]).await.expect("held");
    assert_eq!(held.status(), pb::HoldStatus::Active);
    assert_eq!(held.price_cents, 3750, "priced when held");
    let expires = held.expires_at.expect("expiry").seconds - chrono::Utc::now().timestamp();
    assert!(
        (595..=600).contains(&expires),
        "ten minutes by default: {expires}"
    );
    assert_eq!(units(&app, &product).await, (7, 3));

    let placed = app
        .client()
        .place_order(pay(&held.hold_id, card(VISA)))
        .await
        .expect("paid")
        .into_inner();
    assert_eq!(placed.price_cents, 3750);
    assert_eq!(placed.line_items[0].quantity, 3);
    assert_eq!(
        units(&app, &product).await,
        (7, 0),
        "held units are now sold"
    );
    assert_eq!(
        hold_status(&app, &held.hold_id).await,
        pb::HoldStatus::Confirmed
    );

    // A second order cannot pay for the same seats.
    let message = expect_code(
        app.client()
            .place_order(pay(&held.hold_id, card(VISA)))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("already paid"), "{message}");
    assert_eq!(units(&app, &product).await, (7, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_hold_is_all_or_nothing_idempotent_and_bounded() {
    let app = spawn_app().await;
    let plenty = app.add_product("A", 5, 100).await;
    let scarce = app.add_product("B", 1, 100).await;

    let message = expect_code(
        hold(&app, vec![item(&plenty, 2), item(&scarce, 2)]).await,
        Code::ResourceExhausted,
    );
    assert!(
        message.contains(&format!("product {scarce} has 1 left")),
        "{message}"
    );
    assert_eq!(units(&app, &plenty).await, (5, 0), "nothing held of either");
    assert_eq!(units(&app, &scarce).await, (1, 0));

    let request = pb::HoldProductsRequest {
        request_id: "hold-once".into(),
        items: vec![item(&plenty, 2)],
        ttl_seconds: 60,
    };
    let first = app
        .client()
        .hold_products(request.clone())
        .await
        .expect("held");
    let again = app
        .client()
        .hold_products(request.clone())
        .await
        .expect("same");
    assert_eq!(first.into_inner().hold, again.into_inner().hold);
    assert_eq!(units(&app, &plenty).await, (3, 2), "held once");
    let mut other = request.clone();
    other.items = vec![item(&plenty, 1)];
    expect_code(app.client().hold_products(other).await, Code::AlreadyExists);

    let mut too_long = request;
    too_long.request_id = "too-long".into();
    too_long.ttl_seconds = 1801;
    let message = expect_code(
        app.client().hold_products(too_long).await,
        Code::InvalidArgument,
    );
    assert!(message.contains("ttl_seconds"), "{message}");

    // Only the hyphenated UUIDs the service hands out are hold ids.
    for bad in ["not-a-hold", "00000000000000000000000000000000", "x\0"] {
        let message = expect_code(
            app.client().place_order(pay(bad, card(VISA))).await,
            Code::InvalidArgument,
        );
        assert!(message.contains("hold_id"), "{message}");
    }
    expect_code(
        app.client()
            .place_order(pay(&uuid::Uuid::new_v4().to_string(), card(VISA)))
            .await,
        Code::NotFound,
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retried_hold_of_the_last_units_is_the_same_hold_not_out_of_stock() {
    let app = spawn_app().await;
    let product = app.add_product("Last two", 2, 100).await;
    let request = pb::HoldProductsRequest {
        request_id: "the-last-two".into(),
        items: vec![item(&product, 2)],
        ttl_seconds: 60,
    };
    let first = app
        .client()
        .hold_products(request.clone())
        .await
        .expect("held")
        .into_inner()
        .hold;
    assert_eq!(units(&app, &product).await, (0, 2));

    // Nothing is left to take, and that is because this very request holds it.
    let again = app
        .client()
        .hold_products(request.clone())
        .await
        .expect("the same hold")
        .into_inner()
        .hold;
    assert_eq!(first, again);
    assert_eq!(units(&app, &product).await, (0, 2), "held once");

    // A different request under the same id is refused as such, not as sold out.
    let mut other = request;
    other.items = vec![item(&product, 1)];
    expect_code(app.client().hold_products(other).await, Code::AlreadyExists);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_holds_never_take_more_than_there_is() {
    let app = spawn_app().await;
    let product = app.add_product("Premiere", 10, 1500).await;
    let mut buyers = JoinSet::new();
    for _ in 0..40 {
        let app_client = app.client();
        let product = product.clone();
        buyers.spawn(async move {
            let mut client = app_client;
            client
                .hold_products(pb::HoldProductsRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    items: vec![item(&product, 1)],
                    ttl_seconds: 0,
                })
                .await
        });
    }
    let (mut held, mut refused) = (0, 0);
    while let Some(result) = buyers.join_next().await {
        match result.expect("task") {
            Ok(_) => held += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((held, refused), (10, 30));
    assert_eq!(units(&app, &product).await, (0, 10));
    app.stop().await;
}

#[tokio::test]
async fn released_and_expired_holds_come_back_and_tell_the_provider() {
    let provider =
        FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Accept).await;
    let app = spawn_app().await;
    let provider_id = app
        .client()
        .register_provider(admin(pb::RegisterProviderRequest {
            name: "movies".into(),
            callback_endpoint: provider.endpoint(),
        }))
        .await
        .expect("registered")
        .into_inner()
        .provider_id;
    let product = app
        .client()
        .add_product(admin(pb::AddProductRequest {
            description: "Showtime 9".into(),
            quantity: 2,
            price_cents: 1000,
            provider_id: Some(provider_id),
            external_ref: Some("9".into()),
            ..Default::default()
        }))
        .await
        .expect("added")
        .into_inner()
        .product_id;
    let kinds = || {
        provider
            .received()
            .into_iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>()
    };

    // Holding the last seats sells the showtime out; releasing brings it back.
    let first = hold(&app, vec![item(&product, 2)]).await.expect("held");
    cinema_testkit::eventually("sold out", Duration::from_secs(10), || async {
        (kinds() == ["sold_out"]).then_some(())
    })
    .await;
    let released = app
        .client()
        .release_hold(pb::ReleaseHoldRequest {
            hold_id: first.hold_id.clone(),
        })
        .await
        .expect("released")
        .into_inner()
        .hold
        .expect("hold");
    assert_eq!(released.status(), pb::HoldStatus::Released);
    assert_eq!(units(&app, &product).await, (2, 0));
    cinema_testkit::eventually("available again", Duration::from_secs(10), || async {
        (kinds() == ["sold_out", "available"]).then_some(())
    })
    .await;
    // Releasing again changes nothing; paying for a released hold is refused.
    app.client()
        .release_hold(pb::ReleaseHoldRequest {
            hold_id: first.hold_id.clone(),
        })
        .await
        .expect("idempotent");
    assert_eq!(units(&app, &product).await, (2, 0));
    let message = expect_code(
        app.client()
            .place_order(pay(&first.hold_id, card(VISA)))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("released"), "{message}");

    // A hold whose time runs out is refused at checkout, then swept back to sale.
    let second = hold(&app, vec![item(&product, 2)]).await.expect("held");
    age(&app, &second.hold_id).await;
    let message = expect_code(
        app.client()
            .place_order(pay(&second.hold_id, card(VISA)))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("expired"), "{message}");
    assert_eq!(units(&app, &product).await, (0, 2), "not swept yet");
    assert_eq!(app.checkout.expire_due().await.expect("swept"), 1);
    assert_eq!(app.checkout.expire_due().await.expect("swept"), 0, "once");
    assert_eq!(units(&app, &product).await, (2, 0));
    assert_eq!(
        hold_status(&app, &second.hold_id).await,
        pb::HoldStatus::Expired
    );
    cinema_testkit::eventually(
        "available after expiry",
        Duration::from_secs(10),
        || async { (kinds() == ["sold_out", "available", "sold_out", "available"]).then_some(()) },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_declined_card_keeps_the_customers_hold_for_another_card() {
    let app = spawn_app().await;
    let product = app.add_product("Alien, 21:00", 4, 1000).await;
    let held = hold(&app, vec![item(&product, 2)]).await.expect("held");

    let message = expect_code(
        app.client()
            .place_order(pay(&held.hold_id, card("4000 0000 0000 0002")))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("declined"), "{message}");
    assert_eq!(
        hold_status(&app, &held.hold_id).await,
        pb::HoldStatus::Active
    );
    assert_eq!(units(&app, &product).await, (2, 2));

    app.client()
        .place_order(pay(&held.hold_id, card(VISA)))
        .await
        .expect("another card pays");
    assert_eq!(units(&app, &product).await, (2, 0));

    // Without a hold of the customer's own, a decline puts the units straight back.
    expect_code(
        app.client()
            .place_order(order(vec![item(&product, 1)], card("4000 0000 0000 0002")))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(units(&app, &product).await, (2, 0));

    // A processor that does not answer is UNAVAILABLE; nothing is sold or lost.
    expect_code(
        app.client()
            .place_order(order(vec![item(&product, 1)], card("4000 0000 0000 0119")))
            .await,
        Code::Unavailable,
    );
    assert_eq!(
        units(&app, &product).await.0 + units(&app, &product).await.1,
        2
    );
    app.stop().await;
}

/// A processor that answers only once `expected` authorizations are waiting at the
/// same time, and records voids.
#[derive(Debug)]
struct Gate {
    barrier: tokio::sync::Barrier,
    voided: Mutex<Vec<String>>,
}

#[async_trait]
impl PaymentProcessor for Gate {
    async fn authorize(
        &self,
        request_id: &str,
        _method: &PaymentMethod,
        _amount: i64,
    ) -> Result<Authorization, PaymentError> {
        self.barrier.wait().await;
        Ok(Authorization {
            code: format!("GATE-{}", &request_id[..8]),
        })
    }
    async fn void(&self, request_id: &str, _code: Option<&str>) -> Result<(), PaymentError> {
        self.voided
            .lock()
            .expect("lock")
            .push(request_id.to_owned());
        Ok(())
    }
    async fn refund(&self, _: &str, _: &str, _: i64) -> Result<(), PaymentError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buyers_of_one_showtime_are_charged_at_the_same_time_not_one_by_one() {
    // If a checkout held the product's row lock while the processor thinks, the second
    // buyer could not reach the processor before the first finished, and five buyers
    // would never be waiting together: the barrier would never open.
    let gate = Arc::new(Gate {
        barrier: tokio::sync::Barrier::new(5),
        voided: Mutex::default(),
    });
    let database = cinema_testkit::TestDatabase::create().await.expect("db");
    let app = spawn_app_with_processor(settings(&database), database, gate.clone()).await;
    let product = app.add_product("Premiere", 100, 1500).await;
    let mut buyers = JoinSet::new();
    for _ in 0..5 {
        let mut client = app.client();
        let request = order(vec![item(&product, 2)], card(VISA));
        buyers.spawn(async move { client.place_order(request).await });
    }
    let all = tokio::time::timeout(Duration::from_secs(20), async {
        let mut n = 0;
        while let Some(result) = buyers.join_next().await {
            result.expect("task").expect("bought");
            n += 1;
        }
        n
    })
    .await
    .expect("the five payments ran concurrently");
    assert_eq!(all, 5);
    assert_eq!(units(&app, &product).await, (90, 0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_payments_of_one_hold_sell_it_once_and_the_second_learns_the_order() {
    // Two clicks on "Pay" in a browser: two requests for one hold, each with its own
    // request id, both authorized at once (the gate opens for the pair). One order; the
    // other payment is voided, and its answer names the order instead of sending the
    // customer to hold seats that are already theirs.
    let gate = Arc::new(Gate {
        barrier: tokio::sync::Barrier::new(2),
        voided: Mutex::default(),
    });
    let database = cinema_testkit::TestDatabase::create().await.expect("db");
    let app = spawn_app_with_processor(settings(&database), database, gate.clone()).await;
    let product = app.add_product("Premiere", 10, 1500).await;
    let held = hold(&app, vec![item(&product, 2)]).await.expect("held");
    let (first, second) = (
        pay(&held.hold_id, card(VISA)),
        pay(&held.hold_id, card(VISA)),
    );
    let ids = [first.request_id.clone(), second.request_id.clone()];
    let (mut a, mut b) = (app.client(), app.client());
    let (one, two) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(a.place_order(first), b.place_order(second))
    })
    .await
    .expect("both were authorized together");
    let (placed, refused, loser) = match (one, two) {
        (Ok(placed), refused) => (placed.into_inner(), refused, &ids[1]),
        (refused, Ok(placed)) => (placed.into_inner(), refused, &ids[0]),
        (Err(a), Err(b)) => panic!("neither payment went through: {a:?}, {b:?}"),
    };
    let message = match &refused {
        Err(status) => status.message().to_owned(),
        Ok(_) => String::new(),
    };
    let details = expect_details(refused, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::HoldConfirmed), "{message}");
    assert!(
        message.contains(&placed.confirmation),
        "names the order: {message}"
    );
    assert_eq!(*gate.voided.lock().expect("lock"), vec![loser.clone()]);
    assert_eq!(units(&app, &product).await, (8, 0), "sold once");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("orders");
    assert_eq!(orders, 1);

    // Whoever holds the hold's id can find its order.
    let hold = app
        .client()
        .get_hold(pb::GetHoldRequest {
            hold_id: held.hold_id.clone(),
        })
        .await
        .expect("hold")
        .into_inner()
        .hold
        .expect("hold");
    assert_eq!(hold.status(), pb::HoldStatus::Confirmed);
    assert_eq!(hold.confirmation, placed.confirmation);
    assert!(held.confirmation.is_empty(), "none while active");
    app.stop().await;
}

/// A processor that never answers: the process "dies" while it waits.
#[derive(Debug)]
struct Hang;

#[async_trait]
impl PaymentProcessor for Hang {
    async fn authorize(
        &self,
        _: &str,
        _: &PaymentMethod,
        _: i64,
    ) -> Result<Authorization, PaymentError> {
        std::future::pending().await
    }
    async fn void(&self, _: &str, _: Option<&str>) -> Result<(), PaymentError> {
        Ok(())
    }
    async fn refund(&self, _: &str, _: &str, _: i64) -> Result<(), PaymentError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_that_dies_between_hold_and_confirm_loses_nothing() {
    let database = cinema_testkit::TestDatabase::create().await.expect("db");
    let mut config = settings(&database);
    config.checkout.hold_sweep_ms = 3_600_000; // the test sweeps by hand
    let doomed = spawn_app_with_processor(config.clone(), database, Arc::new(Hang)).await;
    let product = doomed.add_product("Premiere", 10, 1500).await;
    let mut client = doomed.client();
    let request = order(vec![item(&product, 4)], card(VISA));
    let request_id = request.request_id.clone();
    let checkout = tokio::spawn(async move { client.place_order(request).await });
    let pool = doomed.pool.clone();
    cinema_testkit::eventually(
        "the payment is being authorized",
        Duration::from_secs(10),
        || {
            let pool = pool.clone();
            let request_id = request_id.clone();
            async move {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT status FROM payment_authorizations WHERE request_id = $1",
                )
                .bind(&request_id)
                .fetch_optional(&pool)
                .await
                .ok()?;
                (status.as_deref() == Some("pending")).then_some(())
            }
        },
    )
    .await;
    assert_eq!(units(&doomed, &product).await, (6, 4));

    // The process dies: its tasks stop where they are, nothing runs to clean up.
    let database = doomed.crash();
    checkout.abort();

    // A restarted replica (with a working processor) finds the abandoned checkout.
    let gate = Arc::new(Gate {
        barrier: tokio::sync::Barrier::new(1),
        voided: Mutex::default(),
    });
    let restarted = spawn_app_with_processor(config, database, gate.clone()).await;
    assert_eq!(
        units(&restarted, &product).await,
        (6, 4),
        "still held until it expires"
    );
    assert_eq!(
        restarted.checkout.void_orphans().await.expect("voids"),
        0,
        "hold active"
    );
    sqlx::query("UPDATE holds SET expires_at = now() - interval '1 second'")
        .execute(&restarted.pool)
        .await
        .expect("aged");
    assert_eq!(restarted.checkout.expire_due().await.expect("swept"), 1);
    assert_eq!(restarted.checkout.void_orphans().await.expect("voids"), 1);
    assert_eq!(units(&restarted, &product).await, (10, 0), "back on sale");
    let status: String =
        sqlx::query_scalar("SELECT status FROM payment_authorizations WHERE request_id = $1")
            .bind(&request_id)
            .fetch_one(&restarted.pool)
            .await
            .expect("authorization");
    assert_eq!(status, "voided");
    assert_eq!(*gate.voided.lock().expect("lock"), vec![request_id.clone()]);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&restarted.pool)
        .await
        .expect("orders");
    assert_eq!(orders, 0, "neither sold nor charged");
    restarted.stop().await;
}
