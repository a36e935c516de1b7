//! What templates show, computed from the services' answers: local times grouped by
//! day, money, ratings. Templates only print these.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use cinema_client::facade;
use cinema_client::movies_pb as movies;

/// What the site says of itself where a page says nothing more particular.
pub const SITE_DESCRIPTION: &str = "Showtimes and tickets for classic films at theatres near you.";

/// What a public page is known by and how a link to it reads where it is shared: its
/// one address for search engines (a search near any ZIP code on any day is the same
/// page), and the title and line that a chat's or a post's link preview shows (Open
/// Graph), the same as the page's own title and description.
#[derive(Debug)]
pub struct Preview {
    pub url: String,
    pub title: String,
    pub description: String,
}

pub fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

pub fn rating(movie: &movies::Movie) -> &'static str {
    match movie.rating() {
        movies::Rating::G => "G",
        movies::Rating::Pg => "PG",
        movies::Rating::Pg13 => "PG-13",
        movies::Rating::R => "R",
        movies::Rating::Nc17 => "NC-17",
        movies::Rating::Unspecified => "Not rated",
    }
}

/// `1 ticket`, or `3 tickets at $15.00`: what a total beside it is made of.
pub fn tickets(count: i64, each_cents: i64) -> String {
    match count {
        1 => "1 ticket".to_owned(),
        n => format!("{n} tickets at {}", dollars(each_cents)),
    }
}

// Here and below, `\u{a0}` (a no-break space) joins what a line must not split: on
// a phone's width "4:30 PM EST" otherwise ends one line and its "PM EST" starts the
// next, and "2 h" or "ending in 1111" come apart the same way.

pub fn length(movie: &movies::Movie) -> String {
    let (h, m) = (movie.length_minutes / 60, movie.length_minutes % 60);
    match (h, m) {
        (0, m) => format!("{m}\u{a0}min"),
        (h, 0) => format!("{h}\u{a0}h"),
        (h, m) => format!("{h}\u{a0}h {m}\u{a0}min"),
    }
}

/// The start of `text`, at most `max` characters, cut between words and ending in
/// "…" when it is longer: a description that says what it quotes is cut short.
pub fn excerpt(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= max {
        return text.into();
    }
    // Room for the ellipsis, then back to the last space unless the cut is at one (a
    // word longer than the whole excerpt is cut where it must be).
    let end = text
        .char_indices()
        .nth(max - 1)
        .map_or(text.len(), |(i, _)| i);
    let cut = match text[end..].starts_with(' ') {
        true => end,
        false => text[..end].rfind(' ').filter(|&i| i > 0).unwrap_or(end),
    };
    let kept = text[..cut].trim_end_matches([' ', ',', ';', ':', '.', '-', '\u{2014}']);
    format!("{kept}…").into()
}

/// A movie in a list.
#[derive(Debug)]
pub struct MovieCard {
    pub id: String,
    pub name: String,
    pub rating: &'static str,
    /// `1942 · 1 h 42 min`: the year of its release, when known, and its length.
    pub facts: String,
}

impl From<&movies::Movie> for MovieCard {
    fn from(m: &movies::Movie) -> Self {
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            rating: rating(m),
            // On a narrow card the line breaks after the year, not inside the length.
            facts: match m.release_year {
                0 => length(m),
                year => format!("{year}\u{a0}· {}", length(m).replace(' ', "\u{a0}")),
            },
        }
    }
}

/// A theatre in a list: where it is, and how far from the ZIP code searched near.
#[derive(Debug)]
pub struct TheatreCard {
    pub id: String,
    pub name: String,
    pub address: String,
    /// `2.4 mi`, when the list was searched near a ZIP code.
    pub distance: Option<String>,
}

impl TheatreCard {
    pub fn directions(&self) -> String {
        directions(&self.address)
    }
}

/// Directions to a theatre in the visitor's maps: Google Maps' documented
/// cross-platform URL, which a phone opens in its maps app, from where it is now.
pub fn directions(address: &str) -> String {
    let mut url = url::Url::parse("https://www.google.com/maps/dir/").expect("a URL");
    url.query_pairs_mut()
        .append_pair("api", "1")
        .append_pair("destination", address);
    url.into()
}

impl From<&movies::Theatre> for TheatreCard {
    fn from(t: &movies::Theatre) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            address: facade::address(t),
            distance: t.distance_miles.map(|d| format!("{d:.1} mi")),
        }
    }
}

