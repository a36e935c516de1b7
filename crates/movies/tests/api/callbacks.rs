//! The orders service tells us when showtimes sell out, and when they come back.

use std::time::Duration;

use cinema_proto::movies::v1 as pb;
use cinema_proto::orders::v1 as orders_pb;
use cinema_proto::orders::v1::product_provider_service_client::ProductProviderServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(15);

pub(crate) fn visa() -> orders_pb::Payment {
    orders_pb::Payment {
        method: Some(orders_pb::payment::Method::CreditCard(
            orders_pb::CreditCard {
                brand: orders_pb::CardBrand::Visa.into(),
                number: "4111111111111111".into(),
                expiration_month: 12,
                expiration_year: 2030,
                billing_address: Some(orders_pb::Address {
                    line_1: "1 Main St".into(),
                    line_2: String::new(),
                    city: "Cambridge".into(),
                    state: "MA".into(),
                    zip_code: "02139".into(),
                }),
                security_code: "123".into(),
            },
        )),
    }
}

pub(crate) async fn listed(stack: &TestStack, showtime: &str) -> bool {
    stack
        .get_showtimes(pb::GetShowtimesRequest::default())
        .await
        .showtimes
        .iter()
        .any(|s| s.id == showtime)
}

#[tokio::test]
async fn a_sold_out_showtime_disappears_and_a_cancellation_brings_it_back() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let showtime = stack
        .showtime(&movie, &theatre, "2", hours_from_now(5))
        .await; // 40 seats
    assert!(listed(&stack, &showtime.id).await);

    let order = stack
        .orders_client()
        .place_order(orders_pb::PlaceOrderRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![orders_pb::OrderItem {
                product_id: showtime.product_id.clone(),
                quantity: 40,
            }],
            payment: Some(visa()),
            customer: None,
            hold_id: String::new(),
        })
        .await
        .expect("all 40 seats")
        .into_inner();
    eventually("the showtime to be delisted", DEADLINE, || async {
        (!listed(&stack, &showtime.id).await).then_some(())
    })
    .await;

    stack
        .orders_client()
        .cancel_order(orders_pb::CancelOrderRequest {
            confirmation: order.confirmation,
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("cancelled");
    eventually("the showtime to be listed again", DEADLINE, || async {
        listed(&stack, &showtime.id).await.then_some(())
    })
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn the_movies_service_registers_itself_with_orders_at_start_up() {
    let stack = spawn_stack().await;
    let orders_pool = stack.orders.as_ref().expect("orders").pool().clone();
    let endpoint: String = eventually("registration", DEADLINE, || async {
        sqlx::query_scalar("SELECT callback_endpoint FROM providers WHERE name = 'movies'")
            .fetch_optional(&orders_pool)
            .await
            .expect("query")
    })
    .await;
    assert_eq!(endpoint, format!("http://{}", stack.movies.local_addr()));
    stack.stop().await;
}

pub(crate) fn callbacks(stack: &TestStack) -> ProductProviderServiceClient<Channel> {
    ProductProviderServiceClient::new(
        Channel::from_shared(format!("http://{}", stack.movies.local_addr()))
            .expect("uri")
            .connect_lazy(),
    )
}

fn sold_out(showtime: &pb::Showtime, sequence: u64) -> orders_pb::ProductSoldOutRequest {
    orders_pb::ProductSoldOutRequest {
        event_id: format!("e-{sequence}"),
        product_id: showtime.product_id.clone(),
        external_ref: showtime.id.clone(),
        occurred_at: None,
        sequence,
    }
}

pub(crate) fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    request
}

#[tokio::test]
async fn forged_callbacks_are_refused_and_change_nothing() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let showtime = stack
        .showtime(&movie, &theatre, "1", hours_from_now(5))
        .await;

    let status = callbacks(&stack)
        .product_sold_out(Request::new(sold_out(&showtime, 1)))
        .await
        .expect_err("no credential");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = callbacks(&stack)
        .product_sold_out(with_token(sold_out(&showtime, 1), "forged"))
        .await
        .expect_err("wrong credential");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        listed(&stack, &showtime.id).await,
        "the showtime is unchanged"
    );

    // A callback for a product that is not this showtime's is refused too.
    let mut wrong_product = sold_out(&showtime, 1);
    wrong_product.product_id = "999999".into();
    let status = callbacks(&stack)
        .product_sold_out(with_token(wrong_product, CALLBACK_TOKEN))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    assert!(listed(&stack, &showtime.id).await);
    stack.stop().await;
}

#[tokio::test]
async fn callbacks_are_idempotent_and_an_older_event_never_wins() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let showtime = stack
        .showtime(&movie, &theatre, "1", hours_from_now(5))
        .await;
    let mut client = callbacks(&stack);

    // Sold out at sequence 5, twice.
    for _ in 0..2 {
        client
            .product_sold_out(with_token(sold_out(&showtime, 5), CALLBACK_TOKEN))
            .await
            .expect("applied");
        assert!(!listed(&stack, &showtime.id).await);
    }
    // A late "available" from before the sell-out (sequence 3) changes nothing.
    let stale = orders_pb::ProductAvailableRequest {
        event_id: "e-3".into(),
        product_id: showtime.product_id.clone(),
        external_ref: showtime.id.clone(),
        remaining: 4,
        occurred_at: None,
        sequence: 3,
    };
    client
        .product_available(with_token(stale.clone(), CALLBACK_TOKEN))
        .await
        .expect("acknowledged");
    assert!(
        !listed(&stack, &showtime.id).await,
        "an older event must not undo a newer one"
    );
    // A newer one does.
    client
        .product_available(with_token(
            orders_pb::ProductAvailableRequest {
                sequence: 6,
                ..stale
            },
            CALLBACK_TOKEN,
        ))
        .await
        .expect("applied");
    assert!(listed(&stack, &showtime.id).await);
    stack.stop().await;
}
