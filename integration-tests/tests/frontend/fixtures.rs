use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{Cinema, NewOrder};
use cinema_integration_tests::hours_from_now;

pub async fn movie(cinema: &Cinema, name: &str, minutes: u32) -> movies::Movie {
    cinema
        .admin()
        .create_movie(movies::CreateMovieRequest {
            name: name.into(),
            length_minutes: minutes,
            rating: movies::Rating::Pg13.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await
        .expect("movie created")
}

/// A theatre with a big auditorium "1" and a small one "2" (`small_seats`).
pub async fn theatre(cinema: &Cinema, name: &str, zip: &str, small_seats: u32) -> movies::Theatre {
    cinema
        .admin()
        .create_theatre(movies::CreateTheatreRequest {
            name: name.into(),
            phone: "+16175550100".into(),
            address: Some(movies::Address {
                line_1: "1 Main St".into(),
                city: "Somewhere".into(),
                state: "MA".into(),
                zip_code: zip.into(),
            }),
            auditoriums: vec![
                movies::Auditorium {
                    room: "1".into(),
                    seats: 200,
                },
                movies::Auditorium {
                    room: "2".into(),
                    seats: small_seats,
                },
            ],
            latitude: None,
            longitude: None,
            time_zone: None,
            request_id: String::new(),
        })
        .await
        .expect("theatre created")
}

/// A showtime `hours` from now, at $12.50.
pub async fn showtime(
    cinema: &Cinema,
    movie: &str,
    theatre: &str,
    room: &str,
    hours: i64,
) -> movies::Showtime {
    showtime_at(cinema, movie, theatre, room, hours_from_now(hours)).await
}

/// A showtime at a given instant (see [`boston`]), at $12.50.
pub async fn showtime_at(
    cinema: &Cinema,
    movie: &str,
    theatre: &str,
    room: &str,
    start: prost_types::Timestamp,
) -> movies::Showtime {
    cinema
        .admin()
        .create_showtime(movies::CreateShowtimeRequest {
            movie_id: movie.into(),
            theatre_id: theatre.into(),
            room: room.into(),
            start_time: Some(start),
            price_cents: 1250,
            request_id: String::new(),
        })
        .await
        .expect("showtime created")
}

/// `hour` o'clock, `days` after today, on the clock of the test theatres (ZIP codes in
/// Massachusetts): the day a page lists it on (`2026-12-09`), and the instant. Pages
/// show one day at a time, so showtimes that must be seen together are put on one
/// day this way rather than some hours from now, which may straddle midnight.
pub fn boston(days: i64, hour: u32) -> (String, prost_types::Timestamp) {
    use chrono::TimeZone;
    let zone = chrono_tz::America::New_York;
    let date = chrono::Utc::now().with_timezone(&zone).date_naive() + chrono::Duration::days(days);
    let start = zone
        .from_local_datetime(&date.and_hms_opt(hour, 0, 0).expect("an hour"))
        .single()
        .expect("an unambiguous hour");
    (
        date.to_string(),
        prost_types::Timestamp {
            seconds: start.timestamp(),
            nanos: 0,
        },
    )
}

pub use cinema_integration_tests::visa;

pub fn tickets(product_id: &str, quantity: i64) -> NewOrder {
    NewOrder {
        items: vec![orders::OrderItem {
            product_id: product_id.into(),
            quantity,
        }],
        hold_id: None,
        payment: visa(),
        phone: None,
    }
}

pub fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The site on port 0, talking to the stack's services.
pub async fn site(stack: &cinema_integration_tests::Stack) -> String {
    site_with_metrics(stack, None).await.0
}

/// The site, and its `/metrics` when asked to serve them (port 0 picks one).
pub async fn site_with_metrics(
    stack: &cinema_integration_tests::Stack,
    metrics_addr: Option<std::net::SocketAddr>,
) -> (String, Option<String>) {
    site_with(stack, metrics_addr, cinema_web::LimitSettings::default()).await
}

/// The site with its own limit on holds and payment attempts.
pub async fn site_with_limits(
    stack: &cinema_integration_tests::Stack,
    limits: cinema_web::LimitSettings,
) -> String {
    site_with(stack, None, limits).await.0
}

/// The site keeping the seats left on listed showtimes for `ms` milliseconds.
pub async fn site_keeping_seats_for(stack: &cinema_integration_tests::Stack, ms: u64) -> String {
    let settings = site_settings(stack, None, cinema_web::LimitSettings::default());
    serve(cinema_web::Settings {
        seats_left_cache_ms: ms,
        ..settings
    })
    .await
    .0
}

/// The site told the address its visitors reach it at.
pub async fn site_at(stack: &cinema_integration_tests::Stack, public_url: &str) -> String {
    let settings = site_settings(stack, None, cinema_web::LimitSettings::default());
    serve(cinema_web::Settings {
        public_url: Some(cinema_web::Origin::parse(public_url).expect("an origin")),
        ..settings
    })
    .await
    .0
}

/// The site with the stack's movies service but an orders service that is down.
pub async fn site_without_orders(stack: &cinema_integration_tests::Stack) -> String {
    let settings = site_settings(stack, None, cinema_web::LimitSettings::default());
    serve(cinema_web::Settings {
        // Nothing listens on the discard port.
        orders_endpoint: "http://127.0.0.1:9".into(),
        ..settings
    })
    .await
    .0
}

async fn site_with(
    stack: &cinema_integration_tests::Stack,
    metrics_addr: Option<std::net::SocketAddr>,
    limits: cinema_web::LimitSettings,
) -> (String, Option<String>) {
    serve(site_settings(stack, metrics_addr, limits)).await
}

fn site_settings(
    stack: &cinema_integration_tests::Stack,
    metrics_addr: Option<std::net::SocketAddr>,
    limits: cinema_web::LimitSettings,
) -> cinema_web::Settings {
    cinema_web::Settings {
        listen_addr: "127.0.0.1:0".parse().expect("addr"),
        movies_endpoint: format!("http://{}", stack.movies.local_addr()),
        orders_endpoint: format!("http://{}", stack.orders.local_addr()),
        public_url: None,
        secure_cookies: false,
        metrics_addr,
        // Each page asks afresh: tests change seats between page views (one test
        // keeps them, below).
        seats_left_cache_ms: 0,
        limits,
    }
}

async fn serve(settings: cinema_web::Settings) -> (String, Option<String>) {
    let app = cinema_web::Application::build(settings)
        .await
        .expect("site builds");
    let url = format!("http://{}", app.local_addr());
    let metrics = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (url, metrics)
}
