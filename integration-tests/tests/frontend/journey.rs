//! The whole journey, as a front-end drives it.

use std::time::Duration;

use cinema_client::{ClientError, Near, Reason, Resource};
use cinema_integration_tests::{Stack, eventually};

use crate::fixtures::*;

const DEADLINE: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_customer_finds_a_movie_buys_the_last_seats_and_a_cancellation_brings_them_back() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;

    // The admin builds the catalogue.
    let heat = movie(c, "Heat", 170).await;
    let alien = movie(c, "Alien", 117).await;
    let kendall = theatre(c, "Kendall", "02139", 3).await;
    let fenway = theatre(c, "Fenway", "02115", 3).await;
    let small = showtime(c, &heat.id, &kendall.id, "2", 4).await; // 3 seats
    let big = showtime(c, &heat.id, &fenway.id, "1", 6).await;
    showtime(c, &alien.id, &kendall.id, "1", 4).await;

    // Home page: what is on near 02139?
    let current = c
        .current_movies(Some(&Near::zip("02139")))
        .await
        .expect("home page");
    assert_eq!(
        current.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        vec!["Alien", "Heat"]
    );

    // Where is Heat playing?
    let near = c
        .showtimes_for_movie_near(&heat.id, &Near::zip("02139"))
        .await
        .expect("near");
    let theatres: Vec<_> = near.iter().map(|t| t.theatre.name.as_str()).collect();
    assert_eq!(theatres, vec!["Kendall", "Fenway"]);
    let picked = near[0].showtimes[0].clone();
    assert_eq!(picked.id, small.id);

    // Buy every seat left.
    let placed = c
        .orders()
        .place_order(tickets(&picked.product_id, 3))
        .await
        .expect("bought");
    assert_eq!(placed.price_cents, 3 * 1250);
    let error = c
        .orders()
        .place_order(tickets(&picked.product_id, 1))
        .await
        .expect_err("no seat left");
    assert!(matches!(error, ClientError::SoldOut(_)), "{error:?}");
    // The client says why and which product, from the error's details.
    assert_eq!(error.reason(), Some(Reason::OutOfStock));
    assert_eq!(
        error.resource(),
        Some(&Resource::new("product", &picked.product_id))
    );

    // The sold-out showtime disappears from every façade; the other stays.
    eventually("the sold-out showtime to disappear", DEADLINE, || async {
        let near = c
            .showtimes_for_movie_near(&heat.id, &Near::zip("02139"))
            .await
            .ok()?;
        let at_kendall = c.showtimes_at_theatre(&kendall.id).await.ok()?;
        let gone = near
            .iter()
            .flat_map(|t| &t.showtimes)
            .all(|s| s.id != small.id)
            && at_kendall
                .iter()
                .flat_map(|m| &m.showtimes)
                .all(|s| s.id != small.id);
        gone.then_some(())
    })
    .await;
    let near = c
        .showtimes_for_movie_near(&heat.id, &Near::zip("02139"))
        .await
        .expect("near");
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].showtimes[0].id, big.id);

    // A cancellation brings it back.
    let cancelled = c
        .orders()
        .cancel_order(&placed.confirmation)
        .await
        .expect("cancelled");
    assert_eq!(
        cancelled.status(),
        cinema_client::orders_pb::OrderStatus::Cancelled
    );
    eventually("the showtime to come back", DEADLINE, || async {
        let at_kendall = c.showtimes_at_theatre(&kendall.id).await.ok()?;
        at_kendall
            .iter()
            .flat_map(|m| &m.showtimes)
            .any(|s| s.id == small.id)
            .then_some(())
    })
    .await;
    let left = c
        .orders()
        .availability(&[&small.product_id])
        .await
        .expect("availability");
    assert_eq!(left[0].quantity_remaining, 3);
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn errors_reach_the_front_end_as_what_went_wrong() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    assert!(matches!(
        c.movies().get_movie("424242").await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        c.showtimes_for_movie_near("1", &Near::zip("99999")).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(
        matches!(c.showtimes_for_movie_near("1", &Near::zip("2139")).await, Err(ClientError::InvalidInput(m)) if m.message.contains("zip_code"))
    );
    assert!(matches!(
        c.orders().get_order("ABCDEFGHJK").await,
        Err(ClientError::NotFound(_))
    ));

    // Admin calls without the credential.
    let anonymous = cinema_client::Cinema::connect(cinema_client::ClientConfig::new(
        format!("http://{}", stack.movies.local_addr()),
        format!("http://{}", stack.orders.local_addr()),
    ))
    .expect("client");
    let error = anonymous
        .admin()
        .create_movie(cinema_client::movies_pb::CreateMovieRequest {
            name: "X".into(),
            length_minutes: 90,
            rating: cinema_client::movies_pb::Rating::G.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        })
        .await
        .expect_err("refused");
    assert!(
        matches!(error, ClientError::Unauthenticated(_)),
        "{error:?}"
    );
    stack.stop().await.expect("stops");
}
