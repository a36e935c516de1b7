//! Regrouping the one generic `GetShowtimes` result, client-side: by theatre (for "where
//! is this movie playing near me?") or by movie (for a theatre's page). No server call
//! happens here, so these functions are tested on hand-made results.
//!
//! Grouping shares: every showtime of one movie holds the same `Arc<Movie>`, so a
//! result with many showtimes costs one copy of each movie and theatre.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use cinema_proto::movies::v1 as pb;
use cinema_proto::orders::v1 as orders_pb;

use crate::ClientError;

/// A showtime with its movie and theatre resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Showtime {
    pub id: String,
    pub movie: Arc<pb::Movie>,
    pub theatre: Arc<pb::Theatre>,
    pub start_time: DateTime<Utc>,
    /// When the box office starts letting ticket holders in (the start itself, from a
    /// movies service too old to say).
    pub doors_open: DateTime<Utc>,
    pub auditorium: String,
    /// The orders service's product id: what to put in an order.
    pub product_id: String,
    pub price_cents: i64,
}

impl Showtime {
    /// The start time on the theatre's clock, which is what a moviegoer reads.
    pub fn local_start(&self) -> DateTime<Tz> {
        local_time(&self.theatre, self.start_time)
    }
}

/// `instant` in the theatre's time zone. A zone this client's tz database does not
/// know (a newer server) falls back to UTC, which is still a correct instant.
pub fn local_time(theatre: &pb::Theatre, instant: DateTime<Utc>) -> DateTime<Tz> {
    let zone = theatre.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    instant.with_timezone(&zone)
}

/// How an order was paid, as a front-end says it: never more of a card than its
/// brand and last four digits (which is all the orders service keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paid {
    Card {
        /// "Visa", "Mastercard", "American Express" ("Card" from a newer server).
        brand: &'static str,
        last_four: String,
    },
    PayPal {
        email: String,
    },
    Promotion {
        code: String,
    },
}

impl Paid {
    /// How `order` was paid; `None` for an answer that does not say.
    pub fn of(order: &orders_pb::Order) -> Option<Self> {
        use orders_pb::payment_summary::Method;
        Some(match order.payment.as_ref()?.method.as_ref()? {
            Method::CreditCard(card) => Paid::Card {
                brand: match card.brand() {
                    orders_pb::CardBrand::Visa => "Visa",
                    orders_pb::CardBrand::Mastercard => "Mastercard",
                    orders_pb::CardBrand::AmericanExpress => "American Express",
                    orders_pb::CardBrand::Unspecified => "Card",
                },
                last_four: card.last_four.clone(),
            },
            Method::Paypal(p) => Paid::PayPal {
                email: p.email.clone(),
            },
            Method::Promotion(p) => Paid::Promotion {
                code: p.code.clone(),
            },
        })
    }

    /// What cancelling the order gives back: the orders service refunds a card or
    /// PayPal payment, and a promotion's use. `paid` is how the front-end says the
    /// payment (`Visa ending in 1111`), `total` the order's total.
    pub fn refund(&self, paid: &str, total: &str) -> String {
        match self {
            Paid::Promotion { code } => format!("Promotion code {code} can be used again."),
            Paid::Card { .. } | Paid::PayPal { .. } => format!("{total} is refunded to {paid}."),
        }
    }
}

/// `Visa ending in 1111`, `PayPal (ada@example.com)`, `Promotion code CLASSICS`.
impl std::fmt::Display for Paid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Paid::Card { brand, last_four } => write!(f, "{brand} ending in {last_four}"),
            Paid::PayPal { email } => write!(f, "PayPal ({email})"),
            Paid::Promotion { code } => write!(f, "Promotion code {code}"),
        }
    }
}

/// A theatre's address on one line, as front-ends print it: "1 Kendall Sq, Cambridge,
/// MA 02139" (empty when the answer had none).
pub fn address(theatre: &pb::Theatre) -> String {
    theatre
        .address
        .as_ref()
        .map(|a| format!("{}, {}, {} {}", a.line_1, a.city, a.state, a.zip_code))
        .unwrap_or_default()
}

