use chrono::Duration;
use cinema_proto::movies::v1 as pb;
use tonic::Code;

use crate::helpers::*;

/// Cambridge, MA (ZIP 02139) per the seeded ZIP table.
const CAMBRIDGE: (f64, f64) = (42.3647, -71.1042);
/// Miles per degree of latitude.
const MILES_PER_DEGREE: f64 = 69.05;

fn north_of_cambridge(miles: f64) -> Option<(f64, f64)> {
    Some((CAMBRIDGE.0 + miles / MILES_PER_DEGREE, CAMBRIDGE.1))
}

/// A degree of longitude spans fewer miles away from the equator.
fn east_of_cambridge(miles: f64) -> Option<(f64, f64)> {
    let per_degree = MILES_PER_DEGREE * CAMBRIDGE.0.to_radians().cos();
    Some((CAMBRIDGE.0, CAMBRIDGE.1 + miles / per_degree))
}

fn near(zip: &str, radius: Option<f64>) -> pb::GetShowtimesRequest {
    pb::GetShowtimesRequest {
        zip_code: Some(zip.into()),
        radius_miles: radius,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_zip_filter_keeps_theatres_within_the_radius_nearest_first() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let here = stack.theatre("Here", "02139", None).await;
    let ten = stack
        .theatre("Ten miles", "02139", north_of_cambridge(10.0))
        .await;
    let twenty = stack
        .theatre("Twenty miles", "02139", north_of_cambridge(20.0))
        .await;
    let nyc = stack.theatre("Manhattan", "10001", None).await;
    for theatre in [&here, &ten, &twenty, &nyc] {
        stack
            .showtime(&movie, theatre, "1", hours_from_now(3))
            .await;
    }

    let result = stack.get_showtimes(near("02139", None)).await;
    let theatres: Vec<_> = result.theatres.iter().map(|t| t.id.clone()).collect();
    assert_eq!(
        theatres,
        vec![here.clone(), ten.clone()],
        "nearest first, 15 miles by default"
    );
    let distances: Vec<f64> = result
        .theatres
        .iter()
        .map(|t| t.distance_miles.expect("distance"))
        .collect();
    assert!(distances[0] < 0.01, "{distances:?}");
    assert!((distances[1] - 10.0).abs() < 0.1, "{distances:?}");
    assert_eq!(result.showtimes.len(), 2);

    // At the edge of the circle, in both directions: the latitude/longitude box that
    // narrows the search must not cut into it (a degree of longitude is shorter here).
    let edge_north = stack
        .theatre("Edge north", "02139", north_of_cambridge(14.8))
        .await;
    let edge_east = stack
        .theatre("Edge east", "02139", east_of_cambridge(14.8))
        .await;
    let past_east = stack
        .theatre("Past east", "02139", east_of_cambridge(15.3))
        .await;
    for theatre in [&edge_north, &edge_east, &past_east] {
        stack
            .showtime(&movie, theatre, "1", hours_from_now(3))
            .await;
    }
    let at_edge = stack.get_showtimes(near("02139", None)).await;
    assert_eq!(
        ids(&at_edge.theatres, |t| &t.id),
        sorted(vec![
            here.clone(),
            ten.clone(),
            edge_north.clone(),
            edge_east.clone()
        ])
    );

    let wider = stack.get_showtimes(near("02139", Some(25.0))).await;
    assert_eq!(
        ids(&wider.theatres, |t| &t.id),
        sorted(vec![
            here.clone(),
            ten.clone(),
            twenty.clone(),
            edge_north,
            edge_east,
            past_east
        ])
    );

    let everywhere = stack
        .get_showtimes(pb::GetShowtimesRequest::default())
        .await;
    assert_eq!(everywhere.theatres.len(), 7);
    assert!(
        everywhere
            .theatres
            .iter()
            .all(|t| t.distance_miles.is_none())
    );

    let unknown = stack
        .public
        .clone()
        .get_showtimes(near("99999", None))
        .await;
    assert!(
        unknown
            .expect_err("unknown zip")
            .message()
            .contains("99999")
    );
    for (zip, radius) in [
        ("0213", None),
        ("ABCDE", None),
        ("02139", Some(0.0)),
        ("02139", Some(100.5)),
    ] {
        let status = stack
            .public
            .clone()
            .get_showtimes(near(zip, radius))
            .await
            .expect_err("invalid");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{zip} {radius:?}: {status:?}"
        );
    }
    let status = stack
        .public
        .clone()
        .get_showtimes(near("99999", None))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    stack.stop().await;
}

