use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;

use super::movies::MovieRow;
use super::sqlstate;
use super::theatres::{TheatreRow, stored_time_zone};
use crate::Error;
use crate::domain::{
    CURRENT_WINDOW_DAYS, Movie, MovieId, NewShowtime, Radius, RequestId, Showtime, ShowtimeFilter,
    ShowtimeId, Theatre, TheatreId, Tickets, ZipCode,
};

/// Postgres' SQLSTATE for an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";
const UNIQUE_VIOLATION: &str = "23505";

/// A showtime as the store reads it.
struct ShowtimeRow {
    id: i64,
    movie_id: i64,
    theatre_id: i64,
    room: String,
    start_time: DateTime<Utc>,
    price_cents: i64,
    product_id: String,
}

impl From<ShowtimeRow> for Showtime {
    fn from(row: ShowtimeRow) -> Self {
        Showtime {
            id: ShowtimeId::from_db(row.id),
            movie_id: MovieId::from_db(row.movie_id),
            theatre_id: TheatreId::from_db(row.theatre_id),
            room: row.room,
            start_time: row.start_time,
            price_cents: row.price_cents,
            product_id: row.product_id,
        }
    }
}

/// One page of a showtime search, with the movies and theatres it refers to.
#[derive(Debug)]
pub struct ShowtimesPage {
    /// By (start_time, id); at most the filter's page size.
    pub showtimes: Vec<Showtime>,
    /// Each movie of the page once, by name then id.
    pub movies: Vec<Movie>,
    /// Each theatre of the page once: by distance when searched near a ZIP code, then
    /// by name then id.
    pub theatres: Vec<Theatre>,
    /// Whether showtimes follow the last one of this page.
    pub more: bool,
}

/// The statement [`search_showtimes`] runs; public so the benchmark can run the very
/// same one under pgbench.
pub const SEARCH_SHOWTIMES_SQL: &str = include_str!("search_showtimes.sql");

/// Searches current showtimes in one statement, so a search costs one round trip
/// however many movies and theatres its page names: the page (one row more than
/// asked, to know whether another follows) as arrays, and the page's movies and
/// theatres (with auditoriums and distance) aggregated as JSON.
///
/// `None` when the filter names a ZIP code the service does not know.
pub async fn search_showtimes(
    pool: &PgPool,
    filter: &ShowtimeFilter,
    now: DateTime<Utc>,
) -> Result<Option<ShowtimesPage>, Error> {
    let (zip, radius) = near_parameters(filter.near.as_ref());
    let theatres: Vec<i64> = filter.theatre_ids.iter().map(|id| id.get()).collect();
    let movies: Vec<i64> = filter.movie_ids.iter().map(|id| id.get()).collect();
    let row = sqlx::query_file!(
        "src/store/search_showtimes.sql",
        now,
        now + chrono::Duration::days(CURRENT_WINDOW_DAYS),
        zip,
        radius,
        &theatres,
        &movies,
        filter.after.map(|c| c.start_time),
        filter.after.map(|c| c.id.get()),
        i64::from(filter.page_size.get()),
    )
    .fetch_one(pool)
    .await?;
    if !row.zip_known {
        return Ok(None);
    }
    let n = row.ids.len();
    if [
        row.movie_ids.len(),
        row.theatre_ids.len(),
        row.rooms.len(),
        row.start_times.len(),
        row.price_cents.len(),
        row.product_ids.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(Error::unexpected(
            "a search's showtime columns differ in length",
        ));
    }
    let showtimes = row
        .ids
        .into_iter()
        .zip(row.movie_ids)
        .zip(row.theatre_ids)
        .zip(row.rooms)
        .zip(row.start_times)
        .zip(row.price_cents)
        .zip(row.product_ids)
        .map(
            |((((((id, movie_id), theatre_id), room), start_time), price_cents), product_id)| {
                ShowtimeRow {
                    id,
                    movie_id,
                    theatre_id,
                    room,
                    start_time,
                    price_cents,
                    product_id,
                }
                .into()
            },
        )
        .collect();
    Ok(Some(ShowtimesPage {
        showtimes,
        movies: row
            .movies
            .0
            .into_iter()
            .map(MovieRow::into_movie)
            .collect::<Result<_, _>>()?,
        theatres: row
            .theatres
            .0
            .into_iter()
            .map(TheatreRow::into_theatre)
            .collect::<Result<_, _>>()?,
        more: row.more,
    }))
}

fn near_parameters(near: Option<&(ZipCode, Radius)>) -> (Option<&str>, Option<f64>) {
    match near {
        Some((zip, radius)) => (Some(zip.as_str()), Some(radius.miles())),
        None => (None, None),
    }
}

