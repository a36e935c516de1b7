//! A theatre's IANA time zone: showtimes are stored as instants (UTC) and shown to
//! moviegoers in the theatre's local time.

use std::ops::Range;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::ValidationError;
use cinema_service::text::quote;

/// A day as a theatre's calendar names it: `YYYY-MM-DD`, nothing around it.
pub fn calendar_date(raw: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| {
            ValidationError::new(format!(
                "date {} is not a day written YYYY-MM-DD, such as \"2026-12-09\"",
                quote(raw)
            ))
        })
}

/// How many consecutive days of a calendar a schedule lists: one to a month's worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount(u32);

impl DayCount {
    pub const ONE: Self = Self(1);
    pub const MAX: u32 = 31;

    /// 0, a field left unset, is one day.
    pub fn parse(raw: u32) -> Result<Self, ValidationError> {
        match raw {
            0 => Ok(Self::ONE),
            n if n <= Self::MAX => Ok(Self(n)),
            n => Err(ValidationError::new(format!(
                "days must be at most {}, got {n}",
                Self::MAX
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An IANA time zone name that the tz database knows, e.g. `America/New_York`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // Exact names only (no trimming, no case folding): a zone is an identifier.
        raw.parse::<Tz>().map(Self).map_err(|_| {
            ValidationError::new(format!(
                "time_zone {} is not an IANA time zone such as \"America/New_York\"",
                quote(raw)
            ))
        })
    }

    /// The zone of a place in a US state or territory, from its two-letter code and
    /// longitude. States split between zones are cut at an approximate meridian; a
    /// theatre near such a line can name its zone on `CreateTheatre`.
    pub fn for_us_location(state: &str, latitude: f64, longitude: f64) -> Self {
        use chrono_tz::America as am;
        use chrono_tz::Pacific as pa;
        let zone = match state {
            "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
            | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => am::New_York,
            // The western Upper Peninsula keeps Central time.
            "MI" if longitude < -87.6 => am::Chicago,
            "MI" => am::Detroit,
            // The north-west (Gary) and south-west (Evansville) corners are Central.
            "IN" if longitude < -86.9 => am::Chicago,
            "IN" => am::Indiana::Indianapolis,
            "KY" if longitude < -85.9 => am::Chicago,
            "KY" => am::Kentucky::Louisville,
            "TN" if longitude > -85.5 => am::New_York,
            // The panhandle west of the Apalachicola river is Central.
            "FL" if longitude < -85.0 => am::Chicago,
            "FL" => am::New_York,
            "KS" if longitude < -101.5 => am::Denver,
            "NE" if longitude < -101.0 => am::Denver,
            "ND" if longitude < -101.3 => am::Denver,
            "SD" if longitude < -100.5 => am::Denver,
            "TX" if longitude < -104.5 => am::Denver,
            "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" | "TN" | "KS"
            | "NE" | "ND" | "SD" | "TX" => am::Chicago,
            "AZ" => am::Phoenix,
            // The Idaho panhandle is Pacific.
            "ID" if latitude > 45.5 => am::Los_Angeles,
            "ID" => am::Boise,
            "CO" | "MT" | "NM" | "UT" | "WY" => am::Denver,
            "CA" | "NV" | "OR" | "WA" => am::Los_Angeles,
            "AK" => am::Anchorage,
            "HI" => pa::Honolulu,
            "PR" => am::Puerto_Rico,
            "VI" => am::St_Thomas,
            "GU" => pa::Guam,
            "AS" => pa::Pago_Pago,
            "MP" => pa::Saipan,
            _ => am::New_York,
        };
        Self(zone)
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The date `now` falls on here.
    pub fn today(self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.0).date_naive()
    }

    /// The instants of one day on this zone's calendar: from its first moment to the
    /// next day's. Not always 24 hours: the days clocks change on are 23 or 25.
    pub fn day(self, date: NaiveDate) -> Range<DateTime<Utc>> {
        self.days(date, DayCount::ONE)
    }

    /// The instants of `count` days on this zone's calendar from `first`: from its
    /// first moment to that of the day after the last.
    pub fn days(self, first: NaiveDate, count: DayCount) -> Range<DateTime<Utc>> {
        let after = first
            .checked_add_days(chrono::Days::new(count.get().into()))
            .unwrap_or(NaiveDate::MAX);
        self.start_of(first)..self.start_of(after)
    }

    /// The first moment of `date` here: midnight, or where a zone skips midnight
    /// (clocks moved forward at 00:00), the first hour that exists.
    fn start_of(self, date: NaiveDate) -> DateTime<Utc> {
        (0..24)
            .filter_map(|hour| date.and_hms_opt(hour, 0, 0))
            .find_map(|local| self.0.from_local_datetime(&local).earliest())
            .map_or(DateTime::<Utc>::MAX_UTC, |t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zones_follow_the_state_and_the_meridian() {
        let zone = |state, lat, lon| TimeZone::for_us_location(state, lat, lon).name();
        assert_eq!(zone("MA", 42.36, -71.10), "America/New_York");
        assert_eq!(zone("IL", 41.88, -87.63), "America/Chicago");
        assert_eq!(zone("CA", 37.77, -122.42), "America/Los_Angeles");
        assert_eq!(zone("AZ", 33.45, -112.07), "America/Phoenix");
        assert_eq!(zone("TX", 31.76, -106.49), "America/Denver"); // El Paso
        assert_eq!(zone("TX", 29.76, -95.37), "America/Chicago"); // Houston
        assert_eq!(zone("TN", 35.96, -83.92), "America/New_York"); // Knoxville
        assert_eq!(zone("TN", 36.16, -86.78), "America/Chicago"); // Nashville
        assert_eq!(zone("FL", 30.42, -87.22), "America/Chicago"); // Pensacola
        assert_eq!(zone("HI", 21.31, -157.86), "Pacific/Honolulu");
    }

    #[test]
    fn names_must_be_exact_iana_names() {
        assert_eq!(
            TimeZone::parse("America/New_York").map(TimeZone::name),
            Ok("America/New_York")
        );
        assert!(TimeZone::parse("EST5EDT\0").is_err());
        assert!(TimeZone::parse(" America/New_York").is_err());
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn a_day_runs_from_midnight_to_midnight_on_the_local_clock() {
        let boston = TimeZone::parse("America/New_York").expect("zone");
        let date = |raw| NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date");
        let utc = |raw: &str| raw.parse::<DateTime<Utc>>().expect("instant");
        let day = boston.day(date("2026-12-07"));
        assert_eq!(day.start, utc("2026-12-07T05:00:00Z"));
        assert_eq!(day.end, utc("2026-12-08T05:00:00Z"));
        // The clocks go forward on 8 March 2026 and back on 1 November.
        let spring = boston.day(date("2026-03-08"));
        assert_eq!(spring.end - spring.start, chrono::Duration::hours(23));
        let autumn = boston.day(date("2026-11-01"));
        assert_eq!(autumn.end - autumn.start, chrono::Duration::hours(25));
        // Where midnight itself is skipped (Santiago moved its clocks at 00:00 on
        // 6 September 2026), the day starts at the first hour that exists.
        let santiago = TimeZone::parse("America/Santiago").expect("zone");
        assert_eq!(
            santiago.day(date("2026-09-06")).start,
            utc("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn a_span_of_days_ends_at_the_midnight_after_its_last() {
        let boston = TimeZone::parse("America/New_York").expect("zone");
        let date = |raw| NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date");
        let utc = |raw: &str| raw.parse::<DateTime<Utc>>().expect("instant");
        let count = |n| DayCount::parse(n).expect("count");
        // Across the night the clocks go back: a week one hour longer than 7 × 24.
        let week = boston.days(date("2026-10-29"), count(7));
        assert_eq!(week.start, utc("2026-10-29T04:00:00Z"));
        assert_eq!(week.end, utc("2026-11-05T05:00:00Z"));
        assert_eq!(
            boston.days(date("2026-12-07"), count(0)),
            boston.day(date("2026-12-07"))
        );
        assert_eq!(count(31).get(), 31);
        let error = DayCount::parse(32).expect_err("more than a month");
        assert!(error.to_string().contains("at most 31"), "{error}");
    }

    #[test]
    fn dates_are_written_in_full() {
        let date = |raw| calendar_date(raw).map(|d| d.to_string());
        assert_eq!(date("2026-12-09"), Ok("2026-12-09".to_owned()));
        for wrong in [
            "2026-12-9",
            "2026-13-01",
            "2026-02-30",
            "12/09/2026",
            " 2026-12-09",
            "",
        ] {
            let error = calendar_date(wrong).expect_err(wrong);
            assert!(error.to_string().contains("YYYY-MM-DD"), "{error}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_nor_accepts_control_chars(raw in any::<String>()) {
            if TimeZone::parse(&raw).is_ok() {
                prop_assert!(!raw.chars().any(char::is_control));
            }
        }
    }
}
