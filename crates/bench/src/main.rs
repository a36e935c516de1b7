//! `cinema-bench`: drives a running Cinema stack the way its users do and prints
//! throughput and latency percentiles (HDR histograms) for each scenario, next to
//! what the same Postgres does under pgbench's TPC-B in the same run.
//!
//! ```sh
//! MOVIES_ADMIN_TOKEN=bench ORDERS_ADMIN_TOKEN=bench ORDERS_PAYMENT_LATENCY_MS=300 \
//!   cargo run --release -p cinema -- up --demo &
//! MOVIES_ADMIN_TOKEN=bench ORDERS_ADMIN_TOKEN=bench \
//!   cargo run --release -p cinema-bench -- --workers 8 --seconds 20
//! ```
//!
//! Scenarios: `place-order` (one ticket, spread over 200 products), `hold-and-pay`
//! (HoldProducts then PlaceOrder for the hold: a browser checkout), `get-showtimes`
//! (ZIP 02139 on the demo data), and `hot-showtime` (S seats, B buyers buying one
//! ticket at a time until it sells out: the elapsed time, and a check that exactly S
//! were sold). `national-search` searches ZIP codes all over a national-scale
//! catalogue (6,000 theatres, ~500,000 showtimes), which it writes into the movies
//! database first if it is not there yet (so give it a stack of its own).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{Cinema, ClientConfig, ClientError, NewOrder};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use secrecy::SecretString;

mod cpu;

// Each call allocates and frees many small buffers (protobuf, JSON, HTTP/2
// frames); mimalloc does that for less CPU than the system allocator (a load
// generator's own CPU is taken from the stack it measures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "cinema-bench",
    version,
    about = "Load-test a running Cinema stack"
)]
struct Args {
    #[arg(long, env = "CINEMA_MOVIES", default_value = "http://127.0.0.1:50051")]
    movies: String,
    #[arg(long, env = "CINEMA_ORDERS", default_value = "http://127.0.0.1:50052")]
    orders: String,
    /// The website, for `movie-page`.
    #[arg(long, env = "CINEMA_WEB", default_value = "http://127.0.0.1:8080")]
    web: String,
    /// Needed to create the benchmark's products, theatre and showtime.
    #[arg(long, env = "MOVIES_ADMIN_TOKEN", hide_env_values = true)]
    movies_admin_token: String,
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", hide_env_values = true)]
    orders_admin_token: String,
    /// Concurrent clients (closed loop: each sends its next call when the last answers).
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// How long each timed scenario runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Which scenarios to run (all by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// The ZIP code searched by `get-showtimes`.
    #[arg(long, default_value = "02139")]
    zip: String,
    /// Seats of the hot showtime.
    #[arg(long, default_value_t = 2000)]
    seats: u32,
    /// Buyers racing for the hot showtime.
    #[arg(long, default_value_t = 200)]
    buyers: usize,
    /// The Postgres server for pgbench (it creates and uses a database of its own,
    /// `cinema_bench_pgbench`). pgbench is skipped when it is not on PATH.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@localhost:5432/postgres",
        hide_env_values = true
    )]
    database_url: String,
    /// Skip pgbench.
    #[arg(long)]
    no_pgbench: bool,
    /// The movies service's database on the same server, where pgbench runs
    /// GetShowtimes' own statement (`cinema-dev up` names it `<db-prefix>_movies`).
    #[arg(long, default_value = "cinema_movies")]
    movies_database: String,
    /// Theatres of the national catalogue (`national-search`), one per ZIP code.
    #[arg(long, default_value_t = 6000)]
    national_theatres: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    PlaceOrder,
    HoldAndPay,
    GetShowtimes,
    MoviePage,
    HotShowtime,
    /// Writes the national catalogue into the stack's movies database first if it is
    /// not there: run it on a stack of its own, since every later search of that
    /// stack finds the national theatres too.
    NationalSearch,
}

/// Latencies and outcomes of one timed scenario.
struct Figures {
    name: &'static str,
    latencies: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
    cpu: Cpu,
}

