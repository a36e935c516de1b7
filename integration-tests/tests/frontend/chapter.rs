//! The chapter's tests, made strict.

use cinema_client::NewOrder;
use cinema_client::movies_pb as movies;
use cinema_client::orders_pb as orders;
use cinema_integration_tests::Stack;

use crate::fixtures::*;

#[tokio::test]
async fn adding_a_product_returns_its_id() {
    let stack = Stack::start().await.expect("stack");
    let id = stack
        .cinema
        .orders()
        .add_product(orders::AddProductRequest {
            description: "My test product".into(),
            quantity: 10,
            price_cents: 1000,
            ..Default::default()
        })
        .await
        .expect("added");
    let availability = stack
        .cinema
        .orders()
        .availability(&[&id])
        .await
        .expect("availability");
    assert_eq!(availability[0].quantity_remaining, 10);
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn an_order_of_one_product_four_times_at_1000_cents_costs_4000() {
    let stack = Stack::start().await.expect("stack");
    let product = stack
        .cinema
        .orders()
        .add_product(orders::AddProductRequest {
            description: "My test product".into(),
            quantity: 50,
            price_cents: 1000,
            ..Default::default()
        })
        .await
        .expect("added");
    let line = orders::OrderItem {
        product_id: product.clone(),
        quantity: 1,
    };
    let placed = stack
        .cinema
        .orders()
        .place_order(NewOrder {
            items: vec![line.clone(), line.clone(), line.clone(), line],
            payment: visa(),
            phone: None,
            hold_id: None,
        })
        .await
        .expect("order placed");
    assert!(!placed.confirmation.is_empty());
    assert_eq!(placed.price_cents, 4000);
    assert_eq!(placed.line_items.len(), 1);
    assert_eq!(placed.line_items[0].quantity, 4);
    let order = stack
        .cinema
        .orders()
        .get_order(&placed.confirmation)
        .await
        .expect("found");
    assert_eq!(order.total_cents, 4000);
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn creating_a_showtime_gives_it_a_product_id() {
    let stack = Stack::start().await.expect("stack");
    let movie = movie(&stack.cinema, "Heat", 170).await;
    let theatre = theatre(&stack.cinema, "Kendall", "02139", 60).await;
    let showtime = showtime(&stack.cinema, &movie.id, &theatre.id, "2", 4).await;
    assert!(!showtime.product_id.is_empty());
    let availability = stack
        .cinema
        .orders()
        .availability(&[&showtime.product_id])
        .await
        .expect("the product exists");
    assert_eq!(availability[0].quantity_remaining, 60);
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn get_showtimes_for_a_zip_two_theatres_and_three_movies_returns_exactly_the_matches() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let [heat, alien, brazil, dune] = [
        movie(c, "Heat", 170).await,
        movie(c, "Alien", 117).await,
        movie(c, "Brazil", 132).await,
        movie(c, "Dune", 155).await,
    ];
    let kendall = theatre(c, "Kendall", "02139", 80).await;
    let fenway = theatre(c, "Fenway", "02115", 80).await;
    let somerville = theatre(c, "Somerville", "02144", 80).await;
    let manhattan = theatre(c, "Manhattan", "10001", 80).await;

    let mut expected = Vec::new();
    expected.push(showtime(c, &heat.id, &kendall.id, "1", 3).await.id);
    expected.push(showtime(c, &alien.id, &kendall.id, "2", 3).await.id);
    expected.push(showtime(c, &alien.id, &fenway.id, "1", 5).await.id);
    expected.push(showtime(c, &heat.id, &fenway.id, "2", 26).await.id);
    // Brazil plays only at a theatre outside the filter.
    showtime(c, &brazil.id, &somerville.id, "1", 3).await;
    // Not one of the three movies asked for.
    showtime(c, &dune.id, &kendall.id, "1", 30).await;
    // Too far away.
    showtime(c, &heat.id, &manhattan.id, "1", 3).await;

    let result = c
        .movies()
        .get_showtimes(movies::GetShowtimesRequest {
            zip_code: Some("02139".into()),
            theatre_ids: vec![kendall.id.clone(), fenway.id.clone()],
            movie_ids: vec![heat.id.clone(), alien.id.clone(), brazil.id.clone()],
            ..Default::default()
        })
        .await
        .expect("showtimes");
    assert_eq!(
        sorted(result.showtimes.iter().map(|s| s.id.clone()).collect()),
        sorted(expected)
    );
    let movie_names: Vec<_> = result.movies.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        movie_names,
        vec!["Alien", "Heat"],
        "each once, by name; Brazil has no match"
    );
    let theatre_names: Vec<_> = result.theatres.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        theatre_names,
        vec!["Kendall", "Fenway"],
        "each once, nearest first"
    );
    assert!(result.next_page_token.is_empty());
    stack.stop().await.expect("stops");
}

#[tokio::test]
async fn showtimes_at_theatre_groups_the_theatres_showtimes_by_movie() {
    let stack = Stack::start().await.expect("stack");
    let c = &stack.cinema;
    let heat = movie(c, "Heat", 170).await;
    let alien = movie(c, "Alien", 117).await;
    let kendall = theatre(c, "Kendall", "02139", 80).await;
    let fenway = theatre(c, "Fenway", "02115", 80).await;
    let heat_late = showtime(c, &heat.id, &kendall.id, "1", 8).await;
    let heat_early = showtime(c, &heat.id, &kendall.id, "2", 2).await;
    let alien_at_kendall = showtime(c, &alien.id, &kendall.id, "1", 2).await;
    showtime(c, &alien.id, &fenway.id, "1", 2).await;

    let groups = c.showtimes_at_theatre(&kendall.id).await.expect("grouped");
    let summary: Vec<(String, Vec<String>)> = groups
        .iter()
        .map(|g| {
            (
                g.movie.name.clone(),
                g.showtimes.iter().map(|s| s.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Alien".to_owned(), vec![alien_at_kendall.id]),
            ("Heat".to_owned(), vec![heat_early.id, heat_late.id]),
        ]
    );
    assert!(
        groups
            .iter()
            .flat_map(|g| &g.showtimes)
            .all(|s| s.theatre.id == kendall.id)
    );
    stack.stop().await.expect("stops");
}
