//! The website against the in-process stack: every page, its filters, each failure's
//! message, CSRF refusal, and 404s, as a browser sees them over HTTP.

use cinema_integration_tests::{Stack, eventually, someone_holds};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, COOKIE, LOCATION, SET_COOKIE, VARY};

use crate::fixtures::*;

/// Seats available and held for a product.
async fn seats(cinema: &cinema_client::Cinema, product: &str) -> (i64, i64) {
    let a = cinema
        .orders()
        .availability(&[product])
        .await
        .expect("availability");
    (a[0].available, a[0].held)
}

/// A browser that does not follow redirects, so tests see where they point.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn page(client: &reqwest::Client, url: &str, cookie: &str) -> (StatusCode, String) {
    let response = client
        .get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// The value of the cookie `name` a response set.
fn cookie_set(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(prefix.as_str()))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// The CSRF cookie a page set, and the token in its form.
fn csrf(response: &reqwest::Response) -> String {
    cookie_set(response, "csrf").expect("a csrf cookie")
}

/// What most of these tests buy: Heat at Kendall (40 seats, ZIP 02139) in four hours,
/// auditorium 2, $12.50; and the website in front of the stack, with a browser.
struct Showing {
    heat: cinema_client::movies_pb::Movie,
    kendall: cinema_client::movies_pb::Theatre,
    show: cinema_client::movies_pb::Showtime,
    site: String,
    b: reqwest::Client,
}

async fn showing(stack: &Stack) -> Showing {
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let show = showtime(c, &heat.id, &kendall.id, "2", 4).await;
    Showing {
        heat,
        kendall,
        show,
        site: site(stack).await,
        b: browser(),
    }
}

/// A showtime's page as a new visitor sees it: the CSRF token it set, the cookie that
/// carries it back, and the page.
async fn showtime_page(b: &reqwest::Client, site: &str, show: &str) -> (String, String, String) {
    let response = b
        .get(format!("{site}/showtimes/{show}"))
        .send()
        .await
        .expect("page");
    let token = csrf(&response);
    let cookie = format!("csrf={token}");
    (token, cookie, response.text().await.expect("html"))
}

/// Submits the showtime page's form for `tickets` seats.
async fn hold_seats(
    b: &reqwest::Client,
    site: &str,
    show: &str,
    (token, cookie): (&str, &str),
    tickets: &str,
) -> reqwest::Response {
    b.post(format!("{site}/showtimes/{show}/hold"))
        .form(&[("csrf", token), ("tickets", tickets)])
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("hold")
}

/// The checkout form as a customer fills it in to pay by card.
fn card_payment<'a>(token: &'a str, card: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("csrf", token),
        ("method", "card"),
        ("card_number", card),
        ("card_month", "12"),
        ("card_year", "2030"),
        ("card_cvc", "123"),
        ("line_1", "77 Massachusetts Ave"),
        ("city", "Cambridge"),
        ("state", "MA"),
        ("zip", "02139"),
        ("phone", "(415) 555-0132"),
    ]
}

