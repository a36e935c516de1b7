//! A moviegoer in a real browser: headless Chromium (Debian's package, driven through
//! chromedriver with fantoccini) finds a movie near 02139, holds two seats, pays, gets
//! a confirmation (whose QR code scans off the screen) and its text, sees a declined
//! card kept on the form, and cancels.
//! Every page it shows passes axe-core's accessibility checks (WCAG 2.1 A and AA), on a
//! light screen and on one set to dark.
//! Screenshots of each page land in `target/screenshots/`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cinema_integration_tests::{Stack, eventually, someone_holds};
use fantoccini::{Client, ClientBuilder, Locator};

use crate::fixtures::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, with the directory of the browser profiles it runs
/// Chromium in. Dropping it (also when the test panics) ends chromedriver *and* those
/// browsers: killing the driver alone would leave Chromium running.
struct Driver(Child, u16, PathBuf);

impl Driver {
    fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: run scripts/install-test-tools (apt-get install chromium chromium-driver)"
        );
        let port = cinema_testkit::unused_local_addr().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile =
            std::env::temp_dir().join(format!("cinema-chromium-{}", uuid::Uuid::new_v4()));
        Self(child, port, profile)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // Each browser's command line names its profile, under the unique directory.
        let _ = Command::new("pkill")
            .args(["-f", &self.2.display().to_string()])
            .status();
        let _ = std::fs::remove_dir_all(&self.2);
    }
}

/// How the browser's screen is set: the site follows a dark setting.
#[derive(Clone, Copy)]
enum Scheme {
    Light,
    Dark,
}

async fn browser(driver: &Driver, scheme: Scheme) -> Client {
    // A profile of its own for each session, under the driver's directory.
    // Headless Chromium's screen is light unless told otherwise.
    let (profile, scheme_args) = match scheme {
        Scheme::Light => (driver.2.join("light"), vec![]),
        Scheme::Dark => (driver.2.join("dark"), vec!["--force-dark-mode"]),
    };
    // Several crypto providers are compiled in; chromedriver is plain HTTP, but the
    // client still wants one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,1200",
    ]
    .into_iter()
    .chain(scheme_args)
    .map(String::from)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let options = serde_json::json!({ "binary": CHROMIUM, "args": args });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a browser session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("saved");
}

/// The page as shown passes axe-core's checks for WCAG 2.1 A and AA and its best
/// practices: labels, names, contrast, landmarks, headings, ARIA. Each violation is
/// listed with the elements it was found on.
async fn assert_accessible(client: &Client, page: &str) {
    let axe = std::fs::read_to_string(cinema_testkit::tools::axe()).expect("axe-core");
    client.execute(&axe, vec![]).await.expect("axe-core loads");
    let violations = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];
            axe.run(document, { runOnly: { type: "tag", values: tags } })
              .then(r => done(r.violations.map(v => ({
                rule: v.id, help: v.help, on: v.nodes.map(n => n.target.join(" ")) }))))
              .catch(e => done([{ rule: "axe failed", help: String(e) }]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    assert_eq!(
        violations,
        serde_json::json!([]),
        "accessibility of the {page} page: {violations:#}"
    );
}

/// The QR codes a scanner reads off the page as shown.
async fn scanned(client: &Client) -> Vec<String> {
    let png = client.screenshot().await.expect("screenshot");
    let shown = image::load_from_memory(&png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(shown);
    prepared
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().expect("a readable code").1)
        .collect()
}

/// A click that submits a form or follows a link returns before the next page has
/// loaded: wait until the page shows `needle` rather than reading the old one.
async fn wait_for_text(client: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if client
            .source()
            .await
            .is_ok_and(|html| html.contains(needle))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("typed");
}

async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
}

async fn click(client: &Client, locator: Locator<'_>) {
    client
        .find(locator)
        .await
        .expect("element")
        .click()
        .await
        .expect("clicked");
}

