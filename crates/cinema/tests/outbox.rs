//! `cinema outbox list|redrive` against an orders service whose provider is down: the
//! exhausted sold-out callback is listed, and a redrive sends it again.

use std::process::Command;
use std::time::Duration;

use cinema_client::orders_pb as pb;
use cinema_client::orders_pb::orders_service_client::OrdersServiceClient;
use serde_json::Value;
use tonic::Request;

const CINEMA: &str = env!("CARGO_BIN_EXE_cinema");
const ADMIN_TOKEN: &str = "outbox-cli-admin";

fn admin<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().expect("ascii"),
    );
    request
}

fn cinema(orders: &str, args: &[&str]) -> std::process::Output {
    Command::new(CINEMA)
        .args(args)
        .env("CINEMA_ORDERS", orders)
        .env("ORDERS_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("cinema runs")
}

fn json(output: std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

async fn exhausted(orders: &str) -> Vec<Value> {
    let orders = orders.to_owned();
    cinema_testkit::eventually("an exhausted message", Duration::from_secs(20), || {
        let orders = orders.clone();
        async move {
            let listed = json(cinema(&orders, &["outbox", "list", "--json"]));
            let rows = listed.as_array()?.clone();
            (!rows.is_empty()).then_some(rows)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_list_shows_exhausted_messages_and_redrive_sends_them_again() {
    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("database");
    // A provider address where nothing listens: every callback fails at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let settings = cinema_service::service::try_parse_from::<cinema_orders::Application, _>([
        "orders-service",
        "--database-url",
        database.url(),
        "--listen-addr",
        "127.0.0.1:0",
        "--admin-token",
        ADMIN_TOKEN,
        "--callback-token",
        "outbox-cli-callback",
        "--outbox-max-attempts",
        "1",
        "--callback-timeout-ms",
        "500",
    ])
    .expect("settings")
    .settings;
    let running = cinema_service::service::Running::start::<cinema_orders::Application>(settings)
        .await
        .expect("orders builds");
    let orders = running.url();

    let mut client = OrdersServiceClient::connect(orders.clone())
        .await
        .expect("client");
    let provider_id = client
        .register_provider(admin(pb::RegisterProviderRequest {
            name: "movies".into(),
            callback_endpoint: format!("http://{dead}"),
        }))
        .await
        .expect("registered")
        .into_inner()
        .provider_id;
    let product = client
        .add_product(admin(pb::AddProductRequest {
            description: "Last seat".into(),
            quantity: 1,
            price_cents: 900,
            provider_id: Some(provider_id),
            external_ref: Some("showtime-3".into()),
            ..Default::default()
        }))
        .await
        .expect("product")
        .into_inner()
        .product_id;
    client
        .hold_products(pb::HoldProductsRequest {
            request_id: "cli-hold".into(),
            items: vec![pb::OrderItem {
                product_id: product.clone(),
                quantity: 1,
            }],
            ttl_seconds: 600,
        })
        .await
        .expect("the last seat is held: sold out");

    let rows = exhausted(&orders).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["kind"], "product_sold_out");
    assert_eq!(row["status"], "exhausted");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["product_id"], product.as_str());
    assert!(
        !row["last_error"].as_str().expect("error").is_empty(),
        "{row}"
    );
    let id = row["id"].as_str().expect("id").to_owned();

    // The table a person reads names the message and why it failed.
    let table = cinema(&orders, &["outbox", "list"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(&id) && text.contains("product_sold_out"),
        "{text}"
    );

    // Without the token: refused, with the variable named.
    let refused = Command::new(CINEMA)
        .args(["outbox", "list"])
        .env("CINEMA_ORDERS", &orders)
        .env_remove("ORDERS_ADMIN_TOKEN")
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the outbox needs the orders admin token: set ORDERS_ADMIN_TOKEN"),
        "{stderr}"
    );

    // Redrive: attempted once more (the provider is still down), so exhausted again
    // with two attempts on record.
    let redriven = json(cinema(&orders, &["outbox", "redrive", &id, "--json"]));
    assert_eq!(redriven["redriven"], serde_json::json!([id]));
    let again = cinema_testkit::eventually("the redriven attempt", Duration::from_secs(20), || {
        let orders = orders.clone();
        async move {
            let listed = json(cinema(&orders, &["outbox", "list", "--json"]));
            let row = listed.as_array()?.first()?.clone();
            (row["attempts"] == 2).then_some(row)
        }
    })
    .await;
    assert_eq!(again["status"], "exhausted");
    let nothing = cinema(&orders, &["outbox", "redrive", "--all"]);
    assert!(nothing.status.success());
    let said = String::from_utf8_lossy(&nothing.stdout);
    assert!(said.contains("Redriven 1 message"), "{said}");

    let missing = cinema(&orders, &["outbox", "redrive", "424242"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("424242"));

    running.stop().await.expect("stops");
}
