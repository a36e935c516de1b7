//! The pages, a module for each part of the site a moviegoer goes through: browsing
//! (the home, movie and theatre pages), a showtime (holding seats), the checkout
//! (paying for them), and the order (looking it up, cancelling it). Handlers are thin:
//! read the request, call `cinema-client` (its façades for the browsing pages, exactly
//! as the chapter intends), hand a view to a template.

mod browse;
mod checkout;
mod crawlers;
mod orders;
mod showtime;

pub use browse::{home, movie, theatre};
pub use checkout::{checkout, pay, release};
pub use crawlers::{robots, sitemap};
use orders::{YourTickets, upcoming};
pub use orders::{cancel, confirm_cancel, forget, lookup, order, order_calendar};
pub use showtime::{hold, showtime};

use cinema_client::{Cinema, ClientError, Reason};
use serde::Deserialize;

use crate::error::WebError;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub cinema: Cinema,
    /// `https://tickets.example.com`: the site as its visitors reach it.
    pub origin: crate::config::Origin,
    pub secure_cookies: bool,
    pub limiter: crate::limit::Limiter,
    pub seats: crate::seats::SeatsCache,
    pub sold_out: crate::seats::SoldOutCache,
}

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

/// The seats left for the showtimes a page lists (see [`crate::seats`]).
async fn seats_left<'a>(
    state: &AppState,
    showtimes: impl IntoIterator<Item = &'a cinema_client::facade::Showtime>,
) -> crate::views::SeatsLeft {
    state.seats.lookup(&state.cinema, showtimes).await
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn not_found() -> WebError {
    WebError::not_found("page")
}
