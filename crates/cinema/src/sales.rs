//! `cinema sales`: how showings sold, for a theatre's manager: one theatre's day, or a
//! few days (every showing of them, sold out and called off included), or the
//! showtimes named. The
//! schedule comes from the movies service, the figures from the orders service's
//! sales of each showtime's product: seats sold and let in, what they took, what was
//! cancelled and refunded.

use chrono::{DateTime, Utc};
use cinema_client::Cinema;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use clap::{ArgGroup, Args};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::ClientArgs;
use crate::admin::{Admin, connect_as, secret};
use crate::commands::{Day, dollars, emit, local, table};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("showings").required(true).args(["theatre", "showtime"])))]
pub struct SalesArgs {
    /// A theatre's id: every showing of the day there.
    #[arg(long, conflicts_with = "showtime")]
    theatre: Option<String>,
    /// The theatre's day: `today` (the default), `tomorrow` or a date (2026-12-09), on
    /// its calendar.
    #[arg(long, requires = "theatre", conflicts_with = "showtime", value_parser = Day::parse)]
    day: Option<Day>,
    /// How many days from that one: 7 for a week, at most 31.
    #[arg(
        long,
        requires = "theatre",
        conflicts_with = "showtime",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=31)
    )]
    days: u32,
    /// A showtime's id; give the flag again for more.
    #[arg(long)]
    showtime: Vec<String>,
    /// The orders service's admin token.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = secret, hide_env_values = true)]
    orders_admin_token: Option<SecretString>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Where a showing's sales stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    OnSale,
    SoldOut,
    /// Started: its sales have ended.
    Started,
    CalledOff,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::OnSale => "on sale",
            Self::SoldOut => "sold out",
            Self::Started => "started",
            Self::CalledOff => "called off",
        }
    }
}

/// One showing and how it sold.
struct Row {
    showtime: movies::Showtime,
    start: DateTime<Utc>,
    movie: String,
    theatre: movies::Theatre,
    state: State,
    sales: orders::ProductSales,
}

/// A showing as the movies service has it, before its sales are asked for.
struct Showing {
    showtime: movies::Showtime,
    movie: String,
    theatre: movies::Theatre,
    cancelled: bool,
}

pub async fn run(args: SalesArgs) -> anyhow::Result<()> {
    let cinema = connect_as(
        Admin::Orders,
        &args.client,
        args.orders_admin_token,
        "reading sales",
    )?;
    let now = Utc::now();
    let (showings, days) = match &args.theatre {
        Some(theatre) => {
            let found = cinema.movies().get_theatre(theatre).await?;
            let days = Days {
                first: args.day.unwrap_or(Day::Today).date_at(&found, now),
                count: args.days,
            };
            let schedule = cinema
                .movies()
                .get_theatre_schedule(movies::GetTheatreScheduleRequest {
                    theatre_id: theatre.clone(),
                    date: days.first.to_string(),
                    days: days.count,
                    sold_out_only: false,
                })
                .await?;
            (scheduled(schedule), Some((found, days)))
        }
        None => (named(&cinema, &args.showtime).await?, None),
    };
    let products: Vec<&str> = showings
        .iter()
        .map(|s| s.showtime.product_id.as_str())
        .collect();
    let sales = match products.is_empty() {
        true => Vec::new(),
        false => cinema.orders().sales(&products).await?,
    };
    // GetSales answers for every product asked about, or fails.
    let rows: Vec<Row> = showings
        .into_iter()
        .filter_map(|showing| {
            let sales = sales
                .iter()
                .find(|s| s.product_id == showing.showtime.product_id)?;
            Row::new(showing, sales.clone(), now)
        })
        .collect();
    let totals = Totals::of(&rows);
    emit(
        &args.client,
        report_json(&rows, &totals, days.as_ref()),
        || match &days {
            Some((theatre, days)) => theatre_days(theatre, *days, &rows, &totals),
            None => showtimes_table(&rows, &totals),
        },
    )
}

/// Consecutive days of a theatre's calendar, from `first`.
#[derive(Debug, Clone, Copy)]
struct Days {
    first: chrono::NaiveDate,
    count: u32,
}

impl Days {
    /// `Mon Dec 07 2026`, or `Mon Dec 07 2026 to Sun Dec 13 2026`.
    fn named(self) -> String {
        const DATE: &str = "%a %b %d %Y";
        let last = self.first + chrono::Days::new(u64::from(self.count.max(1)) - 1);
        match self.count {
            0 | 1 => self.first.format(DATE).to_string(),
            _ => format!("{} to {}", self.first.format(DATE), last.format(DATE)),
        }
    }
}

impl Row {
    /// `None` for a showtime without a start time, which the movies service never sends.
    fn new(showing: Showing, sales: orders::ProductSales, now: DateTime<Utc>) -> Option<Self> {
        let start = instant(showing.showtime.start_time.as_ref())?;
        let state = if showing.cancelled {
            State::CalledOff
        } else if start <= now {
            State::Started
        } else if sales.available == 0 {
            State::SoldOut
        } else {
            State::OnSale
        };
        Some(Self {
            showtime: showing.showtime,
            start,
            movie: showing.movie,
            theatre: showing.theatre,
            state,
            sales,
        })
    }
}

