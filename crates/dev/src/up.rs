//! `cinema-dev up`: the whole stack in one process, for a newcomer's laptop.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use cinema_client::{Cinema, ClientConfig};
use cinema_service::service::Running;
use cinema_sms_sim::{SimSettings, Simulator};
use secrecy::SecretString;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::UpArgs;

/// A token from the environment, or a random one for this run (never printed: the
/// services and the demo loader in this process are its only users).
fn token(var: &str) -> SecretString {
    SecretString::from(std::env::var(var).unwrap_or_else(|_| uuid::Uuid::new_v4().to_string()))
}

fn no_postgres(url: &Url, error: &sqlx::Error) -> anyhow::Error {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    anyhow::anyhow!(
        "no Postgres answers at {shown} ({error}).\n\
         Fix it in one of these ways:\n  \
         - start a local Postgres (e.g. `sudo systemctl start postgresql`, or \
           `pg_ctlcluster <version> main start`);\n  \
         - point DATABASE_URL at a Postgres server you can reach, \
           e.g. DATABASE_URL=postgres://user:password@host:5432/postgres;\n  \
         - or run the whole stack in containers with `docker compose up`."
    )
}

/// Fails, naming them, when any of the stack's addresses is taken: most often by a
/// stack started earlier and forgotten in another terminal. Checked before anything
/// else, so that a second `up` neither creates nor migrates anything, and names every
/// address in the way at once rather than the first one it tries to listen on.
fn ensure_addresses_free(args: &UpArgs) -> anyhow::Result<()> {
    let listeners = [
        (Some(args.movies_addr), "--movies-addr"),
        (Some(args.orders_addr), "--orders-addr"),
        (Some(args.sms_addr), "--sms-addr"),
        (Some(args.web_addr), "--web-addr"),
        (args.metrics_addr, "--metrics-addr"),
    ];
    let taken: Vec<String> = listeners
        .into_iter()
        .filter_map(|(addr, option)| Some((addr?, option)))
        // Port 0 asks the system for a free one: never taken.
        .filter(|(addr, _)| addr.port() != 0)
        .filter(|(addr, _)| {
            std::net::TcpListener::bind(addr)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
        })
        .map(|(addr, option)| format!("{addr} ({option})"))
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "already in use: {}.\n\
         Is a Cinema stack already running? Stop it (Ctrl-C in its terminal), or give \
         the options named here other addresses.",
        taken.join(", ")
    )
}

/// The movies service's pool on this machine. A search is CPU work in Postgres, which
/// here shares the machine with everything else: connections beyond about twice its
/// cores only make searches take turns inside Postgres instead of in the pool (on two
/// cores, 4 connections instead of 10 halved the search's p99; docs/performance.md).
/// The orders service keeps more: its connections spend their time waiting for commits.
fn search_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(2 * cores).unwrap_or(u32::MAX).clamp(4, 10)
}

