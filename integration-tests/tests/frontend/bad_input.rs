//! A bad-input corpus over every rpc of both services, sent as a careless or hostile
//! client would: control characters, megabyte strings, out-of-range numbers, bad
//! timestamps, made-up tokens and ids. Each gets its exact status (never INTERNAL or
//! UNKNOWN), a short message, and changes nothing in either database.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_integration_tests::{
    CALLBACK_TOKEN, MOVIES_ADMIN_TOKEN, ORDERS_ADMIN_TOKEN, Stack, eventually,
};
use movies::movies_admin_service_client::MoviesAdminServiceClient;
use movies::movies_service_client::MoviesServiceClient;
use orders::orders_service_client::OrdersServiceClient;
use orders::product_provider_service_client::ProductProviderServiceClient;
use sqlx::PgPool;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::fixtures::*;

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), Status>> + 'a>>;

/// One megabyte of text: far past every field's limit.
fn huge() -> String {
    "9".repeat(1 << 20)
}

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// Rows in every table of a database, by table name.
async fn row_counts(pool: &PgPool) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut counts = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\""))
            .fetch_one(pool)
            .await
            .expect("count");
        counts.push((table, count));
    }
    counts
}

/// Changes the card's billing address of a PlaceOrder request.
fn billing(f: impl Fn(&mut orders::Address)) -> impl Fn(&mut orders::PlaceOrderRequest) {
    move |r| {
        if let Some(orders::payment::Method::CreditCard(card)) =
            r.payment.as_mut().and_then(|p| p.method.as_mut())
        {
            f(card.billing_address.as_mut().expect("address"));
        }
    }
}

fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy()
}

