use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::sqlstate;
use crate::Error;
use crate::domain::{
    BoundingBox, CURRENT_WINDOW_DAYS, Coordinates, MovieId, NewShowtime, Radius, RequestId,
    Showtime, ShowtimeFilter, ShowtimeId, TheatreId,
};

/// Postgres' SQLSTATE for an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";
const UNIQUE_VIOLATION: &str = "23505";

type ShowtimeRow = (i64, i64, i64, String, DateTime<Utc>, i64, String);
/// A showtime row followed by its sold-out flag.
type ShowtimeStatusRow = (i64, i64, i64, String, DateTime<Utc>, i64, String, bool);

const SHOWTIME_COLUMNS: &str =
    "s.id, s.movie_id, s.theatre_id, s.room, s.start_time, s.price_cents, s.product_id";

fn showtime(
    (id, movie, theatre, room, start_time, price_cents, product_id): ShowtimeRow,
) -> Showtime {
    Showtime {
        id: ShowtimeId::from_db(id),
        movie_id: MovieId::from_db(movie),
        theatre_id: TheatreId::from_db(theatre),
        room,
        start_time,
        price_cents,
        product_id,
    }
}

/// Where a search is centred, and how far it reaches.
#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub origin: Coordinates,
    pub radius: Radius,
}

/// Binds the parameters shared by the "current showtimes" searches: $1 now, $2 the end
/// of the window, $3..$6 the bounding box, $7/$8 the origin, $9 the radius (all NULL
/// without a ZIP), $10 theatre ids, $11 movie ids (empty: any).
const CURRENT_SHOWTIMES_WHERE: &str = "
    s.start_time > $1 AND s.start_time < $2 AND NOT s.sold_out
    AND ($9::float8 IS NULL OR (
        t.latitude BETWEEN $3 AND $4 AND t.longitude BETWEEN $5 AND $6
        AND great_circle_miles($7, $8, t.latitude, t.longitude) <= $9))
    AND (cardinality($10::bigint[]) = 0 OR s.theatre_id = ANY($10))
    AND (cardinality($11::bigint[]) = 0 OR s.movie_id = ANY($11))";

fn bind_current<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    now: DateTime<Utc>,
    near: Option<Near>,
    theatres: Vec<i64>,
    movies: Vec<i64>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let bbox =
        near.map(|n| BoundingBox::around(n.origin.latitude, n.origin.longitude, n.radius.miles()));
    query
        .bind(now)
        .bind(now + chrono::Duration::days(CURRENT_WINDOW_DAYS))
        .bind(bbox.map(|b| b.min_latitude))
        .bind(bbox.map(|b| b.max_latitude))
        .bind(bbox.map(|b| b.min_longitude))
        .bind(bbox.map(|b| b.max_longitude))
        .bind(near.map(|n| n.origin.latitude))
        .bind(near.map(|n| n.origin.longitude))
        .bind(near.map(|n| n.radius.miles()))
        .bind(theatres)
        .bind(movies)
}

/// One page of current showtimes matching the filter, by (start_time, id), with one
/// extra row when there is a next page.
pub async fn current_showtimes(
    pool: &PgPool,
    filter: &ShowtimeFilter,
    near: Option<Near>,
    now: DateTime<Utc>,
) -> Result<Vec<Showtime>, Error> {
    let sql = format!(
        "SELECT {SHOWTIME_COLUMNS} FROM showtimes s JOIN theatres t ON t.id = s.theatre_id
         WHERE {CURRENT_SHOWTIMES_WHERE}
           AND ($12::timestamptz IS NULL OR (s.start_time, s.id) > ($12, $13))
         ORDER BY s.start_time, s.id
         LIMIT $14"
    );
    let query = bind_current(
        sqlx::query_as::<_, ShowtimeRow>(&sql),
        now,
        near,
        filter.theatre_ids.iter().map(|id| id.get()).collect(),
        filter.movie_ids.iter().map(|id| id.get()).collect(),
    );
    let rows = query
        .bind(filter.after.map(|c| c.start_time))
        .bind(filter.after.map(|c| c.id.get()))
        .bind(i64::from(filter.page_size.get()) + 1)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(showtime).collect())
}

