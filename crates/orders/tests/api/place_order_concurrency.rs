use tokio::task::JoinSet;
use tonic::Code;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_buyers_for_fifty_seats_never_oversell() {
    let app = spawn_app().await;
    let product = app.add_product("Opening night", 50, 1200).await;

    let mut buyers = JoinSet::new();
    for _ in 0..200 {
        let mut client = app.client();
        let request = order(vec![item(&product, 1)], card(VISA));
        buyers.spawn(async move { client.place_order(request).await });
    }
    let (mut sold, mut refused) = (0, 0);
    while let Some(result) = buyers.join_next().await {
        match result.expect("task") {
            Ok(_) => sold += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((sold, refused), (50, 150));
    assert_eq!(app.availability(&product).await, 0);
    let (orders, tickets): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT o.id), sum(i.quantity)::bigint
             FROM orders o JOIN hold_items i ON i.hold_id = o.hold_id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((orders, tickets), (50, 50));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_listing_products_in_opposite_orders_neither_deadlock_nor_half_succeed() {
    let app = spawn_app().await;
    // `a` runs out after 10 orders; `b` has plenty. An order that cannot get `a` must
    // not take `b` either.
    let a = app.add_product("A", 10, 100).await;
    let b = app.add_product("B", 1000, 100).await;

    let mut buyers = JoinSet::new();
    for i in 0..60 {
        let mut client = app.client();
        let items = if i % 2 == 0 {
            vec![item(&a, 1), item(&b, 1)]
        } else {
            vec![item(&b, 1), item(&a, 1)]
        };
        let request = order(items, card(VISA));
        buyers.spawn(async move { client.place_order(request).await });
    }
    let mut sold = 0;
    while let Some(result) = buyers.join_next().await {
        match result.expect("task") {
            Ok(_) => sold += 1,
            // A deadlock would surface as INTERNAL (or a timeout), not as this.
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
    }
    assert_eq!(sold, 10);
    assert_eq!(app.availability(&a).await, 0);
    assert_eq!(app.availability(&b).await, 990);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_retries_of_one_request_place_one_order() {
    const RETRIES: u32 = 20;
    // A connection for each retry, and one for the outbox dispatcher's LISTEN (taken
    // from the same pool): the retries that wait for the first attempt's payment each
    // check for its order on a connection of their own, and with fewer connections
    // than retries a slow machine can time one of them out acquiring a connection
    // (UNAVAILABLE, which a client retries, but not what is tested here).
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("test database");
    let mut config = settings(&database);
    config.database.db_max_connections = RETRIES + 1;
    let app = spawn_app_with(config, database).await;
    let product = app.add_product("Seat", 100, 1000).await;
    let request = order(vec![item(&product, 2)], card(VISA));

    let mut retries = JoinSet::new();
    for _ in 0..RETRIES {
        let mut client = app.client();
        let request = request.clone();
        retries.spawn(async move { client.place_order(request).await });
    }
    let mut confirmations = Vec::new();
    while let Some(result) = retries.join_next().await {
        confirmations.push(
            result
                .expect("task")
                .expect("every retry succeeds")
                .into_inner()
                .confirmation,
        );
    }
    confirmations.dedup();
    assert_eq!(
        confirmations.len(),
        1,
        "one confirmation: {confirmations:?}"
    );
    assert_eq!(app.availability(&product).await, 98, "stock taken once");
    let (orders, payments): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM credit_card_payments)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((orders, payments), (1, 1), "one order, one payment");
    app.stop().await;
}
