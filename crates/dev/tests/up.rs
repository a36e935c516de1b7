//! `cinema-dev` as a newcomer uses it: `cinema-dev up --demo`, then the stack through
//! `cinema-client` (the `cinema` command-line front-end has tests of its own).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Timelike;
use cinema_client::{Cinema, ClientConfig, Near, NewOrder, TheatreShowtimes, movies_pb, orders_pb};
use serde_json::Value;

const CINEMA_DEV: &str = env!("CARGO_BIN_EXE_cinema-dev");

/// A port for a stack this test starts as a child process to listen on.
fn free_port() -> u16 {
    cinema_testkit::unused_local_addr().port()
}

struct Stack {
    child: Child,
    ports: [u16; 4],
    /// What it printed from "Cinema is up" to "Ctrl-C stops everything.".
    banner: String,
}

/// The movies admin token the stacks under test run with, so `cinema-dev demo` can use it.
const MOVIES_ADMIN_TOKEN: &str = "cli-test-movies-admin";

impl Stack {
    /// Starts `cinema-dev up --demo` and waits until it says it is up.
    fn up(database_url: &str, prefix: &str) -> Self {
        Self::start(database_url, prefix, &["--demo"])
    }

    /// Starts `cinema-dev up` with these extra arguments and waits until it says it is up.
    fn start(database_url: &str, prefix: &str, extra: &[&str]) -> Self {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let mut child = Command::new(CINEMA_DEV)
            .args(["up", "--db-prefix", prefix])
            .args(extra)
            .env("MOVIES_ADMIN_TOKEN", MOVIES_ADMIN_TOKEN)
            .env_remove("ORDERS_ADMIN_TOKEN")
            .args(["--movies-addr", &format!("127.0.0.1:{}", ports[0])])
            .args(["--orders-addr", &format!("127.0.0.1:{}", ports[1])])
            .args(["--sms-addr", &format!("127.0.0.1:{}", ports[2])])
            .args(["--web-addr", &format!("127.0.0.1:{}", ports[3])])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cinema-dev up starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(240);
        let mut banner = String::new();
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("`cinema-dev up --demo` did not say it was up in time");
            if line.contains("Cinema is up") {
                assert!(
                    line.ends_with(&format!("open http://127.0.0.1:{}", ports[3])),
                    "the banner names the website: {line}"
                );
            }
            if line.contains("Cinema is up") || !banner.is_empty() {
                banner.push_str(&line);
                banner.push('\n');
            }
            if line.contains("Ctrl-C stops everything.") {
                break;
            }
        }
        Self {
            child,
            ports,
            banner,
        }
    }

    /// A client of this stack's services, as a front-end has.
    fn config(&self) -> ClientConfig {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        ClientConfig::new(url(self.ports[0]), url(self.ports[1]))
    }

    fn client(&self) -> Cinema {
        Cinema::connect(self.config()).expect("client")
    }

    /// What the SMS gateway simulator has delivered.
    async fn texts(&self) -> Vec<Value> {
        reqwest::get(format!("http://127.0.0.1:{}/texts", self.ports[2]))
            .await
            .expect("texts")
            .json()
            .await
            .expect("json")
    }

    /// `cinema-dev demo` against this stack, as the compose stack's one-shot job runs it.
    fn load_demo(&self, token: &str) -> std::process::Output {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        Command::new(CINEMA_DEV)
            .arg("demo")
            .env("CINEMA_MOVIES", url(self.ports[0]))
            .env("CINEMA_ORDERS", url(self.ports[1]))
            .env("MOVIES_ADMIN_TOKEN", token)
            .output()
            .expect("cinema-dev demo runs")
    }

    /// What the compose stack's `orders-zips` and `movies-zips` jobs do before the
    /// demo: each service loads the US ZIP codes into its own database.
    async fn load_zip_codes(&self, database_url: &str, prefix: &str) {
        let zips = cinema_service::zips::us_zip_codes().expect("the built-in list");
        let pool = |service: &str| {
            sqlx::PgPool::connect_lazy(&url_with_db(database_url, &format!("{prefix}_{service}")))
                .expect("pool")
        };
        for service in ["orders", "movies"] {
            let added = cinema_service::zips::load(&pool(service), &zips)
                .await
                .expect("the service loads its ZIP codes");
            assert!(added > 40_000, "{service}: {added}");
        }
    }

    /// Stops it the way Ctrl-C or `docker stop` would, and checks it exits cleanly.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("exits");
        assert!(exit.success(), "cinema-dev up exited with {exit:?}");
    }
}