/// The ids of movies with at least one current showtime (near the origin, if given).
pub async fn current_movie_ids(
    pool: &PgPool,
    near: Option<Near>,
    now: DateTime<Utc>,
) -> Result<Vec<MovieId>, Error> {
    let sql = format!(
        "SELECT DISTINCT s.movie_id FROM showtimes s JOIN theatres t ON t.id = s.theatre_id
         WHERE {CURRENT_SHOWTIMES_WHERE}"
    );
    let rows: Vec<(i64,)> = bind_current(sqlx::query_as(&sql), now, near, vec![], vec![])
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(id,)| MovieId::from_db(id)).collect())
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
    let changed = sqlx::query(
        "UPDATE showtimes SET sold_out = $3, availability_seq = $4
         WHERE id = $1 AND product_id = $2 AND availability_seq < $4",
    )
    .bind(showtime.get())
    .bind(product_id)
    .bind(sold_out)
    .bind(sequence)
    .execute(pool)
    .await?
    .rows_affected();
    if changed == 1 {
        return Ok(Applied::Changed);
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM showtimes WHERE id = $1 AND product_id = $2)",
    )
    .bind(showtime.get())
    .bind(product_id)
    .fetch_one(pool)
    .await?;
    Ok(if exists {
        Applied::AlreadyCurrent
    } else {
        Applied::UnknownShowtime
    })
}

/// One showtime by id, with whether it is sold out.
pub async fn get_showtime(
    pool: &PgPool,
    id: ShowtimeId,
) -> Result<Option<(Showtime, bool)>, Error> {
    let row: Option<ShowtimeStatusRow> = sqlx::query_as(&format!(
        "SELECT {SHOWTIME_COLUMNS}, s.sold_out FROM showtimes s WHERE s.id = $1"
    ))
    .bind(id.get())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(id, movie, theatre, room, start, price, product, sold_out)| {
            (
                showtime((id, movie, theatre, room, start, price, product)),
                sold_out,
            )
        },
    ))
}

/// Serialises CreateShowtime calls that carry the same request id.
pub async fn lock_request_id(conn: &mut PgConnection, id: &RequestId) -> Result<(), Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_by_request_id(
    conn: &mut PgConnection,
    id: &RequestId,
) -> Result<Option<Showtime>, Error> {
    let row: Option<ShowtimeRow> = sqlx::query_as(&format!(
        "SELECT {SHOWTIME_COLUMNS} FROM showtimes s WHERE s.request_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(showtime))
}

pub async fn movie_name_and_length(
    conn: &mut PgConnection,
    movie: MovieId,
) -> Result<Option<(String, u16)>, Error> {
    let row: Option<(String, i32)> =
        sqlx::query_as("SELECT name, length_minutes FROM movies WHERE id = $1")
            .bind(movie.get())
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(name, length)| (name, length as u16)))
}

/// A showtime already occupying an auditorium at some time in `[start, busy_until)`.
pub async fn overlapping_showtime(
    conn: &mut PgConnection,
    theatre: TheatreId,
    room: &str,
    start: DateTime<Utc>,
    busy_until: DateTime<Utc>,
) -> Result<Option<(ShowtimeId, DateTime<Utc>, DateTime<Utc>)>, Error> {
    let row: Option<(i64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, start_time, busy_until FROM showtimes
         WHERE theatre_id = $1 AND room = $2
           AND tstzrange(start_time, busy_until) && tstzrange($3, $4)
         LIMIT 1",
    )
    .bind(theatre.get())
    .bind(room)
    .bind(start)
    .bind(busy_until)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, s, e)| (ShowtimeId::from_db(id), s, e)))
}

/// Reserves a showtime id before the row exists: it is the product's external
/// reference at the orders service, which must be known before the row is written.
pub async fn reserve_showtime_id(conn: &mut PgConnection) -> Result<ShowtimeId, Error> {
    let id: i64 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('showtimes', 'id'))")
        .fetch_one(conn)
        .await?;
    Ok(ShowtimeId::from_db(id))
}

pub async fn insert_showtime(
    conn: &mut PgConnection,
    id: ShowtimeId,
    new: &NewShowtime,
    busy_until: DateTime<Utc>,
    product_id: &str,
) -> Result<Showtime, Error> {
    let row: ShowtimeRow = sqlx::query_as(&format!(
        "INSERT INTO showtimes AS s
             (id, movie_id, theatre_id, room, start_time, busy_until, price_cents, product_id, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING {SHOWTIME_COLUMNS}"
    ))
    .bind(id.get())
    .bind(new.movie_id.get())
    .bind(new.theatre_id.get())
    .bind(&new.room)
    .bind(new.start_time)
    .bind(busy_until)
    .bind(new.price_cents)
    .bind(product_id)
    .bind(new.request_id.as_str())
    .fetch_one(conn)
    .await
    .map_err(|e| match sqlstate(&e).as_deref() {
        Some(EXCLUSION_VIOLATION) | Some(UNIQUE_VIOLATION) => Error::failed_precondition(format!(
            "auditorium {:?} is already booked at that time",
            new.room
        )),
        _ => e.into(),
    })?;
    Ok(showtime(row))
}