/// Where the page draws its first day's label and that day's first showtime:
/// (x, y, width, height) each.
async fn first_day_boxes(client: &Client) -> ((f64, f64, f64, f64), (f64, f64, f64, f64)) {
    let mut boxes = Vec::new();
    for css in [".day h3", ".day a.slot"] {
        let element = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        boxes.push(element.rectangle().await.expect("its box"));
    }
    (boxes[0], boxes[1])
}

/// Which of these elements the page shows.
async fn displayed(client: &Client, selectors: &[&str]) -> Vec<bool> {
    let mut shown = Vec::new();
    for css in selectors {
        let element = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        shown.push(element.is_displayed().await.expect("displayed"));
    }
    shown
}

async fn pay_with(client: &Client, card: &str) {
    fill(client, "#card_number", card).await;
    fill(client, "#card_month", "12").await;
    fill(client, "#card_year", "2030").await;
    fill(client, "#card_cvc", "123").await;
    fill(client, "#line_1", "77 Massachusetts Ave").await;
    fill(client, "#city", "Cambridge").await;
    fill(client, "#state", "MA").await;
    fill(client, "#billing_zip", "02139").await;
    fill(client, "#phone", "(415) 555-0132").await;
    click(client, Locator::Css("form.checkout button[type=submit]")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moviegoer_buys_tickets_in_a_real_browser() {
    let sim =
        cinema_sms_sim::Simulator::start("127.0.0.1:0".parse().expect("addr"), Default::default())
            .await
            .expect("SMS simulator");
    let stack = Stack::start_with_texts(Some(&sim)).await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    // What it is about and its year, under its name on its page (axe-core reads them
    // on both screens too).
    let about = "A master thief plans one last job in Los Angeles while a detective closes in.";
    c.admin()
        .update_movie(cinema_client::movies_pb::UpdateMovieRequest {
            id: heat.id.clone(),
            synopsis: Some(about.into()),
            release_year: Some(1995),
        })
        .await
        .expect("a synopsis");
    // Ten seats: the showtime's button says how many are left (and axe-core checks
    // that line too).
    let kendall = theatre(c, "Kendall Square", "02139", 10).await;
    let show = showtime(c, &heat.id, &kendall.id, "2", 5).await;
    // And one on another day, to be picked from the movie page's row of days.
    let (later_day, later_start) = boston(2, 19);
    let later = showtime_at(c, &heat.id, &kendall.id, "1", later_start).await;
    // And one whose 200 seats are all taken: the theatre's page shows it sold out, a
    // muted button that axe-core checks on both screens.
    let full = showtime(c, &heat.id, &kendall.id, "1", 6).await;
    someone_holds(c, &full.product_id, 200).await;
    // On its own day: an hour after the first showtime may be the next day on the
    // theatre's clock (run between 6 and 7 PM Eastern), and a page shows one day.
    let full_day =
        chrono::DateTime::from_timestamp(full.start_time.as_ref().expect("start").seconds, 0)
            .expect("an instant")
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive();
    let theatre_url = format!("/theatres/{}?day={full_day}", kendall.id);
    // And a premiere whose one showing is sold out: still on the home page, its card
    // saying so (a line axe-core checks on both screens too).
    let premiere = movie(c, "Alien", 117).await;
    let premiere_night = showtime(c, &premiere.id, &kendall.id, "2", 9).await;
    someone_holds(c, &premiere_night.product_id, 10).await;
    for sold_out in [&full, &premiere_night] {
        eventually(
            "the full showings to be sold out",
            Duration::from_secs(15),
            || async {
                let shown = c
                    .movies()
                    .get_showtime(&sold_out.id)
                    .await
                    .expect("showtime");
                shown.sold_out.then_some(())
            },
        )
        .await;
    }
    let site = site(&stack).await;
    let driver = Driver::start();
    let b = browser(&driver, Scheme::Light).await;

    // Home: enter a ZIP code and how far to look, see what is on.
    b.goto(&format!("{site}/")).await.expect("home");
    assert_accessible(&b, "first visit's home").await;
    fill(&b, "#zip", "02139").await;
    choose(&b, "select#within", "5").await;
    click(&b, Locator::Css("form[role=search] button")).await;
    wait_for_text(&b, "near 02139").await;
    let home = b.current_url().await.expect("url");
    assert_eq!(home.query(), Some("zip=02139&within=5"), "{home}");
    assert_eq!(
        text_of(&b, "li.movie .sold-out").await,
        "Sold out within 5 miles of 02139"
    );
    snap(&b, "01-home").await;
    assert_accessible(&b, "home").await;

    // The movie, its showtimes by theatre, searched as near; pick one.
    click(&b, Locator::LinkText("Heat")).await;
    wait_for_text(&b, "Find showtimes").await;
    assert_eq!(text_of(&b, "h1").await, "Heat");
    assert_eq!(text_of(&b, "p.synopsis").await, about);
    assert_eq!(text_of(&b, "p.meta").await, "PG-13 1995 · 2 h 50 min");
    assert_eq!(text_of(&b, "select#within option:checked").await, "5 miles");
    assert!(
        text_of(&b, "section.theatre h2")
            .await
            .contains("Kendall Square")
    );
    assert!(text_of(&b, "a.slot").await.contains("10 seats left"));
    snap(&b, "02-movie").await;
    assert_accessible(&b, "movie").await;
    // A week of showtimes reads as a timetable: each day's label beside its showtimes
    // on a wide screen, above them on a phone's.
    let (label, slot) = first_day_boxes(&b).await;
    assert!(
        label.0 + label.2 <= slot.0 && slot.1 < label.1 + label.3 && label.1 < slot.1 + slot.3,
        "the day {label:?} beside its showtime {slot:?}"
    );
    b.set_window_size(400, 900).await.expect("a phone's width");
    let (label, slot) = first_day_boxes(&b).await;
    assert!(
        label.1 + label.3 <= slot.1,
        "the day {label:?} above its showtime {slot:?}"
    );
    snap(&b, "02-movie-narrow").await;
    assert_accessible(&b, "movie at a phone's width").await;
    b.set_window_size(1000, 1200).await.expect("back to wide");
    // One day at a time: the later day, picked, lists its showtime instead, and the
    // first day is a click back.
    click(&b, Locator::Css(".dates li:last-child a")).await;
    wait_for_text(&b, &format!("/showtimes/{}\"", later.id)).await;
    let url = b.current_url().await.expect("url");
    assert_eq!(
        url.query(),
        Some(format!("zip=02139&within=5&day={later_day}").as_str())
    );
    let date: chrono::NaiveDate = later_day.parse().expect("date");
    assert_eq!(
        text_of(&b, "a[aria-current=date] .date")
            .await
            .replace('\u{a0}', " "),
        date.format("%b %-d").to_string()
    );
    let slots = b.find_all(Locator::Css("a.slot")).await.expect("slots");
    assert_eq!(slots.len(), 1, "that day's only");
    assert_accessible(&b, "movie on a later day").await;
    click(&b, Locator::Css(".dates li:first-child a")).await;
    wait_for_text(&b, &format!("/showtimes/{}\"", show.id)).await;
    click(&b, Locator::Css("a.slot")).await;
    wait_for_text(&b, "Hold seats").await;
    let showtime_url = b.current_url().await.expect("url").to_string();
    assert!(showtime_url.ends_with(&format!("/showtimes/{}", show.id)));
    snap(&b, "03-showtime").await;
    assert_accessible(&b, "showtime").await;

    // Hold two seats: the checkout counts down to their release.
    choose(&b, "select#tickets", "2").await;
    click(&b, Locator::Css("form button[type=submit]")).await;
    wait_for_text(&b, "Pay with").await;
    assert!(
        b.current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/checkout/")
    );
    let countdown = text_of(&b, "#countdown").await;
    assert!(
        countdown.contains("left"),
        "the countdown runs: {countdown:?}"
    );
    snap(&b, "04-checkout").await;
    assert_accessible(&b, "checkout").await;

    // Only the chosen way to pay shows its fields.
    let fields = ["#card_number", "#email", "#promo"];
    assert_eq!(
        displayed(&b, &fields).await,
        [true, false, false],
        "card is chosen first: {fields:?}"
    );
    click(&b, Locator::Css("input[name=method][value=paypal]")).await;
    assert_eq!(
        displayed(&b, &fields).await,
        [false, true, false],
        "after choosing PayPal: {fields:?}"
    );
    snap(&b, "04-checkout-paypal").await;
    click(&b, Locator::Css("input[name=method][value=card]")).await;

    // Pay: the confirmation page shows the code.
    pay_with(&b, "4111 1111 1111 1111").await;
    wait_for_text(&b, "Show this code at the box office").await;
    let confirmation = text_of(&b, "#confirmation").await;
    assert!(confirmation.len() >= 8, "{confirmation}");
    let order_url = b.current_url().await.expect("url").to_string();
    // The browser writes its no-break spaces back out as `&nbsp;`.
    assert!(
        b.source()
            .await
            .expect("html")
            .contains("Visa ending&nbsp;in&nbsp;1111")
    );
    snap(&b, "05-order").await;
    assert_accessible(&b, "order").await;
    // The box office scans the code off the screen.
    assert_eq!(scanned(&b).await, vec![confirmation.as_str()]);

    // The text reached the SMS gateway.
    let texts_url = sim.texts_url();
    eventually("the confirmation text", Duration::from_secs(30), || {
        let (url, code) = (texts_url.clone(), confirmation.clone());
        async move {
            let texts = reqwest::get(url).await.ok()?.text().await.ok()?;
            (texts.contains(&code) && texts.contains("+14155550132")).then_some(())
        }
    })
    .await;

    // Back on the home page, the tickets are a click away.
    b.goto(&format!("{site}/")).await.expect("home");
    wait_for_text(&b, "Your tickets").await;
    assert!(
        text_of(&b, ".yours-list").await.contains(&confirmation),
        "the home page names the order"
    );
    snap(&b, "05-home-your-tickets").await;
    assert_accessible(&b, "home with the browser's tickets").await;

    // A declined card: the decline is shown, the form keeps what was typed but the
    // card number, and the seats stay held.
    b.goto(&showtime_url).await.expect("showtime");
    click(&b, Locator::Css("form button[type=submit]")).await;
    wait_for_text(&b, "Pay with").await;
    pay_with(&b, "4000 0000 0000 0002").await;
    wait_for_text(&b, "checkout-error").await;
    assert!(text_of(&b, "#checkout-error").await.contains("declined"));
    let kept = |css: &'static str| {
        let b = b.clone();
        async move {
            b.find(Locator::Css(css))
                .await
                .expect("field")
                .prop("value")
                .await
                .expect("value")
                .unwrap_or_default()
        }
    };
    assert_eq!(kept("#city").await, "Cambridge");
    assert_eq!(kept("#phone").await, "(415) 555-0132");
    assert_eq!(
        kept("#card_number").await,
        "",
        "the card number is not kept"
    );
    assert_eq!(kept("#card_cvc").await, "", "nor its security code");
    snap(&b, "06-declined").await;
    assert_accessible(&b, "declined checkout").await;
    // A billing ZIP the orders service knows no place for: said in the form's words,
    // and the field marked for assistive technology (and drawn so).
    fill(&b, "#card_number", "4111 1111 1111 1111").await;
    fill(&b, "#card_cvc", "123").await;
    fill(&b, "#billing_zip", "99999").await;
    click(&b, Locator::Css("form.checkout button[type=submit]")).await;
    wait_for_text(&b, "is not a US ZIP code").await;
    let zip = b.find(Locator::Css("#billing_zip")).await.expect("ZIP");
    assert_eq!(
        zip.attr("aria-invalid")
            .await
            .expect("attribute")
            .as_deref(),
        Some("true")
    );
    assert_eq!(kept("#city").await, "Cambridge");
    snap(&b, "06-check-zip").await;
    assert_accessible(&b, "checkout with a field to correct").await;
    let declined_checkout = b.current_url().await.expect("url").to_string();

    // Cancel the order from its page (it asks once more): the seats come back.
    b.goto(&order_url).await.expect("order");
    click(&b, Locator::LinkText("Cancel order…")).await;
    wait_for_text(&b, "Yes, cancel my order").await;
    click(&b, Locator::Css("button.danger")).await;
    wait_for_text(&b, "was cancelled").await;
    snap(&b, "07-cancelled").await;
    assert_accessible(&b, "cancelled order").await;
    let seats = c
        .orders()
        .availability(&[&show.product_id])
        .await
        .expect("availability");
    assert_eq!(
        (seats[0].available, seats[0].held),
        (8, 2),
        "the cancelled two are back on sale; the declined checkout still holds its two"
    );

    // The countdown is not read out every second; the last minute is, once.
    sqlx::query(
        "UPDATE holds SET expires_at = now() + interval '45 seconds' WHERE status = 'active'",
    )
    .execute(stack.orders.pool())
    .await
    .expect("nearly up");
    b.goto(&declined_checkout).await.expect("checkout");
    wait_for_text(&b, "Pay with").await;
    let countdown = b.find(Locator::Css("#countdown")).await.expect("countdown");
    assert_eq!(
        countdown
            .attr("aria-hidden")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );
    // Hidden from the eye, so its textContent rather than the text a user sees.
    let alert = b
        .find(Locator::Css("#hold-alert"))
        .await
        .expect("alert")
        .prop("textContent")
        .await
        .expect("text")
        .unwrap_or_default();
    assert!(
        alert.starts_with("Less than a minute left to pay"),
        "{alert:?}"
    );

    // A theatre's phone number is one thing to read and tap on a phone: it never
    // breaks across lines, at whatever width the address before it wraps.
    b.goto(&format!("{site}{theatre_url}"))
        .await
        .expect("theatre");
    wait_for_text(&b, "(617) 555-0100").await;
    wait_for_text(&b, "Sold out").await;
    assert_accessible(&b, "theatre").await;
    for width in (320..=560).step_by(8) {
        b.set_window_size(width, 900).await.expect("width");
        let lines = b
            .execute(
                "return document.querySelector('a[href^=\"tel:\"]').getClientRects().length",
                vec![],
            )
            .await
            .expect("the phone's lines");
        assert_eq!(lines, 1, "the phone number at {width} px wide");
        if width == 360 {
            snap(&b, "08-theatre-narrow").await;
        }
    }

    // A page that is not there says so as accessibly as the rest.
    b.set_window_size(1000, 1200).await.expect("back to wide");
    b.goto(&format!("{site}/movies/424242")).await.expect("404");
    wait_for_text(&b, "</h1>").await;
    assert_accessible(&b, "not found").await;
    b.close().await.expect("browser closes");

    // A screen set to dark gets dark pages, every one as readable (axe-core checks the
    // contrast of what is shown): the search, the movie, a showtime, a checkout in
    // progress and an order.
    let dark = browser(&driver, Scheme::Dark).await;
    let pages = [
        ("home", format!("{site}/?zip=02139")),
        ("movie", format!("{site}/movies/{}?zip=02139", heat.id)),
        ("showtime", showtime_url),
        ("theatre", format!("{site}{theatre_url}")),
        ("checkout", declined_checkout),
        ("order", order_url),
    ];
    for (page, url) in pages {
        dark.goto(&url).await.expect(page);
        wait_for_text(&dark, "</footer>").await;
        let shown = dark
            .execute(
                "return [matchMedia('(prefers-color-scheme: dark)').matches,
                         getComputedStyle(document.documentElement).backgroundColor]",
                vec![],
            )
            .await
            .expect("the page's colours");
        assert_eq!(
            shown,
            serde_json::json!([true, "rgb(19, 17, 22)"]),
            "the {page} page on a dark screen"
        );
        snap(&dark, &format!("09-dark-{page}")).await;
        assert_accessible(&dark, &format!("{page} on a dark screen")).await;
    }
    dark.close().await.expect("browser closes");
    stack.stop().await.expect("stop");
    sim.stop().await;
}
