//! An operator calls a showing off: its orders are cancelled and refunded by the orders
//! service first, then it leaves every listing and its auditorium is free again.

use cinema_proto::error::Reason;
use cinema_proto::movies::v1 as pb;
use cinema_proto::orders::v1 as orders_pb;
use tonic::Code;

use crate::callbacks::{callbacks, listed, visa, with_token};
use crate::helpers::*;

async fn cancel(stack: &TestStack, id: &str) -> Result<pb::CancelShowtimeResponse, tonic::Status> {
    stack
        .admin
        .clone()
        .cancel_showtime(admin(pb::CancelShowtimeRequest {
            showtime_id: id.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(stack: &TestStack, id: &str) -> pb::GetShowtimeResponse {
    stack
        .public
        .clone()
        .get_showtime(pb::GetShowtimeRequest { id: id.into() })
        .await
        .expect("showtime")
        .into_inner()
}

async fn buy(stack: &TestStack, showtime: &pb::Showtime, seats: i64) -> String {
    stack
        .orders_client()
        .place_order(orders_pb::PlaceOrderRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![orders_pb::OrderItem {
                product_id: showtime.product_id.clone(),
                quantity: seats,
            }],
            payment: Some(visa()),
            customer: None,
            hold_id: String::new(),
        })
        .await
        .expect("bought")
        .into_inner()
        .confirmation
}

async fn order(stack: &TestStack, confirmation: &str) -> orders_pb::Order {
    stack
        .orders_client()
        .get_order(orders_pb::GetOrderRequest {
            confirmation: confirmation.into(),
        })
        .await
        .expect("order")
        .into_inner()
        .order
        .expect("order")
}

#[tokio::test]
async fn a_cancelled_showtime_is_refunded_delisted_and_frees_its_auditorium() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let start = hours_from_now(30);
    let scheduled = showtime_request(&movie, &theatre, "1", start);
    let schedule = || {
        let mut admin_client = stack.admin.clone();
        let request = scheduled.clone();
        async move { admin_client.create_showtime(admin(request)).await }
    };
    let called_off = schedule()
        .await
        .expect("scheduled")
        .into_inner()
        .showtime
        .expect("showtime");
    let kept = stack
        .showtime(&movie, &theatre, "2", hours_from_now(50))
        .await;
    let bought = [
        buy(&stack, &called_off, 2).await,
        buy(&stack, &called_off, 3).await,
    ];
    let elsewhere = buy(&stack, &kept, 1).await;

    let cancelled = cancel(&stack, &called_off.id).await.expect("cancelled");
    assert_eq!(cancelled.orders_cancelled, 2);
    assert_eq!(cancelled.showtime.as_ref(), Some(&called_off));
    for confirmation in &bought {
        let order = order(&stack, confirmation).await;
        assert_eq!(order.status(), orders_pb::OrderStatus::Cancelled);
        assert!(order.cancelled_by_provider, "{order:?}");
    }
    assert_eq!(
        order(&stack, &elsewhere).await.status(),
        orders_pb::OrderStatus::Placed
    );
    // Gone from the listings; its own page says when it was called off.
    assert!(!listed(&stack, &called_off.id).await);
    assert!(listed(&stack, &kept.id).await);
    let shown = get(&stack, &called_off.id).await;
    assert_eq!(shown.cancelled_at, cancelled.cancelled_at);
    assert!(shown.sold_out);
    assert_eq!(get(&stack, &kept.id).await.cancelled_at, None);
    // A late availability event (a hold given back before the withdrawal) does not
    // bring it back.
    callbacks(&stack)
        .product_available(with_token(
            orders_pb::ProductAvailableRequest {
                event_id: "late".into(),
                product_id: called_off.product_id.clone(),
                external_ref: called_off.id.clone(),
                remaining: 100,
                occurred_at: None,
                sequence: 1_000,
            },
            CALLBACK_TOKEN,
        ))
        .await
        .expect("acknowledged");
    assert!(!listed(&stack, &called_off.id).await);

    // Asked again: the same answer, nothing more done.
    let again = cancel(&stack, &called_off.id).await.expect("again");
    assert_eq!(again, cancelled);
    // Its scheduling, run again with the same key, does not pass it off as on.
    let replayed = schedule().await.expect_err("refused");
    assert_eq!(replayed.code(), Code::AlreadyExists);
    assert!(
        replayed.message().contains(&format!(
            "showtime {}, made under this request_id, has been cancelled",
            called_off.id
        )),
        "{}",
        replayed.message()
    );
    // Its auditorium is free: the same movie may be scheduled there at that time.
    let replacement = stack.showtime(&movie, &theatre, "1", start).await;
    assert_ne!(replacement.id, called_off.id);
    assert!(listed(&stack, &replacement.id).await);
    stack.stop().await;
}

#[tokio::test]
async fn a_showtime_is_cancelled_only_by_an_admin_only_while_it_can_be_and_only_whole() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let showtime = stack
        .showtime(&movie, &theatre, "1", hours_from_now(30))
        .await;
    let confirmation = buy(&stack, &showtime, 2).await;

    let anonymous = stack
        .admin
        .clone()
        .cancel_showtime(pb::CancelShowtimeRequest {
            showtime_id: showtime.id.clone(),
        })
        .await
        .expect_err("refused");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let bad = cancel(&stack, "tonight").await.expect_err("refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("showtime_id"), "{}", bad.message());
    let unknown = cancel(&stack, "999999").await.expect_err("refused");
    assert_eq!(unknown.code(), Code::NotFound);

    // The orders service unreachable: nothing changes here, and the order stands.
    let dead = dead_endpoint();
    let unreachable = stack
        .scheduler_with_orders_at(&dead.url)
        .cancel_showtime(cinema_movies::domain::ShowtimeId::parse(&showtime.id).expect("id"))
        .await
        .expect_err("unavailable");
    assert_eq!(tonic::Status::from(unreachable).code(), Code::Unavailable);
    assert!(listed(&stack, &showtime.id).await);
    assert_eq!(get(&stack, &showtime.id).await.cancelled_at, None);
    assert_eq!(
        order(&stack, &confirmation).await.status(),
        orders_pb::OrderStatus::Placed
    );

    // Once the movie is over its tickets were used: it is not cancelled, nor refunded.
    sqlx::query(
        "UPDATE showtimes SET start_time = now() - interval '4 hours',
                              busy_until = now() - interval '1 hour'
         WHERE id = $1",
    )
    .bind(showtime.id.parse::<i64>().expect("id"))
    .execute(stack.movies.pool())
    .await
    .expect("the movie is over");
    let over = cancel(&stack, &showtime.id).await.expect_err("refused");
    assert_eq!(over.code(), Code::FailedPrecondition);
    assert_eq!(
        cinema_proto::error::Details::of(&over).reason,
        Some(Reason::AdmissionClosed)
    );
    assert_eq!(
        order(&stack, &confirmation).await.status(),
        orders_pb::OrderStatus::Placed
    );
    stack.stop().await;
}
