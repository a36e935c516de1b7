use chrono::Duration;
use cinema_movies::scheduling::DoorRules;
use cinema_proto::error::ErrorKind;
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
        // Said on the theatre's clock, the one its operator schedules by.
        let local = |t: chrono::DateTime<chrono::Utc>| {
            let t = t.with_timezone(&chrono_tz::America::New_York);
            t.format("%a %b %-d %H:%M %Z").to_string()
        };
        let busy = format!(
            "auditorium \"1\" is busy from {} to {} with showtime ",
            local(start),
            local(start + Duration::minutes(185))
        );
        assert!(status.message().starts_with(&busy), "{label}: {status:?}");
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

/// An upgrade from before the orders service kept the door's rules finds showtimes on
/// sale whose products lack them, so that their codes would be let in at any time and
/// any theatre: the movies service registers their tickets again, as CreateShowtime
/// does now, once.
#[tokio::test]
async fn showtimes_sold_before_the_door_had_rules_are_given_them_once() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let tonight = stack
        .showtime(&movie, &theatre, "2", hours_from_now(5))
        .await;
    let later = stack
        .showtime(&movie, &theatre, "2", hours_from_now(10))
        .await;
    let over = stack
        .showtime(&movie, &theatre, "1", hours_from_now(5))
        .await;
    let as_created = stack.door_rules(&tonight.product_id).await;
    assert!(as_created.is_some(), "CreateShowtime registers the rules");

    // What the upgrade finds: products without the rules, and showtimes not marked as
    // having them ...
    let orders = stack.orders.as_ref().expect("orders").pool();
    sqlx::query(
        "UPDATE products SET admission_start = NULL, admission_end = NULL, admission_venue = NULL",
    )
    .execute(orders)
    .await
    .expect("rules forgotten");
    sqlx::query("UPDATE showtimes SET door_rules_registered = false")
        .execute(stack.movies.pool())
        .await
        .expect("marked to do");
    // ... one of them for a movie that is over (nobody is let in for it any more) ...
    sqlx::query(
        "UPDATE showtimes SET start_time = start_time - interval '10 hours',
                              busy_until = busy_until - interval '10 hours'
         WHERE id = $1",
    )
    .bind(over.id.parse::<i64>().expect("id"))
    .execute(stack.movies.pool())
    .await
    .expect("moved into the past");
    // ... and one registered with the description products had before 20261206.
    sqlx::query(
        "UPDATE products SET description = 'Heat at theatre 1, auditorium 2' WHERE id = $1",
    )
    .bind(later.product_id.parse::<i64>().expect("id"))
    .execute(orders)
    .await
    .expect("old description");
    let pending = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM showtimes WHERE NOT door_rules_registered",
        )
        .fetch_one(stack.movies.pool())
        .await
        .expect("count")
    };

    // With the orders service down it fails as a retry's business and marks nothing.
    let dead = dead_endpoint();
    let unreachable = stack.scheduler_with_orders_at(&dead.url);
    let error = unreachable
        .register_missing_door_rules()
        .await
        .expect_err("orders is down");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert_eq!(pending().await, 3);

    let done = stack
        .scheduler()
        .register_missing_door_rules()
        .await
        .expect("registered");
    assert_eq!(
        done,
        DoorRules {
            registered: 1,
            refused: 1
        }
    );
    assert_eq!(
        stack.door_rules(&tonight.product_id).await,
        as_created,
        "the rules CreateShowtime registers"
    );
    assert_eq!(
        stack.door_rules(&later.product_id).await,
        None,
        "a product on record with other values is not changed"
    );
    assert_eq!(stack.door_rules(&over.product_id).await, None);
    assert_eq!(
        pending().await,
        2,
        "the refused one and the one that is over"
    );

    // What is done stays done; the refused one is tried again at the next start.
    let again = stack
        .scheduler()
        .register_missing_door_rules()
        .await
        .expect("again");
    assert_eq!(
        again,
        DoorRules {
            registered: 0,
            refused: 1
        }
    );

    // A movies service does it by itself when it starts.
    sqlx::query(
        "UPDATE products SET admission_start = NULL, admission_end = NULL, admission_venue = NULL
         WHERE id = $1",
    )
    .bind(tonight.product_id.parse::<i64>().expect("id"))
    .execute(orders)
    .await
    .expect("rules forgotten again");
    sqlx::query("UPDATE showtimes SET door_rules_registered = false WHERE id = $1")
        .bind(tonight.id.parse::<i64>().expect("id"))
        .execute(stack.movies.pool())
        .await
        .expect("marked to do again");
    let replica = stack.another_movies_replica().await;
    // It registers in the background while it serves: wait for it, a while at most.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while stack.door_rules(&tonight.product_id).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a starting movies service registers the rules"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(stack.door_rules(&tonight.product_id).await, as_created);
    replica.stop().await.expect("replica stops");
    stack.stop().await;
}
