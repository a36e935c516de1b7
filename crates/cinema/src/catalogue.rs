//! `cinema catalogue add-movie|edit-movie|add-theatre|add-showtime|cancel-showtime`: what an
//! operator of the chain schedules, or calls off, through the movies admin API (the
//! calls the demo loader makes), without writing a gRPC client.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use cinema_client::Cinema;
use cinema_client::movies_pb as movies;
use clap::{Args, Subcommand, ValueEnum};
use secrecy::SecretString;
use serde_json::json;

use crate::ClientArgs;
use crate::admin::{Admin, connect_as, secret};
use crate::commands::{dollars, emit, local, movie_facts, movie_json};

#[derive(Debug, Args)]
pub struct CatalogueArgs {
    #[command(subcommand)]
    command: CatalogueCommand,
    /// The movies service's admin token.
    #[arg(long, env = "MOVIES_ADMIN_TOKEN", value_parser = secret, hide_env_values = true, global = true, display_order = 900)]
    movies_admin_token: Option<SecretString>,
    /// A key of your choosing (at most 64 printable characters) that makes the command
    /// safe to run again: a second run with the same key adds nothing and prints what
    /// the first added; the key with other values is refused.
    #[arg(long, global = true, display_order = 900)]
    request_id: Option<String>,
}