/// Where a search looks: within a distance of a ZIP code. The services check both (a
/// ZIP code they know; 0.5 to 100 miles) and refuse a bad one naming its field, so
/// this only carries what a front-end was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub zip: String,
    /// `None`: the service's default, 15 miles.
    pub radius_miles: Option<f64>,
}

impl Near {
    /// The services' distance when a search names none.
    pub const DEFAULT_MILES: f64 = 15.0;
    /// The nearest and the farthest the services search within.
    pub const MIN_MILES: f64 = 0.5;
    pub const MAX_MILES: f64 = 100.0;

    /// Within the default distance of `zip`.
    pub fn zip(zip: impl Into<String>) -> Self {
        Self {
            zip: zip.into(),
            radius_miles: None,
        }
    }

    /// Within `miles` of the same ZIP code.
    #[must_use]
    pub fn within(self, miles: f64) -> Self {
        Self {
            radius_miles: Some(miles),
            ..self
        }
    }

    /// How far the search reaches, in miles.
    pub fn miles(&self) -> f64 {
        self.radius_miles.unwrap_or(Self::DEFAULT_MILES)
    }
}

/// "within 15 miles of 02139", as front-ends say where they looked.
impl std::fmt::Display for Near {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let miles = self.miles();
        let unit = if miles == 1.0 { "mile" } else { "miles" };
        write!(f, "within {miles} {unit} of {}", self.zip)
    }
}

/// A theatre and its showtimes, by start time.
#[derive(Debug, Clone, PartialEq)]
pub struct TheatreShowtimes {
    pub theatre: Arc<pb::Theatre>,
    pub showtimes: Vec<Showtime>,
}

/// A movie and its showtimes, by start time.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieShowtimes {
    pub movie: Arc<pb::Movie>,
    pub showtimes: Vec<Showtime>,
}

/// Theatres by distance (when known, nearest first), then name, then id.
fn theatre_order(a: &pb::Theatre, b: &pb::Theatre) -> Ordering {
    let distance = match (a.distance_miles, b.distance_miles) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    distance
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id))
}

fn movie_order(a: &pb::Movie, b: &pb::Movie) -> Ordering {
    a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id))
}

fn showtime_order(a: &Showtime, b: &Showtime) -> Ordering {
    a.start_time
        .cmp(&b.start_time)
        .then_with(|| a.id.cmp(&b.id))
}

/// Resolves every showtime's references, sharing one `Arc` per movie and theatre.
pub fn resolve(result: pb::GetShowtimesResponse) -> Result<Vec<Showtime>, ClientError> {
    let movies: HashMap<String, Arc<pb::Movie>> = result
        .movies
        .into_iter()
        .map(|m| (m.id.clone(), Arc::new(m)))
        .collect();
    let theatres: HashMap<String, Arc<pb::Theatre>> = result
        .theatres
        .into_iter()
        .map(|t| (t.id.clone(), Arc::new(t)))
        .collect();
    result
        .showtimes
        .into_iter()
        .map(|s| {
            let movie = movies.get(&s.movie_id).cloned().ok_or_else(|| {
                ClientError::Inconsistent(format!(
                    "showtime {} refers to movie {}, which the result does not contain",
                    s.id, s.movie_id
                ))
            })?;
            let theatre = theatres.get(&s.theatre_id).cloned().ok_or_else(|| {
                ClientError::Inconsistent(format!(
                    "showtime {} refers to theatre {}, which the result does not contain",
                    s.id, s.theatre_id
                ))
            })?;
            let instant = |t: prost_types::Timestamp| {
                DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
            };
            let start_time = s.start_time.and_then(instant).ok_or_else(|| {
                ClientError::Inconsistent(format!("showtime {} has no valid start time", s.id))
            })?;
            Ok(Showtime {
                id: s.id,
                movie,
                theatre,
                start_time,
                doors_open: s.doors_open.and_then(instant).unwrap_or(start_time),
                auditorium: s.auditorium,
                product_id: s.product_id,
                price_cents: s.price_cents,
            })
        })
        .collect()
}

