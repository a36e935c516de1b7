//! A showtime's page: how many seats are left, and the form that holds some (or the
//! seats this browser already holds).

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use cinema_client::facade;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{ClientError, MAX_TICKETS_PER_PURCHASE, Reason};
use serde::Deserialize;

use super::{AppState, once_per_form, seats_left, subject};
use crate::error::WebError;
use crate::limit::Client;
use crate::views::{self, Day, MovieCard, Preview};
use crate::{csrf, current_hold, structured};

/// At most this many seats left, a showtime's page says how many.
const FEW_SEATS: i64 = 20;
/// How long the orders service holds seats by default (the site asks for no other
/// time): what the showtime page promises.
const HOLD: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

#[derive(Template, WebTemplate)]
#[template(path = "showtime.html")]
struct ShowtimePage {
    /// `…/showtimes/{id}`, its title and its description, which says when.
    preview: Preview,
    id: String,
    movie: MovieCard,
    /// The theatre's page on this showtime's day.
    theatre_href: String,
    theatre: String,
    address: String,
    directions: String,
    when: String,
    /// `6:30 PM EST`: when the box office starts letting ticket holders in.
    doors: String,
    /// This showtime as a schema.org event (JSON-LD), while it is on sale.
    structured: Option<String>,
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
    /// The movie's other showtimes at this theatre, by day.
    others: Vec<Day>,
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
        until: views::clock(&facade::local_time(theatre, expires)),
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
    // The start itself, from a movies service too old to say.
    let doors = showtime
        .doors_open
        .as_ref()
        .map_or(start, |t| views::instant(Some(t)));
    let now = chrono::Utc::now();
    let started = start <= now;
    let called_off = details.cancelled_at.is_some();
    // Asked of the orders service, not taken from the movies service's sold-out flag:
    // that follows by callback, and seats held by others may come back on sale.
    let availability = async {
        if started || called_off {
            return Ok((0, 0));
        }
        let products = state
            .cinema
            .orders()
            .availability(&[&showtime.product_id])
            .await?;
        Ok::<_, ClientError>(products.first().map_or((0, 0), |p| (p.available, p.held)))
    };
    let (availability, yours, others) = tokio::join!(
        availability,
        your_hold(state, &theatre, &showtime, mine),
        other_times(state, &showtime, now)
    );
    let (left, held) = availability?;
    // Seats this browser holds are not others' holds that may come back.
    let held = held - yours.as_ref().map_or(0, |y| y.tickets);
    let seats = |n: i64| if n == 1 { "seat" } else { "seats" };
    let unavailable = if called_off {
        Some(
            "The theatre called this showing off: its tickets are no longer sold, and \
             everyone who bought some is refunded."
                .to_owned(),
        )
    } else if started {
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
    let address = facade::address(&theatre);
    // For search engines: until it starts, sold out or not, and once the theatre
    // called it off (so that a search stops showing its time).
    let screening = facade::Showtime {
        id: showtime.id.clone(),
        movie: Arc::new(movie.clone()),
        theatre: Arc::new(theatre.clone()),
        start_time: start,
        doors_open: doors,
        auditorium: showtime.auditorium.clone(),
        product_id: showtime.product_id.clone(),
        price_cents: showtime.price_cents,
    };
    let structured = if called_off {
        structured::cancelled_screening_event(&screening)
    } else if started {
        None
    } else if left == 0 {
        structured::screening_events([(&screening, structured::Status::SoldOut)])
    } else {
        structured::screening_events([(&screening, structured::Status::OnSale)])
    };
    Ok(ShowtimePage {
        preview: Preview {
            url: format!("{}/showtimes/{}", state.origin, showtime.id),
            title: format!("{} at {}", movie.name, theatre.name),
            // Without "Today": a shared link is read on another day.
            description: format!(
                "Tickets for {} at {}, {}.",
                movie.name,
                theatre.name,
                views::date_and_time(&theatre, start)
            ),
        },
        id: showtime.id.clone(),
        movie: MovieCard::from(&movie),
        theatre_href: format!(
            "/theatres/{}?day={}",
            theatre.id,
            facade::local_time(&theatre, start).date_naive()
        ),
        theatre: theatre.name.clone(),
        directions: views::directions(&address),
        address,
        when: views::when(&theatre, start, now),
        doors: views::doors(&theatre, doors, start, now),
        structured,
        room: showtime.auditorium.clone(),
        price: views::dollars(showtime.price_cents),
        choices: (1..=left.min(MAX_TICKETS_PER_PURCHASE)).collect(),
        unavailable,
        scarcity,
        starts_within_hold: start - now < HOLD,
        hold_minutes: HOLD.num_minutes(),
        request_id: uuid::Uuid::new_v4().to_string(),
        yours,
        others,
        csrf,
        error,
    })
}

/// The movie's other showtimes at the same theatre, by day: where to go when this one
/// is sold out, has started, or is at the wrong time. The page is about this showtime,
/// so a failure here leaves the list out rather than the page.
async fn other_times(
    state: &AppState,
    showtime: &movies::Showtime,
    now: DateTime<Utc>,
) -> Vec<Day> {
    let search = movies::GetShowtimesRequest {
        theatre_ids: vec![showtime.theatre_id.clone()],
        movie_ids: vec![showtime.movie_id.clone()],
        ..Default::default()
    };
    let found = state
        .cinema
        .movies()
        .all_showtimes(search)
        .await
        .and_then(facade::resolve);
    match found {
        Ok(showtimes) => {
            let others: Vec<_> = showtimes
                .into_iter()
                .filter(|s| s.id != showtime.id)
                .collect();
            // Where to go when this one is full: which of them still have seats.
            let seats = seats_left(state, others.iter()).await;
            views::by_day(&others, now, &seats)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the showtime's other times are left out");
            Vec::new()
        }
    }
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
    client: Client,
    Form(form): Form<HoldForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    if let Err(too_soon) = state.limiter.attempt(client) {
        let mine = current_hold::recall(&jar, &id);
        let (jar, token) = csrf::token(jar, state.secure_cookies);
        let problem = too_soon.sentence("No seats were held.");
        let page = showtime_page(&state, &id, mine, token, Some(problem)).await?;
        let status = axum::http::StatusCode::TOO_MANY_REQUESTS;
        return Ok((status, too_soon.retry_after(), jar, page).into_response());
    }
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
