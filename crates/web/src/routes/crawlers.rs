//! What search engines read: robots.txt, and the site map it points to.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::WebError;

/// Crawlers read the public pages; a visitor's checkout and orders are theirs. The
/// site map is named in full, as the format asks.
pub async fn robots(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        format!(
            "User-agent: *\nDisallow: /checkout/\nDisallow: /orders\n\nSitemap: {}/sitemap.xml\n",
            state.origin
        ),
    )
}

/// Every page a search engine should know of: the home page, each playing movie's (sold
/// out or not) and every theatre's (showing or not: its address and phone are worth
/// finding).
/// Showtime pages are left out: they come and go within two weeks, and the movie and
/// theatre pages list them as schema.org events.
#[derive(Template, WebTemplate)]
#[template(path = "sitemap.xml")]
struct Sitemap {
    origin: String,
    movies: Vec<String>,
    theatres: Vec<String>,
}

pub async fn sitemap(State(state): State<AppState>) -> Result<Response, WebError> {
    // A movie sold out everywhere is still playing: its page, with its sold-out
    // showings, is what people search for on a premiere night.
    let (playing, theatres) = tokio::try_join!(
        state.cinema.playing_movies(None),
        state.cinema.movies().all_theatres()
    )?;
    let map = Sitemap {
        origin: state.origin.to_string(),
        movies: playing.into_iter().map(|p| p.movie.id).collect(),
        theatres: theatres.into_iter().map(|t| t.id).collect(),
    };
    // Crawlers come back now and then; an hour old is fresh enough for them.
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        map,
    )
        .into_response())
}
