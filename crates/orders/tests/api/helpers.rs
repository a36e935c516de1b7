use std::net::SocketAddr;

use cinema_orders::Application;
use cinema_orders::config::{Settings, SmsSettings};
use cinema_orders::dispatcher::DispatchSettings;
use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use cinema_service::service::Running;
use cinema_testkit::TestDatabase;
use secrecy::SecretString;
use sqlx::PgPool;
use tonic::transport::Channel;
use tonic::{Code, Request};

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const CALLBACK_TOKEN: &str = "test-callback-token";
pub const VISA: &str = "4111 1111 1111 1111";
pub const VISA_DIGITS: &str = "4111111111111111";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: OrdersServiceClient<Channel>,
    pub pool: PgPool,
    /// The database the service runs on; a restarted service reuses it.
    pub database: TestDatabase,
    pub checkout: cinema_orders::checkout::Checkout,
    /// The service's outbox dispatcher: with `dispatcher: false` in the settings, a
    /// test delivers the outbox itself, when it chooses, with `deliver_due()`.
    pub outbox: std::sync::Arc<cinema_orders::dispatcher::Dispatcher>,
    server: Running,
}

pub fn settings(database: &TestDatabase) -> Settings {
    Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: 10,
            ..cinema_service::service::DatabaseSettings::new(database.url().to_owned())
        },
        listen_addr: "127.0.0.1:0".parse().expect("valid address"),
        admin_token: Some(SecretString::from(ADMIN_TOKEN.to_owned())),
        serving: Default::default(),
        callback_token: Some(SecretString::from(CALLBACK_TOKEN.to_owned())),
        dispatcher: true,
        // Fast retries so tests of the retry path finish quickly.
        dispatch: DispatchSettings {
            min_delay_ms: 50,
            max_delay_ms: 400,
            max_attempts: 15,
            sweep_ms: 200,
            call_timeout_ms: 1000,
            ..Default::default()
        },
        sms: SmsSettings::default(),
        checkout: Default::default(),
    }
}

pub async fn spawn_app() -> TestApp {
    let database = TestDatabase::create().await.expect("test database");
    spawn_app_with(settings(&database), database).await
}

/// A service whose outbox the test delivers itself, when it chooses, with
/// `app.outbox.deliver_due()`: no background dispatcher races the test's assertions,
/// and a failed message's retry falls due only when the test says so (its delay is a
/// minute; `deliver_until_settled` makes retries due at once), however slow the machine.
pub async fn spawn_app_delivering_on_demand() -> TestApp {
    let database = TestDatabase::create().await.expect("test database");
    spawn_app_with(delivering_on_demand(&database), database).await
}

/// The settings of [`spawn_app_delivering_on_demand`].
pub fn delivering_on_demand(database: &TestDatabase) -> Settings {
    let mut config = settings(database);
    config.dispatcher = false;
    config.dispatch.min_delay_ms = 60_000;
    config.dispatch.max_delay_ms = 600_000;
    config
}

/// Starts the service with these settings on an existing test database (a restart, or
/// a second replica).
pub async fn spawn_app_with(settings: Settings, database: TestDatabase) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("application builds");
    serve(app, database).await
}

/// Starts the service with a payment processor of the test's own.
pub async fn spawn_app_with_processor(
    settings: Settings,
    database: TestDatabase,
    processor: std::sync::Arc<dyn cinema_orders::payments::PaymentProcessor>,
) -> TestApp {
    let app = Application::build_with(settings, processor)
        .await
        .expect("application builds");
    serve(app, database).await
}

async fn serve(app: Application, database: TestDatabase) -> TestApp {
    cinema_testkit::init_test_logging();
    let checkout = app.checkout();
    let outbox = app.dispatcher();
    let server = Running::serve(app);
    let (addr, pool) = (server.local_addr(), server.pool().clone());
    let client = OrdersServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client connects");
    TestApp {
        addr,
        client,
        pool,
        database,
        checkout,
        outbox,
        server,
    }
}

