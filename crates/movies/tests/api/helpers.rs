use chrono::{DateTime, Duration, Utc};
use cinema_movies::Application;
use cinema_movies::config::Settings;
use cinema_movies::orders_gateway::OrdersGateway;
use cinema_movies::scheduling::Scheduler;
use cinema_proto::movies::v1 as pb;
use cinema_proto::movies::v1::movies_admin_service_client::MoviesAdminServiceClient;
use cinema_proto::movies::v1::movies_service_client::MoviesServiceClient;
use cinema_proto::orders::v1 as orders_pb;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use cinema_service::service::Running;
use cinema_testkit::TestDatabase;
use secrecy::SecretString;
use tonic::Request;
use tonic::transport::Channel;

pub const ADMIN_TOKEN: &str = "movies-admin-token";
pub const ORDERS_TOKEN: &str = "orders-admin-token";
pub const CALLBACK_TOKEN: &str = "callback-token";

pub async fn spawn_orders() -> Running {
    let database = TestDatabase::create().await.expect("orders database");
    let app = cinema_orders::Application::build(cinema_orders::config::Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: 10,
            ..cinema_service::service::DatabaseSettings::new(database.url().to_owned())
        },
        listen_addr: "127.0.0.1:0".parse().expect("address"),
        admin_token: Some(SecretString::from(ORDERS_TOKEN.to_owned())),
        serving: Default::default(),
        callback_token: Some(SecretString::from(CALLBACK_TOKEN.to_owned())),
        dispatcher: true,
        dispatch: cinema_orders::dispatcher::DispatchSettings {
            min_delay_ms: 50,
            max_delay_ms: 400,
            sweep_ms: 200,
            call_timeout_ms: 1000,
            ..Default::default()
        },
        sms: Default::default(),
        checkout: Default::default(),
    })
    .await
    .expect("orders builds");
    Running::serve(app)
}

pub struct TestStack {
    pub movies: Running,
    /// The movies service's database, for another replica.
    pub movies_database: String,
    /// `None` when the stack was started with the orders service unreachable.
    pub orders: Option<Running>,
    pub public: MoviesServiceClient<Channel>,
    pub admin: MoviesAdminServiceClient<Channel>,
    /// Keeps the unreachable orders service's port ours while the stack runs.
    _dead_orders: Option<DeadEndpoint>,
}

/// An address where nothing listens, while this lives: the port is bound but never
/// listened on, so every connection is refused, and no other test's server can take
/// it (a port bound and released could be, and answer in another protocol).
pub struct DeadEndpoint {
    pub url: String,
    _reserved: tokio::net::TcpSocket,
}

pub fn dead_endpoint() -> DeadEndpoint {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let url = format!("http://{}", socket.local_addr().expect("addr"));
    DeadEndpoint {
        url,
        _reserved: socket,
    }
}

pub async fn spawn_stack() -> TestStack {
    let orders = spawn_orders().await;
    spawn_movies(orders.url(), Some(orders), None).await
}

pub async fn spawn_stack_without_orders() -> TestStack {
    let dead = dead_endpoint();
    spawn_movies(dead.url.clone(), None, Some(dead)).await
}

async fn spawn_movies(
    orders_endpoint: String,
    orders: Option<Running>,
    dead_orders: Option<DeadEndpoint>,
) -> TestStack {
    cinema_testkit::init_test_logging();
    let database = TestDatabase::create().await.expect("movies database");
    let movies_database = database.url().to_owned();
    let movies = serve_movies(&movies_database, orders_endpoint).await;
    let channel = Channel::from_shared(movies.url())
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    TestStack {
        movies,
        movies_database,
        orders,
        public: MoviesServiceClient::new(channel.clone()),
        admin: MoviesAdminServiceClient::new(channel),
        _dead_orders: dead_orders,
    }
}

async fn serve_movies(database_url: &str, orders_endpoint: String) -> Running {
    let app = Application::build(Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: 10,
            ..cinema_service::service::DatabaseSettings::new(database_url.to_owned())
        },
        listen_addr: "127.0.0.1:0".parse().expect("address"),
        admin_token: Some(SecretString::from(ADMIN_TOKEN.to_owned())),
        orders_endpoint,
        orders_token: Some(SecretString::from(ORDERS_TOKEN.to_owned())),
        orders_timeout_ms: 2000,
        provider_name: "movies".into(),
        callback_endpoint: None,
        callback_token: Some(SecretString::from(CALLBACK_TOKEN.to_owned())),
        cleaning_gap_minutes: 15,
        serving: Default::default(),
    })
    .await
    .expect("movies builds");
    Running::serve(app)
}

/// Wraps a message with the movies admin credential.
pub fn admin<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().expect("ascii"),
    );
    request
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// A whole minute some hours from now, so tests never race the clock.
pub fn hours_from_now(hours: i64) -> DateTime<Utc> {
    let t = Utc::now() + Duration::hours(hours);
    DateTime::from_timestamp(t.timestamp() - t.timestamp() % 60, 0).expect("valid")
}

impl TestStack {
    pub async fn stop(self) {
        self.movies.stop().await.expect("movies stops cleanly");
        if let Some(orders) = self.orders {
            orders.stop().await.expect("orders stops cleanly");
        }
    }

    pub fn orders_client(&self) -> OrdersServiceClient<Channel> {
        let addr = self.orders.as_ref().expect("orders running").local_addr();
        OrdersServiceClient::new(
            Channel::from_shared(format!("http://{addr}"))
                .expect("uri")
                .connect_lazy(),
        )
    }

