//! `cinema`, the command-line front-end, as a user runs it: its own process, against a
//! running stack (both services, in this process, texting through the SMS gateway
//! simulator). The stack gets a small catalogue through the admin API first.

use std::process::{Command, Output};
use std::time::Duration;

use cinema_client::movies_pb as movies;
use cinema_integration_tests::{Stack, eventually, hours_from_now, someone_holds};
use cinema_sms_sim::{SimSettings, Simulator};
use serde_json::Value;

const CINEMA: &str = env!("CARGO_BIN_EXE_cinema");

/// `cinema <args>` pointed at the stack and the simulator.
fn run(stack: &Stack, sms: &Simulator, args: &[&str]) -> Output {
    Command::new(CINEMA)
        .args(args)
        .env("CINEMA_MOVIES", stack.movies.url())
        .env("CINEMA_ORDERS", stack.orders.url())
        .env("CINEMA_SMS", format!("http://{}", sms.addr))
        // Only a token given here counts, not one the shell running the tests has.
        .env_remove("ORDERS_ADMIN_TOKEN")
        .env_remove("MOVIES_ADMIN_TOKEN")
        .output()
        .expect("cinema runs")
}

/// `cinema <args> --json`, which must succeed.
fn json(stack: &Stack, sms: &Simulator, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let output = run(stack, sms, &with_json);
    assert!(
        output.status.success(),
        "cinema {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// `cinema <command> <args>` as an operator: with the orders admin token.
fn as_operator(stack: &Stack, sms: &Simulator, command: &str, args: &[&str]) -> Output {
    let mut all = vec![command];
    all.extend(args);
    all.extend([
        "--orders-admin-token",
        cinema_integration_tests::ORDERS_ADMIN_TOKEN,
    ]);
    run(stack, sms, &all)
}

/// When a showtime at the catalogue's theatre (in Cambridge, MA) starts, on its clock.
fn local_start(showtime: &movies::Showtime) -> chrono::DateTime<chrono_tz::Tz> {
    let start = showtime.start_time.as_ref().expect("start time");
    chrono::DateTime::from_timestamp(start.seconds, 0)
        .expect("instant")
        .with_timezone(&chrono_tz::America::New_York)
}

/// Asserts that a command failed, saying `why` on standard error.
#[track_caller]
fn refused(output: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
}

async fn catalogue(stack: &Stack) -> movies::Showtime {
    let admin = stack.cinema.admin();
    let movie = admin
        .create_movie(movies::CreateMovieRequest {
            name: "Casablanca".into(),
            length_minutes: 102,
            rating: movies::Rating::Pg.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 1942,
        })
        .await
        .expect("movie");
    let theatre = admin
        .create_theatre(movies::CreateTheatreRequest {
            name: "Kendall Square Cinema".into(),
            phone: "+16175550100".into(),
            address: Some(movies::Address {
                line_1: "355 Binney St".into(),
                city: "Cambridge".into(),
                state: "MA".into(),
                zip_code: "02139".into(),
            }),
            auditoriums: vec![movies::Auditorium {
                room: "1".into(),
                seats: 50,
            }],
            ..Default::default()
        })
        .await
        .expect("theatre");
    admin
        .create_showtime(movies::CreateShowtimeRequest {
            movie_id: movie.id,
            theatre_id: theatre.id,
            room: "1".into(),
            start_time: Some(hours_from_now(30)),
            price_cents: 1250,
            request_id: String::new(),
        })
        .await
        .expect("showtime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_finds_a_movie_buys_tickets_and_cancels_them() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    let showtime = catalogue(&stack).await;

    // Nothing to list is said in words, not shown as an empty table: here, that no
    // theatre is within reach at all (as the website's home page says it).
    let far = run(&stack, &sms, &["movies", "--zip", "94103"]);
    assert_eq!(
        String::from_utf8_lossy(&far.stdout).trim(),
        "There is no theatre within 100 miles of 94103."
    );
    let none = run(&stack, &sms, &["texts"]);
    assert_eq!(
        String::from_utf8_lossy(&none.stdout).trim(),
        "No texts yet."
    );

    let on = json(&stack, &sms, &["movies", "--zip", "02139"]);
    assert_eq!(on[0]["name"], "Casablanca", "{on}");
    assert_eq!(on[0]["release_year"], 1942, "{on}");
    assert_eq!(on[0]["sold_out"], false, "{on}");
    let table = run(&stack, &sms, &["movies", "--zip", "02139"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.lines().any(|l| l.contains("YEAR"))
            && table
                .lines()
                .any(|l| l.contains("Casablanca") && l.contains("1942")),
        "{table}"
    );
    let near = json(&stack, &sms, &["showtimes", "--zip", "02139"]);
    assert_eq!(
        near[0]["theatre"]["name"], "Kendall Square Cinema",
        "{near}"
    );
    let slot = &near[0]["showtimes"][0];
    assert_eq!(slot["id"], showtime.id.as_str(), "{near}");
    assert_eq!(slot["time_zone"], "America/New_York", "{slot}");
    assert_eq!(slot["seats_left"], 50, "{slot}");

    // The theatres near a ZIP code, with where they are; none near is said in words,
    // and a ZIP code nobody knows is an error.
    let theatres = json(&stack, &sms, &["theatres", "--zip", "02139"]);
    assert_eq!(
        theatres[0]["id"],
        showtime.theatre_id.as_str(),
        "{theatres}"
    );
    assert_eq!(
        theatres[0]["address"], "355 Binney St, Cambridge, MA 02139",
        "{theatres}"
    );
    assert!(
        theatres[0]["distance_miles"]
            .as_f64()
            .is_some_and(|d| d < 0.1)
    );
    let table = run(&stack, &sms, &["theatres", "--zip", "02139"]);
    let text = String::from_utf8_lossy(&table.stdout);
    // With its rooms, by the names a showtime is scheduled in.
    assert!(
        text.contains("Kendall Square Cinema")
            && text.contains("+16175550100")
            && text.contains("1 (50 seats)"),
        "{text}"
    );
    assert_eq!(
        theatres[0]["auditoriums"],
        serde_json::json!([{ "room": "1", "seats": 50 }]),
        "{theatres}"
    );
    let far = run(&stack, &sms, &["theatres", "--zip", "94103"]);
    assert_eq!(
        String::from_utf8_lossy(&far.stdout).trim(),
        "No theatres within 15 miles of 94103."
    );
    refused(
        &run(&stack, &sms, &["theatres", "--zip", "99999"]),
        "ZIP code 99999 is not known",
    );
    // Without a ZIP code, every theatre, wherever it is, without distances.
    let everywhere = json(&stack, &sms, &["theatres"]);
    assert_eq!(everywhere[0]["id"], showtime.theatre_id.as_str());
    assert!(everywhere[0]["distance_miles"].is_null(), "{everywhere}");
    let table = run(&stack, &sms, &["theatres"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("Kendall Square Cinema") && !text.contains("MILES"),
        "{text}"
    );
    refused(&run(&stack, &sms, &["theatres", "--within", "50"]), "--zip");
    // A movie with nothing near says where it plays instead, or that it plays nowhere.
    let elsewhere = run(
        &stack,
        &sms,
        &["showtimes", "--zip", "94103", "--movie", &showtime.movie_id],
    );
    assert_eq!(
        String::from_utf8_lossy(&elsewhere.stdout).trim(),
        format!(
            "Casablanca (1942, PG, 102 min)\n\
             No showtimes within 15 miles of 94103 in the next two weeks.\n\
             Playing at Kendall Square Cinema (Cambridge, MA): \
             `cinema showtimes --movie {0}` lists them.",
            showtime.movie_id
        )
    );
    let unreleased = stack
        .cinema
        .admin()
        .create_movie(movies::CreateMovieRequest {
            name: "Unreleased".into(),
            length_minutes: 90,
            rating: movies::Rating::G.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await
        .expect("movie");
    for place in [&["--zip", "02139"][..], &[]] {
        let nowhere = run(
            &stack,
            &sms,
            &[&["showtimes", "--movie", &unreleased.id][..], place].concat(),
        );
        assert_eq!(
            String::from_utf8_lossy(&nowhere.stdout).trim(),
            "Unreleased (G, 90 min)\nUnreleased is not playing anywhere in the next two weeks.",
            "{place:?}"
        );
    }
    // How far to look, from Boston's 02115, 1.6 miles from the theatre; a distance
    // the service would refuse is refused naming the flag, before any call.
    for (args, says) in [
        (
            &["theatres", "--zip", "02115", "--within", "1"][..],
            "No theatres within 1 mile of 02115.",
        ),
        (
            &["movies", "--zip", "02115", "--within", "1.5"][..],
            "No movies are showing within 1.5 miles of 02115 in the next two weeks.\n\
             The nearest theatre is Kendall Square Cinema, 1.6 miles away: \
             `cinema movies --zip 02115 --within 2` looks that far.",
        ),
    ] {
        let close = run(&stack, &sms, args);
        assert_eq!(String::from_utf8_lossy(&close.stdout).trim(), says);
    }
    let reached = json(
        &stack,
        &sms,
        &[
            "showtimes",
            "--zip",
            "02115",
            "--within",
            "2",
            "--movie",
            &showtime.movie_id,
        ],
    );
    assert_eq!(
        reached[0]["showtimes"][0]["id"],
        showtime.id.as_str(),
        "{reached}"
    );
    for (args, why) in [
        (
            &["theatres", "--zip", "02139", "--within", "500"][..],
            "--within",
        ),
        (
            &["movies", "--zip", "02139", "--within", "far"][..],
            "from 0.5 to 100",
        ),
        (&["movies", "--within", "5"][..], "--zip"),
    ] {
        refused(&run(&stack, &sms, args), why);
    }

    // A theatre's listing says which theatre it is; one that does not exist is an
    // error, not an empty table.
    let listing = run(
        &stack,
        &sms,
        &["showtimes", "--theatre", &showtime.theatre_id],
    );
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.status.success(), "{text}");
    assert!(
        text.starts_with("Kendall Square Cinema, ") && text.contains("Casablanca"),
        "{text}"
    );
    refused(
        &run(&stack, &sms, &["showtimes", "--theatre", "999999"]),
        "theatre 999999 does not exist",
    );
    refused(
        &run(
            &stack,
            &sms,
            &["showtimes", "--zip", "02139", "--movie", "999999"],
        ),
        "movie 999999 does not exist",
    );

    // A reader that stops early (`cinema showtimes | head`): here the pipe is closed
    // before anything is written, so the first write fails for certain.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let piped = Command::new(CINEMA)
        .args(["showtimes", "--zip", "02139"])
        .env("CINEMA_MOVIES", stack.movies.url())
        .env("CINEMA_ORDERS", stack.orders.url())
        .stdout(writer)
        .output()
        .expect("cinema runs");
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(piped.status.success() && stderr.is_empty(), "{stderr}");

    let bought = json(
        &stack,
        &sms,
        &[
            "buy",
            "--showtime",
            &showtime.id,
            "--tickets",
            "2",
            "--card",
            "4111 1111 1111 1111",
            "--phone",
            "+14155550132",
        ],
    );
    let confirmation = bought["confirmation"].as_str().expect("confirmation");
    // Listings count the seats left, as the orders service does.
    let near = json(&stack, &sms, &["showtimes", "--zip", "02139"]);
    assert_eq!(near[0]["showtimes"][0]["seats_left"], 48, "{near}");
    let listing = run(
        &stack,
        &sms,
        &["showtimes", "--theatre", &showtime.theatre_id],
    );
    let text = String::from_utf8_lossy(&listing.stdout);
    let row = text
        .lines()
        .find(|l| l.contains(&format!(" {} ", showtime.id)))
        .unwrap_or_else(|| panic!("the showtime's row: {text}"));
    assert!(
        text.contains("SEATS") && row.trim_end_matches(['│', ' ']).ends_with(" 48"),
        "{text}"
    );
    let order = json(&stack, &sms, &["order", confirmation]);
    assert_eq!(order["status"], "placed", "{order}");
    assert_eq!(order["line_items"][0]["showtime_id"], showtime.id.as_str());
    assert_eq!(order["phone_last_four"], "0132", "{order}");
    // As text, the order says what was bought in a moviegoer's terms, and where its
    // texts go.
    let shown = run(&stack, &sms, &["order", confirmation]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Casablanca") && text.contains("Kendall Square Cinema"),
        "{text}"
    );
    assert!(
        text.contains("Texts go to the phone ending in 0132.")
            && text.contains("Paid by Visa ending in 1111.")
            && !text.contains("4111 1111"),
        "{text}"
    );
    // Which room, for the way in.
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.contains("Casablanca"))
        .expect("the order's row")
        .trim_matches(['│', ' '])
        .split("   ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect();
    assert_eq!(
        row[..4],
        [&showtime.id, "Casablanca", "Kendall Square Cinema", "1"],
        "{text}"
    );

    // The confirmation text, as the simulator delivered it.
    eventually("the confirmation text", Duration::from_secs(15), || async {
        let texts = json(&stack, &sms, &["texts"]);
        texts
            .as_array()?
            .iter()
            .any(|t| {
                // The code, and what it is for, on the theatre's clock.
                t["message"].as_str().is_some_and(|m| {
                    m.contains(confirmation)
                        && m.contains("2 tickets, $25.00: Casablanca at Kendall Square Cinema")
                        && (m.contains(" EST.") || m.contains(" EDT."))
                })
            })
            .then_some(())
    })
    .await;

    // Cancelling says what comes back: the seats, and the payment.
    let cancelled = run(&stack, &sms, &["cancel", confirmation]);
    let text = String::from_utf8_lossy(&cancelled.stdout);
    assert!(
        cancelled.status.success()
            && text.contains(&format!("Order {confirmation} (cancelled), total $25.00"))
            && text.contains(
                "Cancelled: its seats are back on sale. $25.00 is refunded to Visa ending in 1111."
            )
            && !text.contains("Paid by"),
        "{text}"
    );
    let cancelled = json(&stack, &sms, &["order", confirmation]);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["paid_with"], "Visa ending in 1111", "{cancelled}");

    // A declined card is said plainly, and nothing is bought.
    let declined = run(
        &stack,
        &sms,
        &[
            "buy",
            "--showtime",
            &showtime.id,
            "--card",
            "4000 0000 0000 0002",
        ],
    );
    assert!(!declined.status.success());
    let stderr = String::from_utf8_lossy(&declined.stderr);
    assert!(stderr.contains("declined"), "{stderr}");
    assert!(
        !stderr.contains("0002 ") && !stderr.contains("4000 0000"),
        "{stderr}"
    );
    // The card's security code goes to the processor, whose verdict is said, not the
    // code.
    let mismatched = run(
        &stack,
        &sms,
        &[
            "buy",
            "--showtime",
            &showtime.id,
            "--card",
            "4000 0000 0000 0101",
            "--security-code",
            "987",
        ],
    );
    assert!(!mismatched.status.success());
    let stderr = String::from_utf8_lossy(&mismatched.stderr);
    assert!(
        stderr.contains("security code does not match") && !stderr.contains("987"),
        "{stderr}"
    );

    // More tickets than are left is said in seats, with how many remain.
    let buy = |tickets: &str| {
        run(
            &stack,
            &sms,
            &[
                "buy",
                "--showtime",
                &showtime.id,
                "--tickets",
                tickets,
                "--card",
                "4111 1111 1111 1111",
            ],
        )
    };
    // As text, a purchase says what the buyer needs at the door: the code, the room and
    // the time on the theatre's clock, with when its doors open.
    let start = local_start(&showtime);
    // An hour before, named with its day when that is the day before (a showing just
    // after midnight).
    let doors = start - chrono::Duration::hours(1);
    let doors = match doors.date_naive() == start.date_naive() {
        true => doors.format("%H:%M %Z"),
        false => doors.format("%a %b %d %H:%M %Z"),
    };
    let bought = buy("10");
    let said = String::from_utf8_lossy(&bought.stdout);
    assert!(bought.status.success(), "{said}");
    assert!(
        said.starts_with("Confirmation ")
            && said.trim_end().ends_with(&format!(
                ": 10 tickets for Casablanca at Kendall Square Cinema, auditorium 1, {} \
                 (doors open {doors}); total $125.00.",
                start.format("%a %b %d %H:%M %Z"),
            )),
        "{said}"
    );
    for tickets in ["10", "10", "10", "7"] {
        assert!(buy(tickets).status.success());
    }
    refused(&buy("10"), "only 3 seats are left for this showtime");
    // The last three held by someone else: sold out for now, and they may come back.
    let held = someone_holds(&stack.cinema, &showtime.product_id, 3).await;
    let stderr = String::from_utf8_lossy(&buy("1").stderr).into_owned();
    assert!(
        stderr.contains("sold out for now: 3 held seats go back on sale"),
        "{stderr}"
    );
    stack
        .cinema
        .orders()
        .release_hold(&held.hold_id)
        .await
        .expect("released");
    let last = buy("3");
    assert!(last.status.success());
    let stderr = String::from_utf8_lossy(&buy("1").stderr).into_owned();
    assert!(
        stderr.contains("this showtime is sold out") && !stderr.contains("for now"),
        "{stderr}"
    );

    // Once the showtime starts, its tickets are neither sold nor refunded.
    stack.showtime_starts(&showtime).await;
    refused(&buy("1"), "this showtime has started");
    let stdout = String::from_utf8_lossy(&last.stdout);
    let code = stdout
        .strip_prefix("Confirmation ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("a confirmation: {stdout}"));
    refused(
        &run(&stack, &sms, &["cancel", code]),
        &format!("order {code} can no longer be cancelled"),
    );

    stack.stop().await.expect("stops");
    sms.stop().await;
}

/// More tickets than one purchase allows (as on the website) is refused as a usage
/// error naming the flag, before anything is asked of a service: the endpoints here
/// lead nowhere, so a call would fail differently.
#[test]
fn buying_more_tickets_than_one_purchase_allows_is_refused_up_front() {
    for tickets in ["0", "11"] {
        let output = Command::new(CINEMA)
            .args(["buy", "--showtime", "1", "--card", "4111 1111 1111 1111"])
            .args(["--tickets", tickets])
            .env("CINEMA_MOVIES", "http://127.0.0.1:9")
            .env("CINEMA_ORDERS", "http://127.0.0.1:9")
            .output()
            .expect("cinema runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("--tickets") && stderr.contains("1..=10"),
            "{stderr}"
        );
    }
}

/// With no stack where the endpoints point (a newcomer who has not started one), the
/// error says how to start one and how to point elsewhere, rather than only "retry".
#[test]
fn a_command_with_no_stack_to_talk_to_says_how_to_start_one() {
    let nowhere = "http://127.0.0.1:9";
    for (args, service) in [
        (&["movies", "--zip", "02139"][..], "CINEMA_MOVIES"),
        (&["order", "ABCDEFGH"][..], "CINEMA_ORDERS"),
    ] {
        let output = Command::new(CINEMA)
            .args(args)
            .env(service, nowhere)
            .output()
            .expect("cinema runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the connection failed")
                && stderr.contains("Is the stack running? `cargo run -p cinema-dev -- up --demo`")
                && stderr.contains(service),
            "{args:?}: {stderr}"
        );
    }
}

/// `--day` lists one day's showtimes, on the theatre's calendar, near a ZIP code or at
/// a theatre; a day with none says so in words, and one that is not a day is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showtimes_are_listed_for_the_day_asked_for() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    // 30 hours from now: never today, on the theatre's clock.
    let showtime = catalogue(&stack).await;
    let listed = json(&stack, &sms, &["showtimes", "--zip", "02139"]);
    let local = listed[0]["showtimes"][0]["local_start_time"]
        .as_str()
        .expect("local start");
    let date: chrono::NaiveDate = local[..10].parse().expect("its local date");
    let next = (date + chrono::Days::new(1)).to_string();
    let date = date.to_string();

    for place in [
        ["--zip", "02139"],
        ["--theatre", showtime.theatre_id.as_str()],
    ] {
        let on = json(
            &stack,
            &sms,
            &[&["showtimes"], &place[..], &["--day", &date]].concat(),
        );
        let ids: Vec<_> = on
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["showtimes"].as_array().expect("showtimes"))
            .map(|s| s["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [showtime.id.as_str()], "{place:?} on {date}");
        for (day, said) in [
            (
                next.as_str(),
                format!(
                    "on {}",
                    chrono::NaiveDate::parse_from_str(&next, "%Y-%m-%d")
                        .expect("date")
                        .format("%a %b %d")
                ),
            ),
            ("today", "today".to_owned()),
        ] {
            let none = run(
                &stack,
                &sms,
                &[&["showtimes"], &place[..], &["--day", day]].concat(),
            );
            let text = String::from_utf8_lossy(&none.stdout);
            assert!(none.status.success(), "{place:?} {day}");
            assert!(
                text.lines().last().is_some_and(
                    |l| l.starts_with("No showtimes") && l.ends_with(&format!(" {said}."))
                ),
                "{place:?} on {day}: {text}"
            );
        }
    }
    let refused_day = run(
        &stack,
        &sms,
        &["showtimes", "--zip", "02139", "--day", "someday"],
    );
    refused(&refused_day, "today, tomorrow or a date like 2026-12-09");

    // Sold out, it leaves the listings, and stays on its theatre's board, for the day
    // and for the days ahead, and among the times near a ZIP code, marked, as on the
    // website.
    someone_holds(&stack.cinema, &showtime.product_id, 50).await;
    eventually(
        "the showing to be sold out",
        Duration::from_secs(15),
        || async {
            let shown = stack.cinema.movies().get_showtime(&showtime.id).await;
            shown.expect("showtime").sold_out.then_some(())
        },
    )
    .await;
    let listing = stack
        .cinema
        .showtimes_at_theatre(&showtime.theatre_id)
        .await
        .expect("listing");
    assert!(listing.is_empty(), "the listing leaves it out: {listing:?}");
    for near in [
        &["showtimes", "--zip", "02139", "--day", &date][..],
        &["showtimes", "--zip", "02139", "--movie", &showtime.movie_id],
    ] {
        let near = run(&stack, &sms, near);
        let text = String::from_utf8_lossy(&near.stdout);
        assert!(
            text.lines()
                .any(|l| l.contains("Casablanca") && l.contains("sold out")),
            "{text}"
        );
    }
    // Far from it, or anywhere: sold out everywhere, not playing nowhere.
    for place in [&["--zip", "10001"][..], &[]] {
        let far = run(
            &stack,
            &sms,
            &[&["showtimes", "--movie", &showtime.movie_id][..], place].concat(),
        );
        let text = String::from_utf8_lossy(&far.stdout);
        assert!(
            text.contains("Every showing of Casablanca in the next two weeks is sold out."),
            "{place:?}: {text}"
        );
    }
    // Still showing near the ZIP code, and everywhere, said to be sold out.
    for near in [&["movies", "--zip", "02139"][..], &["movies"]] {
        let movies = run(&stack, &sms, near);
        let text = String::from_utf8_lossy(&movies.stdout);
        assert!(
            text.lines()
                .any(|l| l.contains("Casablanca") && l.contains("sold out")),
            "{near:?}: {text}"
        );
        let listed = json(&stack, &sms, near);
        assert_eq!(listed[0]["name"], "Casablanca", "{listed}");
        assert_eq!(listed[0]["sold_out"], true, "{listed}");
    }
    for day in [&["--day", date.as_str()][..], &[]] {
        let board = run(
            &stack,
            &sms,
            &[&["showtimes", "--theatre", &showtime.theatre_id][..], day].concat(),
        );
        let text = String::from_utf8_lossy(&board.stdout);
        assert!(
            text.lines()
                .any(|l| l.contains("Casablanca") && l.contains("sold out")),
            "{day:?}: {text}"
        );
    }
    stack.stop().await.expect("stop");
    sms.stop().await;
}

/// The box office admits an order's holder once, at the theatre and around the time
/// the tickets are for: the second showing of a code, a code for another theatre, too
/// early or too late, is refused in words no one at a door can miss and recorded as
/// nothing (unless a manager lets them in anyway), and used tickets cannot be
/// cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_box_office_admits_an_order_once() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    let showtime = catalogue(&stack).await;
    let buy = || {
        let bought = json(
            &stack,
            &sms,
            &[
                "buy",
                "--showtime",
                &showtime.id,
                "--tickets",
                "2",
                "--card",
                "4111 1111 1111 1111",
            ],
        );
        bought["confirmation"]
            .as_str()
            .expect("confirmation")
            .to_owned()
    };
    let (code, late, blind) = (buy(), buy(), buy());
    let token = cinema_integration_tests::ORDERS_ADMIN_TOKEN;
    let admit = |code: &str, more: &[&str]| {
        let mut args = vec!["admit", code, "--orders-admin-token", token];
        args.extend(more);
        run(&stack, &sms, &args)
    };
    let admitted = |code: &str| json(&stack, &sms, &["order", code])["admitted_at"].is_string();
    // The box office's view with the movies service unreachable (nothing listens on
    // port 1): the showtime cannot be read, to word a refusal.
    let admit_blind = |more: &[&str]| {
        Command::new(CINEMA)
            .args(["admit", blind.as_str(), "--orders-admin-token", token])
            .args(more)
            .env("CINEMA_MOVIES", "http://127.0.0.1:1")
            .env("CINEMA_ORDERS", stack.orders.url())
            .env_remove("ORDERS_ADMIN_TOKEN")
            .output()
            .expect("cinema runs")
    };

    refused(
        &run(&stack, &sms, &["admit", &code]),
        "admitting needs the orders admin token",
    );
    // Tomorrow's tickets, today.
    let early = admit(&code, &[]);
    refused(
        &early,
        "DO NOT ADMIT: not yet: these tickets are for Casablanca on ",
    );
    refused(&early, "; doors open at ");
    assert!(!admitted(&code), "a refusal records nothing");
    // Without the movies service the orders service still keeps the time, in its
    // own words.
    refused(
        &admit_blind(&[]),
        "cannot be used yet: its admission opens at ",
    );
    assert!(!admitted(&blind));

    stack.showtime_started(&showtime, 5).await;
    refused(
        &admit(&code, &["--theatre", "999"]),
        "these tickets are for Kendall Square Cinema (theatre ",
    );
    assert!(!admitted(&code));
    let here = admit(&code, &["--theatre", &showtime.theatre_id]);
    let text = String::from_utf8_lossy(&here.stdout);
    assert!(here.status.success(), "{here:?}");
    // Without the movies service, the orders service still keeps the theatre.
    let elsewhere = admit_blind(&["--theatre", "999"]);
    refused(&elsewhere, "DO NOT ADMIT: order ");
    refused(&elsewhere, "is admitted at venue");
    assert!(!admitted(&blind));
    let blindly = admit_blind(&["--theatre", showtime.theatre_id.as_str()]);
    assert!(blindly.status.success(), "{blindly:?}");
    assert!(admitted(&blind), "the door needs no showtime read");
    assert!(
        text.contains(&format!("Order {code} (placed, admitted ")) && text.contains("Casablanca"),
        "{text}"
    );
    assert!(admitted(&code));

    let again = admit(&code, &[]);
    refused(&again, "DO NOT ADMIT");
    refused(&again, "already admitted at");
    refused(
        &run(&stack, &sms, &["cancel", &code]),
        "its tickets were used at the door",
    );
    refused(&admit("ABCDEFGHJK", &[]), "ABCDEFGHJK");

    // Casablanca runs 102 minutes: over, unless a manager says otherwise.
    stack.showtime_started(&showtime, 110).await;
    refused(&admit(&late, &[]), "DO NOT ADMIT: Casablanca on ");
    refused(&admit(&late, &[]), " is over");
    assert!(!admitted(&late));
    let anyway = admit(&late, &["--anyway"]);
    assert!(anyway.status.success(), "{anyway:?}");
    assert!(
        String::from_utf8_lossy(&anyway.stdout).contains("by a manager's override"),
        "{anyway:?}"
    );
    assert!(admitted(&late));
    // On the order's record, for whoever reviews the door later.
    let overridden =
        |code: &str| json(&stack, &sms, &["order", code])["admitted_by_override"] == true;
    assert!(overridden(&late) && !overridden(&code));
    stack.stop().await.expect("stop");
    sms.stop().await;
}

/// An operator creates a promotion code, a customer pays with it, and the operator
/// ends it: it pays for nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_makes_a_promotion_code_a_customer_pays_with() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    let showtime = catalogue(&stack).await;
    let promotion = |args: &[&str]| as_operator(&stack, &sms, "promotion", args);
    let buy = || {
        let args = [
            "buy",
            "--showtime",
            &showtime.id,
            "--promotion",
            "film-club",
        ];
        run(&stack, &sms, &args)
    };

    refused(
        &run(
            &stack,
            &sms,
            &["promotion", "create", "FILM-CLUB", "--uses", "2"],
        ),
        "creating a promotion needs the orders admin token",
    );
    refused(&buy(), "promotion code FILM-CLUB does not exist");
    let created = promotion(&[
        "create",
        "film-club",
        "--uses",
        "2",
        "--description",
        "members",
    ]);
    assert!(created.status.success(), "{created:?}");
    assert_eq!(
        String::from_utf8_lossy(&created.stdout).trim(),
        "Promotion FILM-CLUB: active, 2 use(s) left."
    );
    refused(
        &promotion(&["create", "FILM-CLUB", "--uses", "5"]),
        "exists already",
    );
    refused(
        &promotion(&["create", "FILM CLUB", "--uses", "5"]),
        "must be 3 to 32 letters, digits or dashes",
    );

    let bought = buy();
    assert!(bought.status.success(), "{bought:?}");
    assert!(
        String::from_utf8_lossy(&bought.stdout).starts_with("Confirmation "),
        "{bought:?}"
    );
    let shown = promotion(&["show", "film-club"]);
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        "Promotion FILM-CLUB: active, 1 use(s) left.",
        "{shown:?}"
    );

    let ended = promotion(&["end", "FILM-CLUB", "--json"]);
    assert!(ended.status.success(), "{ended:?}");
    let ended: Value = serde_json::from_slice(&ended.stdout).expect("JSON");
    assert_eq!(ended["active"], false);
    assert_eq!(ended["uses_remaining"], 1);
    refused(&buy(), "promotion code FILM-CLUB is no longer active");
    refused(&promotion(&["end", "NO-SUCH"]), "no promotion code NO-SUCH");
    stack.stop().await.expect("stop");
    sms.stop().await;
}

/// A theatre's manager reads how a day's showings sold: seats, takings, what was
/// paid with a code, what was cancelled and refunded; a showing called off stays on
/// the day's report, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reads_how_a_day_s_showings_sold() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    let showtime = catalogue(&stack).await;
    let sales = |args: &[&str]| as_operator(&stack, &sms, "sales", args);
    let date = local_start(&showtime).date_naive();
    let day = date.to_string();
    let theatre = showtime.theatre_id.as_str();

    refused(
        &run(&stack, &sms, &["sales", "--theatre", theatre]),
        "reading sales needs the orders admin token",
    );
    let created = as_operator(
        &stack,
        &sms,
        "promotion",
        &["create", "FREE", "--uses", "1"],
    );
    assert!(created.status.success(), "{created:?}");
    let buy = |how: &[&str]| {
        let mut args = vec!["buy", "--showtime", showtime.id.as_str()];
        args.extend(how);
        json(&stack, &sms, &args)["confirmation"]
            .as_str()
            .expect("confirmation")
            .to_owned()
    };
    buy(&["--tickets", "2", "--card", "4111111111111111"]);
    buy(&["--promotion", "FREE"]);
    let changed_mind = buy(&["--card", "4111111111111111"]);
    let cancelled = run(&stack, &sms, &["cancel", &changed_mind]);
    assert!(cancelled.status.success(), "{cancelled:?}");

    let report = sales(&["--theatre", theatre, "--day", &day]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "{report:?}");
    assert!(
        text.starts_with(&format!(
            "Kendall Square Cinema, {}:",
            date.format("%a %b %d %Y")
        )),
        "{text}"
    );
    for cell in [
        "Casablanca",
        "on sale",
        "3 of 50 (1 promotional)",
        "$25.00",
        "1 order, $12.50 refunded",
    ] {
        assert!(text.contains(cell), "{cell} in {text}");
    }
    assert!(
        text.trim_end().ends_with(
            "In all: 3 of 50 seats sold in 2 orders (1 promotional), 0 let in; $25.00 taken; \
             1 order cancelled, $12.50 refunded."
        ),
        "{text}"
    );
    let day_report = || {
        let output = sales(&["--theatre", theatre, "--day", &day, "--json"]);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice::<Value>(&output.stdout).expect("JSON")
    };
    let report = day_report();
    assert_eq!(report["date"], day.as_str());
    assert_eq!(report["showtimes"][0]["showtime_id"], showtime.id.as_str());
    assert_eq!(report["showtimes"][0]["sold"], 3);
    assert_eq!(report["showtimes"][0]["available"], 47);
    assert_eq!(report["totals"]["takings_cents"], 2500);

    // A few days from the day before: the same showing, with its day, and the same sum.
    let before = (date - chrono::Days::new(1)).to_string();
    let three = sales(&["--theatre", theatre, "--day", &before, "--days", "3"]);
    let text = String::from_utf8_lossy(&three.stdout);
    assert!(three.status.success(), "{three:?}");
    let last = date + chrono::Days::new(1);
    assert!(
        text.starts_with(&format!(
            "Kendall Square Cinema, {} to {}:",
            (date - chrono::Days::new(1)).format("%a %b %d %Y"),
            last.format("%a %b %d %Y")
        )),
        "{text}"
    );
    assert!(
        text.contains(&local_start(&showtime).format("%a %b %d %H:%M").to_string())
            && text.contains("In all: 3 of 50 seats sold in 2 orders"),
        "{text}"
    );
    let output = sales(&[
        "--theatre",
        theatre,
        "--day",
        &before,
        "--days",
        "3",
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        (report["date"].as_str(), report["days"].as_u64()),
        (Some(before.as_str()), Some(3))
    );
    assert_eq!(report["showtimes"][0]["showtime_id"], showtime.id.as_str());
    refused(
        &sales(&["--theatre", theatre, "--days", "32"]),
        "32 is not in 1..=31",
    );

    // One showtime by its id says where it is.
    let one = sales(&["--showtime", &showtime.id]);
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(
        one.status.success() && text.contains("Kendall Square Cinema") && text.contains("3 of 50"),
        "{one:?}"
    );
    // The day before has nothing on.
    let empty = sales(&["--theatre", theatre, "--day", &before]);
    assert!(
        String::from_utf8_lossy(&empty.stdout)
            .starts_with("Kendall Square Cinema has no showing on "),
        "{empty:?}"
    );

    // Called off: still on the day's report, its orders cancelled and refunded.
    let called_off = run(
        &stack,
        &sms,
        &[
            "catalogue",
            "cancel-showtime",
            "--showtime",
            &showtime.id,
            "--movies-admin-token",
            cinema_integration_tests::MOVIES_ADMIN_TOKEN,
        ],
    );
    assert!(called_off.status.success(), "{called_off:?}");
    let report = day_report();
    assert_eq!(report["showtimes"][0]["state"], "called off");
    assert_eq!(report["showtimes"][0]["sold"], 0);
    assert_eq!(report["totals"]["cancelled_orders"], 3);
    assert_eq!(report["totals"]["refunded_cents"], 1250 * 3);
    refused(
        &sales(&["--theatre", theatre, "--day", "someday"]),
        "today, tomorrow or a date like 2026-12-09",
    );
    // Which showings is always asked, and a day is a theatre's.
    refused(&sales(&[]), "<--theatre <THEATRE>|--showtime <SHOWTIME>>");
    refused(
        &sales(&["--showtime", &showtime.id, "--day", &day]),
        "'--showtime <SHOWTIME>' cannot be used with '--day <DAY>'",
    );
    refused(
        &sales(&["--showtime", &showtime.id, "--days", "2"]),
        "'--showtime <SHOWTIME>' cannot be used with '--days <DAYS>'",
    );
    refused(
        &sales(&["--theatre", "999999"]),
        "theatre 999999 does not exist",
    );
    stack.stop().await.expect("stop");
    sms.stop().await;
}

/// `catalogue add-theatre --name Central Square Cinema --zip 02139` as arguments: the
/// words before the first flag, then each flag and its value, which is every word up
/// to the next flag, spaces and all.
fn flags(line: &str) -> Vec<String> {
    let mut parts = line.split(" --");
    let command = parts.next().unwrap_or_default().split_whitespace();
    let mut args: Vec<String> = command.map(str::to_owned).collect();
    for flag in parts {
        match flag.split_once(' ') {
            Some((name, value)) => args.extend([format!("--{name}"), value.to_owned()]),
            None => args.push(format!("--{flag}")),
        }
    }
    args
}

/// An operator adds a movie, a theatre and a showtime from the command line, on the
/// theatre's clock; it is on sale at once. A key makes a command safe to run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_schedules_a_movie_at_a_new_theatre_and_it_goes_on_sale() {
    let sms = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("simulator");
    let stack = Stack::start_with_texts(Some(&sms)).await.expect("stack");
    let token = cinema_integration_tests::MOVIES_ADMIN_TOKEN;
    let catalogue = |line: &str| {
        let args = flags(&format!("catalogue {line}"));
        run(
            &stack,
            &sms,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let said = |output: &Output| {
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };

    let about = "A detective afraid of heights follows a woman through San Francisco.";
    // A year off by one, corrected below.
    let movie =
        format!("add-movie --name Vertigo --length 128 --rating pg --year 1957 --synopsis {about}");
    refused(
        &catalogue(&movie),
        "adding a movie needs the movies admin token",
    );
    let added = said(&catalogue(&format!("{movie} --movies-admin-token {token}")));
    let movie_id = added
        .strip_prefix("Movie ")
        .and_then(|rest| rest.strip_suffix(": Vertigo (1957, PG, 128 min)."))
        .unwrap_or_else(|| panic!("{added}"));
    // What it is about heads its showtimes, as it heads its page on the website.
    let listed = said(&run(&stack, &sms, &["showtimes", "--movie", movie_id]));
    assert!(
        listed.starts_with(&format!("Vertigo (1957, PG, 128 min)\n{about}\n\n")),
        "{listed}"
    );
    refused(
        &catalogue(&format!(
            "add-movie --name Vertigo II --length 128 --rating pg --synopsis {} \
             --movies-admin-token {token}",
            "x".repeat(1001)
        )),
        "synopsis is longer than 1000 characters",
    );
    refused(
        &catalogue(&format!(
            "add-movie --name Vertigo II --length 128 --rating pg --year 1800 \
             --movies-admin-token {token}"
        )),
        "release_year must be 1888 to 2100",
    );
    // A synopsis is corrected, or removed, later; the rest of the movie stays.
    let corrected = "A retired detective afraid of heights follows a woman through San Francisco.";
    let edited = said(&catalogue(&format!(
        "edit-movie --movie {movie_id} --synopsis {corrected} --movies-admin-token {token}"
    )));
    assert_eq!(
        edited,
        format!("Movie {movie_id}: Vertigo (1957, PG, 128 min).\n{corrected}")
    );
    let listed = said(&run(&stack, &sms, &["showtimes", "--movie", movie_id]));
    assert!(listed.contains(corrected), "{listed}");
    let removed = run(
        &stack,
        &sms,
        &[
            "catalogue",
            "edit-movie",
            "--movie",
            movie_id,
            "--synopsis",
            "",
            "--movies-admin-token",
            token,
            "--json",
        ],
    );
    let removed: Value = serde_json::from_str(&said(&removed)).expect("JSON");
    assert_eq!(removed["name"], "Vertigo");
    assert_eq!(removed["synopsis"], Value::Null);
    assert_eq!(removed["release_year"], 1957, "what was not asked stays");
    let listed = said(&run(&stack, &sms, &["showtimes", "--movie", movie_id]));
    assert!(!listed.contains("San Francisco"), "{listed}");
    refused(
        &catalogue(&format!(
            "edit-movie --movie 424242 --synopsis A heist. --movies-admin-token {token}"
        )),
        "movie 424242 does not exist",
    );
    // The year corrected; an edit that changes nothing is refused up front.
    assert_eq!(
        said(&catalogue(&format!(
            "edit-movie --movie {movie_id} --year 1958 --movies-admin-token {token}"
        ))),
        format!("Movie {movie_id}: Vertigo (1958, PG, 128 min). No synopsis.")
    );
    refused(
        &catalogue(&format!(
            "edit-movie --movie {movie_id} --movies-admin-token {token}"
        )),
        "--synopsis <SYNOPSIS>",
    );
    // Back as it was added, for what follows.
    said(&catalogue(&format!(
        "edit-movie --movie {movie_id} --synopsis {about} --movies-admin-token {token}"
    )));

    let theatre = |phone: &str, rooms: &str| {
        catalogue(&format!(
            "add-theatre --name Central Square Cinema --phone {phone} \
             --street 425 Massachusetts Ave --city Cambridge --state MA --zip 02139{rooms} \
             --movies-admin-token {token}"
        ))
    };
    let rooms = " --auditorium 1=120 --auditorium Balcony=40";
    refused(&theatre("+16175550177", ""), "--auditorium <ROOM=SEATS>");
    refused(
        &theatre("(617) 555-0177", rooms),
        "is not a full international number",
    );
    let added = said(&theatre("+16175550177", rooms));
    let (theatre_id, rest) = added
        .strip_prefix("Theatre ")
        .and_then(|rest| rest.split_once(": "))
        .unwrap_or_else(|| panic!("{added}"));
    assert_eq!(
        rest,
        "Central Square Cinema, 425 Massachusetts Ave, Cambridge, MA 02139, America/New_York; \
         auditoriums 1 (120 seats), Balcony (40 seats)."
    );

    // Three days from now at 19:30 on the theatre's clock (Eastern, winter or summer).
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let showtime = |room: &str, at: &str, price: &str, key: &str| {
        catalogue(&format!(
            "add-showtime --movie {movie_id} --theatre {theatre_id} --room {room} --at {at} \
             --price {price} --request-id {key} --movies-admin-token {token}"
        ))
    };
    let at = format!("{day} 19:30");
    let first = said(&showtime("Balcony", &at, "11.5", "vertigo-balcony"));
    assert!(
        first.contains(": Vertigo at Central Square Cinema, auditorium Balcony, ")
            && first.contains(" 19:30 E")
            && first.ends_with(", $11.50 a ticket, 40 seats."),
        "{first}"
    );
    assert_eq!(
        said(&showtime("Balcony", &at, "11.5", "vertigo-balcony")),
        first,
        "the same key adds nothing twice"
    );
    refused(
        &showtime("Balcony", &at, "12", "vertigo-balcony"),
        "request_id \"vertigo-balcony\" was already used for a different request",
    );
    refused(
        &showtime("IMAX", &at, "12", "vertigo-imax"),
        "has no auditorium \"IMAX\"",
    );
    refused(
        &showtime("1", "tonight", "12", "vertigo-tonight"),
        "a date and time like 2026-12-09 19:30",
    );
    refused(
        &showtime("1", &at, "12.505", "vertigo-price"),
        "dollars and cents, like 12.50",
    );

    // A week's run is a showtime a day at the same time on the theatre's clock; run
    // again with its key, it adds none twice.
    let week = |room: &str, from: chrono::NaiveDate, key: &str| {
        catalogue(&format!(
            "add-showtime --movie {movie_id} --theatre {theatre_id} --room {room} \
             --at {from} 19:30 --days 3 --price 9 --request-id {key} \
             --movies-admin-token {token}"
        ))
    };
    let daily = said(&week("1", day, "vertigo-run"));
    let lines: Vec<&str> = daily.lines().collect();
    assert_eq!(lines.len(), 3, "{daily}");
    for (line, date) in lines.iter().zip(day.iter_days()) {
        let on = date.format(" %a %b %d 19:30 E").to_string();
        assert!(
            line.contains(&on) && line.ends_with("$9.00 a ticket, 120 seats."),
            "{daily}"
        );
    }
    assert_eq!(said(&week("1", day, "vertigo-run")), daily);
    // One that meets a showing already there adds the days before it, and says which
    // it did not add and how to finish.
    let clash = week("Balcony", day.pred_opt().expect("a day"), "vertigo-clash");
    let stdout = String::from_utf8_lossy(&clash.stdout);
    assert_eq!(stdout.lines().count(), 1, "{clash:?}");
    refused(&clash, "1 of 3 showtimes added; not the one of ");
    refused(
        &clash,
        "with the same --request-id, to add the rest): refused: auditorium",
    );

    // On sale at once: a customer finds it at the theatre and buys a ticket.
    let showtime_id = first
        .strip_prefix("Showtime ")
        .and_then(|rest| rest.split_once(':'))
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("{first}"));
    let listed = json(&stack, &sms, &["showtimes", "--theatre", theatre_id]);
    assert!(
        listed.to_string().contains(&format!("\"{showtime_id}\"")),
        "{listed}"
    );
    let bought = run(
        &stack,
        &sms,
        &flags(&format!(
            "buy --showtime {showtime_id} --tickets 2 --card 4111111111111111 \
             --security-code 123"
        ))
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    let confirmation = said(&bought)
        .strip_prefix("Confirmation ")
        .and_then(|rest| rest.split_once(':'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("{bought:?}"));

    // The projector breaks: the operator calls the showing off. Its buyer is refunded
    // and it is no longer listed; asked again, the same is said.
    let call_off = format!("cancel-showtime --showtime {showtime_id}");
    refused(
        &catalogue(&call_off),
        "cancelling a showtime needs the movies admin token",
    );
    let called_off = said(&catalogue(&format!(
        "{call_off} --movies-admin-token {token}"
    )));
    assert!(
        called_off.starts_with(&format!(
            "Showtime {showtime_id} cancelled: Vertigo at Central Square Cinema, auditorium \
             Balcony, "
        )) && [" EST", " EDT"]
            .iter()
            .any(|zone| called_off
                .ends_with(&format!("{zone}. 1 order was cancelled and refunded."))),
        "{called_off}"
    );
    assert_eq!(
        said(&catalogue(&format!(
            "{call_off} --movies-admin-token {token}"
        ))),
        called_off
    );
    let listed = json(&stack, &sms, &["showtimes", "--theatre", theatre_id]);
    let ids: Vec<&str> = listed[0]["showtimes"]
        .as_array()
        .expect("showtimes")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(!ids.is_empty() && !ids.contains(&showtime_id), "{listed}");
    let order = said(&run(&stack, &sms, &["order", &confirmation]));
    assert!(
        order.contains(&format!("Order {confirmation} (cancelled), total $23.00"))
            && order.contains(
                "Cancelled by the theatre: the showing was called off. $23.00 is refunded to \
                 Visa ending in 1111."
            ),
        "{order}"
    );
    stack.stop().await.expect("stop");
    sms.stop().await;
}
