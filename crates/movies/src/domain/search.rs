//! What GetShowtimes and ListCurrentMovies search for.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{MovieId, ShowtimeId, TheatreId, ValidationError, ZipCode};

/// How far ahead showtimes count as current.
pub const CURRENT_WINDOW_DAYS: i64 = 14;
/// At most this many ids per filter, so a filter stays one indexed query.
pub const MAX_FILTER_IDS: usize = 500;

/// A search radius in miles: default 15, at least 0.5 (a block), at most 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Radius(f64);

impl Radius {
    pub const DEFAULT_MILES: f64 = 15.0;
    pub const MIN_MILES: f64 = 0.5;
    pub const MAX_MILES: f64 = 100.0;

    pub fn parse(raw: Option<f64>) -> Result<Self, ValidationError> {
        match raw {
            None => Ok(Self(Self::DEFAULT_MILES)),
            Some(miles) if (Self::MIN_MILES..=Self::MAX_MILES).contains(&miles) => Ok(Self(miles)),
            Some(miles) => Err(ValidationError::new(format!(
                "radius_miles must be {} to {}, got {miles}",
                Self::MIN_MILES,
                Self::MAX_MILES
            ))),
        }
    }
    pub fn miles(self) -> f64 {
        self.0
    }
}

/// Results per page (showtimes, theatres): default 100, at most 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const DEFAULT: u32 = 100;
    pub const MAX: u32 = 500;

    pub fn parse(raw: u32) -> Result<Self, ValidationError> {
        match raw {
            0 => Ok(Self(Self::DEFAULT)),
            n if n <= Self::MAX => Ok(Self(n)),
            n => Err(ValidationError::new(format!(
                "page_size must be at most {}, got {n}",
                Self::MAX
            ))),
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where the next page starts: after the showtime with this start time and id. Pages
/// are ordered by (start_time, id), so the position is stable while rows are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub start_time: DateTime<Utc>,
    pub id: ShowtimeId,
}

impl Cursor {
    /// Opaque to clients, versioned so its format can change, and checksummed so a
    /// token the service did not issue (made up, truncated, edited) is refused rather
    /// than silently read as some other position. The checksum is not a secret: a
    /// forged cursor could only skip ahead in public data.
    pub fn encode(&self) -> String {
        encode_token(&format!(
            "v1:{}:{}",
            self.start_time.timestamp_micros(),
            self.id
        ))
    }

    pub fn parse(token: &str) -> Result<Option<Self>, ValidationError> {
        if token.is_empty() {
            return Ok(None);
        }
        let body = decode_token(token).ok_or_else(invalid_token)?;
        let mut parts = body.split(':');
        let (Some("v1"), Some(micros), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid_token());
        };
        let start_time = micros
            .parse()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(invalid_token)?;
        let id = ShowtimeId::parse(id).map_err(|_| invalid_token())?;
        Ok(Some(Self { start_time, id }))
    }
}

/// Where the next page of ListTheatres starts: after this theatre (pages are by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TheatreCursor(pub TheatreId);

impl TheatreCursor {
    pub fn encode(&self) -> String {
        encode_token(&format!("t1:{}", self.0))
    }

    pub fn parse(token: &str) -> Result<Option<Self>, ValidationError> {
        if token.is_empty() {
            return Ok(None);
        }
        let body = decode_token(token).ok_or_else(invalid_token)?;
        let id = body.strip_prefix("t1:").ok_or_else(invalid_token)?;
        let id = TheatreId::parse(id).map_err(|_| invalid_token())?;
        Ok(Some(Self(id)))
    }
}

fn invalid_token() -> ValidationError {
    ValidationError::new("page_token is not a token this service issued")
}

/// A page token: the body and its checksum, URL-safe.
fn encode_token(body: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{body}:{}", checksum(body)))
}

/// The body of a token this service issued; `None` for any other string.
fn decode_token(token: &str) -> Option<String> {
    if token.len() > 200 {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (body, sum) = text.rsplit_once(':')?;
    (sum == checksum(body)).then(|| body.to_owned())
}

/// The first 8 bytes of SHA-256 over a domain-separated body, in hex.
fn checksum(body: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("cinema.movies.page_token/{body}"));
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A validated GetShowtimes request. Empty lists do not restrict.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowtimeFilter {
    pub near: Option<(ZipCode, Radius)>,
    pub theatre_ids: Vec<TheatreId>,
    pub movie_ids: Vec<MovieId>,
    pub page_size: PageSize,
    pub after: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursor = Cursor {
            start_time: DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("valid"),
            id: ShowtimeId::from_db(42),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Ok(Some(cursor)));
        let theatres = TheatreCursor(TheatreId::from_db(7));
        assert_eq!(TheatreCursor::parse(&theatres.encode()), Ok(Some(theatres)));
        assert!(
            TheatreCursor::parse(&cursor.encode()).is_err(),
            "a showtimes token is not a theatres one"
        );
        assert!(Cursor::parse(&theatres.encode()).is_err());
        assert_eq!(Cursor::parse(""), Ok(None));
        assert!(Cursor::parse("garbage!").is_err());
        assert!(Cursor::parse(&URL_SAFE_NO_PAD.encode("v2:1:2")).is_err());
        // Well-formed but not issued by us (the old, unchecked format).
        assert!(Cursor::parse(&URL_SAFE_NO_PAD.encode("v1:-99999999999999999:1")).is_err());
        // One character of a real token changed.
        let mut edited = cursor.encode().into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).expect("ascii");
        assert!(Cursor::parse(&edited).is_err());
    }

    #[test]
    fn radius_and_page_size_bounds() {
        assert_eq!(Radius::parse(None).map(Radius::miles), Ok(15.0));
        assert!(Radius::parse(Some(0.0)).is_err());
        assert!(Radius::parse(Some(5e-324)).is_err());
        assert!(Radius::parse(Some(f64::INFINITY)).is_err());
        assert!(Radius::parse(Some(100.5)).is_err());
        assert!(Radius::parse(Some(f64::NAN)).is_err());
        assert_eq!(PageSize::parse(0).map(PageSize::get), Ok(100));
        assert!(PageSize::parse(501).is_err());
    }
}
