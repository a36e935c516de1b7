//! Measures the sold-out callback lag: from a sale's commit (the PlaceOrder answer, which
//! comes after the commit) to the movies service having marked the showtime sold out.
//!
//! Runs the whole system in-process against the Postgres at `DATABASE_URL`:
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@localhost:5432/postgres \
//!   cargo run --release -p cinema-integration-tests --bin callback-lag -- 200
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use cinema_client::NewOrder;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_integration_tests::Stack;
use hdrhistogram::Histogram;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sellouts: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("usage: callback-lag [SELL_OUTS]")?,
        None => 200,
    };
    let stack = Stack::start().await?;
    let c = &stack.cinema;

    let movie = c
        .admin()
        .create_movie(movies::CreateMovieRequest {
            name: "Lag test".into(),
            length_minutes: 30,
            rating: movies::Rating::G.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await?;
    // One-seat auditoriums, so one ticket sells a showtime out.
    let theatre = c
        .admin()
        .create_theatre(movies::CreateTheatreRequest {
            name: "Bench".into(),
            phone: "+16175550100".into(),
            address: Some(movies::Address {
                line_1: "1 Main St".into(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            auditoriums: (1..=50)
                .map(|room| movies::Auditorium {
                    room: room.to_string(),
                    seats: 1,
                })
                .collect(),
            latitude: None,
            longitude: None,
            time_zone: None,
            request_id: String::new(),
        })
        .await?;
    let start = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut showtimes = Vec::with_capacity(sellouts);
    for i in 0..sellouts {
        let at = start + chrono::Duration::minutes(45 * (i / 50) as i64);
        showtimes.push(
            c.admin()
                .create_showtime(movies::CreateShowtimeRequest {
                    movie_id: movie.id.clone(),
                    theatre_id: theatre.id.clone(),
                    room: (i % 50 + 1).to_string(),
                    start_time: Some(prost_types::Timestamp {
                        seconds: at.timestamp(),
                        nanos: 0,
                    }),
                    price_cents: 1000,
                    request_id: String::new(),
                })
                .await?,
        );
    }
    let payment = orders::Payment {
        method: Some(orders::payment::Method::Paypal(orders::PayPal {
            email: "bench@example.com".into(),
        })),
    };

    let mut lag = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut order_latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for showtime in &showtimes {
        let id: i64 = showtime.id.parse()?;
        let sent = Instant::now();
        c.orders()
            .place_order(NewOrder {
                items: vec![orders::OrderItem {
                    product_id: showtime.product_id.clone(),
                    quantity: 1,
                }],
                payment: payment.clone(),
                phone: None,
                hold_id: None,
            })
            .await?;
        let committed = Instant::now();
        order_latency.record((committed - sent).as_micros() as u64)?;
        loop {
            let sold_out: bool = sqlx::query_scalar("SELECT sold_out FROM showtimes WHERE id = $1")
                .bind(id)
                .fetch_one(stack.movies.pool())
                .await?;
            if sold_out {
                break;
            }
            anyhow::ensure!(
                committed.elapsed() < Duration::from_secs(30),
                "showtime {id} never sold out"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        lag.record(committed.elapsed().as_micros() as u64)?;
    }

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!("sell-outs: {}", lag.len());
    println!(
        "callback lag (commit -> movies marked sold out): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(&lag, 0.5),
        ms(&lag, 0.9),
        ms(&lag, 0.99),
        lag.max() as f64 / 1000.0
    );
    println!(
        "PlaceOrder latency: p50 {:.2} ms, p99 {:.2} ms",
        ms(&order_latency, 0.5),
        ms(&order_latency, 0.99)
    );
    stack.stop().await
}
