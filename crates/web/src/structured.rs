//! schema.org data for search engines and link previews: each showtime a page lists,
//! as a `ScreeningEvent` (the movie, the theatre and its address, the start on the
//! theatre's clock, the price), in the page's JSON-LD. It is what lets a search show a
//! theatre's times, or a movie's near someone, under the page's link.

use std::collections::HashSet;

use cinema_client::facade::{self, Showtime};
use cinema_client::movies_pb as movies;
use serde_json::{Value, json};

use crate::views;

/// The JSON-LD for these showtimes, each with what its offer says of its seats, ready
/// to go inside `<script type="application/ld+json">`; `None` when there are none.
/// Each movie and theatre is one node of the graph, which its events name by `@id`
/// (its page's address): a fortnight at a theatre repeats its address in no event.
pub fn screening_events<'a>(
    showtimes: impl IntoIterator<Item = (&'a Showtime, Status)>,
) -> Option<String> {
    graph(showtimes, None)
}

/// A movie page's: [`screening_events`] of one movie, described by its synopsis (a
/// search engine's summary of the movie), when the catalogue has one.
pub fn movie_screening_events<'a>(
    showtimes: impl IntoIterator<Item = (&'a Showtime, Status)>,
    synopsis: Option<&str>,
) -> Option<String> {
    graph(showtimes, synopsis)
}

/// The JSON-LD of a showing the theatre called off: its event, marked
/// `EventCancelled` and offering nothing, so that a search stops showing its time
/// rather than losing word of it.
pub fn cancelled_screening_event(showtime: &Showtime) -> Option<String> {
    graph([(showtime, Status::Cancelled)], None)
}

/// What an event says of its sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    OnSale,
    /// Still on, every seat taken: a search shows it as sold out rather than not at all.
    SoldOut,
    Cancelled,
}

impl Status {
    /// On sale, or sold out when `seats` says none are left.
    pub fn of(showtime: &Showtime, seats: &views::SeatsLeft) -> Self {
        match seats.none_left(&showtime.product_id) {
            true => Self::SoldOut,
            false => Self::OnSale,
        }
    }
}

/// `description`: of every movie the graph names (a movie page names one).
fn graph<'a>(
    showtimes: impl IntoIterator<Item = (&'a Showtime, Status)>,
    description: Option<&str>,
) -> Option<String> {
    let mut nodes = Vec::new();
    let mut named = HashSet::new();
    let mut events = Vec::new();
    for (showtime, status) in showtimes {
        let (movie, theatre) = (&showtime.movie, &showtime.theatre);
        let movie_id = format!("/movies/{}", movie.id);
        let theatre_id = format!("/theatres/{}", theatre.id);
        if named.insert(movie_id.clone()) {
            nodes.push(movie_node(&movie_id, movie, description));
        }
        if named.insert(theatre_id.clone()) {
            nodes.push(theatre_node(&theatre_id, theatre));
        }
        events.push(event(showtime, &movie_id, &theatre_id, status));
    }
    if events.is_empty() {
        return None;
    }
    nodes.extend(events);
    let document = json!({ "@context": "https://schema.org", "@graph": nodes });
    Some(inside_script(&document.to_string()))
}

// Ids and urls are relative, like every link of the site: resolved against the
// page's address.

fn movie_node(id: &str, movie: &movies::Movie, description: Option<&str>) -> Value {
    let mut node = json!({
        "@type": "Movie",
        "@id": id,
        "url": id,
        "name": movie.name,
        "duration": format!("PT{}M", movie.length_minutes),
        "contentRating": views::rating(movie),
    });
    if let Some(description) = description {
        node["description"] = description.into();
    }
    if movie.release_year != 0 {
        node["dateCreated"] = movie.release_year.to_string().into();
    }
    node
}

fn theatre_node(id: &str, theatre: &movies::Theatre) -> Value {
    let address = theatre.address.clone().unwrap_or_default();
    json!({
        "@type": "MovieTheater",
        "@id": id,
        "url": id,
        "name": theatre.name,
        "telephone": theatre.phone,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": address.line_1,
            "addressLocality": address.city,
            "addressRegion": address.state,
            "postalCode": address.zip_code,
            "addressCountry": "US",
        },
    })
}

