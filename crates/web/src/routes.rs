//! The pages. Handlers are thin: read the request, call `cinema-client` (its façades
//! for the browsing pages, exactly as the chapter intends), hand a view to a template.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cinema_client::facade;
use cinema_client::orders_pb as orders;
use cinema_client::{Cinema, ClientError, MAX_TICKETS_PER_PURCHASE, NewOrder, Reason};
use serde::Deserialize;

use crate::csrf;
use crate::current_hold;
use crate::error::WebError;
use crate::views::{self, Day, MovieCard, TheatreCard};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub cinema: Cinema,
    pub secure_cookies: bool,
}

const ZIP_COOKIE: &str = "zip";
/// At most this many seats left, a showtime's page says how many.
const FEW_SEATS: i64 = 20;
/// How long the orders service holds seats by default (the site asks for no other
/// time): what the showtime page promises.
const HOLD: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The page's subject (a movie, a theatre, an order...): a service's NOT_FOUND, or an
/// id that cannot be one, is this page's 404.
fn subject<T>(answer: Result<T, ClientError>, what: &str) -> Result<T, WebError> {
    match answer {
        Ok(found) => Ok(found),
        Err(ClientError::NotFound(_) | ClientError::InvalidInput(_)) => {
            Err(WebError::not_found(what))
        }
        Err(e) => Err(e.into()),
    }
}

fn valid_zip(raw: &str) -> Option<String> {
    let zip = raw.trim();
    (zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit())).then(|| zip.to_owned())
}

#[derive(Debug, Deserialize)]
pub struct ZipQuery {
    zip: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    /// The code searched near; empty for everywhere.
    zip: String,
    typed: String,
    zip_error: Option<String>,
    movies: Vec<MovieCard>,
    /// Near the ZIP code, nearest first; none without one.
    theatres: Vec<TheatreCard>,
}

/// The ZIP code a page searches near: the one in its form or, with none typed, the one
/// remembered in a cookie.
struct ZipChoice {
    /// A well-formed code to search near.
    zip: Option<String>,
    /// What the form's field shows again: the code, or what was typed when it is not one.
    typed: String,
    /// Why what was typed cannot be searched near.
    error: Option<String>,
    /// Whether the code came from the form (and is to be remembered).
    from_form: bool,
}

impl ZipChoice {
    fn new(query: &ZipQuery, jar: &CookieJar) -> Self {
        let asked = query
            .zip
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty());
        let Some(raw) = asked else {
            let remembered = jar.get(ZIP_COOKIE).and_then(|c| valid_zip(c.value()));
            return Self {
                typed: remembered.clone().unwrap_or_default(),
                zip: remembered,
                error: None,
                from_form: false,
            };
        };
        match valid_zip(raw) {
            Some(zip) => Self {
                typed: zip.clone(),
                zip: Some(zip),
                error: None,
                from_form: true,
            },
            None => {
                let typed: String = raw.chars().take(20).collect();
                Self {
                    error: Some(format!(
                        "“{typed}” is not a ZIP code: enter five digits, like 02139."
                    )),
                    typed,
                    zip: None,
                    from_form: true,
                }
            }
        }
    }

    /// The services do not know this well-formed code: nothing is near it.
    fn unknown(self) -> Self {
        Self {
            error: Some(format!("We do not know the ZIP code {}.", self.typed)),
            zip: None,
            ..self
        }
    }

    /// Remembers a code typed in the form that the services know, for the next visit.
    fn remember(&self, jar: CookieJar, secure_cookies: bool) -> CookieJar {
        match (&self.zip, self.from_form) {
            (Some(zip), true) => jar.add(
                Cookie::build((ZIP_COOKIE, zip.clone()))
                    .path("/")
                    .secure(secure_cookies)
                    .same_site(SameSite::Lax)
                    .permanent()
                    .build(),
            ),
            _ => jar,
        }
    }
}

