//! Browsing: what is showing near a ZIP code, a movie's showtimes by theatre, a
//! theatre's showtimes by movie.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cinema_client::facade;
use cinema_client::movies_pb as movies;
use cinema_client::{ClientError, Elsewhere, MovieDetails, Near};
use serde::Deserialize;

use super::{AppState, YourTickets, seats_left, subject, upcoming};
use crate::error::WebError;
use crate::views::{self, Day, DayChoice, MovieCard, Preview, TheatreCard};
use crate::{csrf, structured, your_orders};

const ZIP_COOKIE: &str = "zip";
const DISTANCE_COOKIE: &str = "within";

fn valid_zip(raw: &str) -> Option<String> {
    let zip = raw.trim();
    (zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit())).then(|| zip.to_owned())
}

/// How far from the ZIP code a page looks: one of the distances its form offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distance(u8);

impl Distance {
    /// What the form offers, in miles: from a city's few blocks to a rural drive.
    pub const CHOICES: [u8; 6] = [5, 10, 15, 25, 50, 100];
    /// The services' own default, so a page with no choice made says what they do.
    pub const DEFAULT: Self = Self(15);

    pub fn parse(raw: &str) -> Option<Self> {
        let miles = raw.trim().parse().ok()?;
        Self::CHOICES.contains(&miles).then_some(Self(miles))
    }

    pub fn miles(self) -> u8 {
        self.0
    }

    /// `5, 10, 15, 25, 50 or 100`: the choices, as a sentence says them.
    fn offered() -> String {
        let (last, rest) = Self::CHOICES.split_last().expect("choices");
        let rest: Vec<String> = rest.iter().map(u8::to_string).collect();
        format!("{} or {last}", rest.join(", "))
    }

    /// The distances farther than this one, to offer when nothing is found.
    pub fn wider(self) -> Vec<Self> {
        Self::CHOICES
            .into_iter()
            .filter(|&m| m > self.0)
            .map(Self)
            .collect()
    }
}

#[derive(Debug, Deserialize)]
pub struct ZipQuery {
    zip: Option<String>,
    within: Option<String>,
    /// `2026-12-09`: the day a movie's page shows (home ignores it).
    day: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    day: Option<String>,
}

/// A movie on the home page, and whether every showing of it (near) is sold out.
struct PlayingCard {
    movie: MovieCard,
    sold_out: bool,
}