impl TestApp {
    pub fn client(&self) -> OrdersServiceClient<Channel> {
        self.client.clone()
    }

    /// Ends the server as a killed process would end: the serving task stops where it
    /// is, with no drain and no cleanup. Returns the database, for a restart.
    pub fn crash(self) -> TestDatabase {
        self.server.kill();
        self.database
    }

    /// Delivers the outbox, each failed message's retry falling due at once (as if its
    /// delay had passed), until no message is pending: every attempt the schedule
    /// allows, with no clock to wait on. Returns the attempts made. For a service
    /// started with `dispatcher: false`.
    pub async fn deliver_until_settled(&self) -> usize {
        let mut attempts = 0;
        for _ in 0..50 {
            attempts += self.outbox.deliver_due().await.expect("deliver");
            let due =
                sqlx::query("UPDATE outbox SET next_attempt_at = now() WHERE status = 'pending'")
                    .execute(&self.pool)
                    .await
                    .expect("due now")
                    .rows_affected();
            if due == 0 {
                return attempts;
            }
        }
        panic!("the outbox never settled");
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(self) {
        self.server.stop().await.expect("server stops cleanly");
    }

    /// The order with this confirmation code, as GetOrder answers.
    pub async fn order(&self, confirmation: &str) -> pb::Order {
        self.client()
            .get_order(pb::GetOrderRequest {
                confirmation: confirmation.into(),
            })
            .await
            .expect("order")
            .into_inner()
            .order
            .expect("order")
    }

    pub async fn add_product(&self, description: &str, quantity: i64, price_cents: i64) -> String {
        self.client()
            .add_product(admin(pb::AddProductRequest {
                description: description.into(),
                quantity,
                price_cents,
                ..Default::default()
            }))
            .await
            .expect("product added")
            .into_inner()
            .product_id
    }

    /// Places `request`, failing the test with `what` if it is refused.
    pub async fn place(
        &self,
        request: &pb::PlaceOrderRequest,
        what: &str,
    ) -> pb::PlaceOrderResponse {
        self.client()
            .place_order(request.clone())
            .await
            .unwrap_or_else(|status| panic!("{what}: {status:?}"))
            .into_inner()
    }

    pub async fn availability(&self, product_id: &str) -> i64 {
        self.client()
            .get_availability(pb::GetAvailabilityRequest {
                product_ids: vec![product_id.into()],
            })
            .await
            .expect("availability")
            .into_inner()
            .products[0]
            .quantity_remaining
    }

    /// Counts rows in the tables an order writes to, to check that a refused request
    /// changed nothing.
    pub async fn row_counts(&self) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        for table in [
            "products",
            "providers",
            "orders",
            "credit_card_payments",
            "paypal_payments",
            "promotional_payments",
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await
                .expect("count");
            counts.push((table.to_owned(), n));
        }
        // An order's lines are its hold's items.
        let lines: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM hold_items i JOIN orders o ON o.hold_id = i.hold_id",
        )
        .fetch_one(&self.pool)
        .await
        .expect("count");
        counts.push(("order lines".to_owned(), lines));
        let stock: i64 =
            sqlx::query_scalar("SELECT coalesce(sum(quantity_remaining), 0)::bigint FROM products")
                .fetch_one(&self.pool)
                .await
                .expect("stock");
        counts.push(("stock".into(), stock));
        let promo: i64 =
            sqlx::query_scalar("SELECT coalesce(sum(uses_remaining), 0)::bigint FROM promotions")
                .fetch_one(&self.pool)
                .await
                .expect("promotions");
        counts.push(("promotion uses".into(), promo));
        for (name, query) in [
            ("holds", "SELECT count(*) FROM holds"),
            (
                "held",
                "SELECT coalesce(sum(quantity_held), 0)::bigint FROM products",
            ),
            (
                "authorizations",
                "SELECT count(*) FROM payment_authorizations",
            ),
        ] {
            let n: i64 = sqlx::query_scalar(query)
                .fetch_one(&self.pool)
                .await
                .expect("count");
            counts.push((name.into(), n));
        }
        counts
    }

    pub async fn add_promotion(&self, code: &str, uses: i32, active: bool) {
        sqlx::query("INSERT INTO promotions (code, uses_remaining, active) VALUES ($1, $2, $3)")
            .bind(code)
            .bind(uses)
            .bind(active)
            .execute(&self.pool)
            .await
            .expect("promotion inserted");
    }
}

