use sqlx::{PgConnection, PgPool};

use crate::Error;
use crate::domain::{
    Address, Auditorium, Coordinates, NewTheatre, Theatre, TheatreId, TimeZone, UsPhone, ZipCode,
};

pub async fn zip_coordinates(pool: &PgPool, zip: &ZipCode) -> Result<Option<Coordinates>, Error> {
    let row: Option<(f64, f64)> =
        sqlx::query_as("SELECT latitude, longitude FROM zip_codes WHERE zip = $1")
            .bind(zip.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(latitude, longitude)| Coordinates {
        latitude,
        longitude,
    }))
}

pub async fn insert_theatre(
    pool: &PgPool,
    new: &NewTheatre,
    coordinates: Coordinates,
    time_zone: TimeZone,
) -> Result<TheatreId, Error> {
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO theatres
             (name, phone, address_line_1, city, state, zip, latitude, longitude, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id",
    )
    .bind(&new.name)
    .bind(new.phone.as_str())
    .bind(&new.address.line_1)
    .bind(&new.address.city)
    .bind(&new.address.state)
    .bind(new.address.zip.as_str())
    .bind(coordinates.latitude)
    .bind(coordinates.longitude)
    .bind(time_zone.name())
    .fetch_one(&mut *tx)
    .await?;
    let rooms: Vec<&str> = new.auditoriums.iter().map(|a| a.room.as_str()).collect();
    let seats: Vec<i32> = new.auditoriums.iter().map(|a| a.seats as i32).collect();
    sqlx::query(
        "INSERT INTO auditoriums (theatre_id, room, seats)
         SELECT $1, * FROM unnest($2::text[], $3::int[])",
    )
    .bind(id)
    .bind(&rooms)
    .bind(&seats)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(TheatreId::from_db(id))
}

#[derive(sqlx::FromRow)]
struct TheatreRow {
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
}

/// The given theatres with their auditoriums, and their distance from `origin` when
/// given; ordered by distance (when known), then name, then id.
pub async fn theatres_by_ids(
    pool: &PgPool,
    ids: &[TheatreId],
    origin: Option<Coordinates>,
) -> Result<Vec<Theatre>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows: Vec<TheatreRow> = sqlx::query_as(
        "SELECT id, name, phone, address_line_1, city, state, zip, latitude, longitude,
                time_zone,
                CASE WHEN $2::float8 IS NULL THEN NULL
                     ELSE great_circle_miles($2, $3, latitude, longitude) END AS distance_miles
         FROM theatres WHERE id = ANY($1)
         ORDER BY distance_miles NULLS LAST, name, id",
    )
    .bind(&ids)
    .bind(origin.map(|o| o.latitude))
    .bind(origin.map(|o| o.longitude))
    .fetch_all(pool)
    .await?;
    let auditoriums: Vec<(i64, String, i32)> = sqlx::query_as(
        "SELECT theatre_id, room, seats FROM auditoriums WHERE theatre_id = ANY($1)
         ORDER BY theatre_id, room",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let time_zone = TimeZone::parse(&row.time_zone).map_err(|e| {
                Error::unexpected(format!("theatre {} has a bad time zone: {e}", row.id))
            })?;
            Ok(Theatre {
                time_zone,
                id: TheatreId::from_db(row.id),
                auditoriums: auditoriums
                    .iter()
                    .filter(|(theatre, _, _)| *theatre == row.id)
                    .map(|(_, room, seats)| Auditorium {
                        room: room.clone(),
                        seats: *seats as u32,
                    })
                    .collect(),
                name: row.name,
                phone: UsPhone::from_db(row.phone),
                address: Address {
                    line_1: row.address_line_1,
                    city: row.city,
                    state: row.state,
                    zip: ZipCode::from_db(row.zip),
                },
                coordinates: Coordinates {
                    latitude: row.latitude,
                    longitude: row.longitude,
                },
                distance_miles: row.distance_miles,
            })
        })
        .collect()
}

/// The seats of one auditorium, if it exists.
pub async fn auditorium_seats(
    conn: &mut PgConnection,
    theatre: TheatreId,
    room: &str,
) -> Result<Option<u32>, Error> {
    let seats: Option<i32> =
        sqlx::query_scalar("SELECT seats FROM auditoriums WHERE theatre_id = $1 AND room = $2")
            .bind(theatre.get())
            .bind(room)
            .fetch_optional(conn)
            .await?;
    Ok(seats.map(|s| s as u32))
}

pub async fn theatre_exists(conn: &mut PgConnection, theatre: TheatreId) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM theatres WHERE id = $1)")
            .bind(theatre.get())
            .fetch_one(conn)
            .await?,
    )
}
