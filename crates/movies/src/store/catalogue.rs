//! A national-scale catalogue for benchmarks: thousands of theatres at real ZIP codes,
//! each with two rooms showing three films a day for two weeks. Written straight into
//! the movies database in a few set-based statements (half a million showtimes through
//! CreateShowtime would take the better part of an hour), so its showtimes are for
//! searching, not for sale: they have no product at the orders service.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Error;

/// Theatre names start with this, which is how a second run finds the first one's.
const NAME_PREFIX: &str = "National Cinema";

/// The films every national theatre plays (name, length in minutes, rating): each is
/// shorter than the four hours between two shows in a room, cleaning included.
const FILMS: &[(&str, i32, &str)] = &[
    ("National: The Long Weekend", 104, "PG-13"),
    ("National: Harbour Lights", 118, "PG"),
    ("National: Iron Meridian", 142, "PG-13"),
    ("National: The Quiet Orchard", 96, "G"),
    ("National: Night Shift at the Observatory", 127, "R"),
    ("National: Paper Boats", 88, "G"),
    ("National: Salt and Signal", 111, "PG-13"),
    ("National: Where the Tracks End", 133, "R"),
    ("National: Small Hours", 99, "PG"),
    ("National: A Map of the Coast", 121, "PG"),
    ("National: Lanterns", 107, "PG-13"),
    ("National: The Ninth Inning", 115, "PG"),
];

/// What [`generate_national_catalogue`] found or wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueSize {
    pub theatres: i64,
    pub showtimes: i64,
}

/// The national catalogue already in the database, if an earlier run made one.
pub async fn national_catalogue(pool: &PgPool) -> Result<CatalogueSize, Error> {
    let row = sqlx::query!(
        r#"SELECT count(DISTINCT t.id) AS "theatres!", count(s.id) AS "showtimes!"
           FROM theatres t LEFT JOIN showtimes s ON s.theatre_id = t.id
           WHERE t.name LIKE $1 || ' %'"#,
        NAME_PREFIX,
    )
    .fetch_one(pool)
    .await?;
    Ok(CatalogueSize {
        theatres: row.theatres,
        showtimes: row.showtimes,
    })
}

/// Writes `theatres` theatres, one at each of that many ZIP codes spread over the whole
/// list (a fixed pseudo-random pick, the same every run), two rooms each, and three
/// shows a day in each room (1, 5 and 9 pm local time) for `days` days from `from`'s
/// date; then refreshes the planner's statistics. One transaction: all or nothing.
pub async fn generate_national_catalogue(
    pool: &PgPool,
    theatres: i64,
    days: i32,
    from: DateTime<Utc>,
) -> Result<CatalogueSize, Error> {
    let mut tx = pool.begin().await?;
    let names: Vec<String> = FILMS.iter().map(|f| f.0.to_owned()).collect();
    let lengths: Vec<i32> = FILMS.iter().map(|f| f.1).collect();
    let ratings: Vec<String> = FILMS.iter().map(|f| f.2.to_owned()).collect();
    let films: Vec<i64> = sqlx::query_scalar!(
        "INSERT INTO movies (name, length_minutes, rating)
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
         RETURNING id",
        &names,
        &lengths,
        &ratings,
    )
    .fetch_all(&mut *tx)
    .await?;
    // The state's main time zone, as the time-zone migration backfilled existing rows.
    let written = sqlx::query_scalar!(
        r#"WITH picked AS (
             SELECT z.*, row_number() OVER (ORDER BY md5(z.zip)) AS n
             FROM zip_codes z
             ORDER BY md5(z.zip)
             LIMIT $1
         )
         INSERT INTO theatres (name, phone, address_line_1, city, state, zip, latitude,
                               longitude, time_zone)
         SELECT $2 || ' ' || p.city || ' #' || p.n, '+1617' || lpad(p.n::text, 7, '0'),
                p.n || ' Main Street', p.city, p.state, p.zip, p.latitude, p.longitude,
                CASE
                    WHEN p.state IN ('AL','AR','IL','IA','LA','MN','MS','MO','OK','WI',
                                     'TN','KS','NE','ND','SD','TX') THEN 'America/Chicago'
                    WHEN p.state = 'AZ' THEN 'America/Phoenix'
                    WHEN p.state IN ('CO','MT','NM','UT','WY','ID') THEN 'America/Denver'
                    WHEN p.state IN ('CA','NV','OR','WA') THEN 'America/Los_Angeles'
                    WHEN p.state = 'AK' THEN 'America/Anchorage'
                    WHEN p.state = 'HI' THEN 'Pacific/Honolulu'
                    WHEN p.state = 'PR' THEN 'America/Puerto_Rico'
                    ELSE 'America/New_York'
                END
         FROM picked p
         RETURNING id"#,
        theatres,
        NAME_PREFIX,
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO auditoriums (theatre_id, room, seats)
         SELECT t.id, r.room, r.seats
         FROM unnest($1::bigint[]) AS t(id)
         CROSS JOIN (VALUES ('1', 180), ('2', 120)) AS r(room, seats)",
        &written,
    )
    .execute(&mut *tx)
    .await?;
    // Each room shows a different film at each slot of each day, cycling through them.
    let showtimes = sqlx::query!(
        "INSERT INTO showtimes (movie_id, theatre_id, room, start_time, busy_until,
                                price_cents, product_id, request_id)
         SELECT f.id, a.theatre_id, a.room, s.start_time,
                s.start_time + make_interval(mins => f.length_minutes + 20), 1350,
                'national-' || a.theatre_id || '-' || a.room || '-' || d.day || '-' || slot.n,
                'national-' || a.theatre_id || '-' || a.room || '-' || d.day || '-' || slot.n
         FROM auditoriums a
         JOIN theatres t ON t.id = a.theatre_id
         CROSS JOIN generate_series(0, $2::int - 1) AS d(day)
         CROSS JOIN generate_series(0, 2) AS slot(n)
         CROSS JOIN LATERAL (
             SELECT (($3::timestamptz AT TIME ZONE t.time_zone)::date + d.day
                     + make_time(13 + 4 * slot.n, 0, 0)) AT TIME ZONE t.time_zone AS start_time
         ) s
         JOIN movies f ON f.id = ($4::bigint[])[1 + (a.theatre_id + a.room::int * 5
                                                     + d.day * 3 + slot.n)
                                                    % cardinality($4::bigint[])]
         WHERE a.theatre_id = ANY($1::bigint[])",
        &written,
        days,
        from,
        &films,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    super::analyze(pool).await?;
    Ok(CatalogueSize {
        theatres: written.len() as i64,
        showtimes: showtimes as i64,
    })
}

/// ZIP codes of the national catalogue's theatres, for searches that find something.
pub async fn national_theatre_zips(pool: &PgPool, limit: i64) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar!(
        "SELECT zip FROM theatres WHERE name LIKE $1 || ' %' ORDER BY md5(zip) LIMIT $2",
        NAME_PREFIX,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// How many ZIP codes the database knows: the national catalogue puts one theatre in
/// each of as many as it is asked for.
pub async fn count_zip_codes(pool: &PgPool) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM zip_codes"#)
            .fetch_one(pool)
            .await?,
    )
}

/// Every showtime in the database, national or not.
pub async fn count_showtimes(pool: &PgPool) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM showtimes"#)
            .fetch_one(pool)
            .await?,
    )
}
