use cinema_proto::error::{Reason, Resource};
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn the_chapters_order_of_one_product_four_times_costs_four_times_its_price() {
    let app = spawn_app().await;
    let product = app.add_product("My test product", 50, 1000).await;
    let line = item(&product, 1);

    let placed = app
        .client()
        .place_order(order(
            vec![line.clone(), line.clone(), line.clone(), line],
            card(VISA),
        ))
        .await
        .expect("order placed")
        .into_inner();

    assert!((8..=16).contains(&placed.confirmation.len()));
    assert!(!placed.confirmation.contains(['0', 'O', '1', 'I']));
    assert_eq!(placed.price_cents, 4000);
    assert_eq!(
        placed.line_items.len(),
        1,
        "repeated items merge into one line"
    );
    let line = &placed.line_items[0];
    assert_eq!(
        (
            line.position,
            line.product_id.as_str(),
            line.quantity,
            line.unit_price_cents,
            line.price_cents
        ),
        (1, product.as_str(), 4, 1000, 4000)
    );
    assert_eq!(
        line.description, "My test product",
        "what was bought, in words"
    );
    assert_eq!(app.availability(&product).await, 46);

    let stored = app
        .client()
        .get_order(pb::GetOrderRequest {
            confirmation: placed.confirmation.to_lowercase(),
        })
        .await
        .expect("order found")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(stored.confirmation, placed.confirmation);
    assert_eq!(stored.status(), pb::OrderStatus::Placed);
    assert_eq!(stored.total_cents, 4000);
    assert_eq!(stored.line_items, placed.line_items);
    assert_eq!(stored.created_at, placed.created_at);
    match stored.payment.and_then(|p| p.method) {
        Some(pb::payment_summary::Method::CreditCard(card)) => {
            assert_eq!(card.brand(), pb::CardBrand::Visa);
            assert_eq!(card.last_four, "1111");
            assert_eq!((card.expiration_month, card.expiration_year), (12, 2030));
        }
        other => panic!("expected a card summary, got {other:?}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn line_items_keep_their_positions_and_the_price_paid() {
    let app = spawn_app().await;
    let popcorn = app.add_product("Popcorn", 10, 650).await;
    let ticket = app.add_product("Ticket", 10, 1250).await;
    let placed = app
        .client()
        .place_order(order(
            vec![item(&ticket, 2), item(&popcorn, 1), item(&ticket, 1)],
            paypal("buyer@example.com"),
        ))
        .await
        .expect("order placed")
        .into_inner();
    let lines: Vec<_> = placed
        .line_items
        .iter()
        .map(|l| (l.position, l.product_id.clone(), l.quantity, l.price_cents))
        .collect();
    assert_eq!(
        lines,
        vec![(1, ticket.clone(), 3, 3750), (2, popcorn.clone(), 1, 650)]
    );
    assert_eq!(placed.price_cents, 4400);
    app.stop().await;
}

#[tokio::test]
async fn an_order_short_of_one_product_takes_nothing_and_names_it() {
    let app = spawn_app().await;
    let plenty = app.add_product("Plenty", 100, 100).await;
    let scarce = app.add_product("Scarce", 2, 100).await;
    let before = app.row_counts().await;

    let status = app
        .client()
        .place_order(order(vec![item(&plenty, 5), item(&scarce, 3)], card(VISA)))
        .await
        .expect_err("too few");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains(&format!("product {scarce}")),
        "{status:?}"
    );
    // A client learns which product, and that it is stock, without reading English.
    let details = cinema_proto::error::Details::of(&status);
    assert_eq!(details.reason, Some(Reason::OutOfStock));
    assert_eq!(details.resource, Some(Resource::new("product", &scarce)));
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.availability(&plenty).await, 100);
    app.stop().await;
}

#[tokio::test]
async fn a_declined_card_or_paypal_account_takes_no_stock() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 10, 1000).await;
    let before = app.row_counts().await;

    let details = expect_details(
        app.client()
            .place_order(order(vec![item(&product, 1)], card("4000 0000 0000 0002")))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(details.reason, Some(Reason::PaymentDeclined));
    let message = expect_code(
        app.client()
            .place_order(order(
                vec![item(&product, 1)],
                paypal("jo+decline@example.com"),
            ))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("declined"), "{message}");
    // The declined attempts stay on record (a released hold, a declined authorization);
    // nothing is sold, held or paid.
    let sold_or_paid = |counts: Vec<(String, i64)>| {
        counts
            .into_iter()
            .filter(|(name, _)| name != "holds" && name != "authorizations")
            .collect::<Vec<_>>()
    };
    assert_eq!(sold_or_paid(app.row_counts().await), sold_or_paid(before));
    let declined: Vec<String> =
        sqlx::query_scalar("SELECT status FROM payment_authorizations ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("authorizations");
    assert_eq!(declined, ["declined", "declined"]);
    app.stop().await;
}

#[tokio::test]
async fn a_security_code_the_issuer_does_not_match_is_declined() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 10, 1000).await;
    let with_code = |code: &str| {
        let mut payment = card("4000 0000 0000 0101");
        if let Some(pb::payment::Method::CreditCard(card)) = payment.method.as_mut() {
            card.security_code = code.into();
        }
        payment
    };

    let details = expect_details(
        app.client()
            .place_order(order(vec![item(&product, 1)], with_code("321")))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(details.reason, Some(Reason::PaymentDeclined));
    let status = app
        .client()
        .place_order(order(vec![item(&product, 1)], with_code("321")))
        .await
        .expect_err("declined again");
    assert!(
        status.message().contains("security code does not match")
            && !status.message().contains("321"),
        "says why, without the code: {status:?}"
    );
    assert_eq!(app.availability(&product).await, 10, "nothing sold");

    // A client that sends no code (one older than the field) leaves the check to the
    // processor, which has nothing to compare.
    app.client()
        .place_order(order(vec![item(&product, 1)], with_code("")))
        .await
        .expect("placed without a code");
    assert_eq!(app.availability(&product).await, 9);
    app.stop().await;
}

