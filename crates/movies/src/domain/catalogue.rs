//! Movies, theatres, auditoriums and showtimes.

use chrono::{DateTime, TimeDelta, Utc};

use cinema_service::text::{optional_text, quote, required_text as bounded_text};

use super::{MovieId, Phone, RequestId, TheatreId, TimeZone, UsState, ValidationError, ZipCode};
use cinema_service::error::AtField;
use cinema_service::idempotency::Fingerprint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    G,
    Pg,
    Pg13,
    R,
    Nc17,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::G => "G",
            Self::Pg => "PG",
            Self::Pg13 => "PG-13",
            Self::R => "R",
            Self::Nc17 => "NC-17",
        }
    }
    pub fn from_db(raw: &str) -> Option<Self> {
        [Self::G, Self::Pg, Self::Pg13, Self::R, Self::Nc17]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

/// The years a release year can be: from the first films to far enough ahead for any
/// film announced.
pub const RELEASE_YEARS: std::ops::RangeInclusive<u32> = 1888..=2100;

/// A release year as the API sends it, where 0 is not known.
fn parse_release_year(raw: u32) -> Result<Option<u16>, ValidationError> {
    match raw {
        0 => Ok(None),
        year if RELEASE_YEARS.contains(&year) => Ok(Some(year as u16)),
        year => Err(ValidationError::of(
            "release_year",
            format!("release_year must be 1888 to 2100 (or 0, not known), got {year}"),
        )),
    }
}

/// A validated CreateMovie request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMovie {
    pub name: String,
    pub length_minutes: u16,
    pub rating: Rating,
    /// One paragraph, at most [`NewMovie::MAX_SYNOPSIS`] characters.
    pub synopsis: Option<String>,
    /// In [`RELEASE_YEARS`].
    pub release_year: Option<u16>,
}

impl NewMovie {
    pub const MAX_SYNOPSIS: usize = 1000;

    /// A blank `synopsis` is none, and so is a `release_year` of 0.
    pub fn parse(
        name: &str,
        length_minutes: u32,
        rating: Option<Rating>,
        synopsis: &str,
        release_year: u32,
    ) -> Result<Self, ValidationError> {
        let name = bounded_text("name", name, 200).at("name")?;
        if !(1..=600).contains(&length_minutes) {
            return Err(ValidationError::of(
                "length_minutes",
                format!("length_minutes must be 1 to 600, got {length_minutes}"),
            ));
        }
        let rating = rating.ok_or_else(|| {
            ValidationError::of("rating", "rating is required: G, PG, PG-13, R or NC-17")
        })?;
        let synopsis = optional_text("synopsis", synopsis, Self::MAX_SYNOPSIS).at("synopsis")?;
        Ok(Self {
            name,
            length_minutes: length_minutes as u16,
            rating,
            synopsis,
            release_year: parse_release_year(release_year)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub id: MovieId,
    pub name: String,
    pub length_minutes: u16,
    pub rating: Rating,
    /// In [`RELEASE_YEARS`]; `None` when not known.
    pub release_year: Option<u16>,
}

/// A validated UpdateMovie request: what changes (nothing sold under the movie does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieUpdate {
    /// `Some(None)` removes the synopsis; `None` leaves it as it is.
    pub synopsis: Option<Option<String>>,
    /// Likewise.
    pub release_year: Option<Option<u16>>,
}

impl MovieUpdate {
    /// Each absent (left as it is), empty (blank or 0: removed), or the new value.
    pub fn parse(synopsis: Option<&str>, year: Option<u32>) -> Result<Self, ValidationError> {
        let synopsis = synopsis
            .map(|s| optional_text("synopsis", s, NewMovie::MAX_SYNOPSIS).at("synopsis"))
            .transpose()?;
        Ok(Self {
            synopsis,
            release_year: year.map(parse_release_year).transpose()?,
        })
    }

    /// Whether it changes anything.
    pub fn changes(&self) -> bool {
        self.synopsis.is_some() || self.release_year.is_some()
    }
}

/// A movie with what only its own page shows (GetMovie); listings carry [`Movie`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieDetails {
    pub movie: Movie,
    pub synopsis: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line_1: String,
    pub city: String,
    pub state: UsState,
    pub zip: ZipCode,
}

impl Address {
    pub fn parse(
        line_1: &str,
        city: &str,
        state: &str,
        zip: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            line_1: bounded_text("address line_1", line_1, 256).at("line_1")?,
            city: bounded_text("address city", city, 128).at("city")?,
            state: UsState::parse(state).at("state")?,
            zip: ZipCode::parse(zip).at("zip_code")?,
        })
    }
}

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