/// `/`: what is showing, near the ZIP code from the form or the cookie.
pub async fn home(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<ZipQuery>,
) -> Result<Response, WebError> {
    let mut choice = ZipChoice::new(&query, &jar);
    // The two lists are independent: asked for together, the page waits for one.
    let theatres = async {
        match choice.zip.as_deref() {
            Some(zip) => state.cinema.theatres_near(zip).await,
            None => Ok(Vec::new()),
        }
    };
    let (movies, theatres) =
        tokio::join!(state.cinema.current_movies(choice.zip.as_deref()), theatres);
    let (movies, theatres) = match (movies, theatres) {
        (Ok(movies), Ok(theatres)) => (
            movies.iter().map(MovieCard::from).collect(),
            theatres.iter().map(TheatreCard::from).collect(),
        ),
        (Err(ClientError::NotFound(_)), _) | (_, Err(ClientError::NotFound(_))) => {
            choice = choice.unknown();
            (Vec::new(), Vec::new())
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let jar = choice.remember(jar, state.secure_cookies);
    let page = HomePage {
        zip: choice.zip.unwrap_or_default(),
        typed: choice.typed,
        zip_error: choice.error,
        movies,
        theatres,
    };
    Ok((jar, page).into_response())
}

/// A theatre with its showtimes of one movie, by day.
struct TheatreSlots {
    theatre: TheatreCard,
    days: Vec<Day>,
}

#[derive(Template, WebTemplate)]
#[template(path = "movie.html")]
struct MoviePage {
    movie: MovieCard,
    /// The code searched near; empty when there is none to search near.
    zip: String,
    typed: String,
    zip_error: Option<String>,
    theatres: Vec<TheatreSlots>,
}

/// `/movies/{id}?zip=`: the movie's showtimes near the ZIP, by theatre (nearest
/// first), then by day.
pub async fn movie(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<ZipQuery>,
) -> Result<Response, WebError> {
    let mut choice = ZipChoice::new(&query, &jar);
    // One call in the common case: GetShowtimes is normalized, so the movie comes with
    // its showtimes. Only a movie with nothing near the ZIP (or no ZIP, or an id the
    // search refuses) is asked for on its own, which also decides the 404.
    let theatres = match &choice.zip {
        Some(zip) => match state.cinema.showtimes_for_movie_near(&id, zip).await {
            Ok(theatres) => theatres,
            Err(ClientError::NotFound(_)) => {
                choice = choice.unknown();
                Vec::new()
            }
            // A malformed id: GetMovie says 404 below.
            Err(ClientError::InvalidInput(_)) => Vec::new(),
            Err(other) => return Err(other.into()),
        },
        None => Vec::new(),
    };
    let movie = match theatres.first().and_then(|group| group.showtimes.first()) {
        Some(showtime) => (*showtime.movie).clone(),
        None => subject(state.cinema.movies().get_movie(&id).await, "movie")?,
    };
    let jar = choice.remember(jar, state.secure_cookies);
    let page = MoviePage {
        movie: MovieCard::from(&movie),
        zip: choice.zip.unwrap_or_default(),
        typed: choice.typed,
        zip_error: choice.error,
        theatres: theatres
            .iter()
            .map(|group| TheatreSlots {
                theatre: TheatreCard::from(&*group.theatre),
                days: views::by_day(&group.showtimes),
            })
            .collect(),
    };
    Ok((jar, page).into_response())
}

/// A movie with its showtimes at one theatre, by day.
struct MovieSlots {
    movie: MovieCard,
    days: Vec<Day>,
}

#[derive(Template, WebTemplate)]
#[template(path = "theatre.html")]
struct TheatrePage {
    name: String,
    address: String,
    phone: String,
    phone_link: String,
    movies: Vec<MovieSlots>,
}

/// `/theatres/{id}`: the theatre and its movies, each with its showtimes by day.
pub async fn theatre(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (theatre, movies) = tokio::join!(
        state.cinema.movies().get_theatre(&id),
        state.cinema.showtimes_at_theatre(&id)
    );
    let theatre = subject(theatre, "theatre")?;
    let movies = movies?;
    let page = TheatrePage {
        name: theatre.name.clone(),
        address: facade::address(&theatre),
        phone: views::phone(&theatre.phone),
        phone_link: theatre.phone.clone(),
        movies: movies
            .iter()
            .map(|group| MovieSlots {
                movie: MovieCard::from(group.movie.as_ref()),
                days: views::by_day(&group.showtimes),
            })
            .collect(),
    };
    Ok(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "showtime.html")]
struct ShowtimePage {
    id: String,
    movie: MovieCard,
    theatre_id: String,
    theatre: String,
    address: String,
    when: String,
    room: String,
    price: String,
    /// Tickets that can be chosen: 1..=min(10, seats left); empty when none can be.
    choices: Vec<i64>,
    /// Why no ticket can be chosen: started, sold out, or held by others for now.
    unavailable: Option<String>,
    /// "Only 4 seats left.", when few are.
    scarcity: Option<String>,
    /// The showtime starts before a hold would expire, and the hold ends with it.
    starts_within_hold: bool,
    hold_minutes: i64,
    /// This rendering's idempotency key: two clicks on "Hold seats" hold once.
    request_id: String,
    /// Seats this browser holds for this showtime, and the way back to paying for them.
    yours: Option<YourHold>,
    csrf: String,
    error: Option<String>,
}

struct YourHold {
    checkout: String,
    tickets: i64,
    until: String,
}

/// The browser's own hold for `showtime`, if the one its cookie names is still on.
async fn your_hold(
    state: &AppState,
    theatre: &cinema_client::movies_pb::Theatre,
    showtime: &cinema_client::movies_pb::Showtime,
    hold_id: Option<String>,
) -> Option<YourHold> {
    let hold = state.cinema.orders().get_hold(&hold_id?).await.ok()?;
    let expires = views::instant(hold.expires_at.as_ref());
    let line = hold.line_items.first()?;
    let on = hold.status() == orders::HoldStatus::Active && expires > chrono::Utc::now();
    (on && line.product_id == showtime.product_id).then(|| YourHold {
        checkout: format!("/checkout/{}", hold.hold_id),
        tickets: line.quantity,
        until: facade::local_time(theatre, expires)
            .format("%-I:%M %p %Z")
            .to_string(),
    })
}

async fn showtime_page(
    state: &AppState,
    id: &str,
    mine: Option<String>,
    csrf: String,
    error: Option<String>,
) -> Result<ShowtimePage, WebError> {
    let details = subject(state.cinema.movies().get_showtime(id).await, "showtime")?;
    let (Some(showtime), Some(movie), Some(theatre)) =
        (details.showtime, details.movie, details.theatre)
    else {
        return Err(
            ClientError::Inconsistent("a showtime without its movie or theatre".into()).into(),
        );
    };
    let start = views::instant(showtime.start_time.as_ref());
    let started = start <= chrono::Utc::now();
    // Asked of the orders service, not taken from the movies service's sold-out flag:
    // that follows by callback, and seats held by others may come back on sale.
    let (left, held) = if started {
        (0, 0)
    } else {
        state
            .cinema
            .orders()
            .availability(&[&showtime.product_id])
            .await?
            .first()
            .map_or((0, 0), |p| (p.available, p.held))
    };
    let yours = your_hold(state, &theatre, &showtime, mine).await;
    // Seats this browser holds are not others' holds that may come back.
    let held = held - yours.as_ref().map_or(0, |y| y.tickets);
    let seats = |n: i64| if n == 1 { "seat" } else { "seats" };
    let unavailable = if started {
        Some("This showtime has started.".to_owned())
    } else if left == 0 && held > 0 {
        // Others' holds may be longer than this site's: "in time", not a number.
        Some(if held == 1 {
            "Sold out for now: 1 seat held by another moviegoer goes back on sale if it \
             is not paid for in time."
                .to_owned()
        } else {
            format!(
                "Sold out for now: {held} seats held by other moviegoers go back on sale \
                 if they are not paid for in time."
            )
        })
    } else if left == 0 {
        Some("This showtime is sold out.".to_owned())
    } else {
        None
    };
    let scarcity = (1..=FEW_SEATS)
        .contains(&left)
        .then(|| format!("Only {left} {} left.", seats(left)));
    Ok(ShowtimePage {
        id: showtime.id.clone(),
        movie: MovieCard::from(&movie),
        theatre_id: theatre.id.clone(),
        theatre: theatre.name.clone(),
        address: facade::address(&theatre),
        when: views::when(&theatre, start),
        room: showtime.auditorium.clone(),
        price: views::dollars(showtime.price_cents),
        choices: (1..=left.min(MAX_TICKETS_PER_PURCHASE)).collect(),
        unavailable,
        scarcity,
        starts_within_hold: start - chrono::Utc::now() < HOLD,
        hold_minutes: HOLD.num_minutes(),
        request_id: uuid::Uuid::new_v4().to_string(),
        yours,
        csrf,
        error,
    })
}

/// `/showtimes/{id}`: choose how many tickets, then hold them.
pub async fn showtime(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let mine = current_hold::recall(&jar, &id);
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let page = showtime_page(&state, &id, mine, token, None).await?;
    Ok((jar, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HoldForm {
    csrf: String,
    tickets: i64,
    /// The form's idempotency key (see [`CheckoutForm::request_id`]).
    #[serde(default)]
    request_id: String,
}

/// POST `/showtimes/{id}/hold`: holds the seats and goes to the checkout.
pub async fn hold(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let details = subject(state.cinema.movies().get_showtime(&id).await, "showtime")?;
    let product = details.showtime.map(|s| s.product_id).unwrap_or_default();
    let problem = if !(1..=MAX_TICKETS_PER_PURCHASE).contains(&form.tickets) {
        Some(format!("Choose 1 to {MAX_TICKETS_PER_PURCHASE} tickets."))
    } else {
        let items = vec![orders::OrderItem {
            product_id: product,
            quantity: form.tickets,
        }];
        let client = state.cinema.orders();
        let held = once_per_form(&form.request_id, |id| {
            client.hold_products_with_id(id, items.clone(), 0)
        })
        .await;
        // The same click again returns its hold; one that has ended since (paid,
        // released, expired) answers a form restored by Back: this click is new.
        let held = match held {
            Ok(hold) if hold.status() != orders::HoldStatus::Active => {
                client.hold_products(items, 0).await
            }
            other => other,
        };
        match held {
            Ok(hold) => {
                // Holding again for this showtime (back from the checkout to change the
                // number): the seats held before go back on sale now. Best effort: they
                // would anyway when their hold runs out.
                if let Some(before) = current_hold::recall(&jar, &id)
                    && before != hold.hold_id
                    && let Err(e) = client.release_hold(&before).await
                {
                    tracing::warn!(error = %e, "could not give back the seats held before");
                }
                let jar = current_hold::remember(jar, &id, &hold.hold_id, state.secure_cookies);
                let to_checkout = Redirect::to(&format!("/checkout/{}", hold.hold_id));
                return Ok((jar, to_checkout).into_response());
            }
            Err(ClientError::SoldOut(_)) => Some(
                "Not enough seats are left for that many tickets. Choose fewer, or another showtime."
                    .to_owned(),
            ),
            // Started between the page and the click: the page says so.
            Err(e) if e.reason() == Some(Reason::SalesEnded) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let mine = current_hold::recall(&jar, &id);
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let page = showtime_page(&state, &id, mine, token, problem).await?;
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, jar, page).into_response())
}

/// Sends a form's request under the request id the form was rendered with, so that a
/// second click (or a browser's resubmission) is the same request, not a second hold or
/// payment. A form that comes back with other values under that id (a page restored
/// by Back, then changed) is a new request: the service refuses the id for it
/// (`REQUEST_ID_REUSED`), and it goes again under a fresh one. So does a form without a
/// usable id.
async fn once_per_form<T, F, Fut>(sent: &str, call: F) -> Result<T, ClientError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let fresh = || uuid::Uuid::new_v4().to_string();
    let usable = (1..=64).contains(&sent.len()) && sent.bytes().all(|b| b.is_ascii_graphic());
    if !usable {
        return call(fresh()).await;
    }
    match call(sent.to_owned()).await {
        Err(e) if e.reason() == Some(Reason::RequestIdReused) => call(fresh()).await,
        answer => answer,
    }
}

/// What the customer typed, kept when the form comes back with an error. The card
/// number is never echoed into a page, nor printed by `Debug`.
#[derive(Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    csrf: String,
    /// This rendering of the form's idempotency key: a second click on "Pay" sends
    /// the same one and gets the first click's order, never a second charge. Every
    /// rendering makes a new one, so another card after a decline is a new request.
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_month: String,
    #[serde(default)]
    card_year: String,
    #[serde(default)]
    line_1: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    zip: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    promo: String,
    #[serde(default)]
    phone: String,
}

impl std::fmt::Debug for CheckoutForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutForm")
            .field("method", &self.method)
            .field("card_number", &"[redacted]")
            .field("state", &self.state)
            .field("zip", &self.zip)
            .finish_non_exhaustive()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    hold_id: String,
    /// Where to hold seats again once these are released.
    showtime_id: String,
    movie: String,
    theatre: String,
    when: String,
    tickets: i64,
    total: String,
    /// When the seats are released, on the theatre's clock and as an instant.
    expires_label: String,
    expires_at: String,
    active: bool,
    form: CheckoutForm,
    request_id: String,
    csrf: String,
    error: Option<String>,
}

/// A checkout page, or its order once the hold is paid for (the customer came back,
/// or clicked "Pay" twice).
enum Checkout {
    Page(Box<CheckoutPage>),
    Paid(Redirect),
}

impl IntoResponse for Checkout {
    fn into_response(self) -> Response {
        match self {
            Self::Page(page) => page.into_response(),
            Self::Paid(to_order) => to_order.into_response(),
        }
    }
}

async fn checkout_page(
    state: &AppState,
    hold_id: &str,
    form: CheckoutForm,
    csrf: String,
    error: Option<String>,
) -> Result<Checkout, WebError> {
    let hold = subject(state.cinema.orders().get_hold(hold_id).await, "checkout")?;
    if hold.status() == orders::HoldStatus::Confirmed && !hold.confirmation.is_empty() {
        let to_order = Redirect::to(&format!("/orders/{}", hold.confirmation));
        return Ok(Checkout::Paid(to_order));
    }
    let line = hold.line_items.first().cloned().unwrap_or_default();
    let details = state
        .cinema
        .movies()
        .get_showtime(&line.external_ref)
        .await?;
    let theatre = details.theatre.unwrap_or_default();
    let showtime = details.showtime.unwrap_or_default();
    let expires = views::instant(hold.expires_at.as_ref());
    Ok(Checkout::Page(Box::new(CheckoutPage {
        hold_id: hold.hold_id.clone(),
        showtime_id: line.external_ref.clone(),
        movie: details.movie.map(|m| m.name).unwrap_or_default(),
        theatre: theatre.name.clone(),
        when: views::when(&theatre, views::instant(showtime.start_time.as_ref())),
        tickets: line.quantity,
        total: views::dollars(hold.price_cents),
        // On the theatre's clock, like the showtime, and saying so: the customer
        // may not be in the theatre's time zone.
        expires_label: cinema_client::facade::local_time(&theatre, expires)
            .format("%-I:%M %p %Z")
            .to_string(),
        expires_at: expires.to_rfc3339(),
        active: hold.status() == orders::HoldStatus::Active && expires > chrono::Utc::now(),
        form,
        request_id: uuid::Uuid::new_v4().to_string(),
        csrf,
        error,
    })))
}

/// `/checkout/{hold}`: the held seats, a countdown, and the payment form.
pub async fn checkout(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let form = CheckoutForm {
        method: "card".into(),
        ..Default::default()
    };
    let page = checkout_page(&state, &hold_id, form, token, None).await?;
    Ok((jar, page).into_response())
}

/// POST `/checkout/{hold}/release`: the customer changed their mind; the seats go back
/// on sale now rather than when the hold runs out, and the showtime page shows them.
/// A hold paid for meanwhile stays paid for, and leads to its order.
pub async fn release(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let hold = subject(
        state.cinema.orders().release_hold(&hold_id).await,
        "checkout",
    )?;
    let jar = current_hold::forget(jar, &hold_id);
    let to = if hold.confirmation.is_empty() {
        let showtime = hold.line_items.first().map(|l| l.external_ref.as_str());
        format!("/showtimes/{}", showtime.unwrap_or_default())
    } else {
        format!("/orders/{}", hold.confirmation)
    };
    Ok((jar, Redirect::to(&to)).into_response())
}

/// The card's brand from its number's prefix (what a payment form infers as you type).
fn card_brand(digits: &str) -> orders::CardBrand {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), _, _) => orders::CardBrand::Visa,
        (_, Some(34 | 37), _) => orders::CardBrand::AmericanExpress,
        (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => orders::CardBrand::Mastercard,
        _ => orders::CardBrand::Unspecified,
    }
}