/// Groups showtimes by theatre: theatres nearest first (then by name), each with its
/// showtimes by start time.
pub fn group_by_theatre(
    result: pb::GetShowtimesResponse,
) -> Result<Vec<TheatreShowtimes>, ClientError> {
    let mut groups: Vec<TheatreShowtimes> = Vec::new();
    for showtime in resolve(result)? {
        match groups
            .iter_mut()
            .find(|g| Arc::ptr_eq(&g.theatre, &showtime.theatre))
        {
            Some(group) => group.showtimes.push(showtime),
            None => groups.push(TheatreShowtimes {
                theatre: showtime.theatre.clone(),
                showtimes: vec![showtime],
            }),
        }
    }
    groups.sort_by(|a, b| theatre_order(&a.theatre, &b.theatre));
    for group in &mut groups {
        group.showtimes.sort_by(showtime_order);
    }
    Ok(groups)
}

/// Groups showtimes by movie: movies by name, each with its showtimes by start time.
pub fn group_by_movie(
    result: pb::GetShowtimesResponse,
) -> Result<Vec<MovieShowtimes>, ClientError> {
    Ok(add_by_movie(Vec::new(), resolve(result)?))
}

/// `groups` with `more` showtimes added, each to its movie's group (a new one for a
/// movie not among them): movies by name, each with its showtimes by start time, as
/// [`group_by_movie`] orders them.
pub fn add_by_movie(mut groups: Vec<MovieShowtimes>, more: Vec<Showtime>) -> Vec<MovieShowtimes> {
    let mut known: std::collections::HashSet<String> = groups
        .iter()
        .flat_map(|g| g.showtimes.iter().map(|s| s.id.clone()))
        .collect();
    for showtime in more {
        if !known.insert(showtime.id.clone()) {
            continue;
        }
        match groups.iter_mut().find(|g| g.movie.id == showtime.movie.id) {
            Some(group) => group.showtimes.push(showtime),
            None => groups.push(MovieShowtimes {
                movie: showtime.movie.clone(),
                showtimes: vec![showtime],
            }),
        }
    }
    groups.sort_by(|a, b| movie_order(&a.movie, &b.movie));
    for group in &mut groups {
        group.showtimes.sort_by(showtime_order);
    }
    groups
}

/// `groups` with `more` showtimes added, each among its theatre's by start time. One at
/// a theatre of `theatres` that has no group yet starts one, with the theatre as
/// `theatres` has it (a search's, with its distance), in [`group_by_theatre`]'s order;
/// one at a theatre in neither, or listed already, is left out. A page adds the
/// sold-out showings at the theatres near to what the listing left of them.
pub fn add_to_theatres(
    mut groups: Vec<TheatreShowtimes>,
    theatres: &[pb::Theatre],
    more: Vec<Showtime>,
) -> Vec<TheatreShowtimes> {
    for showtime in more {
        let at = |g: &TheatreShowtimes| g.theatre.id == showtime.theatre.id;
        let group = match groups.iter().position(at) {
            Some(i) => &mut groups[i],
            None => match theatres.iter().find(|t| t.id == showtime.theatre.id) {
                Some(theatre) => {
                    groups.push(TheatreShowtimes {
                        theatre: Arc::new(theatre.clone()),
                        showtimes: Vec::new(),
                    });
                    groups.last_mut().expect("just pushed")
                }
                None => continue,
            },
        };
        if group.showtimes.iter().all(|s| s.id != showtime.id) {
            group.showtimes.push(showtime);
        }
    }
    groups.sort_by(|a, b| theatre_order(&a.theatre, &b.theatre));
    for group in &mut groups {
        group.showtimes.sort_by(showtime_order);
    }
    groups
}

/// A movie playing (near a ZIP code, when one was given), and whether every one of its
/// showings there is sold out: a premiere sold out to its last seat is still on.
#[derive(Debug, Clone, PartialEq)]
pub struct Playing {
    pub movie: pb::Movie,
    pub sold_out: bool,
}

