//! Domain types: each one can only be built through `parse`, so a value that exists is
//! valid. The gRPC layer parses requests into these; the store only ever sees them.

mod catalogue;
mod search;
mod time_zone;

pub use catalogue::*;
pub use cinema_service::domain::{Phone, RequestId, UsState, ZipCode};
pub use cinema_service::error::ValidationError;
pub use search::*;
pub use time_zone::{DayCount, TimeZone, calendar_date};

/// Declares an opaque id: a positive integer key inside the service, a string outside.
macro_rules! id_type {
    ($name:ident, $field:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                if raw.is_empty() {
                    return Err(ValidationError::new(concat!($field, " is required")));
                }
                // Digits only: `i64::from_str` would also take a sign.
                Some(raw)
                    .filter(|raw| raw.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|raw| raw.parse::<i64>().ok())
                    .filter(|id| *id > 0)
                    .map(Self)
                    .ok_or_else(|| {
                        ValidationError::new(format!(
                            concat!($field, " {} is not a valid id"),
                            cinema_service::text::quote(raw)
                        ))
                    })
            }
            pub fn from_db(id: i64) -> Self {
                Self(id)
            }
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(MovieId, "movie_id");
id_type!(TheatreId, "theatre_id");
id_type!(ShowtimeId, "showtime_id");

/// Parses a list of ids, dropping duplicates, refusing more than `max`.
pub fn parse_ids<T: PartialEq>(
    field: &str,
    raw: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<Vec<T>, ValidationError> {
    if raw.len() > max {
        return Err(ValidationError::new(format!(
            "at most {max} {field}, got {}",
            raw.len()
        )));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for id in raw {
        let id = parse(id)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}
