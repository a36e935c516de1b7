//! The client subcommands: a command-line front-end built on `cinema-client`.

use std::collections::HashMap;
use std::io::Write as _;

use anyhow::Context;
use cinema_client::facade::{self, Elsewhere, Paid, TheatreShowtimes};
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_client::{
    Cinema, ClientConfig, ClientError, Failure, MovieDetails, MovieShowtimes, Near, NewOrder,
    Reason,
};
use clap::Args;
use comfy_table::Table;
use serde_json::{Value, json};

use crate::ClientArgs;

fn connect(args: &ClientArgs) -> anyhow::Result<Cinema> {
    Ok(Cinema::connect(ClientConfig::new(
        args.movies.clone(),
        args.orders.clone(),
    ))?)
}

pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_header(header.to_vec());
    table
}

/// Prints the answer: as JSON with `--json`, else as text. A reader that stops early
/// (`cinema showtimes | head`) closes the pipe, which ends the output quietly rather
/// than as an error.
pub(crate) fn emit(
    args: &ClientArgs,
    json: Value,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    let text = if args.json {
        format!("{json:#}")
    } else {
        table()
    };
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

pub(crate) fn rating(movie: &movies::Movie) -> &'static str {
    match movie.rating() {
        movies::Rating::G => "G",
        movies::Rating::Pg => "PG",
        movies::Rating::Pg13 => "PG-13",
        movies::Rating::R => "R",
        movies::Rating::Nc17 => "NC-17",
        movies::Rating::Unspecified => "?",
    }
}

/// A showtime as a moviegoer reads it: the theatre's local time, with its zone's
/// abbreviation (`Wed Nov 25 19:30 EST`).
fn when(s: &facade::Showtime) -> String {
    s.local_start().format("%a %b %d %H:%M %Z").to_string()
}

pub(crate) fn movie_json(m: &movies::Movie) -> Value {
    json!({
        "id": m.id, "name": m.name, "rating": rating(m), "length_minutes": m.length_minutes,
        "release_year": year(m),
    })
}

/// The year of its release, when known.
fn year(m: &movies::Movie) -> Option<u32> {
    Some(m.release_year).filter(|&y| y != 0)
}

/// `1942, PG, 102 min`: what follows a movie's name, in parentheses.
pub(crate) fn movie_facts(m: &movies::Movie) -> String {
    let facts = format!("{}, {} min", rating(m), m.length_minutes);
    match year(m) {
        Some(year) => format!("{year}, {facts}"),
        None => facts,
    }
}

pub async fn movies(args: &ClientArgs, near: Option<&Near>) -> anyhow::Result<()> {
    let cinema = connect(args)?;
    // Sold out too, said so: a premiere sold out to its last seat is still showing.
    let list = cinema.playing_movies(near).await?;
    // Nothing near: the nearest theatre within the farthest a search goes, as the
    // website's home page names it.
    let nearest = match near {
        Some(near) if list.is_empty() => Some(
            cinema
                .theatres_near(&Near::zip(near.zip.clone()).within(Near::MAX_MILES))
                .await?,
        ),
        _ => None,
    };
    emit(
        args,
        Value::Array(
            list.iter()
                .map(|p| {
                    let mut movie = movie_json(&p.movie);
                    movie["sold_out"] = json!(p.sold_out);
                    movie
                })
                .collect(),
        ),
        || {
            match (near, nearest.as_deref()) {
                (Some(near), Some([])) => {
                    return format!(
                        "There is no theatre within {} miles of {}.",
                        Near::MAX_MILES,
                        near.zip
                    );
                }
                (Some(near), Some([first, ..])) => {
                    let miles = first.distance_miles.unwrap_or_default();
                    return format!(
                        "No movies are showing{} in the next two weeks.\n\
                         The nearest theatre is {}, {miles:.1} miles away: \
                         `cinema movies --zip {} --within {}` looks that far.",
                        within(Some(near)),
                        first.name,
                        near.zip,
                        miles.ceil()
                    );
                }
                _ => {}
            }
            if list.is_empty() {
                return format!(
                    "No movies are showing{} in the next two weeks.",
                    within(near)
                );
            }
            let mut t = table(&["ID", "MOVIE", "YEAR", "RATING", "LENGTH", "TICKETS"]);
            for p in &list {
                let m = &p.movie;
                t.add_row(vec![
                    m.id.clone(),
                    m.name.clone(),
                    year(m).map(|y| y.to_string()).unwrap_or_default(),
                    rating(m).into(),
                    format!("{} min", m.length_minutes),
                    if p.sold_out { "sold out" } else { "on sale" }.into(),
                ]);
            }
            t.to_string()
        },
    )?;
    Ok(())
}