#[tokio::test]
async fn the_pages_show_what_is_on_by_theatre_and_by_movie() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let alien = movie(c, "Alien", 117).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let fenway = theatre(c, "Fenway", "02115", 40).await;
    // All tomorrow evening: a page lists one day.
    showtime_at(c, &heat.id, &kendall.id, "1", boston(1, 19).1).await;
    showtime_at(c, &heat.id, &fenway.id, "1", boston(1, 21).1).await;
    showtime_at(c, &alien.id, &kendall.id, "2", boston(1, 20).1).await;
    let site = site(&stack).await;
    let b = browser();

    // Home: filtered by ZIP, remembered in a cookie.
    let response = b
        .get(format!("{site}/?zip=02139"))
        .send()
        .await
        .expect("home");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store", "pages are not cached");
    assert!(
        headers
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.to_str().is_ok_and(|c| c.starts_with("zip=02139")))
    );
    let home = response.text().await.expect("html");
    assert!(home.contains("Heat") && home.contains("Alien"), "{home}");

    // The style sheet as the page links it, at its version, is kept for good; asked
    // for without that version (a page from another deploy), it is asked for again.
    let linked = |rel: &str| {
        let tag = format!(r#"<link rel="{rel}" href=""#);
        let at = home.find(&tag).unwrap_or_else(|| panic!("{rel}: {home}")) + tag.len();
        home[at..at + home[at..].find('"').expect("href's end")].to_owned()
    };
    let style = linked("stylesheet");
    assert!(style.starts_with("/static/style.css?v="), "{style}");
    let cache = |path: String| {
        let b = b.clone();
        let url = format!("{site}{path}");
        async move {
            let response = b.get(url).send().await.expect("asset");
            assert_eq!(response.status(), StatusCode::OK);
            response.headers()["cache-control"]
                .to_str()
                .expect("header")
                .to_owned()
        }
    };
    assert_eq!(
        cache(style.clone()).await,
        "public, max-age=31536000, immutable"
    );
    assert_eq!(cache("/static/style.css".into()).await, "no-cache");
    assert_eq!(
        cache("/static/style.css?v=0123456789abcdef".into()).await,
        "no-cache"
    );
    // Crawlers are welcome on the public pages, not on a visitor's checkout or orders.
    let robots = b
        .get(format!("{site}/robots.txt"))
        .send()
        .await
        .expect("robots.txt");
    assert_eq!(robots.status(), StatusCode::OK);
    assert_eq!(
        robots.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let robots = robots.text().await.expect("text");
    assert!(
        robots.contains("Disallow: /checkout/") && robots.contains("Disallow: /orders"),
        "{robots}"
    );
    // The site's icon, named by every page and found at the conventional address.
    let icon_href = linked("icon");
    assert!(icon_href.starts_with("/static/icon.svg?v="), "{icon_href}");
    let icon = b
        .get(format!("{site}{icon_href}"))
        .send()
        .await
        .expect("icon");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.expect("svg").starts_with("<svg"));
    let favicon = b
        .get(format!("{site}/favicon.ico"))
        .send()
        .await
        .expect("favicon");
    assert_eq!(favicon.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(favicon.headers()[LOCATION], icon_href.as_str());
    assert!(home.contains(&format!("/movies/{}?zip=02139", heat.id)));
    assert!(home.contains("PG-13") && home.contains("2\u{a0}h 50\u{a0}min"));
    // And the theatres near it, nearest first, each a link to its page.
    let theatres = &home[home
        .find("Theatres near 02139")
        .unwrap_or_else(|| panic!("no theatres: {home}"))..];
    let (k, f) = (
        theatres.find(&format!(
            r#"<a href="/theatres/{}">Kendall</a>"#,
            kendall.id
        )),
        theatres.find(&format!(r#"<a href="/theatres/{}">Fenway</a>"#, fenway.id)),
    );
    assert!(matches!((k, f), (Some(k), Some(f)) if k < f), "{theatres}");
    assert!(theatres.contains("1.6 mi"), "{theatres}");
    let (_, everywhere) = page(&b, &format!("{site}/"), "").await;
    assert!(
        everywhere.contains("Heat") && !everywhere.contains("Theatres near"),
        "without a ZIP code, no theatres to measure from: {everywhere}"
    );
    let (_, remembered) = page(&b, &format!("{site}/"), "zip=02139").await;
    assert!(remembered.contains("near 02139"), "the cookie filters");
    let (_, bad) = page(&b, &format!("{site}/?zip=abc"), "").await;
    assert!(bad.contains("is not a ZIP code"), "{bad}");
    assert!(
        bad.contains(r#"value="abc""#),
        "what was typed stays: {bad}"
    );
    // What a link carries is said back without its control characters, which no
    // one types and which have no place in a page.
    for (url, said) in [
        ("/?zip=ab%00c%1b", "“abc” is not a ZIP code"),
        ("/?zip=02139&within=1%000", "“10” is not a distance"),
        ("/orders/ABC%07D", "the confirmation code ABCD."),
    ] {
        let (_, html) = page(&b, &format!("{site}{url}"), "").await;
        assert!(html.contains(said), "{url}: {html}");
        assert!(
            !html.contains(|c: char| c.is_control() && !c.is_whitespace()),
            "{url}: {html:?}"
        );
    }
    let unknown = b
        .get(format!("{site}/?zip=99999"))
        .send()
        .await
        .expect("home");
    assert!(
        unknown.headers().get(SET_COOKIE).is_none(),
        "an unknown ZIP code is not remembered"
    );
    let unknown = unknown.text().await.expect("html");
    assert!(
        unknown.contains("do not know the ZIP code 99999"),
        "{unknown}"
    );
    assert!(!unknown.contains("No movies are showing"), "{unknown}");

    // A movie: theatres nearest first, with distance, by day, in local time, priced.
    let (status, movie_page) = page(&b, &format!("{site}/movies/{}?zip=02139", heat.id), "").await;
    assert_eq!(status, StatusCode::OK);
    let (k, f) = (
        movie_page.find("Kendall").expect("Kendall"),
        movie_page.find("Fenway").expect("Fenway"),
    );
    assert!(k < f, "nearest first");
    assert!(movie_page.contains(" mi<") && movie_page.contains("$12.50"));
    assert!(
        movie_page.contains("-05:00") || movie_page.contains("-04:00"),
        "local offset"
    );
    assert!(!movie_page.contains("Alien"), "only this movie's showtimes");
    // Each showtime listed is a schema.org event for search engines, on the theatre's
    // clock, at its price.
    let json_ld = |html: &str| -> serde_json::Value {
        let open = r#"<script type="application/ld+json">"#;
        let at = html.find(open).unwrap_or_else(|| panic!("JSON-LD: {html}")) + open.len();
        serde_json::from_str(&html[at..at + html[at..].find("</script>").expect("end")])
            .expect("JSON-LD parses")
    };
    let of_type = |html: &str, kind: &str| -> Vec<serde_json::Value> {
        let graph = json_ld(html)["@graph"].clone();
        let nodes = graph.as_array().expect("a graph").clone();
        nodes.into_iter().filter(|n| n["@type"] == kind).collect()
    };
    let events = of_type(&movie_page, "ScreeningEvent");
    assert_eq!(
        events.len(),
        movie_page.matches(r#"class="slot""#).count(),
        "one per showtime shown"
    );
    let movies = of_type(&movie_page, "Movie");
    assert_eq!(movies.len(), 1, "the movie once");
    assert_eq!(movies[0]["name"], "Heat");
    assert!(events.iter().all(|e| {
        e["workPresented"]["@id"] == movies[0]["@id"]
            && e["offers"]["price"] == "12.50"
            && e["startDate"]
                .as_str()
                .is_some_and(|d| d.ends_with("-05:00") || d.ends_with("-04:00"))
    }));
    // And when each one's doors open: an hour before, on the same clock.
    assert!(
        events.iter().all(|e| {
            let at = |k: &str| {
                e[k].as_str()
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            };
            matches!(
                (at("doorTime"), at("startDate")),
                (Some(doors), Some(start))
                    if start - doors == chrono::TimeDelta::hours(1) && doors.offset() == start.offset()
            )
        }),
        "{events:?}"
    );
    let places = of_type(&movie_page, "MovieTheater");
    let kendall_node = places
        .iter()
        .find(|t| t["name"] == "Kendall")
        .expect("Kendall, once");
    assert_eq!(kendall_node["address"]["postalCode"], "02139");
    assert!(
        events
            .iter()
            .any(|e| e["location"]["@id"] == kendall_node["@id"])
    );
    // What a search engine or a shared link shows under the title.
    assert!(
        movie_page
            .contains(r#"<meta name="description" content="Showtimes and tickets for Heat ("#),
        "{movie_page}"
    );
    // Nothing near a faraway ZIP: still the movie's page, without showtimes, naming
    // where it is playing instead.
    let (status, far) = page(&b, &format!("{site}/movies/{}?zip=94103", heat.id), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        far.contains("Heat is not playing within 15 miles of 94103")
            && !far.contains("$12.50")
            && far.contains("Where Heat is playing")
            && far.contains(&format!(
                r#"<a href="/theatres/{}">Kendall</a>"#,
                kendall.id
            )),
        "{far}"
    );
    // The movie page's ZIP form: a code typed there is remembered as on the home page,
    // and one that is not a code, or not known, is said so, like there.
    let typed = b
        .get(format!("{site}/movies/{}?zip=02139", heat.id))
        .send()
        .await
        .expect("movie page");
    assert!(
        typed
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.to_str().is_ok_and(|c| c.starts_with("zip=02139")))
    );
    let (status, bad) = page(
        &b,
        &format!("{site}/movies/{}?zip=abc", heat.id),
        "zip=02139",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bad.contains("“abc” is not a ZIP code"), "{bad}");
    assert!(
        bad.contains(r#"value="abc""#) && !bad.contains("Kendall"),
        "{bad}"
    );
    let (_, unknown) = page(&b, &format!("{site}/movies/{}?zip=99999", heat.id), "").await;
    assert!(
        unknown.contains("do not know the ZIP code 99999"),
        "{unknown}"
    );
    assert!(!unknown.contains("is not playing within"), "{unknown}");

    // A theatre: its movies, each with its showtimes.
    let (status, theatre_page) = page(&b, &format!("{site}/theatres/{}", kendall.id), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(theatre_page.contains("Heat") && theatre_page.contains("Alien"));
    assert!(theatre_page.contains("(617) 555-0100"));
    assert_eq!(
        of_type(&theatre_page, "ScreeningEvent").len(),
        theatre_page.matches(r#"class="slot""#).count()
    );
    assert_eq!(of_type(&theatre_page, "MovieTheater").len(), 1);
    assert!(theatre_page.contains(
        r#"<meta name="description" content="Showtimes and tickets at Kendall, 1 Main St, Somewhere, MA 02139.">"#
    ));
    assert!(
        theatre_page.contains("destination=1+Main+St%2C+Somewhere%2C+MA+02139"),
        "directions: {theatre_page}"
    );
    assert!(!theatre_page.contains("Fenway"));
    // A browser that takes gzip gets the same page compressed, and caches say so.
    let zipped = b
        .get(format!("{site}/theatres/{}", kendall.id))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("page");
    assert_eq!(zipped.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(zipped.headers()[VARY], "accept-encoding");
    let bytes = zipped.bytes().await.expect("body");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped)
        .expect("gzip");
    assert_eq!(unzipped, theatre_page);
    assert!(
        bytes.len() < theatre_page.len() / 2,
        "{} bytes",
        bytes.len()
    );

    for missing in [
        format!("{site}/movies/424242"),
        format!("{site}/movies/not-an-id"),
        format!("{site}/movies/424242?zip=02139"),
        format!("{site}/movies/not-an-id?zip=02139"),
        format!("{site}/theatres/424242"),
        format!("{site}/showtimes/424242"),
        format!("{site}/orders/ABCDEFGHJK"),
        format!("{site}/checkout/{}", uuid::Uuid::new_v4()),
        format!("{site}/no-such-page"),
    ] {
        let (status, body) = page(&b, &missing, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert!(body.contains("could not find"), "{missing}: {body}");
    }
    // A confirmation code no order has is said back, in the lookup form, to correct.
    let (status, missing) = page(&b, &format!("{site}/orders/ABCDEFGHJK"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        missing.contains("We could not find an order with the confirmation code ABCDEFGHJK."),
        "{missing}"
    );
    assert!(
        missing.contains(r#"<form class="inline" method="get" action="/orders">"#)
            && missing.contains(r#"value="ABCDEFGHJK""#)
            && missing.contains(r#"aria-describedby="error-message" aria-invalid="true""#),
        "{missing}"
    );
    let (_, other) = page(&b, &format!("{site}/theatres/424242"), "").await;
    assert!(!other.contains(r#"action="/orders""#), "{other}");
    let (status, ok) = page(&b, &format!("{site}/healthz"), "").await;
    assert_eq!((status, ok.as_str()), (StatusCode::OK, "ok"));
    stack.stop().await.expect("stop");
}

/// The showtimes of one day, given a page's `html`: the slots' showtime ids in order.
fn slots(html: &str) -> Vec<String> {
    html.split(r#"<a class="slot" href="/showtimes/"#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("href's end")].to_owned())
        .collect()
}

/// The row of days on a page: each link's address and text, and whether it is the
/// day shown.
fn day_links(html: &str) -> Vec<(String, String, bool)> {
    let Some(start) = html.find(r#"<nav class="dates""#) else {
        return Vec::new();
    };
    let nav = &html[start..start + html[start..].find("</nav>").expect("nav's end")];
    nav.split(r#"<a href=""#)
        .skip(1)
        .map(|link| {
            let (href, rest) = link.split_once('"').expect("href's end");
            let text =
                &rest[rest.find('>').expect("tag's end") + 1..rest.find("</a>").expect("end")];
            let text = text
                .replace(r#"<span class="weekday">"#, "")
                .replace(r#"<span class="date">"#, "")
                .replace("</span>", "")
                .replace('\u{a0}', " ");
            let current = rest.starts_with(r#" aria-current="date""#);
            (href.to_owned(), text, current)
        })
        .collect()
}

/// A week of showtimes is a list to scroll through; a moviegoer picks an evening. The
/// movie and theatre pages show one day, the first with showtimes unless another is
/// chosen from the row of days they have, and say so when the day asked for has none.
#[tokio::test]
async fn the_movie_and_theatre_pages_show_one_day_at_a_time() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let alien = movie(c, "Alien", 117).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let fenway = theatre(c, "Fenway", "02115", 40).await;
    let (tomorrow, evening) = boston(1, 19);
    let (later, afternoon) = boston(3, 13);
    let heat_tomorrow = showtime_at(c, &heat.id, &kendall.id, "1", evening).await;
    let heat_later = showtime_at(c, &heat.id, &kendall.id, "1", afternoon).await;
    let alien_later = showtime_at(c, &alien.id, &kendall.id, "2", boston(3, 19).1).await;
    let heat_fenway = showtime_at(c, &heat.id, &fenway.id, "1", boston(3, 20).1).await;
    let site = site(&stack).await;
    let b = browser();
    // How a date is written: `Wed Dec 9` in the row of days, `Wednesday, December 9`
    // in a sentence.
    let written = |date: &str, format: &str| {
        date.parse::<chrono::NaiveDate>()
            .expect("date")
            .format(format)
            .to_string()
    };

    // The theatre: tomorrow first, which Alien is not on, with the days it has.
    let theatre_page = format!("{site}/theatres/{}", kendall.id);
    let (status, html) = page(&b, &theatre_page, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slots(&html), [heat_tomorrow.id.as_str()], "{html}");
    assert!(!html.contains("Alien"), "not on tomorrow: {html}");
    assert!(
        html.contains(&format!(r#"<a href="/movies/{}">Heat</a>"#, heat.id)),
        "no day chosen, none carried: {html}"
    );
    assert_eq!(
        day_links(&html),
        [
            (
                format!("?day={tomorrow}"),
                written(&tomorrow, "Tomorrow %b %-d"),
                true
            ),
            (format!("?day={later}"), written(&later, "%a %b %-d"), false),
        ],
        "{html}"
    );
    // Another day, chosen: both movies that day (by name), nothing of tomorrow's.
    let (_, html) = page(&b, &format!("{theatre_page}?day={later}"), "").await;
    assert_eq!(
        slots(&html),
        [alien_later.id.as_str(), heat_later.id.as_str()]
    );
    assert!(day_links(&html)[1].2 && !day_links(&html)[0].2);
    assert!(
        !html.contains("role=\"status\""),
        "nothing to explain: {html}"
    );
    // Search engines are told of the showtimes shown.
    assert_eq!(html.matches(r#""ScreeningEvent""#).count(), 2, "{html}");
    // A movie's page, from here, opens on the day chosen.
    assert!(
        html.contains(&format!(
            r#"<a href="/movies/{}?day={later}">Heat</a>"#,
            heat.id
        )),
        "{html}"
    );

    // The movie, near 02139: tomorrow only Kendall has it; the links keep the search.
    let movie_page = format!("{site}/movies/{}?zip=02139&within=25", heat.id);
    let (_, html) = page(&b, &movie_page, "").await;
    assert_eq!(slots(&html), [heat_tomorrow.id.as_str()], "{html}");
    assert!(!html.contains("Fenway"), "{html}");
    let links = day_links(&html);
    assert_eq!(
        links.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [
            format!("?zip=02139&#38;within=25&#38;day={tomorrow}"),
            format!("?zip=02139&#38;within=25&#38;day={later}"),
        ]
    );
    assert!(
        !html.contains(r#"name="day""#),
        "no day chosen to keep: {html}"
    );
    // The later day: both theatres, nearest first, and a new ZIP searched from the
    // page keeps the day.
    let (_, html) = page(&b, &format!("{movie_page}&day={later}"), "").await;
    assert_eq!(
        slots(&html),
        [heat_later.id.as_str(), heat_fenway.id.as_str()]
    );
    assert!(
        html.contains(&format!(
            r#"<input type="hidden" name="day" value="{later}">"#
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<a href="/theatres/{}?day={later}">Kendall</a>"#,
            kendall.id
        )),
        "the theatre's page opens on the day chosen: {html}"
    );
    // So does a showtime's link to its theatre, on its own day.
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", heat_later.id), "").await;
    assert!(
        html.contains(&format!(
            r#"<a href="/theatres/{}?day={later}">Kendall</a>"#,
            kendall.id
        )),
        "{html}"
    );

    // A day with nothing on it, past, or not a day at all: the first day, and why.
    let (empty, _) = boston(5, 12);
    let (past, _) = boston(-2, 12);
    let date = |d: &str| written(d, "%A, %B\u{a0}%-d");
    for (day, why) in [
        (empty.clone(), format!("No showtimes on {}.", date(&empty))),
        (past.clone(), format!("{} has passed.", date(&past))),
        ("someday".to_owned(), "“someday” is not a day.".to_owned()),
        (
            "some%00day".to_owned(),
            "“someday” is not a day.".to_owned(),
        ),
    ] {
        for url in [
            format!("{theatre_page}?day={day}"),
            format!("{movie_page}&day={day}"),
        ] {
            let (status, html) = page(&b, &url, "").await;
            assert_eq!(status, StatusCode::OK, "{url}");
            assert_eq!(slots(&html), [heat_tomorrow.id.as_str()], "{url}");
            assert!(
                html.contains(&format!(
                    r#"<p class="notice" role="status">{why} Here is what is on tomorrow.</p>"#
                )),
                "{url}: {html}"
            );
        }
    }
    stack.stop().await.expect("stop");
}

/// Search engines are pointed, from robots.txt, to a map of every page worth finding:
/// the home page, each current movie's and every theatre's, named in full at the
/// site's public address, each of them a page that is there; and each page names its
/// one address, whatever query reached it.
#[tokio::test]
async fn search_engines_are_given_a_map_of_every_movie_and_theatre_page() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let unreleased = movie(c, "Unreleased", 90).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let fenway = theatre(c, "Fenway", "02115", 40).await;
    showtime(c, &heat.id, &kendall.id, "1", 4).await;
    let site = site(&stack).await;
    let b = browser();

    let (_, robots) = page(&b, &format!("{site}/robots.txt"), "").await;
    assert!(
        robots.contains(&format!("\nSitemap: {site}/sitemap.xml\n")),
        "{robots}"
    );
    let response = b
        .get(format!("{site}/sitemap.xml"))
        .send()
        .await
        .expect("sitemap");
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"].to_str().expect("type");
    assert!(kind.starts_with("application/xml"), "{kind}");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let xml = response.text().await.expect("xml");
    assert!(
        xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            && xml.contains(r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#),
        "{xml}"
    );
    let locs: Vec<&str> = xml
        .split("<loc>")
        .skip(1)
        .map(|l| &l[..l.find("</loc>").expect("loc's end")])
        .collect();
    let expected = [
        format!("{site}/"),
        format!("{site}/movies/{}", heat.id),
        format!("{site}/theatres/{}", kendall.id),
        format!("{site}/theatres/{}", fenway.id),
    ];
    assert_eq!(locs, expected, "no movie without showtimes: {xml}");
    assert!(!xml.contains(&format!("/movies/{}<", unreleased.id)));
    for loc in locs {
        let (status, _) = page(&b, loc, "").await;
        assert_eq!(status, StatusCode::OK, "{loc}");
    }
    // However a page was reached (near which ZIP code, on which day), search engines
    // are told the one address it is known by.
    let show = showtime(c, &heat.id, &fenway.id, "1", 5).await;
    for (url, canonical) in [
        (format!("{site}/?zip=02139&within=25"), format!("{site}/")),
        (
            format!("{site}/movies/{}?zip=02139&within=25", heat.id),
            format!("{site}/movies/{}", heat.id),
        ),
        (
            format!("{site}/theatres/{}?day=2026-01-01", kendall.id),
            format!("{site}/theatres/{}", kendall.id),
        ),
        (
            format!("{site}/showtimes/{}", show.id),
            format!("{site}/showtimes/{}", show.id),
        ),
    ] {
        let (_, html) = page(&b, &url, "").await;
        assert!(
            html.contains(&format!(r#"<link rel="canonical" href="{canonical}">"#)),
            "{url}: {html}"
        );
    }

    // Behind its public address, the map and the pointer name that address.
    let public = site_at(&stack, "https://tickets.example.com/").await;
    let (_, robots) = page(&b, &format!("{public}/robots.txt"), "").await;
    assert!(
        robots.contains("\nSitemap: https://tickets.example.com/sitemap.xml\n"),
        "{robots}"
    );
    let (_, xml) = page(&b, &format!("{public}/sitemap.xml"), "").await;
    assert!(
        xml.contains(&format!(
            "<loc>https://tickets.example.com/theatres/{}</loc>",
            fenway.id
        )) && !xml.contains("127.0.0.1"),
        "{xml}"
    );
    let (_, html) = page(&b, &format!("{public}/movies/{}?zip=02139", heat.id), "").await;
    assert!(html.contains(&format!(
        r#"<link rel="canonical" href="https://tickets.example.com/movies/{}">"#,
        heat.id
    )));
    stack.stop().await.expect("stop");
}

/// The `content` of the page's `<meta>` whose `key` attribute (`name` or `property`)
/// is `value`.
fn meta(html: &str, key: &str, value: &str) -> Option<String> {
    let start = html.find(&format!(r#"<meta {key}="{value}" content=""#))?;
    let rest = &html[start..];
    let content = &rest[rest.find("content=\"")? + 9..];
    Some(content[..content.find('"')?].to_owned())
}

/// A link to a movie, a theatre or a showtime pasted in a chat or a post is previewed
/// with what the page is (its title and description, at its one address), and a
/// showtime's says the day and time in full, since it is read on another day than the
/// one it was shared; the pages of a moviegoer's own hold and order offer no preview.
#[tokio::test]
async fn a_shared_link_previews_the_page_it_points_to() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let fenway = theatre(c, "Fenway", "02115", 40).await;
    let (_, tomorrow_at_7) = boston(1, 19);
    let show = showtime_at(c, &heat.id, &fenway.id, "1", tomorrow_at_7).await;
    let site = site(&stack).await;
    let b = browser();

    let local = chrono::DateTime::from_timestamp(tomorrow_at_7.seconds, 0)
        .expect("an instant")
        .with_timezone(&chrono_tz::America::New_York);
    let cases = [
        (
            format!("{site}/?zip=02139"),
            format!("{site}/"),
            "What&#39;s on".to_owned(),
            "Showtimes and tickets for classic films at theatres near you.".to_owned(),
        ),
        (
            format!("{site}/movies/{}?zip=02139&within=25", heat.id),
            format!("{site}/movies/{}", heat.id),
            "Heat".to_owned(),
            "Showtimes and tickets for Heat (PG-13, 2\u{a0}h 50\u{a0}min) at theatres near you."
                .to_owned(),
        ),
        (
            format!("{site}/theatres/{}", fenway.id),
            format!("{site}/theatres/{}", fenway.id),
            "Fenway".to_owned(),
            "Showtimes and tickets at Fenway, 1 Main St, Somewhere, MA 02115.".to_owned(),
        ),
        (
            format!("{site}/showtimes/{}", show.id),
            format!("{site}/showtimes/{}", show.id),
            "Heat at Fenway".to_owned(),
            format!(
                "Tickets for Heat at Fenway, {} at 7:00\u{a0}PM\u{a0}{}.",
                local.format("%A, %B\u{a0}%-d"),
                local.format("%Z")
            ),
        ),
    ];
    for (url, address, title, description) in cases {
        let (status, html) = page(&b, &url, "").await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(
            html.contains(&format!("<title>{title} · Cinema</title>")),
            "{url}: {html}"
        );
        assert_eq!(
            meta(&html, "name", "description"),
            Some(description.clone()),
            "{url}"
        );
        assert_eq!(meta(&html, "property", "og:url"), Some(address), "{url}");
        assert_eq!(meta(&html, "property", "og:title"), Some(title), "{url}");
        assert_eq!(
            meta(&html, "property", "og:description"),
            Some(description),
            "{url}"
        );
        assert_eq!(
            meta(&html, "property", "og:site_name").as_deref(),
            Some("Cinema")
        );
        assert_eq!(
            meta(&html, "name", "twitter:card").as_deref(),
            Some("summary")
        );
    }

    // A hold's checkout page is the moviegoer's own: nothing to preview or index.
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    let checkout = held.headers()[LOCATION].to_str().expect("to");
    let (status, html) = page(&b, &format!("{site}{checkout}"), &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta(&html, "name", "robots").as_deref(), Some("noindex"));
    assert_eq!(meta(&html, "property", "og:title"), None, "{html}");
    stack.stop().await.expect("stop");
}

/// A moviegoer with no theatre within the usual 15 miles is offered farther searches,
/// and the distance chosen is searched, carried to the movie's page, remembered with
/// the ZIP code, and refused when it is not one offered.
/// Adds a ZIP code the test stack's small set lacks, for a theatre there.
async fn load_zip(stack: &Stack, (zip, city, state): (&str, &str, &str), (lat, lon): (f64, f64)) {
    let record = cinema_service::zips::ZipCodeRecord {
        zip: zip.into(),
        city: city.into(),
        state: state.into(),
        county: city.into(),
        latitude: lat,
        longitude: lon,
    };
    cinema_service::zips::load(stack.movies.pool(), &[record])
        .await
        .expect("ZIP code loaded");
}

#[tokio::test]
async fn a_moviegoer_far_from_theatres_looks_farther() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    // Worcester, MA: 37 miles from Cambridge's 02139.
    load_zip(&stack, ("01609", "Worcester", "MA"), (42.2753, -71.8173)).await;
    let heat = movie(c, "Heat", 170).await;
    let palace = theatre(c, "Palace", "01609", 40).await;
    showtime(c, &heat.id, &palace.id, "1", 5).await;
    let site = site(&stack).await;
    let b = browser();

    // Nothing within 15 miles: said so, with the distances beyond it to try.
    let (_, near) = page(&b, &format!("{site}/?zip=02139"), "").await;
    assert!(
        near.contains("No movies are showing within 15 miles of 02139"),
        "{near}"
    );
    for miles in [50, 100] {
        assert!(
            near.contains(&format!(
                r#"<a href="/?zip=02139&#38;within={miles}">within {miles} miles</a>"#
            )),
            "{miles} miles offered: {near}"
        );
    }
    assert!(
        !near.contains(r#"within=5""#)
            && !near.contains(r#"within=10""#)
            && !near.contains(r#"within=25""#),
        "only farther, and far enough to reach the nearest theatre (37 miles): {near}"
    );
    assert!(near.contains(r#"<option value="15" selected>"#), "{near}");
    // And the nearest theatres beyond it, with how far they are.
    let beyond = &near[near
        .find("The nearest theatres farther away")
        .unwrap_or_else(|| panic!("{near}"))..];
    assert!(
        beyond.contains(&format!(r#"<a href="/theatres/{}">Palace</a>"#, palace.id))
            && beyond.contains("37.0 mi"),
        "{beyond}"
    );
    // Not a theatre within 100 miles: said so, and no farther search offered; the
    // same when 100 miles was the search (its own theatres are the answer).
    for url in [
        format!("{site}/?zip=94103"),
        format!("{site}/?zip=94103&within=100"),
    ] {
        let (_, alone) = page(&b, &url, "").await;
        assert!(
            alone.contains("There is no theatre within 100 miles of 94103."),
            "{url}: {alone}"
        );
        assert!(
            !alone.contains("Look farther") && !alone.contains("farther away"),
            "{url}: {alone}"
        );
    }

    // Within 50 miles: the movie, the theatre with its distance, a link to the movie
    // that keeps the distance, and the choice remembered with the code.
    let response = b
        .get(format!("{site}/?zip=02139&within=50"))
        .send()
        .await
        .expect("home");
    assert_eq!(cookie_set(&response, "within").as_deref(), Some("50"));
    assert_eq!(cookie_set(&response, "zip").as_deref(), Some("02139"));
    let farther = response.text().await.expect("html");
    assert!(
        farther.contains("Heat") && farther.contains("Palace"),
        "{farther}"
    );
    assert!(farther.contains("37.0 mi"), "{farther}");
    assert!(
        farther.contains(&format!(
            r#"href="/movies/{}?zip=02139&#38;within=50""#,
            heat.id
        )),
        "{farther}"
    );
    assert!(
        farther.contains(r#"<option value="50" selected>"#),
        "{farther}"
    );
    assert!(!farther.contains("Look farther"), "{farther}");
    let (_, remembered) = page(&b, &format!("{site}/"), "zip=02139; within=50").await;
    assert!(remembered.contains("Palace"), "{remembered}");
    let (_, linked) = page(&b, &format!("{site}/?zip=02139"), "zip=02139; within=50").await;
    assert!(
        linked.contains("within 15 miles of 02139"),
        "a link or form without a distance means the usual one: {linked}"
    );

    // The movie's page: the same offer (from 50 miles, which reaches the nearest
    // theatre), and the showtimes farther out.
    let movie_page = format!("{site}/movies/{}", heat.id);
    let (_, near) = page(&b, &format!("{movie_page}?zip=02139"), "").await;
    assert!(
        near.contains("Heat is not playing within 15 miles of 02139"),
        "{near}"
    );
    assert!(
        near.contains(&format!(
            r#"<a href="/movies/{}?zip=02139&#38;within=50">within 50 miles</a>"#,
            heat.id
        )) && !near.contains("within=25"),
        "{near}"
    );
    assert!(
        near.contains("Where Heat is playing")
            && near.contains(&format!(r#"<a href="/theatres/{}">Palace</a>"#, palace.id)),
        "where it plays instead: {near}"
    );
    let (_, farther) = page(&b, &format!("{movie_page}?zip=02139&within=50"), "").await;
    assert!(
        farther.contains("Palace") && farther.contains("37.0 mi"),
        "{farther}"
    );
    assert!(farther.contains("$12.50"), "{farther}");
    let (_, widest) = page(&b, &format!("{movie_page}?zip=02139&within=100"), "").await;
    assert!(
        widest.contains("Palace") && !widest.contains("Look farther"),
        "{widest}"
    );

    // A distance the form does not offer: said so on the select, nothing searched,
    // nothing remembered.
    for url in [
        format!("{site}/?zip=02139&within=7"),
        format!("{movie_page}?zip=02139&within=abc"),
    ] {
        let response = b.get(&url).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(SET_COOKIE).is_none(), "{url}");
        let bad = response.text().await.expect("html");
        assert!(
            bad.contains(
                "is not a distance we search within: choose 5, 10, 15, 25, 50 or 100 miles."
            ),
            "{url}: {bad}"
        );
        assert!(
            bad.contains(r#"aria-invalid="true" aria-describedby="within-error""#),
            "{url}: {bad}"
        );
        assert!(
            !bad.contains("Palace") && !bad.contains("No movies are showing"),
            "{url}: {bad}"
        );
    }
    stack.stop().await.expect("stop");
}

/// An operator sees the site's traffic as the services': requests by route pattern,
/// method and status, and their latency, on `/metrics` when `METRICS_ADDR` is set.
#[tokio::test]
async fn the_site_counts_and_times_its_requests_by_route() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let (site, metrics) =
        site_with_metrics(&stack, Some("127.0.0.1:0".parse().expect("addr"))).await;
    let metrics = metrics.expect("metrics served");
    let b = browser();
    for path in [
        format!("/movies/{}", heat.id),
        format!("/movies/{}", heat.id),
        "/movies/424242".to_owned(),
        "/no/such/page".to_owned(),
    ] {
        b.get(format!("{site}{path}")).send().await.expect("page");
    }
    let text = b
        .get(&metrics)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    // The recorder is the process's, shared with other tests' sites: at least ours.
    let count = |route: &str, status: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("http_server_requests_total{"))
            .filter(|l| {
                l.contains(r#"service="web""#)
                    && l.contains(r#"method="GET""#)
                    && l.contains(&format!(r#"route="{route}""#))
                    && l.contains(&format!(r#"status="{status}""#))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(count("/movies/{id}", "200") >= 2.0, "{text}");
    assert!(count("/movies/{id}", "404") >= 1.0, "{text}");
    assert!(count("unmatched", "404") >= 1.0, "{text}");
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket{")
                && l.contains(r#"route="/movies/{id}""#)
                && l.contains(r#"le="0.0005""#)
        ),
        "latency in the services' buckets: {text}"
    );
    stack.stop().await.expect("stop");
}

/// A movie found nowhere near says where it is playing, and one playing nowhere says
/// so instead of offering searches that cannot find it.
/// A movie's page says what the movie is about, near a ZIP code or not, and so does
/// the description a search result or a shared link shows, and the year it came out;
/// a movie the catalogue has no synopsis or year of says none.
#[tokio::test]
async fn a_movie_s_page_says_what_it_is_about() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let synopsis = "A master thief plans one last job in Los Angeles while a detective \
                    who has given his life to the chase closes in on him and his crew.";
    let heat = c
        .admin()
        .create_movie(cinema_client::movies_pb::CreateMovieRequest {
            name: "Heat".into(),
            length_minutes: 170,
            rating: cinema_client::movies_pb::Rating::R.into(),
            request_id: String::new(),
            synopsis: synopsis.into(),
            release_year: 1995,
        })
        .await
        .expect("movie created");
    let alien = movie(c, "Alien", 117).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    showtime_at(c, &heat.id, &kendall.id, "1", boston(1, 19).1).await;
    showtime_at(c, &alien.id, &kendall.id, "2", boston(1, 20).1).await;
    let site = site(&stack).await;
    let b = browser();

    // Its description quotes the synopsis's start, cut between words, within what a
    // search result shows.
    let quoted = "A master thief plans one last job in Los Angeles while a detective who has \
                  given his life to the chase closes…";
    let description = format!("{quoted} Showtimes and tickets at theatres near you.");
    assert!(description.chars().count() <= 160, "{description}");
    // With showtimes near, far from every theatre, and with no ZIP code.
    for query in ["?zip=02139", "?zip=10001", ""] {
        let (status, html) = page(&b, &format!("{site}/movies/{}{query}", heat.id), "").await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(
            html.contains(&format!(r#"<p class="synopsis">{synopsis}</p>"#)),
            "{query}: {html}"
        );
        assert!(
            html.contains(&format!(
                r#"<meta name="description" content="{description}">"#
            )) && html.contains(&format!(
                r#"<meta property="og:description" content="{description}">"#
            )),
            "{query}: {html}"
        );
    }
    let (_, near) = page(&b, &format!("{site}/movies/{}?zip=02139", heat.id), "").await;
    assert!(near.contains("7:00"), "the showtimes follow: {near}");
    // And search engines read it as the movie's description beside its showings.
    assert!(
        near.contains(&format!(r#""description":"{synopsis}""#)),
        "{near}"
    );
    // Its year, what tells a film from its remakes, beside its rating and length, on
    // its page and its card; and for search engines.
    let facts = "</span> 1995\u{a0}· 2\u{a0}h\u{a0}50\u{a0}min</p>";
    assert!(near.contains(facts), "{near}");
    assert!(near.contains(r#""dateCreated":"1995""#), "{near}");
    let (_, home) = page(&b, &format!("{site}/?zip=02139"), "").await;
    assert!(home.contains(facts), "{home}");

    let (_, plain) = page(&b, &format!("{site}/movies/{}?zip=02139", alien.id), "").await;
    assert!(!plain.contains(r#"class="synopsis""#), "{plain}");
    assert!(
        plain.contains("</span> 1\u{a0}h 57\u{a0}min</p>") && !plain.contains("dateCreated"),
        "no year where none is known: {plain}"
    );
    assert!(
        plain.contains("Showtimes and tickets for Alien (PG-13, 1\u{a0}h 57\u{a0}min)"),
        "{plain}"
    );
}

#[tokio::test]
async fn a_movie_playing_only_far_away_says_where() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    // San Francisco: 2,700 miles from Cambridge's 02139, beyond any search from there.
    load_zip(
        &stack,
        ("94110", "San Francisco", "CA"),
        (37.7484, -122.4156),
    )
    .await;
    let vertigo = movie(c, "Vertigo", 128).await;
    let unreleased = movie(c, "Unreleased", 90).await;
    let castro = theatre(c, "Castro", "94110", 40).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    showtime(c, &vertigo.id, &castro.id, "1", 5).await;
    let site = site(&stack).await;
    let b = browser();

    let (status, far) = page(
        &b,
        &format!("{site}/movies/{}?zip=02139&within=100", vertigo.id),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        far.contains("Vertigo is not playing within 100 miles of 02139"),
        "{far}"
    );
    assert!(
        far.contains("Where Vertigo is playing")
            && far.contains(&format!(r#"<a href="/theatres/{}">Castro</a>"#, castro.id))
            && far.contains("94110"),
        "{far}"
    );
    assert!(
        !far.contains(&format!("/theatres/{}", kendall.id)),
        "only theatres showing it: {far}"
    );

    // From Manhattan, with no theatre within 100 miles, no farther search is offered,
    // only where the movie plays.
    let (_, alone) = page(&b, &format!("{site}/movies/{}?zip=10001", vertigo.id), "").await;
    assert!(
        alone.contains("Vertigo is not playing within 15 miles of 10001")
            && alone.contains("Where Vertigo is playing")
            && !alone.contains("Look farther"),
        "{alone}"
    );

    // Playing nowhere: no farther search is offered, nor theatres.
    let (status, nowhere) = page(
        &b,
        &format!("{site}/movies/{}?zip=02139", unreleased.id),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        nowhere.contains("Unreleased is not playing anywhere in the next two weeks."),
        "{nowhere}"
    );
    assert!(
        !nowhere.contains("Look farther") && !nowhere.contains("Where Unreleased"),
        "{nowhere}"
    );

    // Without a ZIP code, the page asks for one first.
    let (_, ask) = page(&b, &format!("{site}/movies/{}", vertigo.id), "").await;
    assert!(
        ask.contains("Enter your ZIP code to see where Vertigo is playing.")
            && !ask.contains("Castro"),
        "{ask}"
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn a_moviegoer_holds_seats_pays_and_cancels_in_the_browser_flow() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;

    let (token, cookie, html) = showtime_page(&b, &site, &show.id).await;
    assert!(
        html.contains(&format!("value=\"{token}\"")),
        "the form carries the token"
    );
    assert!(html.contains("Hold seats") && html.contains("$12.50"));

    // A POST without the token is refused, and holds nothing.
    let forged = b
        .post(format!("{site}/showtimes/{}/hold", show.id))
        .form(&[("csrf", "forged"), ("tickets", "2")])
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(seats(c, &show.product_id).await, (40, 0));

    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    let checkout = held.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(checkout.starts_with("/checkout/"), "{checkout}");
    assert_eq!(seats(c, &show.product_id).await, (38, 2));

    let (status, form) = page(&b, &format!("{site}{checkout}"), &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("held until") && form.contains("Heat"));
    // What is being bought, and where to go, before the card is asked for.
    assert!(
        form.contains("at Kendall, auditorium&nbsp;2")
            && form.contains("1 Main St, Somewhere, MA 02139")
            && form.contains("2 tickets at $12.50 · <strong>$25.00</strong>"),
        "{form}"
    );
    let until = &form[form.find("held until").expect("held until")..];
    let until = &until[until.find('>').expect("time")..until.find("</time>").expect("time")];
    assert!(
        until.ends_with("\u{a0}EST") || until.ends_with("\u{a0}EDT"),
        "on the theatre's clock, named: {until}"
    );

    let pay = |card: &'static str| {
        let (b, url, token, cookie) = (
            b.clone(),
            format!("{site}{checkout}"),
            token.clone(),
            cookie.clone(),
        );
        async move {
            b.post(url)
                .form(&card_payment(&token, card))
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("pay")
        }
    };
    // Declined: the same form, what was typed kept, the card number not.
    let declined = pay("4000 0000 0000 0002").await;
    assert_eq!(declined.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = declined.text().await.expect("html");
    assert!(
        html.contains("declined") && html.contains("value=\"Cambridge\""),
        "{html}"
    );
    assert!(html.contains("(415) 555-0132"));
    assert!(!html.contains("4000 0000 0000 0002") && !html.contains("4000000000000002"));
    assert_eq!(seats(c, &show.product_id).await, (38, 2), "still held");
    // A card without its security code is asked for it before anything is charged.
    let without_code: Vec<_> = card_payment(&token, "4111 1111 1111 1111")
        .into_iter()
        .filter(|(field, _)| *field != "card_cvc")
        .collect();
    let asked = b
        .post(format!("{site}{checkout}"))
        .form(&without_code)
        .header(COOKIE, cookie.clone())
        .send()
        .await
        .expect("pay");
    assert_eq!(asked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = asked.text().await.expect("html");
    assert!(
        html.contains("security code: the 3 digits on its back"),
        "{html}"
    );
    assert!(html.contains(r#"autocomplete="cc-csc""#) && html.contains("value=\"Cambridge\""));
    assert_eq!(
        seats(c, &show.product_id).await,
        (38, 2),
        "still held, nothing sold"
    );

    let paid = pay("4111 1111 1111 1111").await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let order_url = paid.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let response = b
        .get(format!("{site}{order_url}"))
        .send()
        .await
        .expect("order");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "no cache keeps an order"
    );
    let order = response.text().await.expect("html");
    let code = order_url.trim_start_matches("/orders/");
    assert!(
        order.contains(code) && order.contains("Visa ending\u{a0}in\u{a0}1111"),
        "{order}"
    );
    assert!(order.contains("2 tickets at $12.50 · $25.00") && order.contains("Kendall"));
    assert!(
        order.contains(&format!(
            r#"aria-label="QR code of confirmation code {code}""#
        )),
        "the code for a box office's scanner (the browser test scans it): {order}"
    );
    assert!(!order.contains("4111"), "no card number on the page");
    assert!(
        order.contains(r#"<meta name="robots" content="noindex">"#),
        "a visitor's order is not for search engines"
    );
    assert!(
        order.contains("We text your tickets to the phone ending\u{a0}in\u{a0}0132."),
        "{order}"
    );
    assert!(
        !order.contains("555-0132") && !order.contains("4155550132"),
        "a confirmation code alone shows no whole phone number: {order}"
    );
    // The showtime, to add to a calendar: from its start to the end of the movie.
    let calendar_url = format!("{site}{order_url}/calendar.ics");
    assert!(
        order.contains(&format!(r#"<a href="{order_url}/calendar.ics">"#)),
        "{order}"
    );
    let start = show
        .start_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .expect("a start");
    let ics_time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let event = b.get(&calendar_url).send().await.expect("calendar");
    assert_eq!(event.status(), StatusCode::OK);
    assert_eq!(
        event.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    assert!(
        event.headers()["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.starts_with("attachment")),
        "a file to open in a calendar"
    );
    let event = event.text().await.expect("ics");
    for line in [
        "SUMMARY:Heat at Kendall".to_owned(),
        format!("DTSTART:{}", ics_time(start)),
        format!("DTEND:{}", ics_time(start + chrono::Duration::minutes(170))),
        "STATUS:CONFIRMED".to_owned(),
    ] {
        assert!(event.contains(&format!("{line}\r\n")), "{line} in {event}");
    }
    assert!(event.replace("\r\n ", "").contains(code), "{event}");
    assert_eq!(seats(c, &show.product_id).await, (38, 0));

    // The lookup form finds it, whatever the case.
    let found = b
        .get(format!(
            "{site}/orders?confirmation={}",
            code.to_lowercase()
        ))
        .send()
        .await
        .expect("lookup");
    assert_eq!(found.headers()[LOCATION], order_url.as_str());

    // Cancel asks once more, then gives the seats back.
    let (_, ask) = page(&b, &format!("{site}{order_url}/cancel"), &cookie).await;
    assert!(ask.contains("Yes, cancel my order"));
    let cancelled = b
        .post(format!("{site}{order_url}/cancel"))
        .form(&[("csrf", token.as_str())])
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let (_, after) = page(&b, &format!("{site}{order_url}"), &cookie).await;
    assert!(after.contains("was cancelled"), "{after}");
    assert!(
        !after.contains(r#"class="qr""#),
        "a cancelled order has nothing to scan: {after}"
    );
    assert!(
        after.contains("$25.00 is refunded to Visa ending\u{a0}in\u{a0}1111."),
        "{after}"
    );
    assert!(
        after.contains("We text the cancellation to the phone ending\u{a0}in\u{a0}0132."),
        "{after}"
    );
    assert!(!after.contains("calendar.ics"), "{after}");
    let (_, event) = page(&b, &calendar_url, "").await;
    assert!(
        event.contains("STATUS:CANCELLED\r\n"),
        "imported again, a cancelled order's event leaves the calendar: {event}"
    );
    let (status, _) = page(&b, &format!("{site}/orders/ABCDEFGHJK/calendar.ics"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(seats(c, &show.product_id).await, (40, 0));

    // A hold whose time ran out cannot be paid for, and says so.
    let again = hold_seats(&b, &site, &show.id, (&token, &cookie), "1").await;
    let checkout = again.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    sqlx::query("UPDATE holds SET expires_at = now() - interval '1 second'")
        .execute(stack.orders.pool())
        .await
        .expect("aged");
    let (_, expired) = page(&b, &format!("{site}{checkout}"), &cookie).await;
    assert!(expired.contains("no longer held"), "{expired}");
    assert!(
        expired.contains(&format!(
            r#"<a href="/showtimes/{}">Hold seats again</a>"#,
            show.id
        )),
        "back to the same showtime: {expired}"
    );

    // With the services down, pages say so instead of failing obscurely.
    stack.stop().await.expect("stop");
    let (status, down) = page(&b, &format!("{site}/?zip=02139"), "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.contains("box office"), "{down}");
}

/// A movies service that records the `traceparent` of every call and knows nothing.
#[derive(Debug, Clone, Default)]
struct RecordingMovies {
    traceparents: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
}

impl RecordingMovies {
    fn record<T>(&self, request: &tonic::Request<T>) {
        let traceparent = request
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.traceparents.lock().expect("lock").push(traceparent);
    }
}

#[tonic::async_trait]
impl cinema_client::movies_pb::movies_service_server::MoviesService for RecordingMovies {
    async fn get_showtimes(
        &self,
        request: tonic::Request<cinema_client::movies_pb::GetShowtimesRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::GetShowtimesResponse>, tonic::Status>
    {
        self.record(&request);
        Ok(tonic::Response::new(Default::default()))
    }
    async fn list_current_movies(
        &self,
        request: tonic::Request<cinema_client::movies_pb::ListCurrentMoviesRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::ListCurrentMoviesResponse>, tonic::Status>
    {
        self.record(&request);
        Ok(tonic::Response::new(Default::default()))
    }
    async fn get_movie(
        &self,
        request: tonic::Request<cinema_client::movies_pb::GetMovieRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::GetMovieResponse>, tonic::Status> {
        self.record(&request);
        Err(tonic::Status::not_found("no movies here"))
    }
    async fn get_showtime(
        &self,
        request: tonic::Request<cinema_client::movies_pb::GetShowtimeRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::GetShowtimeResponse>, tonic::Status> {
        self.record(&request);
        Err(tonic::Status::not_found("no showtimes here"))
    }
    async fn get_theatre(
        &self,
        request: tonic::Request<cinema_client::movies_pb::GetTheatreRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::GetTheatreResponse>, tonic::Status> {
        self.record(&request);
        Err(tonic::Status::not_found("no theatres here"))
    }
    async fn list_theatres_near(
        &self,
        request: tonic::Request<cinema_client::movies_pb::ListTheatresNearRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::ListTheatresNearResponse>, tonic::Status>
    {
        self.record(&request);
        Ok(tonic::Response::new(Default::default()))
    }
    async fn list_theatres(
        &self,
        request: tonic::Request<cinema_client::movies_pb::ListTheatresRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::ListTheatresResponse>, tonic::Status>
    {
        self.record(&request);
        Ok(tonic::Response::new(Default::default()))
    }
    async fn get_theatre_schedule(
        &self,
        request: tonic::Request<cinema_client::movies_pb::GetTheatreScheduleRequest>,
    ) -> Result<tonic::Response<cinema_client::movies_pb::GetTheatreScheduleResponse>, tonic::Status>
    {
        self.record(&request);
        Err(tonic::Status::not_found("no theatres here"))
    }
}

#[tokio::test]
async fn a_page_view_and_its_service_calls_are_one_trace() {
    cinema_testkit::init_test_logging();
    let movies = RecordingMovies::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let movies_addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(
                cinema_client::movies_pb::movies_service_server::MoviesServiceServer::new(
                    movies.clone(),
                ),
            )
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let app = cinema_web::Application::build(cinema_web::Settings {
        listen_addr: "127.0.0.1:0".parse().expect("addr"),
        movies_endpoint: format!("http://{movies_addr}"),
        orders_endpoint: "http://127.0.0.1:9".into(),
        public_url: None,
        secure_cookies: false,
        metrics_addr: None,
        seats_left_cache_ms: 0,
        limits: Default::default(),
    })
    .await
    .expect("site builds");
    let site = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    // A caller that is itself traced: the page and its gRPC calls join its trace.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = browser()
        .get(format!("{site}/?zip=02139"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .expect("home");
    assert_eq!(response.status(), StatusCode::OK);
    let seen = movies.traceparents.lock().expect("lock").clone();
    // This movies service knows no movie: the page also asks for the nearest
    // theatres farther away.
    assert_eq!(
        seen.len(),
        3,
        "the home page asks for movies, theatres, and farther theatres"
    );
    for forwarded in seen.iter().cloned() {
        let forwarded = forwarded.expect("each call carries a traceparent");
        assert!(
            forwarded.starts_with(&format!("00-{trace_id}-")),
            "the same trace: {forwarded}"
        );
        assert!(
            !forwarded.contains("00f067aa0ba902b7"),
            "a span of the website's own, under the caller's: {forwarded}"
        );
    }

    // Without one, each page view starts a trace of its own, still carried on.
    browser()
        .get(format!("{site}/?zip=02139"))
        .send()
        .await
        .expect("home");
    let seen = movies.traceparents.lock().expect("lock").clone();
    let fresh: Vec<String> = seen[3..]
        .iter()
        .map(|t| t.clone().expect("a traceparent")[3..35].to_owned())
        .collect();
    assert_eq!(fresh.len(), 3);
    assert_ne!(fresh[0], trace_id);
    assert!(
        fresh.iter().all(|t| *t == fresh[0]),
        "one page view, one trace"
    );
}

/// What a showtime's page says as its seats run out: how few are left, that the rest
/// are held by others for now (they may come back), then sold out.
#[tokio::test]
async fn a_showtime_page_says_how_few_seats_are_left_and_why_none_are() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let small = theatre(c, "Brattle", "02139", 3).await;
    let show = showtime(c, &heat.id, &small.id, "2", 4).await;
    let later = showtime(c, &heat.id, &small.id, "2", 28).await;
    let alien = movie(c, "Alien", 117).await;
    let other_movie = showtime(c, &alien.id, &small.id, "1", 6).await;
    let url = format!("{}/showtimes/{}", site(&stack).await, show.id);
    let b = browser();

    let (_, html) = page(&b, &url, "").await;
    assert!(
        html.contains("Only 3 seats left.") && html.contains("Hold seats"),
        "{html}"
    );
    // Reached from a shared link, it leads to what the movie is about and where else
    // it plays.
    assert!(
        html.contains(&format!(
            r#"<a href="/movies/{}">About Heat, and where else it plays</a>"#,
            heat.id
        )),
        "{html}"
    );
    // On sale, it is a schema.org event for search engines; its description, read in a
    // shared link's preview another day, names the date rather than "Today".
    let structured = r#"<script type="application/ld+json">"#;
    assert!(
        html.contains(structured) && html.contains(&format!(r#""url":"/showtimes/{}""#, show.id)),
        "{html}"
    );
    let description = html
        .split(r#"<meta name="description" content=""#)
        .nth(1)
        .and_then(|d| d.split('"').next())
        .expect("a description");
    assert!(
        description.starts_with("Tickets for Heat at Brattle, ")
            && !description.contains("Today")
            && !description.contains("Tomorrow"),
        "{description}"
    );
    // The movie's other times at this theatre, and only those.
    let other_times = |html: &str| {
        let at = html.find("Other times for Heat here")?;
        Some(html[at..].to_owned())
    };
    let others = other_times(&html).unwrap_or_else(|| panic!("no other times: {html}"));
    assert!(
        others.contains(&format!(r#"href="/showtimes/{}""#, later.id)),
        "{others}"
    );
    assert!(
        !others.contains(&format!(r#"href="/showtimes/{}""#, show.id))
            && !others.contains(&format!(r#"href="/showtimes/{}""#, other_movie.id)),
        "neither this showtime nor another movie's: {others}"
    );

    let held = someone_holds(c, &show.product_id, 3).await;
    let (_, html) = page(&b, &url, "").await;
    assert!(
        html.contains("Sold out for now: 3 seats held by other moviegoers"),
        "{html}"
    );
    assert!(!html.contains("Hold seats"), "{html}");

    c.orders()
        .release_hold(&held.hold_id)
        .await
        .expect("released");
    c.orders()
        .place_order(tickets(&show.product_id, 3))
        .await
        .expect("sold");
    let (_, html) = page(&b, &url, "").await;
    assert!(html.contains("This showtime is sold out."), "{html}");
    assert!(
        !html.contains("Hold seats") && !html.contains("for now"),
        "{html}"
    );
    // Still an event for search engines, offered as sold out rather than dropped.
    assert!(
        html.contains(structured)
            && html.contains("schema.org/SoldOut")
            && !html.contains("schema.org/InStock"),
        "{html}"
    );
    // Sold out, the page still leads to the next time.
    assert!(
        other_times(&html)
            .is_some_and(|o| o.contains(&format!(r#"href="/showtimes/{}""#, later.id))),
        "{html}"
    );
    stack.stop().await.expect("stop");
}

/// Once the box office has let an order's holder in, its page says so instead of
/// offering the code (a screenshot of it lets nobody else in) and no longer offers to
/// cancel; a cancellation posted from a page shown before is refused and changes
/// nothing; and the home page no longer leads back to it.
#[tokio::test]
async fn an_order_used_at_the_door_says_so_and_cannot_be_cancelled() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    let placed = c
        .orders()
        .place_order(tickets(&show.product_id, 2))
        .await
        .expect("order");
    let order_url = format!("{site}/orders/{}", placed.confirmation);
    // Four hours ahead: the page says when the doors open, on the theatre's clock
    // (today, or tomorrow when four hours from now is past midnight there).
    let zone = chrono_tz::America::New_York;
    let start = show.start_time.expect("a start");
    let doors = chrono::DateTime::from_timestamp(start.seconds, 0).expect("an instant")
        - chrono::TimeDelta::hours(1);
    let doors = doors.with_timezone(&zone);
    let day = if doors.date_naive() == chrono::Utc::now().with_timezone(&zone).date_naive() {
        "today"
    } else {
        "tomorrow"
    };
    let (_, html) = page(&b, &order_url, "").await;
    assert!(
        html.contains(&format!(
            "Show this code at the box office from {} {day}, when the doors open.",
            doors.format("%-I:%M\u{a0}%p\u{a0}%Z")
        )),
        "{html}"
    );
    // The cancel page as shown before the door: its token and form.
    let response = b
        .get(format!("{order_url}/cancel"))
        .send()
        .await
        .expect("page");
    let token = csrf(&response);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("Yes, cancel my order")
    );
    let remembered = format!("orders={}", placed.confirmation);
    let (_, home) = page(&b, &format!("{site}/"), &remembered).await;
    assert!(home.contains("Your tickets"), "to show at the door: {home}");

    // Let in early, by a manager's call: the doors open tomorrow.
    c.orders()
        .admit_order_anyway(&placed.confirmation)
        .await
        .expect("admitted");
    // Used, the tickets are no longer the home page's to lead back to.
    let response = b
        .get(format!("{site}/"))
        .header(COOKIE, remembered.as_str())
        .send()
        .await
        .expect("home");
    assert_eq!(cookie_set(&response, "orders").as_deref(), Some(""));
    let home = response.text().await.expect("html");
    assert!(!home.contains("Your tickets"), "{home}");
    let (status, html) = page(&b, &order_url, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Let in at the door at "), "{html}");
    assert!(
        html.contains(
            "These tickets were used at the door, so this order can no longer be cancelled."
        ),
        "{html}"
    );
    assert!(
        !html.contains("Cancel order") && !html.contains(r#"class="qr""#),
        "{html}"
    );
    let seats_before = seats(c, &show.product_id).await;
    let refused = b
        .post(format!("{order_url}/cancel"))
        .form(&[("csrf", token.as_str())])
        .header(COOKIE, format!("csrf={token}"))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .expect("html")
            .contains("used at the door")
    );
    assert_eq!(seats(c, &show.product_id).await, seats_before, "still sold");
    let order = c
        .orders()
        .get_order(&placed.confirmation)
        .await
        .expect("order");
    assert_eq!(
        order.status(),
        cinema_client::orders_pb::OrderStatus::Placed
    );
    stack.stop().await.expect("stop");
}

/// A showing just after midnight opens its doors the evening before: its page names
/// that day, which a moviegoer would otherwise take for the showing's.
#[tokio::test]
async fn doors_that_open_the_evening_before_say_which_evening() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    // Midnight at the start of the day after tomorrow, and 7 PM that day.
    let midnight = showtime_at(c, &heat.id, &kendall.id, "1", boston(2, 0).1).await;
    let evening = showtime_at(c, &heat.id, &kendall.id, "1", boston(2, 19).1).await;
    let site = site(&stack).await;
    let b = browser();

    let (_, html) = page(&b, &format!("{site}/showtimes/{}", midnight.id), "").await;
    assert!(
        html.contains("at 12:00\u{a0}AM\u{a0}EST")
            && html.contains("Doors open at 11:00\u{a0}PM\u{a0}EST tomorrow</span>"),
        "{html}"
    );
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", evening.id), "").await;
    assert!(
        html.contains("Doors open at 6:00\u{a0}PM\u{a0}EST</span>"),
        "the showing's own day, said before: {html}"
    );
    stack.stop().await.expect("stop");
}

/// Once a showtime starts its tickets are neither sold nor refunded: its pages say so,
/// and a form from a page shown before the start is refused with the reason, changing
/// nothing.
#[tokio::test]
async fn a_started_showtime_is_neither_sold_nor_cancelled() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing {
        heat,
        kendall,
        show,
        site,
        b,
    } = showing(&stack).await;
    let placed = c
        .orders()
        .place_order(tickets(&show.product_id, 2))
        .await
        .expect("order");

    // A showtime about to start holds seats only until then, and its page says so.
    let soon = c
        .admin()
        .create_showtime(cinema_client::movies_pb::CreateShowtimeRequest {
            movie_id: heat.id.clone(),
            theatre_id: kendall.id.clone(),
            room: "1".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp() + 300,
                nanos: 0,
            }),
            price_cents: 1250,
            request_id: String::new(),
        })
        .await
        .expect("a showtime in five minutes");
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", soon.id), "").await;
    assert!(html.contains("until the showtime starts"), "{html}");
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", show.id), "").await;
    assert!(html.contains("held for 10 minutes"), "{html}");
    let start = show.start_time.as_ref().expect("start").seconds;
    let doors = chrono::DateTime::from_timestamp(start - 3600, 0)
        .expect("instant")
        .with_timezone(&chrono_tz::America::New_York);
    assert!(
        html.contains(&format!(
            "Doors open at {}",
            doors.format("%-I:%M\u{a0}%p\u{a0}%Z")
        )),
        "{html}"
    );
    let hold = someone_holds(c, &soon.product_id, 1).await;
    let expires = hold.expires_at.expect("expiry").seconds;
    assert!(
        expires <= chrono::Utc::now().timestamp() + 300,
        "no hold outlasts the sales"
    );

    // Before the start: the order page says where to go, and offers to cancel.
    let order_url = format!("{site}/orders/{}", placed.confirmation);
    let response = b
        .get(format!("{order_url}/cancel"))
        .send()
        .await
        .expect("page");
    let token = csrf(&response);
    let cookie = format!("csrf={token}");
    let html = response.text().await.expect("html");
    assert!(html.contains("Yes, cancel my order"), "{html}");
    assert!(
        html.contains(&format!(
            r#"<a href="/theatres/{}">Kendall</a>, auditorium&nbsp;2"#,
            kendall.id
        )) && html.contains("1 Main St, Somewhere, MA 02139")
            && html.contains(&format!(r#"<a href="/movies/{}">Heat</a>"#, heat.id)),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<a href="https://www.google.com/maps/dir/?api=1&#38;destination=1+Main+St%2C+Somewhere%2C+MA+02139" rel="noopener">Directions</a>"#
        ),
        "directions to the theatre: {html}"
    );

    stack.showtime_starts(&show).await;

    let refused = b
        .post(format!("{order_url}/cancel"))
        .form(&[("csrf", token.as_str())])
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("cancel");
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.expect("html");
    assert!(html.contains("can no longer be cancelled"), "{html}");
    assert!(!html.contains("Yes, cancel my order"), "{html}");
    // The doors are open: the code is shown without a time to wait for.
    let (_, html) = page(&b, &order_url, "").await;
    assert!(
        html.contains("Show this code at the box office.</p>"),
        "{html}"
    );
    let order = c
        .orders()
        .get_order(&placed.confirmation)
        .await
        .expect("order");
    assert_eq!(
        order.status(),
        cinema_client::orders_pb::OrderStatus::Placed
    );
    let (_, html) = page(&b, &order_url, "").await;
    assert!(
        html.contains("can no longer be cancelled") && !html.contains("Cancel order"),
        "{html}"
    );

    let late = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = late.text().await.expect("html");
    assert!(html.contains("This showtime has started."), "{html}");
    assert_eq!(seats(c, &show.product_id).await, (38, 0), "nothing held");

    // A day later the movie is long over and nobody came: the code is not offered for
    // a door that would turn it away.
    stack.showtime_started(&show, 24 * 60).await;
    let (_, html) = page(&b, &order_url, "").await;
    assert!(
        html.contains("This showtime is over: these tickets can no longer be used."),
        "{html}"
    );
    assert!(
        !html.contains("Show this code") && !html.contains(r#"class="qr""#),
        "{html}"
    );
    stack.stop().await.expect("stop");
}

/// The `value` of the form field `name` in a page.
fn field(html: &str, name: &str) -> String {
    let tag = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&tag)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + tag.len();
    html[start..].split('"').next().expect("value").to_owned()
}

/// The `<input>` tag whose `id` is `id`.
fn input_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no input {id} in {html}"));
    let start = html[..at].rfind("<input").expect("<input");
    let end = at + html[at..].find('>').expect(">");
    &html[start..=end]
}

/// A payment refused for one field says so in the form's words (never the request's:
/// `line_1`, `card brand`, `zip_code`) and marks that field for assistive technology,
/// whether the website or the orders service found it; nothing is charged and the
/// seats stay held.
#[tokio::test]
async fn a_payment_refused_for_a_field_names_it_as_the_form_does_and_marks_it() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    let checkout = format!(
        "{site}{}",
        held.headers()[LOCATION].to_str().expect("location")
    );

    // (the field typed differently from a good card's form, the input marked, what the
    // page says)
    let cases = [
        (("card_number", ""), "card_number", "Enter the card number."),
        (
            ("card_number", "6011 1111 1111 1117"),
            "card_number",
            "We take Visa, Mastercard and American Express",
        ),
        (
            ("card_number", "4111 1111 1111 1112"),
            "card_number",
            "Check the card number for a typo.",
        ),
        (
            ("card_year", "2020"),
            "card_month",
            "expiry date: the card expired in 12/2020.",
        ),
        (("card_cvc", ""), "card_cvc", "the 3 digits on its back"),
        (
            ("line_1", ""),
            "line_1",
            "Enter the billing street address.",
        ),
        (("state", "XX"), "state", "state as two letters, like MA."),
        (
            ("zip", "99999"),
            "billing_zip",
            "Check the billing ZIP code: 99999 is not a US ZIP code.",
        ),
    ];
    for ((name, typed), input, says) in cases {
        let form: Vec<_> = card_payment(&token, "4111 1111 1111 1111")
            .into_iter()
            .map(|(field, value)| (field, if field == name { typed } else { value }))
            .collect();
        let refused = b
            .post(&checkout)
            .form(&form)
            .header(COOKIE, cookie.as_str())
            .send()
            .await
            .expect("pay");
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let html = refused.text().await.expect("html");
        let error = &html[html.find(r#"id="checkout-error">"#).expect("the error")..];
        let error = &error[..error.find("</p>").expect("</p>")];
        assert!(error.contains(says), "{name}={typed:?}: {error}");
        for request_words in ["line_1", "card brand", "zip_code", "VISA", "details:"] {
            assert!(
                !error.contains(request_words),
                "{name}={typed:?} said {request_words:?}: {error}"
            );
        }
        let tag = input_tag(&html, input);
        assert!(
            tag.contains(r#"aria-invalid="true""#) && tag.contains("checkout-error"),
            "{name}={typed:?}: {tag}"
        );
        if input == "card_cvc" {
            assert!(
                tag.contains(r#"aria-describedby="checkout-error card_cvc_hint""#),
                "{tag}"
            );
        }
        assert_eq!(
            html.matches("aria-invalid").count(),
            1,
            "only {input} is marked: {html}"
        );
        assert_eq!(
            seats(c, &show.product_id).await,
            (38, 2),
            "{name}: still held"
        );
    }
}

/// The checkout's other two ways to pay, PayPal and a promotion code, reach the
/// orders service, and their fields are named and marked when refused.
#[tokio::test]
async fn a_moviegoer_pays_with_a_promotion_code_or_paypal() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    c.orders()
        .create_promotion("FILM-CLUB", 1, "members")
        .await
        .expect("promotion");
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let checkout = |tickets: &'static str| {
        let (b, site, show, token, cookie) = (
            b.clone(),
            site.clone(),
            show.id.clone(),
            token.clone(),
            cookie.clone(),
        );
        async move {
            let held = hold_seats(&b, &site, &show, (&token, &cookie), tickets).await;
            assert_eq!(held.status(), StatusCode::SEE_OTHER);
            format!(
                "{site}{}",
                held.headers()[LOCATION].to_str().expect("location")
            )
        }
    };
    let pay = |url: String, fields: Vec<(&'static str, &'static str)>| {
        let (b, token, cookie) = (b.clone(), token.clone(), cookie.clone());
        async move {
            let mut form = vec![("csrf", token.as_str())];
            form.extend(fields);
            b.post(url)
                .form(&form)
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("pay")
        }
    };

    let by_code = checkout("2").await;
    for (fields, input, says) in [
        (
            vec![("method", "promotion"), ("promo", "NOPE-CODE")],
            "promo",
            "That promotion code does not exist.",
        ),
        (
            vec![("method", "paypal"), ("email", "not an address")],
            "email",
            "Enter the email address of your PayPal account.",
        ),
    ] {
        let refused = pay(by_code.clone(), fields).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.expect("html");
        assert!(html.contains(says), "{html}");
        assert!(
            input_tag(&html, input).contains(r#"aria-invalid="true""#),
            "{html}"
        );
        assert_eq!(seats(c, &show.product_id).await, (38, 2), "still held");
    }
    // The order page a payment made leads to.
    let order_of = |paid: reqwest::Response| {
        let (b, site, cookie) = (b.clone(), site.clone(), cookie.clone());
        async move {
            assert_eq!(paid.status(), StatusCode::SEE_OTHER);
            let order_url = paid.headers()[LOCATION].to_str().expect("location");
            page(&b, &format!("{site}{order_url}"), &cookie).await.1
        }
    };
    let paid = pay(
        by_code,
        vec![("method", "promotion"), ("promo", "film-club")],
    )
    .await;
    let order = order_of(paid).await;
    assert!(
        order.contains("paid by Promotion code FILM-CLUB"),
        "{order}"
    );

    // Its one use is taken: the next checkout is told so, and can pay by PayPal.
    let by_paypal = checkout("1").await;
    let used_up = pay(
        by_paypal.clone(),
        vec![("method", "promotion"), ("promo", "FILM-CLUB")],
    )
    .await;
    assert_eq!(used_up.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = used_up.text().await.expect("html");
    assert!(html.contains("has no uses left"), "{html}");
    assert!(input_tag(&html, "promo").contains(r#"aria-invalid="true""#));
    let paid = pay(
        by_paypal,
        vec![("method", "paypal"), ("email", "fan@example.com")],
    )
    .await;
    let order = order_of(paid).await;
    assert!(
        order.contains("paid by PayPal (fan@example.com)"),
        "{order}"
    );
    assert_eq!(seats(c, &show.product_id).await, (37, 0), "three sold");
}

/// A customer who clicks "Pay" twice while the processor thinks (or pays again from a
/// second tab, or comes back to the checkout) is charged once, and every one of those
/// pages takes them to their order rather than to an error about their own seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paying_twice_charges_once_and_every_click_lands_on_the_order() {
    let stack = Stack::start_with_payment_latency(std::time::Duration::from_millis(300))
        .await
        .expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;

    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    let checkout = format!("{site}{}", held.headers()[LOCATION].to_str().expect("to"));
    let (_, first_tab) = page(&b, &checkout, &cookie).await;
    let (_, second_tab) = page(&b, &checkout, &cookie).await;
    let (attempt, other) = (
        field(&first_tab, "request_id"),
        field(&second_tab, "request_id"),
    );
    assert_ne!(attempt, other, "each rendering is its own attempt");

    let pay_with = |request_id: String, card: &'static str| {
        let (b, url, token, cookie) = (b.clone(), checkout.clone(), token.clone(), cookie.clone());
        async move {
            let mut form = card_payment(&token, card);
            form.push(("request_id", &request_id));
            let response = b
                .post(url)
                .form(&form)
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("pay");
            let status = response.status();
            let to = response
                .headers()
                .get(LOCATION)
                .map(|to| to.to_str().expect("to").to_owned());
            (status, to, response.text().await.expect("body"))
        }
    };
    let pay = |request_id: String| pay_with(request_id, "4111 1111 1111 1111");
    // The second tab first: declined.
    let (status, _, body) = pay_with(other.clone(), "4000 0000 0000 0002").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("declined"), "{body}");

    // Two clicks on one form, the second while the first is being authorized.
    let (one, two) = tokio::join!(pay(attempt.clone()), pay(attempt.clone()));
    assert_eq!(one.0, StatusCode::SEE_OTHER, "{}", one.2);
    assert_eq!(two.0, StatusCode::SEE_OTHER, "{}", two.2);
    let order = one.1.expect("to the order");
    assert!(order.starts_with("/orders/"), "{order}");
    assert_eq!(two.1.as_deref(), Some(order.as_str()), "the same order");

    // The second tab's form, with another card after its decline (its request id is
    // spent on the declined card), and the checkout itself, now lead to it too.
    let (status, to, body) = pay(other).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(to.as_deref(), Some(order.as_str()));
    let back = b.get(&checkout).send().await.expect("back");
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(back.headers()[LOCATION], order.as_str());

    assert_eq!(seats(c, &show.product_id).await, (38, 0), "two seats sold");
    let (orders, authorized): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders),
                (SELECT count(*) FROM payment_authorizations WHERE status = 'captured')",
    )
    .fetch_one(stack.orders.pool())
    .await
    .expect("counts");
    assert_eq!((orders, authorized), (1, 1), "one order, one charge");
    let refused_attempts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment_authorizations
         WHERE status NOT IN ('captured', 'voided', 'declined')",
    )
    .fetch_one(stack.orders.pool())
    .await
    .expect("left open");
    assert_eq!(refused_attempts, 0, "no authorization left standing");

    // A declined card, then Back to the form as it was, and another card: its request
    // id is spent on the declined card, and the payment goes through under a new one.
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "1").await;
    let checkout = format!("{site}{}", held.headers()[LOCATION].to_str().expect("to"));
    let (_, form) = page(&b, &checkout, &cookie).await;
    let attempt = field(&form, "request_id");
    let pay_with = |card: &'static str| {
        let (b, url, token, cookie, id) = (
            b.clone(),
            checkout.clone(),
            token.clone(),
            cookie.clone(),
            attempt.clone(),
        );
        async move {
            let mut form = card_payment(&token, card);
            form.push(("request_id", &id));
            b.post(url)
                .form(&form)
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("pay")
                .status()
        }
    };
    assert_eq!(
        pay_with("4000 0000 0000 0002").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(pay_with("5555 5555 5555 4444").await, StatusCode::SEE_OTHER);
    assert_eq!(
        seats(c, &show.product_id).await,
        (37, 0),
        "three seats sold"
    );
}

/// Two clicks on "Hold seats" hold once. The same form sent again later, from a page
/// the Back button restored, is a new hold: with other values, or once the first has
/// ended, it must not send the customer back to a checkout that is over.
#[tokio::test]
async fn holding_twice_holds_once_and_a_form_restored_by_back_holds_anew() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;

    let (token, cookie, html) = showtime_page(&b, &site, &show.id).await;
    let attempt = field(&html, "request_id");
    let hold = |tickets: &'static str| {
        let (b, url, token, cookie, id) = (
            b.clone(),
            format!("{site}/showtimes/{}/hold", show.id),
            token.clone(),
            cookie.clone(),
            attempt.clone(),
        );
        async move {
            let response = b
                .post(url)
                .form(&[
                    ("csrf", token.as_str()),
                    ("tickets", tickets),
                    ("request_id", &id),
                ])
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("hold");
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            response.headers()[LOCATION]
                .to_str()
                .expect("to")
                .to_owned()
        }
    };
    let (one, two) = tokio::join!(hold("2"), hold("2"));
    assert_eq!(one, two, "one checkout");
    assert_eq!(
        seats(c, &show.product_id).await,
        (38, 2),
        "two seats held, not four"
    );

    // Back, three tickets this time: a second hold, under a new request id.
    let three = hold("3").await;
    assert_ne!(three, one);
    assert_eq!(seats(c, &show.product_id).await, (35, 5));

    // The first checkout is abandoned; the page it came from, sent again, holds anew.
    let first = one.trim_start_matches("/checkout/");
    c.orders().release_hold(first).await.expect("released");
    let again = hold("2").await;
    assert!(again != one && again != three, "{again}");
    let (status, html) = page(&b, &format!("{site}{again}"), &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("held until"), "{html}");
    assert_eq!(seats(c, &show.product_id).await, (35, 5));
}

/// A customer who changes their mind at the checkout gives the seats back at once,
/// instead of keeping them from everyone else until the hold runs out; a hold already
/// paid for stays paid for.
#[tokio::test]
async fn a_customer_who_changes_their_mind_gives_the_seats_back_at_once() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let checkout = |held: reqwest::Response| {
        format!("{site}{}", held.headers()[LOCATION].to_str().expect("to"))
    };
    let release = |url: String, token: String| {
        let (b, cookie) = (b.clone(), cookie.clone());
        async move {
            b.post(format!("{url}/release"))
                .form(&[("csrf", token)])
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("release")
        }
    };

    let held = checkout(hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await);
    let (_, html) = page(&b, &held, &cookie).await;
    assert!(html.contains("Give these seats back"), "{html}");
    assert_eq!(seats(c, &show.product_id).await, (38, 2));

    let forged = release(held.clone(), "forged".into()).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(seats(c, &show.product_id).await, (38, 2), "still held");

    let released = release(held.clone(), token.clone()).await;
    assert_eq!(released.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        released.headers()[LOCATION],
        format!("/showtimes/{}", show.id).as_str(),
        "back to the showtime"
    );
    assert_eq!(
        seats(c, &show.product_id).await,
        (40, 0),
        "on sale again now"
    );
    let (_, html) = page(&b, &held, &cookie).await;
    assert!(html.contains("no longer held"), "{html}");

    // Paid for, then "give back" from a stale page: the order stands.
    let paid = checkout(hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await);
    let order = b
        .post(&paid)
        .form(&card_payment(&token, "4111 1111 1111 1111"))
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("pay");
    let order = order.headers()[LOCATION].to_str().expect("to").to_owned();
    let kept = release(paid, token.clone()).await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert_eq!(kept.headers()[LOCATION], order.as_str());
    assert_eq!(seats(c, &show.product_id).await, (38, 0), "sold stays sold");
}

/// Back from the checkout to the showtime page, the customer sees the seats they hold
/// and the way back to paying; holding another number gives the first seats back
/// instead of keeping them from everyone until they run out.
#[tokio::test]
async fn the_showtime_page_remembers_the_seats_this_browser_holds() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    let (token, csrf_cookie, html) = showtime_page(&b, &site, &show.id).await;
    assert!(!html.contains("You are holding"), "{html}");

    let held = hold_seats(&b, &site, &show.id, (&token, &csrf_cookie), "2").await;
    let first = held.headers()[LOCATION].to_str().expect("to").to_owned();
    let hold = cookie_set(&held, "hold").expect("the hold is remembered");
    let cookie = format!("{csrf_cookie}; hold={hold}");
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", show.id), &cookie).await;
    assert!(
        html.contains("You are holding 2 seats for this showtime")
            && html.contains(&format!(r#"href="{first}">Continue to checkout"#)),
        "{html}"
    );
    let (_, elsewhere) = page(&b, &format!("{site}/showtimes/{}", show.id), &csrf_cookie).await;
    assert!(!elsewhere.contains("You are holding"), "another browser");

    // Three tickets instead: a new hold, and the two seats held before are back.
    let again = hold_seats(&b, &site, &show.id, (&token, &cookie), "3").await;
    let second = again.headers()[LOCATION].to_str().expect("to").to_owned();
    assert_ne!(second, first);
    assert_eq!(seats(c, &show.product_id).await, (37, 3), "not (35, 5)");
    let (_, old) = page(&b, &format!("{site}{first}"), &cookie).await;
    assert!(old.contains("no longer held"), "{old}");

    // Paid for: forgotten.
    let hold = cookie_set(&again, "hold").expect("the new hold is remembered");
    let cookie = format!("{csrf_cookie}; hold={hold}");
    let paid = b
        .post(format!("{site}{second}"))
        .form(&card_payment(&token, "4111 1111 1111 1111"))
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(cookie_set(&paid, "hold").as_deref(), Some(""), "cleared");
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", show.id), &cookie).await;
    assert!(
        !html.contains("You are holding"),
        "a paid hold is not held: {html}"
    );
}

#[tokio::test]
async fn a_client_that_holds_or_pays_too_often_is_told_to_wait_and_nothing_changes() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let kendall = theatre(c, "Kendall", "02139", 40).await;
    let show = showtime(c, &heat.id, &kendall.id, "2", 4).await;
    // Two attempts each, none back within the test; behind one proxy, as with an
    // ingress controller, which appends the address it was reached from.
    let site = site_with_limits(
        &stack,
        cinema_web::LimitSettings {
            attempts_burst: 2,
            attempts_refill_seconds: 3600,
            proxy_hops: 1,
        },
    )
    .await;
    let b = browser();
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let hold_from = |client: &'static str, tickets: &'static str| {
        b.post(format!("{site}/showtimes/{}/hold", show.id))
            .form(&[("csrf", token.as_str()), ("tickets", tickets)])
            .header(COOKIE, cookie.as_str())
            .header("x-forwarded-for", client)
            .send()
    };

    // One client holds twice (a script keeping no cookies: two holds)...
    for tickets in ["1", "2"] {
        let held = hold_from("203.0.113.1", tickets).await.expect("hold");
        assert_eq!(held.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(seats(c, &show.product_id).await, (37, 3));
    // ...and the third time is told to wait, with the form, holding nothing more. An
    // address written in front of the proxy's own is not believed.
    for client in ["203.0.113.1", "198.51.100.7, 203.0.113.1"] {
        let refused = hold_from(client, "3").await.expect("hold");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{client}");
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((3500..=3600).contains(&wait), "{wait}");
        let html = refused.text().await.expect("html");
        assert!(
            html.contains(
                "Too many attempts from your connection in a short time. No seats were held."
            ) && html.contains("Hold seats"),
            "{html}"
        );
    }
    assert_eq!(
        seats(c, &show.product_id).await,
        (37, 3),
        "nothing more held"
    );

    // Another client is not held back by the first: it holds, is declined once, and
    // the next attempt to pay is over its limit: nothing is charged, the seats stay
    // held, and what was typed is kept.
    let held = hold_from("203.0.113.2", "4").await.expect("hold");
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    let checkout = format!("{site}{}", held.headers()[LOCATION].to_str().expect("url"));
    assert_eq!(seats(c, &show.product_id).await, (33, 7));
    let pay = |card: &'static str| {
        b.post(&checkout)
            .form(&card_payment(&token, card))
            .header(COOKIE, cookie.as_str())
            .header("x-forwarded-for", "203.0.113.2")
            .send()
    };
    let declined = pay("4000 0000 0000 0002").await.expect("pay");
    assert_eq!(declined.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = pay("4111 1111 1111 1111").await.expect("pay");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("Nothing was charged, and your seats stay held.")
            && html.contains("value=\"Cambridge\"")
            && !html.contains("4111"),
        "{html}"
    );
    assert_eq!(
        seats(c, &show.product_id).await,
        (33, 7),
        "still held, none sold"
    );
    stack.stop().await.expect("stop");
}

/// What a showtime's button says, from its link to the end of it.
fn slot_text(html: &str, showtime: &str) -> String {
    let start = html
        .find(&format!("href=\"/showtimes/{showtime}\""))
        .unwrap_or_else(|| panic!("showtime {showtime} listed: {html}"));
    let end = start + html[start..].find("</a>").expect("the button ends");
    html[start..end].to_owned()
}

#[tokio::test]
async fn showtime_buttons_say_when_few_seats_are_left() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    // Auditorium 2 has 8 seats, auditorium 1 has 200.
    let kendall = theatre(c, "Kendall", "02139", 8).await;
    // On one day, which the movie and theatre pages list together.
    let small = showtime_at(c, &heat.id, &kendall.id, "2", boston(1, 19).1).await;
    let large = showtime_at(c, &heat.id, &kendall.id, "1", boston(1, 20).1).await;
    let site = site(&stack).await;
    let b = browser();
    let movie_page = format!("{site}/movies/{}?zip=02139", heat.id);

    let (_, html) = page(&b, &movie_page, "").await;
    assert!(
        slot_text(&html, &small.id).contains("8 seats left"),
        "{html}"
    );
    assert!(!slot_text(&html, &large.id).contains("left"), "{html}");

    // Five held by someone else: three left, on every page that lists it.
    someone_holds(c, &small.product_id, 5).await;
    let (_, html) = page(&b, &movie_page, "").await;
    assert!(slot_text(&html, &small.id).contains("3 seats left"));
    let (_, html) = page(&b, &format!("{site}/theatres/{}", kendall.id), "").await;
    assert!(slot_text(&html, &small.id).contains("3 seats left"));
    assert!(!slot_text(&html, &large.id).contains("left"));
    // The larger showing's page lists the smaller one among its other times.
    let (_, html) = page(&b, &format!("{site}/showtimes/{}", large.id), "").await;
    assert!(slot_text(&html, &small.id).contains("3 seats left"));

    // A site that keeps counts for a minute shows the count it was first told within
    // it, rather than asking the orders service on every page view.
    let keeping = site_keeping_seats_for(&stack, 60_000).await;
    let keeping_page = format!("{keeping}/movies/{}?zip=02139", heat.id);
    let (_, html) = page(&b, &keeping_page, "").await;
    assert!(slot_text(&html, &small.id).contains("3 seats left"));
    someone_holds(c, &small.product_id, 1).await;
    let (_, html) = page(&b, &keeping_page, "").await;
    assert!(slot_text(&html, &small.id).contains("3 seats left"), "kept");
    let (_, html) = page(&b, &movie_page, "").await;
    assert!(
        slot_text(&html, &small.id).contains("2 seats left"),
        "asked afresh"
    );

    // With the orders service down, the showtimes are still listed, without seats.
    let blind = site_without_orders(&stack).await;
    let (status, html) = page(&b, &format!("{blind}/movies/{}?zip=02139", heat.id), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"/showtimes/{}\"", large.id))
            && !slot_text(&html, &small.id).contains("left"),
        "{html}"
    );

    // The last two seats go: the listings leave the showing out, and the movie's and
    // the theatre's pages keep it among the day's times, sold out.
    someone_holds(c, &small.product_id, 2).await;
    eventually("sold out", std::time::Duration::from_secs(15), || async {
        let shown = c.movies().get_showtime(&small.id).await.expect("showtime");
        shown.sold_out.then_some(())
    })
    .await;
    let listing = c.showtimes_at_theatre(&kendall.id).await.expect("listing");
    assert!(
        listing
            .iter()
            .flat_map(|g| &g.showtimes)
            .all(|s| s.id != small.id),
        "the listing leaves it out"
    );
    let (_, html) = page(&b, &movie_page, "").await;
    assert!(slot_text(&html, &small.id).contains("Sold out"), "{html}");
    assert!(html.contains(&format!(
        r#"class="slot sold-out" href="/showtimes/{}""#,
        small.id
    )));
    let (_, html) = page(&b, &format!("{site}/theatres/{}", kendall.id), "").await;
    assert!(slot_text(&html, &small.id).contains("Sold out"), "{html}");
    // And its event says so to search engines, beside the other one's offer.
    assert!(
        html.contains("schema.org/SoldOut") && html.contains("schema.org/InStock"),
        "{html}"
    );
    assert!(html.contains(&format!(
        r#"class="slot sold-out" href="/showtimes/{}""#,
        small.id
    )));
    assert!(!slot_text(&html, &large.id).contains("left"));
    assert!(html.contains(&format!(r#"class="slot" href="/showtimes/{}""#, large.id)));
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn the_home_page_leads_back_to_the_tickets_this_browser_bought() {
    let stack = Stack::start().await.expect("stack");
    let Showing { show, site, b, .. } = showing(&stack).await;
    let home = format!("{site}/");
    let (_, html) = page(&b, &home, "").await;
    assert!(!html.contains("Your tickets"), "a new visitor has none");

    // Bought, then shown: the order page has the browser remember it.
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    let checkout = held.headers()[LOCATION].to_str().expect("url").to_owned();
    let paid = b
        .post(format!("{site}{checkout}"))
        .form(&card_payment(&token, "4111 1111 1111 1111"))
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("pay");
    let order_url = paid.headers()[LOCATION].to_str().expect("url").to_owned();
    let code = order_url.trim_start_matches("/orders/").to_owned();
    let shown = b
        .get(format!("{site}{order_url}"))
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("order");
    assert_eq!(cookie_set(&shown, "orders").as_deref(), Some(code.as_str()));

    // The home page leads back to it, with what it is for; a code that is no order
    // (a stale or altered cookie) is shown as nothing and forgotten.
    let remembering = format!("{cookie}; orders=ZZZZZZZZZZ.{code}");
    let response = b
        .get(&home)
        .header(COOKIE, remembering.as_str())
        .send()
        .await
        .expect("home");
    assert_eq!(
        cookie_set(&response, "orders").as_deref(),
        Some(code.as_str())
    );
    let html = response.text().await.expect("html");
    assert!(
        html.contains("Your tickets")
            && html.contains(&format!(
                r#"<a href="/orders/{code}"><strong>Heat</strong></a> at Kendall"#
            ))
            && html.contains("· 2\u{a0}tickets ·")
            && html.contains("Forget them on this browser"),
        "{html}"
    );

    // With the orders service down, the home page is shown without the list, and the
    // browser keeps the code for the next visit.
    let blind = site_without_orders(&stack).await;
    let response = b
        .get(format!("{blind}/"))
        .header(COOKIE, format!("{cookie}; orders={code}"))
        .send()
        .await
        .expect("home");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(cookie_set(&response, "orders"), None, "kept as it was");
    assert!(
        !response
            .text()
            .await
            .expect("html")
            .contains("Your tickets")
    );

    // On a shared computer, the list can be forgotten (the order stands); a forged
    // form forgets nothing.
    let forget = |token: &str| {
        b.post(format!("{site}/orders/forget"))
            .form(&[("csrf", token)])
            .header(COOKIE, format!("{cookie}; orders={code}"))
            .send()
    };
    let forged = forget("forged").await.expect("forget");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(cookie_set(&forged, "orders"), None);
    let forgotten = forget(&token).await.expect("forget");
    assert_eq!(forgotten.status(), StatusCode::SEE_OTHER);
    assert_eq!(cookie_set(&forgotten, "orders").as_deref(), Some(""));
    let (status, _) = page(&b, &format!("{site}{order_url}"), &cookie).await;
    assert_eq!(status, StatusCode::OK, "the order stands");

    // Started a few minutes ago, it is still listed: the code is wanted at the door
    // until the movie is over.
    let moved = |minutes: i64| {
        sqlx::query(
            "UPDATE showtimes SET start_time = now() + make_interval(mins => $2) WHERE id = $1",
        )
        .bind(show.id.parse::<i64>().expect("a numeric id"))
        .bind(i32::try_from(minutes).expect("minutes"))
        .execute(stack.movies.pool())
    };
    moved(-10).await.expect("started ten minutes ago");
    let (_, html) = page(&b, &home, &format!("{cookie}; orders={code}")).await;
    assert!(html.contains("Your tickets"), "{html}");
    // Once the movie is over (2 h 50 min), it is not.
    moved(-171).await.expect("over");
    let (_, html) = page(&b, &home, &format!("{cookie}; orders={code}")).await;
    assert!(!html.contains("Your tickets"), "{html}");
    moved(240).await.expect("back in four hours");

    // Cancelled, it is gone from the home page and from the cookie.
    let cancelled = b
        .post(format!("{site}{order_url}/cancel"))
        .form(&[("csrf", token.as_str())])
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let response = b
        .get(&home)
        .header(COOKIE, format!("{cookie}; orders={code}"))
        .send()
        .await
        .expect("home");
    assert_eq!(cookie_set(&response, "orders").as_deref(), Some(""));
    assert!(
        !response
            .text()
            .await
            .expect("html")
            .contains("Your tickets")
    );
    stack.stop().await.expect("stop");
}

/// A day at a theatre sold out to its last seat is still a day with showings: its
/// page shows them, marked sold out, rather than saying nothing is on and jumping to
/// the next day with seats.
#[tokio::test]
async fn a_theatre_s_day_sold_out_to_the_last_seat_is_still_shown() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let kendall = theatre(c, "Kendall", "02139", 8).await;
    let (full_day, full_start) = boston(1, 19);
    let full = showtime_at(c, &heat.id, &kendall.id, "2", full_start).await;
    let (later_day, later_start) = boston(3, 19);
    let later = showtime_at(c, &heat.id, &kendall.id, "1", later_start).await;
    // Within the hour, today (unless the test runs in Boston's last hour of the day).
    let soon = showtime(c, &heat.id, &kendall.id, "2", 1).await;
    // Just past the listings' reach (they look 14 days ahead): not a day to choose,
    // as a day with seats that far would not be.
    let beyond = chrono::Utc::now() + chrono::Duration::days(14) + chrono::Duration::hours(2);
    let far_day = beyond
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let far_start = prost_types::Timestamp {
        seconds: beyond.timestamp(),
        nanos: 0,
    };
    let far = showtime_at(c, &heat.id, &kendall.id, "2", far_start).await;
    // A premiere whose one showing near is sold out.
    let premiere = movie(c, "Alien", 117).await;
    let (premiere_day, premiere_start) = boston(2, 21);
    let premiere_show = showtime_at(c, &premiere.id, &kendall.id, "2", premiere_start).await;
    for show in [&full, &soon, &far, &premiere_show] {
        someone_holds(c, &show.product_id, 8).await;
        eventually("sold out", std::time::Duration::from_secs(15), || async {
            let shown = c.movies().get_showtime(&show.id).await.expect("showtime");
            shown.sold_out.then_some(())
        })
        .await;
    }
    let site = site(&stack).await;
    let b = browser();
    let board = format!("{site}/theatres/{}", kendall.id);

    let (_, html) = page(&b, &format!("{board}?day={full_day}"), "").await;
    assert!(slot_text(&html, &full.id).contains("Sold out"), "{html}");
    assert!(
        !html.contains(&format!("href=\"/showtimes/{}\"", later.id)),
        "one day at a time: {html}"
    );
    assert!(html.contains(&format!("?day={later_day}")), "{html}");
    // On any other day, and with no day asked, the day sold out is among those to
    // choose (the listing alone has only the later one).
    for url in [format!("{board}?day={later_day}"), board.clone()] {
        let (_, html) = page(&b, &url, "").await;
        assert!(html.contains(&format!("?day={full_day}")), "{url}: {html}");
        assert!(!html.contains(&format!("?day={far_day}")), "{url}: {html}");
    }

    // The premiere's page lists the theatre with its showing sold out, rather than
    // saying the movie is not playing near (its listing has nothing left of it).
    let (_, html) = page(&b, &format!("{site}/movies/{}?zip=02139", premiere.id), "").await;
    assert!(
        slot_text(&html, &premiere_show.id).contains("Sold out")
            && html.contains(&format!("day={premiere_day}\""))
            && !html.contains("not playing within"),
        "{html}"
    );

    // Far from it, the page says it is sold out, not that it is playing nowhere.
    let (_, html) = page(&b, &format!("{site}/movies/{}?zip=10001", premiere.id), "").await;
    assert!(
        html.contains("Every showing of Alien in the next two weeks is sold out.")
            && !html.contains("not playing anywhere")
            && !html.contains("Look farther"),
        "{html}"
    );

    // And the home page still names the premiere among what is on, near it and with
    // no ZIP code, said to be sold out (Heat, with seats later, is not); so does the
    // site map.
    let card = |html: &str, movie: &str| {
        html.split("<li class=\"card movie\">")
            .find(|card| card.contains(&format!("href=\"/movies/{movie}")))
            .map(|card| card.split("</li>").next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no card for movie {movie}: {html}"))
    };
    for (url, said) in [
        (
            format!("{site}/?zip=02139"),
            "Sold out within 15 miles of 02139",
        ),
        (format!("{site}/"), "Sold out"),
    ] {
        let (_, html) = page(&b, &url, "").await;
        assert!(card(&html, &premiere.id).contains(said), "{url}: {html}");
        assert!(!card(&html, &heat.id).contains("Sold out"), "{url}: {html}");
    }
    let (_, sitemap) = page(&b, &format!("{site}/sitemap.xml"), "").await;
    assert!(
        sitemap.contains(&format!("/movies/{}</loc>", premiere.id)),
        "{sitemap}"
    );

    // Asked for no day, the page shows today's, sold out as it is (when the one due
    // within the hour is still today on Boston's clock).
    let boston_date = |seconds: i64| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .expect("instant")
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive()
    };
    let soon_start = soon.start_time.as_ref().expect("start").seconds;
    if boston_date(soon_start) == boston_date(chrono::Utc::now().timestamp()) {
        let (_, html) = page(&b, &board, "").await;
        assert!(slot_text(&html, &soon.id).contains("Sold out"), "{html}");
    }
    stack.stop().await.expect("stop");
}

/// A showing the theatre calls off: its page says so and sells nothing, and its
/// buyers' order pages say who cancelled it and what is refunded.
#[tokio::test]
async fn a_showing_the_theatre_calls_off_says_so_to_its_buyers() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let Showing { show, site, b, .. } = showing(&stack).await;
    let placed = c
        .orders()
        .place_order(tickets(&show.product_id, 2))
        .await
        .expect("order");
    let showtime_url = format!("{site}/showtimes/{}", show.id);
    let (_, html) = page(&b, &showtime_url, "").await;
    assert!(html.contains("Hold seats"), "{html}");
    // Another moviegoer is on the checkout page when it is called off.
    let (token, cookie, _) = showtime_page(&b, &site, &show.id).await;
    let held = hold_seats(&b, &site, &show.id, (&token, &cookie), "2").await;
    let checkout = format!(
        "{site}{}",
        held.headers()[LOCATION].to_str().expect("location")
    );

    let cancelled = c
        .admin()
        .cancel_showtime(&show.id)
        .await
        .expect("called off");
    assert_eq!(cancelled.orders_cancelled, 1);

    let (status, html) = page(&b, &showtime_url, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("The theatre called this showing off: its tickets are no longer sold"),
        "{html}"
    );
    assert!(!html.contains("Hold seats"), "nothing to hold: {html}");
    // Paying now charges nothing, and says why the seats are gone: not that time ran
    // out.
    let paid = b
        .post(&checkout)
        .form(&card_payment(&token, "4111 1111 1111 1111"))
        .header(COOKIE, cookie.as_str())
        .send()
        .await
        .expect("pay")
        .text()
        .await
        .expect("html");
    assert!(
        paid.contains("The theatre called this showing off: its seats are no longer sold, and nothing was charged.")
            && !paid.contains("time ran out")
            && !paid.contains("Hold seats again"),
        "{paid}"
    );
    let (_, form) = page(&b, &checkout, &cookie).await;
    assert!(
        form.contains("nothing was charged") && !form.contains("held until"),
        "{form}"
    );
    // Search engines are told it is cancelled, with nothing on offer.
    assert!(
        html.contains(r#""eventStatus":"https://schema.org/EventCancelled""#)
            && !html.contains("schema.org/InStock"),
        "{html}"
    );
    let (_, html) = page(&b, &format!("{site}/orders/{}", placed.confirmation), "").await;
    assert!(
        html.contains(
            "The theatre called this showing off, and cancelled the order. $25.00 is \
             refunded to Visa ending\u{a0}in\u{a0}1111."
        ),
        "{html}"
    );
    assert!(!html.contains("its seats are back on sale"), "{html}");
    assert!(
        !html.contains("Cancel order"),
        "nothing left to cancel: {html}"
    );
    // A browser that bought it, with no phone to text, hears of it on the home page,
    // where "Your tickets" no longer shows a code to take to the door.
    let cookie = format!("orders={}", placed.confirmation);
    let (_, home) = page(&b, &format!("{site}/"), &cookie).await;
    let yours = home
        .split("Your tickets")
        .nth(1)
        .unwrap_or_else(|| panic!("Your tickets: {home}"));
    assert!(
        yours.contains("Called off by the theatre: refunded")
            && !yours.contains(&format!(r#"class="code">{}"#, placed.confirmation)),
        "{home}"
    );
    stack.stop().await.expect("stop");
}
