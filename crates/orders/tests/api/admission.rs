//! The box office lets an order's holder in once: a copy of the code shown again, at
//! the same door or at another at the same moment, is refused and says when the order
//! was used; a cancelled order lets nobody in; used tickets are not refunded; and
//! nobody comes in before the doors open or after the movie is over, unless a manager
//! says so.

use chrono::{DateTime, Duration, Utc};
use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;
use crate::outbox_admin::admin_client;

async fn admit(app: &TestApp, confirmation: &str) -> Result<pb::Order, tonic::Status> {
    admit_as(app, confirmation, "", false).await
}

/// A manager's admission, outside the window.
pub(crate) async fn admit_anyway(
    app: &TestApp,
    confirmation: &str,
) -> Result<pb::Order, tonic::Status> {
    admit_as(app, confirmation, "", true).await
}

async fn admit_as(
    app: &TestApp,
    confirmation: &str,
    venue: &str,
    override_admission_window: bool,
) -> Result<pb::Order, tonic::Status> {
    admin_client(app)
        .await
        .admit_order(admin(pb::AdmitOrderRequest {
            confirmation: confirmation.into(),
            override_admission_window,
            venue: venue.into(),
        }))
        .await
        .map(|r| r.into_inner().order.expect("order"))
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// A showtime's tickets: its doors open at `start`, the movie ends at `end`.
fn admitting(start: DateTime<Utc>, end: DateTime<Utc>) -> pb::AddProductRequest {
    pb::AddProductRequest {
        description: "Heat, 7:30 PM".into(),
        quantity: 10,
        price_cents: 1250,
        admission_start: Some(timestamp(start)),
        admission_end: Some(timestamp(end)),
        ..Default::default()
    }
}

async fn add(app: &TestApp, product: pb::AddProductRequest) -> Result<String, tonic::Status> {
    app.client()
        .add_product(admin(product))
        .await
        .map(|r| r.into_inner().product_id)
}

async fn bought(app: &TestApp, products: &[&str]) -> String {
    let items = products.iter().map(|p| item(p, 1)).collect();
    app.place(&order(items, card(VISA)), "an order")
        .await
        .confirmation
}

async fn cancel(app: &TestApp, confirmation: &str) -> Result<pb::Order, tonic::Status> {
    app.client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: confirmation.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .map(|r| r.into_inner().order.expect("order"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_admits_its_holder_once_and_its_used_tickets_are_not_refunded() {
    let app = spawn_app().await;
    let product = app.add_product("Heat, 7:30 PM", 10, 1250).await;
    let placed = app
        .place(&order(vec![item(&product, 2)], card(VISA)), "an order")
        .await;

    assert!(app.order(&placed.confirmation).await.admitted_at.is_none());
    let admitted = admit(&app, &placed.confirmation).await.expect("admitted");
    let at = admitted.admitted_at.expect("when");
    assert_eq!(admitted.status(), pb::OrderStatus::Placed);
    // GetOrder says so too, for whoever looks later.
    assert_eq!(app.order(&placed.confirmation).await.admitted_at, Some(at));

    // The same code again: refused, saying when it was used; nothing changes.
    let again = admit(&app, &placed.confirmation).await;
    let status = again.as_ref().expect_err("a second admission").clone();
    assert!(
        status.message().contains("already admitted at"),
        "{status:?}"
    );
    let details = expect_details(again, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::AlreadyAdmitted));

    // Used tickets are not cancelled, nor refunded: the seats stay sold.
    let before = app.availability(&product).await;
    let refused = cancel(&app, &placed.confirmation).await;
    assert_eq!(
        expect_details(refused, Code::FailedPrecondition).reason,
        Some(Reason::AlreadyAdmitted)
    );
    assert_eq!(app.availability(&product).await, before);

    // A cancelled order lets nobody in.
    let other = app
        .place(&order(vec![item(&product, 1)], card(VISA)), "another order")
        .await;
    cancel(&app, &other.confirmation).await.expect("cancelled");
    assert_eq!(
        expect_details(
            admit(&app, &other.confirmation).await,
            Code::FailedPrecondition
        )
        .reason,
        Some(Reason::OrderCancelled)
    );

    // An unknown code, a malformed one, and no credential.
    expect_code(admit(&app, "ABCDEFGHJK").await, Code::NotFound);
    let malformed = expect_details(admit(&app, "not a code").await, Code::InvalidArgument);
    assert_eq!(malformed.violations[0].field, "confirmation");
    let anonymous = admin_client(&app)
        .await
        .admit_order(pb::AdmitOrderRequest {
            confirmation: other.confirmation.clone(),
            ..Default::default()
        })
        .await;
    expect_code(anonymous, Code::Unauthenticated);
    app.stop().await;
}

/// Two copies of one code at two doors at the same moment: exactly one is let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_a_code_shown_at_once_admit_exactly_one() {
    let app = spawn_app().await;
    let product = app.add_product("Heat, 7:30 PM", 50, 1250).await;
    for _ in 0..5 {
        let placed = app
            .place(&order(vec![item(&product, 1)], card(VISA)), "an order")
            .await;
        let doors = (0..8).map(|_| admit(&app, &placed.confirmation));
        let answers = futures::future::join_all(doors).await;
        let admitted = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(admitted, 1, "{answers:?}");
        assert!(answers.iter().all(|a| match a {
            Ok(_) => true,
            Err(status) => status.code() == Code::FailedPrecondition,
        }));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holders_come_in_from_the_doors_opening_until_the_movie_ends_unless_a_manager_says_so() {
    let app = spawn_app().await;
    let now = Utc::now();
    let tonight = add(
        &app,
        admitting(now + Duration::hours(1), now + Duration::hours(3)),
    )
    .await
    .expect("added");
    let this_morning = add(
        &app,
        admitting(now - Duration::hours(3), now - Duration::hours(1)),
    )
    .await
    .expect("added");
    let showing = add(
        &app,
        admitting(now - Duration::minutes(10), now + Duration::hours(2)),
    )
    .await
    .expect("added");

    // Too early: refused, saying when the doors open, and nothing recorded.
    let early = bought(&app, &[&tonight]).await;
    let refused = admit(&app, &early).await;
    let status = refused.as_ref().expect_err("too early").clone();
    assert!(status.message().contains("opens at"), "{status:?}");
    assert_eq!(
        expect_details(refused, Code::FailedPrecondition).reason,
        Some(Reason::AdmissionNotOpen)
    );
    assert!(app.order(&early).await.admitted_at.is_none());

    // Too late: the movie is over.
    let late = bought(&app, &[&this_morning]).await;
    let refused = admit(&app, &late).await;
    assert_eq!(
        expect_details(refused, Code::FailedPrecondition).reason,
        Some(Reason::AdmissionClosed)
    );
    assert!(app.order(&late).await.admitted_at.is_none());

    // While the movie is on, and for an order of several showtimes from the first
    // opening to the last end.
    admit(&app, &bought(&app, &[&showing]).await)
        .await
        .expect("the doors are open");
    admit(&app, &bought(&app, &[&this_morning, &tonight]).await)
        .await
        .expect("between the two");

    // A product without a window lets its holders in at any time, as before.
    let plain = app.add_product("Popcorn", 10, 500).await;
    admit(&app, &bought(&app, &[&plain]).await)
        .await
        .expect("no window");

    // A manager lets the latecomer in: recorded like any admission, and once, with
    // the override on the order's record. An override the window did not need is
    // not one.
    let admitted = admit_anyway(&app, &late).await.expect("overridden");
    assert!(admitted.admitted_at.is_some() && admitted.admitted_by_override);
    assert!(app.order(&late).await.admitted_by_override);
    let needless = admit_anyway(&app, &bought(&app, &[&showing]).await)
        .await
        .expect("admitted");
    assert!(!needless.admitted_by_override);
    assert_eq!(
        expect_details(admit_anyway(&app, &late).await, Code::FailedPrecondition).reason,
        Some(Reason::AlreadyAdmitted)
    );
    // Nor does the override let a cancelled order in.
    cancel(&app, &early)
        .await
        .expect("cancelled before the doors open");
    assert_eq!(
        expect_details(admit_anyway(&app, &early).await, Code::FailedPrecondition).reason,
        Some(Reason::OrderCancelled)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_admission_window_is_checked_and_kept_idempotent_by_add_product() {
    let app = spawn_app().await;
    let provider = register_provider(&mut app.client(), "http://127.0.0.1:9").await;
    let doors = Utc::now() + Duration::days(1);
    let end = doors + Duration::hours(3);
    let showtime =
        |start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>| pb::AddProductRequest {
            provider_id: Some(provider.clone()),
            external_ref: Some("showtime-7".into()),
            admission_start: start.map(timestamp),
            admission_end: end.map(timestamp),
            ..admitting(doors, doors + Duration::hours(1))
        };

    // An end before the start is refused, naming the field, and registers nothing:
    // the reference is still free for the right values.
    let backwards = add(&app, showtime(Some(end), Some(doors))).await;
    let details = expect_details(backwards, Code::InvalidArgument);
    assert_eq!(details.violations[0].field, "admission_end");

    let first = add(&app, showtime(Some(doors), Some(end)))
        .await
        .expect("added");
    let again = add(&app, showtime(Some(doors), Some(end)))
        .await
        .expect("a retry");
    assert_eq!(first, again);
    let moved = add(&app, showtime(Some(doors), Some(end + Duration::hours(1)))).await;
    assert_eq!(
        expect_details(moved, Code::AlreadyExists).reason,
        Some(Reason::AlreadyExists)
    );
    let dropped = add(&app, showtime(None, None)).await;
    expect_details(dropped, Code::AlreadyExists);
    let elsewhere = pb::AddProductRequest {
        admission_venue: "fenway".into(),
        ..showtime(Some(doors), Some(end))
    };
    expect_details(add(&app, elsewhere).await, Code::AlreadyExists);

    // A product registered before products had a window gets it from a provider's
    // retry, and from then on its holders wait for the doors.
    let mut old = showtime(None, None);
    old.external_ref = Some("showtime-8".into());
    let legacy = add(&app, old.clone()).await.expect("added");
    let confirmation = bought(&app, &[&legacy]).await;
    old.admission_start = Some(timestamp(doors));
    old.admission_end = Some(timestamp(end));
    assert_eq!(add(&app, old).await.expect("the retry"), legacy);
    assert_eq!(
        expect_details(admit(&app, &confirmation).await, Code::FailedPrecondition).reason,
        Some(Reason::AdmissionNotOpen)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_for_another_venue_is_refused_at_this_one() {
    let app = spawn_app().await;
    let now = Utc::now();
    let at_kendall = add(
        &app,
        pb::AddProductRequest {
            admission_venue: "kendall".into(),
            ..admitting(now - Duration::minutes(10), now + Duration::hours(2))
        },
    )
    .await
    .expect("added");
    let code = bought(&app, &[&at_kendall]).await;

    // At Fenway's door: refused, naming the venue, and nothing recorded; a window's
    // override does not change where the tickets are for.
    for overridden in [false, true] {
        let refused = admit_as(&app, &code, "fenway", overridden).await;
        let status = refused.as_ref().expect_err("another venue").clone();
        assert!(status.message().contains("\"kendall\""), "{status:?}");
        assert_eq!(
            expect_details(refused, Code::FailedPrecondition).reason,
            Some(Reason::WrongVenue)
        );
    }
    assert!(app.order(&code).await.admitted_at.is_none());
    // At Kendall's, it is let in.
    admit_as(&app, &code, "kendall", false)
        .await
        .expect("the right door");

    // A product without a venue is let in at any door; a door without one (a manager
    // letting someone in regardless) checks none.
    let anywhere = app.add_product("Popcorn", 10, 500).await;
    admit_as(&app, &bought(&app, &[&anywhere]).await, "fenway", false)
        .await
        .expect("any venue");
    admit(&app, &bought(&app, &[&at_kendall]).await)
        .await
        .expect("no venue named");

    // A venue is 1 to 200 characters.
    let long = admit_as(&app, &code, &"x".repeat(201), false).await;
    assert_eq!(
        expect_details(long, Code::InvalidArgument).violations[0].field,
        "venue"
    );
    let too_long = add(
        &app,
        pb::AddProductRequest {
            admission_venue: "x".repeat(201),
            ..admitting(now, now + Duration::hours(2))
        },
    )
    .await;
    assert_eq!(
        expect_details(too_long, Code::InvalidArgument).violations[0].field,
        "admission_venue"
    );
    app.stop().await;
}
