//! What the benchmark asks of the stack, made the way its users make it: through
//! `cinema-client` (a front-end's gRPC calls) or the website.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{Cinema, ClientError, Near, NewOrder};

use crate::measure::{Figures, Load, histogram, timed};

/// The test card the simulated processor accepts.
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
            security_code: "123".into(),
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
pub async fn spread_products(cinema: &Cinema, run: &str) -> anyhow::Result<Arc<Vec<String>>> {
    let mut products = Vec::new();
    for i in 0..200 {
        let id = cinema
            .orders()
            .add_product(orders::AddProductRequest {
                description: format!("bench {run} product {i}"),
                quantity: 10_000_000,
                price_cents: 1250,
                ..Default::default()
            })
            .await
            .context("AddProduct (is ORDERS_ADMIN_TOKEN the stack's?)")?;
        products.push(id);
    }
    Ok(Arc::new(products))
}

/// PlaceOrder for one ticket of one of `products` (the order holds it, has the card
/// authorized, then confirms): an app's one-tap purchase.
pub async fn place_order(cinema: &Cinema, products: &Arc<Vec<String>>, load: &Load<'_>) -> Figures {
    let (c, p) = (cinema.clone(), products.clone());
    timed("place-order", load, move |n| {
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
}

/// HoldProducts, then PlaceOrder for the hold: a browser checkout.
pub async fn hold_and_pay(
    cinema: &Cinema,
    products: &Arc<Vec<String>>,
    load: &Load<'_>,
) -> Figures {
    let (c, p) = (cinema.clone(), products.clone());
    timed("hold-and-pay", load, move |n| {
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

/// What one search near `zip` finds, said in a line; an error when it finds nothing,
/// since timing an empty search would say nothing of a real one.
pub async fn describe_search(cinema: &Cinema, zip: &str) -> anyhow::Result<String> {
    let found = cinema
        .movies()
        .get_showtimes(movies::GetShowtimesRequest {
            zip_code: Some(zip.to_owned()),
            ..Default::default()
        })
        .await?;
    if found.showtimes.is_empty() {
        bail!("no showtimes near {zip}: load the demo data (`cinema-dev up --demo`)");
    }
    Ok(format!(
        "{:<16} ZIP {zip}: {} showtimes, {} theatres, {} movies per call",
        "get-showtimes",
        found.showtimes.len(),
        found.theatres.len(),
        found.movies.len()
    ))
}

/// GetShowtimes near `zip`, again and again.
pub async fn get_showtimes(cinema: &Cinema, zip: &str, load: &Load<'_>) -> Figures {
    let (c, zip) = (cinema.clone(), zip.to_owned());
    timed("get-showtimes", load, move |_| {
        search(c.clone(), zip.clone())
    })
    .await
}

/// GetShowtimes near each of `zips` in turn (workers start at different places).
pub async fn national_search(cinema: &Cinema, zips: Arc<Vec<String>>, load: &Load<'_>) -> Figures {
    let c = cinema.clone();
    timed("national-search", load, move |n| {
        let at = (n / 1_000_000) * 131 + n % 1_000_000;
        search(c.clone(), zips[at % zips.len()].clone())
    })
    .await
}

/// A movie's page on the website (`/movies/{id}?zip=…`), which calls GetShowtimes.
pub async fn movie_page(
    cinema: &Cinema,
    web: &str,
    zip: &str,
    load: &Load<'_>,
) -> anyhow::Result<Figures> {
    let movie = cinema
        .current_movies(Some(&Near::zip(zip)))
        .await?
        .into_iter()
        .next()
        .context("no movie is showing near the ZIP: load the demo data")?;
    let url = format!("{web}/movies/{}?zip={zip}", movie.id);
    let http = reqwest::Client::new();
    Ok(timed("movie-page", load, move |_| {
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
    .await)
}

/// A showtime of `seats` seats three days from now, created through the movies
/// service like any other, so its sell-out also reaches movies through the callback;
/// returns its product.
pub async fn hot_showtime(cinema: &Cinema, run: &str, seats: u32) -> anyhow::Result<String> {
    let admin = cinema.admin();
    let movie = admin
        .create_movie(movies::CreateMovieRequest {
            name: format!("Bench premiere {run}"),
            length_minutes: 120,
            rating: movies::Rating::Pg13.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
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

/// How a hot showtime's sale went.
#[derive(Debug)]
pub struct SellOut {
    pub seats: u32,
    pub buyers: usize,
    pub elapsed: std::time::Duration,
    /// Of the orders that went through, in microseconds.
    pub latencies: hdrhistogram::Histogram<u64>,
    /// Seats sold: one per order.
    pub sold: u64,
    /// What the orders service reports afterwards.
    pub available: i64,
    pub held: i64,
    /// Refusals other than "sold out", and failures.
    pub other_errors: u64,
}

impl SellOut {
    /// Every seat sold once, none left, and nobody refused but for the sell-out.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.sold != u64::from(self.seats) || self.available != 0 || self.held != 0 {
            bail!(
                "the hot showtime sold {} of {} seats ({} still available, {} held)",
                self.sold,
                self.seats,
                self.available,
                self.held
            );
        }
        if self.other_errors > 0 {
            bail!(
                "{} orders of the hot showtime failed for another reason than the sell-out",
                self.other_errors
            );
        }
        Ok(())
    }

    pub fn report(&self) -> String {
        let ms = |q: f64| self.latencies.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{:<16} {} seats, {} buyers: sold out in {:.2} s ({:.0} orders/s), p50 {:.1} ms, p99 {:.1} ms; \
             sold {}, left {} available + {} held, errors other than sold out: {}",
            "hot-showtime",
            self.seats,
            self.buyers,
            self.elapsed.as_secs_f64(),
            self.sold as f64 / self.elapsed.as_secs_f64(),
            ms(0.5),
            ms(0.99),
            self.sold,
            self.available,
            self.held,
            self.other_errors,
        )
    }
}

/// Failures in a row (other than the sell-out) after which a buyer stops trying.
const GIVE_UP_AFTER: u32 = 10;

/// `buyers` buyers buy one ticket each of `product`, again and again, until it is
/// sold out (or a buyer has failed ten times in a row).
pub async fn sell_out(
    cinema: &Cinema,
    product: &str,
    seats: u32,
    buyers: usize,
) -> anyhow::Result<SellOut> {
    let sold = Arc::new(AtomicU64::new(0));
    let other_errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..buyers {
        let (cinema, product) = (cinema.clone(), product.to_owned());
        let (sold, other_errors) = (sold.clone(), other_errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            let mut failures_in_a_row = 0;
            // A buyer tries again after a failure, but not for ever: a stack that
            // fails every order (a service down) ends the run instead of spinning.
            while failures_in_a_row < GIVE_UP_AFTER {
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
                        failures_in_a_row = 0;
                    }
                    Err(ClientError::SoldOut(_)) => break,
                    Err(_) => {
                        other_errors.fetch_add(1, Ordering::Relaxed);
                        failures_in_a_row += 1;
                    }
                }
            }
            latencies
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
    Ok(SellOut {
        seats,
        buyers,
        elapsed,
        latencies,
        sold: sold.load(Ordering::Relaxed),
        available: left[0].available,
        held: left[0].held,
        other_errors: other_errors.load(Ordering::Relaxed),
    })
}

/// The home page's ListCurrentMovies (sold-out movies included) near each of `zips` in
/// turn, every other call with no ZIP code (a first visit).
pub async fn national_home(cinema: &Cinema, zips: Arc<Vec<String>>, load: &Load<'_>) -> Figures {
    let c = cinema.clone();
    timed("national-home", load, move |n| {
        let at = (n / 1_000_000) * 131 + n % 1_000_000;
        let (c, zip) = (c.clone(), zips[at % zips.len()].clone());
        async move {
            let near = (n % 2 == 0).then(|| Near::zip(zip));
            c.playing_movies(near.as_ref()).await.map(drop)
        }
    })
    .await
}

/// The national catalogue in the movies database at `url`, written first if it is
/// not there (`theatres` of them, one per ZIP code); returns ZIP codes of its
/// theatres, to search.
pub async fn national_catalogue(url: &str, theatres: i64) -> anyhow::Result<Arc<Vec<String>>> {
    use cinema_movies::store;
    let pool = sqlx::PgPool::connect(url)
        .await
        .context("connecting to the movies database")?;
    let mut size = store::national_catalogue(&pool).await?;
    if size.theatres == 0 {
        // Without the US list (the migrations seed a dozen codes) the "national"
        // catalogue would be a dozen theatres, and its figures would mean nothing.
        let zips = store::count_zip_codes(&pool).await?;
        if zips < theatres {
            bail!(
                "the movies database knows {zips} ZIP codes, fewer than the {theatres} national \
                 theatres asked for: load the US list first (`cinema-dev up --demo` does, \
                 or `movies-service load-zips`)",
            );
        }
        let began = Instant::now();
        size = store::generate_national_catalogue(&pool, theatres, 14, chrono::Utc::now()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buyers_who_keep_failing_end_the_sale_instead_of_spinning() {
        // Nothing listens on port 1: every order fails at once.
        let mut config =
            cinema_client::ClientConfig::new("http://127.0.0.1:1", "http://127.0.0.1:1");
        config.retries = 0;
        let cinema = Cinema::connect(config).expect("a client");
        let sale = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            sell_out(&cinema, "1", 40, 3),
        )
        .await
        .expect("the sale ends");
        // It ends in an error: the stock cannot be read either.
        assert!(sale.is_err());
    }

    #[test]
    fn a_sale_passes_only_with_every_seat_sold_once_and_no_other_refusal() {
        let sale = |sold, available, held, other_errors| SellOut {
            seats: 40,
            buyers: 4,
            elapsed: std::time::Duration::from_secs(1),
            latencies: histogram(),
            sold,
            available,
            held,
            other_errors,
        };
        assert!(sale(40, 0, 0, 0).check().is_ok());
        assert!(sale(41, 0, 0, 0).check().is_err(), "oversold");
        assert!(sale(39, 1, 0, 0).check().is_err(), "a seat left");
        assert!(sale(38, 0, 2, 0).check().is_err(), "seats left held");
        assert!(
            sale(40, 0, 0, 1).check().is_err(),
            "a refusal but the sell-out"
        );
    }
}
