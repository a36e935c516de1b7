//! A hold's products, its order and its authorization are found by their keys even when
//! the planner knows nothing of the tables yet (no ANALYZE: a new deployment, a restored
//! backup): ending, showing or sweeping one hold must not read a whole table. Each test
//! counts the sequential scans its own transaction made (`pg_stat_xact_user_tables`),
//! which the plans these statements had as joins did make.

use cinema_orders::domain::{HoldId, HoldStatus};
use cinema_orders::store::{self, HoldKey, MIGRATOR, OrderKey};
use cinema_testkit::TestDatabase;
use sqlx::{PgConnection, PgPool};

/// Sequential scans of `table` by this transaction so far.
async fn scans(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(seq_scan), 0)::bigint FROM pg_stat_xact_user_tables
         WHERE relname = $1",
    )
    .bind(table)
    .fetch_one(conn)
    .await
    .expect("statistics")
}

/// A catalogue and a history large enough that reading a whole table is the planner's
/// choice when it has to guess how many rows one key has: 20,000 products and 100,000
/// holds of one unit each; every even-numbered hold became an order paid by card, with
/// its authorization captured; the others are active, their card declined (a customer
/// keeps a hold to try another card). Nothing is analyzed.
async fn young_history() -> (TestDatabase, PgPool) {
    let database = TestDatabase::create().await.expect("test database");
    let pool = PgPool::connect(database.url()).await.expect("pool");
    MIGRATOR.run(&pool).await.expect("migrations");
    let history = [
        "INSERT INTO products (description, price_cents, quantity_total, quantity_remaining)
         SELECT 'Seat ' || g, 1200, 100, 100 FROM generate_series(1, 20000) g",
        "WITH h AS (
             INSERT INTO holds (public_id, request_id, request_fingerprint, expires_at,
                                status, ended_at)
             SELECT gen_random_uuid(), 'order-' || g, decode(repeat('00', 32), 'hex'),
                    now() + interval '10 minutes',
                    CASE WHEN g % 2 = 0 THEN 'confirmed' ELSE 'active' END,
                    CASE WHEN g % 2 = 0 THEN now() END
             FROM generate_series(1, 100000) g
             RETURNING id, request_id, status),
         items AS (
             INSERT INTO hold_items (hold_id, position, product_id, quantity, unit_price_cents)
             SELECT id, 1, 1 + id % 20000, 1, 1200 FROM h)
         INSERT INTO payment_authorizations
             (request_id, hold_id, amount_cents, status, authorization_code)
         SELECT request_id, id, 1200,
                CASE WHEN status = 'confirmed' THEN 'captured' ELSE 'declined' END,
                CASE WHEN status = 'confirmed' THEN 'AUTH-' || id END
         FROM h",
        "WITH h AS (SELECT id, request_id FROM holds WHERE status = 'confirmed'),
         card AS (
             INSERT INTO credit_card_payments
                 (brand, last_four, expiration_month, expiration_year, billing_line_1,
                  billing_city, billing_state, billing_zip, authorization_code)
             SELECT 'Visa', '1111', 12, 2030, '1 Main St', 'Cambridge', 'MA', '02139',
                    'AUTH-' || h.id
             FROM h
             RETURNING id, authorization_code)
         INSERT INTO orders (confirmation_code, request_id, request_fingerprint,
                             credit_card_payment_id, hold_id)
         SELECT translate(lpad(h.id::text, 8, '0'), '0123456789', 'ABCDEFGHJK'),
                h.request_id, decode(repeat('00', 32), 'hex'), card.id, h.id
         FROM h JOIN card ON card.authorization_code = 'AUTH-' || h.id",
        // The units of the active holds are held.
        "UPDATE products p SET quantity_remaining = 100 - n, quantity_held = n
         FROM (SELECT product_id, count(*)::bigint AS n FROM hold_items i
               JOIN holds h ON h.id = i.hold_id AND h.status = 'active'
               GROUP BY product_id) AS held
         WHERE p.id = held.product_id",
    ];
    for statement in history {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {statement}"));
    }
    (database, pool)
}