async fn theatres_near(
    stack: &TestStack,
    zip: &str,
    radius: Option<f64>,
) -> Result<Vec<pb::Theatre>, tonic::Status> {
    stack
        .public
        .clone()
        .list_theatres_near(pb::ListTheatresNearRequest {
            zip_code: zip.into(),
            radius_miles: radius,
        })
        .await
        .map(|r| r.into_inner().theatres)
}

#[tokio::test]
async fn theatres_near_a_zip_are_listed_nearest_first_showing_or_not() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    // Two at the same spot: the nearer-first order falls back to the name.
    let zeta = stack.theatre("Zeta", "02139", None).await;
    let alpha = stack.theatre("Alpha", "02139", None).await;
    let ten = stack
        .theatre("Ten miles", "02139", north_of_cambridge(10.0))
        .await;
    let twenty = stack
        .theatre("Twenty miles", "02139", north_of_cambridge(20.0))
        .await;
    let _nyc = stack.theatre("Manhattan", "10001", None).await;
    // Only one has anything on: a theatre is listed whether or not it shows something.
    stack.showtime(&movie, &ten, "1", hours_from_now(3)).await;

    let near = theatres_near(&stack, "02139", None).await.expect("near");
    assert_eq!(
        ids_in_order(&near),
        vec![alpha.clone(), zeta.clone(), ten.clone()],
        "within 15 miles by default, nearest first, then by name"
    );
    let distances: Vec<f64> = near
        .iter()
        .map(|t| t.distance_miles.expect("distance"))
        .collect();
    assert!(distances[0] < 0.01 && distances[1] < 0.01, "{distances:?}");
    assert!((distances[2] - 10.0).abs() < 0.1, "{distances:?}");
    assert_eq!(near[0].name, "Alpha");
    assert_eq!(near[0].auditoriums.len(), 2, "with its auditoriums");
    assert_eq!(near[0].time_zone, "America/New_York");

    let wider = theatres_near(&stack, "02139-4307", Some(25.0))
        .await
        .expect("a ZIP+4 and a wider radius");
    assert_eq!(ids_in_order(&wider), vec![alpha, zeta, ten, twenty]);
    // Somewhere with no theatre near: an empty list, not an error.
    let nothing = theatres_near(&stack, "98101", None).await.expect("Seattle");
    assert!(nothing.is_empty());

    let unknown = theatres_near(&stack, "99999", None)
        .await
        .expect_err("unknown ZIP");
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("99999"), "{unknown:?}");
    for (zip, radius, field) in [
        ("", None, "zip_code"),
        ("0213", None, "zip_code"),
        ("02139", Some(0.0), "radius_miles"),
        ("02139", Some(100.5), "radius_miles"),
    ] {
        let status = theatres_near(&stack, zip, radius)
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{zip} {radius:?}");
        assert!(status.message().contains(field), "{zip}: {status:?}");
    }
    stack.stop().await;
}

/// Every theatre, showing or not, page after page by id (for a site map): each once,
/// with its auditoriums; a bad page size or token is refused naming the field.
#[tokio::test]
async fn every_theatre_is_listed_a_page_at_a_time() {
    let stack = spawn_stack().await;
    let mut created = Vec::new();
    for (name, zip) in [
        ("Kendall", "02139"),
        ("Fenway", "02115"),
        ("Manhattan", "10001"),
        ("Seattle", "98101"),
        ("Davis", "02144"),
    ] {
        created.push(stack.theatre(name, zip, None).await);
    }
    let list = |size: u32, token: String| {
        let mut public = stack.public.clone();
        async move {
            public
                .list_theatres(pb::ListTheatresRequest {
                    page_size: size,
                    page_token: token,
                })
                .await
                .map(|r| r.into_inner())
        }
    };
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let page = list(2, token).await.expect("a page");
        pages += 1;
        assert!(page.theatres.len() <= 2);
        assert!(page.theatres.iter().all(|t| t.auditoriums.len() == 2));
        seen.extend(ids_in_order(&page.theatres));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, seen), (3, created.clone()), "by id, each once");
    let all = list(0, String::new()).await.expect("one page");
    assert_eq!(
        ids_in_order(&all.theatres),
        created,
        "100 a page by default"
    );
    assert!(all.next_page_token.is_empty());

    for (size, token, field) in [
        (501, String::new(), "page_size"),
        (0, "not-a-token".to_owned(), "page_token"),
    ] {
        let status = list(size, token).await.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(field), "{status:?}");
    }
    // A showtimes search's token is not a place in the theatres.
    let movie = stack.movie("Heat", 170).await;
    for hours in [3, 9] {
        stack
            .showtime(&movie, &created[0], "1", hours_from_now(hours))
            .await;
    }
    let showtimes = stack
        .public
        .clone()
        .get_showtimes(pb::GetShowtimesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert!(
        !showtimes.next_page_token.is_empty(),
        "two showtimes, one a page"
    );
    let status = list(0, showtimes.next_page_token)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    stack.stop().await;
}

