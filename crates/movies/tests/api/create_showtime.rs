use chrono::Duration;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn a_showtime_is_registered_as_a_product_with_one_unit_per_seat() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let start = hours_from_now(5);
    let showtime = stack.showtime(&movie, &theatre, "2", start).await;
    assert!(!showtime.product_id.is_empty());
    assert_eq!(
        stack.availability(&showtime.product_id).await,
        40,
        "auditorium 2 has 40 seats"
    );

    let (provider, external_ref, description, sales_end, doors, over, venue): (
        String,
        String,
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        String,
    ) = sqlx::query_as(
        "SELECT p.name, pr.external_ref, pr.description, pr.sales_end, pr.admission_start,
                pr.admission_end, pr.admission_venue
         FROM products pr JOIN providers p ON p.id = pr.provider_id
         WHERE pr.id = $1",
    )
    .bind(showtime.product_id.parse::<i64>().expect("id"))
    .fetch_one(stack.orders.as_ref().expect("orders").pool())
    .await
    .expect("product");
    assert_eq!(provider, "movies");
    assert_eq!(
        external_ref, showtime.id,
        "the showtime id is the external reference"
    );
    // What the orders service shows and texts: on the theatre's clock.
    let local = start.with_timezone(&chrono_tz::America::New_York);
    assert_eq!(
        description,
        format!(
            "Heat at Cambridge, auditorium 2, {}",
            local.format("%a %b %-d %-I:%M %p %Z")
        )
    );
    assert!(description.ends_with("EST") || description.ends_with("EDT"));
    assert_eq!(
        sales_end.timestamp_micros(),
        start.timestamp_micros(),
        "tickets are sold, and refunded, until the showtime starts"
    );
    // The box office lets their holders in at this theatre, from an hour before until
    // Heat's 170 minutes are over, and the showtime says when its doors open.
    assert_eq!(venue, theatre, "the theatre's id");
    assert_eq!(doors.timestamp(), (start - Duration::hours(1)).timestamp());
    assert_eq!(
        over.timestamp(),
        (start + Duration::minutes(170)).timestamp()
    );
    assert_eq!(
        showtime.doors_open.map(|t| t.seconds),
        Some(doors.timestamp())
    );
    stack.stop().await;
}

#[tokio::test]
async fn with_orders_down_create_showtime_is_unavailable_and_writes_nothing() {
    let stack = spawn_stack_without_orders().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let status = stack
        .admin
        .clone()
        .create_showtime(admin(showtime_request(
            &movie,
            &theatre,
            "1",
            hours_from_now(5),
        )))
        .await
        .expect_err("orders is down");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("orders"), "{status:?}");
    assert_eq!(stack.count("showtimes").await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn every_attempt_of_a_request_registers_its_product_under_the_same_showtime_id() {
    let stack = spawn_stack_without_orders().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let request = showtime_request(&movie, &theatre, "1", hours_from_now(5));
    // The orders service is down for both attempts: each got as far as calling it.
    for _ in 0..2 {
        let status = stack
            .admin
            .clone()
            .create_showtime(admin(request.clone()))
            .await
            .expect_err("orders is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    // One id, reserved for the request id: the product a retry registers is the one an
    // unfinished attempt may already have registered, never a second one.
    let reserved: Vec<(String, i64)> =
        sqlx::query_as("SELECT request_id, showtime_id FROM showtime_reservations")
            .fetch_all(stack.movies.pool())
            .await
            .expect("reservations");
    assert_eq!(reserved.len(), 1, "{reserved:?}");
    assert_eq!(reserved[0].0, request.request_id);
    stack.stop().await;
}

#[tokio::test]
async fn retrying_with_the_same_request_id_creates_one_showtime_and_one_product() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let request = showtime_request(&movie, &theatre, "1", hours_from_now(5));

    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let mut admin_client = stack.admin.clone();
        let request = request.clone();
        racing.spawn(async move { admin_client.create_showtime(admin(request)).await });
    }
    let mut created = Vec::new();
    while let Some(result) = racing.join_next().await {
        created.push(result.expect("task").expect("created").into_inner());
    }
    created.dedup();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(stack.count("showtimes").await, 1);
    assert_eq!(stack.orders_products().await, 1);

    let mut changed = request.clone();
    changed.price_cents = 999;
    let status = stack
        .admin
        .clone()
        .create_showtime(admin(changed))
        .await
        .expect_err("conflict");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(
        cinema_proto::error::Details::of(&status).reason,
        Some(cinema_proto::error::Reason::RequestIdReused),
        "{status:?}"
    );
    assert_eq!(stack.count("showtimes").await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn showtimes_may_not_overlap_in_one_auditorium() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await; // 170 min + 15 min cleaning = 185 min
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let start = hours_from_now(5);
    stack.showtime(&movie, &theatre, "1", start).await;

    for (label, offset) in [
        ("during", 60),
        ("during cleaning", 180),
        ("just before", -10),
    ] {
        let status = stack
            .admin
            .clone()
            .create_showtime(admin(showtime_request(
                &movie,
                &theatre,
                "1",
                start + Duration::minutes(offset),
            )))
            .await
            .expect_err(label);
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{label}: {status:?}"
        );
        assert!(status.message().contains("busy"), "{label}: {status:?}");
    }
    // The other room, and right after cleaning, are free.
    stack.showtime(&movie, &theatre, "2", start).await;
    stack
        .showtime(&movie, &theatre, "1", start + Duration::minutes(185))
        .await;
    assert_eq!(stack.count("showtimes").await, 3);
    assert_eq!(
        stack.orders_products().await,
        3,
        "no product for refused showtimes"
    );
    stack.stop().await;
}
