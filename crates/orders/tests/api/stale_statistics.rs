//! A hold's products are found by their key even when the planner knows nothing of the
//! tables yet (no ANALYZE: a new deployment, a restored backup): ending one hold must
//! not read a whole catalogue.

use cinema_orders::domain::HoldStatus;
use cinema_orders::store::{self, MIGRATOR};
use cinema_testkit::TestDatabase;
use sqlx::PgConnection;

/// Sequential scans of `products` by this transaction so far.
async fn product_scans(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(seq_scan), 0)::bigint FROM pg_stat_xact_user_tables
         WHERE relname = 'products'",
    )
    .fetch_one(conn)
    .await
    .expect("statistics")
}

#[tokio::test]
async fn ending_a_hold_looks_its_products_up_by_key_without_statistics() {
    let database = TestDatabase::create().await.expect("test database");
    let pool = sqlx::PgPool::connect(database.url()).await.expect("pool");
    MIGRATOR.run(&pool).await.expect("migrations");
    // A catalogue and a history of holds large enough that reading every product is
    // the planner's choice when it has to guess how many items one hold has (as a
    // join it did: one scan of 20,000 rows for each hold ended).
    sqlx::query(
        "INSERT INTO products (description, price_cents, quantity_total, quantity_remaining)
         SELECT 'Seat ' || g, 1200, 100, 100 FROM generate_series(1, 20000) g",
    )
    .execute(&pool)
    .await
    .expect("products");
    sqlx::query(
        "WITH h AS (
             INSERT INTO holds (public_id, request_id, request_fingerprint, expires_at)
             SELECT gen_random_uuid(), 'hold-' || g, decode(repeat('00', 32), 'hex'),
                    now() + interval '10 minutes'
             FROM generate_series(1, 100000) g
             RETURNING id)
         INSERT INTO hold_items (hold_id, position, product_id, quantity, unit_price_cents)
         SELECT id, 1, 1 + id % 20000, 1, 1200 FROM h",
    )
    .execute(&pool)
    .await
    .expect("holds");
    sqlx::query("UPDATE products SET quantity_remaining = 99, quantity_held = 1 WHERE id = 8")
        .execute(&pool)
        .await
        .expect("stock held");

    let mut tx = pool.begin().await.expect("transaction");
    let before = product_scans(&mut tx).await;
    let changes = store::end_hold(&mut tx, 7, HoldStatus::Released)
        .await
        .expect("hold ended")
        .expect("the hold was active");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].remaining, 100, "its unit is back on sale");
    assert_eq!(
        product_scans(&mut tx).await - before,
        0,
        "no sequential scan of products"
    );
}