#[tokio::test]
async fn promotions_are_used_up_in_the_same_transaction_as_the_order() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 1, 1000).await;
    let other = app.add_product("Other seat", 5, 1000).await;
    app.add_promotion("FREE-MOVIE", 2, true).await;
    app.add_promotion("EXPIRED", 5, false).await;

    // An order that fails for lack of stock must not use up a redemption.
    expect_code(
        app.client()
            .place_order(order(vec![item(&product, 2)], promotion("free-movie")))
            .await,
        Code::ResourceExhausted,
    );
    let uses: i32 =
        sqlx::query_scalar("SELECT uses_remaining FROM promotions WHERE code = 'FREE-MOVIE'")
            .fetch_one(&app.pool)
            .await
            .expect("promotion");
    assert_eq!(uses, 2);

    for _ in 0..2 {
        app.client()
            .place_order(order(vec![item(&other, 1)], promotion("FREE-MOVIE")))
            .await
            .expect("promotion pays");
    }
    let message = expect_code(
        app.client()
            .place_order(order(vec![item(&other, 1)], promotion("FREE-MOVIE")))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("no uses left"), "{message}");
    let message = expect_code(
        app.client()
            .place_order(order(vec![item(&other, 1)], promotion("EXPIRED")))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("no longer active"), "{message}");
    let message = expect_code(
        app.client()
            .place_order(order(vec![item(&other, 1)], promotion("NO-SUCH-CODE")))
            .await,
        Code::NotFound,
    );
    assert!(message.contains("NO-SUCH-CODE"), "{message}");
    assert_eq!(app.availability(&other).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn the_same_request_id_twice_places_one_order() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 10, 1000).await;
    let request = order(vec![item(&product, 3)], card(VISA));

    let first = app.place(&request, "first").await;
    let second = app.place(&request, "retry").await;
    assert_eq!(first, second, "a retry returns the original response");
    assert_eq!(app.availability(&product).await, 7);

    let mut changed = request.clone();
    changed.items[0].quantity = 4;
    let status = app.client().place_order(changed).await.expect_err("reused");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("request_id"), "{status:?}");
    assert_eq!(
        cinema_proto::error::Details::of(&status).reason,
        Some(Reason::RequestIdReused)
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(orders, 1);
    assert_eq!(app.availability(&product).await, 7);
    app.stop().await;
}

#[tokio::test]
async fn a_retry_after_its_order_used_a_promotions_last_use_gets_that_order() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 5, 1000).await;
    app.add_promotion("LAST-ONE", 1, true).await;
    let request = order(vec![item(&product, 1)], promotion("LAST-ONE"));

    let first = app.place(&request, "the last use pays").await;
    // The promotion has no uses left now, but not for the request that used it.
    let retry = app
        .place(&request, "the retry is answered with its order")
        .await;
    assert_eq!(first, retry);
    assert_eq!(app.availability(&product).await, 4);
    app.stop().await;
}

#[tokio::test]
async fn a_retry_of_an_order_placed_before_holds_existed_gets_that_order() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 5, 1000).await;
    let request = order(vec![item(&product, 2)], card(VISA));
    let first = app.place(&request, "first").await;
    // What an order from before holds looks like once migrated: its hold has the key a
    // retry looks for, but the order's fingerprint where a hold's would be.
    sqlx::query("UPDATE holds SET request_fingerprint = (SELECT request_fingerprint FROM orders)")
        .execute(&app.pool)
        .await
        .expect("as migrated");

    let retry = app
        .place(&request, "the retry is answered with its order")
        .await;
    assert_eq!(first, retry);
    assert_eq!(app.availability(&product).await, 3, "nothing sold twice");
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(holds, 1, "the retry held nothing");
    app.stop().await;
}

#[tokio::test]
async fn no_column_of_any_table_holds_the_full_card_number() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 10, 1000).await;
    app.client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("order placed");

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("tables");
    assert!(tables.contains(&"credit_card_payments".to_owned()));
    for table in tables {
        // Every column of every row, as text, including bytea rendered as hex.
        let hits: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'
                OR row_to_json(t)::text LIKE '%' || encode($1::bytea, 'hex') || '%'"
        ))
        .bind(VISA_DIGITS)
        .fetch_one(&app.pool)
        .await
        .expect("scan");
        assert_eq!(hits, 0, "table {table} holds the card number");
    }
    let last_four: String = sqlx::query_scalar("SELECT last_four FROM credit_card_payments")
        .fetch_one(&app.pool)
        .await
        .expect("payment");
    assert_eq!(last_four, "1111");
    app.stop().await;
}