/// The showtimes named, each read on its own (wherever it is, whatever its state).
async fn named(cinema: &Cinema, ids: &[String]) -> anyhow::Result<Vec<Showing>> {
    let mut showings = Vec::with_capacity(ids.len());
    for id in ids {
        let found = cinema.movies().get_showtime(id).await?;
        showings.push(Showing {
            showtime: found.showtime.unwrap_or_default(),
            movie: found.movie.unwrap_or_default().name,
            theatre: found.theatre.unwrap_or_default(),
            cancelled: found.cancelled_at.is_some(),
        });
    }
    Ok(showings)
}

/// A theatre's schedule as showings, each with its movie's name.
fn scheduled(schedule: movies::GetTheatreScheduleResponse) -> Vec<Showing> {
    let theatre = schedule.theatre.unwrap_or_default();
    schedule
        .showtimes
        .into_iter()
        .map(|scheduled| {
            let showtime = scheduled.showtime.unwrap_or_default();
            let movie = schedule
                .movies
                .iter()
                .find(|m| m.id == showtime.movie_id)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            Showing {
                showtime,
                movie,
                theatre: theatre.clone(),
                cancelled: scheduled.cancelled_at.is_some(),
            }
        })
        .collect()
}

fn instant(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
}

/// The figures of several showings added up.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    seats: i64,
    sold: i64,
    orders: i64,
    admitted: i64,
    promotional: i64,
    takings_cents: i64,
    cancelled_orders: i64,
    refunded_cents: i64,
}

impl Totals {
    /// Showings called off count for what they refunded only: they had no seats to sell.
    fn of(rows: &[Row]) -> Self {
        rows.iter().fold(Self::default(), |t, row| {
            let s = &row.sales;
            let seats = match row.state {
                State::CalledOff => 0,
                _ => s.quantity_total,
            };
            Self {
                seats: t.seats + seats,
                sold: t.sold + s.sold,
                orders: t.orders + s.orders,
                admitted: t.admitted + s.admitted,
                promotional: t.promotional + s.promotional,
                takings_cents: t.takings_cents + s.takings_cents,
                cancelled_orders: t.cancelled_orders + s.cancelled_orders,
                refunded_cents: t.refunded_cents + s.refunded_cents,
            }
        })
    }

    /// `96 of 400 seats sold in 60 orders (4 promotional), 50 let in; $1200.00 taken; 3
    /// orders cancelled, $75.00 refunded.`
    fn sentence(&self) -> String {
        let promotional = match self.promotional {
            0 => String::new(),
            n => format!(" ({n} promotional)"),
        };
        let cancelled = match self.cancelled_orders {
            0 => String::new(),
            n => format!(
                "; {} cancelled, {} refunded",
                counted(n, "order"),
                dollars(self.refunded_cents)
            ),
        };
        format!(
            "{} of {} seats sold in {}{promotional}, {} let in; {} taken{cancelled}.",
            self.sold,
            self.seats,
            counted(self.orders, "order"),
            self.admitted,
            dollars(self.takings_cents),
        )
    }
}