pub async fn theatres(args: &ClientArgs, near: Option<&Near>) -> anyhow::Result<()> {
    let cinema = connect(args)?;
    let list = match near {
        Some(near) => cinema.theatres_near(near).await?,
        None => cinema.movies().all_theatres().await?,
    };
    let json = list
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "name": t.name, "address": facade::address(t), "phone": t.phone,
                "distance_miles": t.distance_miles, "time_zone": t.time_zone,
                "auditoriums": t.auditoriums.iter()
                    .map(|a| json!({ "room": a.room, "seats": a.seats }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    emit(args, Value::Array(json), || {
        if list.is_empty() {
            return format!("No theatres{}.", within(near));
        }
        // Distances only from a ZIP code.
        let mut t = match near {
            Some(_) => table(&["ID", "THEATRE", "MILES", "ADDRESS", "PHONE", "AUDITORIUMS"]),
            None => table(&["ID", "THEATRE", "ADDRESS", "PHONE", "AUDITORIUMS"]),
        };
        for theatre in &list {
            let mut row = vec![theatre.id.clone(), theatre.name.clone()];
            if near.is_some() {
                row.push(
                    theatre
                        .distance_miles
                        .map(|d| format!("{d:.1}"))
                        .unwrap_or_default(),
                );
            }
            row.extend([
                facade::address(theatre),
                theatre.phone.clone(),
                auditoriums(theatre),
            ]);
            t.add_row(row);
        }
        t.to_string()
    })
}

/// `1 (180 seats), Screening Room (8 seats)`: the rooms a showtime can be scheduled in,
/// by the names `cinema catalogue add-showtime --room` takes.
fn auditoriums(theatre: &movies::Theatre) -> String {
    let rooms: Vec<String> = theatre
        .auditoriums
        .iter()
        .map(|a| format!("{} ({} seats)", a.room, a.seats))
        .collect();
    rooms.join(", ")
}

/// " within 15 miles of 02139", as the website says it; nothing for everywhere.
fn within(near: Option<&Near>) -> String {
    near.map(|n| format!(" {n}")).unwrap_or_default()
}

fn showtime_json(s: &facade::Showtime, seats: &SeatsLeft) -> Value {
    json!({
        "id": s.id, "movie_id": s.movie.id, "movie": s.movie.name, "theatre_id": s.theatre.id,
        "theatre": s.theatre.name, "auditorium": s.auditorium, "start_time": s.start_time.to_rfc3339(),
        "local_start_time": s.local_start().to_rfc3339(), "time_zone": s.theatre.time_zone,
        "price_cents": s.price_cents, "product_id": s.product_id,
        "seats_left": seats.of(s),
    })
}

/// The seats left per product, as the orders service counted them; `None` when it
/// could not be asked (a listing is still worth printing without them).
struct SeatsLeft(Option<HashMap<String, i64>>);

impl SeatsLeft {
    async fn of_listed<'a>(
        cinema: &Cinema,
        showtimes: impl IntoIterator<Item = &'a facade::Showtime>,
    ) -> Self {
        match cinema.seats_left(showtimes).await {
            Ok(left) => Self(Some(left)),
            Err(e) => {
                eprintln!("warning: the seats left are not shown: {e}");
                Self(None)
            }
        }
    }

    fn of(&self, showtime: &facade::Showtime) -> Option<i64> {
        self.0.as_ref()?.get(&showtime.product_id).copied()
    }

    /// The table's cell: the count, `sold out`, or nothing when unknown.
    fn cell(&self, showtime: &facade::Showtime) -> String {
        match self.of(showtime) {
            Some(0) => "sold out".to_owned(),
            Some(n) => n.to_string(),
            None => String::new(),
        }
    }
}

/// Showtimes by theatre, nearest first; under the movie's name when one was asked for.
/// `elsewhere`: for a movie with nothing near, where it plays instead (as the website's
/// movie page says it).
fn by_theatre(
    args: &ClientArgs,
    details: Option<&MovieDetails>,
    near: Option<&Near>,
    groups: &[TheatreShowtimes],
    elsewhere: Option<&Elsewhere>,
    seats: &SeatsLeft,
    period: &str,
) -> anyhow::Result<()> {
    let json = groups
        .iter()
        .map(|g| {
            json!({
                "theatre": { "id": g.theatre.id, "name": g.theatre.name, "distance_miles": g.theatre.distance_miles },
                "showtimes": g.showtimes.iter().map(|s| showtime_json(s, seats)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let movie = details.map(|d| &d.movie);
    emit(args, Value::Array(json), || {
        // The movie, and what it is about, as its page on the website begins.
        let heading = details
            .map(|MovieDetails { movie: m, synopsis }| {
                let about = synopsis
                    .as_ref()
                    .map(|s| format!("{s}\n\n"))
                    .unwrap_or_default();
                format!("{} ({})\n{about}", m.name, movie_facts(m))
            })
            .unwrap_or_default();
        match (groups.is_empty(), elsewhere, movie) {
            (true, Some(Elsewhere::Nowhere), Some(m)) => {
                return format!(
                    "{heading}{} is not playing anywhere in the next two weeks.",
                    m.name
                );
            }
            (true, Some(Elsewhere::SoldOut), Some(m)) => {
                return format!(
                    "{heading}Every showing of {} in the next two weeks is sold out.",
                    m.name
                );
            }
            (true, Some(Elsewhere::At(theatres)), Some(m)) => {
                let list: Vec<_> = theatres.iter().map(theatre_and_town).collect();
                return format!(
                    "{heading}No showtimes{} in the next two weeks.\n\
                     Playing at {}: `cinema showtimes --movie {}` lists them.",
                    within(near),
                    list.join("; "),
                    m.id
                );
            }
            (true, ..) => {
                return format!("{heading}No showtimes{} {period}.", within(near));
            }
            (false, ..) => {}
        }
        let mut t = table(&[
            "THEATRE", "MILES", "SHOWTIME", "MOVIE", "WHEN", "ROOM", "PRICE", "SEATS",
        ]);
        for g in groups {
            let miles = g
                .theatre
                .distance_miles
                .map(|d| format!("{d:.1}"))
                .unwrap_or_default();
            for (i, s) in g.showtimes.iter().enumerate() {
                let (name, miles) = if i == 0 {
                    (g.theatre.name.clone(), miles.clone())
                } else {
                    (String::new(), String::new())
                };
                t.add_row(vec![
                    name,
                    miles,
                    s.id.clone(),
                    s.movie.name.clone(),
                    when(s),
                    s.auditorium.clone(),
                    dollars(s.price_cents),
                    seats.cell(s),
                ]);
            }
        }
        format!("{heading}{t}")
    })
}

/// One theatre's showtimes, by movie, under the theatre's name, address and phone.
fn by_movie(
    args: &ClientArgs,
    theatre: &movies::Theatre,
    groups: &[MovieShowtimes],
    seats: &SeatsLeft,
    period: &str,
) -> anyhow::Result<()> {
    let json = groups
        .iter()
        .map(|g| json!({ "movie": movie_json(&g.movie), "showtimes": g.showtimes.iter().map(|s| showtime_json(s, seats)).collect::<Vec<_>>() }))
        .collect();
    emit(args, Value::Array(json), || {
        let heading = format!(
            "{}, {}  {}",
            theatre.name,
            facade::address(theatre),
            theatre.phone
        );
        if groups.is_empty() {
            return format!("{heading}\nNo showtimes {period}.");
        }
        let mut t = table(&["MOVIE", "SHOWTIME", "WHEN", "ROOM", "PRICE", "SEATS"]);
        for g in groups {
            for (i, s) in g.showtimes.iter().enumerate() {
                let name = if i == 0 {
                    g.movie.name.clone()
                } else {
                    String::new()
                };
                t.add_row(vec![
                    name,
                    s.id.clone(),
                    when(s),
                    s.auditorium.clone(),
                    dollars(s.price_cents),
                    seats.cell(s),
                ]);
            }
        }
        format!("{heading}\n{t}")
    })
}

/// A day to list showtimes on, on each theatre's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    Today,
    Tomorrow,
    On(chrono::NaiveDate),
}

impl Day {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "today" => Ok(Self::Today),
            "tomorrow" => Ok(Self::Tomorrow),
            date => date
                .parse()
                .map(Self::On)
                .map_err(|_| "today, tomorrow or a date like 2026-12-09".to_owned()),
        }
    }

    /// The date this day is on `theatre`'s calendar, seen at `now`.
    pub(crate) fn date_at(
        self,
        theatre: &movies::Theatre,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::NaiveDate {
        let today = facade::local_time(theatre, now).date_naive();
        match self {
            Self::Today => today,
            Self::Tomorrow => today + chrono::Days::new(1),
            Self::On(date) => date,
        }
    }

    /// Whether `showtime` starts on this day at its theatre, seen at `now`.
    fn has(self, showtime: &facade::Showtime, now: chrono::DateTime<chrono::Utc>) -> bool {
        showtime.local_start().date_naive() == self.date_at(&showtime.theatre, now)
    }

    /// `today`, `tomorrow` or `on Wed Dec 09`, as the listing's dates are written.
    fn phrase(self) -> String {
        match self {
            Self::Today => "today".to_owned(),
            Self::Tomorrow => "tomorrow".to_owned(),
            Self::On(date) => date.format("on %a %b %d").to_string(),
        }
    }
}

/// Keeps the showtimes on `day`, and the groups that still have some.
fn on_day<G>(
    groups: Vec<G>,
    day: Option<Day>,
    showtimes: impl Fn(&mut G) -> &mut Vec<facade::Showtime>,
) -> Vec<G> {
    let Some(day) = day else { return groups };
    let now = chrono::Utc::now();
    groups
        .into_iter()
        .filter_map(|mut g| {
            let list = showtimes(&mut g);
            list.retain(|s| day.has(s, now));
            (!list.is_empty()).then_some(g)
        })
        .collect()
}

pub async fn showtimes(
    args: &ClientArgs,
    near: Option<&Near>,
    movie: Option<&str>,
    theatre: Option<&str>,
    day: Option<Day>,
) -> anyhow::Result<()> {
    let cinema = connect(args)?;
    if let Some(theatre) = theatre {
        // Asked together, as the website's theatre page does: a theatre that does not
        // exist is an error, not an empty listing.
        let (theatre, groups) = tokio::try_join!(
            cinema.movies().get_theatre(theatre),
            cinema.showtimes_at_theatre(theatre)
        )?;
        let groups = on_day(groups, day, |g| &mut g.showtimes);
        // The board has the sold-out showings too, as the website's theatre page: the
        // day's, or those of every day listed.
        let now = chrono::Utc::now();
        let date = day.map(|day| day.date_at(&theatre, now));
        let sold_out = cinema.sold_out_at_theatre(&theatre.id, date, now).await?;
        let groups = facade::add_by_movie(groups, sold_out);
        let groups: Vec<_> = groups
            .into_iter()
            .filter(|g| movie.is_none_or(|m| g.movie.id == m))
            .collect();
        let seats = SeatsLeft::of_listed(&cinema, groups.iter().flat_map(|g| &g.showtimes)).await;
        return by_movie(args, &theatre, &groups, &seats, &period(day));
    }
    // Likewise for a named movie, as on the website's movie page.
    let named = async {
        match movie {
            Some(id) => cinema.movies().get_movie(id).await.map(Some),
            None => Ok(None),
        }
    };
    let found = async {
        if let (Some(near), Some(movie)) = (near, movie) {
            return cinema.showtimes_for_movie_near(movie, near).await;
        }
        let result = cinema
            .movies()
            .all_showtimes(movies::GetShowtimesRequest {
                zip_code: near.map(|n| n.zip.clone()),
                radius_miles: near.and_then(|n| n.radius_miles),
                movie_ids: movie.map(|m| vec![m.to_owned()]).unwrap_or_default(),
                ..Default::default()
            })
            .await?;
        facade::group_by_theatre(result)
    };
    let (named, groups) = tokio::try_join!(named, found)?;
    // Near a ZIP code, the sold-out showings (of the movie named) at the theatres near
    // too, marked, as on the website's movie page; not for a listing of every theatre.
    let (around, sold_out) = match near {
        Some(near) => sold_out_near(&cinema, near, movie).await?,
        None => Default::default(),
    };
    let groups = facade::add_to_theatres(groups, &around, sold_out);
    // Where else the movie plays, when nothing near has it on any day; with no ZIP
    // code, whether every showing of it is sold out or it is not playing at all.
    let elsewhere = match (groups.is_empty(), movie) {
        (true, Some(movie)) => Some(cinema.theatres_showing(movie).await?),
        _ => None,
    };
    let period = match elsewhere {
        Some(_) => period(None),
        None => period(day),
    };
    let groups = on_day(groups, day, |g| &mut g.showtimes);
    let seats = SeatsLeft::of_listed(&cinema, groups.iter().flat_map(|g| &g.showtimes)).await;
    by_theatre(
        args,
        named.as_ref(),
        near,
        &groups,
        elsewhere.as_ref(),
        &seats,
        &period,
    )
}

/// The theatres near (the nearest [`cinema_client::SOLD_OUT_THEATRES`]) and their
/// sold-out showings, of `movie` only when one is named: what the listing near leaves
/// out.
async fn sold_out_near(
    cinema: &Cinema,
    near: &Near,
    movie: Option<&str>,
) -> Result<(Vec<movies::Theatre>, Vec<facade::Showtime>), ClientError> {
    let mut around = cinema.theatres_near(near).await?;
    around.truncate(cinema_client::SOLD_OUT_THEATRES);
    let now = chrono::Utc::now();
    let found = futures::future::try_join_all(
        around
            .iter()
            .map(|t| cinema.sold_out_at_theatre(&t.id, None, now)),
    )
    .await?;
    let sold_out = found
        .into_iter()
        .flatten()
        .filter(|s| movie.is_none_or(|m| s.movie.id == m))
        .collect();
    Ok((around, sold_out))
}

/// What a listing covers, for the line that says it found nothing.
fn period(day: Option<Day>) -> String {
    day.map_or_else(|| "in the next two weeks".to_owned(), Day::phrase)
}

/// `Loop Theatre (Chicago, IL)`
fn theatre_and_town(theatre: &movies::Theatre) -> String {
    match &theatre.address {
        Some(a) => format!("{} ({}, {})", theatre.name, a.city, a.state),
        None => theatre.name.clone(),
    }
}

/// `cinema buy`: pay by card (the simulated processor declines 4000 0000 0000 0002),
/// PayPal or a promotion code, one of them. Billing address fields default to a
/// Cambridge, MA address for demos.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("pay").required(true).args(["card", "paypal", "promotion"])))]
pub struct BuyArgs {
    #[arg(long)]
    showtime: String,
    /// How many tickets, 1 to 10 (as on the website).
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(i64).range(1..=cinema_client::MAX_TICKETS_PER_PURCHASE))]
    tickets: i64,
    /// Card number; the brand is taken from its prefix.
    #[arg(long)]
    card: Option<String>,
    /// Expiry as MM/YYYY.
    #[arg(long, default_value = "12/2030")]
    expires: String,
    /// The card's security code (3 digits, 4 on an American Express), for the payment
    /// processor's check; never printed or kept.
    #[arg(long, requires = "card")]
    security_code: Option<String>,
    #[arg(long, default_value = "1 Main St")]
    address: String,
    #[arg(long, default_value = "Cambridge")]
    city: String,
    #[arg(long, default_value = "MA")]
    state: String,
    #[arg(long, default_value = "02139")]
    billing_zip: String,
    /// Pay with this PayPal account instead of a card.
    #[arg(long)]
    paypal: Option<String>,
    /// Pay with this promotion code instead.
    #[arg(long)]
    promotion: Option<String>,
    /// Text the confirmation to this phone.
    #[arg(long)]
    phone: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

fn brand(number: &str) -> orders::CardBrand {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.starts_with("34") || digits.starts_with("37") {
        orders::CardBrand::AmericanExpress
    } else if digits.starts_with('4') {
        orders::CardBrand::Visa
    } else {
        orders::CardBrand::Mastercard
    }
}

pub async fn buy(args: &BuyArgs) -> anyhow::Result<()> {
    let cinema = connect(&args.client)?;
    let details = cinema.movies().get_showtime(&args.showtime).await?;
    let showtime = details.showtime.context("the answer has no showtime")?;
    let payment = match (&args.card, &args.paypal, &args.promotion) {
        (_, Some(email), _) => orders::payment::Method::Paypal(orders::PayPal {
            email: email.clone(),
        }),
        (_, _, Some(code)) => {
            orders::payment::Method::Promotion(orders::Promotion { code: code.clone() })
        }
        (Some(number), None, None) => {
            let (month, year) = args
                .expires
                .split_once('/')
                .context("--expires must be MM/YYYY")?;
            orders::payment::Method::CreditCard(orders::CreditCard {
                brand: brand(number).into(),
                number: number.clone(),
                expiration_month: month.trim().parse().context("--expires month")?,
                expiration_year: year.trim().parse().context("--expires year")?,
                billing_address: Some(orders::Address {
                    line_1: args.address.clone(),
                    line_2: String::new(),
                    city: args.city.clone(),
                    state: args.state.clone(),
                    zip_code: args.billing_zip.clone(),
                }),
                security_code: args.security_code.clone().unwrap_or_default(),
            })
        }
        (None, None, None) => anyhow::bail!("give --card, --paypal or --promotion"),
    };
    let placed = cinema
        .orders()
        .place_order(NewOrder {
            items: vec![orders::OrderItem {
                product_id: showtime.product_id.clone(),
                quantity: args.tickets,
            }],
            payment: orders::Payment {
                method: Some(payment),
            },
            phone: args.phone.clone(),
            hold_id: None,
        })
        .await;
    let placed = match placed {
        // The orders service speaks of products; say it in seats, with how many are
        // left now (when that can be told).
        Err(ClientError::SoldOut(_)) => {
            let now = cinema
                .orders()
                .availability(&[&showtime.product_id])
                .await
                .ok()
                .and_then(|a| a.first().map(|p| (p.available, p.held)));
            anyhow::bail!(match now {
                Some((0, 1)) => "this showtime is sold out for now: 1 held seat goes back on \
                                 sale if it is not paid for in time"
                    .to_owned(),
                Some((0, held)) if held > 1 => format!(
                    "this showtime is sold out for now: {held} held seats go back on sale if \
                     they are not paid for in time"
                ),
                Some((0, _)) | None => "this showtime is sold out".to_owned(),
                Some((1, _)) => "only 1 seat is left for this showtime".to_owned(),
                Some((n, _)) => format!("only {n} seats are left for this showtime"),
            });
        }
        Err(e) if e.reason() == Some(Reason::SalesEnded) => {
            anyhow::bail!("this showtime has started: its tickets are no longer sold")
        }
        other => other?,
    };
    let movie = details.movie.map(|m| m.name).unwrap_or_default();
    let theatre = details.theatre.unwrap_or_default();
    let start = showtime.start_time.as_ref().and_then(instant);
    let doors = showtime.doors_open.as_ref().and_then(instant);
    let rfc3339 = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    emit(
        &args.client,
        json!({ "confirmation": placed.confirmation, "price_cents": placed.price_cents, "tickets": args.tickets,
                "showtime_id": showtime.id, "movie": movie, "theatre": theatre.name,
                "auditorium": showtime.auditorium, "start_time": rfc3339(start),
                "doors_open": rfc3339(doors) }),
        || {
            // What the buyer needs at the door, said once: the code, the room and the
            // time on the theatre's clock (as the text and `cinema order` say it).
            let mut said = format!(
                "Confirmation {}: {} for {movie} at {}, auditorium {}",
                placed.confirmation,
                tickets(args.tickets),
                theatre.name,
                showtime.auditorium,
            );
            if let Some(start) = start {
                said += &format!(", {}", local(&theatre, start));
                if let Some(doors) = doors {
                    said += &format!(" (doors open {})", doors_clock(&theatre, doors, start));
                }
            }
            said += &format!("; total {}.", dollars(placed.price_cents));
            if let Some(last_four) = args.phone.as_deref().and_then(phone_last_four) {
                said += &format!("\nA text with the code goes to the phone ending in {last_four}.");
            }
            said
        },
    )?;
    Ok(())
}

/// "1 ticket", "2 tickets".
fn tickets(n: i64) -> String {
    if n == 1 {
        "1 ticket".to_owned()
    } else {
        format!("{n} tickets")
    }
}

/// The last four digits of a phone number, as the order keeps them.
fn phone_last_four(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
}

/// What an order line is for, as a moviegoer knows it: the showtime behind the line's
/// product (the orders service keeps the showtime id as the product's external ref).
struct Seats {
    movie: String,
    theatre: String,
    /// The auditorium's room name.
    room: String,
    when: String,
    theatre_id: String,
    start: chrono::DateTime<chrono::Utc>,
    /// When the doors open for it, like `when`.
    doors: String,
}

/// Looks up each line's showtime. A line whose showtime cannot be read (the movies
/// service down, say) is shown by its product and description: the order is still
/// the order.
async fn seats_of(cinema: &Cinema, order: &orders::Order) -> Vec<Option<Seats>> {
    let mut seats = Vec::with_capacity(order.line_items.len());
    for line in &order.line_items {
        let found = match line.external_ref.as_str() {
            "" => None,
            showtime => cinema.movies().get_showtime(showtime).await.ok(),
        };
        seats.push(found.and_then(|details| {
            let (movie, theatre, showtime) = (details.movie?, details.theatre?, details.showtime?);
            let start = instant(showtime.start_time.as_ref()?)?;
            // An older movies service does not say: no earlier than the start, then.
            let doors = showtime
                .doors_open
                .as_ref()
                .and_then(instant)
                .unwrap_or(start);
            Some(Seats {
                when: local(&theatre, start),
                doors: local(&theatre, doors),
                movie: movie.name,
                theatre: theatre.name,
                theatre_id: theatre.id,
                room: showtime.auditorium,
                start,
            })
        }));
    }
    seats
}

/// `Tue Dec 08 19:30 EST`, on the theatre's clock.
pub(crate) fn local(theatre: &movies::Theatre, instant: chrono::DateTime<chrono::Utc>) -> String {
    facade::local_time(theatre, instant)
        .format("%a %b %d %H:%M %Z")
        .to_string()
}

/// When the doors open for a showtime, after `local` has said its start: the time
/// alone (`18:30 EST`) on the same day, the whole of it on the evening before a
/// midnight showing.
fn doors_clock(
    theatre: &movies::Theatre,
    doors: chrono::DateTime<chrono::Utc>,
    start: chrono::DateTime<chrono::Utc>,
) -> String {
    let (doors_local, start_local) = (
        facade::local_time(theatre, doors),
        facade::local_time(theatre, start),
    );
    if doors_local.date_naive() == start_local.date_naive() {
        doors_local.format("%H:%M %Z").to_string()
    } else {
        local(theatre, doors)
    }
}

fn order_json(order: &orders::Order) -> Value {
    json!({
        "confirmation": order.confirmation,
        "status": match order.status() { orders::OrderStatus::Cancelled => "cancelled", _ => "placed" },
        "total_cents": order.total_cents,
        "phone_last_four": (!order.phone_last_four.is_empty()).then_some(&order.phone_last_four),
        "paid_with": Paid::of(order).map(|paid| paid.to_string()),
        "cancelled_by_provider": order.cancelled_by_provider,
        "admitted_at": admitted_at(order).map(|t| t.to_rfc3339()),
        "admitted_by_override": order.admitted_by_override,
        "line_items": order.line_items.iter().map(|l| json!({
            "product_id": l.product_id, "showtime_id": l.external_ref, "description": l.description,
            "quantity": l.quantity,
            "unit_price_cents": l.unit_price_cents
        })).collect::<Vec<_>>(),
    })
}

/// When the order's holder was let in at the door, if they were.
fn admitted_at(order: &orders::Order) -> Option<chrono::DateTime<chrono::Utc>> {
    instant(order.admitted_at.as_ref()?)
}

fn instant(t: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

fn order_table(order: &orders::Order, seats: &[Option<Seats>]) -> String {
    let status = match (order.status(), admitted_at(order)) {
        (orders::OrderStatus::Cancelled, _) => "cancelled".to_owned(),
        (_, Some(at)) => format!(
            "placed, admitted {}{}",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            if order.admitted_by_override {
                " by a manager's override"
            } else {
                ""
            }
        ),
        _ => "placed".to_owned(),
    };
    let mut t = table(&[
        "SHOWTIME",
        "MOVIE",
        "THEATRE",
        "ROOM",
        "WHEN",
        "TICKETS",
        "UNIT PRICE",
        "PRICE",
    ]);
    for (l, seats) in order.line_items.iter().zip(seats) {
        let (showtime, movie, theatre, room, when) = match seats {
            Some(s) => (
                l.external_ref.clone(),
                s.movie.clone(),
                s.theatre.clone(),
                s.room.clone(),
                s.when.clone(),
            ),
            // The product's own description still says what it is.
            None => (
                format!("product {}", l.product_id),
                l.description.clone(),
                String::new(),
                String::new(),
                String::new(),
            ),
        };
        t.add_row(vec![
            showtime,
            movie,
            theatre,
            room,
            when,
            l.quantity.to_string(),
            dollars(l.unit_price_cents),
            dollars(l.price_cents),
        ]);
    }
    let total = dollars(order.total_cents);
    let mut said = format!(
        "Order {} ({status}), total {total}\n{t}",
        order.confirmation
    );
    let paid = Paid::of(order);
    match (order.status(), &paid) {
        (orders::OrderStatus::Cancelled, paid) => {
            said += if order.cancelled_by_provider {
                "\nCancelled by the theatre: the showing was called off."
            } else {
                "\nCancelled: its seats are back on sale."
            };
            if let Some(paid) = paid {
                said += &format!(" {}", paid.refund(&paid.to_string(), &total));
            }
        }
        (_, Some(paid)) => said += &format!("\nPaid by {paid}."),
        (_, None) => {}
    }
    if let Some(last_four) = Some(order.phone_last_four.as_str()).filter(|l| !l.is_empty()) {
        said += &format!("\nTexts go to the phone ending in {last_four}.");
    }
    said
}

pub async fn order(args: &ClientArgs, confirmation: &str) -> anyhow::Result<()> {
    let cinema = connect(args)?;
    let order = cinema.orders().get_order(confirmation).await?;
    show_order(args, &cinema, &order).await
}

pub async fn cancel(args: &ClientArgs, confirmation: &str) -> anyhow::Result<()> {
    let cinema = connect(args)?;
    let order = match cinema.orders().cancel_order(confirmation).await {
        Err(e) if e.reason() == Some(Reason::SalesEnded) => anyhow::bail!(
            "order {confirmation} can no longer be cancelled: its showtime has started"
        ),
        Err(e) if e.reason() == Some(Reason::AlreadyAdmitted) => anyhow::bail!(
            "order {confirmation} can no longer be cancelled: its tickets were used at the door"
        ),
        answer => answer?,
    };
    show_order(args, &cinema, &order).await
}

/// The door a code is shown at: which theatre (when the box office said), and whether
/// tickets for another theatre or time may be let in all the same.
pub struct Door {
    pub theatre: Option<String>,
    pub anyway: bool,
}

/// The orders service's refusal at the door (another theatre, too early, too late),
/// said with the movie's and the theatre's names and on the theatre's clock when the
/// showtimes can be read (the service's own words otherwise).
async fn turned_away(cinema: &Cinema, confirmation: &str, failure: &Failure) -> String {
    let seats = match cinema.orders().get_order(confirmation).await {
        Ok(order) => seats_of(cinema, &order).await,
        Err(_) => Vec::new(),
    };
    let first = seats.iter().flatten().min_by_key(|s| s.start);
    match (failure.reason, first) {
        (Some(Reason::WrongVenue), Some(s)) => format!(
            "these tickets are for {} (theatre {}), not this theatre",
            s.theatre, s.theatre_id
        ),
        (Some(Reason::AdmissionNotOpen), Some(s)) => format!(
            "not yet: these tickets are for {} on {}; doors open at {}",
            s.movie, s.when, s.doors
        ),
        (Some(Reason::AdmissionClosed), Some(s)) => format!("{} on {} is over", s.movie, s.when),
        _ => failure.message.clone(),
    }
}

/// `cinema admit`: the box office lets an order's holder in, once, at the theatre and
/// around the time the tickets are for: the orders service keeps both (each
/// showtime's theatre, and its doors opening to the movie's end), so any other
/// scanner gets the same answers.
pub async fn admit(
    args: &ClientArgs,
    token: Option<secrecy::SecretString>,
    confirmation: &str,
    door: &Door,
) -> anyhow::Result<()> {
    let cinema = crate::admin::connect_as(crate::admin::Admin::Orders, args, token, "admitting")?;
    let admitted = match door.anyway {
        true => cinema.orders().admit_order_anyway(confirmation).await,
        false => {
            let theatre = door.theatre.as_deref();
            cinema.orders().admit_order(confirmation, theatre).await
        }
    };
    let order = match admitted {
        // The service's message says when: the person who used it may still be near.
        Err(ClientError::Refused(failure)) if failure.reason == Some(Reason::AlreadyAdmitted) => {
            anyhow::bail!(
                "DO NOT ADMIT: {} (a copy of a code already used)",
                failure.message
            )
        }
        Err(ClientError::Refused(failure))
            if matches!(
                failure.reason,
                Some(Reason::WrongVenue | Reason::AdmissionNotOpen | Reason::AdmissionClosed)
            ) =>
        {
            let why = turned_away(&cinema, confirmation, &failure).await;
            anyhow::bail!(
                "DO NOT ADMIT: {why}. Nothing was recorded; --anyway lets them in regardless."
            )
        }
        Err(e) if e.reason() == Some(Reason::OrderCancelled) => {
            anyhow::bail!("DO NOT ADMIT: order {confirmation} was cancelled")
        }
        answer => answer?,
    };
    show_order(args, &cinema, &order).await
}

async fn show_order(
    args: &ClientArgs,
    cinema: &Cinema,
    order: &orders::Order,
) -> anyhow::Result<()> {
    // Only the text shows the showtimes: JSON keeps ids, for scripts to look up.
    let seats = if args.json {
        Vec::new()
    } else {
        seats_of(cinema, order).await
    };
    emit(args, order_json(order), || order_table(order, &seats))
}

/// A text as the SMS gateway simulator lists it at `GET /texts`.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct SimulatedText {
    gateway: String,
    phone: String,
    message: String,
}

pub async fn texts(args: &ClientArgs) -> anyhow::Result<()> {
    let url = format!("{}/texts", args.sms.trim_end_matches('/'));
    let texts: Vec<SimulatedText> = reqwest::get(&url)
        .await
        .with_context(|| format!("cannot reach the SMS simulator at {url}"))?
        .error_for_status()
        .with_context(|| format!("the SMS simulator at {url} refused"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer with the simulator's texts"))?;
    emit(args, serde_json::to_value(&texts)?, || {
        if texts.is_empty() {
            return "No texts yet.".to_owned();
        }
        let mut t = table(&["GATEWAY", "PHONE", "MESSAGE"]);
        for text in &texts {
            t.add_row(vec![
                text.gateway.clone(),
                text.phone.clone(),
                text.message.clone(),
            ]);
        }
        t.to_string()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn boston() -> movies::Theatre {
        movies::Theatre {
            time_zone: "America/New_York".into(),
            ..Default::default()
        }
    }

    #[test]
    fn tickets_are_counted_in_words_a_buyer_reads() {
        assert_eq!(tickets(1), "1 ticket");
        assert_eq!(tickets(2), "2 tickets");
    }

    #[test]
    fn only_the_last_four_digits_of_a_phone_are_repeated() {
        assert_eq!(phone_last_four("+1 415 555 0132").as_deref(), Some("0132"));
        assert_eq!(phone_last_four("+12").as_deref(), None);
    }

    #[test]
    fn the_doors_of_a_midnight_showing_open_the_evening_before() {
        // 00:30 EST on Dec 12 is 05:30 UTC; its doors open at 23:30 EST on Dec 11.
        let start = Utc.with_ymd_and_hms(2026, 12, 12, 5, 30, 0).unwrap();
        let doors = start - chrono::Duration::hours(1);
        assert_eq!(doors_clock(&boston(), doors, start), "Fri Dec 11 23:30 EST");
        // The same evening: the time alone.
        let start = Utc.with_ymd_and_hms(2026, 12, 12, 0, 30, 0).unwrap();
        let doors = start - chrono::Duration::hours(1);
        assert_eq!(doors_clock(&boston(), doors, start), "18:30 EST");
    }
}
