//! The command line, and a run of the scenarios it asks for.

use std::time::Duration;

use anyhow::Context;
use cinema_client::{Cinema, ClientConfig};
use clap::{Parser, ValueEnum};
use secrecy::SecretString;

use crate::measure::{Figures, Load, Meter};
use crate::{pgbench, scenarios, server};

#[derive(Debug, Parser)]
#[command(
    name = "cinema-bench",
    version,
    about = "Load-test a running Cinema stack"
)]
pub struct Args {
    #[arg(long, env = "CINEMA_MOVIES", default_value = "http://127.0.0.1:50051")]
    pub movies: String,
    #[arg(long, env = "CINEMA_ORDERS", default_value = "http://127.0.0.1:50052")]
    pub orders: String,
    /// The website, for `movie-page`.
    #[arg(long, env = "CINEMA_WEB", default_value = "http://127.0.0.1:8080")]
    pub web: String,
    /// Needed to create the benchmark's products, theatre and showtime.
    #[arg(long, env = "MOVIES_ADMIN_TOKEN", hide_env_values = true)]
    pub movies_admin_token: String,
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", hide_env_values = true)]
    pub orders_admin_token: String,
    /// Concurrent clients (closed loop: each sends its next call when the last answers).
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Threads the load generator runs its clients on. One by default: the load
    /// generator shares the cores with the stack and Postgres, and a second thread
    /// cost more in wake-ups than it gave (docs/performance.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// How long each timed scenario runs.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Which scenarios to run (all by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Scenario>,
    /// The ZIP code searched by `get-showtimes` and `movie-page`.
    #[arg(long, default_value = "02139")]
    pub zip: String,
    /// Seats of the hot showtime.
    #[arg(long, default_value_t = 2000)]
    pub seats: u32,
    /// Buyers racing for the hot showtime.
    #[arg(long, default_value_t = 200)]
    pub buyers: usize,
    /// The Postgres server for pgbench (it creates and uses a database of its own,
    /// `cinema_bench_pgbench`). pgbench is skipped when it is not on PATH.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@localhost:5432/postgres",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Skip pgbench.
    #[arg(long)]
    pub no_pgbench: bool,
    /// The movies service's database on the same server, where pgbench runs
    /// GetShowtimes' own statement (`cinema-dev up` names it `<db-prefix>_movies`).
    #[arg(long, default_value = "cinema_movies")]
    pub movies_database: String,
    /// Theatres of the national catalogue (`national-search`), one per ZIP code.
    #[arg(long, default_value_t = 6000)]
    pub national_theatres: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    PlaceOrder,
    HoldAndPay,
    GetShowtimes,
    MoviePage,
    HotShowtime,
    /// Writes the national catalogue into the stack's movies database first if it is
    /// not there: run it on a stack of its own, since every later search of that
    /// stack finds the national theatres too.
    NationalSearch,
    /// What the home page asks on the same catalogue: the movies playing (sold out
    /// included) near each ZIP code, every other call anywhere (a first visit, with no
    /// ZIP code yet).
    NationalHome,
}

