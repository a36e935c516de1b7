//! schema.org data for search engines and link previews: each showtime a page lists,
//! as a `ScreeningEvent` (the movie, the theatre and its address, the start on the
//! theatre's clock, the price), in the page's JSON-LD. It is what lets a search show a
//! theatre's times, or a movie's near someone, under the page's link.

use cinema_client::facade::Showtime;
use serde_json::{Value, json};

use crate::views;

/// The JSON-LD for these showtimes, ready to go inside `<script
/// type="application/ld+json">`; `None` when there are none.
pub fn screening_events<'a>(showtimes: impl IntoIterator<Item = &'a Showtime>) -> Option<String> {
    let events: Vec<Value> = showtimes.into_iter().map(event).collect();
    if events.is_empty() {
        return None;
    }
    let document = json!({ "@context": "https://schema.org", "@graph": events });
    Some(inside_script(&document.to_string()))
}

fn event(showtime: &Showtime) -> Value {
    let (movie, theatre) = (&showtime.movie, &showtime.theatre);
    let address = theatre.address.clone().unwrap_or_default();
    // Relative, like every link of the site: resolved against the page's address.
    let url = format!("/showtimes/{}", showtime.id);
    json!({
        "@type": "ScreeningEvent",
        "name": movie.name,
        "url": url,
        "startDate": showtime.local_start().to_rfc3339(),
        "workPresented": {
            "@type": "Movie",
            "name": movie.name,
            "duration": format!("PT{}M", movie.length_minutes),
            "contentRating": views::rating(movie),
        },
        "location": {
            "@type": "MovieTheater",
            "name": theatre.name,
            "url": format!("/theatres/{}", theatre.id),
            "telephone": theatre.phone,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": address.line_1,
                "addressLocality": address.city,
                "addressRegion": address.state,
                "postalCode": address.zip_code,
                "addressCountry": "US",
            },
        },
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": format!("{}.{:02}", showtime.price_cents / 100, showtime.price_cents % 100),
            "priceCurrency": "USD",
            // Searches leave sold-out showtimes out.
            "availability": "https://schema.org/InStock",
        },
    })
}

/// JSON placed inside a `<script>` element: `<`, `>` and `&` as JSON escapes, so
/// that no name (a movie's, a theatre's) can close the element or open another.
fn inside_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cinema_client::movies_pb as movies;

    use super::*;

    fn showtime(movie_name: &str) -> Showtime {
        Showtime {
            id: "7".into(),
            movie: Arc::new(movies::Movie {
                id: "1".into(),
                name: movie_name.into(),
                length_minutes: 170,
                rating: movies::Rating::R.into(),
            }),
            theatre: Arc::new(movies::Theatre {
                id: "2".into(),
                name: "Kendall Square".into(),
                time_zone: "America/New_York".into(),
                address: Some(movies::Address {
                    line_1: "1 Kendall Sq".into(),
                    city: "Cambridge".into(),
                    state: "MA".into(),
                    zip_code: "02139".into(),
                }),
                ..Default::default()
            }),
            start_time: "2026-12-07T00:30:00Z".parse().expect("instant"),
            auditorium: "2".into(),
            product_id: "p".into(),
            price_cents: 1250,
        }
    }

    #[test]
    fn a_showtime_is_a_screening_event_on_the_theatres_clock() {
        let json = screening_events([&showtime("Heat")]).expect("one event");
        let data: Value = serde_json::from_str(&json).expect("JSON");
        let event = &data["@graph"][0];
        assert_eq!(event["@type"], "ScreeningEvent");
        assert_eq!(event["startDate"], "2026-12-06T19:30:00-05:00");
        assert_eq!(event["workPresented"]["duration"], "PT170M");
        assert_eq!(event["workPresented"]["contentRating"], "R");
        assert_eq!(event["location"]["address"]["postalCode"], "02139");
        assert_eq!(event["offers"]["price"], "12.50");
        assert_eq!(event["url"], "/showtimes/7");
        assert!(screening_events([]).is_none());
    }

    #[test]
    fn no_name_can_close_the_script_element() {
        let name = "</script><script>alert(1)</script> & co";
        let json = screening_events([&showtime(name)]).expect("one event");
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let data: Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(data["@graph"][0]["name"], name, "and still the name");
    }
}