#[tokio::test]
async fn ending_a_hold_looks_its_products_up_by_key_without_statistics() {
    let (_database, pool) = young_history().await;

    let mut tx = pool.begin().await.expect("transaction");
    let before = scans(&mut tx, "products").await;
    let changes = store::end_hold(&mut tx, 7, HoldStatus::Released)
        .await
        .expect("hold ended")
        .expect("the hold was active");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].product.get(), 8);
    assert_eq!(
        (changes[0].remaining, changes[0].delta),
        (96, 1),
        "its unit is back on sale (five active holds had that seat's units)"
    );
    assert_eq!(
        scans(&mut tx, "products").await - before,
        0,
        "no sequential scan of products"
    );
}

#[tokio::test]
async fn showing_a_hold_or_an_order_looks_its_products_up_by_key_without_statistics() {
    let (_database, pool) = young_history().await;
    let public: uuid::Uuid = sqlx::query_scalar("SELECT public_id FROM holds WHERE id = 9")
        .fetch_one(&pool)
        .await
        .expect("hold 9");
    let order: i64 = sqlx::query_scalar("SELECT id FROM orders WHERE hold_id = 10")
        .fetch_one(&pool)
        .await
        .expect("the order of hold 10");

    let mut tx = pool.begin().await.expect("transaction");
    let before = scans(&mut tx, "products").await;
    let hold_id = HoldId::parse(&public.to_string()).expect("a hold id");
    let (internal, hold) = store::load_hold(&mut tx, HoldKey::Public(hold_id))
        .await
        .expect("read")
        .expect("hold 9 exists");
    assert_eq!(internal, 9);
    assert_eq!(hold.status, HoldStatus::Active);
    let products: Vec<i64> = hold.lines.iter().map(|l| l.product_id.get()).collect();
    assert_eq!(products, [10]);
    let (_, confirmed) = store::load_hold(&mut tx, HoldKey::Internal(10))
        .await
        .expect("read")
        .expect("hold 10 exists");
    assert!(
        confirmed.order.is_some(),
        "a confirmed hold names its order"
    );

    let order = store::load_order(&mut tx, OrderKey::Id(order))
        .await
        .expect("read")
        .expect("the order exists");
    let products: Vec<i64> = order.lines.iter().map(|l| l.product_id.get()).collect();
    assert_eq!(products, [11]);
    assert_eq!(order.total_cents(), 1200);
    assert_eq!(
        scans(&mut tx, "products").await - before,
        0,
        "no sequential scan of products"
    );
}

#[tokio::test]
async fn the_authorization_sweep_looks_holds_and_orders_up_by_key_without_statistics() {
    let (_database, pool) = young_history().await;
    // The customer of hold 3 tried another card, the process died after it was
    // granted, and the hold expired.
    sqlx::query(
        "WITH expired AS (
             UPDATE holds SET status = 'expired', ended_at = now() WHERE id = 3 RETURNING id)
         UPDATE payment_authorizations
         SET status = 'authorized', authorization_code = 'AUTH-3',
             updated_at = now() - interval '1 hour'
         WHERE hold_id = (SELECT id FROM expired)",
    )
    .execute(&pool)
    .await
    .expect("an orphaned authorization");

    let mut tx = pool.begin().await.expect("transaction");
    let (holds, orders) = (
        scans(&mut tx, "holds").await,
        scans(&mut tx, "orders").await,
    );
    let orphans = store::orphaned_authorizations(&mut tx, 0, 100)
        .await
        .expect("sweep");
    let found: Vec<_> = orphans.iter().map(|o| o.request_id.as_str()).collect();
    assert_eq!(found, ["order-3"], "the one orphan, not the captured ones");
    assert_eq!(orphans[0].code.as_deref(), Some("AUTH-3"));
    assert_eq!(
        scans(&mut tx, "holds").await - holds,
        0,
        "no sequential scan of holds"
    );
    assert_eq!(
        scans(&mut tx, "orders").await - orders,
        0,
        "no sequential scan of orders"
    );
}