    /// GetMovie's answer: the movie and its synopsis.
    pub async fn get_movie(&self, id: &str) -> pb::GetMovieResponse {
        self.public
            .clone()
            .get_movie(pb::GetMovieRequest { id: id.into() })
            .await
            .expect("the movie")
            .into_inner()
    }

    pub async fn movie(&self, name: &str, length_minutes: u32) -> String {
        self.admin
            .clone()
            .create_movie(admin(pb::CreateMovieRequest {
                name: name.into(),
                length_minutes,
                rating: pb::Rating::Pg13.into(),
                request_id: String::new(),
                synopsis: String::new(),
                release_year: 0,
            }))
            .await
            .expect("movie created")
            .into_inner()
            .movie
            .expect("movie")
            .id
    }

    /// A theatre at explicit coordinates (or the ZIP's), with auditoriums "1" (100
    /// seats) and "2" (40 seats).
    pub async fn theatre(&self, name: &str, zip: &str, at: Option<(f64, f64)>) -> String {
        self.admin
            .clone()
            .create_theatre(admin(theatre_request(name, zip, at)))
            .await
            .expect("theatre created")
            .into_inner()
            .theatre
            .expect("theatre")
            .id
    }

    pub async fn showtime(
        &self,
        movie: &str,
        theatre: &str,
        room: &str,
        start: DateTime<Utc>,
    ) -> pb::Showtime {
        self.admin
            .clone()
            .create_showtime(admin(showtime_request(movie, theatre, room, start)))
            .await
            .expect("showtime created")
            .into_inner()
            .showtime
            .expect("showtime")
    }

    pub async fn availability(&self, product_id: &str) -> i64 {
        self.orders_client()
            .get_availability(orders_pb::GetAvailabilityRequest {
                product_ids: vec![product_id.into()],
            })
            .await
            .expect("availability")
            .into_inner()
            .products[0]
            .quantity_remaining
    }

    /// A scheduler of this stack's movies database whose orders service is at
    /// `orders_endpoint`: to run its jobs directly.
    pub fn scheduler_with_orders_at(&self, orders_endpoint: &str) -> Scheduler {
        let orders = OrdersGateway::new(
            orders_endpoint,
            SecretString::from(ORDERS_TOKEN.to_owned()),
            "movies".into(),
            self.movies.url(),
            std::time::Duration::from_secs(2),
        )
        .expect("gateway");
        Scheduler::new(
            self.movies.pool().clone(),
            orders,
            std::time::Duration::from_secs(15 * 60),
        )
    }

    /// Another replica of the movies service, on the same database and orders service.
    pub async fn another_movies_replica(&self) -> Running {
        let orders = self.orders.as_ref().expect("orders running").url();
        serve_movies(&self.movies_database, orders).await
    }

    pub fn scheduler(&self) -> Scheduler {
        self.scheduler_with_orders_at(&self.orders.as_ref().expect("orders running").url())
    }

    /// The door's rules the orders service keeps for a product: from when, until when,
    /// and at which venue its holders are let in; `None` when it has none.
    pub async fn door_rules(
        &self,
        product_id: &str,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>, String)> {
        let rules: (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<String>) = sqlx::query_as(
            "SELECT admission_start, admission_end, admission_venue FROM products
                 WHERE id = $1",
        )
        .bind(product_id.parse::<i64>().expect("id"))
        .fetch_one(self.orders.as_ref().expect("orders running").pool())
        .await
        .expect("product");
        match rules {
            (Some(start), Some(end), Some(venue)) => Some((start, end, venue)),
            (None, None, None) => None,
            half => panic!("the door's rules are all on record or none: {half:?}"),
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(self.movies.pool())
            .await
            .expect("count")
    }

    /// Row counts of every catalogue table, to check that a refused call wrote nothing.
    pub async fn catalogue_counts(&self) -> [i64; 4] {
        [
            self.count("movies").await,
            self.count("theatres").await,
            self.count("auditoriums").await,
            self.count("showtimes").await,
        ]
    }

    pub async fn orders_products(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM products")
            .fetch_one(self.orders.as_ref().expect("orders").pool())
            .await
            .expect("count")
    }

    pub async fn get_showtimes(
        &self,
        request: pb::GetShowtimesRequest,
    ) -> pb::GetShowtimesResponse {
        self.public
            .clone()
            .get_showtimes(request)
            .await
            .expect("showtimes")
            .into_inner()
    }
}

pub fn theatre_request(name: &str, zip: &str, at: Option<(f64, f64)>) -> pb::CreateTheatreRequest {
    pb::CreateTheatreRequest {
        name: name.into(),
        phone: "+16175550100".into(),
        address: Some(pb::Address {
            line_1: "1 Main St".into(),
            city: "Cambridge".into(),
            state: "MA".into(),
            zip_code: zip.into(),
        }),
        auditoriums: vec![
            pb::Auditorium {
                room: "1".into(),
                seats: 100,
            },
            pb::Auditorium {
                room: "2".into(),
                seats: 40,
            },
        ],
        latitude: at.map(|(lat, _)| lat),
        longitude: at.map(|(_, lon)| lon),
        time_zone: None,
        request_id: String::new(),
    }
}

pub fn showtime_request(
    movie: &str,
    theatre: &str,
    room: &str,
    start: DateTime<Utc>,
) -> pb::CreateShowtimeRequest {
    pb::CreateShowtimeRequest {
        movie_id: movie.into(),
        theatre_id: theatre.into(),
        room: room.into(),
        start_time: Some(ts(start)),
        price_cents: 1250,
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

pub fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    let mut ids: Vec<String> = items.iter().map(|i| id(i).to_owned()).collect();
    ids.sort();
    ids
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub use cinema_testkit::eventually;