/// `1 order`, `3 orders`.
fn counted(n: i64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// The cells every table has, after those saying which showing it is.
fn figures(row: &Row) -> [String; 6] {
    let s = &row.sales;
    let sold = match s.promotional {
        0 => format!("{} of {}", s.sold, s.quantity_total),
        n => format!("{} of {} ({n} promotional)", s.sold, s.quantity_total),
    };
    let cancelled = match s.cancelled_orders {
        0 => String::new(),
        n => format!(
            "{}, {} refunded",
            counted(n, "order"),
            dollars(s.refunded_cents)
        ),
    };
    [
        row.state.as_str().to_owned(),
        sold,
        s.admitted.to_string(),
        s.held.to_string(),
        dollars(s.takings_cents),
        cancelled,
    ]
}

const FIGURES: [&str; 6] = ["STATE", "SOLD", "LET IN", "HELD", "TAKINGS", "CANCELLED"];

fn theatre_days(theatre: &movies::Theatre, days: Days, rows: &[Row], totals: &Totals) -> String {
    let named = days.named();
    if rows.is_empty() {
        let on = if days.count > 1 { "from" } else { "on" };
        return format!("{} has no showing {on} {named}.", theatre.name);
    }
    // One day's rows say the time; several days' say the day too.
    let (when, format) = match days.count {
        1 => ("TIME", "%H:%M %Z"),
        _ => ("WHEN", "%a %b %d %H:%M %Z"),
    };
    let mut header = vec![when, "MOVIE", "ROOM"];
    header.extend(FIGURES);
    let mut t = table(&header);
    for row in rows {
        let time = cinema_client::facade::local_time(theatre, row.start)
            .format(format)
            .to_string();
        let mut cells = vec![time, row.movie.clone(), row.showtime.auditorium.clone()];
        cells.extend(figures(row));
        t.add_row(cells);
    }
    format!(
        "{}, {named}:\n{t}\nIn all: {}",
        theatre.name,
        totals.sentence()
    )
}

fn showtimes_table(rows: &[Row], totals: &Totals) -> String {
    let mut header = vec!["SHOWTIME", "WHEN", "MOVIE", "THEATRE", "ROOM"];
    header.extend(FIGURES);
    let mut t = table(&header);
    for row in rows {
        let mut cells = vec![
            row.showtime.id.clone(),
            local(&row.theatre, row.start),
            row.movie.clone(),
            row.theatre.name.clone(),
            row.showtime.auditorium.clone(),
        ];
        cells.extend(figures(row));
        t.add_row(cells);
    }
    match rows.len() {
        1 => t.to_string(),
        _ => format!("{t}\nIn all: {}", totals.sentence()),
    }
}

fn report_json(rows: &[Row], totals: &Totals, days: Option<&(movies::Theatre, Days)>) -> Value {
    let showtimes: Vec<Value> = rows
        .iter()
        .map(|row| {
            let s = &row.sales;
            json!({
                "showtime_id": row.showtime.id, "product_id": s.product_id,
                "movie": row.movie, "theatre": row.theatre.name,
                "auditorium": row.showtime.auditorium, "start_time": row.start.to_rfc3339(),
                "state": row.state.as_str(), "seats": s.quantity_total,
                "available": s.available, "held": s.held, "orders": s.orders, "sold": s.sold,
                "admitted_orders": s.admitted_orders, "admitted": s.admitted,
                "promotional": s.promotional, "takings_cents": s.takings_cents,
                "cancelled_orders": s.cancelled_orders, "cancelled": s.cancelled,
                "refunded_cents": s.refunded_cents,
            })
        })
        .collect();
    let mut report = json!({
        "showtimes": showtimes,
        "totals": {
            "seats": totals.seats, "sold": totals.sold, "orders": totals.orders,
            "admitted": totals.admitted, "promotional": totals.promotional,
            "takings_cents": totals.takings_cents, "cancelled_orders": totals.cancelled_orders,
            "refunded_cents": totals.refunded_cents,
        },
    });
    if let Some((theatre, days)) = days {
        report["theatre_id"] = json!(theatre.id);
        report["theatre"] = json!(theatre.name);
        report["date"] = json!(days.first.to_string());
        report["days"] = json!(days.count);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: State, sales: orders::ProductSales) -> Row {
        Row {
            showtime: movies::Showtime::default(),
            start: Utc::now(),
            movie: "Heat".into(),
            theatre: movies::Theatre::default(),
            state,
            sales,
        }
    }

    #[test]
    fn a_day_adds_up_what_each_showing_sold() {
        let evening = orders::ProductSales {
            quantity_total: 200,
            sold: 48,
            orders: 31,
            admitted: 30,
            promotional: 4,
            takings_cents: 55_000,
            cancelled_orders: 2,
            refunded_cents: 5_000,
            ..Default::default()
        };
        let late = orders::ProductSales {
            quantity_total: 100,
            sold: 2,
            orders: 1,
            takings_cents: 2_500,
            ..Default::default()
        };
        let called_off = orders::ProductSales {
            quantity_total: 80,
            cancelled_orders: 1,
            refunded_cents: 1_250,
            ..Default::default()
        };
        let rows = [
            row(State::Started, evening),
            row(State::OnSale, late),
            row(State::CalledOff, called_off),
        ];
        let totals = Totals::of(&rows);
        assert_eq!(
            totals.sentence(),
            "50 of 300 seats sold in 32 orders (4 promotional), 30 let in; $575.00 taken; \
             3 orders cancelled, $62.50 refunded."
        );
        assert_eq!(
            Totals::of(&rows[1..2]).sentence(),
            "2 of 100 seats sold in 1 order, 0 let in; $25.00 taken."
        );
    }

    #[test]
    fn days_are_named_by_their_first_and_last() {
        let first = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let days = |count| Days { first, count }.named();
        assert_eq!(days(1), "Mon Dec 07 2026");
        assert_eq!(days(7), "Mon Dec 07 2026 to Sun Dec 13 2026");
        assert_eq!(days(31), "Mon Dec 07 2026 to Wed Jan 06 2027");
    }

    #[test]
    fn a_showing_s_cells_say_what_was_paid_for_with_a_code_and_refunded() {
        let sales = orders::ProductSales {
            quantity_total: 50,
            sold: 50,
            promotional: 2,
            held: 0,
            admitted: 12,
            takings_cents: 60_000,
            cancelled_orders: 1,
            refunded_cents: 2_500,
            ..Default::default()
        };
        assert_eq!(
            figures(&row(State::SoldOut, sales)),
            [
                "sold out",
                "50 of 50 (2 promotional)",
                "12",
                "0",
                "$600.00",
                "1 order, $25.00 refunded"
            ]
        );
    }
}
