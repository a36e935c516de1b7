//! Demo data: a catalogue of movies and theatres in six metro areas, and a week of showtimes registered as products
//! through the normal `CreateShowtime` path. Loading twice adds nothing twice: movies
//! and theatres are matched by name, showtimes by a request id derived from their slot.

use std::collections::HashMap;
use std::fmt;

use anyhow::Context;
use chrono::{Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use cinema_client::movies_pb as pb;
use cinema_client::{Cinema, ClientConfig, ClientError, Reason};

/// A demo movie: its catalogue entry, with a synopsis of our own.
struct DemoMovie {
    name: &'static str,
    minutes: u32,
    rating: pb::Rating,
    year: u32,
    synopsis: &'static str,
}

const fn movie(
    name: &'static str,
    minutes: u32,
    rating: pb::Rating,
    year: u32,
    synopsis: &'static str,
) -> DemoMovie {
    DemoMovie {
        name,
        minutes,
        rating,
        year,
        synopsis,
    }
}

const MOVIES: &[DemoMovie] = &[
    movie(
        "Metropolis",
        153,
        pb::Rating::Pg,
        1927,
        "In a towering city of the future, the son of its master descends to the machines below and finds the workers who keep it running, and a robot made to lead them astray.",
    ),
    movie(
        "Casablanca",
        102,
        pb::Rating::Pg,
        1942,
        "A cynical nightclub owner in wartime Morocco holds the letters of transit that could save the woman who left him, and the resistance leader she married.",
    ),
    movie(
        "Citizen Kane",
        119,
        pb::Rating::Pg,
        1941,
        "A newspaper tycoon dies whispering one word, and a reporter goes from friend to rival to find out what it meant and who the man really was.",
    ),
    movie(
        "The General",
        78,
        pb::Rating::G,
        1926,
        "A Southern railroad engineer chases the locomotive he loves, and the girl aboard it, deep behind Union lines in a run of breathtaking stunts.",
    ),
    movie(
        "Nosferatu",
        94,
        pb::Rating::Pg13,
        1922,
        "An estate agent travels to the Carpathians to sell a house to Count Orlok, and brings a plague back to his own town and his wife.",
    ),
    movie(
        "His Girl Friday",
        92,
        pb::Rating::G,
        1940,
        "A newspaper editor has one day to win back his star reporter, who is also his ex-wife, before she remarries: a murder story might do it.",
    ),
    movie(
        "Night of the Living Dead",
        96,
        pb::Rating::R,
        1968,
        "Strangers barricade themselves in a Pennsylvania farmhouse as the dead rise and close in, and fear turns them against one another.",
    ),
    movie(
        "It's a Wonderful Life",
        130,
        pb::Rating::G,
        1946,
        "On Christmas Eve a desperate small-town banker is shown by an angel what his town would have been like had he never been born.",
    ),
    movie(
        "Sherlock Jr.",
        45,
        pb::Rating::G,
        1924,
        "A projectionist who dreams of being a detective falls asleep at work and walks into the film on the screen to solve a theft.",
    ),
    movie(
        "The Kid",
        68,
        pb::Rating::G,
        1921,
        "The Tramp finds an abandoned baby, raises him as his own in the slums, and must fight to keep him when the authorities come.",
    ),
    movie(
        "Safety Last!",
        74,
        pb::Rating::G,
        1923,
        "To impress the girl back home, a store clerk promises a publicity stunt and ends up climbing the building himself, clock and all.",
    ),
    movie(
        "Charade",
        113,
        pb::Rating::Pg,
        1963,
        "A widow in Paris learns her husband stole a fortune that three of his old partners want back, and a charming stranger may be one of them.",
    ),
    movie(
        "The Lodger",
        90,
        pb::Rating::Pg,
        1927,
        "A mysterious lodger takes a room in a London house while a killer stalks the fog, and the landlady begins to wonder where he goes at night.",
    ),
    movie(
        "Detour",
        68,
        pb::Rating::Pg13,
        1945,
        "A nightclub pianist hitchhiking to Los Angeles is caught up in a death he did not cause, and a passenger who knows just how to use it.",
    ),
    movie(
        "The Little Shop of Horrors",
        72,
        pb::Rating::Pg,
        1960,
        "A clumsy florist's assistant raises a strange plant that brings customers to the shop, and develops a taste for human blood.",
    ),
    movie(
        "Plan 9 from Outer Space",
        79,
        pb::Rating::G,
        1957,
        "Aliens raise the dead of a California cemetery to stop humanity from building a doomsday weapon, with cardboard and conviction.",
    ),
    movie(
        "Carnival of Souls",
        78,
        pb::Rating::Pg13,
        1962,
        "After surviving a car crash, a church organist moves to a new town and is drawn again and again to an abandoned lakeside pavilion.",
    ),
    movie(
        "The Phantom of the Opera",
        93,
        pb::Rating::Pg,
        1925,
        "A masked figure haunting the Paris Opera coaches a young singer to stardom, and will have her for himself at any cost.",
    ),
    movie(
        "Steamboat Bill, Jr.",
        70,
        pb::Rating::G,
        1928,
        "A dandy from college comes home to his father's battered riverboat and has to prove himself, just as a cyclone strikes the town.",
    ),
    movie(
        "A Trip to the Moon",
        15,
        pb::Rating::G,
        1902,
        "A congress of astronomers is fired at the Moon in a shell, lands in its eye, and meets its inhabitants in the first great fantasy film.",
    ),
    movie(
        "The Cabinet of Dr. Caligari",
        76,
        pb::Rating::Pg13,
        1920,
        "A fairground hypnotist shows off a sleepwalker who can predict the future, while murders follow him from town to town.",
    ),
    movie(
        "Battleship Potemkin",
        75,
        pb::Rating::Pg13,
        1925,
        "Sailors mutiny over rotten meat in 1905, and the people of Odessa who support them are met on the harbour steps by the Tsar's soldiers.",
    ),
    movie(
        "The Great Train Robbery",
        12,
        pb::Rating::G,
        1903,
        "Bandits hold up a steam train and rob its passengers, and a posse rides after them in the early western that showed what film could do.",
    ),
    movie(
        "Robinson Crusoe on Mars",
        110,
        pb::Rating::Pg,
        1964,
        "An astronaut stranded on Mars with a monkey must find air, water and food, and then discovers he is not alone.",
    ),
    movie(
        "The Last Man on Earth",
        86,
        pb::Rating::Pg13,
        1964,
        "A scientist immune to a plague spends his days hunting the infected and his nights barricaded against them, until he meets a woman.",
    ),
    movie(
        "Dementia 13",
        75,
        pb::Rating::R,
        1963,
        "A widow hides her husband's death to stay in his mother's will, and visits the family's Irish castle, where someone wields an axe.",
    ),
    movie(
        "House on Haunted Hill",
        75,
        pb::Rating::Pg13,
        1959,
        "A millionaire offers five guests ten thousand dollars each to spend the night in a haunted house, with the doors locked until dawn.",
    ),
    movie(
        "The Brain That Wouldn't Die",
        82,
        pb::Rating::R,
        1962,
        "A surgeon keeps his fiancée's head alive after a crash while he looks for a new body for her, and she has other plans.",
    ),
    movie(
        "D.O.A.",
        83,
        pb::Rating::Pg13,
        1949,
        "A notary learns he has been given a slow poison and has only days left to live, just long enough to find out who murdered him and why.",
    ),
    movie(
        "Scarlet Street",
        102,
        pb::Rating::R,
        1945,
        "A meek cashier who paints on Sundays falls for a young woman, who with her boyfriend passes his paintings off as her own.",
    ),
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

/// Creates the demo movie, or finds the one an earlier load created under its request
/// id. A database a load filled before movies had synopses and years holds it without
/// them: the request with them is refused as another (`REQUEST_ID_REUSED`), the one
/// without finds it again, and it is given what it lacks (not what someone gave it
/// since).
async fn create_movie(cinema: &Cinema, m: &DemoMovie) -> Result<pb::Movie, ClientError> {
    let request = pb::CreateMovieRequest {
        name: m.name.into(),
        length_minutes: m.minutes,
        rating: m.rating.into(),
        request_id: demo_key("movie", m.name),
        synopsis: m.synopsis.into(),
        release_year: m.year,
    };
    match cinema.admin().create_movie(request.clone()).await {
        Err(e) if e.reason() == Some(Reason::RequestIdReused) => {
            let request = pb::CreateMovieRequest {
                synopsis: String::new(),
                release_year: 0,
                ..request
            };
            let found = cinema.admin().create_movie(request).await?;
            let now = cinema.movies().get_movie(&found.id).await?;
            let update = pb::UpdateMovieRequest {
                id: found.id.clone(),
                synopsis: now.synopsis.is_none().then(|| m.synopsis.into()),
                release_year: (now.movie.release_year == 0).then_some(m.year),
            };
            match update.synopsis.is_some() || update.release_year.is_some() {
                true => Ok(cinema.admin().update_movie(update).await?.movie),
                false => Ok(now.movie),
            }
        }
        created => created,
    }
}

/// Loads the catalogue through the admin API only. Every create is keyed by a request
/// id derived from what it creates, so a second load gets the same movies, theatres and
/// showtimes back instead of making new ones.
pub async fn load(cinema: &Cinema) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut movie_ids: HashMap<String, String> = HashMap::new();
    let mut theatre_ids: HashMap<String, String> = HashMap::new();

    for m in MOVIES {
        let movie = create_movie(cinema, m).await?;
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
                    let movie = &MOVIES[(ti * 7 + ri * 3 + si + day as usize) % MOVIES.len()];
                    let request = pb::CreateShowtimeRequest {
                        movie_id: movie_ids[movie.name].clone(),
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
        assert!(MOVIES.iter().all(|m| m.minutes <= 195));
    }
}
