//! An order as an iCalendar file (RFC 5545), for the order page's "Add to calendar":
//! one event per showtime, from its start to the end of the movie, at the theatre,
//! with an alarm when its doors open.

use chrono::{DateTime, Duration, Utc};
use cinema_client::facade;
use cinema_client::movies_pb as movies;
use icalendar::{Alarm, Calendar, Component, Event, EventLike, EventStatus, Trigger};

/// A showtime an order holds tickets for.
#[derive(Debug, Clone, Copy)]
pub struct Showing<'a> {
    pub showtime_id: &'a str,
    pub movie: &'a movies::Movie,
    pub theatre: &'a movies::Theatre,
    pub start: DateTime<Utc>,
    /// When the doors open, if the movies service said.
    pub doors: Option<DateTime<Utc>>,
    pub room: &'a str,
    pub tickets: i64,
}

/// The order's events. Each keeps its UID (the confirmation code and the showtime), so
/// a calendar that imports the file of a cancelled order again, with `CANCELLED`
/// events, takes them out rather than adding others; `stamp` is when the file was made.
pub fn order(
    confirmation: &str,
    cancelled: bool,
    showings: &[Showing<'_>],
    stamp: DateTime<Utc>,
) -> String {
    let mut calendar = Calendar::new();
    for showing in showings {
        let tickets = match showing.tickets {
            1 => "1 ticket".to_owned(),
            n => format!("{n} tickets"),
        };
        let length = Duration::minutes(i64::from(showing.movie.length_minutes));
        let mut event = Event::new();
        if let Some(doors) = showing.doors.filter(|_| !cancelled) {
            // The calendar reminds the moviegoer when the box office starts letting
            // them in, code at hand.
            event.alarm(Alarm::display(
                &format!(
                    "Doors open for {} at {}: show code {confirmation} at the box office.",
                    showing.movie.name, showing.theatre.name
                ),
                Trigger::before_start(showing.start - doors),
            ));
        }
        calendar.push(
            event
                .uid(&format!("{confirmation}-{}@cinema", showing.showtime_id))
                .timestamp(stamp)
                .summary(&format!(
                    "{} at {}",
                    showing.movie.name, showing.theatre.name
                ))
                .starts(showing.start)
                .ends(showing.start + length)
                .location(&format!(
                    "{}, {}",
                    showing.theatre.name,
                    facade::address(showing.theatre)
                ))
                .description(&format!(
                    "{tickets}, auditorium {}. Confirmation {confirmation}: show it at the \
                     box office.",
                    showing.room
                ))
                .status(if cancelled {
                    EventStatus::Cancelled
                } else {
                    EventStatus::Confirmed
                })
                .done(),
        );
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("instant")
            .to_utc()
    }

    #[test]
    fn a_showing_is_an_event_from_its_start_to_the_end_of_the_movie() {
        let movie = movies::Movie {
            name: "Heat".into(),
            length_minutes: 170,
            ..Default::default()
        };
        let theatre = movies::Theatre {
            name: "Kendall Square; Cinema".into(),
            address: Some(movies::Address {
                line_1: "1 Kendall Sq".into(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            ..Default::default()
        };
        let showing = Showing {
            showtime_id: "42",
            movie: &movie,
            theatre: &theatre,
            start: at("2026-12-07T01:30:00Z"),
            doors: Some(at("2026-12-07T01:00:00Z")),
            room: "2",
            tickets: 2,
        };
        let stamp = at("2026-12-06T20:00:00Z");
        let placed = order("68LPGGHJ5V", false, &[showing], stamp);
        // Lines end in CRLF and text values escape "," and ";", as RFC 5545 asks.
        for line in [
            "BEGIN:VCALENDAR\r\n",
            "BEGIN:VEVENT\r\n",
            "UID:68LPGGHJ5V-42@cinema\r\n",
            "DTSTAMP:20261206T200000Z\r\n",
            "SUMMARY:Heat at Kendall Square\\; Cinema\r\n",
            "DTSTART:20261207T013000Z\r\n",
            "DTEND:20261207T042000Z\r\n",
            "LOCATION:Kendall Square\\; Cinema\\, 1 Kendall Sq\\, Cambridge\\, MA 02139\r\n",
            "STATUS:CONFIRMED\r\n",
            "BEGIN:VALARM\r\n",
            "ACTION:DISPLAY\r\n",
            "TRIGGER;RELATED=START:-PT1800S\r\n",
        ] {
            assert!(placed.contains(line), "{line:?} in {placed}");
        }
        let unfolded = placed.replace("\r\n ", "");
        assert!(
            unfolded.contains(
                "DESCRIPTION:2 tickets\\, auditorium 2. Confirmation 68LPGGHJ5V: show it at \
                 the box office."
            ),
            "{placed}"
        );

        let showing = Showing {
            tickets: 1,
            ..showing
        };
        let cancelled = order("68LPGGHJ5V", true, &[showing], stamp);
        assert!(cancelled.contains("STATUS:CANCELLED\r\n"), "{cancelled}");
        assert!(
            !cancelled.contains("VALARM"),
            "no alarm for a cancelled showing"
        );
        assert!(cancelled.contains("UID:68LPGGHJ5V-42@cinema\r\n"));
        assert!(
            cancelled
                .replace("\r\n ", "")
                .contains("DESCRIPTION:1 ticket\\,")
        );
    }
}