/// Runs the scenarios `args` asks for against the stack it names, printing each one's
/// figures as they come; fails on the first scenario that cannot run, and when the
/// hot showtime does not sell exactly its seats.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut config = ClientConfig::new(args.movies.clone(), args.orders.clone());
    config.movies_admin_token = Some(SecretString::from(args.movies_admin_token.clone()));
    config.orders_admin_token = Some(SecretString::from(args.orders_admin_token.clone()));
    // A benchmark measures the service, not the client's retries.
    config.retries = 0;
    let cinema = Cinema::connect(config)?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let wants = |s: Scenario| args.only.is_empty() || args.only.contains(&s);

    server::warn_about(&args.database_url);
    let meter = Meter::find(&args.database_url, &[&args.movies, &args.orders, &args.web]).await;
    let load = Load {
        meter: &meter,
        workers: args.workers,
        duration: Duration::from_secs(args.seconds),
    };
    let pgbench = if args.no_pgbench {
        None
    } else if pgbench::available() {
        let compared_with_tpc_b = [
            Scenario::PlaceOrder,
            Scenario::HoldAndPay,
            Scenario::MoviePage,
            Scenario::NationalSearch,
            Scenario::NationalHome,
        ];
        if compared_with_tpc_b.into_iter().any(wants) {
            pgbench::init_tpc_b(&args.database_url)?;
        }
        Some(Pgbench {
            database_url: &args.database_url,
            meter: &meter,
            workers: args.workers,
        })
    } else {
        println!("pgbench is not on PATH: no baseline");
        None
    };
    let tpc_b = || pgbench::Workload::TpcB;

    if wants(Scenario::PlaceOrder) || wants(Scenario::HoldAndPay) {
        let products = scenarios::spread_products(&cinema, &run).await?;
        if wants(Scenario::PlaceOrder) {
            let scenario =
                async |load: &Load<'_>| Ok(scenarios::place_order(&cinema, &products, load).await);
            in_turns(&load, scenario, pgbench.as_ref(), tpc_b).await?;
        }
        if wants(Scenario::HoldAndPay) {
            let scenario =
                async |load: &Load<'_>| Ok(scenarios::hold_and_pay(&cinema, &products, load).await);
            in_turns(&load, scenario, pgbench.as_ref(), tpc_b).await?;
        }
    }
    if wants(Scenario::GetShowtimes) {
        println!("{}", scenarios::describe_search(&cinema, &args.zip).await?);
        // Compared with the database running its one statement, rather than TPC-B:
        // what the service adds to the search.
        let statement =
            || pgbench::search_workload(&args.movies_database, &args.zip, chrono::Utc::now());
        let scenario =
            async |load: &Load<'_>| Ok(scenarios::get_showtimes(&cinema, &args.zip, load).await);
        in_turns(&load, scenario, pgbench.as_ref(), statement).await?;
    }
    if wants(Scenario::MoviePage) {
        let scenario = async |load: &Load<'_>| {
            scenarios::movie_page(&cinema, &args.web, &args.zip, load).await
        };
        in_turns(&load, scenario, pgbench.as_ref(), tpc_b).await?;
    }
    if wants(Scenario::NationalSearch) || wants(Scenario::NationalHome) {
        let url = pgbench::on_server(&args.database_url, &args.movies_database)?;
        let zips = scenarios::national_catalogue(&url, args.national_theatres)
            .await
            .with_context(|| format!("the movies database {}", args.movies_database))?;
        if wants(Scenario::NationalSearch) {
            let scenario = async |load: &Load<'_>| {
                Ok(scenarios::national_search(&cinema, zips.clone(), load).await)
            };
            in_turns(&load, scenario, pgbench.as_ref(), tpc_b).await?;
        }
        if wants(Scenario::NationalHome) {
            let scenario = async |load: &Load<'_>| {
                Ok(scenarios::national_home(&cinema, zips.clone(), load).await)
            };
            in_turns(&load, scenario, pgbench.as_ref(), tpc_b).await?;
        }
    }
    if wants(Scenario::HotShowtime) {
        let product = scenarios::hot_showtime(&cinema, &run, args.seats).await?;
        let sale = scenarios::sell_out(&cinema, &product, args.seats, args.buyers).await?;
        println!("{}", sale.report());
        sale.check()?;
    }
    Ok(())
}

/// pgbench on the stack's Postgres server, at the stack's concurrency.
struct Pgbench<'a> {
    database_url: &'a str,
    meter: &'a Meter,
    workers: usize,
}

/// Runs a timed scenario and, with `pgbench`, the database's own `workload` in turns
/// with it (the scenario for half the time, pgbench for as long, twice), so that a
/// machine whose speed drifts during the run (a shared VM's does) weighs on both
/// alike; prints the scenario's figures with its rate as a share of pgbench's.
async fn in_turns<'w>(
    load: &Load<'_>,
    scenario: impl AsyncFn(&Load<'_>) -> anyhow::Result<Figures>,
    pgbench: Option<&Pgbench<'_>>,
    workload: impl Fn() -> pgbench::Workload<'w>,
) -> anyhow::Result<Figures> {
    let Some(pgbench) = pgbench else {
        let figures = scenario(load).await?;
        println!("{}", figures.report(None));
        return Ok(figures);
    };
    let half = Load {
        duration: (load.duration / 2).max(Duration::from_secs(1)),
        ..*load
    };
    let (mut figures, mut database): (Option<Figures>, Option<pgbench::Run>) = (None, None);
    let mut name = "";
    for _ in 0..2 {
        let turn = scenario(&half).await?;
        figures = Some(match figures {
            Some(so_far) => so_far.and(turn),
            None => turn,
        });
        let workload = workload();
        name = workload.name();
        let turn = pgbench::run(
            pgbench.database_url,
            pgbench.meter,
            workload,
            pgbench.workers,
            half.duration.as_secs(),
        )?;
        database = Some(match database {
            Some(so_far) => so_far.and(turn),
            None => turn,
        });
    }
    let (figures, database) = (figures.expect("two turns"), database.expect("two turns"));
    println!("{}", figures.report(Some(database.tps)));
    println!(
        "{:<16} pgbench in turns with it: {name}, {:.0}/s{}",
        "",
        database.tps,
        database.cpu()
    );
    Ok(figures)
}