/// Where a movie is playing, for a search that found nothing near.
#[derive(Debug, Clone, PartialEq)]
pub enum Elsewhere {
    /// Theatres with showings of it on sale.
    At(Vec<pb::Theatre>),
    /// Playing, but every showing of it everywhere is sold out.
    SoldOut,
    /// Not playing anywhere in the next two weeks.
    Nowhere,
}

/// Each movie of a `ListCurrentMovies` answer asked with `include_sold_out`, in its
/// order (by name), said to be sold out or not.
pub fn playing(result: pb::ListCurrentMoviesResponse) -> Vec<Playing> {
    let sold_out = result.sold_out_movie_ids;
    result
        .movies
        .into_iter()
        .map(|movie| Playing {
            sold_out: sold_out.contains(&movie.id),
            movie,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid_with(method: orders_pb::payment_summary::Method) -> orders_pb::Order {
        orders_pb::Order {
            payment: Some(orders_pb::PaymentSummary {
                method: Some(method),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_payment_is_said_without_more_of_a_card_than_its_last_digits() {
        use orders_pb::payment_summary::Method;
        let card = Paid::of(&paid_with(Method::CreditCard(orders_pb::CardSummary {
            brand: orders_pb::CardBrand::AmericanExpress.into(),
            last_four: "0005".into(),
            expiration_month: 12,
            expiration_year: 2030,
        })))
        .expect("a card");
        assert_eq!(card.to_string(), "American Express ending in 0005");
        assert_eq!(
            card.refund(&card.to_string(), "$25.00"),
            "$25.00 is refunded to American Express ending in 0005."
        );
        let paypal = Paid::of(&paid_with(Method::Paypal(orders_pb::PayPal {
            email: "ada@example.com".into(),
        })))
        .expect("PayPal");
        assert_eq!(paypal.to_string(), "PayPal (ada@example.com)");
        // A promotion is not refunded: its use is given back.
        let promotion = Paid::of(&paid_with(Method::Promotion(orders_pb::Promotion {
            code: "CLASSICS".into(),
        })))
        .expect("a promotion");
        assert_eq!(
            promotion.refund(&promotion.to_string(), "$25.00"),
            "Promotion code CLASSICS can be used again."
        );
        assert_eq!(Paid::of(&orders_pb::Order::default()), None);
    }

    fn movie(id: &str, name: &str) -> pb::Movie {
        pb::Movie {
            id: id.into(),
            name: name.into(),
            length_minutes: 100,
            rating: pb::Rating::Pg.into(),
            release_year: 0,
        }
    }

    fn theatre(id: &str, name: &str, distance: Option<f64>) -> pb::Theatre {
        pb::Theatre {
            id: id.into(),
            name: name.into(),
            distance_miles: distance,
            ..Default::default()
        }
    }

    fn showtime(id: &str, movie: &str, theatre: &str, hour: i64) -> pb::Showtime {
        pb::Showtime {
            id: id.into(),
            movie_id: movie.into(),
            theatre_id: theatre.into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_900_000_000 + hour * 3600,
                nanos: 0,
            }),
            auditorium: "1".into(),
            product_id: format!("p{id}"),
            price_cents: 1000,
            ..Default::default()
        }
    }

    fn ids(showtimes: &[Showtime]) -> Vec<&str> {
        showtimes.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn an_empty_result_groups_into_nothing() {
        assert_eq!(
            group_by_theatre(pb::GetShowtimesResponse::default()),
            Ok(vec![])
        );
        assert_eq!(
            group_by_movie(pb::GetShowtimesResponse::default()),
            Ok(vec![])
        );
    }

    #[test]
    fn one_theatre_gets_all_its_showtimes_in_start_order() {
        let result = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Heat"), movie("m2", "Alien")],
            theatres: vec![theatre("t1", "Kendall", Some(1.0))],
            showtimes: vec![
                showtime("s3", "m1", "t1", 5),
                showtime("s1", "m2", "t1", 1),
                showtime("s2", "m1", "t1", 3),
            ],
            next_page_token: String::new(),
        };
        let groups = group_by_theatre(result).expect("consistent");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].theatre.name, "Kendall");
        assert_eq!(ids(&groups[0].showtimes), vec!["s1", "s2", "s3"]);
    }

    #[test]
    fn many_theatres_nearest_first_then_by_name_and_values_are_shared() {
        let result = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Heat")],
            theatres: vec![
                theatre("t1", "Far", Some(9.0)),
                theatre("t2", "Near B", Some(1.0)),
                theatre("t3", "Near A", Some(1.0)),
            ],
            showtimes: vec![
                showtime("s1", "m1", "t1", 1),
                showtime("s2", "m1", "t2", 2),
                showtime("s3", "m1", "t3", 3),
                showtime("s4", "m1", "t2", 0),
            ],
            next_page_token: String::new(),
        };
        let groups = group_by_theatre(result).expect("consistent");
        let names: Vec<_> = groups.iter().map(|g| g.theatre.name.as_str()).collect();
        assert_eq!(names, vec!["Near A", "Near B", "Far"]);
        assert_eq!(ids(&groups[1].showtimes), vec!["s4", "s2"]);
        // One movie value, shared by every showtime, not copied.
        let first = &groups[0].showtimes[0].movie;
        for showtime in groups.iter().flat_map(|g| &g.showtimes) {
            assert!(Arc::ptr_eq(first, &showtime.movie));
        }
        assert_eq!(Arc::strong_count(first), 4);
        // And each theatre group shares its theatre with its showtimes.
        for group in &groups {
            for showtime in &group.showtimes {
                assert!(Arc::ptr_eq(&group.theatre, &showtime.theatre));
            }
        }
    }

    #[test]
    fn grouping_by_movie_orders_movies_by_name() {
        let result = pb::GetShowtimesResponse {
            movies: vec![
                movie("m1", "Zodiac"),
                movie("m2", "Alien"),
                movie("m3", "Heat"),
            ],
            theatres: vec![theatre("t1", "Kendall", None)],
            showtimes: vec![
                showtime("s1", "m1", "t1", 1),
                showtime("s2", "m2", "t1", 4),
                showtime("s3", "m2", "t1", 2),
                showtime("s4", "m3", "t1", 3),
            ],
            next_page_token: String::new(),
        };
        let groups = group_by_movie(result).expect("consistent");
        let names: Vec<_> = groups.iter().map(|g| g.movie.name.as_str()).collect();
        assert_eq!(names, vec!["Alien", "Heat", "Zodiac"]);
        assert_eq!(ids(&groups[0].showtimes), vec!["s3", "s2"]);
    }

    #[test]
    fn showtimes_added_join_their_theatre_in_order_or_one_of_those_near() {
        let listed = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Heat")],
            theatres: vec![
                theatre("t1", "Kendall", Some(0.5)),
                theatre("t2", "Brattle", Some(3.0)),
            ],
            showtimes: vec![showtime("s1", "m1", "t1", 1), showtime("s2", "m1", "t2", 4)],
            next_page_token: String::new(),
        };
        // As a theatre's schedule has them: without a distance.
        let more = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Heat")],
            theatres: vec![
                theatre("t1", "Kendall", None),
                theatre("t2", "Brattle", None),
                theatre("t3", "Coolidge", None),
                theatre("t4", "Somerville", None),
            ],
            showtimes: vec![
                showtime("s3", "m1", "t2", 2),
                // At a theatre near with nothing listed: a group of its own.
                showtime("s4", "m1", "t3", 3),
                // At a theatre that is not near: left out.
                showtime("s5", "m1", "t4", 3),
                // Listed already: kept once.
                showtime("s1", "m1", "t1", 1),
            ],
            next_page_token: String::new(),
        };
        let near = [
            theatre("t1", "Kendall", Some(0.5)),
            theatre("t3", "Coolidge", Some(1.5)),
            theatre("t2", "Brattle", Some(3.0)),
        ];
        let groups = add_to_theatres(
            group_by_theatre(listed).expect("consistent"),
            &near,
            resolve(more).expect("consistent"),
        );
        let names: Vec<_> = groups.iter().map(|g| g.theatre.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["Kendall", "Coolidge", "Brattle"],
            "nearest first"
        );
        assert_eq!(groups[1].theatre.distance_miles, Some(1.5));
        assert_eq!(ids(&groups[0].showtimes), vec!["s1"]);
        assert_eq!(ids(&groups[1].showtimes), vec!["s4"]);
        assert_eq!(ids(&groups[2].showtimes), vec!["s3", "s2"]);
    }

    #[test]
    fn the_movies_playing_are_said_sold_out_by_their_ids_alone() {
        let answer = pb::ListCurrentMoviesResponse {
            movies: vec![
                movie("m3", "Alien"),
                movie("m1", "Heat"),
                movie("m2", "Zodiac"),
            ],
            sold_out_movie_ids: vec!["m2".into(), "m3".into()],
        };
        let said: Vec<_> = playing(answer)
            .iter()
            .map(|p| (p.movie.name.clone(), p.sold_out))
            .collect();
        assert_eq!(
            said,
            vec![
                ("Alien".to_owned(), true),
                ("Heat".to_owned(), false),
                ("Zodiac".to_owned(), true)
            ]
        );
    }

    #[test]
    fn showtimes_added_join_their_movie_in_order_or_start_a_group() {
        let listed = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Zodiac"), movie("m2", "Heat")],
            theatres: vec![theatre("t1", "Kendall", None)],
            showtimes: vec![showtime("s1", "m1", "t1", 1), showtime("s2", "m2", "t1", 4)],
            next_page_token: String::new(),
        };
        let more = pb::GetShowtimesResponse {
            movies: vec![movie("m2", "Heat"), movie("m3", "Alien")],
            theatres: vec![theatre("t1", "Kendall", None)],
            showtimes: vec![
                showtime("s3", "m2", "t1", 2),
                showtime("s4", "m3", "t1", 3),
                // Listed already (the page read it twice): kept once.
                showtime("s2", "m2", "t1", 4),
            ],
            next_page_token: String::new(),
        };
        let groups = add_by_movie(
            group_by_movie(listed).expect("consistent"),
            resolve(more).expect("consistent"),
        );
        let names: Vec<_> = groups.iter().map(|g| g.movie.name.as_str()).collect();
        assert_eq!(names, vec!["Alien", "Heat", "Zodiac"]);
        assert_eq!(ids(&groups[0].showtimes), vec!["s4"]);
        assert_eq!(ids(&groups[1].showtimes), vec!["s3", "s2"]);
        assert_eq!(ids(&groups[2].showtimes), vec!["s1"]);
    }

    #[test]
    fn a_showtime_referring_to_a_missing_movie_or_theatre_is_an_error() {
        let missing_movie = pb::GetShowtimesResponse {
            movies: vec![],
            theatres: vec![theatre("t1", "Kendall", None)],
            showtimes: vec![showtime("s1", "m9", "t1", 1)],
            next_page_token: String::new(),
        };
        assert!(matches!(
            group_by_theatre(missing_movie),
            Err(ClientError::Inconsistent(message)) if message.contains("m9")
        ));
        let missing_theatre = pb::GetShowtimesResponse {
            movies: vec![movie("m1", "Heat")],
            theatres: vec![],
            showtimes: vec![showtime("s1", "m1", "t7", 1)],
            next_page_token: String::new(),
        };
        assert!(matches!(
            group_by_movie(missing_theatre),
            Err(ClientError::Inconsistent(message)) if message.contains("t7")
        ));
    }

    #[test]
    fn a_search_says_how_far_it_looked() {
        assert_eq!(Near::zip("02139").to_string(), "within 15 miles of 02139");
        assert_eq!(
            Near::zip("02139").within(50.0).to_string(),
            "within 50 miles of 02139"
        );
        assert_eq!(
            Near::zip("02139").within(2.5).to_string(),
            "within 2.5 miles of 02139"
        );
        assert_eq!(
            Near::zip("02139").within(1.0).to_string(),
            "within 1 mile of 02139"
        );
    }
}