/// Creates `name` on the server unless it exists, and returns its URL.
async fn ensure_database(admin: &Url, name: &str) -> anyhow::Result<Url> {
    // Reach the server first, so that a missing Postgres gets its own explanation.
    let options = PgConnectOptions::from_str(admin.as_str())?;
    let conn = tokio::time::timeout(Duration::from_secs(5), options.connect())
        .await
        .map_err(|_| no_postgres(admin, &sqlx::Error::PoolTimedOut))?
        .map_err(|e| no_postgres(admin, &e))?;
    conn.close().await?;
    let mut url = admin.clone();
    url.set_path(&format!("/{name}"));
    if !sqlx::Postgres::database_exists(url.as_str()).await? {
        sqlx::Postgres::create_database(url.as_str())
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        println!("created database {name}");
    }
    Ok(url)
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let _telemetry = cinema_service::init_telemetry(args.log_format, "cinema-dev")?;
    // Before anything is announced: a Ctrl-C or SIGTERM from here on stops cleanly.
    let mut stop_signal = std::pin::pin!(cinema_service::shutdown_signal());
    let admin = Url::parse(&args.database_url).context("DATABASE_URL is not a valid URL")?;
    if !args
        .db_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        anyhow::bail!("--db-prefix may hold only letters, digits and '_'");
    }
    ensure_addresses_free(&args)?;
    let orders_db = ensure_database(&admin, &format!("{}_orders", args.db_prefix)).await?;
    let movies_db = ensure_database(&admin, &format!("{}_movies", args.db_prefix)).await?;

    let sim_settings = SimSettings::default();
    let sim = Simulator::start(args.sms_addr, sim_settings.clone())
        .await
        .with_context(|| format!("cannot listen on {} for the SMS simulator", args.sms_addr))?;

    let orders_token = token("ORDERS_ADMIN_TOKEN");
    let movies_token = token("MOVIES_ADMIN_TOKEN");
    let callback_token = token("ORDERS_CALLBACK_TOKEN");

    let orders = Running::start::<cinema_orders::Application>(cinema_orders::config::Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: 10,
            ..cinema_service::service::DatabaseSettings::new(orders_db.to_string())
        },
        listen_addr: args.orders_addr,
        admin_token: Some(orders_token.clone()),
        // One listener serves both services' metrics: they share this process's
        // recorder, told apart by the `service` label.
        serving: cinema_service::service::ServingSettings {
            metrics_addr: args.metrics_addr,
            health_interval_ms: 2000,
        },
        callback_token: Some(callback_token.clone()),
        dispatcher: true,
        dispatch: cinema_orders::dispatcher::DispatchSettings::default(),
        checkout: cinema_orders::config::CheckoutSettings {
            payment_latency_ms: args.payment_latency_ms,
            ..Default::default()
        },
        sms: cinema_orders::config::SmsSettings {
            watertel_url: Some(sim.watertel_url()),
            watertel_username: sim_settings.watertel_username.clone(),
            watertel_password: Some(SecretString::from(sim_settings.watertel_password.clone())),
            watertel_weight: 80,
            milio_url: Some(sim.milio_url()),
            milio_token: Some(SecretString::from(sim_settings.milio_token.clone())),
            milio_registered_phone: sim_settings.milio_registered_phone.clone(),
            milio_weight: 20,
            retries: 3,
            retry_base_ms: 2000,
        },
    })
    .await
    .context("the orders service cannot start")?;
    let movies = Running::start::<cinema_movies::Application>(cinema_movies::config::Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: search_pool_size(),
            ..cinema_service::service::DatabaseSettings::new(movies_db.to_string())
        },
        listen_addr: args.movies_addr,
        admin_token: Some(movies_token.clone()),
        orders_endpoint: orders.url(),
        orders_token: Some(orders_token.clone()),
        orders_timeout_ms: 5000,
        provider_name: "movies".into(),
        callback_endpoint: None,
        callback_token: Some(callback_token),
        cleaning_gap_minutes: 15,
        serving: Default::default(),
    })
    .await
    .context("the movies service cannot start")?;

    let (movies_url, orders_url) = (movies.url(), orders.url());
    let web = cinema_web::Application::build(cinema_web::Settings {
        listen_addr: args.web_addr,
        movies_endpoint: movies_url.clone(),
        orders_endpoint: orders_url.clone(),
        // Where it listens: http://127.0.0.1:8080.
        public_url: None,
        secure_cookies: false,
        // The stack's one listener serves the site's metrics too (the recorder is the
        // process's).
        metrics_addr: None,
        seats_left_cache_ms: 1000,
        limits: Default::default(),
    })
    .await
    .context("the website cannot start")?;
    let web_url = format!("http://{}", web.local_addr());
    let metrics_url = orders.metrics_addr().map(|a| format!("http://{a}/metrics"));
    let orders_pool = orders.pool().clone();
    let movies_pool = movies.pool().clone();

    let stop_web = CancellationToken::new();
    let web_task = tokio::spawn(web.run_until_stopped(stop_web.clone().cancelled_owned()));

    // Loading the demo takes a while the first time; Ctrl-C must not wait for it.
    let interrupted = if args.demo {
        let mut config = ClientConfig::new(movies_url.clone(), orders_url.clone());
        config.movies_admin_token = Some(movies_token);
        config.orders_admin_token = Some(orders_token);
        let cinema = Cinema::connect(config)?;
        let demo = async {
            // Each service loads its own reference data: the US ZIP codes.
            let zips = cinema_service::zips::us_zip_codes()?;
            let added = cinema_service::zips::load(&movies_pool, &zips).await?;
            cinema_service::zips::load(&orders_pool, &zips).await?;
            println!("ZIP codes: {added} added, of {}", zips.len());
            let report = crate::demo::load(&cinema).await?;
            crate::demo::create_promotion(&cinema).await?;
            // Fresh statistics after a bulk load: with stale ones the planner scans every
            // current showtime for each ZIP search instead of using the indexes. (This
            // process runs the movies service: the pool is its own.)
            cinema_movies::store::analyze(&movies_pool).await?;
            anyhow::Ok(report)
        };
        tokio::select! {
            report = demo => {
                println!("{}", report.context("loading the demo data failed")?);
                false
            }
            () = &mut stop_signal => true,
        }
    } else {
        false
    };
    if !interrupted {
        announce(
            &web_url,
            &movies_url,
            &orders_url,
            metrics_url.as_deref(),
            &sim,
        );
        if args.demo {
            let (code, uses) = crate::demo::PROMOTION;
            println!(
                "  cargo run -q -p cinema -- buy --showtime <ID> --promotion {code}   (good for {uses} orders, on the website too)"
            );
        }
        admin_hint(
            std::env::var_os("ORDERS_ADMIN_TOKEN").is_some(),
            std::env::var_os("MOVIES_ADMIN_TOKEN").is_some(),
        );
        println!();
        println!("Ctrl-C stops everything.");
        stop_signal.await;
    }
    println!("stopping...");
    // The website first, then the services it calls, then the one they call.
    stop_web.cancel();
    web_task.await.context("web task")??;
    movies.stop().await?;
    orders.stop().await?;
    sim.stop().await;
    println!("stopped.");
    Ok(())
}

