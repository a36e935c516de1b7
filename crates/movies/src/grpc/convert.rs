//! Wire (proto) types to domain types and back.

use chrono::{DateTime, Utc};
use cinema_proto::movies::v1 as pb;
use cinema_service::domain::{instant, timestamp};
use cinema_service::error::AtField;

use crate::domain::{
    Address, Auditorium, Coordinates, Cursor, MAX_FILTER_IDS, Movie, MovieId, MovieUpdate,
    NewMovie, NewShowtime, NewTheatre, PageSize, Radius, Rating, RequestId, Showtime,
    ShowtimeFilter, Theatre, TheatreId, TimeZone, ValidationError, ZipCode, parse_ids,
};

/// A ZIP code filter with its radius; `None` when no ZIP was sent.
pub fn near(
    zip: Option<&str>,
    radius: Option<f64>,
) -> Result<Option<(ZipCode, Radius)>, ValidationError> {
    // A ZIP that is present must be one: a blank one is a mistake, not "anywhere".
    match zip {
        Some(zip) => Ok(Some((
            ZipCode::parse(zip).at("zip_code")?,
            Radius::parse(radius).at("radius_miles")?,
        ))),
        None if radius.is_some() => Err(ValidationError::of(
            "radius_miles",
            "radius_miles needs a zip_code to measure from",
        )),
        None => Ok(None),
    }
}

pub fn showtime_filter(req: &pb::GetShowtimesRequest) -> Result<ShowtimeFilter, ValidationError> {
    Ok(ShowtimeFilter {
        near: near(req.zip_code.as_deref(), req.radius_miles)?,
        theatre_ids: parse_ids(
            "theatre_ids",
            &req.theatre_ids,
            MAX_FILTER_IDS,
            TheatreId::parse,
        )
        .at("theatre_ids")?,
        movie_ids: parse_ids("movie_ids", &req.movie_ids, MAX_FILTER_IDS, MovieId::parse)
            .at("movie_ids")?,
        page_size: PageSize::parse(req.page_size).at("page_size")?,
        after: Cursor::parse(&req.page_token).at("page_token")?,
    })
}

fn rating(raw: i32) -> Option<Rating> {
    match pb::Rating::try_from(raw).ok()? {
        pb::Rating::G => Some(Rating::G),
        pb::Rating::Pg => Some(Rating::Pg),
        pb::Rating::Pg13 => Some(Rating::Pg13),
        pb::Rating::R => Some(Rating::R),
        pb::Rating::Nc17 => Some(Rating::Nc17),
        pb::Rating::Unspecified => None,
    }
}

/// An optional idempotency key: empty means the caller wants none.
pub fn optional_request_id(raw: &str) -> Result<Option<RequestId>, ValidationError> {
    match raw {
        "" => Ok(None),
        raw => RequestId::parse(raw).map(Some).at("request_id"),
    }
}

pub fn new_movie(req: &pb::CreateMovieRequest) -> Result<NewMovie, ValidationError> {
    NewMovie::parse(
        &req.name,
        req.length_minutes,
        rating(req.rating),
        &req.synopsis,
        req.release_year,
    )
}

pub fn movie_update(
    req: &pb::UpdateMovieRequest,
) -> Result<(MovieId, MovieUpdate), ValidationError> {
    let id = MovieId::parse(&req.id).at("id")?;
    Ok((
        id,
        MovieUpdate::parse(req.synopsis.as_deref(), req.release_year)?,
    ))
}

pub fn new_theatre(req: &pb::CreateTheatreRequest) -> Result<NewTheatre, ValidationError> {
    let address = req
        .address
        .as_ref()
        .ok_or_else(|| ValidationError::of("address", "address is required"))?;
    let address = Address::parse(
        &address.line_1,
        &address.city,
        &address.state,
        &address.zip_code,
    )
    .within("address")?;
    let auditoriums = req
        .auditoriums
        .iter()
        .enumerate()
        .map(|(i, a)| Auditorium::parse(&a.room, a.seats).at(format!("auditoriums[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let coordinates = match (req.latitude, req.longitude) {
        (Some(lat), Some(lon)) => Some(Coordinates::parse(lat, lon).at("latitude")?),
        (None, None) => None,
        _ => {
            return Err(ValidationError::new(
                "send both latitude and longitude, or neither to use the ZIP code's",
            ));
        }
    };
    let time_zone = req
        .time_zone
        .as_deref()
        .map(TimeZone::parse)
        .transpose()
        .at("time_zone")?;
    NewTheatre::parse(
        &req.name,
        &req.phone,
        address,
        auditoriums,
        coordinates,
        time_zone,
    )
}

pub fn new_showtime(
    req: &pb::CreateShowtimeRequest,
    now: DateTime<Utc>,
) -> Result<NewShowtime, ValidationError> {
    NewShowtime::parse(
        &req.movie_id,
        &req.theatre_id,
        &req.room,
        req.start_time
            .as_ref()
            .map(|t| instant("start_time", t))
            .transpose()?,
        req.price_cents,
        &req.request_id,
        now,
    )
}

pub fn movie(movie: &Movie) -> pb::Movie {
    pb::Movie {
        id: movie.id.to_string(),
        name: movie.name.clone(),
        length_minutes: u32::from(movie.length_minutes),
        rating: match movie.rating {
            Rating::G => pb::Rating::G,
            Rating::Pg => pb::Rating::Pg,
            Rating::Pg13 => pb::Rating::Pg13,
            Rating::R => pb::Rating::R,
            Rating::Nc17 => pb::Rating::Nc17,
        }
        .into(),
        release_year: movie.release_year.map_or(0, u32::from),
    }
}

pub fn theatre(theatre: &Theatre) -> pb::Theatre {
    pb::Theatre {
        id: theatre.id.to_string(),
        name: theatre.name.clone(),
        phone: theatre.phone.as_str().to_owned(),
        address: Some(pb::Address {
            line_1: theatre.address.line_1.clone(),
            city: theatre.address.city.clone(),
            state: theatre.address.state.as_str().to_owned(),
            zip_code: theatre.address.zip.as_str().to_owned(),
        }),
        latitude: theatre.coordinates.latitude,
        longitude: theatre.coordinates.longitude,
        auditoriums: theatre
            .auditoriums
            .iter()
            .map(|a| pb::Auditorium {
                room: a.room.clone(),
                seats: a.seats,
            })
            .collect(),
        time_zone: theatre.time_zone.name().to_owned(),
        // Rounded: sub-metre precision would only add noise to the wire.
        distance_miles: theatre
            .distance_miles
            .map(|d| (d * 1000.0).round() / 1000.0),
    }
}

pub fn showtime(showtime: &Showtime) -> pb::Showtime {
    pb::Showtime {
        id: showtime.id.to_string(),
        movie_id: showtime.movie_id.to_string(),
        theatre_id: showtime.theatre_id.to_string(),
        start_time: Some(timestamp(showtime.start_time)),
        auditorium: showtime.room.clone(),
        product_id: showtime.product_id.clone(),
        price_cents: showtime.price_cents,
        doors_open: Some(timestamp(showtime.doors_open())),
    }
}