/// One showtime as a button: its local time and price.
#[derive(Debug)]
pub struct Slot {
    pub id: String,
    /// `7:30 PM`
    pub time: String,
    /// RFC 3339 with the theatre's offset, for `<time datetime>`.
    pub datetime: String,
    pub price: String,
    pub room: String,
    /// `3 seats left` or `Sold out`, when few or none are.
    pub left: Option<String>,
    /// None are: the button is drawn as one that leads to no seats.
    pub sold_out: bool,
}

/// At most this many seats left, a showtime's button says how many: enough warning to
/// choose another time, not a countdown on every button.
pub const FEW_SEATS_ON_A_SLOT: i64 = 10;

/// Seats available per product, as the orders service counted them when a page was
/// made; empty when it could not be asked (buttons then say nothing of seats).
#[derive(Debug, Default)]
pub struct SeatsLeft(pub HashMap<String, i64>);

impl SeatsLeft {
    /// Whether none of `product_id` are left, as far as this knows.
    pub fn none_left(&self, product_id: &str) -> bool {
        self.0.get(product_id) == Some(&0)
    }

    /// What a showtime's button says of its seats, if anything.
    fn label(&self, product_id: &str) -> Option<String> {
        match *self.0.get(product_id)? {
            0 => Some("Sold out".to_owned()),
            1 => Some("1 seat left".to_owned()),
            n if n <= FEW_SEATS_ON_A_SLOT => Some(format!("{n} seats left")),
            _ => None,
        }
    }
}

/// The showtimes of one local day, by time.
#[derive(Debug)]
pub struct Day {
    /// `Today, Wednesday, November 25`, `Tomorrow, …` or `Friday, November 27`
    pub label: String,
    /// The theatre's zone that day, `EST`: the times below are on its clock.
    pub zone: String,
    pub slots: Vec<Slot>,
}

/// A day on a theatre's calendar as a moviegoer names it, seen from `today` on the same
/// calendar: `Today, Sunday, December 6`, `Tomorrow, Monday, December 7`, or
/// `Tuesday, December 8`.
pub fn day(date: NaiveDate, today: NaiveDate) -> String {
    let name = date.format(DATE);
    match relative(date, today) {
        Some(near) => format!("{near}, {name}"),
        None => name.to_string(),
    }
}

/// `Today` or `Tomorrow`, seen from `today` on the same calendar; `None` for other days.
fn relative(date: NaiveDate, today: NaiveDate) -> Option<&'static str> {
    match (date - today).num_days() {
        0 => Some("Today"),
        1 => Some("Tomorrow"),
        _ => None,
    }
}

