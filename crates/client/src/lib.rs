//! The front-end's view of Cinema: typed clients for the movies and orders services,
//! one error type, and façade methods that regroup the one generic `GetShowtimes`
//! result client-side (by theatre, by movie) without new server calls.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cinema_client::ClientError> {
//! use cinema_client::{Cinema, ClientConfig, Near};
//! let cinema = Cinema::connect(ClientConfig::new("http://127.0.0.1:50051", "http://127.0.0.1:50052"))?;
//! for theatre in cinema.showtimes_for_movie_near("1", &Near::zip("02139")).await? {
//!     println!("{}: {} showtimes", theatre.theatre.name, theatre.showtimes.len());
//! }
//! # Ok(()) }
//! ```
//!
//! Every call has a deadline. Reads, and writes that carry a request id (`PlaceOrder`,
//! `CancelOrder`, `CreateShowtime`; the client generates the id), are retried on
//! UNAVAILABLE with exponential backoff: retrying them cannot do anything twice.

pub mod balance;
mod error;
pub mod facade;

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use cinema_proto::movies::v1 as movies;
use cinema_proto::movies::v1::movies_admin_service_client::MoviesAdminServiceClient;
use cinema_proto::movies::v1::movies_service_client::MoviesServiceClient;
use cinema_proto::orders::v1 as orders;
use cinema_proto::orders::v1::orders_admin_service_client::OrdersAdminServiceClient;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use secrecy::{ExposeSecret, SecretString};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

/// The wire types, for building requests and reading answers.
pub use cinema_proto::{movies::v1 as movies_pb, orders::v1 as orders_pb};
pub use error::{ClientError, ErrorKind, Failure, FieldViolation, Reason, Resource};
pub use facade::{Elsewhere, MovieShowtimes, Near, Showtime, TheatreShowtimes};

/// The most tickets a moviegoer buys in one checkout, on every front-end (the website
/// and the `cinema` CLI). A box-office rule, not the orders service's: that service is
/// generic and takes up to 10,000 units of a product in one line.
pub const MAX_TICKETS_PER_PURCHASE: i64 = 10;

/// How far ahead the listings look: `GetShowtimes` lists the showtimes that start
/// within the next 14 days (its contract says so), and the sold-out showings pages
/// add to them are those of the same days.
pub const LISTED_DAYS: u32 = 14;

/// How many of the theatres near a ZIP code a listing near it looks at for sold-out
/// showings, nearest first: a search of 100 miles in a city must not ask for
/// hundreds of theatres' schedules.
pub const SOLD_OUT_THEATRES: usize = 25;

/// Where the services are and how to talk to them.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where each service is: `http://host:port`, a comma-separated list of those, or
    /// `dns:///host:port` for every address of a name (see [`balance`]).
    pub movies_endpoint: String,
    pub orders_endpoint: String,
    /// Deadline of every call.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// TLS for both services; `None` for plaintext (local development).
    pub tls: Option<ClientTlsConfig>,
    /// The movies admin token, needed for `admin()` calls.
    pub movies_admin_token: Option<SecretString>,
    /// The orders admin token, needed for `orders().add_product`.
    pub orders_admin_token: Option<SecretString>,
    /// Retries after the first attempt, for calls that are safe to retry.
    pub retries: usize,
    /// Adds to every call's metadata, e.g. the caller's trace context
    /// (`cinema_service::telemetry::inject_trace_context`), so a front-end's request
    /// and the calls it makes are one trace.
    pub call_metadata: Option<fn(&mut tonic::metadata::MetadataMap)>,
}

impl ClientConfig {
    pub fn new(movies_endpoint: impl Into<String>, orders_endpoint: impl Into<String>) -> Self {
        Self {
            movies_endpoint: movies_endpoint.into(),
            orders_endpoint: orders_endpoint.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            tls: None,
            movies_admin_token: None,
            orders_admin_token: None,
            retries: 3,
            call_metadata: None,
        }
    }

