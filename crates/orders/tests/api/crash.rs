//! The real `orders-service` process killed with SIGKILL: while a customer's payment is
//! being authorized (after the hold, before the confirmation), after a restart the
//! stock is back on sale and the authorization voided — never lost, never neither;
//! while it delivers a callback, another process delivers it within seconds.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use cinema_testkit::{TestDatabase, eventually};
use tonic::transport::Channel;

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// The service as a child process, killed when dropped.
pub struct Process(pub Child);

impl Process {
    pub fn start(
        database: &TestDatabase,
        addr: std::net::SocketAddr,
        env: &[(&str, &str)],
    ) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_orders-service"))
            .env("DATABASE_URL", database.url())
            .env("ORDERS_LISTEN_ADDR", addr.to_string())
            .env("ORDERS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ORDERS_CALLBACK_TOKEN", CALLBACK_TOKEN)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("orders-service starts");
        Self(child)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn client(addr: std::net::SocketAddr) -> OrdersServiceClient<Channel> {
    let url = format!("http://{addr}");
    eventually("the service to serve", DEADLINE, || {
        let url = url.clone();
        async move { OrdersServiceClient::connect(url).await.ok() }
    })
    .await
}

async fn state(pool: &sqlx::PgPool) -> (i64, i64, Option<String>, i64) {
    sqlx::query_as(
        "SELECT (SELECT quantity_remaining FROM products),
                (SELECT quantity_held FROM products),
                (SELECT status FROM payment_authorizations),
                (SELECT count(*) FROM orders)",
    )
    .fetch_one(pool)
    .await
    .expect("state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_hold_and_confirm_loses_nothing() {
    cinema_testkit::init_test_logging();
    let database = TestDatabase::create().await.expect("database");
    let pool = sqlx::PgPool::connect(database.url()).await.expect("pool");
    let addr = cinema_testkit::unused_local_addr();

    // A processor slow enough to kill the process while it thinks; a short hold.
    let mut doomed = Process::start(
        &database,
        addr,
        &[
            ("ORDERS_PAYMENT_LATENCY_MS", "60000"),
            ("ORDERS_CHECKOUT_HOLD_SECS", "2"),
        ],
    );
    let mut orders = client(addr).await;
    let product = orders
        .add_product(admin(pb::AddProductRequest {
            description: "Premiere".into(),
            quantity: 10,
            price_cents: 1500,
            ..Default::default()
        }))
        .await
        .expect("product")
        .into_inner()
        .product_id;
    let mut buyer = orders.clone();
    let checkout = tokio::spawn(async move {
        buyer
            .place_order(order(vec![item(&product, 4)], card(VISA)))
            .await
    });
    eventually("the payment to be in flight", DEADLINE, || {
        let pool = pool.clone();
        async move { (state(&pool).await.2.as_deref() == Some("pending")).then_some(()) }
    })
    .await;
    assert_eq!(state(&pool).await, (6, 4, Some("pending".into()), 0));

    doomed.0.kill().expect("SIGKILL");
    doomed.0.wait().expect("reaped");
    assert!(
        checkout.await.expect("task").is_err(),
        "the buyer saw the failure"
    );

    // A new process on the same database, with a sweeper, finishes what the dead one
    // left: the hold expires, its seats go back on sale, the authorization is voided.
    let _restarted = Process::start(&database, addr, &[("ORDERS_HOLD_SWEEP_MS", "200")]);
    let end = eventually("the abandoned checkout to be undone", DEADLINE, || {
        let pool = pool.clone();
        async move {
            let now = state(&pool).await;
            (now.2.as_deref() == Some("voided")).then_some(now)
        }
    })
    .await;
    assert_eq!(
        end,
        (10, 0, Some("voided".into()), 0),
        "back on sale, not charged"
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_claimed_by_a_killed_process_is_delivered_by_another_within_seconds() {
    use crate::fake_provider::{Behaviour, FakeProvider};

    cinema_testkit::init_test_logging();
    // The first delivery never answers: the process dies while it waits.
    let provider = FakeProvider::start(
        "127.0.0.1:0".parse().expect("addr"),
        Behaviour::HangFirstCall,
    )
    .await;
    let database = TestDatabase::create().await.expect("database");
    let addr = cinema_testkit::unused_local_addr();
    // Default delivery settings: the lease is what this test is about.
    let mut doomed = Process::start(&database, addr, &[]);
    let mut orders = client(addr).await;
    let product = provided_by(&mut orders, &provider.endpoint(), 1).await;
    orders
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("sold out");
    eventually("the sold-out callback to be in flight", DEADLINE, || {
        let calls = provider.calls();
        async move { (calls >= 1).then_some(()) }
    })
    .await;

    doomed.0.kill().expect("SIGKILL");
    doomed.0.wait().expect("reaped");
    let killed_at = std::time::Instant::now();
    let _survivor = Process::start(&database, addr, &[]);
    let received = eventually("the callback, from the other process", DEADLINE, || {
        let received = provider.received();
        async move { (!received.is_empty()).then_some(received) }
    })
    .await;
    let lag = killed_at.elapsed();
    assert!(
        lag < Duration::from_secs(10),
        "redelivered {lag:?} after the kill"
    );
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].product_id, product);
}
