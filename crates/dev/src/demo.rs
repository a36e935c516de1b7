//! Demo data: a catalogue of movies and theatres in six metro areas, and a week of showtimes registered as products
//! through the normal `CreateShowtime` path. Loading twice adds nothing twice: movies
//! and theatres are matched by name, showtimes by a request id derived from their slot.

use std::collections::HashMap;
use std::fmt;

use anyhow::Context;
use chrono::{Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use cinema_client::movies_pb as pb;
use cinema_client::{Cinema, ClientConfig, ClientError};

const MOVIES: &[(&str, u32, pb::Rating)] = &[
    ("Metropolis", 153, pb::Rating::Pg),
    ("Casablanca", 102, pb::Rating::Pg),
    ("Citizen Kane", 119, pb::Rating::Pg),
    ("The General", 78, pb::Rating::G),
    ("Nosferatu", 94, pb::Rating::Pg13),
    ("His Girl Friday", 92, pb::Rating::G),
    ("Night of the Living Dead", 96, pb::Rating::R),
    ("It's a Wonderful Life", 130, pb::Rating::G),
    ("Sherlock Jr.", 45, pb::Rating::G),
    ("The Kid", 68, pb::Rating::G),
    ("Safety Last!", 74, pb::Rating::G),
    ("Charade", 113, pb::Rating::Pg),
    ("The Lodger", 90, pb::Rating::Pg),
    ("Detour", 68, pb::Rating::Pg13),
    ("The Little Shop of Horrors", 72, pb::Rating::Pg),
    ("Plan 9 from Outer Space", 79, pb::Rating::G),
    ("Carnival of Souls", 78, pb::Rating::Pg13),
    ("The Phantom of the Opera", 93, pb::Rating::Pg),
    ("Steamboat Bill, Jr.", 70, pb::Rating::G),
    ("A Trip to the Moon", 15, pb::Rating::G),
    ("The Cabinet of Dr. Caligari", 76, pb::Rating::Pg13),
    ("Battleship Potemkin", 75, pb::Rating::Pg13),
    ("The Great Train Robbery", 12, pb::Rating::G),
    ("Robinson Crusoe on Mars", 110, pb::Rating::Pg),
    ("The Last Man on Earth", 86, pb::Rating::Pg13),
    ("Dementia 13", 75, pb::Rating::R),
    ("House on Haunted Hill", 75, pb::Rating::Pg13),
    ("The Brain That Wouldn't Die", 82, pb::Rating::R),
    ("D.O.A.", 83, pb::Rating::Pg13),
    ("Scarlet Street", 102, pb::Rating::R),
];

struct DemoTheatre {
    name: &'static str,
    phone: &'static str,
    street: &'static str,
    city: &'static str,
    state: &'static str,
    zip: &'static str,
}

const THEATRES: &[DemoTheatre] = &[
    DemoTheatre {
        name: "Kendall Square Cinema",
        phone: "+16175550101",
        street: "1 Kendall Sq",
        city: "Cambridge",
        state: "MA",
        zip: "02139",
    },
    DemoTheatre {
        name: "Fenway Screens",
        phone: "+16175550102",
        street: "401 Park Dr",
        city: "Boston",
        state: "MA",
        zip: "02115",
    },
    DemoTheatre {
        name: "Davis Square Theatre",
        phone: "+16175550103",
        street: "55 Davis Sq",
        city: "Somerville",
        state: "MA",
        zip: "02144",
    },
    DemoTheatre {
        name: "Chelsea Cineplex",
        phone: "+12125550104",
        street: "260 W 23rd St",
        city: "New York",
        state: "NY",
        zip: "10001",
    },
    DemoTheatre {
        name: "Midtown Pictures",
        phone: "+12125550105",
        street: "1 W 57th St",
        city: "New York",
        state: "NY",
        zip: "10019",
    },
    DemoTheatre {
        name: "Brooklyn Heights Cinema",
        phone: "+17185550106",
        street: "70 Henry St",
        city: "Brooklyn",
        state: "NY",
        zip: "11201",
    },
    DemoTheatre {
        name: "Mission Picture House",
        phone: "+14155550107",
        street: "2550 Mission St",
        city: "San Francisco",
        state: "CA",
        zip: "94110",
    },
    DemoTheatre {
        name: "SoMa Screens",
        phone: "+14155550108",
        street: "835 Market St",
        city: "San Francisco",
        state: "CA",
        zip: "94103",
    },
    DemoTheatre {
        name: "Loop Theatre",
        phone: "+13125550109",
        street: "175 N State St",
        city: "Chicago",
        state: "IL",
        zip: "60601",
    },
    DemoTheatre {
        name: "Lincoln Park Cinema",
        phone: "+17735550110",
        street: "2424 N Lincoln Ave",
        city: "Chicago",
        state: "IL",
        zip: "60614",
    },
    DemoTheatre {
        name: "Hollywood Palace",
        phone: "+13235550111",
        street: "6925 Hollywood Blvd",
        city: "Los Angeles",
        state: "CA",
        zip: "90028",
    },
    DemoTheatre {
        name: "Pike Street Cinema",
        phone: "+12065550112",
        street: "1501 Pike Pl",
        city: "Seattle",
        state: "WA",
        zip: "98101",
    },
];

/// Rooms of every demo theatre. The screening room is tiny so a sell-out is easy to see.
const ROOMS: &[(&str, u32)] = &[("1", 180), ("2", 90), ("Screening Room", 8)];

/// Start times each day on the theatre's clock; 3.5 h apart, more than any demo movie plus cleaning.
const SLOTS: &[(u32, u32)] = &[(13, 0), (16, 30), (20, 0)];
const DAYS: i64 = 7;

#[derive(Debug, Default)]
pub struct Report {
    movies: usize,
    theatres: usize,
    showtimes: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo data: {} movies, {} theatres, {} showtimes in the next {DAYS} days",
            self.movies, self.theatres, self.showtimes
        )
    }
}