fn payment(form: &CheckoutForm) -> Result<orders::Payment, String> {
    let method = match form.method.as_str() {
        "card" => {
            let digits: String = form
                .card_number
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let month = form
                .card_month
                .trim()
                .parse()
                .map_err(|_| "Enter the card's expiry month (1 to 12).".to_owned())?;
            let year: u32 = form
                .card_year
                .trim()
                .parse()
                .map_err(|_| "Enter the card's expiry year, like 2030.".to_owned())?;
            orders::payment::Method::CreditCard(orders::CreditCard {
                brand: card_brand(&digits).into(),
                number: form.card_number.trim().to_owned(),
                expiration_month: month,
                expiration_year: if year < 100 { 2000 + year } else { year },
                billing_address: Some(orders::Address {
                    line_1: form.line_1.clone(),
                    line_2: String::new(),
                    city: form.city.clone(),
                    state: form.state.clone(),
                    zip_code: form.zip.trim().to_owned(),
                }),
            })
        }
        "paypal" => orders::payment::Method::Paypal(orders::PayPal {
            email: form.email.trim().to_owned(),
        }),
        "promotion" => orders::payment::Method::Promotion(orders::Promotion {
            code: form.promo.trim().to_owned(),
        }),
        _ => return Err("Choose how to pay.".into()),
    };
    Ok(orders::Payment {
        method: Some(method),
    })
}

