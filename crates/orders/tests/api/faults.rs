//! The database going away under load: calls in flight answer UNAVAILABLE (never
//! INTERNAL), retrying the same request succeeds once it is back, no order is left
//! half-written, and gRPC health follows at once, both ways.

use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use cinema_testkit::outage::DatabaseProxy;
use cinema_testkit::{TestDatabase, eventually};
use secrecy::SecretString;
use tokio::task::JoinSet;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// The service on `database`, reached through `proxy`.
async fn spawn_behind(proxy: &DatabaseProxy, database: TestDatabase, health_ms: u64) -> TestApp {
    let mut settings = settings(&database);
    settings.database.database_url = SecretString::from(proxy.url(&database));
    settings.serving.health_interval_ms = health_ms;
    spawn_app_with(settings, database).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_under_load_answers_unavailable_and_retries_lose_nothing() {
    let proxy = DatabaseProxy::start().await.expect("proxy");
    let database = TestDatabase::create().await.expect("database");
    let app = spawn_behind(&proxy, database.clone(), 2000).await;
    let product = app.add_product("Premiere", 1000, 1200).await;

    // Eight buyers, each placing 15 orders one after the other; a failed order is
    // retried with the same request id until it succeeds, as cinema-client does.
    let mut buyers = JoinSet::new();
    for _ in 0..8 {
        let mut client = app.client();
        let product = product.clone();
        buyers.spawn(async move {
            let mut codes = Vec::new();
            for _ in 0..15 {
                let request = order(vec![item(&product, 1)], card(VISA));
                let started = tokio::time::Instant::now();
                loop {
                    match client.place_order(request.clone()).await {
                        Ok(_) => break,
                        Err(status) => codes.push((status.code(), status.message().to_owned())),
                    }
                    assert!(
                        started.elapsed() < DEADLINE,
                        "an order never went through: {:?}",
                        codes.last()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            codes
        });
    }
    // The restart, while the buyers are buying.
    eventually("some orders to go through", DEADLINE, || {
        let pool = app.pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
                .fetch_one(&pool)
                .await
                .ok()?;
            (n >= 10).then_some(())
        }
    })
    .await;
    proxy.down(&database).await.expect("database down");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.up().expect("database back");
    let back = tokio::time::Instant::now();

    let mut failures = Vec::new();
    while let Some(codes) = buyers.join_next().await {
        failures.extend(codes.expect("buyer"));
    }
    // Recovered in seconds: a checkout that died mid-payment is taken over by its
    // retry at once, not when its claim would have lapsed (14 s).
    assert!(
        back.elapsed() < Duration::from_secs(8),
        "{:?}",
        back.elapsed()
    );
    assert!(
        !failures.is_empty(),
        "the restart happened while no call was in flight: the test proved nothing"
    );
    for (code, message) in &failures {
        assert_eq!(*code, Code::Unavailable, "{message}");
        assert!(message.contains("retry"), "says what to do: {message}");
    }

    // Every request became exactly one whole order, and the stock adds up.
    let (orders, whole, sold, available, held): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders),
                (SELECT count(*) FROM orders o
                  WHERE EXISTS (SELECT 1 FROM hold_items i WHERE i.hold_id = o.hold_id)
                    AND EXISTS (SELECT 1 FROM credit_card_payments c WHERE c.id = o.credit_card_payment_id)),
                (SELECT coalesce(sum(i.quantity), 0)::bigint
                   FROM hold_items i JOIN orders o ON o.hold_id = i.hold_id),
                (SELECT quantity_remaining FROM products),
                (SELECT quantity_held FROM products)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("state");
    assert_eq!(orders, 8 * 15, "one order per request, none twice");
    assert_eq!(whole, orders, "no order without its lines and payment");
    assert_eq!((sold, available, held), (120, 880, 0));
    app.stop().await;
}

async fn watch_health(app: &TestApp) -> tonic::Streaming<tonic_health::pb::HealthCheckResponse> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("endpoint")
        .connect()
        .await
        .expect("health channel");
    HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: "cinema.orders.v1.OrdersService".into(),
        })
        .await
        .expect("watch")
        .into_inner()
}

