//! A harness that runs the whole system in-process, as the tests (and benchmarks) of
//! this crate need it: the orders and movies services on port 0, each on its own fresh
//! database, and a `cinema-client` connected to both. The database server is the one
//! at `DATABASE_URL`, or one Postgres container when that is not set (see
//! `cinema-testkit`).

use std::time::Duration;

use cinema_client::{Cinema, ClientConfig};
use cinema_testkit::TestDatabase;
use secrecy::SecretString;

pub const MOVIES_ADMIN_TOKEN: &str = "it-movies-admin";
pub const ORDERS_ADMIN_TOKEN: &str = "it-orders-admin";
pub const CALLBACK_TOKEN: &str = "it-callback";

fn secret(s: &str) -> Option<SecretString> {
    Some(SecretString::from(s.to_owned()))
}

/// One running service: its address, and its database for assertions a front-end
/// cannot make.
pub use cinema_service::service::Running as Service;

/// Both services and a client, running in this process.
#[derive(Debug)]
pub struct Stack {
    pub cinema: Cinema,
    pub orders: Service,
    pub movies: Service,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_texts(None).await
    }

    /// The stack with orders texting customers through `sms` (the gateway simulator).
    pub async fn start_with_texts(sms: Option<&cinema_sms_sim::Simulator>) -> anyhow::Result<Self> {
        Self::start_with(sms, Default::default()).await
    }

    /// The stack with a payment processor that takes `latency` to answer, as a real
    /// one does: long enough for a customer to click twice.
    pub async fn start_with_payment_latency(latency: Duration) -> anyhow::Result<Self> {
        let checkout = cinema_orders::config::CheckoutSettings {
            payment_latency_ms: latency.as_millis().try_into()?,
            ..Default::default()
        };
        Self::start_with(None, checkout).await
    }

    async fn start_with(
        sms: Option<&cinema_sms_sim::Simulator>,
        checkout: cinema_orders::config::CheckoutSettings,
    ) -> anyhow::Result<Self> {
        cinema_testkit::init_test_logging();
        let orders_db = TestDatabase::create().await?;
        let movies_db = TestDatabase::create().await?;

        let orders =
            Service::start::<cinema_orders::Application>(cinema_orders::config::Settings {
                database: cinema_service::service::DatabaseSettings::new(
                    orders_db.url().to_owned(),
                ),
                listen_addr: "127.0.0.1:0".parse()?,
                admin_token: secret(ORDERS_ADMIN_TOKEN),
                serving: Default::default(),
                callback_token: secret(CALLBACK_TOKEN),
                dispatcher: true,
                dispatch: cinema_orders::dispatcher::DispatchSettings {
                    min_delay_ms: 50,
                    max_delay_ms: 500,
                    sweep_ms: 500,
                    call_timeout_ms: 2000,
                    ..Default::default()
                },
                sms: sms.map(texting).unwrap_or_default(),
                checkout,
            })
            .await?;
        let movies =
            Service::start::<cinema_movies::Application>(cinema_movies::config::Settings {
                database: cinema_service::service::DatabaseSettings::new(
                    movies_db.url().to_owned(),
                ),
                listen_addr: "127.0.0.1:0".parse()?,
                admin_token: secret(MOVIES_ADMIN_TOKEN),
                orders_endpoint: orders.url(),
                orders_token: secret(ORDERS_ADMIN_TOKEN),
                orders_timeout_ms: 5000,
                provider_name: "movies".into(),
                callback_endpoint: None,
                callback_token: secret(CALLBACK_TOKEN),
                cleaning_gap_minutes: 15,
                serving: Default::default(),
            })
            .await?;

        let mut config = ClientConfig::new(movies.url(), orders.url());
        config.movies_admin_token = secret(MOVIES_ADMIN_TOKEN);
        config.orders_admin_token = secret(ORDERS_ADMIN_TOKEN);
        config.timeout = Duration::from_secs(10);
        Ok(Self {
            cinema: Cinema::connect(config)?,
            orders,
            movies,
        })
    }

    /// Stops both services, draining in-flight calls.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.movies.stop().await?;
        self.orders.stop().await
    }

    /// What the clock does to a showtime when it starts, done to both services' rows
    /// at once: it began a minute ago, and so did the end of its tickets' sales (and
    /// their admission window moved with it).
    pub async fn showtime_starts(&self, showtime: &cinema_client::movies_pb::Showtime) {
        self.showtime_started(showtime, 1).await;
    }

    /// As [`Stack::showtime_starts`], `minutes` ago.
    pub async fn showtime_started(
        &self,
        showtime: &cinema_client::movies_pb::Showtime,
        minutes: i32,
    ) {
        let id = |raw: &str| raw.parse::<i64>().expect("a numeric id");
        sqlx::query(
            "UPDATE showtimes SET start_time = now() - make_interval(mins => $2) WHERE id = $1",
        )
        .bind(id(&showtime.id))
        .bind(minutes)
        .execute(self.movies.pool())
        .await
        .expect("the showtime started");
        // Every right-hand side reads the row as it was.
        sqlx::query(
            "UPDATE products
             SET sales_end = now() - make_interval(mins => $2),
                 admission_start = admission_start + (now() - make_interval(mins => $2) - sales_end),
                 admission_end = admission_end + (now() - make_interval(mins => $2) - sales_end)
             WHERE id = $1",
        )
        .bind(id(&showtime.product_id))
        .bind(minutes)
        .execute(self.orders.pool())
        .await
        .expect("its sales ended");
    }
}