/// CPU of the Postgres server's processes and of the services' (when they run on this
/// machine) and of this load generator: as read at a moment, or spent between two
/// readings.
#[derive(Clone, Copy, Default)]
struct Cpu {
    postgres: Option<Duration>,
    services: Option<Duration>,
    generator: Option<Duration>,
}

impl Cpu {
    fn combine(self, other: Cpu, op: impl Fn(Duration, Duration) -> Option<Duration>) -> Cpu {
        let both = |a: Option<Duration>, b: Option<Duration>| op(a?, b?);
        Cpu {
            postgres: both(self.postgres, other.postgres),
            services: both(self.services, other.services),
            generator: both(self.generator, other.generator),
        }
    }

    fn plus(self, other: Cpu) -> Cpu {
        self.combine(other, Duration::checked_add)
    }

    /// Spent since the `earlier` reading.
    fn since(self, earlier: Cpu) -> Cpu {
        self.combine(earlier, Duration::checked_sub)
    }
}

/// Reads what the server, the services and this process have spent so far.
struct Meter {
    server: Option<cpu::ServerCpu>,
    services: Option<cpu::ServicesCpu>,
}

impl Meter {
    fn read(&self) -> Cpu {
        Cpu {
            postgres: self.server.as_ref().and_then(cpu::ServerCpu::used),
            services: self.services.as_ref().and_then(cpu::ServicesCpu::used),
            generator: cpu::own(),
        }
    }
}

/// The TCP ports of `http://host:port` endpoints (a comma-separated list of them
/// too); a `dns:///host:port` target names no port as a URL (its `host:port` is the
/// path), so it has none here.
fn ports(endpoints: &[&str]) -> Vec<u16> {
    endpoints
        .iter()
        .flat_map(|spec| spec.split(','))
        .filter_map(|endpoint| reqwest::Url::parse(endpoint.trim()).ok())
        .filter_map(|url| url.port_or_known_default())
        .collect()
}

/// `spent` over `ops` operations, in microseconds, or `-` where it was not read.
fn micros_per(spent: Option<Duration>, ops: u64) -> String {
    spent
        .and_then(|spent| cpu::per_op(spent, ops))
        .map(|d| format!("{:.0} µs", d.as_secs_f64() * 1e6))
        .unwrap_or_else(|| "-".into())
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, baseline: Option<f64>) {
        let ms = |q: f64| self.latencies.value_at_quantile(q) as f64 / 1000.0;
        let ratio = baseline
            .map(|tps| format!("{:>6.0} %", 100.0 * self.per_second() / tps))
            .unwrap_or_else(|| "      -".into());
        println!(
            "{:<16} {:>9.0}/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  errors {:>4}  vs pgbench {ratio}",
            self.name,
            self.per_second(),
            ms(0.50),
            ms(0.90),
            ms(0.99),
            self.latencies.max() as f64 / 1000.0,
            self.errors,
        );
        let calls = self.latencies.len() + self.errors;
        if self.cpu.postgres.is_some() || self.cpu.generator.is_some() {
            println!(
                "{:<16} CPU per call: Postgres {}, services {}, load generator {}",
                "",
                micros_per(self.cpu.postgres, calls),
                micros_per(self.cpu.services, calls),
                micros_per(self.cpu.generator, calls),
            );
        }
    }
}

impl Figures {
    /// Both runs' figures as one run's.
    fn and(mut self, other: Figures) -> Figures {
        self.latencies.add(other.latencies).expect("same bounds");
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.cpu = self.cpu.plus(other.cpu);
        self
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Runs `call` in `workers` closed loops for `duration`; a call's latency is recorded
/// when it succeeds, and counted as an error otherwise.
async fn timed<F, Fut>(
    name: &'static str,
    meter: &Meter,
    workers: usize,
    duration: Duration,
    call: F,
) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), ClientError>> + Send,
{
    let call = Arc::new(call);
    let reading = meter.read();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            let mut errors = 0;
            let mut n = 0;
            while Instant::now() < deadline {
                let began = Instant::now();
                match call(worker * 1_000_000 + n).await {
                    Ok(()) => latencies.saturating_record(began.elapsed().as_micros() as u64),
                    Err(_) => errors += 1,
                }
                n += 1;
            }
            (latencies, errors)
        }));
    }
    let mut figures = Figures {
        name,
        latencies: histogram(),
        errors: 0,
        elapsed: Duration::ZERO,
        cpu: Cpu::default(),
    };
    for task in tasks {
        let (latencies, errors) = task.await.expect("worker");
        figures.latencies.add(latencies).expect("same bounds");
        figures.errors += errors;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = meter.read().since(reading);
    figures
}

