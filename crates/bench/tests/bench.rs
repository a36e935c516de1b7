//! The benchmark against a real stack (both services in this process, each on a fresh
//! database, as `cinema-integration-tests` runs them): what it times are real sales
//! and searches made without an error, the hot showtime sells exactly its seats, and
//! the search takes turns with pgbench running its own statement. Its figures are not checked here: they
//! are for a release build on a quiet machine (see the README's Benchmarks).

use std::process::Command;
use std::time::Duration;

use cinema_bench::measure::{Load, Meter};
use cinema_bench::{pgbench, scenarios};
use cinema_integration_tests::{MOVIES_ADMIN_TOKEN, ORDERS_ADMIN_TOKEN, Stack};

fn short(meter: &Meter) -> Load<'_> {
    Load {
        meter,
        workers: 2,
        duration: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn every_order_the_benchmark_counts_is_a_sale_and_every_search_finds_showtimes() {
    let stack = Stack::start().await.expect("stack");
    let meter = Meter::default();
    let products = scenarios::spread_products(&stack.cinema, "t")
        .await
        .expect("products");

    let one_tap = scenarios::place_order(&stack.cinema, &products, &short(&meter)).await;
    let checkout = scenarios::hold_and_pay(&stack.cinema, &products, &short(&meter)).await;
    assert_eq!((one_tap.errors, checkout.errors), (0, 0));
    assert!(!one_tap.latencies.is_empty() && !checkout.latencies.is_empty());
    let ids: Vec<&str> = products.iter().map(String::as_str).collect();
    let left = stack
        .cinema
        .orders()
        .availability(&ids)
        .await
        .expect("availability");
    let sold: i64 = left.iter().map(|p| 10_000_000 - p.available).sum();
    assert_eq!(
        sold as u64,
        one_tap.latencies.len() + checkout.latencies.len(),
        "one seat sold per order counted"
    );
    assert!(left.iter().all(|p| p.held == 0), "no hold left behind");

    // Nothing to find yet: timing an empty search would mislead.
    let empty = scenarios::describe_search(&stack.cinema, "02139")
        .await
        .expect_err("nothing to find");
    assert!(
        empty.to_string().contains("no showtimes near 02139"),
        "{empty}"
    );
    scenarios::hot_showtime(&stack.cinema, "t", 100)
        .await
        .expect("a showtime");
    let found = scenarios::describe_search(&stack.cinema, "02139")
        .await
        .expect("finds it");
    assert!(
        found.contains("1 showtimes, 1 theatres, 1 movies"),
        "{found}"
    );
    let searches = scenarios::get_showtimes(&stack.cinema, "02139", &short(&meter)).await;
    assert_eq!(searches.errors, 0);
    assert!(!searches.latencies.is_empty());
    // The home page's question (national-home's), near the ZIP code and anywhere.
    let zips = std::sync::Arc::new(vec!["02139".to_owned()]);
    let homes = scenarios::national_home(&stack.cinema, zips, &short(&meter)).await;
    assert_eq!(homes.errors, 0);
    assert!(homes.latencies.len() >= 2, "near and anywhere");
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn the_hot_showtime_sells_exactly_its_seats_to_buyers_racing_for_them() {
    let stack = Stack::start().await.expect("stack");
    let product = scenarios::hot_showtime(&stack.cinema, "t", 40)
        .await
        .expect("a showtime");
    let sale = scenarios::sell_out(&stack.cinema, &product, 40, 12)
        .await
        .expect("sold out");
    sale.check().expect("every seat sold once");
    assert_eq!((sale.sold, sale.available, sale.held), (40, 0, 0));
    assert_eq!(sale.latencies.len(), 40);
    stack.stop().await.expect("stops");
}

/// `cinema-bench` with `args`, against `stack`: its output, once it has succeeded.
async fn bench(stack: &Stack, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema-bench"));
    command
        .args([
            "--movies",
            &stack.movies.url(),
            "--orders",
            &stack.orders.url(),
        ])
        .args(["--workers", "2", "--seconds", "1"])
        .args(args)
        .env("MOVIES_ADMIN_TOKEN", MOVIES_ADMIN_TOKEN)
        .env("ORDERS_ADMIN_TOKEN", ORDERS_ADMIN_TOKEN);
    let out = tokio::task::spawn_blocking(move || command.output().expect("cinema-bench runs"))
        .await
        .expect("joins");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The line of `scenario`'s figures, which must show no error.
fn figures<'a>(stdout: &'a str, scenario: &str) -> &'a str {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{scenario} ")) && l.contains("p99"))
        .unwrap_or_else(|| panic!("no {scenario} figures in:\n{stdout}"));
    assert!(line.contains("errors    0"), "{line}");
    line
}

/// The binary as the README runs it, with the scenarios that need no website.
#[tokio::test]
async fn the_benchmark_binary_reports_each_scenario_and_checks_the_sell_out() {
    let stack = Stack::start().await.expect("stack");
    scenarios::hot_showtime(&stack.cinema, "t", 100)
        .await
        .expect("a showtime to search");
    let only = "place-order,hold-and-pay,get-showtimes,hot-showtime";
    let stdout = bench(
        &stack,
        &[
            "--only",
            only,
            "--seats",
            "20",
            "--buyers",
            "4",
            "--no-pgbench",
        ],
    )
    .await;
    for scenario in ["place-order", "hold-and-pay", "get-showtimes"] {
        figures(&stdout, scenario);
    }
    assert!(
        stdout.contains("20 seats, 4 buyers: sold out")
            && stdout.contains("sold 20, left 0 available + 0 held"),
        "{stdout}"
    );
    stack.stop().await.expect("stops");
}

/// The search takes turns with pgbench running its statement on the stack's own
/// movies database, and is reported as a share of it.
#[tokio::test]
async fn the_search_is_measured_in_turns_with_its_own_statement() {
    assert!(
        pgbench::available(),
        "pgbench is not on PATH (it comes with Postgres)"
    );
    let stack = Stack::start().await.expect("stack");
    scenarios::hot_showtime(&stack.cinema, "t", 100)
        .await
        .expect("a showtime to search");
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(stack.movies.pool())
        .await
        .expect("its name");
    let (server, _) = cinema_testkit::server_url_and_prefix()
        .await
        .expect("server");
    let stdout = bench(
        &stack,
        &[
            "--only",
            "get-showtimes",
            "--database-url",
            &server,
            "--movies-database",
            &database,
        ],
    )
    .await;
    let line = figures(&stdout, "get-showtimes");
    let share = line
        .rsplit_once("vs pgbench")
        .and_then(|(_, share)| share.trim().strip_suffix('%'))
        .and_then(|share| share.trim().parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no share of pgbench in {line}"));
    assert!(share > 0, "{line}");
    assert!(
        stdout.contains("pgbench in turns with it: GetShowtimes' statement"),
        "{stdout}"
    );
    stack.stop().await.expect("stops");
}
