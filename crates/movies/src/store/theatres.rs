use cinema_service::idempotency::Fingerprint;
use sqlx::PgPool;
use sqlx::types::Json;

use crate::Error;
use crate::domain::{
    Address, Auditorium, Coordinates, NewTheatre, Phone, Radius, RequestId, Theatre, TheatreId,
    TimeZone, UsState, ZipCode,
};

pub async fn zip_coordinates(pool: &PgPool, zip: &ZipCode) -> Result<Option<Coordinates>, Error> {
    Ok(sqlx::query_as!(
        Coordinates,
        "SELECT latitude, longitude FROM zip_codes WHERE zip = $1",
        zip.as_str(),
    )
    .fetch_optional(pool)
    .await?)
}

/// Inserts the theatre and its auditoriums, under the request's id and fingerprint when
/// it has one. `None` when a theatre already holds that request id (a racing duplicate
/// made it first): nothing is written.
pub async fn insert_theatre(
    pool: &PgPool,
    new: &NewTheatre,
    coordinates: Coordinates,
    time_zone: TimeZone,
    request: Option<(&RequestId, &Fingerprint)>,
) -> Result<Option<TheatreId>, Error> {
    let mut tx = pool.begin().await?;
    let Some(id) = sqlx::query_scalar!(
        "INSERT INTO theatres
             (name, phone, address_line_1, city, state, zip, latitude, longitude, time_zone,
              request_id, request_fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (request_id) DO NOTHING
         RETURNING id",
        new.name,
        new.phone.as_str(),
        new.address.line_1,
        new.address.city,
        new.address.state.as_str(),
        new.address.zip.as_str(),
        coordinates.latitude,
        coordinates.longitude,
        time_zone.name(),
        request.map(|(id, _)| id.as_str()),
        request.map(|(_, f)| f.as_bytes().as_slice()),
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let rooms: Vec<String> = new.auditoriums.iter().map(|a| a.room.clone()).collect();
    let seats: Vec<i32> = new.auditoriums.iter().map(|a| a.seats as i32).collect();
    sqlx::query!(
        "INSERT INTO auditoriums (theatre_id, room, seats)
         SELECT $1, * FROM unnest($2::text[], $3::int[])",
        id,
        &rooms,
        &seats,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(TheatreId::from_db(id)))
}

/// The theatre a request id created, with what that request asked for.
pub async fn find_theatre_by_request_id(
    pool: &PgPool,
    request_id: &RequestId,
) -> Result<Option<(TheatreId, Fingerprint)>, Error> {
    let Some(row) = sqlx::query!(
        r#"SELECT id, request_fingerprint AS "fingerprint!" FROM theatres WHERE request_id = $1"#,
        request_id.as_str(),
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let fingerprint = Fingerprint::from_db(&row.fingerprint)
        .ok_or_else(|| Error::unexpected(format!("theatre {} has a bad fingerprint", row.id)))?;
    Ok(Some((TheatreId::from_db(row.id), fingerprint)))
}

/// A theatre as the store reads it: a row, or an element of a search's JSON.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub(super) struct TheatreRow {
    id: i64,
    name: String,
    phone: String,
    address_line_1: String,
    city: String,
    state: String,
    zip: String,
    latitude: f64,
    longitude: f64,
    time_zone: String,
    distance_miles: Option<f64>,
    auditoriums: Json<Vec<AuditoriumRow>>,
}

#[derive(Debug, serde::Deserialize)]
struct AuditoriumRow {
    room: String,
    seats: i32,
}

/// A theatre's time zone as stored: one the migrations' check let in, so a bad one is
/// our bug, not the caller's.
pub(super) fn stored_time_zone(theatre_id: i64, raw: &str) -> Result<TimeZone, Error> {
    TimeZone::parse(raw)
        .map_err(|e| Error::unexpected(format!("theatre {theatre_id} has a bad time zone: {e}")))
}

impl TheatreRow {
    pub(super) fn into_theatre(self) -> Result<Theatre, Error> {
        let time_zone = stored_time_zone(self.id, &self.time_zone)?;
        Ok(Theatre {
            time_zone,
            id: TheatreId::from_db(self.id),
            auditoriums: self
                .auditoriums
                .0
                .into_iter()
                .map(|a| Auditorium {
                    room: a.room,
                    seats: a.seats as u32,
                })
                .collect(),
            name: self.name,
            phone: Phone::from_db(self.phone),
            address: Address {
                line_1: self.address_line_1,
                city: self.city,
                state: UsState::from_db(&self.state).ok_or_else(|| {
                    Error::unexpected(format!("theatre {} has state {:?}", self.id, self.state))
                })?,
                zip: ZipCode::from_db(self.zip),
            },
            coordinates: Coordinates {
                latitude: self.latitude,
                longitude: self.longitude,
            },
            distance_miles: self.distance_miles,
        })
    }
}

/// The given theatres with their auditoriums, and their distance from `origin` when
/// given; ordered by distance (when known), then name, then id.
pub async fn theatres_by_ids(
    pool: &PgPool,
    ids: &[TheatreId],
    origin: Option<Coordinates>,
) -> Result<Vec<Theatre>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows = sqlx::query_as!(
        TheatreRow,
        r#"SELECT id, name, phone, address_line_1, city, state, zip, latitude, longitude,
                  time_zone,
                  CASE WHEN $2::float8 IS NULL THEN NULL
                       ELSE great_circle_miles($2, $3::float8, latitude, longitude)
                  END AS distance_miles,
                  (SELECT coalesce(json_agg(json_build_object('room', a.room, 'seats', a.seats)
                                            ORDER BY a.room), '[]')
                   FROM auditoriums a WHERE a.theatre_id = t.id)
                  AS "auditoriums!: Json<Vec<AuditoriumRow>>"
           FROM theatres t WHERE id = ANY($1)
           ORDER BY distance_miles NULLS LAST, name, id"#,
        &ids,
        origin.map(|o| o.latitude),
        origin.map(|o| o.longitude),
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(TheatreRow::into_theatre).collect()
}

/// The theatres within `radius` of the ZIP code, nearest first, then by name and id,
/// each with its distance. `None` when the ZIP code is not known.
pub async fn theatres_near(
    pool: &PgPool,
    zip: &ZipCode,
    radius: Radius,
) -> Result<Option<Vec<Theatre>>, Error> {
    let rows = sqlx::query_as!(
        TheatreRow,
        r#"SELECT t.id, t.name, t.phone, t.address_line_1, t.city, t.state, t.zip,
                  t.latitude, t.longitude, t.time_zone,
                  near.distance_miles,
                  (SELECT coalesce(json_agg(json_build_object('room', a.room, 'seats', a.seats)
                                            ORDER BY a.room), '[]')
                   FROM auditoriums a WHERE a.theatre_id = t.id)
                  AS "auditoriums!: Json<Vec<AuditoriumRow>>"
           FROM theatres_within($1, $2) near
           JOIN theatres t ON t.id = near.theatre_id
           ORDER BY near.distance_miles, t.name, t.id"#,
        zip.as_str(),
        radius.miles(),
    )
    .fetch_all(pool)
    .await?;
    // Only an empty answer needs telling apart "nothing near" from "no such ZIP code".
    if rows.is_empty() && zip_coordinates(pool, zip).await?.is_none() {
        return Ok(None);
    }
    rows.into_iter()
        .map(TheatreRow::into_theatre)
        .collect::<Result<_, _>>()
        .map(Some)
}

/// A page of every theatre, by id: `limit` of them after `after`.
pub async fn theatres_page(
    pool: &PgPool,
    after: Option<TheatreId>,
    limit: u32,
) -> Result<Vec<Theatre>, Error> {
    sqlx::query_as!(
        TheatreRow,
        r#"SELECT t.id, t.name, t.phone, t.address_line_1, t.city, t.state, t.zip,
                  t.latitude, t.longitude, t.time_zone,
                  NULL::float8 AS distance_miles,
                  (SELECT coalesce(json_agg(json_build_object('room', a.room, 'seats', a.seats)
                                            ORDER BY a.room), '[]')
                   FROM auditoriums a WHERE a.theatre_id = t.id)
                  AS "auditoriums!: Json<Vec<AuditoriumRow>>"
           FROM theatres t
           WHERE t.id > $1
           ORDER BY t.id
           LIMIT $2"#,
        after.map_or(0, TheatreId::get),
        i64::from(limit),
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(TheatreRow::into_theatre)
    .collect()
}

/// The seats of one auditorium, if it exists.
pub async fn auditorium_seats(
    pool: &PgPool,
    theatre: TheatreId,
    room: &str,
) -> Result<Option<u32>, Error> {
    let seats = sqlx::query_scalar!(
        "SELECT seats FROM auditoriums WHERE theatre_id = $1 AND room = $2",
        theatre.get(),
        room,
    )
    .fetch_optional(pool)
    .await?;
    Ok(seats.map(|s| s as u32))
}
