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

/// The migration that made the checkout tables' one-column checks domains.
const CHECKS_AS_DOMAINS: i64 = 20261203000004;

#[tokio::test]
async fn the_checks_that_became_domains_keep_the_data_and_still_refuse_bad_values() {
    let database = TestDatabase::create().await.expect("test database");
    let pool = sqlx::PgPool::connect(database.url()).await.expect("pool");
    migrate_before(&pool, CHECKS_AS_DOMAINS).await;
    let (product,): (i64,) = sqlx::query_as(
        "INSERT INTO products (description, price_cents, quantity_total, quantity_remaining)
         VALUES ('Seat', 1200, 10, 10) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("a product under the old schema");
    MIGRATOR.run(&pool).await.expect("the remaining migrations");

    let (description, price): (String, i64) =
        sqlx::query_as("SELECT description, price_cents FROM products WHERE id = $1")
            .bind(product)
            .fetch_one(&pool)
            .await
            .expect("the product");
    assert_eq!((description.as_str(), price), ("Seat", 1200));

    let hold = "INSERT INTO holds (public_id, request_id, request_fingerprint, expires_at, status)
                SELECT gen_random_uuid(), $1, $2, now() + interval '1 minute', $3";
    let card = "INSERT INTO credit_card_payments (brand, last_four, expiration_month,
                    expiration_year, billing_line_1, billing_city, billing_state, billing_zip,
                    authorization_code)
                SELECT $1, '1111', $2, 2030, '1 Main St', 'Cambridge', 'MA', '02139', 'A'";
    let fingerprint = vec![0u8; 32];
    let (valid_hold,): (i64,) = sqlx::query_as(&format!("{hold} RETURNING id"))
        .bind("r0")
        .bind(&fingerprint)
        .bind("active")
        .fetch_one(&pool)
        .await
        .expect("a valid hold");
    let refused: [(&str, sqlx::query::Query<'_, sqlx::Postgres, _>); 9] = [
        (
            "a negative price",
            sqlx::query("UPDATE products SET price_cents = -1"),
        ),
        (
            "a negative held count",
            sqlx::query("UPDATE products SET quantity_held = -1"),
        ),
        (
            "an empty description",
            sqlx::query("UPDATE products SET description = ''"),
        ),
        (
            "a hold in no known state",
            sqlx::query(hold).bind("r1").bind(&fingerprint).bind("lost"),
        ),
        (
            "a fingerprint of the wrong length",
            sqlx::query(hold)
                .bind("r2")
                .bind(vec![0u8; 31])
                .bind("active"),
        ),
        (
            "an empty hold key",
            sqlx::query(hold).bind("").bind(&fingerprint).bind("active"),
        ),
        (
            "an unknown card brand",
            sqlx::query(card).bind("Diners").bind(12_i16),
        ),
        ("a month 13", sqlx::query(card).bind("Visa").bind(13_i16)),
        (
            "an authorization in no known state",
            sqlx::query(
                "INSERT INTO payment_authorizations (request_id, hold_id, amount_cents, status)
                 VALUES ('r0', $1, 1200, 'lost')",
            )
            .bind(valid_hold),
        ),
    ];
    for (what, statement) in refused {
        let error = statement.execute(&pool).await.err();
        let code = error
            .as_ref()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("23514"), "{what}: {error:?}");
    }
}
