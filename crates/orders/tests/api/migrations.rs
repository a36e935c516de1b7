//! Migrations that move data: what was written under the old schema reads the same
//! under the new one.

use cinema_orders::store::MIGRATOR;
use cinema_proto::orders::v1 as pb;
use cinema_testkit::TestDatabase;

use crate::helpers::*;

/// The migration that made an order's lines its hold's items (and the next one keys
/// the holds it made as a retry of their order looks for them).
const LINES_ARE_HOLD_ITEMS: i64 = 20261203000001;

/// Migrates `pool` up to, not including, `version`, recording each migration as
/// applied, so that the service's own migrator runs the rest when it starts.
async fn migrate_before(pool: &sqlx::PgPool, version: i64) {
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await.expect("connection");
    conn.ensure_migrations_table()
        .await
        .expect("migrations table");
    for migration in MIGRATOR.iter().filter(|m| m.version < version) {
        conn.apply(migration).await.expect("earlier migration");
    }
}

#[tokio::test]
async fn an_order_placed_before_holds_existed_keeps_its_lines_and_can_be_cancelled() {
    let database = TestDatabase::create().await.expect("test database");
    let pool = sqlx::PgPool::connect(database.url()).await.expect("pool");
    migrate_before(&pool, LINES_ARE_HOLD_ITEMS).await;

    // An order as the service wrote it before holds: no hold, its lines in line_items.
    let (seat, popcorn): (i64, i64) = sqlx::query_as(
        "WITH p AS (
             INSERT INTO products (description, price_cents, quantity_total, quantity_remaining)
             VALUES ('Seat', 1200, 10, 7), ('Popcorn', 500, 10, 9)
             RETURNING id, description)
         SELECT (SELECT id FROM p WHERE description = 'Seat'),
                (SELECT id FROM p WHERE description = 'Popcorn')",
    )
    .fetch_one(&pool)
    .await
    .expect("products");
    sqlx::query(
        "WITH card AS (
             INSERT INTO credit_card_payments
                 (brand, last_four, expiration_month, expiration_year, billing_line_1,
                  billing_city, billing_state, billing_zip, authorization_code)
             VALUES ('Visa', '1111', 12, 2030, '1 Main St', 'Cambridge', 'MA', '02139', 'AUTH-1')
             RETURNING id),
         o AS (
             INSERT INTO orders (confirmation_code, request_id, request_fingerprint,
                                 credit_card_payment_id)
             SELECT 'ABCDEFGH', 'before-holds', decode(repeat('00', 32), 'hex'), card.id
             FROM card
             RETURNING id)
         INSERT INTO line_items (order_id, position, product_id, quantity, unit_price_cents)
         SELECT o.id, l.position, l.product_id, l.quantity, l.price
         FROM o, (VALUES (1, $1::bigint, 3::bigint, 1100::bigint),
                         (2, $2::bigint, 1::bigint, 500::bigint)) AS l(position, product_id, quantity, price)",
    )
    .bind(seat)
    .bind(popcorn)
    .execute(&pool)
    .await
    .expect("legacy order");
    pool.close().await;

    let app = spawn_app_with(settings(&database), database).await;
    let kept = app
        .client()
        .get_order(pb::GetOrderRequest {
            confirmation: "ABCDEFGH".into(),
        })
        .await
        .expect("the order is still there")
        .into_inner()
        .order
        .expect("order");
    let lines: Vec<_> = kept
        .line_items
        .iter()
        .map(|l| {
            (
                l.position,
                l.product_id.clone(),
                l.quantity,
                l.unit_price_cents,
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, seat.to_string(), 3, 1100),
            (2, popcorn.to_string(), 1, 500)
        ],
        "same lines, same prices paid"
    );
    assert_eq!(kept.total_cents, 3 * 1100 + 500);

    // Its request id is still taken: a request reusing it sells nothing (the order's
    // recorded fingerprint is not this body's, so it is refused as a reuse).
    let mut reuse = order(vec![item(&seat.to_string(), 3)], card(VISA));
    reuse.request_id = "before-holds".into();
    expect_code(
        app.client().place_order(reuse).await,
        tonic::Code::AlreadyExists,
    );
    assert_eq!(
        app.availability(&seat.to_string()).await,
        7,
        "nothing sold twice"
    );

    // Cancelling it returns exactly its units, read from its lines.
    app.client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: "ABCDEFGH".into(),
            request_id: "cancel-before-holds".into(),
        })
        .await
        .expect("cancelled");
    assert_eq!(app.availability(&seat.to_string()).await, 10);
    assert_eq!(app.availability(&popcorn.to_string()).await, 10);
    app.stop().await;
}
