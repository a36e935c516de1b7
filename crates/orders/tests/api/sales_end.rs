//! A product's sales end (a showtime's start): from then on it is neither sold nor
//! refunded, and no hold of it outlasts it.

use chrono::{DateTime, Duration, Utc};
use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

async fn product_until(app: &TestApp, sales_end: DateTime<Utc>) -> String {
    app.client()
        .add_product(admin(pb::AddProductRequest {
            description: "Showtime".into(),
            quantity: 10,
            price_cents: 1200,
            sales_end: Some(timestamp(sales_end)),
            ..Default::default()
        }))
        .await
        .expect("product added")
        .into_inner()
        .product_id
}

async fn hold(app: &TestApp, product: &str) -> Result<pb::Hold, tonic::Status> {
    app.client()
        .hold_products(pb::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![item(product, 2)],
            ttl_seconds: 0,
        })
        .await
        .map(|r| r.into_inner().hold.expect("hold"))
}

fn cancel(confirmation: &str) -> pb::CancelOrderRequest {
    pb::CancelOrderRequest {
        confirmation: confirmation.into(),
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

/// What the clock does to a showtime, done to the product's row: its start passes.
async fn sales_end_passes(app: &TestApp, product: &str) {
    sqlx::query("UPDATE products SET sales_end = now() - interval '1 second' WHERE id = $1")
        .bind(product.parse::<i64>().expect("id"))
        .execute(&app.pool)
        .await
        .expect("sales end moved");
}

#[tokio::test]
async fn nothing_is_sold_after_the_sales_end_and_no_hold_outlasts_it() {
    let app = spawn_app().await;
    let soon = Utc::now() + Duration::seconds(90);
    let product = product_until(&app, soon).await;

    // Held for ten minutes by default, but only until the showtime starts.
    let held = hold(&app, &product).await.expect("on sale");
    let expires_at = held.expires_at.expect("expiry");
    assert_eq!(
        expires_at.seconds,
        soon.timestamp(),
        "the hold ends with the sales"
    );
    let later = product_until(&app, Utc::now() + Duration::hours(5)).await;
    let long = hold(&app, &later).await.expect("on sale");
    let ten_minutes = Utc::now() + Duration::minutes(10);
    assert!(
        (long.expires_at.expect("expiry").seconds - ten_minutes.timestamp()).abs() <= 5,
        "far from the sales end, the usual ten minutes"
    );

    sales_end_passes(&app, &product).await;
    let before = app.row_counts().await;
    let refused = hold(&app, &product).await;
    let details = expect_details(refused, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::SalesEnded));
    let refused = app
        .client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await;
    let message = expect_code(refused, Code::FailedPrecondition);
    assert!(
        message.contains(&format!("product {product} is no longer on sale")),
        "{message}"
    );
    assert_eq!(app.row_counts().await, before, "a refusal changes nothing");
    assert_eq!(
        app.availability(&product).await,
        8,
        "only the first hold took any"
    );

    // A product whose sales ended before it was even added is refused the same way.
    let past = product_until(&app, Utc::now() - Duration::minutes(1)).await;
    let details = expect_details(hold(&app, &past).await, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::SalesEnded));
    app.stop().await;
}

#[tokio::test]
async fn an_order_can_be_cancelled_until_the_sales_end_and_not_after() {
    let app = spawn_app().await;
    let product = product_until(&app, Utc::now() + Duration::hours(2)).await;
    let kept = app
        .place(&order(vec![item(&product, 2)], card(VISA)), "order to keep")
        .await;
    let early = app
        .place(
            &order(vec![item(&product, 3)], card(VISA)),
            "order to cancel",
        )
        .await;
    app.client()
        .cancel_order(cancel(&early.confirmation))
        .await
        .expect("cancelled before the showtime");
    assert_eq!(app.availability(&product).await, 8);

    sales_end_passes(&app, &product).await;
    let refused = app.client().cancel_order(cancel(&kept.confirmation)).await;
    let details = expect_details(refused, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::SalesEnded));
    let order = app
        .client()
        .get_order(pb::GetOrderRequest {
            confirmation: kept.confirmation.clone(),
        })
        .await
        .expect("order")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(order.status(), pb::OrderStatus::Placed, "still placed");
    assert_eq!(app.availability(&product).await, 8, "no seat came back");
    // Cancelling what was cancelled before still answers as it did.
    app.client()
        .cancel_order(cancel(&early.confirmation))
        .await
        .expect("an earlier cancellation stands");
    app.stop().await;
}

#[tokio::test]
async fn the_sales_end_is_part_of_what_add_product_keeps_idempotent() {
    let app = spawn_app().await;
    let provider = register_provider(&mut app.client(), "http://127.0.0.1:9").await;
    let start = Utc::now() + Duration::days(1);
    let showtime = |sales_end: DateTime<Utc>| pb::AddProductRequest {
        description: "Showtime".into(),
        quantity: 10,
        price_cents: 1200,
        provider_id: Some(provider.clone()),
        external_ref: Some("showtime-7".into()),
        sales_end: Some(timestamp(sales_end)),
        ..Default::default()
    };
    let add = |request: pb::AddProductRequest| {
        let mut client = app.client();
        async move { client.add_product(admin(request)).await }
    };
    let first = add(showtime(start)).await.expect("added").into_inner();
    let again = add(showtime(start)).await.expect("a retry").into_inner();
    assert_eq!(first.product_id, again.product_id);
    let moved = add(showtime(start + Duration::hours(1))).await;
    let details = expect_details(moved, Code::AlreadyExists);
    assert_eq!(details.reason, Some(Reason::AlreadyExists));

    // A product registered without one (before products had a sales end) gets it from
    // a provider's retry, and keeps it.
    let mut unended = showtime(start);
    unended.external_ref = Some("showtime-8".into());
    unended.sales_end = None;
    let old = add(unended.clone()).await.expect("added").into_inner();
    let past = Utc::now() - Duration::minutes(1);
    let mut retried = unended.clone();
    retried.sales_end = Some(timestamp(past));
    let again = add(retried).await.expect("the retry").into_inner();
    assert_eq!(again.product_id, old.product_id);
    let details = expect_details(hold(&app, &old.product_id).await, Code::FailedPrecondition);
    assert_eq!(
        details.reason,
        Some(Reason::SalesEnded),
        "the end now applies"
    );
    let dropped = add(unended).await;
    expect_details(dropped, Code::AlreadyExists);

    let mut bad = showtime(start);
    bad.sales_end = Some(prost_types::Timestamp {
        seconds: 0,
        nanos: -1,
    });
    let details = expect_details(add(bad).await, Code::InvalidArgument);
    assert_eq!(details.violations[0].field, "sales_end.nanos");
    app.stop().await;
}
