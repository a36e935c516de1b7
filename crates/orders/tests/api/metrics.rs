//! `/metrics` of the real `orders-service` process (its own, so no other test's
//! calls are counted): calls by rpc and status, latency histograms, pool use, outbox
//! depth by kind and status, delivery attempts, active holds, admissions at the door,
//! the payment processor's calls.

use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_admin_service_client::OrdersAdminServiceClient;
use cinema_testkit::{TestDatabase, eventually};

use crate::crash::{Process, client};
use crate::fake_provider::{Behaviour, FakeProvider};
use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// The value of the sample `name{labels...}` (every given label must match).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse().ok()).flatten()
        })
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.expect("scrape");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.expect("body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_calls_latency_pool_outbox_and_holds() {
    cinema_testkit::init_test_logging();
    let provider =
        FakeProvider::start("127.0.0.1:0".parse().expect("addr"), Behaviour::Accept).await;
    let database = TestDatabase::create().await.expect("database");
    let free = || cinema_testkit::unused_local_addr();
    let (addr, metrics_addr) = (free(), free());
    let _process = Process::start(
        &database,
        addr,
        &[("METRICS_ADDR", metrics_addr.to_string().as_str())],
    );
    let mut orders = client(addr).await;
    let product = provided_by(&mut orders, &provider.endpoint(), 2).await;
    orders
        .hold_products(pb::HoldProductsRequest {
            request_id: "hold-1".into(),
            items: vec![item(&product, 1)],
            ttl_seconds: 600,
        })
        .await
        .expect("held");
    // A declined card, on a product of its own (not sold out by the attempt).
    let plenty = orders
        .add_product(admin(pb::AddProductRequest {
            description: "Plenty".into(),
            quantity: 5,
            price_cents: 1000,
            ..Default::default()
        }))
        .await
        .expect("product")
        .into_inner()
        .product_id;
    let declined = orders
        .place_order(order(vec![item(&plenty, 1)], card("4000 0000 0000 0002")))
        .await;
    expect_code(declined, tonic::Code::FailedPrecondition);
    // The other seat: sold out, so one callback.
    let sold = orders
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("sold")
        .into_inner();
    // Its holder comes in, then a copy of the code is turned away.
    let mut door = OrdersAdminServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("admin client");
    for _ in 0..2 {
        let _ = door
            .admit_order(admin(pb::AdmitOrderRequest {
                confirmation: sold.confirmation.clone(),
                ..Default::default()
            }))
            .await;
    }
    let refused = orders
        .place_order(order(vec![item(&product, 0)], card(VISA)))
        .await;
    expect_code(refused, tonic::Code::InvalidArgument);

    let url = format!("http://{metrics_addr}/metrics");
    let text = eventually("the callback to be delivered and counted", DEADLINE, || {
        let url = url.clone();
        async move {
            let text = scrape(&url).await;
            let labels = [("kind", "product_sold_out"), ("status", "delivered")];
            (sample(&text, "cinema_outbox_messages", &labels) == Some(1.0)).then_some(text)
        }
    })
    .await;

    let calls = |rpc: &str, code: &str| {
        sample(
            &text,
            "grpc_server_requests_total",
            &[("service", "orders"), ("rpc", rpc), ("code", code)],
        )
    };
    assert_eq!(calls("PlaceOrder", "Ok"), Some(1.0), "{text}");
    assert_eq!(calls("PlaceOrder", "InvalidArgument"), Some(1.0));
    assert_eq!(calls("HoldProducts", "Ok"), Some(1.0));
    let latency = [("rpc", "PlaceOrder"), ("code", "Ok")];
    assert_eq!(
        sample(
            &text,
            "grpc_server_request_duration_seconds_count",
            &latency
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_request_duration_seconds_bucket",
            &[("rpc", "PlaceOrder"), ("code", "Ok"), ("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &text,
            "db_pool_connections",
            &[("service", "orders"), ("state", "idle")]
        )
        .is_some()
    );
    assert_eq!(
        sample(&text, "db_pool_max_connections", &[("service", "orders")]),
        Some(20.0)
    );
    assert_eq!(sample(&text, "cinema_holds_active", &[]), Some(1.0));
    let admissions = |result: &str| sample(&text, "cinema_admissions_total", &[("result", result)]);
    assert_eq!(admissions("admitted"), Some(1.0), "{text}");
    assert_eq!(admissions("already_admitted"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "cinema_outbox_attempts_total",
            &[("kind", "product_sold_out"), ("result", "delivered")]
        ),
        Some(1.0)
    );
    // The processor: one authorization granted, one declined, each timed.
    let payments = |result: &str| {
        sample(
            &text,
            "cinema_payment_calls_total",
            &[("operation", "authorize"), ("result", result)],
        )
    };
    assert_eq!(payments("ok"), Some(1.0), "{text}");
    assert_eq!(payments("declined"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "cinema_payment_call_duration_seconds_bucket",
            &[("operation", "authorize"), ("le", "+Inf")]
        ),
        Some(2.0)
    );
}