/// One GetShowtimes call near `zip`, its first page, as a moviegoer's search makes it.
async fn search(cinema: Cinema, zip: String) -> Result<(), ClientError> {
    cinema
        .movies()
        .get_showtimes(movies::GetShowtimesRequest {
            zip_code: Some(zip),
            ..Default::default()
        })
        .await
        .map(drop)
}

fn visa() -> orders::Payment {
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
        })),
    }
}

fn one(product: &str) -> Vec<orders::OrderItem> {
    vec![orders::OrderItem {
        product_id: product.to_owned(),
        quantity: 1,
    }]
}

/// 200 products with stock enough for any run, so orders spread over many rows.
async fn spread_products(cinema: &Cinema, run: &str) -> anyhow::Result<Arc<Vec<String>>> {
    let mut products = Vec::new();
    for i in 0..200 {
        let id = cinema
            .orders()
            .add_product(orders::AddProductRequest {
                description: format!("bench {run} product {i}"),
                quantity: 10_000_000,
                price_cents: 1250,
                provider_id: None,
                external_ref: None,
                sales_end: None,
            })
            .await
            .context("AddProduct (is ORDERS_ADMIN_TOKEN the stack's?)")?;
        products.push(id);
    }
    Ok(Arc::new(products))
}

/// A showtime of `seats` seats, created through the movies service like any other, so
/// its sell-out also reaches movies through the callback.
async fn hot_showtime(cinema: &Cinema, run: &str, seats: u32) -> anyhow::Result<String> {
    let admin = cinema.admin();
    let movie = admin
        .create_movie(movies::CreateMovieRequest {
            name: format!("Bench premiere {run}"),
            length_minutes: 120,
            rating: movies::Rating::Pg13.into(),
            request_id: String::new(),
        })
        .await
        .context("CreateMovie (is MOVIES_ADMIN_TOKEN the stack's?)")?;
    let theatre = admin
        .create_theatre(movies::CreateTheatreRequest {
            name: format!("Bench Palace {run}"),
            phone: "+16175550199".into(),
            address: Some(movies::Address {
                line_1: "1 Bench St".into(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            auditoriums: vec![movies::Auditorium {
                room: "Premiere".into(),
                seats,
            }],
            ..Default::default()
        })
        .await?;
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    let showtime = admin
        .create_showtime(movies::CreateShowtimeRequest {
            movie_id: movie.id,
            theatre_id: theatre.id,
            room: "Premiere".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: start.timestamp(),
                nanos: 0,
            }),
            price_cents: 1800,
            request_id: String::new(),
        })
        .await?;
    Ok(showtime.product_id)
}

/// B buyers buy one ticket each, again and again, until the showtime is sold out.
async fn sell_out(cinema: &Cinema, product: &str, seats: u32, buyers: usize) -> anyhow::Result<()> {
    let sold = Arc::new(AtomicU64::new(0));
    let other_errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..buyers {
        let (cinema, product) = (cinema.clone(), product.to_owned());
        let (sold, other_errors) = (sold.clone(), other_errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            loop {
                let began = Instant::now();
                let order = NewOrder {
                    items: one(&product),
                    payment: visa(),
                    ..Default::default()
                };
                match cinema.orders().place_order(order).await {
                    Ok(_) => {
                        latencies.saturating_record(began.elapsed().as_micros() as u64);
                        sold.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(ClientError::SoldOut(_)) => return latencies,
                    Err(_) => {
                        other_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut latencies = histogram();
    for task in tasks {
        latencies
            .add(task.await.expect("buyer"))
            .expect("same bounds");
    }
    let elapsed = start.elapsed();
    let left = cinema.orders().availability(&[product]).await?;
    let sold = sold.load(Ordering::Relaxed);
    println!(
        "{:<16} {seats} seats, {buyers} buyers: sold out in {:.2} s ({:.0} orders/s), p50 {:.1} ms, p99 {:.1} ms; \
         sold {sold}, left {} available + {} held, errors other than sold out: {}",
        "hot-showtime",
        elapsed.as_secs_f64(),
        sold as f64 / elapsed.as_secs_f64(),
        latencies.value_at_quantile(0.5) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
        left[0].available,
        left[0].held,
        other_errors.load(Ordering::Relaxed),
    );
    if sold != u64::from(seats) || left[0].available != 0 {
        bail!("the hot showtime sold {sold} of {seats} seats");
    }
    Ok(())
}

/// What pgbench runs: its TPC-B on a database of its own, or a script of ours against
/// one of the stack's databases.
enum PgbenchLoad<'a> {
    TpcB,
    Script {
        database: &'a str,
        script: String,
        variables: Vec<(&'static str, String)>,
    },
}

/// What a pgbench run did.
struct PgbenchRun {
    tps: f64,
    transactions: u64,
    /// Postgres's CPU over the run (not its set-up).
    postgres_cpu: Option<Duration>,
}

impl PgbenchRun {
    /// This run and another of the same length as one: their mean rate, their
    /// transactions and CPU added up.
    fn and(self, other: PgbenchRun) -> PgbenchRun {
        PgbenchRun {
            tps: (self.tps + other.tps) / 2.0,
            transactions: self.transactions + other.transactions,
            postgres_cpu: self
                .postgres_cpu
                .zip(other.postgres_cpu)
                .map(|(a, b)| a + b),
        }
    }

    /// `, Postgres CPU … per transaction`, where it was read.
    fn cpu(&self) -> String {
        match self.postgres_cpu {
            Some(spent) => format!(
                ", Postgres CPU {} per transaction",
                micros_per(Some(spent), self.transactions)
            ),
            None => String::new(),
        }
    }
}

/// Runs pgbench on the same server, same concurrency.
fn pgbench(
    database_url: &str,
    meter: &Meter,
    load: PgbenchLoad<'_>,
    workers: usize,
    seconds: u64,
) -> anyhow::Result<Option<PgbenchRun>> {
    if Command::new("pgbench").arg("--version").output().is_err() {
        println!("pgbench is not on PATH: no baseline");
        return Ok(None);
    }
    let on = |database: &str| on_server(database_url, database);
    let mut command = Command::new("pgbench");
    command.args([
        "-n",
        "-c",
        &workers.to_string(),
        "-j",
        &workers.min(4).to_string(),
        "-T",
        &seconds.to_string(),
    ]);
    // Kept until pgbench has read it.
    let mut _script_file = None;
    let url = match load {
        PgbenchLoad::TpcB => {
            let url = on("cinema_bench_pgbench")?;
            // Exit status ignored: the database may exist from an earlier run.
            let _ = Command::new("psql")
                .args([database_url, "-qc", "CREATE DATABASE cinema_bench_pgbench"])
                .output();
            let init = Command::new("pgbench")
                .args(["-i", "-s", "10", "-q", &url])
                .output()
                .context("pgbench -i")?;
            if !init.status.success() {
                bail!(
                    "pgbench -i failed: {}",
                    String::from_utf8_lossy(&init.stderr)
                );
            }
            url
        }
        PgbenchLoad::Script {
            database,
            script,
            variables,
        } => {
            let path = std::env::temp_dir().join(format!(
                "cinema-bench-{}.sql",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(&path, script).context("writing the pgbench script")?;
            // Prepared, as the service's own statements are.
            command.args(["-M", "prepared", "-f"]).arg(&path);
            for (name, value) in variables {
                command.arg("-D").arg(format!("{name}={value}"));
            }
            _script_file = Some(TempFile(path));
            on(database)?
        }
    };
    let reading = meter.read();
    let run = command.arg(&url).output().context("pgbench")?;
    let postgres_cpu = meter.read().since(reading).postgres;
    let out = String::from_utf8_lossy(&run.stdout);
    let figure = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| {
                format!(
                    "no `{prefix}` in pgbench's output:\n{out}{}",
                    String::from_utf8_lossy(&run.stderr)
                )
            })
    };
    Ok(Some(PgbenchRun {
        tps: figure("tps = ")?.parse().context("pgbench's tps")?,
        transactions: figure("number of transactions actually processed: ")?
            .parse()
            .context("pgbench's transactions")?,
        postgres_cpu,
    }))
}

/// The URL of `database` on the server of `database_url`.
fn on_server(database_url: &str, database: &str) -> anyhow::Result<String> {
    database_url
        .rsplit_once('/')
        .map(|(server, _)| format!("{server}/{database}"))
        .context("DATABASE_URL has no database name")
}

/// The national catalogue in the movies database, written first if it is not there;
/// returns ZIP codes of its theatres, to search.
async fn national_catalogue(args: &Args) -> anyhow::Result<Arc<Vec<String>>> {
    use cinema_movies::store;
    let url = on_server(&args.database_url, &args.movies_database)?;
    let pool = sqlx::PgPool::connect(&url)
        .await
        .with_context(|| format!("connecting to the movies database {}", args.movies_database))?;
    let mut size = store::national_catalogue(&pool).await?;
    if size.theatres == 0 {
        // Without the US list (the migrations seed a dozen codes) the "national"
        // catalogue would be a dozen theatres, and its figures would mean nothing.
        let zips = store::count_zip_codes(&pool).await?;
        if zips < args.national_theatres {
            bail!(
                "the movies database {} knows {zips} ZIP codes, fewer than the {} national \
                 theatres asked for: load the US list first (`cinema-dev up --demo` does, \
                 or `movies-service load-zips`)",
                args.movies_database,
                args.national_theatres
            );
        }
        let began = Instant::now();
        size = store::generate_national_catalogue(
            &pool,
            args.national_theatres,
            14,
            chrono::Utc::now(),
        )
        .await?;
        println!(
            "{:<16} wrote {} theatres and {} showtimes in {:.1} s (then VACUUM ANALYZE)",
            "national",
            size.theatres,
            size.showtimes,
            began.elapsed().as_secs_f64()
        );
    }
    let total: i64 = store::count_showtimes(&pool).await?;
    println!(
        "{:<16} {} national theatres, {} of their showtimes; {total} showtimes in all",
        "national", size.theatres, size.showtimes
    );
    let zips = store::national_theatre_zips(&pool, 1000).await?;
    if zips.is_empty() {
        bail!("the national catalogue has no theatres");
    }
    Ok(Arc::new(zips))
}

/// More databases than this on the server skew a run (see [`server_warnings`]).
const MANY_DATABASES: u64 = 100;

/// What about the server would skew a run's figures, as warnings to print.
/// - Autovacuum off: each order leaves dead row versions behind (a hold is written,
///   then confirmed), they pile up, and every run is slower than the one before.
/// - Hundreds of databases (test runs leave theirs for hours): autovacuum visits each
///   one every minute, on the same cores, and its CPU counts as Postgres's.
fn server_warnings(autovacuum: &str, databases: u64) -> Vec<String> {
    let mut warnings = Vec::new();
    if autovacuum == "off" {
        warnings.push(
            "warning: autovacuum is off on this server: dead rows pile up and each run \
             is slower than the last (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf())"
                .to_owned(),
        );
    } else if databases > MANY_DATABASES {
        warnings.push(format!(
            "warning: {databases} databases on this server: autovacuum visits every one \
             each minute, on these cores; drop what test runs left (cinema_test_*) first"
        ));
    }
    warnings
}

fn warn_about_the_server(database_url: &str) {
    let shown = Command::new("psql")
        .args([
            database_url,
            "-Atc",
            "SELECT current_setting('autovacuum'), (SELECT count(*) FROM pg_database)",
        ])
        .output();
    let Ok(out) = shown else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some((autovacuum, databases)) = text.trim().split_once('|')
        && let Ok(databases) = databases.parse()
    {
        for warning in server_warnings(autovacuum, databases) {
            println!("{warning}");
        }
    }
}

/// Removed when dropped.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// GetShowtimes' own statement under pgbench, with the service's parameters for a
/// first page near `zip`: what the database alone does for one search.
fn pgbench_search(
    database_url: &str,
    meter: &Meter,
    movies_database: &str,
    zip: &str,
    workers: usize,
    seconds: u64,
) -> anyhow::Result<Option<PgbenchRun>> {
    // pgbench names parameters `:name`; the cursor is NULL on a first page.
    let mut script = cinema_movies::store::SEARCH_SHOWTIMES_SQL
        .replace("$7", "NULL")
        .replace("$8", "NULL");
    for n in [1, 2, 3, 4, 5, 6, 9] {
        script = script.replace(&format!("${n}"), &format!(":p{n}"));
    }
    script.push_str(";\n");
    let now = chrono::Utc::now();
    let variables = vec![
        ("p1", now.to_rfc3339()),
        ("p2", (now + chrono::Duration::days(14)).to_rfc3339()),
        ("p3", zip.to_owned()),
        ("p4", "15".to_owned()),
        ("p5", "{}".to_owned()),
        ("p6", "{}".to_owned()),
        ("p9", "100".to_owned()),
    ];
    let load = PgbenchLoad::Script {
        database: movies_database,
        script,
        variables,
    };
    pgbench(database_url, meter, load, workers, seconds)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = ClientConfig::new(args.movies.clone(), args.orders.clone());
    config.movies_admin_token = Some(SecretString::from(args.movies_admin_token.clone()));
    config.orders_admin_token = Some(SecretString::from(args.orders_admin_token.clone()));
    // A benchmark measures the service, not the client's retries.
    config.retries = 0;
    let cinema = Cinema::connect(config)?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let wants = |s: Scenario| args.only.is_empty() || args.only.contains(&s);
    let duration = Duration::from_secs(args.seconds);

    warn_about_the_server(&args.database_url);
    let meter = Meter {
        server: cpu::ServerCpu::find(&args.database_url).await,
        services: cpu::ServicesCpu::find(&ports(&[&args.movies, &args.orders, &args.web])),
    };
    if meter.server.is_none() {
        println!("Postgres is not on this machine (or not readable): no CPU figures for it");
    }
    if meter.services.is_none() {
        println!("The services are not on this machine (or not readable): no CPU figures for them");
    }
    let baseline = if args.no_pgbench {
        None
    } else {
        let run = pgbench(
            &args.database_url,
            &meter,
            PgbenchLoad::TpcB,
            args.workers,
            args.seconds,
        )?;
        if let Some(run) = &run {
            println!(
                "{:<16} {:>9.0}/s  (TPC-B, scale 10, {} clients, {} s{})",
                "pgbench",
                run.tps,
                args.workers,
                args.seconds,
                run.cpu()
            );
        }
        run.map(|run| run.tps)
    };

    if wants(Scenario::PlaceOrder) || wants(Scenario::HoldAndPay) {
        let products = spread_products(&cinema, &run).await?;
        if wants(Scenario::PlaceOrder) {
            let (c, p) = (cinema.clone(), products.clone());
            timed("place-order", &meter, args.workers, duration, move |n| {
                let (c, p) = (c.clone(), p.clone());
                async move {
                    let order = NewOrder {
                        items: one(&p[n % p.len()]),
                        payment: visa(),
                        ..Default::default()
                    };
                    c.orders().place_order(order).await.map(drop)
                }
            })
            .await
            .print(baseline);
        }
        if wants(Scenario::HoldAndPay) {
            let (c, p) = (cinema.clone(), products.clone());
            timed("hold-and-pay", &meter, args.workers, duration, move |n| {
                let (c, p) = (c.clone(), p.clone());
                async move {
                    let hold = c.orders().hold_products(one(&p[n % p.len()]), 0).await?;
                    let order = NewOrder {
                        hold_id: Some(hold.hold_id),
                        payment: visa(),
                        ..Default::default()
                    };
                    c.orders().place_order(order).await.map(drop)
                }
            })
            .await
            .print(baseline);
        }
    }
    if wants(Scenario::GetShowtimes) {
        let found = cinema
            .movies()
            .get_showtimes(movies::GetShowtimesRequest {
                zip_code: Some(args.zip.clone()),
                ..Default::default()
            })
            .await?;
        println!(
            "{:<16} ZIP {}: {} showtimes, {} theatres, {} movies per call",
            "get-showtimes",
            args.zip,
            found.showtimes.len(),
            found.theatres.len(),
            found.movies.len()
        );
        // The service and pgbench take turns, each half the time twice, so that a
        // machine whose speed drifts during the run (a shared VM's does) weighs on
        // both alike.
        let half = (duration / 2).max(Duration::from_secs(1));
        let mut figures: Option<Figures> = None;
        let mut statement: Option<PgbenchRun> = None;
        for _ in 0..2 {
            let (c, zip) = (cinema.clone(), args.zip.clone());
            let turn = timed("get-showtimes", &meter, args.workers, half, move |_| {
                search(c.clone(), zip.clone())
            })
            .await;
            figures = Some(match figures {
                Some(so_far) => so_far.and(turn),
                None => turn,
            });
            if !args.no_pgbench {
                let same = pgbench_search(
                    &args.database_url,
                    &meter,
                    &args.movies_database,
                    &args.zip,
                    args.workers,
                    half.as_secs(),
                )?;
                statement = match (statement, same) {
                    (Some(so_far), Some(turn)) => Some(so_far.and(turn)),
                    (so_far, turn) => so_far.or(turn),
                };
            }
        }
        let figures = figures.expect("two turns");
        figures.print(baseline);
        if let Some(both) = statement {
            println!(
                "{:<16} {:>9.0}/s  (GetShowtimes' statement, {} clients, in turns with the service{}): the service does {:.0} %",
                "pgbench search",
                both.tps,
                args.workers,
                both.cpu(),
                100.0 * figures.per_second() / both.tps
            );
        }
    }
    if wants(Scenario::MoviePage) {
        let movie = cinema
            .current_movies(Some(&args.zip))
            .await?
            .into_iter()
            .next()
            .context("no movie is showing near the ZIP: load the demo data")?;
        let url = format!("{}/movies/{}?zip={}", args.web, movie.id, args.zip);
        let http = reqwest::Client::new();
        timed("movie-page", &meter, args.workers, duration, move |_| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let page = http.get(&url).send().await;
                match page {
                    Ok(r) if r.status().is_success() => r
                        .bytes()
                        .await
                        .map(drop)
                        .map_err(|e| ClientError::Unavailable(e.to_string())),
                    Ok(r) => Err(ClientError::Unavailable(format!("HTTP {}", r.status()))),
                    Err(e) => Err(ClientError::Unavailable(e.to_string())),
                }
            }
        })
        .await
        .print(baseline);
    }
    if wants(Scenario::NationalSearch) {
        let zips = national_catalogue(&args).await?;
        let c = cinema.clone();
        timed(
            "national-search",
            &meter,
            args.workers,
            duration,
            move |n| {
                // Workers start at different places in the list.
                let at = (n / 1_000_000) * 131 + n % 1_000_000;
                search(c.clone(), zips[at % zips.len()].clone())
            },
        )
        .await
        .print(baseline);
    }
    if wants(Scenario::HotShowtime) {
        let product = hot_showtime(&cinema, &run, args.seats).await?;
        sell_out(&cinema, &product, args.seats, args.buyers).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_would_skew_the_figures_is_warned_about() {
        let said = |autovacuum, databases| server_warnings(autovacuum, databases).join("\n");
        assert!(said("off", 7).contains("autovacuum is off"));
        assert!(said("on", 780).contains("780 databases"));
        assert_eq!(said("on", 7), "", "a clean server, nothing to say");
    }

    #[test]
    fn the_services_are_looked_for_on_every_port_their_endpoints_name() {
        assert_eq!(
            ports(&[
                "http://127.0.0.1:50051",
                "http://a:50052, http://b:50053",
                "https://orders.example.com",
                "dns:///orders-headless:50052",
            ]),
            vec![50051, 50052, 50053, 443]
        );
    }
}