/// Orders' SMS settings for the gateway simulator's default credentials.
fn texting(sim: &cinema_sms_sim::Simulator) -> cinema_orders::config::SmsSettings {
    let creds = cinema_sms_sim::SimSettings::default();
    cinema_orders::config::SmsSettings {
        watertel_url: Some(sim.watertel_url()),
        watertel_username: creds.watertel_username.clone(),
        watertel_password: Some(SecretString::from(creds.watertel_password.clone())),
        watertel_weight: 80,
        milio_url: Some(sim.milio_url()),
        milio_token: Some(SecretString::from(creds.milio_token.clone())),
        milio_registered_phone: creds.milio_registered_phone.clone(),
        milio_weight: 20,
        retries: 3,
        retry_base_ms: 200,
    }
}

pub use cinema_testkit::eventually;

/// The test card the simulated processor accepts, with a Cambridge, MA billing address.
pub fn visa() -> cinema_client::orders_pb::Payment {
    use cinema_client::orders_pb as orders;
    orders::Payment {
        method: Some(orders::payment::Method::CreditCard(orders::CreditCard {
            brand: orders::CardBrand::Visa.into(),
            number: "4111 1111 1111 1111".into(),
            expiration_month: 12,
            expiration_year: 2030,
            billing_address: Some(orders::Address {
                line_1: "77 Massachusetts Ave".into(),
                line_2: String::new(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            security_code: "123".into(),
        })),
    }
}

/// Another customer holding `quantity` seats of a showtime's product, for the
/// service's default time.
pub async fn someone_holds(
    cinema: &cinema_client::Cinema,
    product_id: &str,
    quantity: i64,
) -> cinema_client::orders_pb::Hold {
    let items = vec![cinema_client::orders_pb::OrderItem {
        product_id: product_id.to_owned(),
        quantity,
    }];
    cinema
        .orders()
        .hold_products(items, 0)
        .await
        .expect("seats held")
}

/// A whole minute `hours` from now, as a protobuf timestamp.
pub fn hours_from_now(hours: i64) -> prost_types::Timestamp {
    let t = chrono::Utc::now() + chrono::Duration::hours(hours);
    prost_types::Timestamp {
        seconds: t.timestamp() - t.timestamp() % 60,
        nanos: 0,
    }
}