/// A movie playing (near the ZIP code, if given): whether any of its current showings
/// there is still on sale, or every one is sold out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playing {
    pub movie: Movie,
    pub on_sale: bool,
}

#[derive(Debug, serde::Deserialize)]
struct PlayingRow {
    movie: MovieRow,
    on_sale: bool,
}

/// The movies with at least one current showing (near the ZIP code, if given), by name
/// then id, each said to be on sale or every showing of it sold out. Cancelled showings
/// do not count: a movie whose showings were all called off is not playing. In one
/// statement of a few milliseconds even on a national catalogue; `None` when the ZIP
/// code is not known.
pub async fn playing_movies(
    pool: &PgPool,
    near: Option<&(ZipCode, Radius)>,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Playing>>, Error> {
    let (zip, radius) = near_parameters(near);
    let row = sqlx::query!(
        // Two branches, one of which a ZIP code (or none) turns off before it runs:
        // near, each nearby theatre's showtimes from its own index; anywhere, each
        // movie's first showtime from its own, and whether one is on sale from the
        // partial index of those. (One filter over every showtime, `$3 IS NULL OR
        // theatre_id IN (...)`, had the planner scan them all: 50 - 80 ms on a national
        // catalogue for every home page.)
        r#"WITH playing AS (
               SELECT s.movie_id, bool_or(NOT s.sold_out) AS on_sale
               FROM theatres_within($3::text, $4::float8) near
               JOIN showtimes s ON s.theatre_id = near.theatre_id
               WHERE $3::text IS NOT NULL AND s.cancelled_at IS NULL
                 AND s.start_time > $1 AND s.start_time < $2
               GROUP BY s.movie_id
               UNION ALL
               SELECT m.id, EXISTS (
                   SELECT 1 FROM showtimes s
                   WHERE s.movie_id = m.id AND NOT s.sold_out
                     AND s.start_time > $1 AND s.start_time < $2)
               FROM movies m
               WHERE $3::text IS NULL AND EXISTS (
                   SELECT 1 FROM showtimes s
                   WHERE s.movie_id = m.id AND s.cancelled_at IS NULL
                     AND s.start_time > $1 AND s.start_time < $2)
           )
           SELECT
               ($3::text IS NULL OR EXISTS (SELECT 1 FROM zip_codes WHERE zip = $3::text))
                   AS "zip_known!",
               (SELECT coalesce(json_agg(json_build_object(
                           'movie', json_build_object(
                               'id', m.id, 'name', m.name,
                               'length_minutes', m.length_minutes, 'rating', m.rating,
                               'release_year', m.release_year),
                           'on_sale', p.on_sale)
                       ORDER BY m.name, m.id), '[]')
                FROM movies m JOIN playing p ON p.movie_id = m.id)
                   AS "movies!: Json<Vec<PlayingRow>>""#,
        now,
        now + chrono::Duration::days(CURRENT_WINDOW_DAYS),
        zip,
        radius,
    )
    .fetch_one(pool)
    .await?;
    if !row.zip_known {
        return Ok(None);
    }
    row.movies
        .0
        .into_iter()
        .map(|row| {
            Ok(Playing {
                movie: row.movie.into_movie()?,
                on_sale: row.on_sale,
            })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// What applying an availability event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The showtime already reflects this event or a newer one.
    AlreadyCurrent,
    /// No showtime has this id and product.
    UnknownShowtime,
}

/// Marks a showtime sold out or available, unless an event at least as new was
/// already applied: applying the same event twice, or an old one late, changes nothing.
pub async fn apply_availability(
    pool: &PgPool,
    showtime: ShowtimeId,
    product_id: &str,
    sold_out: bool,
    sequence: i64,
) -> Result<Applied, Error> {
    let changed = sqlx::query!(
        // A cancelled showtime stays off sale whatever a late event says.
        "UPDATE showtimes SET sold_out = $3, availability_seq = $4
         WHERE id = $1 AND product_id = $2 AND availability_seq < $4 AND cancelled_at IS NULL",
        showtime.get(),
        product_id,
        sold_out,
        sequence,
    )
    .execute(pool)
    .await?
    .rows_affected();
    if changed == 1 {
        return Ok(Applied::Changed);
    }
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM showtimes WHERE id = $1 AND product_id = $2)
           AS "exists!""#,
        showtime.get(),
        product_id,
    )
    .fetch_one(pool)
    .await?;
    Ok(if exists {
        Applied::AlreadyCurrent
    } else {
        Applied::UnknownShowtime
    })
}