fn ids_in_order(theatres: &[pb::Theatre]) -> Vec<String> {
    theatres.iter().map(|t| t.id.clone()).collect()
}

fn assert_in_time_order(showtimes: &[pb::Showtime], what: &str) {
    let starts: Vec<_> = showtimes
        .iter()
        .map(|s| s.start_time.expect("start").seconds)
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "{what}: ordered by start time"
    );
}

#[tokio::test]
async fn filters_combine_and_each_movie_and_theatre_appears_once() {
    let stack = spawn_stack().await;
    let heat = stack.movie("Heat", 170).await;
    let alien = stack.movie("Alien", 117).await;
    let cambridge = stack.theatre("Cambridge", "02139", None).await;
    let boston = stack.theatre("Boston", "02115", None).await;
    let nyc = stack.theatre("Manhattan", "10001", None).await;
    let mut all = Vec::new();
    for theatre in [&cambridge, &boston, &nyc] {
        for (i, movie) in [&heat, &alien].into_iter().enumerate() {
            // Two showtimes per movie and theatre, in different rooms.
            all.push(
                stack
                    .showtime(movie, theatre, "1", hours_from_now(2 + 4 * i as i64))
                    .await
                    .id,
            );
            all.push(
                stack
                    .showtime(movie, theatre, "2", hours_from_now(30 + 4 * i as i64))
                    .await
                    .id,
            );
        }
    }

    // All empty: everything current, each movie and theatre once.
    let result = stack
        .get_showtimes(pb::GetShowtimesRequest::default())
        .await;
    assert_eq!(ids(&result.showtimes, |s| &s.id), sorted(all.clone()));
    assert_eq!(
        result
            .movies
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Alien", "Heat"]
    );
    assert_eq!(
        ids(&result.theatres, |t| &t.id),
        sorted(vec![cambridge.clone(), boston.clone(), nyc.clone()])
    );
    assert_in_time_order(&result.showtimes, "everything");

    // ZIP + movie.
    let result = stack
        .get_showtimes(pb::GetShowtimesRequest {
            zip_code: Some("02139".into()),
            movie_ids: vec![heat.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(result.movies.len(), 1);
    assert_eq!(result.movies[0].id, heat);
    assert_eq!(
        ids(&result.theatres, |t| &t.id),
        sorted(vec![cambridge.clone(), boston.clone()])
    );
    assert_eq!(result.showtimes.len(), 4);
    assert!(
        result
            .showtimes
            .iter()
            .all(|s| s.movie_id == heat && s.theatre_id != nyc)
    );

    // Movies only, anywhere: each movie's showtimes in every theatre, in time order.
    let result = stack
        .get_showtimes(pb::GetShowtimesRequest {
            movie_ids: vec![alien.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&result.movies, |m| &m.id), vec![alien.clone()]);
    assert_eq!(
        ids(&result.theatres, |t| &t.id),
        sorted(vec![cambridge.clone(), boston.clone(), nyc.clone()])
    );
    assert_eq!(result.showtimes.len(), 6);
    assert!(result.showtimes.iter().all(|s| s.movie_id == alien));
    let both = stack
        .get_showtimes(pb::GetShowtimesRequest {
            movie_ids: vec![heat.clone(), alien.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(ids(&both.showtimes, |s| &s.id), sorted(all.clone()));
    assert_in_time_order(&both.showtimes, "two movies' showtimes merged");

    // Theatres only.
    let result = stack
        .get_showtimes(pb::GetShowtimesRequest {
            theatre_ids: vec![nyc.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(result.theatres.len(), 1);
    assert_eq!(result.movies.len(), 2);
    assert_eq!(result.showtimes.len(), 4);
    assert!(result.showtimes.iter().all(|s| s.theatre_id == nyc));
    let theatre = &result.theatres[0];
    assert_eq!(theatre.auditoriums.len(), 2);
    assert_eq!(theatre.phone, "+16175550100");

    // Every referenced id resolves within the same result.
    for showtime in &result.showtimes {
        assert!(result.movies.iter().any(|m| m.id == showtime.movie_id));
        assert!(result.theatres.iter().any(|t| t.id == showtime.theatre_id));
        assert!(!showtime.product_id.is_empty());
    }
    stack.stop().await;
}

#[tokio::test]
async fn past_far_future_and_sold_out_showtimes_are_not_current() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let current = stack
        .showtime(&movie, &theatre, "1", hours_from_now(3))
        .await;
    let sold_out = stack
        .showtime(&movie, &theatre, "1", hours_from_now(8))
        .await;
    let far = stack
        .showtime(&movie, &theatre, "1", hours_from_now(15 * 24))
        .await;
    // A showtime that has started: written directly, as the API refuses past starts.
    sqlx::query(
        "INSERT INTO showtimes (movie_id, theatre_id, room, start_time, busy_until, price_cents, product_id, request_id)
         VALUES ($1, $2, '2', now() - interval '10 minutes', now() + interval '3 hours', 1000, 'p-past', 'r-past')",
    )
    .bind(movie.parse::<i64>().expect("id"))
    .bind(theatre.parse::<i64>().expect("id"))
    .execute(stack.movies.pool())
    .await
    .expect("past showtime");
    sqlx::query("UPDATE showtimes SET sold_out = true WHERE id = $1")
        .bind(sold_out.id.parse::<i64>().expect("id"))
        .execute(stack.movies.pool())
        .await
        .expect("sold out");

    let result = stack
        .get_showtimes(pb::GetShowtimesRequest::default())
        .await;
    assert_eq!(ids(&result.showtimes, |s| &s.id), vec![current.id.clone()]);
    let _ = far;

    let movies = stack
        .public
        .clone()
        .list_current_movies(pb::ListCurrentMoviesRequest {
            zip_code: Some("10001".into()),
            radius_miles: None,
            include_sold_out: false,
        })
        .await
        .expect("list")
        .into_inner();
    assert!(movies.movies.is_empty(), "nothing current near New York");
    let movies = stack
        .public
        .clone()
        .list_current_movies(pb::ListCurrentMoviesRequest {
            zip_code: Some("02139".into()),
            radius_miles: None,
            include_sold_out: false,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(movies.movies.len(), 1);
    assert_eq!(movies.movies[0].name, "Heat");
    stack.stop().await;
}

async fn playing(
    stack: &TestStack,
    zip: Option<&str>,
    include_sold_out: bool,
) -> Result<(Vec<String>, Vec<String>), tonic::Status> {
    let answer = stack
        .public
        .clone()
        .list_current_movies(pb::ListCurrentMoviesRequest {
            zip_code: zip.map(str::to_owned),
            radius_miles: None,
            include_sold_out,
        })
        .await?
        .into_inner();
    let name = |id: &String| {
        answer
            .movies
            .iter()
            .find(|m| &m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| format!("not listed: {id}"))
    };
    Ok((
        answer.movies.iter().map(|m| m.name.clone()).collect(),
        answer.sold_out_movie_ids.iter().map(name).collect(),
    ))
}

/// A premiere sold out to its last seat is still playing: a home page or a site map
/// that asks names it, said to be sold out, where the listing of what is on sale
/// leaves it out. A movie whose showings were all called off is not playing at all.
#[tokio::test]
async fn movies_sold_out_are_still_playing_when_asked_for() {
    let stack = spawn_stack().await;
    let heat = stack.movie("Heat", 170).await;
    let premiere = stack.movie("Premiere", 120).await;
    let called_off = stack.movie("Called Off", 100).await;
    let far = stack.movie("Far Away", 90).await;
    let cambridge = stack.theatre("Cambridge", "02139", None).await;
    let new_york = stack.theatre("Chelsea", "10001", None).await;
    let on_sale = stack
        .showtime(&heat, &cambridge, "1", hours_from_now(3))
        .await;
    let heat_sold_out = stack
        .showtime(&heat, &cambridge, "1", hours_from_now(8))
        .await;
    let premiere_night = stack
        .showtime(&premiere, &cambridge, "2", hours_from_now(3))
        .await;
    let off = stack
        .showtime(&called_off, &cambridge, "2", hours_from_now(7))
        .await;
    let far_night = stack
        .showtime(&far, &new_york, "1", hours_from_now(3))
        .await;
    for sold_out in [&heat_sold_out, &premiere_night, &far_night] {
        sqlx::query("UPDATE showtimes SET sold_out = true WHERE id = $1")
            .bind(sold_out.id.parse::<i64>().expect("id"))
            .execute(stack.movies.pool())
            .await
            .expect("sold out");
    }
    stack
        .admin
        .clone()
        .cancel_showtime(admin(pb::CancelShowtimeRequest {
            showtime_id: off.id.clone(),
        }))
        .await
        .expect("called off");
    let _ = on_sale;

    let names = |list: &[&str]| list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        playing(&stack, None, true).await.expect("everywhere"),
        (
            names(&["Far Away", "Heat", "Premiere"]),
            names(&["Far Away", "Premiere"])
        )
    );
    assert_eq!(
        playing(&stack, Some("02139"), true).await.expect("near"),
        (names(&["Heat", "Premiere"]), names(&["Premiere"]))
    );
    // Not asked for: what is on sale, as before.
    assert_eq!(
        playing(&stack, None, false).await.expect("on sale"),
        (names(&["Heat"]), names(&[]))
    );
    let unknown = playing(&stack, Some("99999"), true)
        .await
        .expect_err("unknown ZIP code");
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("99999"), "{unknown:?}");
    stack.stop().await;
}

#[tokio::test]
async fn paging_returns_every_showtime_exactly_once() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Short", 30).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            stack
                .showtime(
                    &movie,
                    &theatre,
                    "1",
                    hours_from_now(1) + Duration::hours(i),
                )
                .await
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = stack
            .get_showtimes(pb::GetShowtimesRequest {
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await;
        pages += 1;
        assert!(page.showtimes.len() <= 3);
        assert_eq!(
            page.movies.len(),
            1,
            "each page carries what its showtimes refer to"
        );
        seen.extend(page.showtimes.iter().map(|s| s.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "in start order, each once");

    // The same by movie, anywhere (its own index), with another movie's showtimes
    // among them.
    let other = stack.movie("Other", 30).await;
    for i in 0..3 {
        stack
            .showtime(
                &other,
                &theatre,
                "2",
                hours_from_now(1) + Duration::hours(2 * i),
            )
            .await;
    }
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = stack
            .get_showtimes(pb::GetShowtimesRequest {
                movie_ids: vec![movie.clone()],
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await;
        pages += 1;
        seen.extend(page.showtimes.iter().map(|s| s.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(
        (pages, seen),
        (3, created),
        "the movie's, in order, each once"
    );

    for (size, token) in [(501, ""), (0, "not-a-token")] {
        let status = stack
            .public
            .clone()
            .get_showtimes(pb::GetShowtimesRequest {
                page_size: size,
                page_token: token.into(),
                ..Default::default()
            })
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    stack.stop().await;
}

#[tokio::test]
async fn get_movie_and_get_theatre() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let found = stack
        .public
        .clone()
        .get_movie(pb::GetMovieRequest { id: movie.clone() })
        .await
        .expect("movie")
        .into_inner()
        .movie
        .expect("movie");
    assert_eq!(
        (found.name.as_str(), found.length_minutes, found.rating()),
        ("Heat", 170, pb::Rating::Pg13)
    );
    let found = stack
        .public
        .clone()
        .get_theatre(pb::GetTheatreRequest {
            id: theatre.clone(),
        })
        .await
        .expect("theatre")
        .into_inner()
        .theatre
        .expect("theatre");
    assert_eq!(found.name, "Cambridge");
    assert_eq!(
        found.time_zone, "America/New_York",
        "derived from the address"
    );
    assert!(
        (found.latitude - 42.3647).abs() < 1e-9,
        "coordinates come from the ZIP"
    );

    let showtime = stack
        .showtime(&movie, &theatre, "1", hours_from_now(3))
        .await;
    let details = stack
        .public
        .clone()
        .get_showtime(pb::GetShowtimeRequest {
            id: showtime.id.clone(),
        })
        .await
        .expect("showtime")
        .into_inner();
    assert_eq!(details.showtime.as_ref(), Some(&showtime));
    assert_eq!(details.movie.map(|m| m.name).as_deref(), Some("Heat"));
    assert_eq!(
        details.theatre.map(|t| t.name).as_deref(),
        Some("Cambridge")
    );
    assert!(!details.sold_out);
    let status = stack
        .public
        .clone()
        .get_showtime(pb::GetShowtimeRequest {
            id: "987654".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    let status = stack
        .public
        .clone()
        .get_movie(pb::GetMovieRequest { id: "999".into() })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = stack
        .public
        .clone()
        .get_theatre(pb::GetTheatreRequest { id: "abc".into() })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    stack.stop().await;
}
