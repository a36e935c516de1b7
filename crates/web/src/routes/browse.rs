//! Browsing: what is showing near a ZIP code, a movie's showtimes by theatre, a
//! theatre's showtimes by movie.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cinema_client::ClientError;
use cinema_client::facade;
use serde::Deserialize;

use super::{AppState, subject};
use crate::error::WebError;
use crate::views::{self, Day, MovieCard, TheatreCard};

const ZIP_COOKIE: &str = "zip";

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