fn announce(
    web_url: &str,
    movies_url: &str,
    orders_url: &str,
    metrics_url: Option<&str>,
    sim: &Simulator,
) {
    let sms_url = format!("http://{}", sim.addr);
    println!();
    println!("Cinema is up: open {web_url}");
    println!("  website          {web_url}");
    println!("  movies service   {movies_url}   (gRPC, reflection on)");
    println!("  orders service   {orders_url}   (gRPC, reflection on)");
    println!("  SMS simulator    {sms_url}   (texts: {sms_url}/texts)");
    if let Some(metrics_url) = metrics_url {
        println!("  metrics          {metrics_url}   (Prometheus, both services)");
    }
    println!();
    println!("Try, in another terminal:");
    println!("  cargo run -q -p cinema -- showtimes --zip 02139");
    println!(
        "  cargo run -q -p cinema -- buy --showtime <ID> --tickets 2 --card 4111111111111111 --phone +14155550132"
    );
}

/// The box office's and the operators' commands need the admin tokens, which are never
/// printed: the ones given in the environment, or ones nobody knows.
fn admin_hint(orders_token_given: bool, movies_token_given: bool) {
    if orders_token_given {
        println!(
            "  cargo run -q -p cinema -- admit <CONFIRMATION>   (the box office; with the same ORDERS_ADMIN_TOKEN)"
        );
        println!(
            "  cargo run -q -p cinema -- sales --theatre 1      (how today's showings there sold; the same token)"
        );
    }
    if movies_token_given {
        println!(
            "  cargo run -q -p cinema -- catalogue --help       (add movies, theatres, showtimes, or cancel one; with the same MOVIES_ADMIN_TOKEN)"
        );
    }
    let made_up = [
        (
            orders_token_given,
            "ORDERS_ADMIN_TOKEN=<yours>   cinema admit, outbox, promotion, sales",
        ),
        (
            movies_token_given,
            "MOVIES_ADMIN_TOKEN=<yours>   cinema catalogue",
        ),
    ];
    if made_up.iter().any(|(given, _)| !given) {
        println!();
        println!(
            "The box office's and operators' commands need admin tokens: this stack made up\n\
             its own. Start it with these to use them:"
        );
        for (_, line) in made_up.iter().filter(|(given, _)| !given) {
            println!("  {line}");
        }
    }
}