/// The request id of a demo movie or theatre: the same on every load.
fn demo_key(kind: &str, name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("demo-{kind}-{slug}")
}

/// Loads the catalogue through the admin API only. Every create is keyed by a request
/// id derived from what it creates, so a second load gets the same movies, theatres and
/// showtimes back instead of making new ones.
pub async fn load(cinema: &Cinema) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut movie_ids: HashMap<String, String> = HashMap::new();
    let mut theatre_ids: HashMap<String, String> = HashMap::new();

    for (name, minutes, rating) in MOVIES {
        let movie = cinema
            .admin()
            .create_movie(pb::CreateMovieRequest {
                name: (*name).into(),
                length_minutes: *minutes,
                rating: (*rating).into(),
                request_id: demo_key("movie", name),
            })
            .await?;
        movie_ids.insert(movie.name, movie.id);
        report.movies += 1;
    }
    for t in THEATRES {
        let theatre = cinema
            .admin()
            .create_theatre(pb::CreateTheatreRequest {
                name: t.name.into(),
                phone: t.phone.into(),
                address: Some(pb::Address {
                    line_1: t.street.into(),
                    city: t.city.into(),
                    state: t.state.into(),
                    zip_code: t.zip.into(),
                }),
                auditoriums: ROOMS
                    .iter()
                    .map(|(room, seats)| pb::Auditorium {
                        room: (*room).into(),
                        seats: *seats,
                    })
                    .collect(),
                latitude: None,
                longitude: None,
                time_zone: None,
                request_id: demo_key("theatre", t.name),
            })
            .await?;
        theatre_ids.insert(theatre.name, theatre.id);
        report.theatres += 1;
    }

    // Slots are on each theatre's own clock: a 20:00 show is at 8 pm in Boston and in
    // San Francisco alike.
    let mut zones = HashMap::new();
    for t in THEATRES {
        let theatre = cinema.movies().get_theatre(&theatre_ids[t.name]).await?;
        let zone: Tz = theatre
            .time_zone
            .parse()
            .map_err(|_| anyhow::anyhow!("theatre {} has an unknown time zone", theatre.name))?;
        zones.insert(t.name, zone);
    }
    let today = Utc::now().date_naive();
    let soon = Utc::now() + Duration::minutes(5);
    for day in 0..DAYS {
        let date = today + Duration::days(day);
        for (ti, t) in THEATRES.iter().enumerate() {
            for (ri, (room, _)) in ROOMS.iter().enumerate() {
                for (si, (hour, minute)) in SLOTS.iter().enumerate() {
                    let time = NaiveTime::from_hms_opt(*hour, *minute, 0).context("slot time")?;
                    // `earliest`: a slot in a DST gap does not exist that day; skip it.
                    let Some(start) = zones[t.name]
                        .from_local_datetime(&date.and_time(time))
                        .earliest()
                        .map(|local| local.with_timezone(&Utc))
                    else {
                        continue;
                    };
                    if start <= soon {
                        continue;
                    }
                    let (movie, _, _) =
                        MOVIES[(ti * 7 + ri * 3 + si + day as usize) % MOVIES.len()];
                    let request = pb::CreateShowtimeRequest {
                        movie_id: movie_ids[movie].clone(),
                        theatre_id: theatre_ids[t.name].clone(),
                        room: (*room).into(),
                        start_time: Some(prost_types::Timestamp {
                            seconds: start.timestamp(),
                            nanos: 0,
                        }),
                        price_cents: 1200 + 150 * si as i64,
                        // The slot names the showtime: a second load finds it again.
                        request_id: format!("demo-{}-t{ti}-r{ri}-s{si}", date.format("%Y%m%d")),
                    };
                    match cinema.admin().create_showtime(request).await {
                        Ok(_) => report.showtimes += 1,
                        // A slot an admin filled by hand first is left alone.
                        Err(ClientError::Refused(_) | ClientError::Conflict(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The promotion code the demo's customers can pay with (the website's "Promotion
/// code", `cinema buy --promotion`), and how many orders it pays for.
pub const PROMOTION: (&str, i64) = ("CLASSICS", 1000);

/// Creates [`PROMOTION`] through the orders admin API; a stack started again on the
/// same databases finds it there, with the uses it has left.
pub async fn create_promotion(cinema: &Cinema) -> anyhow::Result<()> {
    let (code, uses) = PROMOTION;
    match cinema
        .orders()
        .create_promotion(code, uses, "the demo's promotion code")
        .await
    {
        Ok(_) | Err(ClientError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `cinema-dev demo`: [`load`] into a running stack, over its admin API only. The ZIP
/// codes are each service's own to load (`orders-service load-zips`, `movies-service
/// load-zips`); the movies service's statistics are refreshed by autovacuum's analyze.
pub async fn run(args: &crate::DemoArgs) -> anyhow::Result<()> {
    let mut config = ClientConfig::new(args.movies.clone(), args.orders.clone());
    config.movies_admin_token = Some(args.movies_admin_token.clone());
    let cinema = Cinema::connect(config)?;
    let report = load(&cinema)
        .await
        .map_err(|e| match e.downcast_ref::<ClientError>() {
            Some(ClientError::Unauthenticated(_)) => anyhow::anyhow!(
                "the movies service refused the admin token: set MOVIES_ADMIN_TOKEN \
                 (or --movies-admin-token) to the one the service runs with"
            ),
            _ => e.context("loading the demo data failed"),
        })?;
    println!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_theatre_is_at_a_known_zip_code() {
        let zips = cinema_service::zips::us_zip_codes().expect("parses");
        for t in THEATRES {
            assert!(
                zips.iter().any(|z| z.zip == t.zip),
                "{} has an unknown ZIP",
                t.name
            );
        }
    }

    #[test]
    fn demo_movies_fit_between_slots() {
        // 3.5 h between slots, minus the 15-minute cleaning gap.
        assert!(MOVIES.iter().all(|(_, minutes, _)| *minutes <= 195));
    }
}