/// Registers the provider "movies" calling back at `endpoint`; returns its id.
pub async fn register_provider(
    client: &mut OrdersServiceClient<Channel>,
    endpoint: &str,
) -> String {
    client
        .register_provider(admin(pb::RegisterProviderRequest {
            name: "movies".into(),
            callback_endpoint: endpoint.into(),
        }))
        .await
        .expect("registered")
        .into_inner()
        .provider_id
}

/// Registers the provider "movies" calling back at `endpoint`, and adds one of its
/// products ("showtime-1", `quantity` units at $10): for tests that talk to a service
/// process through a bare client.
pub async fn provided_by(
    client: &mut OrdersServiceClient<Channel>,
    endpoint: &str,
    quantity: i64,
) -> String {
    let provider_id = register_provider(client, endpoint).await;
    client
        .add_product(admin(pb::AddProductRequest {
            description: "Showtime 1".into(),
            quantity,
            price_cents: 1000,
            provider_id: Some(provider_id),
            external_ref: Some("showtime-1".into()),
            ..Default::default()
        }))
        .await
        .expect("product")
        .into_inner()
        .product_id
}

/// Wraps a message with the admin credential.
pub fn admin<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().expect("ascii"),
    );
    request
}

pub fn billing_address() -> pb::Address {
    pb::Address {
        line_1: "77 Massachusetts Ave".into(),
        line_2: String::new(),
        city: "Cambridge".into(),
        state: "MA".into(),
        zip_code: "02139".into(),
    }
}

pub fn card(number: &str) -> pb::Payment {
    pb::Payment {
        method: Some(pb::payment::Method::CreditCard(pb::CreditCard {
            brand: pb::CardBrand::Visa.into(),
            number: number.into(),
            expiration_month: 12,
            expiration_year: 2030,
            billing_address: Some(billing_address()),
            // As clients older than the field send it; the tests of the code set one.
            security_code: String::new(),
        })),
    }
}

pub fn paypal(email: &str) -> pb::Payment {
    pb::Payment {
        method: Some(pb::payment::Method::Paypal(pb::PayPal {
            email: email.into(),
        })),
    }
}

pub fn promotion(code: &str) -> pb::Payment {
    pb::Payment {
        method: Some(pb::payment::Method::Promotion(pb::Promotion {
            code: code.into(),
        })),
    }
}

pub fn item(product_id: &str, quantity: i64) -> pb::OrderItem {
    pb::OrderItem {
        product_id: product_id.into(),
        quantity,
    }
}

pub fn order(items: Vec<pb::OrderItem>, payment: pb::Payment) -> pb::PlaceOrderRequest {
    pb::PlaceOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        items,
        payment: Some(payment),
        customer: None,
        hold_id: String::new(),
    }
}

/// Asserts a call failed with `code`, and returns its message.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code) -> String {
    match result {
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status.message().to_owned()
        }
        Ok(value) => panic!("expected {code:?}, got {value:?}"),
    }
}

/// The error contract's details of a failed call, after checking its code.
pub fn expect_details<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: Code,
) -> cinema_proto::error::Details {
    match result {
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            cinema_proto::error::Details::of(&status)
        }
        Ok(value) => panic!("expected {code:?}, got {value:?}"),
    }
}

pub use cinema_testkit::eventually;