async fn next_status(
    stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
    within: Duration,
) -> ServingStatus {
    let response = tokio::time::timeout(within, stream.message())
        .await
        .expect("a health change in time")
        .expect("stream")
        .expect("a message");
    response.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_at_the_first_failed_call_and_back_once_the_database_answers() {
    let proxy = DatabaseProxy::start().await.expect("proxy");
    let database = TestDatabase::create().await.expect("database");
    // Health polls only once a minute here: any change within the test comes from
    // the failing call itself, or from the short re-check while the database is down.
    let app = spawn_behind(&proxy, database.clone(), 60_000).await;
    let mut health = watch_health(&app).await;
    let mut status = next_status(&mut health, DEADLINE).await;
    if status != ServingStatus::Serving {
        status = next_status(&mut health, DEADLINE).await;
    }
    assert_eq!(status, ServingStatus::Serving);

    proxy.down(&database).await.expect("database down");
    let failed = app
        .client()
        .get_order(pb::GetOrderRequest {
            confirmation: "ABCDEFGHJK".into(),
        })
        .await;
    expect_code(failed, Code::Unavailable);
    assert_eq!(
        next_status(&mut health, Duration::from_secs(2)).await,
        ServingStatus::NotServing,
        "health follows the failed call, not its next poll a minute away"
    );
    // Liveness does not follow the database: a replica without one is taken out of
    // the balance, not restarted.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("endpoint")
        .connect()
        .await
        .expect("channel");
    let liveness = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: cinema_service::health::LIVENESS.into(),
        })
        .await
        .expect("liveness")
        .into_inner()
        .status();
    assert_eq!(liveness, ServingStatus::Serving);

    proxy.up().expect("database back");
    let back = tokio::time::Instant::now();
    assert_eq!(
        next_status(&mut health, Duration::from_secs(3)).await,
        ServingStatus::Serving
    );
    assert!(
        back.elapsed() < Duration::from_secs(2),
        "{:?}",
        back.elapsed()
    );
    // An open watch would keep the graceful shutdown waiting.
    drop(health);
    app.stop().await;
}

/// Every SQLSTATE the error contract names, raised by a real server, lands where it
/// should: unreachable → UNAVAILABLE, lost race → retried then UNAVAILABLE, a bug →
/// INTERNAL.
#[tokio::test]
async fn database_failures_are_classified_by_sqlstate() {
    use cinema_service::error::{DbFailure, Error, retry_conflicts};

    let database = TestDatabase::create().await.expect("database");
    let pool = sqlx::PgPool::connect(database.url()).await.expect("pool");
    let raise = |code: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(&format!(
                "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{code}'; END $$"
            ))
            .execute(&pool)
            .await
            .expect_err("raised")
        }
    };
    for code in ["08006", "08001", "57P01", "57P02", "57P03", "53300"] {
        let error = raise(code).await;
        assert_eq!(DbFailure::of(&error), DbFailure::Unreachable, "{code}");
        assert_eq!(Error::from(error).code(), Code::Unavailable, "{code}");
    }
    for code in ["40001", "40P01"] {
        let error = raise(code).await;
        assert_eq!(DbFailure::of(&error), DbFailure::Conflict, "{code}");
        let error = Error::from(error);
        assert!(error.is_retryable(), "{code}");
        assert_eq!(error.code(), Code::Unavailable);
    }
    for code in ["23505", "42P01", "22003"] {
        let error = raise(code).await;
        assert_eq!(DbFailure::of(&error), DbFailure::Other, "{code}");
        assert_eq!(Error::from(error).code(), Code::Internal, "{code}");
    }

    // A lost race is run again, up to three times in all; other errors are not.
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let result: Result<(), Error> = retry_conflicts(|| {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let error = raise("40001");
        async move { Err(Error::from(error.await)) }
    })
    .await;
    assert_eq!(
        result.expect_err("still conflicting").code(),
        Code::Unavailable
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let won = retry_conflicts(|| {
        let n = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let error = raise("40P01");
        async move {
            if n == 0 {
                Err(Error::from(error.await))
            } else {
                Ok(n)
            }
        }
    })
    .await;
    assert_eq!(won.expect("the second run wins"), 1);
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let refused: Result<(), Error> = retry_conflicts(|| {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Err(Error::not_found("order", "X", "no such thing")) }
    })
    .await;
    assert_eq!(refused.expect_err("refused").code(), Code::NotFound);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    pool.close().await;
}