    /// A channel to one service: one address, a comma-separated list, or
    /// `dns:///host:port` (see [`balance`]), each server reached with this config's
    /// deadlines and TLS. Lazy: a service that is down now is tried on each call.
    fn channel(&self, spec: &str) -> Result<Channel, ClientError> {
        let (timeout, connect_timeout, tls) =
            (self.timeout, self.connect_timeout, self.tls.clone());
        balance::channel(spec, move |endpoint: Endpoint| {
            let endpoint = endpoint.timeout(timeout).connect_timeout(connect_timeout);
            match &tls {
                Some(tls) => endpoint
                    .tls_config(tls.clone())
                    .map_err(|e| format!("TLS configuration: {e}")),
                None => Ok(endpoint),
            }
        })
        .map_err(ClientError::invalid_input)
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_jitter()
            .with_max_times(self.retries)
    }
}

/// What every call of a client carries: `authorization: Bearer <token>` for the admin
/// clients, and whatever the configured hook adds (the caller's trace).
#[derive(Debug, Clone)]
pub struct CallMetadata {
    bearer: Option<AsciiMetadataValue>,
    hook: Option<fn(&mut tonic::metadata::MetadataMap)>,
}

impl CallMetadata {
    fn new(token: Option<&SecretString>, config: &ClientConfig) -> Self {
        Self {
            bearer: token.and_then(|t| format!("Bearer {}", t.expose_secret()).parse().ok()),
            hook: config.call_metadata,
        }
    }
}

impl tonic::service::Interceptor for CallMetadata {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.bearer {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        if let Some(hook) = self.hook {
            hook(request.metadata_mut());
        }
        Ok(request)
    }
}

/// A generated client behind [`CallMetadata`].
type With<C> = InterceptedService<C, CallMetadata>;

/// Runs `call`, retrying it with `backoff` while it fails with a retryable error.
async fn retrying<T, F, Fut>(
    backoff: ExponentialBuilder,
    what: &'static str,
    call: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let mut call = call;
    (|| {
        let attempt = call();
        async move { attempt.await.map_err(ClientError::from) }
    })
    .retry(backoff)
    .when(ClientError::is_retryable)
    .notify(|error, delay| tracing::debug!(call = what, %error, ?delay, "retrying"))
    .await
}

/// The message a response wraps; a response without it is the server's mistake.
fn required<T>(field: Option<T>, what: &str) -> Result<T, ClientError> {
    field.ok_or_else(|| ClientError::Inconsistent(format!("the response has no {what}")))
}

/// Runs `call` once.
async fn once<T>(call: impl Future<Output = Result<T, Status>>) -> Result<T, ClientError> {
    call.await.map_err(ClientError::from)
}

/// Both services, through one entry point.
#[derive(Debug, Clone)]
pub struct Cinema {
    movies: MoviesClient,
    admin: AdminClient,
    orders: OrdersClient,
}