fn event(showtime: &Showtime, movie_id: &str, theatre_id: &str, status: Status) -> Value {
    let url = format!("/showtimes/{}", showtime.id);
    if status == Status::Cancelled {
        return json!({
            "@type": "ScreeningEvent",
            "name": showtime.movie.name,
            "url": url,
            "eventStatus": "https://schema.org/EventCancelled",
            "startDate": showtime.local_start().to_rfc3339(),
            "workPresented": { "@id": movie_id },
            "location": { "@id": theatre_id },
        });
    }
    json!({
        "@type": "ScreeningEvent",
        "name": showtime.movie.name,
        "url": url,
        "startDate": showtime.local_start().to_rfc3339(),
        "doorTime": facade::local_time(&showtime.theatre, showtime.doors_open).to_rfc3339(),
        "workPresented": { "@id": movie_id },
        "location": { "@id": theatre_id },
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": format!("{}.{:02}", showtime.price_cents / 100, showtime.price_cents % 100),
            "priceCurrency": "USD",
            "availability": match status {
                Status::SoldOut => "https://schema.org/SoldOut",
                _ => "https://schema.org/InStock",
            },
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

    use super::*;

    fn showtime(movie_name: &str) -> Showtime {
        Showtime {
            id: "7".into(),
            movie: Arc::new(movies::Movie {
                id: "1".into(),
                name: movie_name.into(),
                length_minutes: 170,
                rating: movies::Rating::R.into(),
                release_year: 1995,
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
            doors_open: "2026-12-06T23:30:00Z".parse().expect("instant"),
            auditorium: "2".into(),
            product_id: "p".into(),
            price_cents: 1250,
        }
    }

    #[test]
    fn a_showtime_is_a_screening_event_on_the_theatres_clock() {
        let later = Showtime {
            id: "8".into(),
            ..showtime("Heat")
        };
        let heat = showtime("Heat");
        let json =
            screening_events([(&heat, Status::OnSale), (&later, Status::SoldOut)]).expect("events");
        let data: Value = serde_json::from_str(&json).expect("JSON");
        let graph = data["@graph"].as_array().expect("a graph");
        // The movie and the theatre once each, then the two events naming them.
        assert_eq!(graph.len(), 4, "{data:#}");
        let (movie, theatre, event) = (&graph[0], &graph[1], &graph[2]);
        assert_eq!(movie["@type"], "Movie");
        assert_eq!(movie["duration"], "PT170M");
        assert_eq!(movie["contentRating"], "R");
        assert_eq!(movie["dateCreated"], "1995");
        assert_eq!(theatre["@type"], "MovieTheater");
        assert_eq!(theatre["address"]["postalCode"], "02139");
        assert_eq!(event["@type"], "ScreeningEvent");
        assert_eq!(event["workPresented"]["@id"], movie["@id"]);
        assert_eq!(event["location"]["@id"], theatre["@id"]);
        assert_eq!(event["startDate"], "2026-12-06T19:30:00-05:00");
        assert_eq!(event["doorTime"], "2026-12-06T18:30:00-05:00");
        assert_eq!(event["offers"]["price"], "12.50");
        assert_eq!(event["url"], "/showtimes/7");
        assert_eq!(
            event["offers"]["availability"],
            "https://schema.org/InStock"
        );
        assert_eq!(graph[3]["url"], "/showtimes/8");
        assert_eq!(
            graph[3]["offers"]["availability"],
            "https://schema.org/SoldOut"
        );
        assert!(screening_events([]).is_none());
        assert!(event.get("eventStatus").is_none());
    }

    #[test]
    fn a_movie_page_s_movie_is_described_by_its_synopsis() {
        let heat = showtime("Heat");
        let about = "A thief, a detective </script> & one last job.";
        let json = movie_screening_events([(&heat, Status::OnSale)], Some(about)).expect("one");
        assert!(!json.contains('<') && !json.contains('&'), "{json}");
        let data: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(data["@graph"][0]["@type"], "Movie");
        assert_eq!(data["@graph"][0]["description"], about);
        assert!(
            data["@graph"][1].get("description").is_none(),
            "the theatre's"
        );
        let plain = screening_events([(&heat, Status::OnSale)]).expect("one");
        let data: Value = serde_json::from_str(&plain).expect("JSON");
        assert!(data["@graph"][0].get("description").is_none(), "{data:#}");
        let none = movie_screening_events([(&heat, Status::OnSale)], None).expect("one");
        assert_eq!(none, plain);
    }

    #[test]
    fn a_called_off_showing_is_a_cancelled_event_that_offers_nothing() {
        let json = cancelled_screening_event(&showtime("Heat")).expect("an event");
        let data: Value = serde_json::from_str(&json).expect("JSON");
        let event = &data["@graph"][2];
        assert_eq!(event["@type"], "ScreeningEvent");
        assert_eq!(event["eventStatus"], "https://schema.org/EventCancelled");
        assert_eq!(event["startDate"], "2026-12-06T19:30:00-05:00");
        assert_eq!(event["location"]["@id"], data["@graph"][1]["@id"]);
        assert!(event.get("offers").is_none(), "{data:#}");
    }

    #[test]
    fn no_name_can_close_the_script_element() {
        let name = "</script><script>alert(1)</script> & co";
        let json = screening_events([(&showtime(name), Status::OnSale)]).expect("one event");
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let data: Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(data["@graph"][0]["name"], name, "and still the name");
        assert_eq!(data["@graph"][2]["name"], name);
    }
}
