//! An order's page, its cancellation, and the lookup by confirmation code.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, TimeDelta, Utc};
use cinema_client::facade::Paid;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{ClientError, Reason};
use serde::Deserialize;

use super::{AppState, CsrfForm, subject};
use crate::error::WebError;
use crate::qr::Qr;
use crate::views::{self, MovieCard, TheatreCard};
use crate::{calendar, csrf, your_orders};

struct OrderLine {
    movie: MovieCard,
    theatre: TheatreCard,
    room: String,
    when: String,
    /// `3 tickets at $15.00`
    tickets: String,
    price: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "order.html")]
struct OrderPage {
    confirmation: String,
    /// `6:30 PM EST tomorrow`: when the doors open for the (first) showtime, until they
    /// have.
    doors: Option<String>,
    cancelled: bool,
    /// Cancelled because the theatre called the showing off, not by its customer.
    called_off: bool,
    lines: Vec<OrderLine>,
    total: String,
    payment: String,
    /// `the phone ending in 0132`, when the order's texts go to one.
    texts_to: Option<String>,
    /// What a cancelled order gives back, in a sentence.
    refund: String,
    csrf: String,
    confirm_cancel: bool,
    /// A showtime of the order has started: its tickets can no longer be refunded.
    started: bool,
    /// Every movie of the order is over, and nobody came with it: the box office
    /// would turn the code away.
    over: bool,
    /// `7:42 PM EST`: when its holder was let in at the door (the tickets are used).
    admitted: Option<String>,
    /// The confirmation code for a box office's scanner, while the order stands.
    qr: Option<Qr>,
}

/// A line of an order with the showtime it holds tickets for, as the movies service
/// tells it.
struct Seats {
    movie: movies::Movie,
    theatre: movies::Theatre,
    showtime: movies::Showtime,
    start: DateTime<Utc>,
    /// When the box office starts letting them in (unknown to an older movies service).
    doors: Option<DateTime<Utc>>,
    tickets: i64,
    unit_price_cents: i64,
    price_cents: i64,
}

impl Seats {
    /// When the movie is over: the box office lets its holders in until then.
    fn end(&self) -> DateTime<Utc> {
        self.start + TimeDelta::minutes(i64::from(self.movie.length_minutes))
    }
}

async fn seats_of(state: &AppState, order: &orders::Order) -> Result<Vec<Seats>, WebError> {
    let mut seats = Vec::with_capacity(order.line_items.len());
    for line in &order.line_items {
        let details = state
            .cinema
            .movies()
            .get_showtime(&line.external_ref)
            .await?;
        let showtime = details.showtime.unwrap_or_default();
        seats.push(Seats {
            movie: details.movie.unwrap_or_default(),
            theatre: details.theatre.unwrap_or_default(),
            start: views::instant(showtime.start_time.as_ref()),
            doors: showtime
                .doors_open
                .as_ref()
                .map(|t| views::instant(Some(t))),
            showtime,
            tickets: line.quantity,
            unit_price_cents: line.unit_price_cents,
            price_cents: line.price_cents,
        });
    }
    Ok(seats)
}