impl Coordinates {
    pub fn parse(latitude: f64, longitude: f64) -> Result<Self, ValidationError> {
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(ValidationError::new(format!(
                "latitude must be -90 to 90, got {latitude}"
            )));
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(ValidationError::new(format!(
                "longitude must be -180 to 180, got {longitude}"
            )));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auditorium {
    pub room: String,
    pub seats: u32,
}

impl Auditorium {
    pub fn parse(room: &str, seats: u32) -> Result<Self, ValidationError> {
        let room = bounded_text("auditorium room", room, 50)?;
        if !(1..=10_000).contains(&seats) {
            return Err(ValidationError::new(format!(
                "auditorium {} must have 1 to 10000 seats, got {seats}",
                quote(&room)
            )));
        }
        Ok(Self { room, seats })
    }
}

impl NewMovie {
    /// What the request asks for: a retry under the same request id must ask the same.
    pub fn fingerprint(&self) -> Fingerprint {
        let f = Fingerprint::builder()
            .text(&self.name)
            .number(i64::from(self.length_minutes))
            .text(self.rating.as_str());
        // Only a synopsis or a year given counts, so that a movie created before movies
        // had them (the demo's, under its request id) is found again by the same request.
        let f = match &self.synopsis {
            Some(synopsis) => f.text(synopsis),
            None => f,
        };
        match self.release_year {
            Some(year) => f.text("release_year").number(i64::from(year)),
            None => f,
        }
        .finish()
    }
}

impl NewTheatre {
    /// What the request asks for: a retry under the same request id must ask the same.
    pub fn fingerprint(&self) -> Fingerprint {
        let a = &self.address;
        let mut f = Fingerprint::builder()
            .text(&self.name)
            .text(self.phone.as_str())
            .text(&a.line_1)
            .text(&a.city)
            .text(a.state.as_str())
            .text(a.zip.as_str());
        for room in &self.auditoriums {
            f = f.text(&room.room).number(i64::from(room.seats));
        }
        if let Some(c) = self.coordinates {
            f = f
                .text(&c.latitude.to_string())
                .text(&c.longitude.to_string());
        }
        f.text(self.time_zone.map_or("", TimeZone::name)).finish()
    }
}

/// A theatre's phone: E.164 like every phone, and on the North American plan, since
/// theatres are in the US.
fn theatre_phone(raw: &str) -> Result<Phone, ValidationError> {
    let phone = Phone::parse(raw)?;
    if phone.is_north_american() {
        Ok(phone)
    } else {
        Err(ValidationError::new(format!(
            "phone {} must be a US number, e.g. \"+16175550100\"",
            quote(raw)
        )))
    }
}

/// A validated CreateTheatre request.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTheatre {
    pub name: String,
    pub phone: Phone,
    pub address: Address,
    pub auditoriums: Vec<Auditorium>,
    /// `None`: take the ZIP code's coordinates.
    pub coordinates: Option<Coordinates>,
    /// `None`: derive it from the state and the coordinates.
    pub time_zone: Option<TimeZone>,
}

impl NewTheatre {
    pub fn parse(
        name: &str,
        phone: &str,
        address: Address,
        auditoriums: Vec<Auditorium>,
        coordinates: Option<Coordinates>,
        time_zone: Option<TimeZone>,
    ) -> Result<Self, ValidationError> {
        if auditoriums.is_empty() || auditoriums.len() > 50 {
            return Err(ValidationError::of(
                "auditoriums",
                format!(
                    "a theatre needs 1 to 50 auditoriums, got {}",
                    auditoriums.len()
                ),
            ));
        }
        for (i, a) in auditoriums.iter().enumerate() {
            if auditoriums[..i].iter().any(|b| b.room == a.room) {
                return Err(ValidationError::of(
                    format!("auditoriums[{i}].room"),
                    format!("auditorium room {} is listed twice", quote(&a.room)),
                ));
            }
        }
        Ok(Self {
            name: bounded_text("name", name, 200).at("name")?,
            phone: theatre_phone(phone).at("phone")?,
            address,
            auditoriums,
            coordinates,
            time_zone,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theatre {
    pub id: TheatreId,
    pub name: String,
    pub phone: Phone,
    pub address: Address,
    pub coordinates: Coordinates,
    pub auditoriums: Vec<Auditorium>,
    /// Where showtimes are shown in local time.
    pub time_zone: TimeZone,
    /// Distance from the searched ZIP code, when there was one.
    pub distance_miles: Option<f64>,
}

/// A validated CreateShowtime request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShowtime {
    pub movie_id: MovieId,
    pub theatre_id: TheatreId,
    pub room: String,
    pub start_time: DateTime<Utc>,
    pub price_cents: i64,
    pub request_id: RequestId,
}

impl NewShowtime {
    pub fn parse(
        movie_id: &str,
        theatre_id: &str,
        room: &str,
        start_time: Option<DateTime<Utc>>,
        price_cents: i64,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let request_id = RequestId::parse(request_id).at("request_id")?;
        let start_time = start_time
            .ok_or_else(|| ValidationError::of("start_time", "start_time is required"))?;
        if start_time <= now {
            return Err(ValidationError::of(
                "start_time",
                format!("start_time {start_time} is in the past"),
            ));
        }
        if start_time > now + chrono::Duration::days(366) {
            return Err(ValidationError::of(
                "start_time",
                "start_time is more than a year ahead",
            ));
        }
        if price_cents < 0 {
            return Err(ValidationError::of(
                "price_cents",
                format!("price_cents must be zero or more, got {price_cents}"),
            ));
        }
        Ok(Self {
            movie_id: MovieId::parse(movie_id).at("movie_id")?,
            theatre_id: TheatreId::parse(theatre_id).at("theatre_id")?,
            room: bounded_text("room", room, 50).at("room")?,
            // Postgres keeps microseconds: truncate so a retry compares equal.
            start_time: truncate_to_micros(start_time),
            price_cents,
            request_id,
        })
    }
}

fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Showtime {
    pub id: super::ShowtimeId,
    pub movie_id: MovieId,
    pub theatre_id: TheatreId,
    pub room: String,
    pub start_time: DateTime<Utc>,
    pub price_cents: i64,
    pub product_id: String,
}

/// When the box office starts letting the ticket holders of a showtime starting at
/// `start` in: an hour before. The orders service enforces it (the product's
/// admission window), and the website and the CLI read it off each showtime
/// (`doors_open`), so it is said here only.
pub fn doors_open(start: DateTime<Utc>) -> DateTime<Utc> {
    start - TimeDelta::hours(1)
}

impl Showtime {
    pub fn doors_open(&self) -> DateTime<Utc> {
        doors_open(self.start_time)
    }
}

/// A showtime's tickets as the orders service sells them (its product): what they are
/// for, how many, at what price, until when, and when and where their holders are let
/// in. Made from the showtime, its movie, its theatre and its auditorium, the same
/// whenever it is made, so registering it again is AddProduct's idempotent retry.
#[derive(Debug, Clone)]
pub struct Tickets {
    pub showtime_id: super::ShowtimeId,
    pub movie_name: String,
    pub length_minutes: u16,
    pub theatre_id: TheatreId,
    pub theatre_name: String,
    pub time_zone: TimeZone,
    pub room: String,
    pub start_time: DateTime<Utc>,
    /// One ticket a seat of the auditorium.
    pub seats: u32,
    pub price_cents: i64,
}

impl Tickets {
    /// What the orders service shows and texts for them: in the moviegoer's words, on
    /// the theatre's clock.
    pub fn description(&self) -> String {
        format!(
            "{} at {}, auditorium {}, {}",
            self.movie_name,
            self.theatre_name,
            self.room,
            self.start_time
                .with_timezone(&self.time_zone.tz())
                .format("%a %b %-d %-I:%M %p %Z")
        )
    }

    /// They are sold, and refunded, until the showtime starts.
    pub fn sales_end(&self) -> DateTime<Utc> {
        self.start_time
    }

    /// Their holders come in from when the doors open until the movie ends (a latecomer
    /// still may), at its theatre only.
    pub fn admission(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = self.start_time + TimeDelta::minutes(i64::from(self.length_minutes));
        (doors_open(self.start_time), end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theatre_phones_are_us_numbers_in_e164() {
        assert_eq!(
            theatre_phone("+16175550100").map(|p| p.as_str().to_owned()),
            Ok("+16175550100".into())
        );
        for bad in [
            "(617) 555-0100",
            "+1 617 555 0100",
            "++16175550100",
            "\u{7}+16175550100",
            " +16175550100",
            "+16175550100 ",
            "+10175550100",
            "+16171550100",
            "+1617555010",
            "+442079460958",
        ] {
            assert!(theatre_phone(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_nor_accept_control_chars(raw in proptest::prelude::any::<String>()) {
            for accepted in [
                NewMovie::parse(&raw, 100, Some(Rating::G), "", 0).map(|m| m.name).ok(),
                NewMovie::parse("Heat", 100, Some(Rating::G), &raw, 0)
                    .ok()
                    .and_then(|m| m.synopsis),
                Auditorium::parse(&raw, 10).map(|a| a.room).ok(),
                Address::parse(&raw, &raw, "MA", "02139").map(|a| a.line_1).ok(),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(!accepted.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn theatres_need_distinct_rooms() {
        let address = Address::parse("1 Main St", "Cambridge", "ma", "02139").expect("valid");
        let room = |r: &str| Auditorium::parse(r, 100).expect("valid");
        assert!(
            NewTheatre::parse(
                "T",
                "+16175550100",
                address.clone(),
                vec![room("1"), room("2")],
                None,
                None
            )
            .is_ok()
        );
        assert!(
            NewTheatre::parse(
                "T",
                "+16175550100",
                address.clone(),
                vec![room("1"), room("1")],
                None,
                None
            )
            .is_err()
        );
        assert!(NewTheatre::parse("T", "+16175550100", address, vec![], None, None).is_err());
        assert!(Auditorium::parse("1", 0).is_err());
    }

    #[test]
    fn movies_need_a_rating_and_a_sane_length() {
        assert!(NewMovie::parse("Heat", 170, Some(Rating::R), "", 0).is_ok());
        assert!(NewMovie::parse("Heat", 0, Some(Rating::R), "", 0).is_err());
        assert!(NewMovie::parse("Heat", 601, Some(Rating::R), "", 0).is_err());
        assert!(NewMovie::parse(" ", 100, Some(Rating::R), "", 0).is_err());
        assert!(NewMovie::parse("Heat", 170, None, "", 0).is_err());
    }

    #[test]
    fn a_synopsis_is_one_paragraph_of_at_most_a_thousand_characters() {
        let parse = |synopsis: &str| NewMovie::parse("Heat", 170, Some(Rating::R), synopsis, 0);
        assert_eq!(parse("  ").expect("valid").synopsis, None);
        assert_eq!(
            parse(" A thief and a detective. ")
                .expect("valid")
                .synopsis
                .as_deref(),
            Some("A thief and a detective.")
        );
        // Characters, not bytes: a thousand accented letters are 2,000 bytes.
        assert!(parse(&"é".repeat(1000)).is_ok());
        let error = parse(&"é".repeat(1001)).expect_err("too long");
        assert_eq!(error.field(), Some("synopsis"), "{error:?}");
        assert!(parse("One line.\nAnother.").is_err());
    }

    #[test]
    fn an_update_sets_removes_or_leaves_the_synopsis() {
        let update = |s| MovieUpdate::parse(s, None).map(|u| u.synopsis);
        assert_eq!(update(None), Ok(None));
        assert_eq!(update(Some(" ")), Ok(Some(None)));
        assert_eq!(
            update(Some(" A heist. ")),
            Ok(Some(Some("A heist.".to_owned())))
        );
        let error = update(Some(&"x".repeat(1001))).expect_err("too long");
        assert_eq!(error.field(), Some("synopsis"), "{error:?}");
    }

    #[test]
    fn a_release_year_is_a_film_s_or_not_known() {
        let year = |y| NewMovie::parse("Nosferatu", 94, Some(Rating::Pg13), "", y);
        assert_eq!(year(0).expect("not known").release_year, None);
        assert_eq!(year(1922).expect("valid").release_year, Some(1922));
        for bad in [1887, 2101, 19220] {
            let error = year(bad).expect_err("out of range");
            assert_eq!(error.field(), Some("release_year"), "{bad}: {error:?}");
        }
        let update = |y| MovieUpdate::parse(None, y).map(|u| u.release_year);
        assert_eq!(update(None), Ok(None));
        assert_eq!(update(Some(0)), Ok(Some(None)));
        assert_eq!(update(Some(1979)), Ok(Some(Some(1979))));
        assert!(update(Some(1)).is_err());
        assert!(!MovieUpdate::parse(None, None).expect("nothing").changes());
        assert_ne!(
            year(1922).expect("valid").fingerprint(),
            year(1979).expect("valid").fingerprint()
        );
    }

    #[test]
    fn a_movie_without_a_synopsis_keeps_its_fingerprint() {
        let movie = |synopsis: &str| NewMovie::parse("Heat", 170, Some(Rating::R), synopsis, 0);
        let without = movie("").expect("valid").fingerprint();
        let before = Fingerprint::builder()
            .text("Heat")
            .number(170)
            .text("R")
            .finish();
        assert_eq!(without, before);
        assert_ne!(movie("A heist.").expect("valid").fingerprint(), without);
        assert_ne!(
            movie("A heist.").expect("valid").fingerprint(),
            movie("Another heist.").expect("valid").fingerprint()
        );
    }
}