#[derive(Debug, Subcommand)]
enum CatalogueCommand {
    /// Add a movie.
    #[command(name = "add-movie")]
    Movie {
        /// 1 to 200 characters.
        #[arg(long)]
        name: String,
        /// Its running time in minutes, 1 to 600.
        #[arg(long, value_name = "MINUTES")]
        length: u32,
        #[arg(long, value_enum, ignore_case = true)]
        rating: Rating,
        /// What it is about, for its page: one paragraph of at most 1,000 characters.
        #[arg(long, default_value = "", hide_default_value = true)]
        synopsis: String,
        /// The year of its first release, e.g. 1958: what tells it from a remake.
        #[arg(long, value_name = "YEAR")]
        year: Option<u32>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a movie's synopsis or release year (its name, length and rating are on
    /// the tickets sold for it, and stay). Safe to run again.
    #[command(name = "edit-movie")]
    #[command(group = clap::ArgGroup::new("change").required(true).multiple(true).args(["synopsis", "year"]))]
    EditMovie {
        /// The movie's id (`cinema movies` lists them).
        #[arg(long)]
        movie: String,
        /// The new synopsis, one paragraph of at most 1,000 characters; "" removes it.
        #[arg(long)]
        synopsis: Option<String>,
        /// The year of its first release; 0 removes it.
        #[arg(long, value_name = "YEAR")]
        year: Option<u32>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a theatre with its auditoriums. Its coordinates come from its ZIP code and
    /// its time zone from its address, unless given.
    #[command(name = "add-theatre")]
    Theatre {
        /// As moviegoers know it, e.g. "Kendall Square Cinema".
        #[arg(long)]
        name: String,
        /// A US phone number in E.164 form, e.g. +16175550101.
        #[arg(long)]
        phone: String,
        /// The street address, e.g. "1 Kendall Sq".
        #[arg(long)]
        street: String,
        /// The town or city, e.g. Cambridge.
        #[arg(long)]
        city: String,
        /// Two letters, e.g. MA.
        #[arg(long)]
        state: String,
        /// Five digits, e.g. 02139: its coordinates, which searches measure from.
        #[arg(long)]
        zip: String,
        /// An auditorium as its name and seats (`1=180`, `IMAX=300`); once for each,
        /// 1 to 50 of them.
        #[arg(long = "auditorium", value_name = "ROOM=SEATS", required = true, value_parser = auditorium)]
        auditoriums: Vec<movies::Auditorium>,
        /// An IANA time zone, e.g. America/New_York.
        #[arg(long)]
        time_zone: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Schedule a showtime. It goes on sale at once, with as many seats as its
    /// auditorium has.
    #[command(name = "add-showtime")]
    Showtime {
        /// The movie's id (`cinema movies` lists them).
        #[arg(long)]
        movie: String,
        /// The theatre's id (`cinema theatres` lists them).
        #[arg(long)]
        theatre: String,
        /// The auditorium, by the name its theatre gives it.
        #[arg(long)]
        room: String,
        /// When it starts, on the theatre's clock: `2026-12-09 19:30`.
        #[arg(long, value_name = "YYYY-MM-DD HH:MM", value_parser = local_start)]
        at: NaiveDateTime,
        /// Schedule it on this many days in a row, from `--at`'s, at the same time on
        /// the theatre's clock (a week's run: `--days 7`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=28))]
        days: u16,
        /// The price of a ticket in dollars, e.g. 12.50.
        #[arg(long, value_parser = cents)]
        price: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Call a showtime off: every order of it is cancelled and refunded (each buyer
    /// who gave a phone is texted), it leaves the listings, and its auditorium is free
    /// for another. Safe to run again.
    #[command(name = "cancel-showtime")]
    CancelShowtime {
        /// The showtime's id (`cinema showtimes` lists them).
        #[arg(long)]
        showtime: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// A movie's rating, as the flag takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Rating {
    G,
    #[value(name = "PG")]
    Pg,
    #[value(name = "PG-13")]
    Pg13,
    R,
    #[value(name = "NC-17")]
    Nc17,
}

impl From<Rating> for movies::Rating {
    fn from(rating: Rating) -> Self {
        match rating {
            Rating::G => Self::G,
            Rating::Pg => Self::Pg,
            Rating::Pg13 => Self::Pg13,
            Rating::R => Self::R,
            Rating::Nc17 => Self::Nc17,
        }
    }
}

/// `--auditorium 1=180`. The movies service checks the rest (names distinct, seats
/// within bounds) and names the field it refuses.
fn auditorium(raw: &str) -> Result<movies::Auditorium, String> {
    let (room, seats) = raw
        .split_once('=')
        .ok_or_else(|| "an auditorium and its seats, like 1=180".to_owned())?;
    let seats = seats
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not a number of seats", seats.trim()))?;
    Ok(movies::Auditorium {
        room: room.trim().to_owned(),
        seats,
    })
}

/// `--at 2026-12-09 19:30` (or with a `T`): a time on a clock, not yet an instant.
fn local_start(raw: &str) -> Result<NaiveDateTime, String> {
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw.trim(), format).ok())
        .ok_or_else(|| "a date and time like 2026-12-09 19:30".to_owned())
}

/// `--price 12.50` in cents: dollars with at most two decimals, never a float.
fn cents(raw: &str) -> Result<i64, String> {
    let wrong = || "dollars and cents, like 12.50".to_owned();
    let (dollars, cents) = raw.trim().split_once('.').unwrap_or((raw.trim(), "00"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(dollars) || !all_digits(cents) || cents.len() > 2 {
        return Err(wrong());
    }
    let dollars: i64 = dollars.parse().map_err(|_| wrong())?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| wrong())?;
    dollars
        .checked_mul(100)
        .and_then(|d| d.checked_add(cents))
        .ok_or_else(wrong)
}

/// The instant a theatre's clock shows `at`: refused on the night its clocks skip the
/// time, or show it twice, rather than guessed.
fn on_the_clock_of(theatre: &movies::Theatre, at: NaiveDateTime) -> anyhow::Result<DateTime<Utc>> {
    let zone: Tz = theatre.time_zone.parse().map_err(|_| {
        anyhow::anyhow!(
            "theatre {} has a time zone this client does not know: {:?}",
            theatre.id,
            theatre.time_zone
        )
    })?;
    match zone.from_local_datetime(&at) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(..) => anyhow::bail!(
            "{at} happens twice at {} ({zone}: the clocks go back that night); choose \
             another time",
            theatre.name
        ),
        chrono::LocalResult::None => anyhow::bail!(
            "{at} does not happen at {} ({zone}: the clocks go forward that night); \
             choose another time",
            theatre.name
        ),
    }
}

pub async fn run(args: CatalogueArgs) -> anyhow::Result<()> {
    let (token, request_id) = (args.movies_admin_token, args.request_id.unwrap_or_default());
    match args.command {
        CatalogueCommand::Movie {
            name,
            length,
            rating: rated,
            synopsis,
            year,
            client,
        } => {
            let cinema = connect_as(Admin::Movies, &client, token, "adding a movie")?;
            let movie = cinema
                .admin()
                .create_movie(movies::CreateMovieRequest {
                    name,
                    length_minutes: length,
                    rating: movies::Rating::from(rated).into(),
                    request_id,
                    synopsis,
                    release_year: year.unwrap_or(0),
                })
                .await?;
            emit(&client, movie_json(&movie), || {
                format!(
                    "Movie {}: {} ({}).",
                    movie.id,
                    movie.name,
                    movie_facts(&movie)
                )
            })
        }
        CatalogueCommand::EditMovie {
            movie,
            synopsis,
            year,
            client,
        } => {
            let cinema = connect_as(Admin::Movies, &client, token, "editing a movie")?;
            let details = cinema
                .admin()
                .update_movie(movies::UpdateMovieRequest {
                    id: movie,
                    synopsis,
                    release_year: year,
                })
                .await?;
            let m = &details.movie;
            let mut json = movie_json(m);
            json["synopsis"] = details.synopsis.clone().into();
            emit(&client, json, || {
                let about = match &details.synopsis {
                    Some(synopsis) => format!("\n{synopsis}"),
                    None => " No synopsis.".to_owned(),
                };
                format!("Movie {}: {} ({}).{about}", m.id, m.name, movie_facts(m))
            })
        }
        CatalogueCommand::Theatre {
            name,
            phone,
            street,
            city,
            state,
            zip,
            auditoriums,
            time_zone,
            client,
        } => {
            let cinema = connect_as(Admin::Movies, &client, token, "adding a theatre")?;
            let theatre = cinema
                .admin()
                .create_theatre(movies::CreateTheatreRequest {
                    name,
                    phone,
                    address: Some(movies::Address {
                        line_1: street,
                        city,
                        state,
                        zip_code: zip,
                    }),
                    auditoriums,
                    latitude: None,
                    longitude: None,
                    time_zone,
                    request_id,
                })
                .await?;
            let rooms: Vec<String> = theatre
                .auditoriums
                .iter()
                .map(|a| format!("{} ({} seats)", a.room, a.seats))
                .collect();
            let address = cinema_client::facade::address(&theatre);
            emit(
                &client,
                json!({
                    "id": theatre.id, "name": theatre.name, "address": address,
                    "phone": theatre.phone, "time_zone": theatre.time_zone,
                    "auditoriums": theatre.auditoriums.iter()
                        .map(|a| json!({ "room": a.room, "seats": a.seats }))
                        .collect::<Vec<_>>(),
                }),
                || {
                    format!(
                        "Theatre {}: {}, {address}, {}; auditoriums {}.",
                        theatre.id,
                        theatre.name,
                        theatre.time_zone,
                        rooms.join(", ")
                    )
                },
            )
        }
        CatalogueCommand::Showtime {
            movie,
            theatre,
            room,
            at,
            days,
            price,
            client,
        } => {
            let cinema = connect_as(Admin::Movies, &client, token, "adding a showtime")?;
            let run = Run {
                room,
                at,
                days,
                price,
                request_id,
            };
            add_showtimes(&cinema, &client, &movie, &theatre, run).await
        }
        CatalogueCommand::CancelShowtime { showtime, client } => {
            let cinema = connect_as(Admin::Movies, &client, token, "cancelling a showtime")?;
            cancel_showtime(&cinema, &client, &showtime).await
        }
    }
}

/// Cancels a showtime and says what it was, on its theatre's clock, and how many
/// orders were refunded.
async fn cancel_showtime(cinema: &Cinema, client: &ClientArgs, id: &str) -> anyhow::Result<()> {
    let cancelled = cinema.admin().cancel_showtime(id).await?;
    let details = cinema.movies().get_showtime(id).await?;
    let (movie, theatre) = (
        details.movie.unwrap_or_default(),
        details.theatre.unwrap_or_default(),
    );
    let start = details
        .showtime
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .and_then(|t| DateTime::from_timestamp(t.seconds, 0));
    let room = details.showtime.map(|s| s.auditorium).unwrap_or_default();
    let orders = cancelled.orders_cancelled;
    emit(
        client,
        json!({
            "showtime_id": id, "movie": movie.name, "theatre": theatre.name, "auditorium": room,
            "start_time": start.map(|t| t.to_rfc3339()),
            "cancelled_at": cancelled.cancelled_at
                .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
                .map(|t| t.to_rfc3339()),
            "orders_cancelled": orders,
        }),
        || {
            let when = start.map(|t| local(&theatre, t)).unwrap_or_default();
            let refunded = match orders {
                0 => "No order was placed for it.".to_owned(),
                1 => "1 order was cancelled and refunded.".to_owned(),
                n => format!("{n} orders were cancelled and refunded."),
            };
            format!(
                "Showtime {id} cancelled: {} at {}, auditorium {room}, {when}. {refunded}",
                movie.name, theatre.name
            )
        },
    )
}

/// What `add-showtime` was asked for.
struct Run {
    room: String,
    at: NaiveDateTime,
    days: u16,
    price: i64,
    request_id: String,
}

impl Run {
    /// The request id of the run's `day`th showtime: the key itself for a single one,
    /// `key/day` in a run of days, so that running the same command again adds none
    /// twice. Without a key, none (the client makes each call's own).
    fn request_id(&self, day: usize) -> String {
        match (self.request_id.as_str(), self.days) {
            ("", _) => String::new(),
            (key, 1) => key.to_owned(),
            (key, _) => format!("{key}/{day}"),
        }
    }
}

async fn add_showtimes(
    cinema: &Cinema,
    client: &ClientArgs,
    movie: &str,
    theatre: &str,
    run: Run,
) -> anyhow::Result<()> {
    // The theatre's clock turns `at` into instants; the movie names the lines.
    let (theatre, movie) = tokio::try_join!(
        cinema.movies().get_theatre(theatre),
        cinema.movies().get_movie(movie)
    )?;
    let movie = movie.movie;
    // Every day's start first: a night whose clocks skip or repeat the time refuses the
    // run before anything is added. Each day's is its own, across a change of clocks.
    let starts = (0..run.days)
        .map(|day| {
            let date = run.at.date() + chrono::Days::new(day.into());
            on_the_clock_of(&theatre, date.and_time(run.at.time()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut added = Vec::new();
    let mut failed = None;
    for (day, start) in starts.into_iter().enumerate() {
        let request = movies::CreateShowtimeRequest {
            movie_id: movie.id.clone(),
            theatre_id: theatre.id.clone(),
            room: run.room.clone(),
            start_time: Some(prost_types::Timestamp {
                seconds: start.timestamp(),
                nanos: 0,
            }),
            price_cents: run.price,
            request_id: run.request_id(day),
        };
        match cinema.admin().create_showtime(request).await {
            Ok(showtime) => added.push((showtime, start)),
            Err(e) => {
                failed = Some((start, e));
                break;
            }
        }
    }
    let seats = theatre
        .auditoriums
        .iter()
        .find(|a| a.room == run.room)
        .map(|a| a.seats);
    if !added.is_empty() {
        let json = added
            .iter()
            .map(|(showtime, start)| {
                json!({
                    "id": showtime.id, "movie_id": movie.id, "theatre_id": theatre.id,
                    "room": showtime.auditorium, "start_time": start.to_rfc3339(),
                    "price_cents": showtime.price_cents, "seats": seats,
                })
            })
            .collect();
        emit(client, json, || {
            let lines: Vec<String> = added
                .iter()
                .map(|(showtime, start)| {
                    format!(
                        "Showtime {}: {} at {}, auditorium {}, {}, {} a ticket{}.",
                        showtime.id,
                        movie.name,
                        theatre.name,
                        showtime.auditorium,
                        local(&theatre, *start),
                        dollars(showtime.price_cents),
                        seats.map_or_else(String::new, |n| format!(", {n} seats"))
                    )
                })
                .collect();
            lines.join("\n")
        })?;
    }
    match failed {
        None => Ok(()),
        Some((_, error)) if added.is_empty() => Err(error.into()),
        Some((start, error)) => Err(anyhow::Error::new(error).context(format!(
            "{} of {} showtimes added; not the one of {}{}",
            added.len(),
            run.days,
            local(&theatre, start),
            match run.request_id.is_empty() {
                true => "",
                false => " (run the command again, with the same --request-id, to add the rest)",
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_dollars_and_cents_without_floats() {
        assert_eq!(cents("12.50"), Ok(1250));
        assert_eq!(cents("12.5"), Ok(1250));
        assert_eq!(cents("12"), Ok(1200));
        assert_eq!(cents("0.05"), Ok(5));
        for wrong in ["", "12.505", "-1", "1e3", "$12", "12.", ".50", "12,50"] {
            assert!(cents(wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn each_day_of_a_run_has_its_own_key_from_the_one_given() {
        let run = |days, key: &str| Run {
            room: "1".into(),
            at: local_start("2026-12-09 19:30").expect("a time"),
            days,
            price: 1200,
            request_id: key.into(),
        };
        assert_eq!(run(1, "opening").request_id(0), "opening");
        assert_eq!(
            [0, 2].map(|day| run(3, "opening").request_id(day)),
            ["opening/0", "opening/2"]
        );
        assert_eq!(run(3, "").request_id(1), "", "the client makes its own");
    }

    #[test]
    fn an_auditorium_is_its_name_and_seats() {
        let imax = auditorium("IMAX = 300").expect("parses");
        assert_eq!((imax.room.as_str(), imax.seats), ("IMAX", 300));
        assert!(auditorium("IMAX").is_err());
        assert!(auditorium("1=many").is_err());
    }

    #[test]
    fn a_time_that_the_clocks_skip_or_repeat_is_refused() {
        let theatre = movies::Theatre {
            id: "1".into(),
            name: "Kendall".into(),
            time_zone: "America/New_York".into(),
            ..Default::default()
        };
        let at = |raw| local_start(raw).expect("a time");
        assert_eq!(
            on_the_clock_of(&theatre, at("2026-12-09 19:30")).expect("one instant"),
            Utc.with_ymd_and_hms(2026, 12, 10, 0, 30, 0).unwrap()
        );
        let skipped = on_the_clock_of(&theatre, at("2026-03-08T02:30")).expect_err("a gap");
        assert!(
            skipped.to_string().contains("clocks go forward"),
            "{skipped}"
        );
        let twice = on_the_clock_of(&theatre, at("2026-11-01 01:30")).expect_err("twice");
        assert!(twice.to_string().contains("clocks go back"), "{twice}");
    }
}