/// A showtime with what its listing says of it.
#[derive(Debug, Clone)]
pub struct StoredShowtime {
    pub showtime: Showtime,
    /// Nothing of it is on sale (a cancelled showtime is sold out too).
    pub sold_out: bool,
    /// When the auditorium is free again.
    pub busy_until: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A showtime row with its state, as [`StoredShowtime`] reads it.
struct StoredRow {
    id: i64,
    movie_id: i64,
    theatre_id: i64,
    room: String,
    start_time: DateTime<Utc>,
    price_cents: i64,
    product_id: String,
    sold_out: bool,
    busy_until: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
}

impl From<StoredRow> for StoredShowtime {
    fn from(row: StoredRow) -> Self {
        let showtime = ShowtimeRow {
            id: row.id,
            movie_id: row.movie_id,
            theatre_id: row.theatre_id,
            room: row.room,
            start_time: row.start_time,
            price_cents: row.price_cents,
            product_id: row.product_id,
        };
        StoredShowtime {
            showtime: showtime.into(),
            sold_out: row.sold_out,
            busy_until: row.busy_until,
            cancelled_at: row.cancelled_at,
        }
    }
}

/// One showtime by id, with whether it is sold out or cancelled.
pub async fn get_showtime(pool: &PgPool, id: ShowtimeId) -> Result<Option<StoredShowtime>, Error> {
    let row = sqlx::query_as!(
        StoredRow,
        "SELECT id, movie_id, theatre_id, room, start_time, price_cents, product_id, sold_out,
                busy_until, cancelled_at
         FROM showtimes WHERE id = $1",
        id.get(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(StoredShowtime::from))
}

/// Every showtime of `theatre` starting within `days`, by start time then id, whatever
/// its state, or only the sold-out ones: a month of one theatre is a few hundred rows
/// at most, read through `showtimes_theatre_idx`.
pub async fn theatre_schedule(
    pool: &PgPool,
    theatre: TheatreId,
    days: std::ops::Range<DateTime<Utc>>,
    sold_out_only: bool,
) -> Result<Vec<StoredShowtime>, Error> {
    let rows = sqlx::query_as!(
        StoredRow,
        "SELECT id, movie_id, theatre_id, room, start_time, price_cents, product_id, sold_out,
                busy_until, cancelled_at
         FROM showtimes
         WHERE theatre_id = $1 AND start_time >= $2 AND start_time < $3
           AND (sold_out OR NOT $4)
         ORDER BY start_time, id",
        theatre.get(),
        days.start,
        days.end,
        sold_out_only,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(StoredShowtime::from).collect())
}

/// Marks a showtime cancelled (once: the first time is kept) and so no longer on sale.
/// Returns when it was cancelled; `None` for an unknown showtime.
pub async fn cancel_showtime(
    pool: &PgPool,
    id: ShowtimeId,
) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE showtimes SET cancelled_at = coalesce(cancelled_at, now()), sold_out = true
           WHERE id = $1
           RETURNING cancelled_at AS "cancelled_at!""#,
        id.get(),
    )
    .fetch_optional(pool)
    .await?)
}

/// The showtime a CreateShowtime request id made, as [`get_showtime`] reads it (whether
/// it was cancelled since included). Looked up by key, then read by id: the replay of a
/// create is rare enough for the second round trip.
pub async fn find_by_request_id(
    pool: &PgPool,
    id: &RequestId,
) -> Result<Option<StoredShowtime>, Error> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM showtimes WHERE request_id = $1",
        id.as_str(),
    )
    .fetch_optional(pool)
    .await?;
    match found {
        Some(showtime) => get_showtime(pool, ShowtimeId::from_db(showtime)).await,
        None => Ok(None),
    }
}

pub async fn movie_name_and_length(
    pool: &PgPool,
    movie: MovieId,
) -> Result<Option<(String, u16)>, Error> {
    let row = sqlx::query!(
        "SELECT name, length_minutes FROM movies WHERE id = $1",
        movie.get(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.name, row.length_minutes as u16)))
}

/// A showtime already occupying an auditorium at some time in `[start, busy_until)`.
pub async fn overlapping_showtime(
    pool: &PgPool,
    theatre: TheatreId,
    room: &str,
    start: DateTime<Utc>,
    busy_until: DateTime<Utc>,
) -> Result<Option<(ShowtimeId, DateTime<Utc>, DateTime<Utc>)>, Error> {
    let row = sqlx::query!(
        "SELECT id, start_time, busy_until FROM showtimes
         WHERE theatre_id = $1 AND room = $2 AND cancelled_at IS NULL
           AND tstzrange(start_time, busy_until) && tstzrange($3, $4)
         LIMIT 1",
        theatre.get(),
        room,
        start,
        busy_until,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (ShowtimeId::from_db(row.id), row.start_time, row.busy_until)))
}