/// A test that fails midway must not leave a stack running behind it.
impl Drop for Stack {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn counts(database_url: &str, prefix: &str) -> (i64, i64, i64) {
    let url = url_with_db(database_url, &format!("{prefix}_movies"));
    let pool = sqlx::PgPool::connect(&url).await.expect("movies db");
    let counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM movies), (SELECT count(*) FROM theatres), (SELECT count(*) FROM showtimes)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    pool.close().await;
    counts
}

/// How many movies the catalogue has a synopsis of.
async fn with_synopsis(database_url: &str, prefix: &str) -> i64 {
    let url = url_with_db(database_url, &format!("{prefix}_movies"));
    let pool = sqlx::PgPool::connect(&url).await.expect("movies db");
    let (count,) = sqlx::query_as("SELECT count(*) FROM movies WHERE synopsis IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    count
}

fn url_with_db(server: &str, db: &str) -> String {
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{db}")
}

/// Showtimes near `zip`, grouped by theatre, nearest first: the chapter's home search.
async fn near(cinema: &Cinema, zip: &str) -> Vec<TheatreShowtimes> {
    let result = cinema
        .movies()
        .all_showtimes(movies_pb::GetShowtimesRequest {
            zip_code: Some(zip.to_owned()),
            ..Default::default()
        })
        .await
        .expect("showtimes");
    cinema_client::facade::group_by_theatre(result).expect("groups")
}

/// Buys `tickets` seats of `showtime` with the test Visa, billed in Cambridge, MA.
async fn buy(
    cinema: &Cinema,
    showtime: &cinema_client::Showtime,
    tickets: i64,
    phone: Option<&str>,
) -> orders_pb::PlaceOrderResponse {
    let payment = orders_pb::Payment {
        method: Some(orders_pb::payment::Method::CreditCard(
            orders_pb::CreditCard {
                brand: orders_pb::CardBrand::Visa.into(),
                number: "4111 1111 1111 1111".into(),
                expiration_month: 12,
                expiration_year: 2030,
                billing_address: Some(orders_pb::Address {
                    line_1: "77 Massachusetts Ave".into(),
                    line_2: String::new(),
                    city: "Cambridge".into(),
                    state: "MA".into(),
                    zip_code: "02139".into(),
                }),
                security_code: "123".into(),
            },
        )),
    };
    cinema
        .orders()
        .place_order(NewOrder {
            items: vec![orders_pb::OrderItem {
                product_id: showtime.product_id.clone(),
                quantity: tickets,
            }],
            payment,
            phone: phone.map(str::to_owned),
            ..Default::default()
        })
        .await
        .expect("order placed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_demo_serves_the_catalogue_sells_tickets_texts_and_loads_once() {
    let (server, prefix) = cinema_testkit::server_url_and_prefix()
        .await
        .expect("database server");
    let stack = Stack::up(&server, &prefix);
    // Without a token of one's own, the box office's commands cannot be tried: the
    // banner says how to, and prints no token.
    assert!(
        stack
            .banner
            .contains("commands need admin tokens: this stack made up\nits own.")
            && stack.banner.contains(
                "Start it with these to use them:\n  \
                 ORDERS_ADMIN_TOKEN=<yours>   cinema admit, outbox, promotion, sales\n"
            )
            // The movies admin token was given: the operators' commands are offered.
            && stack.banner.contains("cinema -- catalogue --help")
            && !stack.banner.contains("MOVIES_ADMIN_TOKEN=<yours>"),
        "{}",
        stack.banner
    );
    assert!(
        stack.banner.contains("--promotion CLASSICS"),
        "the demo's promotion code: {}",
        stack.banner
    );

    let cinema = stack.client();
    let movies = cinema
        .current_movies(Some(&Near::zip("02139")))
        .await
        .expect("movies");
    assert!(movies.len() >= 10, "{movies:?}");

    let near = near(&cinema, "02139").await;
    let theatres: Vec<&str> = near.iter().map(|g| g.theatre.name.as_str()).collect();
    assert_eq!(
        theatres[0], "Kendall Square Cinema",
        "nearest first: {theatres:?}"
    );
    assert!(
        theatres.contains(&"Fenway Screens") && !theatres.contains(&"Loop Theatre"),
        "{theatres:?}"
    );

    let bought = buy(&cinema, &near[0].showtimes[0], 2, Some("+14155550132")).await;
    let confirmation = bought.confirmation.clone();
    let order = cinema
        .orders()
        .get_order(&confirmation)
        .await
        .expect("order");
    assert_eq!(order.status(), orders_pb::OrderStatus::Placed);

    // Demo shows start in the afternoon and evening on each theatre's own clock.
    for slot in &near[0].showtimes {
        let local = slot.local_start();
        assert!([13, 16, 20].contains(&local.hour()), "{local}");
        assert_eq!(slot.theatre.time_zone, "America/New_York");
    }

    // The website serves the same catalogue, and the order a moviegoer bought.
    let web = format!("http://127.0.0.1:{}", stack.ports[3]);
    let home = reqwest::get(format!("{web}/?zip=02139"))
        .await
        .expect("home page")
        .text()
        .await
        .expect("html");
    assert!(home.contains("Casablanca"), "{home}");
    let page = reqwest::get(format!("{web}/orders/{confirmation}"))
        .await
        .expect("order page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&confirmation) && page.contains("Kendall Square Cinema"),
        "{page}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let texts = stack.texts().await;
        let delivered = texts.iter().any(|t| {
            t["message"]
                .as_str()
                .is_some_and(|m| m.contains(&confirmation))
        });
        if delivered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no text for {confirmation}: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cancelled = cinema
        .orders()
        .cancel_order(&confirmation)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status(), orders_pb::OrderStatus::Cancelled);

    // The demo's promotion code pays, as the banner says.
    let by_code = cinema
        .orders()
        .place_order(NewOrder {
            items: vec![orders_pb::OrderItem {
                product_id: near[0].showtimes[0].product_id.clone(),
                quantity: 1,
            }],
            payment: orders_pb::Payment {
                method: Some(orders_pb::payment::Method::Promotion(
                    orders_pb::Promotion {
                        code: "classics".into(),
                    },
                )),
            },
            ..Default::default()
        })
        .await
        .expect("the demo's promotion code pays");
    assert_eq!(by_code.price_cents, near[0].showtimes[0].price_cents);
    stack.stop();

    let (movies, theatres, showtimes) = counts(&server, &prefix).await;
    assert!(
        movies >= 30 && theatres >= 12 && showtimes > 100,
        "{movies} {theatres} {showtimes}"
    );
    let again = Stack::up(&server, &prefix);
    again.stop();
    assert_eq!(
        counts(&server, &prefix).await,
        (movies, theatres, showtimes),
        "a second --demo adds nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinema_demo_fills_a_running_stack_once_and_only_with_the_admin_token() {
    let (server, prefix) = cinema_testkit::server_url_and_prefix()
        .await
        .expect("database server");
    let stack = Stack::start(&server, &prefix, &[]);
    assert_eq!(
        counts(&server, &prefix).await,
        (0, 0, 0),
        "starts empty without --demo"
    );

    let refused = stack.load_demo("not-the-token");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("admin token"), "{stderr}");
    assert!(
        !stderr.contains(MOVIES_ADMIN_TOKEN) && !stderr.contains("not-the-token"),
        "tokens are never printed: {stderr}"
    );
    let (movies, theatres, _) = counts(&server, &prefix).await;
    assert_eq!((movies, theatres), (0, 0), "a refused load adds nothing");

    stack.load_zip_codes(&server, &prefix).await;
    // A load from before movies had synopses made this one, under the demo's key.
    let admin = Cinema::connect(ClientConfig {
        movies_admin_token: Some(MOVIES_ADMIN_TOKEN.to_owned().into()),
        ..stack.config()
    })
    .expect("client");
    let metropolis = admin
        .admin()
        .create_movie(movies_pb::CreateMovieRequest {
            name: "Metropolis".into(),
            length_minutes: 153,
            rating: movies_pb::Rating::Pg.into(),
            request_id: "demo-movie-metropolis".into(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await
        .expect("an earlier load's movie");
    let loaded = stack.load_demo(MOVIES_ADMIN_TOKEN);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let cinema = stack.client();
    // It is found again, not made twice, and given its year and what it is about.
    assert_eq!(counts(&server, &prefix).await.0, 30);
    let found = cinema
        .movies()
        .get_movie(&metropolis.id)
        .await
        .expect("movie");
    assert_eq!(
        found.movie,
        movies_pb::Movie {
            release_year: 1927,
            ..metropolis
        }
    );
    assert!(
        found
            .synopsis
            .is_some_and(|s| s.contains("city of the future")),
        "Metropolis's synopsis"
    );
    assert_eq!(with_synopsis(&server, &prefix).await, 30);
    let movies = cinema
        .current_movies(Some(&Near::zip("02139")))
        .await
        .expect("movies");
    assert!(movies.len() >= 10, "{movies:?}");
    // A purchase needs the ZIP codes in the orders database too (billing address).
    let near = near(&cinema, "02139").await;
    let bought = buy(&cinema, &near[0].showtimes[0], 1, None).await;
    assert!(!bought.confirmation.is_empty(), "{bought:?}");
    let after_first = counts(&server, &prefix).await;
    assert!(after_first.2 > 100, "{after_first:?}");

    let again = stack.load_demo(MOVIES_ADMIN_TOKEN);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("30 movies, 12 theatres"),
        "the same catalogue, found again: {}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(counts(&server, &prefix).await, after_first);
    stack.stop();
}

#[test]
fn up_without_postgres_says_how_to_fix_it() {
    let port = free_port();
    let output = Command::new(CINEMA_DEV)
        .arg("up")
        // Free addresses: a stack running on this machine must not decide the test.
        .args(["--movies-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--orders-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--sms-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--web-addr", &format!("127.0.0.1:{}", free_port())])
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        )
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for fix in [
        "no Postgres answers",
        "start a local Postgres",
        "DATABASE_URL",
        "docker compose up",
    ] {
        assert!(stderr.contains(fix), "missing {fix:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn up_beside_a_running_stack_names_the_addresses_in_the_way_and_touches_nothing() {
    // Two of its addresses taken, as by a stack forgotten in another terminal.
    let held = [0, 1].map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
    let [orders, web] = held.each_ref().map(|l| l.local_addr().expect("addr"));
    let output = Command::new(CINEMA_DEV)
        .args(["up", "--demo"])
        .args(["--movies-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--orders-addr", &orders.to_string()])
        .args(["--sms-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--web-addr", &web.to_string()])
        // No Postgres here: were it asked first, the error would be about that.
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{}/postgres", free_port()),
        )
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for said in [
        format!("already in use: {orders} (--orders-addr), {web} (--web-addr)."),
        "Is a Cinema stack already running?".to_owned(),
    ] {
        assert!(stderr.contains(&said), "missing {said:?} in:\n{stderr}");
    }
    assert!(
        !stderr.contains("no Postgres answers") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