impl From<&facade::Playing> for PlayingCard {
    fn from(playing: &facade::Playing) -> Self {
        Self {
            movie: MovieCard::from(&playing.movie),
            sold_out: playing.sold_out,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    /// Its address without the query, title and description.
    preview: Preview,
    /// The code searched near; empty for everywhere.
    zip: String,
    typed: String,
    zip_error: Option<String>,
    form: DistanceForm,
    /// `within 15 miles of 02139`, when a ZIP code was searched near.
    near: String,
    /// `?zip=02139&within=50`: what the page's links carry to the next page.
    near_query: String,
    /// Farther searches to offer when nothing was found.
    wider: Vec<WiderSearch>,
    movies: Vec<PlayingCard>,
    /// Near the ZIP code, nearest first; none without one.
    theatres: Vec<TheatreCard>,
    /// When no movie was found near: the nearest theatres beyond the distance chosen
    /// (within the farthest a search goes), at most [`FARTHER`].
    farther: Vec<TheatreCard>,
    /// When no movie was found near: not a theatre within the farthest a search goes,
    /// so no farther search is offered.
    alone: bool,
    /// The orders this browser remembers that are still to be used.
    yours: Vec<YourTickets>,
    /// The token of the form that forgets them (empty when there are none).
    csrf: String,
}

/// At most this many theatres beyond the chosen distance are named.
const FARTHER: usize = 6;

/// The farther searches to offer a page that found nothing near: none that stops short
/// of the nearest theatre, and none at all when no theatre is within the farthest a
/// search goes (`nearest`: the theatres within it, nearest first, when known).
fn farther_searches(
    choice: &ZipChoice,
    path: &str,
    nearest: Option<&[movies::Theatre]>,
) -> Vec<WiderSearch> {
    let reach = match nearest {
        Some([]) => return Vec::new(),
        Some([first, ..]) => first.distance_miles.unwrap_or_default(),
        None => 0.0,
    };
    let mut wider = choice.wider(path);
    wider.retain(|w| f64::from(w.miles) >= reach);
    wider
}

/// For a page that found nothing near: the theatres within the farthest a search
/// goes, nearest first; `None` when that could not be asked (the page says what it
/// found, without this).
async fn nearest_theatres(state: &AppState, zip: &str) -> Option<Vec<movies::Theatre>> {
    let farthest = Near::zip(zip).within(Near::MAX_MILES);
    match state.cinema.theatres_near(&farthest).await {
        Ok(theatres) => Some(theatres),
        Err(e) => {
            tracing::warn!(error = %e, "the nearest theatres farther away are left out");
            None
        }
    }
}

/// The distance select of a page's form: its choices, the one chosen, and why what
/// was sent is not one of them.
struct DistanceForm {
    choices: [u8; 6],
    chosen: u8,
    error: Option<String>,
}

/// A link to the same search, farther out.
struct WiderSearch {
    miles: u8,
    href: String,
}

/// The ZIP code a page searches near, and how far: the ones in its form or, with no
/// code typed, the ones remembered in cookies.
struct ZipChoice {
    /// A well-formed code to search near.
    zip: Option<String>,
    /// What the form's field shows again: the code, or what was typed when it is not one.
    typed: String,
    /// Why what was typed cannot be searched near.
    error: Option<String>,
    /// Whether the code came from the form (and is to be remembered).
    from_form: bool,
    distance: Distance,
    /// Why the distance sent is not one offered (nothing is searched then).
    distance_error: Option<String>,
    /// Whether the distance came from the form (and is to be remembered).
    distance_from_form: bool,
}

impl ZipChoice {
    fn new(query: &ZipQuery, jar: &CookieJar) -> Self {
        let mut choice = Self::zip(query, jar);
        let sent = query
            .within
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty());
        match sent {
            Some(raw) => match Distance::parse(raw) {
                Some(distance) => {
                    choice.distance = distance;
                    choice.distance_from_form = true;
                }
                None => {
                    choice.distance_error = Some(format!(
                        "“{}” is not a distance we search within: choose {} miles.",
                        views::as_typed(raw, 20),
                        Distance::offered()
                    ));
                    choice.zip = None;
                }
            },
            // A link or form with a code but no distance means the usual one; the
            // remembered distance goes with the remembered code.
            None if !choice.from_form => {
                if let Some(distance) = jar
                    .get(DISTANCE_COOKIE)
                    .and_then(|c| Distance::parse(c.value()))
                {
                    choice.distance = distance;
                }
            }
            None => {}
        }
        choice
    }

    fn zip(query: &ZipQuery, jar: &CookieJar) -> Self {
        let asked = query
            .zip
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty());
        let choice = |zip: Option<String>, typed: String, error, from_form| Self {
            zip,
            typed,
            error,
            from_form,
            distance: Distance::DEFAULT,
            distance_error: None,
            distance_from_form: false,
        };
        let Some(raw) = asked else {
            let remembered = jar.get(ZIP_COOKIE).and_then(|c| valid_zip(c.value()));
            return choice(
                remembered.clone(),
                remembered.unwrap_or_default(),
                None,
                false,
            );
        };
        match valid_zip(raw) {
            Some(zip) => choice(Some(zip.clone()), zip, None, true),
            None => {
                let typed = views::as_typed(raw, 20);
                let error = format!("“{typed}” is not a ZIP code: enter five digits, like 02139.");
                choice(None, typed, Some(error), true)
            }
        }
    }