impl Cinema {
    /// Prepares connections to both services; nothing is dialled until the first call.
    pub fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let movies_channel = config.channel(&config.movies_endpoint)?;
        let orders_channel = config.channel(&config.orders_endpoint)?;
        let backoff = config.backoff();
        Ok(Self {
            movies: MoviesClient {
                inner: MoviesServiceClient::with_interceptor(
                    movies_channel.clone(),
                    CallMetadata::new(None, &config),
                ),
                backoff,
            },
            admin: AdminClient {
                inner: MoviesAdminServiceClient::with_interceptor(
                    movies_channel,
                    CallMetadata::new(config.movies_admin_token.as_ref(), &config),
                ),
                backoff,
            },
            orders: OrdersClient {
                inner: OrdersServiceClient::with_interceptor(
                    orders_channel.clone(),
                    CallMetadata::new(None, &config),
                ),
                admin: OrdersServiceClient::with_interceptor(
                    orders_channel.clone(),
                    CallMetadata::new(config.orders_admin_token.as_ref(), &config),
                ),
                outbox: OrdersAdminServiceClient::with_interceptor(
                    orders_channel,
                    CallMetadata::new(config.orders_admin_token.as_ref(), &config),
                ),
                backoff,
            },
        })
    }

    pub fn movies(&self) -> &MoviesClient {
        &self.movies
    }

    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    pub fn orders(&self) -> &OrdersClient {
        &self.orders
    }

    /// The theatres showing `movie_id` near a ZIP code, nearest first, each with its
    /// showtimes.
    pub async fn showtimes_for_movie_near(
        &self,
        movie_id: &str,
        near: &Near,
    ) -> Result<Vec<TheatreShowtimes>, ClientError> {
        let result = self
            .movies
            .all_showtimes(movies::GetShowtimesRequest {
                zip_code: Some(near.zip.clone()),
                radius_miles: near.radius_miles,
                movie_ids: vec![movie_id.to_owned()],
                ..Default::default()
            })
            .await?;
        facade::group_by_theatre(result)
    }

    /// Where a movie is playing anywhere, for when nothing is near: the theatres of its
    /// soonest showtimes on sale, by name (one page of showtimes, so on a national
    /// catalogue some of the theatres, not all); or that every showing of it is sold
    /// out (a premiere), or that it is playing nowhere.
    pub async fn theatres_showing(&self, movie_id: &str) -> Result<Elsewhere, ClientError> {
        let page = self
            .movies
            .get_showtimes(movies::GetShowtimesRequest {
                movie_ids: vec![movie_id.to_owned()],
                page_size: 100,
                ..Default::default()
            })
            .await?;
        if !page.theatres.is_empty() {
            return Ok(Elsewhere::At(page.theatres));
        }
        // The listings leave sold-out showings out: asked apart, and only here.
        let playing = self.playing_movies(None).await?;
        Ok(if playing.iter().any(|p| p.movie.id == movie_id) {
            Elsewhere::SoldOut
        } else {
            Elsewhere::Nowhere
        })
    }

    /// The movies at one theatre, by name, each with its showtimes.
    pub async fn showtimes_at_theatre(
        &self,
        theatre_id: &str,
    ) -> Result<Vec<MovieShowtimes>, ClientError> {
        let result = self
            .movies
            .all_showtimes(movies::GetShowtimesRequest {
                theatre_ids: vec![theatre_id.to_owned()],
                ..Default::default()
            })
            .await?;
        facade::group_by_movie(result)
    }

    /// The showings at a theatre on `day` of its calendar (`None`: on any day the
    /// listings cover) that are sold out, neither cancelled nor started at `now`: what
    /// the listings leave out, and a theatre's page shows as sold out rather than as a
    /// time it does not have.
    pub async fn sold_out_at_theatre(
        &self,
        theatre_id: &str,
        day: Option<chrono::NaiveDate>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<facade::Showtime>, ClientError> {
        let listed_until = now + chrono::Duration::days(LISTED_DAYS.into());
        let schedule = self
            .movies
            .get_theatre_schedule(movies::GetTheatreScheduleRequest {
                theatre_id: theatre_id.to_owned(),
                date: day.map(|d| d.to_string()).unwrap_or_default(),
                // From today there, the calendar days the listings reach into.
                days: if day.is_some() { 1 } else { LISTED_DAYS + 1 },
                sold_out_only: true,
            })
            .await?;
        let result = movies::GetShowtimesResponse {
            movies: schedule.movies,
            theatres: schedule.theatre.into_iter().collect(),
            showtimes: schedule
                .showtimes
                .into_iter()
                .filter(|s| s.sold_out && s.cancelled_at.is_none())
                .filter_map(|s| s.showtime)
                .collect(),
            next_page_token: String::new(),
        };
        let mut sold_out = facade::resolve(result)?;
        sold_out.retain(|s| s.start_time > now && s.start_time < listed_until);
        Ok(sold_out)
    }

    /// For a home page: the movies with current showtimes near a ZIP code (everywhere
    /// when `None`), by name.
    pub async fn current_movies(
        &self,
        near: Option<&Near>,
    ) -> Result<Vec<movies::Movie>, ClientError> {
        self.movies.list_current_movies(near).await
    }

    /// For a home page or a site map: the movies playing near a ZIP code (everywhere
    /// when `None`), by name, with those whose every showing there is sold out, said so.
    pub async fn playing_movies(
        &self,
        near: Option<&Near>,
    ) -> Result<Vec<facade::Playing>, ClientError> {
        self.movies
            .list_playing_movies(near)
            .await
            .map(facade::playing)
    }

    /// The seats left for each of `showtimes` (by product id), asked of the orders
    /// service in as few calls as its limit allows: what a listing of showtimes shows
    /// beside each.
    pub async fn seats_left<'a>(
        &self,
        showtimes: impl IntoIterator<Item = &'a facade::Showtime>,
    ) -> Result<std::collections::HashMap<String, i64>, ClientError> {
        let mut products: Vec<&str> = showtimes
            .into_iter()
            .map(|s| s.product_id.as_str())
            .collect();
        products.sort_unstable();
        products.dedup();
        let mut left = std::collections::HashMap::with_capacity(products.len());
        for chunk in products.chunks(MAX_AVAILABILITY_PRODUCTS) {
            let found = self.orders.availability(chunk).await?;
            left.extend(found.into_iter().map(|p| (p.product_id, p.available)));
        }
        Ok(left)
    }

    /// For a home page: the theatres near a ZIP code, nearest first, each with its
    /// distance.
    pub async fn theatres_near(&self, near: &Near) -> Result<Vec<movies::Theatre>, ClientError> {
        self.movies
            .list_theatres_near(&near.zip, near.radius_miles)
            .await
    }
}