async fn order_page(
    state: &AppState,
    confirmation: &str,
    csrf: String,
    confirm_cancel: bool,
) -> Result<OrderPage, WebError> {
    let order = match state.cinema.orders().get_order(confirmation).await {
        Err(ClientError::NotFound(_) | ClientError::InvalidInput(_)) => {
            return Err(WebError::no_such_order(confirmation));
        }
        found => found?,
    };
    let now = Utc::now();
    let seats = seats_of(state, &order).await?;
    let started = seats.iter().any(|s| s.start <= now);
    let over = seats
        .iter()
        .map(Seats::end)
        .max()
        .is_some_and(|end| end <= now);
    // On the clock of the theatre that let them in.
    let admitted = order
        .admitted_at
        .as_ref()
        .zip(seats.first())
        .map(|(at, s)| {
            views::clock(&cinema_client::facade::local_time(
                &s.theatre,
                views::instant(Some(at)),
            ))
        });
    // When the doors let them in, while that is still to come.
    let doors = seats
        .iter()
        .min_by_key(|s| s.start)
        .and_then(|s| Some((s, s.doors?)))
        .filter(|(_, open)| *open > now)
        .map(|(s, open)| views::clock_on(&s.theatre, open, now));
    let lines = seats
        .into_iter()
        .map(|s| OrderLine {
            movie: MovieCard::from(&s.movie),
            theatre: TheatreCard::from(&s.theatre),
            when: views::when(&s.theatre, s.start, now),
            room: s.showtime.auditorium,
            tickets: views::tickets(s.tickets, s.unit_price_cents),
            price: views::dollars(s.price_cents),
        })
        .collect();
    let cancelled = order.status() == orders::OrderStatus::Cancelled;
    let total = views::dollars(order.total_cents);
    let paid = Paid::of(&order);
    let payment = match &paid {
        // Kept on one line: "ending in 1111".
        Some(Paid::Card { brand, last_four }) => views::card(brand, last_four),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let refund = paid
        .map(|paid| paid.refund(&payment, &total))
        .unwrap_or_default();
    let texts_to = (!order.phone_last_four.is_empty())
        .then(|| format!("the phone {}", views::ending_in(&order.phone_last_four)));
    // Only for a code the box office would still take.
    let qr = (!cancelled && !over)
        .then(|| Qr::new(&order.confirmation))
        .flatten();
    Ok(OrderPage {
        doors,
        qr,
        confirmation: order.confirmation.clone(),
        texts_to,
        cancelled,
        called_off: order.cancelled_by_provider,
        lines,
        total,
        payment,
        refund,
        csrf,
        confirm_cancel,
        started,
        over,
        admitted,
    })
}

/// `/orders/{confirmation}`: the order, with a Cancel button. A standing order is
/// remembered by this browser, for the home page to lead back to.
pub async fn order(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(confirmation): Path<String>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let page = order_page(&state, &confirmation, token, false).await?;
    let jar = if page.cancelled {
        jar
    } else {
        your_orders::remember(jar, &page.confirmation, state.secure_cookies)
    };
    Ok((jar, page).into_response())
}

/// How long the home page waits for the orders this browser remembers.
const YOURS_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// An order this browser remembers, on the home page: what it is for and when.
pub struct YourTickets {
    pub confirmation: String,
    pub movie: String,
    pub theatre: String,
    pub when: String,
    pub tickets: String,
    /// The theatre called the showing off (the order is cancelled and refunded): said
    /// until the showing would have ended, for a buyer who gave no phone to text.
    pub called_off: bool,
}

/// Of the orders this browser remembers, those still to be used (placed, and a movie
/// of theirs not over: a moviegoer running late looks for the code at the door), and
/// those whose showing the theatre called off, until it would have ended, most recent
/// first; `None` when the services could not say (the codes are then kept
/// as they are).
pub async fn upcoming(state: &AppState, codes: &[String]) -> Option<Vec<YourTickets>> {
    let now = Utc::now();
    // Asked together: a returning buyer's home page waits for the slowest, not the sum,
    // and not past a moment: the home page is for what is on, and must not wait on
    // an orders service that is slow or down.
    let asked = futures::future::join_all(codes.iter().map(|code| to_use(state, code, now)));
    let Ok(found) = tokio::time::timeout(YOURS_WAIT, asked).await else {
        tracing::warn!("the orders this browser remembers are left out: no answer in time");
        return None;
    };
    found
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, ()>>()
        .ok()
}

/// The order `code` when it is still to be used or its showing was called off, `None`
/// when it is not (unknown, cancelled by its buyer, admitted, over), an error when the
/// services could not say.
async fn to_use(
    state: &AppState,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<YourTickets>, ()> {
    let order = match state.cinema.orders().get_order(code).await {
        Ok(order) => order,
        // Not an order (any more): nothing to show, nothing to keep.
        Err(ClientError::NotFound(_) | ClientError::InvalidInput(_)) => return Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "the orders this browser remembers are left out");
            return Err(());
        }
    };
    // Cancelled by its buyer, or used at the door: not to be shown there (again). One
    // the theatre cancelled is, so that its buyer hears of it.
    let cancelled = order.status() == orders::OrderStatus::Cancelled;
    if (cancelled && !order.cancelled_by_provider) || order.admitted_at.is_some() {
        return Ok(None);
    }
    let seats = seats_of(state, &order).await.map_err(|e| {
        tracing::warn!(error = ?e, "the orders this browser remembers are left out");
    })?;
    let (Some(first), Some(end)) = (
        seats.iter().min_by_key(|s| s.start),
        seats.iter().map(Seats::end).max(),
    ) else {
        return Ok(None);
    };
    if end <= now {
        return Ok(None);
    }
    let tickets: i64 = seats.iter().map(|s| s.tickets).sum();
    Ok(Some(YourTickets {
        confirmation: order.confirmation.clone(),
        movie: first.movie.name.clone(),
        theatre: first.theatre.name.clone(),
        when: views::when(&first.theatre, first.start, now),
        // Kept on one line with its number.
        tickets: if tickets == 1 {
            "1\u{a0}ticket".to_owned()
        } else {
            format!("{tickets}\u{a0}tickets")
        },
        called_off: cancelled,
    }))
}

/// `/orders/{confirmation}/calendar.ics`: the order's showtimes as calendar events.
pub async fn order_calendar(
    State(state): State<AppState>,
    Path(confirmation): Path<String>,
) -> Result<Response, WebError> {
    let order = subject(
        state.cinema.orders().get_order(&confirmation).await,
        "order",
    )?;
    let seats = seats_of(&state, &order).await?;
    let showings: Vec<_> = seats
        .iter()
        .map(|s| calendar::Showing {
            showtime_id: &s.showtime.id,
            movie: &s.movie,
            theatre: &s.theatre,
            start: s.start,
            doors: s.doors,
            room: &s.showtime.auditorium,
            tickets: s.tickets,
        })
        .collect();
    let cancelled = order.status() == orders::OrderStatus::Cancelled;
    let body = calendar::order(&order.confirmation, cancelled, &showings, Utc::now());
    let file = format!("attachment; filename=\"cinema-{}.ics\"", order.confirmation);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
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

/// POST `/orders/{confirmation}/cancel`: cancels; the seats go back on sale.
pub async fn cancel(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(confirmation): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    match state.cinema.orders().cancel_order(&confirmation).await {
        // The showtime started, or the tickets were used at the door, after the page
        // was shown: the page now says so.
        Err(e)
            if matches!(
                e.reason(),
                Some(Reason::SalesEnded | Reason::AlreadyAdmitted)
            ) =>
        {
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

/// POST `/orders/forget`: this browser forgets the orders it remembers (a shared
/// computer's next user should not find them on the home page). The orders stand.
pub async fn forget(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let jar = your_orders::keep(jar, &[], state.secure_cookies);
    Ok((jar, Redirect::to("/")).into_response())
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