/// Groups showtimes by the local day they start on, in the theatre's time zone, each
/// day named as seen at `now` there, each button saying whether few `seats` are left.
pub fn by_day<'a>(
    showtimes: impl IntoIterator<Item = &'a facade::Showtime>,
    now: DateTime<Utc>,
    seats: &SeatsLeft,
) -> Vec<Day> {
    let mut days: BTreeMap<NaiveDate, Vec<&facade::Showtime>> = BTreeMap::new();
    for s in showtimes {
        days.entry(s.local_start().date_naive())
            .or_default()
            .push(s);
    }
    days.into_iter()
        .map(|(date, mut list)| {
            list.sort_by_key(|s| s.start_time);
            let today = list
                .first()
                .map(|s| facade::local_time(&s.theatre, now).date_naive())
                .unwrap_or(date);
            Day {
                label: day(date, today),
                zone: list
                    .first()
                    .map(|s| s.local_start().format("%Z").to_string())
                    .unwrap_or_default(),
                slots: list
                    .into_iter()
                    .map(|s| {
                        let local = s.local_start();
                        Slot {
                            id: s.id.clone(),
                            time: local.format("%-I:%M\u{a0}%p").to_string(),
                            datetime: local.to_rfc3339(),
                            price: dollars(s.price_cents),
                            room: s.auditorium.clone(),
                            left: seats.label(&s.product_id),
                            sold_out: seats.none_left(&s.product_id),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// One day in a page's row of days: a link to the same page showing that day.
#[derive(Debug)]
pub struct DayLink {
    pub href: String,
    /// `Today`, `Tomorrow` or `Wed`
    pub weekday: String,
    /// `Dec 9`
    pub date: String,
    /// The day the page shows.
    pub current: bool,
}

/// The day of its showtimes a page shows, and the other days it has: a fortnight of
/// showtimes on one page is a timetable to scroll through, while a moviegoer picks an
/// evening first. Each showtime's day is its theatre's.
#[derive(Debug)]
pub struct DayChoice {
    pub shown: NaiveDate,
    /// The day asked for with `?day=`, when it is the one shown: a search for another
    /// ZIP code keeps it.
    pub asked: Option<String>,
    pub links: Vec<DayLink>,
    /// Why the page shows another day than the one asked for.
    pub note: Option<String>,
}

impl DayChoice {
    /// The day `asked` (`2026-12-09`) when a showtime falls on it, else the first day
    /// that has one; `None` without showtimes. `href` makes a link from a day's
    /// `?day=` value.
    pub fn new<'a>(
        showtimes: impl IntoIterator<Item = &'a facade::Showtime>,
        asked: Option<&str>,
        now: DateTime<Utc>,
        href: impl Fn(&str) -> String,
    ) -> Option<Self> {
        let mut today = None;
        let mut dates = BTreeSet::new();
        for s in showtimes {
            // Today on the first theatre's calendar: the nearest, on a movie's page.
            today.get_or_insert_with(|| facade::local_time(&s.theatre, now).date_naive());
            dates.insert(s.local_start().date_naive());
        }
        let (today, first) = (today?, *dates.first()?);
        let asked = asked.map(str::trim).filter(|a| !a.is_empty());
        let parsed = asked.map(|raw| (raw, NaiveDate::parse_from_str(raw, "%Y-%m-%d")));
        let (shown, note) = match parsed {
            None => (first, None),
            Some((_, Ok(date))) if dates.contains(&date) => (date, None),
            Some((raw, failed)) => {
                let why = match failed {
                    Ok(date) if date == today => "No more showtimes today.".to_owned(),
                    Ok(date) if date < today => format!("{} has passed.", date.format(DATE)),
                    Ok(date) => format!("No showtimes on {}.", date.format(DATE)),
                    Err(_) => {
                        format!("“{}” is not a day.", as_typed(raw, 20))
                    }
                };
                (
                    first,
                    Some(format!("{why} Here is what is on {}.", on(first, today))),
                )
            }
        };
        let links = dates
            .into_iter()
            .map(|date| DayLink {
                href: href(&date.to_string()),
                weekday: relative(date, today)
                    .map_or_else(|| date.format("%a").to_string(), str::to_owned),
                date: date.format("%b\u{a0}%-d").to_string(),
                current: date == shown,
            })
            .collect();
        Some(Self {
            shown,
            asked: (asked.is_some() && note.is_none()).then(|| shown.to_string()),
            links,
            note,
        })
    }

    /// `?day=2026-12-09` when a day was chosen, for the page's links to other pages of
    /// showtimes: a moviegoer looking at Wednesday goes on looking at Wednesday.
    pub fn carried(&self) -> String {
        self.asked
            .as_ref()
            .map(|day| format!("?day={day}"))
            .unwrap_or_default()
    }

    /// Whether the page lists this showtime.
    pub fn shows(&self, showtime: &facade::Showtime) -> bool {
        showtime.local_start().date_naive() == self.shown
    }
}

/// `today`, `tomorrow` or `Friday, December 11`: the end of "what is on …".
fn on(date: NaiveDate, today: NaiveDate) -> String {
    relative(date, today).map_or_else(|| date.format(DATE).to_string(), str::to_lowercase)
}

/// `Today, Wednesday, November 25 at 7:30 PM EST`, on the theatre's clock, the day
/// named as seen at `now` there.
pub fn when(theatre: &movies::Theatre, instant: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = facade::local_time(theatre, instant);
    let today = facade::local_time(theatre, now).date_naive();
    format!("{} at {}", day(local.date_naive(), today), clock(&local))
}

/// `6:30 PM EST today`, `… tomorrow` or `… on Friday, December 11`: a time that ends a
/// sentence ("from …"), the day named as seen at `now` on the theatre's clock.
pub fn clock_on(theatre: &movies::Theatre, instant: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = facade::local_time(theatre, instant);
    let today = facade::local_time(theatre, now).date_naive();
    match relative(local.date_naive(), today) {
        Some(day) => format!("{} {}", clock(&local), day.to_lowercase()),
        None => format!("{} on {}", clock(&local), local.format(DATE)),
    }
}

/// When the doors open for a showtime whose day the page has said: the time alone on
/// that day, or, when they open the day before (a showing just after midnight), the
/// time with its own day (`11:10 PM EST today`), which a moviegoer would otherwise
/// take for the showing's.
pub fn doors(
    theatre: &movies::Theatre,
    doors: DateTime<Utc>,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> String {
    let local = facade::local_time(theatre, doors);
    match local.date_naive() == facade::local_time(theatre, start).date_naive() {
        true => clock(&local),
        false => clock_on(theatre, doors, now),
    }
}

/// `Sunday, December 6 at 7:30 PM EST`, without "Today": for what is read later than
/// the page is made (a shared link's preview).
pub fn date_and_time(theatre: &movies::Theatre, instant: DateTime<Utc>) -> String {
    let local = facade::local_time(theatre, instant);
    format!("{} at {}", local.format(DATE), clock(&local))
}

/// `Sunday, December 6`: "December 6" is one thing to read, never "December" at a
/// line's end.
const DATE: &str = "%A, %B\u{a0}%-d";

/// `7:30 PM EST`: a time of day with its zone, on the theatre's clock.
pub fn clock(local: &DateTime<Tz>) -> String {
    local.format("%-I:%M\u{a0}%p\u{a0}%Z").to_string()
}

/// `Visa ending in 1111`.
pub fn card(brand: &str, last_four: &str) -> String {
    format!("{brand} {}", ending_in(last_four))
}

/// `ending in 1111`, kept on one line.
pub fn ending_in(last_four: &str) -> String {
    format!("ending\u{a0}in\u{a0}{last_four}")
}

/// `+16175550101` as `(617) 555-0101`; other numbers as they are.
pub fn phone(raw: &str) -> String {
    match raw.strip_prefix("+1") {
        Some(n) if n.len() == 10 => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
        _ => raw.to_owned(),
    }
}

/// What a visitor typed, fit to be said back on the page ("“abc” is not a ZIP code"):
/// at most `max` characters, so that a pasted paragraph does not become the message,
/// and no control characters, which a link can carry (`?zip=%00`) and no one types.
pub fn as_typed(raw: &str, max: usize) -> String {
    raw.chars().filter(|c| !c.is_control()).take(max).collect()
}

pub fn instant(t: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_cut_between_words_and_says_so() {
        let text = "A thief, a detective, and one last job in Los Angeles.";
        assert_eq!(excerpt(text, 200), text);
        assert_eq!(excerpt(text, text.chars().count()), text);
        assert_eq!(excerpt(text, 24), "A thief, a detective…");
        assert!(excerpt(text, 24).chars().count() <= 24);
        // Characters, not bytes, and never inside one.
        assert_eq!(excerpt("Él è là, né più né meno", 12), "Él è là, né…");
        assert_eq!(excerpt("Supercalifragilistic", 6), "Super…");
    }

    #[test]
    fn a_button_says_how_many_seats_are_left_only_when_few_are() {
        let seats = SeatsLeft(
            [("none", 0), ("one", 1), ("ten", 10), ("eleven", 11)]
                .map(|(p, n)| (p.to_owned(), n))
                .into(),
        );
        assert_eq!(seats.label("none").as_deref(), Some("Sold out"));
        assert_eq!(seats.label("one").as_deref(), Some("1 seat left"));
        assert_eq!(seats.label("ten").as_deref(), Some("10 seats left"));
        assert_eq!(seats.label("eleven"), None);
        assert_eq!(seats.label("not asked"), None);
        assert_eq!(SeatsLeft::default().label("one"), None);
    }

    #[test]
    fn what_was_typed_is_said_back_short_and_without_control_characters() {
        assert_eq!(as_typed("02\u{0}1\u{1b}[3m39", 20), "021[3m39");
        assert_eq!(as_typed("été 2026, au cinéma", 4), "été ");
        assert_eq!(as_typed("02139", 20), "02139");
    }

    #[test]
    fn money_lengths_and_phones_read_naturally() {
        assert_eq!(dollars(1250), "$12.50");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(tickets(1, 1500), "1 ticket");
        assert_eq!(tickets(3, 1500), "3 tickets at $15.00");
        let movie = |minutes| movies::Movie {
            length_minutes: minutes,
            ..Default::default()
        };
        assert_eq!(length(&movie(170)), "2\u{a0}h 50\u{a0}min");
        assert_eq!(length(&movie(120)), "2\u{a0}h");
        assert_eq!(length(&movie(45)), "45\u{a0}min");
        // A card's year and length: the line breaks after the year, if anywhere.
        let card = |release_year| {
            MovieCard::from(&movies::Movie {
                release_year,
                ..movie(102)
            })
        };
        assert_eq!(card(0).facts, "1\u{a0}h 42\u{a0}min");
        assert_eq!(card(1942).facts, "1942\u{a0}· 1\u{a0}h\u{a0}42\u{a0}min");
        assert_eq!(phone("+16175550101"), "(617) 555-0101");
        assert_eq!(phone("+442079460958"), "+442079460958");
    }

    /// A narrow screen may wrap these lines anywhere but inside a time, between it
    /// and its zone, or inside "ending in 1111".
    #[test]
    fn times_and_cards_keep_together() {
        let theatre = movies::Theatre {
            time_zone: "America/New_York".into(),
            ..Default::default()
        };
        let instant = DateTime::parse_from_rfc3339("2026-12-06T21:30:00Z")
            .expect("instant")
            .to_utc();
        let week_before = instant - chrono::Duration::days(7);
        assert_eq!(
            when(&theatre, instant, week_before),
            "Sunday, December\u{a0}6 at 4:30\u{a0}PM\u{a0}EST"
        );
        let local = facade::local_time(&theatre, instant);
        assert_eq!(clock(&local), "4:30\u{a0}PM\u{a0}EST");
        assert_eq!(card("Visa", "1111"), "Visa ending\u{a0}in\u{a0}1111");
    }

    /// Today and tomorrow are named as such on the theatre's calendar, not the
    /// server's: at 11 PM in Los Angeles it is already tomorrow in UTC.
    #[test]
    fn today_and_tomorrow_are_the_theatres() {
        let la = movies::Theatre {
            time_zone: "America/Los_Angeles".into(),
            ..Default::default()
        };
        let at = |rfc3339: &str| {
            DateTime::parse_from_rfc3339(rfc3339)
                .expect("instant")
                .to_utc()
        };
        // 11 PM on Saturday the 5th in Los Angeles.
        let now = at("2026-12-06T07:00:00Z");
        assert_eq!(
            when(&la, at("2026-12-06T07:30:00Z"), now),
            "Today, Saturday, December\u{a0}5 at 11:30\u{a0}PM\u{a0}PST"
        );
        assert_eq!(
            when(&la, at("2026-12-06T20:00:00Z"), now),
            "Tomorrow, Sunday, December\u{a0}6 at 12:00\u{a0}PM\u{a0}PST"
        );
        assert_eq!(
            when(&la, at("2026-12-08T03:00:00Z"), now),
            "Monday, December\u{a0}7 at 7:00\u{a0}PM\u{a0}PST"
        );
        let date = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        assert_eq!(day(date(5), date(5)), "Today, Saturday, December\u{a0}5");
        assert_eq!(day(date(6), date(5)), "Tomorrow, Sunday, December\u{a0}6");
        assert_eq!(day(date(4), date(5)), "Friday, December\u{a0}4");
        assert_eq!(
            clock_on(&la, at("2026-12-06T07:30:00Z"), now),
            "11:30\u{a0}PM\u{a0}PST today"
        );
        assert_eq!(
            clock_on(&la, at("2026-12-06T20:00:00Z"), now),
            "12:00\u{a0}PM\u{a0}PST tomorrow"
        );
        assert_eq!(
            clock_on(&la, at("2026-12-08T03:00:00Z"), now),
            "7:00\u{a0}PM\u{a0}PST on Monday, December\u{a0}7"
        );
        // A showing at 12:10 AM on Sunday opens its doors at 11:10 PM on Saturday.
        assert_eq!(
            doors(
                &la,
                at("2026-12-06T07:10:00Z"),
                at("2026-12-06T08:10:00Z"),
                now
            ),
            "11:10\u{a0}PM\u{a0}PST today"
        );
        assert_eq!(
            doors(
                &la,
                at("2026-12-07T02:30:00Z"),
                at("2026-12-07T03:30:00Z"),
                now
            ),
            "6:30\u{a0}PM\u{a0}PST",
            "the showing's own day is said before"
        );
        assert_eq!(
            date_and_time(&la, at("2026-12-06T07:30:00Z")),
            "Saturday, December\u{a0}5 at 11:30\u{a0}PM\u{a0}PST",
            "no Today where the reader's day is not known"
        );
    }

    /// Showtimes at a Boston theatre, starting at these instants.
    fn in_boston(starts: &[&str]) -> Vec<facade::Showtime> {
        let theatre = std::sync::Arc::new(movies::Theatre {
            time_zone: "America/New_York".into(),
            ..Default::default()
        });
        starts
            .iter()
            .enumerate()
            .map(|(i, start)| facade::Showtime {
                id: i.to_string(),
                movie: Default::default(),
                theatre: theatre.clone(),
                start_time: start.parse().expect("instant"),
                doors_open: start.parse().expect("instant"),
                auditorium: "1".into(),
                product_id: i.to_string(),
                price_cents: 1250,
            })
            .collect()
    }

    /// A page shows one day: the one asked for when there is something on it, else
    /// the first, saying why; every day with a showtime is a link, on the theatre's
    /// calendar (7 PM in Boston on the 7th is already the 8th in UTC).
    #[test]
    fn a_page_shows_the_day_asked_for_or_the_first_and_links_the_others() {
        // 9 PM on Sunday the 6th in Boston.
        let now = "2026-12-07T02:00:00Z".parse().expect("instant");
        let showtimes = in_boston(&[
            "2026-12-08T00:00:00Z", // Monday the 7th, 7 PM
            "2026-12-08T03:00:00Z", // Monday the 7th, 10 PM
            "2026-12-09T18:00:00Z", // Wednesday the 9th, 1 PM
        ]);
        let choose = |asked: Option<&str>| {
            DayChoice::new(&showtimes, asked, now, |day| {
                format!("?zip=02139&day={day}")
            })
            .expect("showtimes")
        };
        let shown = |choice: &DayChoice| {
            showtimes
                .iter()
                .filter(|s| choice.shows(s))
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
        };

        let first = choose(None);
        assert_eq!(shown(&first), ["0", "1"], "the first day with showtimes");
        assert_eq!(
            (first.note.as_deref(), first.asked.as_deref()),
            (None, None)
        );
        let links: Vec<_> = first
            .links
            .iter()
            .map(|l| {
                (
                    l.weekday.as_str(),
                    l.date.as_str(),
                    l.href.as_str(),
                    l.current,
                )
            })
            .collect();
        assert_eq!(
            links,
            [
                ("Tomorrow", "Dec\u{a0}7", "?zip=02139&day=2026-12-07", true),
                ("Wed", "Dec\u{a0}9", "?zip=02139&day=2026-12-09", false),
            ],
            "only days with showtimes, none in UTC's"
        );

        let wednesday = choose(Some("2026-12-09"));
        assert_eq!(shown(&wednesday), ["2"]);
        assert_eq!(wednesday.note, None);
        assert_eq!(
            wednesday.asked.as_deref(),
            Some("2026-12-09"),
            "kept by the form"
        );
        assert!(wednesday.links[1].current && !wednesday.links[0].current);

        for (asked, note) in [
            (
                "2026-12-08",
                "No showtimes on Tuesday, December\u{a0}8. Here is what is on tomorrow.",
            ),
            (
                "2026-12-06",
                "No more showtimes today. Here is what is on tomorrow.",
            ),
            (
                "2026-12-01",
                "Tuesday, December\u{a0}1 has passed. Here is what is on tomorrow.",
            ),
            (
                "next friday",
                "“next friday” is not a day. Here is what is on tomorrow.",
            ),
        ] {
            let other = choose(Some(asked));
            assert_eq!(shown(&other), ["0", "1"], "{asked}");
            assert_eq!(other.note.as_deref(), Some(note));
            assert_eq!(other.asked, None, "{asked} is not carried on");
        }
        assert!(DayChoice::new(&[], None, now, |d| d.to_owned()).is_none());
    }

    /// The address goes to the maps whole, its commas, spaces and "#" encoded: a
    /// "#" left bare would end the query at a suite number.
    #[test]
    fn directions_carry_the_whole_address() {
        assert_eq!(
            directions("355 Main St #2, Cambridge, MA 02142"),
            "https://www.google.com/maps/dir/?api=1&destination=355+Main+St+%232%2C+Cambridge%2C+MA+02142"
        );
    }
}