/// The public `MoviesService`.
#[derive(Debug, Clone)]
pub struct MoviesClient {
    inner: MoviesServiceClient<With<Channel>>,
    backoff: ExponentialBuilder,
}

/// A movie with what only its own page shows (GetMovie); listings name [`movies::Movie`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieDetails {
    pub movie: movies::Movie,
    /// What it is about, a paragraph; `None` when the catalogue has none.
    pub synopsis: Option<String>,
}

impl MovieDetails {
    /// From GetMovie's or UpdateMovie's answer, where an empty synopsis is none.
    fn new(movie: Option<movies::Movie>, synopsis: String) -> Result<Self, ClientError> {
        Ok(Self {
            movie: required(movie, "movie")?,
            synopsis: Some(synopsis).filter(|s| !s.is_empty()),
        })
    }
}

/// GetAvailability's and GetSales' limit on products per call.
const MAX_AVAILABILITY_PRODUCTS: usize = 1000;

/// At most this many pages are fetched by `all_showtimes` and `all_theatres` (500 each).
const MAX_PAGES: usize = 40;

impl MoviesClient {
    /// One page of showtimes.
    pub async fn get_showtimes(
        &self,
        request: movies::GetShowtimesRequest,
    ) -> Result<movies::GetShowtimesResponse, ClientError> {
        retrying(self.backoff, "GetShowtimes", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_showtimes(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    /// Every page of showtimes, merged into one normalized result.
    pub async fn all_showtimes(
        &self,
        mut request: movies::GetShowtimesRequest,
    ) -> Result<movies::GetShowtimesResponse, ClientError> {
        request.page_size = 500;
        let mut all = movies::GetShowtimesResponse::default();
        for _ in 0..MAX_PAGES {
            let page = self.get_showtimes(request.clone()).await?;
            for movie in page.movies {
                if !all.movies.iter().any(|m| m.id == movie.id) {
                    all.movies.push(movie);
                }
            }
            for theatre in page.theatres {
                if !all.theatres.iter().any(|t| t.id == theatre.id) {
                    all.theatres.push(theatre);
                }
            }
            all.showtimes.extend(page.showtimes);
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            request.page_token = page.next_page_token;
        }
        Err(ClientError::Inconsistent(format!(
            "more than {MAX_PAGES} pages of showtimes: narrow the search"
        )))
    }

    pub async fn list_current_movies(
        &self,
        near: Option<&Near>,
    ) -> Result<Vec<movies::Movie>, ClientError> {
        self.movies_playing(near, false).await.map(|r| r.movies)
    }

    /// The current movies with those sold out (`include_sold_out`), and which these are.
    pub async fn list_playing_movies(
        &self,
        near: Option<&Near>,
    ) -> Result<movies::ListCurrentMoviesResponse, ClientError> {
        self.movies_playing(near, true).await
    }

    async fn movies_playing(
        &self,
        near: Option<&Near>,
        include_sold_out: bool,
    ) -> Result<movies::ListCurrentMoviesResponse, ClientError> {
        let request = movies::ListCurrentMoviesRequest {
            zip_code: near.map(|n| n.zip.clone()),
            radius_miles: near.and_then(|n| n.radius_miles),
            include_sold_out,
        };
        retrying(self.backoff, "ListCurrentMovies", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .list_current_movies(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    /// The movie with its synopsis: what its own page shows.
    pub async fn get_movie(&self, id: &str) -> Result<MovieDetails, ClientError> {
        let request = movies::GetMovieRequest { id: id.to_owned() };
        retrying(self.backoff, "GetMovie", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_movie(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| MovieDetails::new(r.movie, r.synopsis))
    }

    /// One showtime with its movie and theatre, and whether it is sold out.
    pub async fn get_showtime(&self, id: &str) -> Result<movies::GetShowtimeResponse, ClientError> {
        let request = movies::GetShowtimeRequest { id: id.to_owned() };
        retrying(self.backoff, "GetShowtime", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_showtime(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    pub async fn get_theatre(&self, id: &str) -> Result<movies::Theatre, ClientError> {
        let request = movies::GetTheatreRequest { id: id.to_owned() };
        retrying(self.backoff, "GetTheatre", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_theatre(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.theatre, "theatre"))
    }

    /// Every showtime of a theatre on one day of its calendar, or on a few, those sold
    /// out, cancelled or started included (or only those sold out).
    pub async fn get_theatre_schedule(
        &self,
        request: movies::GetTheatreScheduleRequest,
    ) -> Result<movies::GetTheatreScheduleResponse, ClientError> {
        retrying(self.backoff, "GetTheatreSchedule", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_theatre_schedule(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    /// The theatres within `radius_miles` (default 15) of `zip`, nearest first.
    pub async fn list_theatres_near(
        &self,
        zip: &str,
        radius_miles: Option<f64>,
    ) -> Result<Vec<movies::Theatre>, ClientError> {
        let request = movies::ListTheatresNearRequest {
            zip_code: zip.to_owned(),
            radius_miles,
        };
        retrying(self.backoff, "ListTheatresNear", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .list_theatres_near(request)
                    .await
                    .map(|r| r.into_inner().theatres)
            }
        })
        .await
    }

    /// One page of every theatre, by id: from the start with an empty `page_token`.
    pub async fn list_theatres(
        &self,
        page_size: u32,
        page_token: &str,
    ) -> Result<movies::ListTheatresResponse, ClientError> {
        let request = movies::ListTheatresRequest {
            page_size,
            page_token: page_token.to_owned(),
        };
        retrying(self.backoff, "ListTheatres", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move { client.list_theatres(request).await.map(|r| r.into_inner()) }
        })
        .await
    }

    /// Every theatre, by id, page after page (a national catalogue is some thousands).
    pub async fn all_theatres(&self) -> Result<Vec<movies::Theatre>, ClientError> {
        let mut all = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let page = self.list_theatres(500, &token).await?;
            all.extend(page.theatres);
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            token = page.next_page_token;
        }
        Err(ClientError::Inconsistent(format!(
            "more than {MAX_PAGES} pages of theatres"
        )))
    }
}

/// `MoviesAdminService`: every call carries the movies admin token.
#[derive(Debug, Clone)]
pub struct AdminClient {
    inner: MoviesAdminServiceClient<With<Channel>>,
    backoff: ExponentialBuilder,
}

impl AdminClient {
    /// Retried safely: the request id (generated when empty) makes it idempotent.
    pub async fn create_movie(
        &self,
        mut request: movies::CreateMovieRequest,
    ) -> Result<movies::Movie, ClientError> {
        if request.request_id.is_empty() {
            request.request_id = uuid::Uuid::new_v4().to_string();
        }
        retrying(self.backoff, "CreateMovie", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .create_movie(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.movie, "movie"))
    }

    /// Retried safely: setting a value twice is setting it once.
    pub async fn update_movie(
        &self,
        request: movies::UpdateMovieRequest,
    ) -> Result<MovieDetails, ClientError> {
        retrying(self.backoff, "UpdateMovie", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .update_movie(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| MovieDetails::new(r.movie, r.synopsis))
    }

    /// Retried safely: the request id (generated when empty) makes it idempotent.
    pub async fn create_theatre(
        &self,
        mut request: movies::CreateTheatreRequest,
    ) -> Result<movies::Theatre, ClientError> {
        if request.request_id.is_empty() {
            request.request_id = uuid::Uuid::new_v4().to_string();
        }
        retrying(self.backoff, "CreateTheatre", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .create_theatre(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.theatre, "theatre"))
    }

    /// Retried safely: the request id (generated when empty) makes it idempotent.
    pub async fn create_showtime(
        &self,
        mut request: movies::CreateShowtimeRequest,
    ) -> Result<movies::Showtime, ClientError> {
        if request.request_id.is_empty() {
            request.request_id = uuid::Uuid::new_v4().to_string();
        }
        retrying(self.backoff, "CreateShowtime", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .create_showtime(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.showtime, "showtime"))
    }

    /// Calls a showing off: its orders are cancelled and refunded. Retried safely:
    /// cancelling is idempotent.
    pub async fn cancel_showtime(
        &self,
        showtime_id: &str,
    ) -> Result<movies::CancelShowtimeResponse, ClientError> {
        let request = movies::CancelShowtimeRequest {
            showtime_id: showtime_id.to_owned(),
        };
        retrying(self.backoff, "CancelShowtime", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .cancel_showtime(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }
}

/// `OrdersService`.
#[derive(Debug, Clone)]
pub struct OrdersClient {
    inner: OrdersServiceClient<With<Channel>>,
    /// The same service with the orders admin token, for `add_product` only.
    admin: OrdersServiceClient<With<Channel>>,
    /// `OrdersAdminService` (the outbox, admissions), with the orders admin token.
    outbox: OrdersAdminServiceClient<With<Channel>>,
    backoff: ExponentialBuilder,
}

/// What to order: `PlaceOrder` without its request id, which the client generates.
/// Either `items` (held and paid in one call) or a `hold_id` from
/// [`OrdersClient::hold_products`] (a browser checkout: hold, then pay).
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    pub items: Vec<orders::OrderItem>,
    pub hold_id: Option<String>,
    pub payment: orders::Payment,
    pub phone: Option<String>,
}

impl OrdersClient {
    /// Places an order under a fresh request id, retried with that same id: a retry
    /// after a lost answer returns the first order, never a second one.
    pub async fn place_order(
        &self,
        order: NewOrder,
    ) -> Result<orders::PlaceOrderResponse, ClientError> {
        self.place_order_with_id(uuid::Uuid::new_v4().to_string(), order)
            .await
    }

    /// Places an order under the caller's request id (to retry across restarts).
    pub async fn place_order_with_id(
        &self,
        request_id: String,
        order: NewOrder,
    ) -> Result<orders::PlaceOrderResponse, ClientError> {
        let request = orders::PlaceOrderRequest {
            request_id,
            items: order.items,
            payment: Some(order.payment),
            customer: Some(orders::Customer { phone: order.phone }),
            hold_id: order.hold_id.unwrap_or_default(),
        };
        retrying(self.backoff, "PlaceOrder", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .place_order(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    /// Holds units for `ttl_seconds` (0: the service's default, 10 minutes) under a
    /// fresh request id, retried with that same id: a retry never holds twice.
    pub async fn hold_products(
        &self,
        items: Vec<orders::OrderItem>,
        ttl_seconds: u32,
    ) -> Result<orders::Hold, ClientError> {
        self.hold_products_with_id(uuid::Uuid::new_v4().to_string(), items, ttl_seconds)
            .await
    }

    /// Holds units under the caller's request id: the same id and items again (a
    /// second click on a form) return the first hold, whatever became of it since.
    pub async fn hold_products_with_id(
        &self,
        request_id: String,
        items: Vec<orders::OrderItem>,
        ttl_seconds: u32,
    ) -> Result<orders::Hold, ClientError> {
        let request = orders::HoldProductsRequest {
            request_id,
            items,
            ttl_seconds,
        };
        retrying(self.backoff, "HoldProducts", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .hold_products(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.hold, "hold"))
    }

    pub async fn get_hold(&self, hold_id: &str) -> Result<orders::Hold, ClientError> {
        let request = orders::GetHoldRequest {
            hold_id: hold_id.to_owned(),
        };
        retrying(self.backoff, "GetHold", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_hold(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.hold, "hold"))
    }

    /// Gives the units back at once; retried safely (releasing twice changes nothing).
    pub async fn release_hold(&self, hold_id: &str) -> Result<orders::Hold, ClientError> {
        let request = orders::ReleaseHoldRequest {
            hold_id: hold_id.to_owned(),
        };
        retrying(self.backoff, "ReleaseHold", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .release_hold(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.hold, "hold"))
    }

    pub async fn cancel_order(&self, confirmation: &str) -> Result<orders::Order, ClientError> {
        let request = orders::CancelOrderRequest {
            confirmation: confirmation.to_owned(),
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        retrying(self.backoff, "CancelOrder", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .cancel_order(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.order, "order"))
    }

    pub async fn get_order(&self, confirmation: &str) -> Result<orders::Order, ClientError> {
        let request = orders::GetOrderRequest {
            confirmation: confirmation.to_owned(),
        };
        retrying(self.backoff, "GetOrder", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_order(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .and_then(|r| required(r.order, "order"))
    }

    /// Seats (units) left for each product, in request order.
    pub async fn availability(
        &self,
        product_ids: &[&str],
    ) -> Result<Vec<orders::ProductAvailability>, ClientError> {
        let request = orders::GetAvailabilityRequest {
            product_ids: product_ids.iter().map(|id| (*id).to_owned()).collect(),
        };
        retrying(self.backoff, "GetAvailability", || {
            let mut client = self.inner.clone();
            let request = request.clone();
            async move {
                client
                    .get_availability(request)
                    .await
                    .map(|r| r.into_inner().products)
            }
        })
        .await
    }

    /// Adds a product (needs the orders admin token). Retried only when it names a
    /// provider and an external reference, which make it idempotent.
    pub async fn add_product(
        &self,
        request: orders::AddProductRequest,
    ) -> Result<String, ClientError> {
        let idempotent = request.provider_id.is_some() && request.external_ref.is_some();
        let call = || {
            let mut client = self.admin.clone();
            let request = request.clone();
            async move {
                client
                    .add_product(request)
                    .await
                    .map(|r| r.into_inner().product_id)
            }
        };
        if idempotent {
            retrying(self.backoff, "AddProduct", call).await
        } else {
            once(call()).await
        }
    }

    /// Outbox messages, newest first (needs the orders admin token).
    pub async fn list_outbox(
        &self,
        request: orders::ListOutboxRequest,
    ) -> Result<orders::ListOutboxResponse, ClientError> {
        retrying(self.backoff, "ListOutbox", || {
            let mut client = self.outbox.clone();
            let request = request.clone();
            async move {
                client
                    .list_outbox(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
    }

    /// Makes exhausted outbox messages pending again (needs the orders admin token).
    /// Retried safely: redriving a message that is pending again is refused, and
    /// redriving "all exhausted" twice redrives nothing the second time.
    pub async fn redrive_outbox(
        &self,
        request: orders::RedriveOutboxRequest,
    ) -> Result<Vec<String>, ClientError> {
        once(async {
            let mut client = self.outbox.clone();
            client
                .redrive_outbox(request)
                .await
                .map(|r| r.into_inner().ids)
        })
        .await
    }

    /// Lets an order's holder in at the door (needs the orders admin token), while
    /// its showtimes' doors are open: from [`Showtime::doors_open`](movies::Showtime)
    /// until the movie ends; and, given the door's theatre (`theatre_id`), only with
    /// tickets for that theatre. Not retried: a retry whose first attempt got through
    /// would be refused as a second admission; after an error, `get_order` says
    /// whether it was admitted.
    pub async fn admit_order(
        &self,
        confirmation: &str,
        theatre_id: Option<&str>,
    ) -> Result<orders::Order, ClientError> {
        self.admit(confirmation, theatre_id, false).await
    }

    /// Lets an order's holder in at any time and theatre: a manager's override (a
    /// latecomer after the movie's end, say), which the order records when it was
    /// needed. A cancelled or used order is refused all the same.
    pub async fn admit_order_anyway(
        &self,
        confirmation: &str,
    ) -> Result<orders::Order, ClientError> {
        self.admit(confirmation, None, true).await
    }

    async fn admit(
        &self,
        confirmation: &str,
        venue: Option<&str>,
        override_admission_window: bool,
    ) -> Result<orders::Order, ClientError> {
        once(async {
            let mut client = self.outbox.clone();
            client
                .admit_order(orders::AdmitOrderRequest {
                    confirmation: confirmation.to_owned(),
                    override_admission_window,
                    venue: venue.unwrap_or_default().to_owned(),
                })
                .await
                .map(|r| r.into_inner().order)
        })
        .await
        .and_then(|o| required(o, "order"))
    }

    /// Creates a promotion code good for `uses` orders (needs the orders admin token).
    /// Not retried: a retry whose first attempt got through would find the code taken
    /// (`Conflict`); after an error, creating it again says whether it exists.
    pub async fn create_promotion(
        &self,
        code: &str,
        uses: i64,
        description: &str,
    ) -> Result<orders::PromotionCode, ClientError> {
        once(async {
            let mut client = self.outbox.clone();
            client
                .create_promotion(orders::CreatePromotionRequest {
                    code: code.to_owned(),
                    uses,
                    description: description.to_owned(),
                })
                .await
                .map(|r| r.into_inner().promotion)
        })
        .await
        .and_then(|p| required(p, "promotion"))
    }

    /// A promotion code as it is now: its uses left, whether it is active (needs the
    /// orders admin token).
    pub async fn get_promotion(&self, code: &str) -> Result<orders::PromotionCode, ClientError> {
        retrying(self.backoff, "GetPromotion", || {
            let mut client = self.outbox.clone();
            let code = code.to_owned();
            async move {
                client
                    .get_promotion(orders::GetPromotionRequest { code })
                    .await
                    .map(|r| r.into_inner().promotion)
            }
        })
        .await
        .and_then(|p| required(p, "promotion"))
    }

    /// Ends a promotion code: it pays for no more orders (needs the orders admin
    /// token). Retried safely: ending it again changes nothing.
    pub async fn end_promotion(&self, code: &str) -> Result<orders::PromotionCode, ClientError> {
        retrying(self.backoff, "EndPromotion", || {
            let mut client = self.outbox.clone();
            let code = code.to_owned();
            async move {
                client
                    .end_promotion(orders::EndPromotionRequest { code })
                    .await
                    .map(|r| r.into_inner().promotion)
            }
        })
        .await
        .and_then(|p| required(p, "promotion"))
    }

    /// How each product sold, in request order (needs the orders admin token), in as
    /// few calls as GetSales' limit allows.
    pub async fn sales(
        &self,
        product_ids: &[&str],
    ) -> Result<Vec<orders::ProductSales>, ClientError> {
        let mut all = Vec::with_capacity(product_ids.len());
        for chunk in product_ids.chunks(MAX_AVAILABILITY_PRODUCTS) {
            let request = orders::GetSalesRequest {
                product_ids: chunk.iter().map(|id| (*id).to_owned()).collect(),
            };
            let found = retrying(self.backoff, "GetSales", || {
                let mut client = self.outbox.clone();
                let request = request.clone();
                async move {
                    client
                        .get_sales(request)
                        .await
                        .map(|r| r.into_inner().products)
                }
            })
            .await?;
            all.extend(found);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_service_is_reported_as_unavailable_after_retries() {
        // Bound, never listened on: connections are refused, and no other test's
        // server can take the port while the test runs.
        let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
        reserved
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        let addr = reserved.local_addr().expect("addr");
        let mut config = ClientConfig::new(format!("http://{addr}"), format!("http://{addr}"));
        config.retries = 1;
        let cinema = Cinema::connect(config).expect("config is valid");
        let error = cinema
            .movies()
            .get_movie("1")
            .await
            .expect_err("nothing listens");
        assert!(matches!(error, ClientError::Unavailable(_)), "{error:?}");
        assert!(error.is_retryable());
    }

    #[test]
    fn statuses_map_to_what_went_wrong() {
        use tonic::Code;
        let cases = [
            (Code::NotFound, "not found"),
            (Code::InvalidArgument, "invalid input"),
            (Code::FailedPrecondition, "refused"),
            (Code::Unavailable, "unavailable"),
            (Code::Unauthenticated, "unauthenticated"),
        ];
        for (code, prefix) in cases {
            let error = ClientError::from(Status::new(code, "details"));
            assert_eq!(error.to_string(), format!("{prefix}: details"));
        }
        assert!(!ClientError::from(Status::invalid_argument("x")).is_retryable());
    }

    #[test]
    fn a_malformed_endpoint_is_refused_up_front() {
        let error = Cinema::connect(ClientConfig::new("not a uri\n", "http://127.0.0.1:1"))
            .expect_err("bad");
        assert!(matches!(error, ClientError::InvalidInput(_)));
    }
}