#[tokio::test]
async fn every_rpc_answers_bad_input_precisely_briefly_and_harmlessly() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let show = showtime(c, &heat.id, &kendall.id, "1", 4).await;
    let placed = c
        .orders()
        .place_order(tickets(&show.product_id, 1))
        .await
        .expect("an order to cancel");
    // Movies registers itself with orders in the background; let it settle first.
    eventually(
        "movies is a registered provider",
        Duration::from_secs(10),
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM providers")
                .fetch_one(stack.orders.pool())
                .await
                .ok()?;
            (n > 0).then_some(())
        },
    )
    .await;

    let public = MoviesServiceClient::new(channel(stack.movies.local_addr()));
    let admin = MoviesAdminServiceClient::new(channel(stack.movies.local_addr()));
    let provider = ProductProviderServiceClient::new(channel(stack.movies.local_addr()));
    let orders_client = OrdersServiceClient::new(channel(stack.orders.local_addr()));

    let showtimes = |f: &dyn Fn(&mut movies::GetShowtimesRequest)| {
        let mut r = movies::GetShowtimesRequest {
            zip_code: Some("02139".into()),
            ..Default::default()
        };
        f(&mut r);
        let mut client = public.clone();
        Box::pin(async move { client.get_showtimes(r).await.map(drop) }) as Call
    };
    let movie_with = |f: &dyn Fn(&mut movies::CreateMovieRequest)| {
        let mut r = movies::CreateMovieRequest {
            name: "Ronin".into(),
            length_minutes: 122,
            rating: movies::Rating::R.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        };
        f(&mut r);
        let mut client = admin.clone();
        Box::pin(async move {
            client
                .create_movie(bearer(r, MOVIES_ADMIN_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let update_movie = |id: &str, synopsis: Option<String>, release_year: Option<u32>| {
        let r = movies::UpdateMovieRequest {
            id: id.to_owned(),
            synopsis,
            release_year,
        };
        let mut client = admin.clone();
        Box::pin(async move {
            client
                .update_movie(bearer(r, MOVIES_ADMIN_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let theatre_with = |f: &dyn Fn(&mut movies::CreateTheatreRequest)| {
        let mut r = movies::CreateTheatreRequest {
            name: "Fenway".into(),
            phone: "+16175550100".into(),
            address: Some(movies::Address {
                line_1: "1 Main St".into(),
                city: "Boston".into(),
                state: "MA".into(),
                zip_code: "02115".into(),
            }),
            auditoriums: vec![movies::Auditorium {
                room: "1".into(),
                seats: 100,
            }],
            ..Default::default()
        };
        f(&mut r);
        let mut client = admin.clone();
        Box::pin(async move {
            client
                .create_theatre(bearer(r, MOVIES_ADMIN_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let showtime_with = |f: &dyn Fn(&mut movies::CreateShowtimeRequest)| {
        let mut r = movies::CreateShowtimeRequest {
            movie_id: heat.id.clone(),
            theatre_id: kendall.id.clone(),
            room: "2".into(),
            start_time: Some(cinema_integration_tests::hours_from_now(30)),
            price_cents: 1000,
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        f(&mut r);
        let mut client = admin.clone();
        Box::pin(async move {
            client
                .create_showtime(bearer(r, MOVIES_ADMIN_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let sold_out_with = |f: &dyn Fn(&mut orders::ProductSoldOutRequest)| {
        let mut r = orders::ProductSoldOutRequest {
            event_id: "e1".into(),
            product_id: show.product_id.clone(),
            external_ref: show.id.clone(),
            occurred_at: None,
            sequence: 1,
        };
        f(&mut r);
        let mut client = provider.clone();
        Box::pin(async move {
            client
                .product_sold_out(bearer(r, CALLBACK_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let order_with = |f: &dyn Fn(&mut orders::PlaceOrderRequest)| {
        let mut r = orders::PlaceOrderRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![orders::OrderItem {
                product_id: show.product_id.clone(),
                quantity: 1,
            }],
            payment: Some(visa()),
            customer: Some(orders::Customer {
                phone: Some("+14155550132".into()),
            }),
            hold_id: String::new(),
        };
        f(&mut r);
        let mut client = orders_client.clone();
        Box::pin(async move { client.place_order(r).await.map(drop) }) as Call
    };
    let product_with = |f: &dyn Fn(&mut orders::AddProductRequest)| {
        let mut r = orders::AddProductRequest {
            description: "Popcorn".into(),
            quantity: 10,
            price_cents: 500,
            ..Default::default()
        };
        f(&mut r);
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .add_product(bearer(r, ORDERS_ADMIN_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let provider_with = |name: String, endpoint: String| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .register_provider(bearer(
                    orders::RegisterProviderRequest {
                        name,
                        callback_endpoint: endpoint,
                    },
                    ORDERS_ADMIN_TOKEN,
                ))
                .await
                .map(drop)
        }) as Call
    };
    let get_movie = |id: String| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .get_movie(movies::GetMovieRequest { id })
                .await
                .map(drop)
        }) as Call
    };
    let get_showtime = |id: String| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .get_showtime(movies::GetShowtimeRequest { id })
                .await
                .map(drop)
        }) as Call
    };
    let get_theatre = |id: String| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .get_theatre(movies::GetTheatreRequest { id })
                .await
                .map(drop)
        }) as Call
    };
    let list_movies = |zip: Option<String>, radius: Option<f64>| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .list_current_movies(movies::ListCurrentMoviesRequest {
                    zip_code: zip,
                    radius_miles: radius,
                    ..Default::default()
                })
                .await
                .map(drop)
        }) as Call
    };
    let theatres_near = |zip: String, radius: Option<f64>| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .list_theatres_near(movies::ListTheatresNearRequest {
                    zip_code: zip,
                    radius_miles: radius,
                })
                .await
                .map(drop)
        }) as Call
    };
    let theatres = |page_size: u32, page_token: String| {
        let mut client = public.clone();
        Box::pin(async move {
            client
                .list_theatres(movies::ListTheatresRequest {
                    page_size,
                    page_token,
                })
                .await
                .map(drop)
        }) as Call
    };
    let get_order = |confirmation: String| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .get_order(orders::GetOrderRequest { confirmation })
                .await
                .map(drop)
        }) as Call
    };
    let cancel = |confirmation: String, request_id: String| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .cancel_order(orders::CancelOrderRequest {
                    confirmation,
                    request_id,
                })
                .await
                .map(drop)
        }) as Call
    };
    let availability = |product_ids: Vec<String>| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .get_availability(orders::GetAvailabilityRequest { product_ids })
                .await
                .map(drop)
        }) as Call
    };
    let hold_with = |f: &dyn Fn(&mut orders::HoldProductsRequest)| {
        let mut r = orders::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![orders::OrderItem {
                product_id: show.product_id.clone(),
                quantity: 1,
            }],
            ttl_seconds: 0,
        };
        f(&mut r);
        let mut client = orders_client.clone();
        Box::pin(async move { client.hold_products(r).await.map(drop) }) as Call
    };
    let get_hold = |hold_id: String| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .get_hold(orders::GetHoldRequest { hold_id })
                .await
                .map(drop)
        }) as Call
    };
    let release_hold = |hold_id: String| {
        let mut client = orders_client.clone();
        Box::pin(async move {
            client
                .release_hold(orders::ReleaseHoldRequest { hold_id })
                .await
                .map(drop)
        }) as Call
    };
    let available_again = |external_ref: String| {
        let mut client = provider.clone();
        let r = orders::ProductAvailableRequest {
            event_id: "e2".into(),
            product_id: show.product_id.clone(),
            external_ref,
            remaining: 1,
            occurred_at: None,
            sequence: 2,
        };
        Box::pin(async move {
            client
                .product_available(bearer(r, CALLBACK_TOKEN))
                .await
                .map(drop)
        }) as Call
    };
    let made_up_token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1:-99999999999999999:1");
    let ts = |seconds: i64, nanos: i32| Some(prost_types::Timestamp { seconds, nanos });
    let future = cinema_integration_tests::hours_from_now(30).seconds;
    use Code::{InvalidArgument as Invalid, NotFound};

    let cases: Vec<(&str, Code, Call)> = vec![
        // MoviesService
        (
            "GetShowtimes NUL zip",
            Invalid,
            showtimes(&|r| r.zip_code = Some("02\x0039".into())),
        ),
        (
            "GetShowtimes blank zip",
            Invalid,
            showtimes(&|r| r.zip_code = Some(" ".into())),
        ),
        (
            "GetShowtimes 1 MB zip",
            Invalid,
            showtimes(&|r| r.zip_code = Some(huge())),
        ),
        (
            "GetShowtimes unknown zip",
            NotFound,
            showtimes(&|r| r.zip_code = Some("99999".into())),
        ),
        (
            "GetShowtimes tiny radius",
            Invalid,
            showtimes(&|r| r.radius_miles = Some(5e-324)),
        ),
        (
            "GetShowtimes NaN radius",
            Invalid,
            showtimes(&|r| r.radius_miles = Some(f64::NAN)),
        ),
        (
            "GetShowtimes huge radius",
            Invalid,
            showtimes(&|r| r.radius_miles = Some(1e308)),
        ),
        (
            "GetShowtimes made-up page token",
            Invalid,
            showtimes(&|r| r.page_token = made_up_token.clone()),
        ),
        (
            "GetShowtimes 1 MB page token",
            Invalid,
            showtimes(&|r| r.page_token = huge()),
        ),
        (
            "GetShowtimes page size",
            Invalid,
            showtimes(&|r| r.page_size = u32::MAX),
        ),
        (
            "GetShowtimes negative theatre id",
            Invalid,
            showtimes(&|r| r.theatre_ids = vec!["-1".into()]),
        ),
        (
            "GetShowtimes NUL movie id",
            Invalid,
            showtimes(&|r| r.movie_ids = vec!["1\0".into()]),
        ),
        (
            "GetShowtimes 1 MB movie id",
            Invalid,
            showtimes(&|r| r.movie_ids = vec![huge()]),
        ),
        (
            "GetShowtimes too many ids",
            Invalid,
            showtimes(&|r| r.movie_ids = (1..=501).map(|i| i.to_string()).collect()),
        ),
        (
            "ListCurrentMovies NUL zip",
            Invalid,
            list_movies(Some("\0".into()), None),
        ),
        (
            "ListCurrentMovies radius alone",
            Invalid,
            list_movies(None, Some(5.0)),
        ),
        (
            "ListCurrentMovies zero radius",
            Invalid,
            list_movies(Some("02139".into()), Some(0.0)),
        ),
        (
            "ListTheatresNear empty zip",
            Invalid,
            theatres_near(String::new(), None),
        ),
        (
            "ListTheatresNear NUL zip",
            Invalid,
            theatres_near("0213\0".into(), None),
        ),
        (
            "ListTheatresNear 1 MB zip",
            Invalid,
            theatres_near(huge(), None),
        ),
        (
            "ListTheatresNear NaN radius",
            Invalid,
            theatres_near("02139".into(), Some(f64::NAN)),
        ),
        (
            "ListTheatres huge page",
            Invalid,
            theatres(u32::MAX, String::new()),
        ),
        (
            "ListTheatres made-up token",
            Invalid,
            theatres(0, "bm90IGEgdG9rZW4".into()),
        ),
        ("ListTheatres 1 MB token", Invalid, theatres(0, huge())),
        ("GetMovie empty id", Invalid, get_movie(String::new())),
        ("GetMovie NUL id", Invalid, get_movie("\0".into())),
        ("GetMovie 1 MB id", Invalid, get_movie(huge())),
        (
            "GetMovie overflowing id",
            Invalid,
            get_movie("99999999999999999999".into()),
        ),
        ("GetMovie unknown id", NotFound, get_movie("424242".into())),
        ("GetShowtime signed id", Invalid, get_showtime("+1".into())),
        (
            "GetShowtime unknown id",
            NotFound,
            get_showtime("424242".into()),
        ),
        ("GetTheatre spaced id", Invalid, get_theatre(" 1".into())),
        (
            "GetTheatre unknown id",
            NotFound,
            get_theatre("424242".into()),
        ),
        // MoviesAdminService
        (
            "CreateMovie NUL name",
            Invalid,
            movie_with(&|r| r.name = "Ro\0nin".into()),
        ),
        (
            "CreateMovie escape in name",
            Invalid,
            movie_with(&|r| r.name = "Ro\x1b[31mnin".into()),
        ),
        (
            "CreateMovie 1 MB name",
            Invalid,
            movie_with(&|r| r.name = huge()),
        ),
        (
            "CreateMovie zero length",
            Invalid,
            movie_with(&|r| r.length_minutes = 0),
        ),
        (
            "CreateMovie huge length",
            Invalid,
            movie_with(&|r| r.length_minutes = u32::MAX),
        ),
        (
            "CreateMovie unknown rating",
            Invalid,
            movie_with(&|r| r.rating = 99),
        ),
        (
            "CreateMovie 1 MB synopsis",
            Invalid,
            movie_with(&|r| r.synopsis = huge()),
        ),
        (
            "CreateMovie escape in synopsis",
            Invalid,
            movie_with(&|r| r.synopsis = "A heist\x1b[2J.".into()),
        ),
        (
            "UpdateMovie 1 MB synopsis",
            Invalid,
            update_movie(&heat.id, Some(huge()), None),
        ),
        (
            "UpdateMovie NUL in synopsis",
            Invalid,
            update_movie(&heat.id, Some("A he\0ist.".into()), None),
        ),
        (
            "CreateMovie year before films",
            Invalid,
            movie_with(&|r| r.release_year = 1500),
        ),
        (
            "UpdateMovie year 30000",
            Invalid,
            update_movie(&heat.id, None, Some(30_000)),
        ),
        (
            "UpdateMovie signed id",
            Invalid,
            update_movie("+1", Some("A heist.".into()), None),
        ),
        (
            "UpdateMovie unknown id",
            NotFound,
            update_movie("424242", Some("A heist.".into()), None),
        ),
        (
            "CreateTheatre NUL name",
            Invalid,
            theatre_with(&|r| r.name = "Fen\0way".into()),
        ),
        (
            "CreateTheatre doubled plus phone",
            Invalid,
            theatre_with(&|r| r.phone = "++16175550100".into()),
        ),
        (
            "CreateTheatre bell in phone",
            Invalid,
            theatre_with(&|r| r.phone = "\x07+16175550100".into()),
        ),
        (
            "CreateTheatre 1 MB phone",
            Invalid,
            theatre_with(&|r| r.phone = huge()),
        ),
        (
            "CreateTheatre NUL line_1",
            Invalid,
            theatre_with(&|r| r.address.as_mut().expect("a").line_1 = "1\0".into()),
        ),
        (
            "CreateTheatre NUL city",
            Invalid,
            theatre_with(&|r| r.address.as_mut().expect("a").city = "Bos\0ton".into()),
        ),
        (
            "CreateTheatre NUL state",
            Invalid,
            theatre_with(&|r| r.address.as_mut().expect("a").state = "M\0".into()),
        ),
        (
            "CreateTheatre unknown zip",
            NotFound,
            theatre_with(&|r| r.address.as_mut().expect("a").zip_code = "99999".into()),
        ),
        (
            "CreateTheatre NUL room",
            Invalid,
            theatre_with(&|r| r.auditoriums[0].room = "1\0".into()),
        ),
        (
            "CreateTheatre NaN latitude",
            Invalid,
            theatre_with(&|r| {
                r.latitude = Some(f64::NAN);
                r.longitude = Some(0.0);
            }),
        ),
        (
            "CreateTheatre unknown time zone",
            Invalid,
            theatre_with(&|r| r.time_zone = Some("Mars/Olympus_Mons".into())),
        ),
        (
            "CreateTheatre NUL time zone",
            Invalid,
            theatre_with(&|r| r.time_zone = Some("America/New_York\0".into())),
        ),
        (
            "CreateShowtime nanos too big",
            Invalid,
            showtime_with(&|r| r.start_time = ts(future, 1_500_000_000)),
        ),
        (
            "CreateShowtime negative nanos",
            Invalid,
            showtime_with(&|r| r.start_time = ts(future, -1)),
        ),
        (
            "CreateShowtime absurd seconds",
            Invalid,
            showtime_with(&|r| r.start_time = ts(i64::MAX, 0)),
        ),
        (
            "CreateShowtime past",
            Invalid,
            showtime_with(&|r| r.start_time = ts(0, 0)),
        ),
        (
            "CreateShowtime NUL room",
            Invalid,
            showtime_with(&|r| r.room = "2\0".into()),
        ),
        (
            "CreateShowtime NUL request id",
            Invalid,
            showtime_with(&|r| r.request_id = "abc\0".into()),
        ),
        (
            "CreateShowtime 1 MB request id",
            Invalid,
            showtime_with(&|r| r.request_id = huge()),
        ),
        (
            "CreateShowtime negative price",
            Invalid,
            showtime_with(&|r| r.price_cents = -1),
        ),
        (
            "CreateShowtime unknown movie",
            NotFound,
            showtime_with(&|r| r.movie_id = "424242".into()),
        ),
        // ProductProviderService (at movies)
        (
            "ProductSoldOut NUL ref",
            Invalid,
            sold_out_with(&|r| r.external_ref = "1\0".into()),
        ),
        (
            "ProductSoldOut 1 MB ref",
            Invalid,
            sold_out_with(&|r| r.external_ref = huge()),
        ),
        (
            "ProductSoldOut unknown showtime",
            NotFound,
            sold_out_with(&|r| r.external_ref = "424242".into()),
        ),
        (
            "ProductAvailable NUL ref",
            Invalid,
            available_again("1\0".into()),
        ),
        (
            "ProductAvailable unknown showtime",
            NotFound,
            available_again("424242".into()),
        ),
        // OrdersService
        (
            "HoldProducts NUL request id",
            Invalid,
            hold_with(&|r| r.request_id = "h\0".into()),
        ),
        (
            "HoldProducts 1 MB request id",
            Invalid,
            hold_with(&|r| r.request_id = huge()),
        ),
        (
            "HoldProducts no items",
            Invalid,
            hold_with(&|r| r.items.clear()),
        ),
        (
            "HoldProducts zero quantity",
            Invalid,
            hold_with(&|r| r.items[0].quantity = 0),
        ),
        (
            "HoldProducts too long",
            Invalid,
            hold_with(&|r| r.ttl_seconds = u32::MAX),
        ),
        (
            "HoldProducts unknown product",
            NotFound,
            hold_with(&|r| r.items[0].product_id = "424242".into()),
        ),
        (
            "HoldProducts more than left",
            Code::ResourceExhausted,
            hold_with(&|r| r.items[0].quantity = 10_000),
        ),
        ("GetHold NUL id", Invalid, get_hold("\0".into())),
        ("GetHold 1 MB id", Invalid, get_hold(huge())),
        (
            "GetHold unknown",
            NotFound,
            get_hold(uuid::Uuid::new_v4().to_string()),
        ),
        (
            "ReleaseHold bad id",
            Invalid,
            release_hold("not-a-hold".into()),
        ),
        (
            "ReleaseHold unknown",
            NotFound,
            release_hold(uuid::Uuid::new_v4().to_string()),
        ),
        (
            "PlaceOrder hold and items",
            Invalid,
            order_with(&|r| r.hold_id = uuid::Uuid::new_v4().to_string()),
        ),
        (
            "PlaceOrder unknown hold",
            NotFound,
            order_with(&|r| {
                r.items.clear();
                r.hold_id = uuid::Uuid::new_v4().to_string();
            }),
        ),
        (
            "PlaceOrder 1 MB hold id",
            Invalid,
            order_with(&|r| {
                r.items.clear();
                r.hold_id = huge();
            }),
        ),
        (
            "RegisterProvider NUL name",
            Invalid,
            provider_with("mov\0ies".into(), "http://x:1".into()),
        ),
        (
            "RegisterProvider NUL endpoint",
            Invalid,
            provider_with("other".into(), "http://x:1/\0".into()),
        ),
        (
            "RegisterProvider 1 MB endpoint",
            Invalid,
            provider_with("other".into(), format!("http://{}", huge())),
        ),
        (
            "AddProduct NUL description",
            Invalid,
            product_with(&|r| r.description = "Pop\0corn".into()),
        ),
        (
            "AddProduct 1 MB description",
            Invalid,
            product_with(&|r| r.description = huge()),
        ),
        (
            "AddProduct negative quantity",
            Invalid,
            product_with(&|r| r.quantity = -1),
        ),
        (
            "AddProduct negative price",
            Invalid,
            product_with(&|r| r.price_cents = i64::MIN),
        ),
        (
            "AddProduct bad provider id",
            Invalid,
            product_with(&|r| r.provider_id = Some("abc".into())),
        ),
        (
            "AddProduct unknown provider",
            NotFound,
            product_with(&|r| {
                r.provider_id = Some("424242".into());
                r.external_ref = Some("x".into());
            }),
        ),
        (
            "AddProduct admission ending before it starts",
            Invalid,
            product_with(&|r| {
                r.admission_start = Some(prost_types::Timestamp {
                    seconds: 1_800_000_000,
                    nanos: 0,
                });
                r.admission_end = Some(prost_types::Timestamp {
                    seconds: 1_799_999_999,
                    nanos: 0,
                });
            }),
        ),
        (
            "AddProduct NUL external ref",
            Invalid,
            product_with(&|r| {
                r.provider_id = Some("1".into());
                r.external_ref = Some("x\0".into());
            }),
        ),
        (
            "PlaceOrder doubled plus phone",
            Invalid,
            order_with(&|r| {
                r.customer = Some(orders::Customer {
                    phone: Some("++14155550132".into()),
                })
            }),
        ),
        (
            "PlaceOrder bell in phone",
            Invalid,
            order_with(&|r| {
                r.customer = Some(orders::Customer {
                    phone: Some("\x07+14155550132".into()),
                })
            }),
        ),
        (
            "PlaceOrder 1 MB phone",
            Invalid,
            order_with(&|r| {
                r.customer = Some(orders::Customer {
                    phone: Some(huge()),
                })
            }),
        ),
        (
            "PlaceOrder 1 MB request id",
            Invalid,
            order_with(&|r| r.request_id = huge()),
        ),
        (
            "PlaceOrder NUL line_1",
            Invalid,
            order_with(&billing(|a: &mut orders::Address| {
                a.line_1 = "77 Mass\0 Ave".into()
            })),
        ),
        (
            "PlaceOrder NUL line_2",
            Invalid,
            order_with(&billing(|a: &mut orders::Address| a.line_2 = "\0".into())),
        ),
        (
            "PlaceOrder NUL city",
            Invalid,
            order_with(&billing(|a: &mut orders::Address| {
                a.city = "Cam\0bridge".into()
            })),
        ),
        (
            "PlaceOrder 1 MB city",
            Invalid,
            order_with(&billing(|a: &mut orders::Address| a.city = huge())),
        ),
        (
            "PlaceOrder unknown billing zip",
            Invalid,
            order_with(&billing(|a: &mut orders::Address| {
                a.zip_code = "99999".into()
            })),
        ),
        (
            "PlaceOrder 1 MB product id",
            Invalid,
            order_with(&|r| r.items[0].product_id = huge()),
        ),
        (
            "PlaceOrder zero quantity",
            Invalid,
            order_with(&|r| r.items[0].quantity = 0),
        ),
        (
            "PlaceOrder huge quantity",
            Invalid,
            order_with(&|r| r.items[0].quantity = i64::MAX),
        ),
        (
            "PlaceOrder unknown product",
            NotFound,
            order_with(&|r| r.items[0].product_id = "424242".into()),
        ),
        (
            "PlaceOrder 1 MB card number",
            Invalid,
            order_with(&|r| {
                if let Some(orders::payment::Method::CreditCard(card)) =
                    r.payment.as_mut().and_then(|p| p.method.as_mut())
                {
                    card.number = huge();
                }
            }),
        ),
        (
            "PlaceOrder NUL PayPal email",
            Invalid,
            order_with(&|r| {
                r.payment = Some(orders::Payment {
                    method: Some(orders::payment::Method::Paypal(orders::PayPal {
                        email: "jo\0@example.com".into(),
                    })),
                })
            }),
        ),
        (
            "PlaceOrder NUL promotion",
            Invalid,
            order_with(&|r| {
                r.payment = Some(orders::Payment {
                    method: Some(orders::payment::Method::Promotion(orders::Promotion {
                        code: "FREE\0".into(),
                    })),
                })
            }),
        ),
        (
            "PlaceOrder no payment",
            Invalid,
            order_with(&|r| r.payment = None),
        ),
        (
            "GetOrder NUL confirmation",
            Invalid,
            get_order("ABC\0DEFGH".into()),
        ),
        ("GetOrder 1 MB confirmation", Invalid, get_order(huge())),
        ("GetOrder unknown", NotFound, get_order("ABCDEFGHJK".into())),
        (
            "GetAvailability NUL id",
            Invalid,
            availability(vec!["\0".into()]),
        ),
        (
            "GetAvailability too many",
            Invalid,
            availability((1..=1001).map(|i| i.to_string()).collect()),
        ),
        (
            "CancelOrder NUL confirmation",
            Invalid,
            cancel("\0".into(), "r1".into()),
        ),
        (
            "CancelOrder NUL request id",
            Invalid,
            cancel(placed.confirmation.clone(), "r\0".into()),
        ),
        (
            "CancelOrder unknown",
            NotFound,
            cancel("ABCDEFGHJK".into(), "r1".into()),
        ),
    ];

    let movies_before = row_counts(stack.movies.pool()).await;
    let orders_before = row_counts(stack.orders.pool()).await;
    let total = cases.len();
    let mut undescribed = Vec::new();
    for (name, expected, call) in cases {
        let status = call.await.expect_err(name);
        assert_eq!(status.code(), expected, "{name}: {status:?}");
        assert!(
            status.message().len() < 1024,
            "{name}: a {}-byte message",
            status.message().len()
        );
        assert!(!status.message().is_empty(), "{name}: an empty message");
        // Machine-readable too: the error contract's reason, and the field or the
        // resource it is about.
        let details = cinema_proto::error::Details::of(&status);
        let named = match expected {
            Invalid => details.violations.iter().any(|v| !v.field.is_empty()),
            NotFound => details.resource.is_some(),
            _ => true,
        };
        if details.reason.is_none() || !named {
            undescribed.push(format!("{name}: {details:?}"));
        }
    }
    assert_eq!(
        row_counts(stack.movies.pool()).await,
        movies_before,
        "movies changed"
    );
    assert_eq!(
        row_counts(stack.orders.pool()).await,
        orders_before,
        "orders changed"
    );
    // Nor did a refused update change what it was refused for.
    let heat_now = c.movies().get_movie(&heat.id).await.expect("the movie");
    assert_eq!((heat_now.movie, heat_now.synopsis), (heat, None));
    assert!(total >= 100, "{total} cases");
    assert!(
        undescribed.is_empty(),
        "statuses without the error contract's reason, BadRequest field or ResourceInfo:\n{}",
        undescribed.join("\n")
    );
    stack.stop().await.expect("stop");
}