/// A phone number as people type it, in the E.164 form the services require; US
/// numbers may omit the country code.
fn e164(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || digits.is_empty() {
        return None;
    }
    Some(match (raw.trim_start().starts_with('+'), digits.len()) {
        (true, _) => format!("+{digits}"),
        (false, 10) => format!("+1{digits}"),
        (false, 11) if digits.starts_with('1') => format!("+{digits}"),
        (false, _) => format!("+{digits}"),
    })
}

/// POST `/checkout/{hold}`: pays; on success, the confirmation page. A hold paid for
/// meanwhile (by another click) sends the browser to its order instead of an error.
pub async fn pay(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
    Form(form): Form<CheckoutForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let phone = form.phone.trim();
    let phone = if phone.is_empty() {
        Ok(None)
    } else {
        e164(phone).map(Some).ok_or_else(|| {
            "Enter a phone number like (415) 555-0132, or leave it empty.".to_owned()
        })
    };
    let problem = match (payment(&form), phone) {
        (Err(problem), _) | (_, Err(problem)) => problem,
        (Ok(payment), Ok(phone)) => {
            let order = NewOrder {
                hold_id: Some(hold_id.clone()),
                payment,
                phone,
                ..Default::default()
            };
            let client = state.cinema.orders();
            let placed = once_per_form(&form.request_id, |id| {
                client.place_order_with_id(id, order.clone())
            })
            .await;
            match placed {
                Ok(placed) => {
                    let jar = current_hold::forget(jar, &hold_id);
                    let to_order = Redirect::to(&format!("/orders/{}", placed.confirmation));
                    return Ok((jar, to_order).into_response());
                }
                Err(ClientError::Refused(failure)) => match failure.reason {
                    Some(Reason::PaymentDeclined) => format!(
                        "Your payment was declined ({}). Your seats are still held: try another card.",
                        failure.message.trim_start_matches("payment declined: ")
                    ),
                    Some(Reason::HoldExpired) => "Your seats were released because time ran out. \
                        Go back to the showtime to hold them again."
                        .to_owned(),
                    // HOLD_CONFIRMED (another click paid) included: the hold's order,
                    // found below, is shown instead.
                    _ => failure.message,
                },
                Err(ClientError::InvalidInput(failure)) => {
                    format!("Please check your details: {failure}.")
                }
                Err(ClientError::SoldOut(_)) => "Those seats are no longer available.".to_owned(),
                Err(ClientError::NotFound(failure))
                    if failure.resource.as_ref().map(|r| r.resource_type.as_str())
                        == Some("promotion_code") =>
                {
                    "That promotion code does not exist.".to_owned()
                }
                Err(ClientError::Unavailable(_)) => {
                    "We could not reach the payment service. Nothing was charged; please try again."
                        .to_owned()
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    // Everything typed comes back except the card number (and the request id: the
    // next click is a new attempt).
    let kept = CheckoutForm {
        card_number: String::new(),
        request_id: String::new(),
        ..form
    };
    match checkout_page(&state, &hold_id, kept, token, Some(problem)).await? {
        Checkout::Page(page) => {
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, jar, *page).into_response())
        }
        paid @ Checkout::Paid(_) => Ok(paid.into_response()),
    }
}

struct OrderLine {
    movie: MovieCard,
    theatre: TheatreCard,
    room: String,
    when: String,
    tickets: i64,
    price: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "order.html")]
struct OrderPage {
    confirmation: String,
    cancelled: bool,
    lines: Vec<OrderLine>,
    total: String,
    payment: String,
    csrf: String,
    confirm_cancel: bool,
    /// A showtime of the order has started: its tickets can no longer be refunded.
    started: bool,
}

async fn order_page(
    state: &AppState,
    confirmation: &str,
    csrf: String,
    confirm_cancel: bool,
) -> Result<OrderPage, WebError> {
    let order = subject(state.cinema.orders().get_order(confirmation).await, "order")?;
    let mut lines = Vec::new();
    let mut started = false;
    for line in &order.line_items {
        let details = state
            .cinema
            .movies()
            .get_showtime(&line.external_ref)
            .await?;
        let theatre = details.theatre.unwrap_or_default();
        let showtime = details.showtime.unwrap_or_default();
        let start = views::instant(showtime.start_time.as_ref());
        started |= start <= chrono::Utc::now();
        lines.push(OrderLine {
            movie: MovieCard::from(&details.movie.unwrap_or_default()),
            theatre: TheatreCard::from(&theatre),
            room: showtime.auditorium,
            when: views::when(&theatre, start),
            tickets: line.quantity,
            price: views::dollars(line.price_cents),
        });
    }
    use orders::payment_summary::Method;
    let cancelled = order.status() == orders::OrderStatus::Cancelled;
    let payment = match order.payment.and_then(|p| p.method) {
        Some(Method::CreditCard(card)) => {
            let brand = match card.brand() {
                orders::CardBrand::Visa => "Visa",
                orders::CardBrand::Mastercard => "Mastercard",
                orders::CardBrand::AmericanExpress => "American Express",
                orders::CardBrand::Unspecified => "Card",
            };
            format!("{brand} ending in {}", card.last_four)
        }
        Some(Method::Paypal(p)) => format!("PayPal ({})", p.email),
        Some(Method::Promotion(p)) => format!("Promotion code {}", p.code),
        None => String::new(),
    };
    Ok(OrderPage {
        confirmation: order.confirmation.clone(),
        cancelled,
        lines,
        total: views::dollars(order.total_cents),
        payment,
        csrf,
        confirm_cancel,
        started,
    })
}

/// `/orders/{confirmation}`: the order, with a Cancel button.
pub async fn order(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(confirmation): Path<String>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let page = order_page(&state, &confirmation, token, false).await?;
    Ok((jar, page).into_response())
}

/// `/orders/{confirmation}/cancel`: asks once more before cancelling.
pub async fn confirm_cancel(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(confirmation): Path<String>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let page = order_page(&state, &confirmation, token, true).await?;
    Ok((jar, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// POST `/orders/{confirmation}/cancel`: cancels; the seats go back on sale.
pub async fn cancel(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(confirmation): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    match state.cinema.orders().cancel_order(&confirmation).await {
        // The showtime started after the page was shown: the page now says so.
        Err(e) if e.reason() == Some(Reason::SalesEnded) => {
            let (jar, token) = csrf::token(jar, state.secure_cookies);
            let page = order_page(&state, &confirmation, token, false).await?;
            Ok((axum::http::StatusCode::CONFLICT, jar, page).into_response())
        }
        answer => {
            let order = subject(answer, "order")?;
            Ok(Redirect::to(&format!("/orders/{}", order.confirmation)).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    confirmation: String,
}

/// `/orders?confirmation=`: the lookup form on the home page.
pub async fn lookup(Query(query): Query<LookupQuery>) -> Response {
    let code: String = query
        .confirmation
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect::<String>()
        .to_ascii_uppercase();
    if code.is_empty() {
        Redirect::to("/").into_response()
    } else {
        Redirect::to(&format!("/orders/{code}")).into_response()
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn not_found() -> WebError {
    WebError::not_found("page")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_read_as_people_type_them() {
        assert_eq!(e164("(415) 555-0132").as_deref(), Some("+14155550132"));
        assert_eq!(e164("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(e164("1 415 555 0132").as_deref(), Some("+14155550132"));
        assert_eq!(e164("call me"), None);
    }

    #[test]
    fn card_brands_follow_the_prefix() {
        assert_eq!(card_brand("4111111111111111"), orders::CardBrand::Visa);
        assert_eq!(
            card_brand("5555555555554444"),
            orders::CardBrand::Mastercard
        );
        assert_eq!(
            card_brand("378282246310005"),
            orders::CardBrand::AmericanExpress
        );
        assert_eq!(card_brand("6011"), orders::CardBrand::Unspecified);
    }
}