    /// What the services are asked to search near.
    fn near(&self) -> Option<Near> {
        let miles = f64::from(self.distance.miles());
        self.zip.as_deref().map(|zip| Near::zip(zip).within(miles))
    }

    /// The query that searches near `distance` from the same code.
    fn query(&self, distance: Distance) -> String {
        match &self.zip {
            Some(zip) if distance == Distance::DEFAULT => format!("?zip={zip}"),
            Some(zip) => format!("?zip={zip}&within={}", distance.miles()),
            None => String::new(),
        }
    }

    /// Links to the same page searching farther, for a search that found nothing.
    fn wider(&self, path: &str) -> Vec<WiderSearch> {
        if self.zip.is_none() {
            return Vec::new();
        }
        self.distance
            .wider()
            .into_iter()
            .map(|d| WiderSearch {
                miles: d.miles(),
                href: format!("{path}{}", self.query(d)),
            })
            .collect()
    }

    fn form(&self) -> DistanceForm {
        DistanceForm {
            choices: Distance::CHOICES,
            chosen: self.distance.miles(),
            error: self.distance_error.clone(),
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

    /// Remembers a code typed in the form that the services know, and the distance
    /// chosen with it, for the next visit.
    fn remember(&self, jar: CookieJar, secure_cookies: bool) -> CookieJar {
        let cookie = |name: &'static str, value: String| {
            Cookie::build((name, value))
                .path("/")
                .secure(secure_cookies)
                .same_site(SameSite::Lax)
                .permanent()
                .build()
        };
        match &self.zip {
            Some(zip) if self.from_form => {
                let jar = jar.add(cookie(ZIP_COOKIE, zip.clone()));
                jar.add(cookie(DISTANCE_COOKIE, self.distance.miles().to_string()))
            }
            Some(_) if self.distance_from_form => {
                jar.add(cookie(DISTANCE_COOKIE, self.distance.miles().to_string()))
            }
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
    let near = choice.near();
    // The two lists are independent: asked for together, the page waits for one.
    let theatres = async {
        match &near {
            Some(near) => state.cinema.theatres_near(near).await,
            None => Ok(Vec::new()),
        }
    };
    let remembered = your_orders::recall(&jar);
    let yours = async {
        if remembered.is_empty() {
            Some(Vec::new())
        } else {
            upcoming(&state, &remembered).await
        }
    };
    // Sold-out movies too: a premiere sold out near here is still on near here.
    let (movies, theatres, yours) =
        tokio::join!(state.cinema.playing_movies(near.as_ref()), theatres, yours);
    let (movies, near_theatres) = match (movies, theatres) {
        (Ok(movies), Ok(theatres)) => (movies, theatres),
        (Err(ClientError::NotFound(_)), _) | (_, Err(ClientError::NotFound(_))) => {
            choice = choice.unknown();
            (Vec::new(), Vec::new())
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let movies: Vec<PlayingCard> = movies.iter().map(PlayingCard::from).collect();
    let nearest = match (&choice.zip, movies.is_empty()) {
        // Searched as far as a search goes: the theatres are already the answer.
        (Some(_), true) if f64::from(choice.distance.miles()) >= Near::MAX_MILES => {
            Some(near_theatres.clone())
        }
        (Some(zip), true) => nearest_theatres(&state, zip).await,
        _ => None,
    };
    let theatres: Vec<TheatreCard> = near_theatres.iter().map(TheatreCard::from).collect();
    let alone = nearest.as_ref().is_some_and(Vec::is_empty);
    let wider = if movies.is_empty() {
        farther_searches(&choice, "/", nearest.as_deref())
    } else {
        Vec::new()
    };
    let farther: Vec<TheatreCard> = nearest
        .unwrap_or_default()
        .iter()
        .filter(|t| !theatres.iter().any(|near: &TheatreCard| near.id == t.id))
        .take(FARTHER)
        .map(TheatreCard::from)
        .collect();
    let jar = choice.remember(jar, state.secure_cookies);
    // Orders cancelled or past are forgotten; when the services could not say, the
    // codes are kept for the next visit.
    let (jar, yours) = match yours {
        Some(yours) => {
            let still: Vec<String> = yours.iter().map(|t| t.confirmation.clone()).collect();
            let jar = if still == remembered {
                jar
            } else {
                your_orders::keep(jar, &still, state.secure_cookies)
            };
            (jar, yours)
        }
        None => (jar, Vec::new()),
    };
    let (jar, csrf) = if yours.is_empty() {
        (jar, String::new())
    } else {
        csrf::token(jar, state.secure_cookies)
    };
    let page = HomePage {
        preview: Preview {
            url: format!("{}/", state.origin),
            title: "What's on".into(),
            description: views::SITE_DESCRIPTION.into(),
        },
        yours,
        csrf,
        near: choice.near().map(|n| n.to_string()).unwrap_or_default(),
        near_query: choice.query(choice.distance),
        form: choice.form(),
        wider,
        zip: choice.zip.unwrap_or_default(),
        typed: choice.typed,
        zip_error: choice.error,
        movies,
        theatres,
        farther,
        alone,
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
    /// `…/movies/{id}` (with any ZIP code, distance or day), its title and description.
    preview: Preview,
    movie: MovieCard,
    /// What the movie is about, when the catalogue says.
    synopsis: Option<String>,
    /// The code searched near; empty when there is none to search near.
    zip: String,
    typed: String,
    zip_error: Option<String>,
    form: DistanceForm,
    /// `within 15 miles of 02139`, when a ZIP code was searched near.
    near: String,
    /// Farther searches to offer when nothing was found.
    wider: Vec<WiderSearch>,
    /// The day shown and the others to choose from, when there are showtimes.
    dates: Option<DayChoice>,
    /// `?day=…` on the links to the theatres, when a day was chosen.
    carry: String,
    theatres: Vec<TheatreSlots>,
    /// When nothing was found near: where the movie is playing instead (some of the
    /// theatres, at most [`ELSEWHERE`]).
    elsewhere: Vec<TheatreCard>,
    /// Nothing was found near, and the movie is playing nowhere with seats: no search
    /// farther out would find it.
    nowhere: bool,
    /// ... because every showing of it is sold out (a premiere), not because it is
    /// not playing.
    sold_out_everywhere: bool,
    /// The showtimes as schema.org events (JSON-LD), when there are any.
    structured: Option<String>,
}

/// At most this many theatres are named where a movie is playing far away.
const ELSEWHERE: usize = 12;

/// How much of a synopsis a movie page's description quotes: search engines show
/// about 160 characters of one.
const SYNOPSIS_EXCERPT: usize = 110;

/// Where a movie is playing, for a page that found nothing near: `None` when that
/// could not be asked (the page says what it found, without this).
async fn elsewhere(state: &AppState, movie_id: &str) -> Option<Elsewhere> {
    match state.cinema.theatres_showing(movie_id).await {
        Ok(elsewhere) => Some(elsewhere),
        Err(e) => {
            tracing::warn!(error = %e, "where the movie plays farther away is left out");
            None
        }
    }
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
    let now = chrono::Utc::now();
    // The movie with its synopsis, asked beside its showtimes near the ZIP code and
    // the theatres around it; the movie's answer decides the 404.
    let near = choice.near();
    let (details, (listed, around)) = tokio::join!(state.cinema.movies().get_movie(&id), async {
        match &near {
            Some(near) => {
                let (listed, around) = tokio::join!(
                    state.cinema.showtimes_for_movie_near(&id, near),
                    state.sold_out.around(&state.cinema, near)
                );
                (Some(listed), around)
            }
            None => (None, Default::default()),
        }
    });
    let MovieDetails { movie, synopsis } = subject(details, "movie")?;
    let theatres = match listed {
        Some(Ok(theatres)) => theatres,
        // The movie is known: the ZIP code is not.
        Some(Err(ClientError::NotFound(_))) => {
            choice = choice.unknown();
            Vec::new()
        }
        Some(Err(other)) => return Err(other.into()),
        None => Vec::new(),
    };
    // The listing leaves the sold-out showings out: those of the movie at the theatres
    // near are added, marked, a theatre where every one is sold out among them.
    let mut sold_out = state.sold_out.at_each(&state.cinema, &around, now).await;
    sold_out.retain(|s| s.movie.id == id);
    let sold_out_products: Vec<String> = sold_out.iter().map(|s| s.product_id.clone()).collect();
    let theatres = facade::add_to_theatres(theatres, &around, sold_out);
    // Nothing near a ZIP code searched: where it plays instead, and how far the
    // nearest theatre is.
    let (elsewhere, nearest) = match &choice.zip {
        Some(zip) if theatres.is_empty() => {
            // Only to trim farther searches: none is offered beyond the farthest.
            let farthest = f64::from(choice.distance.miles()) >= Near::MAX_MILES;
            tokio::join!(elsewhere(&state, &id), async {
                match farthest {
                    false => nearest_theatres(&state, zip).await,
                    true => None,
                }
            })
        }
        _ => (None, None),
    };
    let jar = choice.remember(jar, state.secure_cookies);
    let nowhere = matches!(elsewhere, Some(Elsewhere::SoldOut | Elsewhere::Nowhere));
    let sold_out_everywhere = matches!(elsewhere, Some(Elsewhere::SoldOut));
    let wider = if theatres.is_empty() && !nowhere {
        farther_searches(
            &choice,
            &format!("/movies/{}", movie.id),
            nearest.as_deref(),
        )
    } else {
        Vec::new()
    };
    // One day at a time: the links to the others keep the search.
    let search = match choice.query(choice.distance) {
        query if query.is_empty() => "?".to_owned(),
        query => format!("{query}&"),
    };
    let (dates, mut seats) = one_day(
        &state,
        theatres.iter().flat_map(|g| &g.showtimes),
        query.day.as_deref(),
        now,
        |day| format!("{search}day={day}"),
    )
    .await;
    for product in sold_out_products {
        // Unless the orders service says seats came back since (for a day shown).
        seats.0.entry(product).or_insert(0);
    }
    let shown = |s: &&facade::Showtime| dates.as_ref().is_some_and(|d| d.shows(s));
    let structured = structured::movie_screening_events(
        theatres
            .iter()
            .flat_map(|g| &g.showtimes)
            .filter(shown)
            .map(|s| (s, structured::Status::of(s, &seats))),
        synopsis.as_deref(),
    );
    let page = MoviePage {
        preview: Preview {
            url: format!("{}/movies/{}", state.origin, movie.id),
            title: movie.name.clone(),
            // What a search result or a shared link says of the page: what the movie is
            // about, when the catalogue says, then what the page offers.
            description: match &synopsis {
                Some(synopsis) => format!(
                    "{} Showtimes and tickets at theatres near you.",
                    views::excerpt(synopsis, SYNOPSIS_EXCERPT)
                ),
                None => format!(
                    "Showtimes and tickets for {} ({}, {}) at theatres near you.",
                    movie.name,
                    views::rating(&movie),
                    views::length(&movie)
                ),
            },
        },
        movie: MovieCard::from(&movie),
        synopsis,
        near: choice.near().map(|n| n.to_string()).unwrap_or_default(),
        form: choice.form(),
        wider,
        zip: choice.zip.unwrap_or_default(),
        typed: choice.typed,
        zip_error: choice.error,
        theatres: theatres
            .iter()
            .filter(|group| group.showtimes.iter().any(|s| shown(&s)))
            .map(|group| TheatreSlots {
                theatre: TheatreCard::from(&*group.theatre),
                days: views::by_day(group.showtimes.iter().filter(shown), now, &seats),
            })
            .collect(),
        elsewhere: match &elsewhere {
            Some(Elsewhere::At(theatres)) => theatres
                .iter()
                .take(ELSEWHERE)
                .map(TheatreCard::from)
                .collect(),
            _ => Vec::new(),
        },
        nowhere,
        sold_out_everywhere,
        structured,
        carry: dates.as_ref().map(DayChoice::carried).unwrap_or_default(),
        dates,
    };
    Ok((jar, page).into_response())
}

/// The day a page shows of its `showtimes` (see [`DayChoice`]), and the seats left on
/// that day's: only those are asked for.
async fn one_day<'a>(
    state: &AppState,
    showtimes: impl Iterator<Item = &'a facade::Showtime> + Clone,
    asked: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
    href: impl Fn(&str) -> String,
) -> (Option<DayChoice>, views::SeatsLeft) {
    let dates = DayChoice::new(showtimes.clone(), asked, now, href);
    let shown = showtimes.filter(|s| dates.as_ref().is_some_and(|d| d.shows(s)));
    let seats = seats_left(state, shown).await;
    (dates, seats)
}

/// A movie with its showtimes at one theatre, by day.
struct MovieSlots {
    movie: MovieCard,
    days: Vec<Day>,
}

#[derive(Template, WebTemplate)]
#[template(path = "theatre.html")]
struct TheatrePage {
    /// `…/theatres/{id}` (whatever the day), its title and description.
    preview: Preview,
    name: String,
    address: String,
    directions: String,
    phone: String,
    phone_link: String,
    /// The day shown and the others to choose from, when there are showtimes.
    dates: Option<DayChoice>,
    /// `?day=…` on the links to the movies, when a day was chosen.
    carry: String,
    movies: Vec<MovieSlots>,
    /// The showtimes as schema.org events (JSON-LD), when there are any.
    structured: Option<String>,
}

/// `/theatres/{id}?day=`: the theatre and its movies on one day, each with its
/// showtimes.
pub async fn theatre(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let now = chrono::Utc::now();
    // The listing leaves the sold-out showings out: they are asked for beside it.
    let (theatre, movies, sold_out) = tokio::join!(
        state.cinema.movies().get_theatre(&id),
        state.cinema.showtimes_at_theatre(&id),
        state.sold_out.at(&state.cinema, &id, now)
    );
    let theatre = subject(theatre, "theatre")?;
    let movies = movies?;
    let (dates, mut seats) = one_day(
        &state,
        movies.iter().flat_map(|g| &g.showtimes).chain(&sold_out),
        query.day.as_deref(),
        now,
        |day| format!("?day={day}"),
    )
    .await;
    for showtime in &sold_out {
        // Unless the orders service says seats came back since (for a day shown).
        seats.0.entry(showtime.product_id.clone()).or_insert(0);
    }
    let movies = facade::add_by_movie(movies, sold_out);
    let shown = |s: &&facade::Showtime| dates.as_ref().is_some_and(|d| d.shows(s));
    let structured = structured::screening_events(
        movies
            .iter()
            .flat_map(|g| &g.showtimes)
            .filter(shown)
            .map(|s| (s, structured::Status::of(s, &seats))),
    );
    let address = facade::address(&theatre);
    let page = TheatrePage {
        preview: Preview {
            url: format!("{}/theatres/{}", state.origin, theatre.id),
            title: theatre.name.clone(),
            description: format!("Showtimes and tickets at {}, {address}.", theatre.name),
        },
        name: theatre.name.clone(),
        directions: views::directions(&address),
        address,
        phone: views::phone(&theatre.phone),
        phone_link: theatre.phone.clone(),
        movies: movies
            .iter()
            .filter(|group| group.showtimes.iter().any(|s| shown(&s)))
            .map(|group| MovieSlots {
                movie: MovieCard::from(group.movie.as_ref()),
                days: views::by_day(group.showtimes.iter().filter(shown), now, &seats),
            })
            .collect(),
        structured,
        carry: dates.as_ref().map(DayChoice::carried).unwrap_or_default(),
        dates,
    };
    Ok(page.into_response())
}
