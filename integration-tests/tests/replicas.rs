//! Replicas behave as one: two orders and two movies services on the same two
//! databases, each orders replica with its own outbox dispatcher and hold sweeper,
//! buyers spread over both through cinema-client's endpoint list. Then one orders
//! replica dies abruptly mid-load, and the other finishes its work.
//!
//! Each orders replica runs on a tokio runtime of its own; "killing" it first cuts
//! its database connections (it reaches Postgres through a relay, [`DatabaseRelay`]),
//! then drops that runtime at once (`shutdown_background`): every task stops where it
//! is, with no drain, and writes nothing more, as with SIGKILL.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{Cinema, ClientConfig, NewOrder};
use cinema_integration_tests::{
    CALLBACK_TOKEN, MOVIES_ADMIN_TOKEN, ORDERS_ADMIN_TOKEN, eventually, visa,
};
use cinema_service::service::Running;
use cinema_testkit::TestDatabase;
use secrecy::SecretString;
use tokio::task::JoinSet;

const DEADLINE: Duration = Duration::from_secs(60);
/// Seats of each showtime; buyers buy one at a time until all are sold.
const SEATS: u32 = 6;
const SHOWTIMES: usize = 4;

/// A thread that runs until told to stop; `stop` (or dropping it) returns once it has.
struct Stoppable {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stoppable {
    /// Runs `body` on a new thread, with the receiver it is told to stop on.
    fn spawn(body: impl FnOnce(tokio::sync::oneshot::Receiver<()>) + Send + 'static) -> Self {
        let (stop, stopping) = tokio::sync::oneshot::channel();
        Self {
            stop: Some(stop),
            thread: Some(std::thread::spawn(move || body(stopping))),
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An orders replica on its own runtime, on its own thread.
struct OrdersReplica {
    addr: SocketAddr,
    thread: Stoppable,
}

impl OrdersReplica {
    fn start(database_url: &str, sms: &cinema_sms_sim::Simulator) -> Self {
        let sim = cinema_sms_sim::SimSettings::default();
        let args = [
            "orders-service".to_owned(),
            format!("--database-url={database_url}"),
            "--listen-addr=127.0.0.1:0".into(),
            format!("--admin-token={ORDERS_ADMIN_TOKEN}"),
            format!("--callback-token={CALLBACK_TOKEN}"),
            "--outbox-min-delay-ms=100".into(),
            "--outbox-max-delay-ms=500".into(),
            "--outbox-sweep-ms=200".into(),
            "--callback-timeout-ms=2000".into(),
            "--text-timeout-ms=3000".into(),
            "--outbox-lease-margin-ms=500".into(),
            // A checkout cut off by the kill holds its seats this long, at most, and its
            // payment claim lapses for another replica after the payment timeout + 4 s.
            "--checkout-hold-secs=10".into(),
            "--payment-timeout-ms=1000".into(),
            "--hold-sweep-ms=200".into(),
            format!("--watertel-url={}", sms.watertel_url()),
            format!("--watertel-username={}", sim.watertel_username),
            format!("--watertel-password={}", sim.watertel_password),
            format!("--milio-url={}", sms.milio_url()),
            format!("--milio-token={}", sim.milio_token),
            format!("--milio-registered-phone={}", sim.milio_registered_phone),
        ];
        let settings =
            cinema_service::service::try_parse_from::<cinema_orders::Application, _>(args)
                .expect("orders settings")
                .settings;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = Stoppable::spawn(move |killed| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let app = runtime
                .block_on(cinema_orders::Application::build(settings))
                .expect("orders builds");
            ready_tx.send(app.local_addr()).expect("ready");
            runtime.spawn(app.run_until_stopped(std::future::pending()));
            let _ = killed.blocking_recv();
            // Every task of the replica stops where it is: no drain, no cleanup.
            runtime.shutdown_background();
        });
        let addr = ready_rx.recv().expect("orders replica started");
        Self { addr, thread }
    }

    fn kill(&mut self) {
        self.thread.stop();
    }
}

/// The `application_name` of the sessions opened through a [`DatabaseRelay`].
const RELAYED: &str = "orders-replica-a";

/// A TCP relay to Postgres that can be cut at once and for good, both ends of every
/// connection closed. Replica A reaches its database only through one, and its kill
/// cuts it before tearing down A's runtime: a runtime shutting down still polls some
/// tasks for a moment, and without the cut one of them could record what it saw while
/// the runtime dropped its other connections (a text whose HTTP connection was dropped
/// under it, recorded as exhausted), which a killed process never could.
struct DatabaseRelay {
    url: String,
    thread: Stoppable,
}

impl DatabaseRelay {
    fn to(database: &TestDatabase) -> Self {
        let mut url = url::Url::parse(database.url()).expect("database URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().expect("database host"),
            url.port().unwrap_or(5432)
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(listener.local_addr().expect("addr").port()))
            .expect("port");
        // Names the replica's sessions, so that the test can see them gone.
        url.query_pairs_mut()
            .append_pair("application_name", RELAYED);
        let thread = Stoppable::spawn(move |cut| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let relay = async {
                    loop {
                        let Ok((mut client, _)) = listener.accept().await else {
                            continue;
                        };
                        let upstream = upstream.clone();
                        tokio::spawn(async move {
                            if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = cut => {}
                    () = relay => {}
                }
            });
            // Dropping the runtime drops every relayed connection, and the listener.
        });
        Self {
            url: url.to_string(),
            thread,
        }
    }

    /// Closes every connection and refuses new ones; returns once they are closed.
    fn cut(&mut self) {
        self.thread.stop();
    }
}

async fn start_movies(
    database: &TestDatabase,
    orders: &str,
    callback_endpoint: Option<String>,
) -> Running {
    let mut args = vec![
        "movies-service".to_owned(),
        format!("--database-url={}", database.url()),
        "--listen-addr=127.0.0.1:0".into(),
        format!("--admin-token={MOVIES_ADMIN_TOKEN}"),
        format!("--orders-endpoint={orders}"),
        format!("--orders-token={ORDERS_ADMIN_TOKEN}"),
        format!("--callback-token={CALLBACK_TOKEN}"),
    ];
    if let Some(endpoint) = callback_endpoint {
        args.push(format!("--callback-endpoint={endpoint}"));
    }
    let settings = cinema_service::service::try_parse_from::<cinema_movies::Application, _>(args)
        .expect("movies settings")
        .settings;
    Running::start::<cinema_movies::Application>(settings)
        .await
        .expect("movies builds")
}

/// How many calls of `rpc` the movies replicas of this process answered OK.
async fn movies_answered(rpc: &str) -> u64 {
    let text = cinema_service::metrics::render().await;
    text.lines()
        .filter(|l| {
            l.starts_with("grpc_server_requests_total{")
                && l.contains("service=\"movies\"")
                && l.contains(&format!("rpc=\"{rpc}\""))
                && l.contains("code=\"Ok\"")
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn catalogue(cinema: &Cinema, label: &str) -> Vec<movies::Showtime> {
    let movie = cinema
        .admin()
        .create_movie(movies::CreateMovieRequest {
            name: format!("Premiere {label}"),
            length_minutes: 90,
            rating: movies::Rating::Pg.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await
        .expect("movie");
    let theatre = cinema
        .admin()
        .create_theatre(movies::CreateTheatreRequest {
            name: format!("Replica Cinema {label}"),
            phone: "+16175550100".into(),
            address: Some(movies::Address {
                line_1: "1 Main St".into(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            auditoriums: vec![movies::Auditorium {
                room: "1".into(),
                seats: SEATS,
            }],
            ..Default::default()
        })
        .await
        .expect("theatre");
    let mut showtimes = Vec::new();
    for i in 0..SHOWTIMES {
        showtimes.push(
            cinema
                .admin()
                .create_showtime(movies::CreateShowtimeRequest {
                    movie_id: movie.id.clone(),
                    theatre_id: theatre.id.clone(),
                    room: "1".into(),
                    start_time: Some(cinema_integration_tests::hours_from_now(24 + 3 * i as i64)),
                    price_cents: 1000,
                    request_id: String::new(),
                })
                .await
                .expect("showtime"),
        );
    }
    showtimes
}

/// What a sell-out did: every confirmation, and how many purchases had to start over
/// because their hold lapsed while they were retried.
struct Sale {
    confirmations: Vec<String>,
    started_over: usize,
}

/// Buyers buying one ticket at a time, each with a phone for a text, until every
/// showtime is sold out. `midway` runs once, after a third of the seats are sold.
async fn sell_out(
    cinema: &Cinema,
    showtimes: &[movies::Showtime],
    midway: impl FnOnce() + Send + 'static,
) -> Sale {
    let total = showtimes.len() * SEATS as usize;
    let sold = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started_over = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let midway = std::sync::Arc::new(std::sync::Mutex::new(Some(midway)));
    let mut buyers = JoinSet::new();
    for buyer in 0..8 {
        let cinema = cinema.clone();
        let products: Vec<String> = showtimes.iter().map(|s| s.product_id.clone()).collect();
        let (sold, midway, started_over) = (sold.clone(), midway.clone(), started_over.clone());
        buyers.spawn(async move {
            let mut confirmations = Vec::new();
            let mut open = products.clone();
            let mut n = buyer;
            // A purchase that failed in a retryable way is retried as the same request
            // (same id), however long it takes: it is never bought twice, nor lost.
            let mut retrying: Option<(String, String)> = None;
            while !open.is_empty() {
                let (request_id, product) = retrying.take().unwrap_or_else(|| {
                    n += 1;
                    (
                        uuid::Uuid::new_v4().to_string(),
                        open[n % open.len()].clone(),
                    )
                });
                let result = cinema
                    .orders()
                    .place_order_with_id(
                        request_id.clone(),
                        NewOrder {
                            items: vec![orders::OrderItem {
                                product_id: product.clone(),
                                quantity: 1,
                            }],
                            payment: visa(),
                            phone: Some(format!("+1415555{:04}", 1000 + buyer)),
                            ..Default::default()
                        },
                    )
                    .await;
                match result {
                    Ok(placed) => {
                        confirmations.push(placed.confirmation);
                        if sold.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == total / 3
                            && let Some(f) = midway.lock().expect("midway").take()
                        {
                            f();
                        }
                    }
                    Err(cinema_client::ClientError::SoldOut(_)) => {
                        // Sold out, or only held by a checkout cut off by the kill:
                        // try again once that hold has expired.
                        let available = cinema
                            .orders()
                            .availability(&[product.as_str()])
                            .await
                            .expect("availability");
                        let p = &available[0];
                        if p.available == 0 && p.held == 0 {
                            open.retain(|o| *o != product);
                        } else {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                    Err(e) if e.is_retryable() => {
                        retrying = Some((request_id, product));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    // The seats this request held lapsed while its retries waited out
                    // the dead replica's payment claim (a loaded machine can take that
                    // long). Nothing was charged, and the service says so: a buyer
                    // starts over, as a new request.
                    Err(e) if e.reason() == Some(cinema_client::Reason::HoldExpired) => {
                        started_over.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Err(e) => panic!("buyer {buyer}: {e}"),
                }
            }
            confirmations
        });
    }
    let mut confirmations = Vec::new();
    while let Some(bought) = buyers.join_next().await {
        confirmations.extend(bought.expect("buyer"));
    }
    Sale {
        confirmations,
        started_over: started_over.load(std::sync::atomic::Ordering::SeqCst),
    }
}

/// Waits until every outbox message is delivered. Fails after `DEADLINE` with what is
/// left and with the database sessions still open, so that a message stuck behind a
/// row lock or exhausted by a refusal says which.
async fn outbox_drained(pool: &sqlx::PgPool) {
    let start = tokio::time::Instant::now();
    loop {
        let left = sqlx::query_as::<_, (i64, String, String, i32, Option<String>)>(
            "SELECT id, kind, status, attempts, last_error FROM outbox
              WHERE status <> 'delivered' ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .expect("outbox");
        if left.is_empty() {
            return;
        }
        if start.elapsed() >= DEADLINE {
            let sessions = sqlx::query_as::<_, (Option<String>, Option<String>)>(
                "SELECT state, query FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND state <> 'idle'",
            )
            .fetch_all(pool)
            .await
            .expect("sessions");
            panic!(
                "undelivered after {DEADLINE:?} (id, kind, status, attempts, last error): \
                 {left:?}; busy sessions (state, query): {sessions:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn texts(url: &str) -> Vec<String> {
    let texts: Vec<serde_json::Value> = reqwest::get(url)
        .await
        .expect("texts")
        .json()
        .await
        .expect("json");
    texts
        .iter()
        .filter_map(|t| t["message"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts every showtime is sold out at movies, each by exactly `per_showtime`
/// sell-out callbacks more than `before`.
async fn all_sold_out(movies_pool: &sqlx::PgPool, showtimes: &[movies::Showtime]) {
    let ids: Vec<i64> = showtimes
        .iter()
        .map(|s| s.id.parse().expect("id"))
        .collect();
    eventually("movies to mark every showtime sold out", DEADLINE, || {
        let (pool, ids) = (movies_pool.clone(), ids.clone());
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM showtimes WHERE id = ANY($1) AND sold_out",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            .ok()?;
            (n == ids.len() as i64).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_of_each_service_behave_as_one_and_survive_losing_one() {
    cinema_testkit::init_test_logging();
    // The recorder counts what the movies replicas answer.
    cinema_service::metrics::handle();
    let sms =
        cinema_sms_sim::Simulator::start("127.0.0.1:0".parse().expect("addr"), Default::default())
            .await
            .expect("sms simulator");
    let orders_db = TestDatabase::create().await.expect("orders db");
    let movies_db = TestDatabase::create().await.expect("movies db");
    let orders_pool = sqlx::PgPool::connect(orders_db.url()).await.expect("pool");
    let movies_pool = sqlx::PgPool::connect(movies_db.url()).await.expect("pool");

    let mut relay_a = DatabaseRelay::to(&orders_db);
    let mut orders_a = OrdersReplica::start(&relay_a.url, &sms);
    let orders_b = OrdersReplica::start(orders_db.url(), &sms);
    let orders_list = format!("http://{},http://{}", orders_a.addr, orders_b.addr);
    // Both movies replicas register the first one's address for callbacks, as both
    // would register their Service's in Kubernetes.
    let movies_a = start_movies(&movies_db, &orders_list, None).await;
    let movies_b = start_movies(&movies_db, &orders_list, Some(movies_a.url())).await;
    let mut config = ClientConfig::new(
        format!("{},{}", movies_a.url(), movies_b.url()),
        orders_list.clone(),
    );
    config.movies_admin_token = Some(SecretString::from(MOVIES_ADMIN_TOKEN.to_owned()));
    config.retries = 8;
    let cinema = Cinema::connect(config).expect("client");

    // 1. Both replicas up: sales spread over both; one callback per sell-out.
    let first = catalogue(&cinema, "one").await;
    let Sale {
        confirmations: sold,
        started_over,
    } = sell_out(&cinema, &first, || {}).await;
    assert_eq!(
        started_over, 0,
        "with both replicas up, no hold lapses mid-purchase"
    );
    assert_eq!(
        sold.len(),
        SHOWTIMES * SEATS as usize,
        "every seat sold once"
    );
    all_sold_out(&movies_pool, &first).await;
    let relayed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(RELAYED)
            .fetch_one(&orders_pool)
            .await
            .expect("sessions");
    assert!(
        relayed > 0,
        "replica A reaches its database through the relay"
    );
    let outbox = |kind: &'static str| {
        let pool = orders_pool.clone();
        async move {
            sqlx::query_as::<_, (i64, String, i32, i64)>(
                "SELECT o.id, o.status, o.attempts,
                        (SELECT count(*) FROM outbox_attempts a
                          WHERE a.outbox_id = o.id AND a.error IS NULL)
                   FROM outbox o WHERE o.kind = $1 ORDER BY o.id",
            )
            .bind(kind)
            .fetch_all(&pool)
            .await
            .expect("outbox")
        }
    };
    let sold_out = outbox("product_sold_out").await;
    assert_eq!(sold_out.len(), SHOWTIMES, "one sell-out event per showtime");
    for (id, status, attempts, successes) in &sold_out {
        assert_eq!(
            (status.as_str(), *attempts, *successes),
            ("delivered", 1, 1),
            "message {id} was delivered once, by one replica"
        );
    }
    assert_eq!(
        movies_answered("ProductSoldOut").await,
        SHOWTIMES as u64,
        "the receiving end got exactly one callback per sell-out"
    );
    let texted = eventually("a text for every order", DEADLINE, || {
        let url = sms.texts_url();
        let want = sold.len();
        async move {
            let texts = texts(&url).await;
            (texts.len() >= want).then_some(texts)
        }
    })
    .await;
    let mut per_order: HashMap<&str, usize> = HashMap::new();
    for code in &sold {
        per_order.insert(
            code,
            texted.iter().filter(|t| t.contains(code.as_str())).count(),
        );
    }
    assert!(
        per_order.values().all(|n| *n == 1),
        "every order texted exactly once: {per_order:?}"
    );

    // 2. Replica A dies a third of the way through the next sell-out; B finishes.
    let second = catalogue(&cinema, "two").await;
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if kill_rx.recv().is_ok() {
            relay_a.cut();
            orders_a.kill();
        }
        orders_a
    });
    let Sale {
        confirmations: sold_after,
        started_over,
    } = sell_out(&cinema, &second, move || {
        let _ = kill_tx.send(());
    })
    .await;
    // Only a purchase in flight on the dead replica can have lost its hold: 8 buyers.
    assert!(started_over <= 8, "{started_over} purchases started over");
    let _orders_a = killer.join().expect("killer");
    // Its sessions end as a killed process's do: Postgres sees them go at once.
    eventually("replica A's sessions to end", DEADLINE, || {
        let pool = orders_pool.clone();
        async move {
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(RELAYED)
            .fetch_one(&pool)
            .await
            .ok()?;
            (left == 0).then_some(())
        }
    })
    .await;
    assert_eq!(
        sold_after.len(),
        SHOWTIMES * SEATS as usize,
        "no seat lost, none sold twice"
    );
    let oversold: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM products WHERE quantity_remaining < 0 OR quantity_held < 0",
    )
    .fetch_one(&orders_pool)
    .await
    .expect("stock");
    assert_eq!(oversold, 0);
    // The survivor delivers what the dead replica had claimed, once its lease lapses.
    all_sold_out(&movies_pool, &second).await;
    outbox_drained(&orders_pool).await;
    let all_codes: Vec<String> = sold.iter().chain(&sold_after).cloned().collect();
    let texted = eventually(
        "a text for every order, the dead replica's too",
        DEADLINE,
        || {
            let url = sms.texts_url();
            let codes = all_codes.clone();
            async move {
                let texts = texts(&url).await;
                codes
                    .iter()
                    .all(|c| texts.iter().any(|t| t.contains(c.as_str())))
                    .then_some(texts)
            }
        },
    )
    .await;
    assert!(texted.len() >= all_codes.len());

    movies_a.stop().await.expect("movies a stops");
    movies_b.stop().await.expect("movies b stops");
    sms.stop().await;
}