/// The showtime id reserved for a request id, reserved now if it has none: it is the
/// product's external reference at the orders service, which must be known (and the
/// same for every retry of the request) before the row is written.
pub async fn reserve_showtime_id(pool: &PgPool, request: &RequestId) -> Result<ShowtimeId, Error> {
    // A racing duplicate's reservation may commit between this statement's snapshot
    // and its insert: then neither half sees a row, and the next run finds it.
    for _ in 0..3 {
        let id = sqlx::query_scalar!(
            r#"WITH reserved AS (
                   INSERT INTO showtime_reservations (request_id, showtime_id)
                   VALUES ($1, nextval(pg_get_serial_sequence('showtimes', 'id')))
                   ON CONFLICT (request_id) DO NOTHING
                   RETURNING showtime_id)
               SELECT showtime_id AS "showtime_id!" FROM reserved
               UNION ALL
               SELECT showtime_id FROM showtime_reservations WHERE request_id = $1
               LIMIT 1"#,
            request.as_str(),
        )
        .fetch_optional(pool)
        .await?;
        if let Some(id) = id {
            return Ok(ShowtimeId::from_db(id));
        }
    }
    Err(Error::Contention(
        "the showtime id reservation kept racing; retry the call".into(),
    ))
}

/// What writing a showtime did.
#[derive(Debug)]
pub enum Inserted {
    Created(Showtime),
    /// A racing call with the same request id wrote it first.
    AlreadyThere,
}

pub async fn insert_showtime(
    pool: &PgPool,
    id: ShowtimeId,
    new: &NewShowtime,
    busy_until: DateTime<Utc>,
    product_id: &str,
) -> Result<Inserted, Error> {
    let row = sqlx::query_as!(
        ShowtimeRow,
        "INSERT INTO showtimes
             (id, movie_id, theatre_id, room, start_time, busy_until, price_cents, product_id,
              request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, movie_id, theatre_id, room, start_time, price_cents, product_id",
        id.get(),
        new.movie_id.get(),
        new.theatre_id.get(),
        new.room,
        new.start_time,
        busy_until,
        new.price_cents,
        product_id,
        new.request_id.as_str(),
    )
    .fetch_one(pool)
    .await;
    match row {
        Ok(row) => Ok(Inserted::Created(row.into())),
        Err(e) => {
            let constraint = e
                .as_database_error()
                .and_then(|d| d.constraint())
                .unwrap_or_default()
                .to_owned();
            match sqlstate(&e).as_deref() {
                Some(UNIQUE_VIOLATION)
                    if constraint == "showtimes_pkey"
                        || constraint == "showtimes_request_id_key" =>
                {
                    Ok(Inserted::AlreadyThere)
                }
                Some(EXCLUSION_VIOLATION) | Some(UNIQUE_VIOLATION) => Err(Error::refused(
                    cinema_service::error::Reason::AuditoriumBusy,
                    format!("auditorium {:?} is already booked at that time", new.room),
                )),
                _ => Err(e.into()),
            }
        }
    }
}

/// Up to `limit` showtimes after `after` (by id) whose products were registered before
/// the orders service kept the door's rules and whose movie is not over yet: the
/// tickets to register again, as CreateShowtime registered them.
pub async fn door_rules_pending(
    pool: &PgPool,
    after: Option<ShowtimeId>,
    limit: i64,
) -> Result<Vec<Tickets>, Error> {
    let rows = sqlx::query!(
        "SELECT s.id, m.name AS movie_name, m.length_minutes, s.theatre_id,
                t.name AS theatre_name, t.time_zone, s.room, s.start_time, a.seats,
                s.price_cents
         FROM showtimes s
         JOIN movies m ON m.id = s.movie_id
         JOIN theatres t ON t.id = s.theatre_id
         JOIN auditoriums a ON a.theatre_id = s.theatre_id AND a.room = s.room
         WHERE NOT s.door_rules_registered AND s.cancelled_at IS NULL
           AND s.id > $1
           AND s.start_time + make_interval(mins => m.length_minutes) > now()
         ORDER BY s.id
         LIMIT $2",
        after.map_or(0, ShowtimeId::get),
        limit,
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Tickets {
                showtime_id: ShowtimeId::from_db(row.id),
                movie_name: row.movie_name,
                length_minutes: row.length_minutes as u16,
                theatre_id: TheatreId::from_db(row.theatre_id),
                theatre_name: row.theatre_name,
                time_zone: stored_time_zone(row.theatre_id, &row.time_zone)?,
                room: row.room,
                start_time: row.start_time,
                seats: row.seats as u32,
                price_cents: row.price_cents,
            })
        })
        .collect()
}

/// Marks a showtime's product as carrying the door's rules.
pub async fn door_rules_registered(pool: &PgPool, showtime: ShowtimeId) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE showtimes SET door_rules_registered = true WHERE id = $1",
        showtime.get(),
    )
    .execute(pool)
    .await?;
    Ok(())
}
