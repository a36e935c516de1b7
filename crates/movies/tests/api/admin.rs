use chrono::{Duration, Utc};
use cinema_proto::movies::v1 as pb;
use tonic::{Code, Request};

use crate::helpers::*;

fn wrong<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", "Bearer wrong".parse().expect("ascii"));
    request
}

#[tokio::test]
async fn admin_calls_without_the_credential_are_refused_and_write_nothing() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let before = stack.catalogue_counts().await;

    let movie_request = pb::CreateMovieRequest {
        name: "X".into(),
        length_minutes: 90,
        rating: pb::Rating::G.into(),
        request_id: String::new(),
        synopsis: String::new(),
        release_year: 0,
    };
    for request in [Request::new(movie_request.clone()), wrong(movie_request)] {
        let status = stack
            .admin
            .clone()
            .create_movie(request)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let status = stack
        .admin
        .clone()
        .create_theatre(Request::new(theatre_request("X", "02139", None)))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = stack
        .admin
        .clone()
        .create_showtime(wrong(showtime_request(
            &movie,
            &theatre,
            "1",
            hours_from_now(4),
        )))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);

    assert_eq!(stack.catalogue_counts().await, before);
    assert_eq!(stack.orders_products().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn bad_catalogue_writes_get_precise_statuses_and_write_nothing() {
    let stack = spawn_stack().await;
    let movie = stack.movie("Heat", 170).await;
    let theatre = stack.theatre("Cambridge", "02139", None).await;
    let before = stack.catalogue_counts().await;

    let movie_cases = [
        (
            "empty name",
            pb::CreateMovieRequest {
                name: " ".into(),
                length_minutes: 90,
                rating: pb::Rating::G.into(),
                request_id: String::new(),
                synopsis: String::new(),
                release_year: 0,
            },
            Code::InvalidArgument,
        ),
        (
            "zero length",
            pb::CreateMovieRequest {
                name: "X".into(),
                length_minutes: 0,
                rating: pb::Rating::G.into(),
                request_id: String::new(),
                synopsis: String::new(),
                release_year: 0,
            },
            Code::InvalidArgument,
        ),
        (
            "no rating",
            pb::CreateMovieRequest {
                name: "X".into(),
                length_minutes: 90,
                rating: 0,
                request_id: String::new(),
                synopsis: String::new(),
                release_year: 0,
            },
            Code::InvalidArgument,
        ),
        (
            "unknown rating",
            pb::CreateMovieRequest {
                name: "X".into(),
                length_minutes: 90,
                rating: 42,
                request_id: String::new(),
                synopsis: String::new(),
                release_year: 0,
            },
            Code::InvalidArgument,
        ),
    ];
    for (name, request, code) in movie_cases {
        let status = stack
            .admin
            .clone()
            .create_movie(admin(request))
            .await
            .expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
    }

    let theatre_with = |edit: &dyn Fn(&mut pb::CreateTheatreRequest)| {
        let mut request = theatre_request("T", "02139", None);
        edit(&mut request);
        request
    };
    let theatre_cases: Vec<(&str, pb::CreateTheatreRequest, Code)> = vec![
        (
            "bad phone",
            theatre_with(&|r| r.phone = "555-0100".into()),
            Code::InvalidArgument,
        ),
        (
            "bad state",
            theatre_with(&|r| r.address.as_mut().expect("address").state = "XX".into()),
            Code::InvalidArgument,
        ),
        (
            "malformed zip",
            theatre_with(&|r| r.address.as_mut().expect("address").zip_code = "123".into()),
            Code::InvalidArgument,
        ),
        (
            "unknown zip",
            theatre_with(&|r| r.address.as_mut().expect("address").zip_code = "99999".into()),
            Code::NotFound,
        ),
        (
            "no address",
            theatre_with(&|r| r.address = None),
            Code::InvalidArgument,
        ),
        (
            "no auditoriums",
            theatre_with(&|r| r.auditoriums.clear()),
            Code::InvalidArgument,
        ),
        (
            "duplicate rooms",
            theatre_with(&|r| r.auditoriums[1].room = "1".into()),
            Code::InvalidArgument,
        ),
        (
            "zero seats",
            theatre_with(&|r| r.auditoriums[0].seats = 0),
            Code::InvalidArgument,
        ),
        (
            "latitude only",
            theatre_with(&|r| r.latitude = Some(42.0)),
            Code::InvalidArgument,
        ),
        (
            "latitude out of range",
            theatre_with(&|r| {
                r.latitude = Some(91.0);
                r.longitude = Some(0.0);
            }),
            Code::InvalidArgument,
        ),
    ];
    for (name, request, code) in theatre_cases {
        let status = stack
            .admin
            .clone()
            .create_theatre(admin(request))
            .await
            .expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
    }

    let showtime_with = |edit: &dyn Fn(&mut pb::CreateShowtimeRequest)| {
        let mut request = showtime_request(&movie, &theatre, "1", hours_from_now(6));
        edit(&mut request);
        request
    };
    let showtime_cases: Vec<(&str, pb::CreateShowtimeRequest, Code, &str)> = vec![
        (
            "past start",
            showtime_with(&|r| r.start_time = Some(ts(Utc::now() - Duration::hours(1)))),
            Code::InvalidArgument,
            "past",
        ),
        (
            "no start",
            showtime_with(&|r| r.start_time = None),
            Code::InvalidArgument,
            "start_time",
        ),
        (
            "negative price",
            showtime_with(&|r| r.price_cents = -1),
            Code::InvalidArgument,
            "price",
        ),
        (
            "no request id",
            showtime_with(&|r| r.request_id.clear()),
            Code::InvalidArgument,
            "request_id",
        ),
        (
            "malformed movie",
            showtime_with(&|r| r.movie_id = "heat".into()),
            Code::InvalidArgument,
            "movie_id",
        ),
        (
            "unknown movie",
            showtime_with(&|r| r.movie_id = "4242".into()),
            Code::NotFound,
            "4242",
        ),
        (
            "unknown theatre",
            showtime_with(&|r| r.theatre_id = "4343".into()),
            Code::NotFound,
            "4343",
        ),
        (
            "unknown room",
            showtime_with(&|r| r.room = "IMAX".into()),
            Code::NotFound,
            "IMAX",
        ),
        (
            "empty room",
            showtime_with(&|r| r.room = String::new()),
            Code::InvalidArgument,
            "room",
        ),
    ];
    for (name, request, code, needle) in showtime_cases {
        let status = stack
            .admin
            .clone()
            .create_showtime(admin(request))
            .await
            .expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(status.message().contains(needle), "{name}: {status:?}");
    }

    assert_eq!(stack.catalogue_counts().await, before);
    assert_eq!(stack.orders_products().await, 0);
    stack.stop().await;
}

/// CreateMovie and CreateTheatre are idempotent on a request id, like CreateShowtime:
/// a retry gets the first result back, and the id cannot be reused for other values.
#[tokio::test]
async fn retried_catalogue_writes_create_one_movie_and_one_theatre() {
    let stack = spawn_stack().await;
    let movie = pb::CreateMovieRequest {
        name: "Heat".into(),
        length_minutes: 170,
        rating: pb::Rating::R.into(),
        request_id: "movie-heat-1".into(),
        synopsis: String::new(),
        release_year: 0,
    };
    let create_movie = |request: pb::CreateMovieRequest| {
        let mut admin_client = stack.admin.clone();
        async move { admin_client.create_movie(admin(request)).await }
    };
    let first = create_movie(movie.clone())
        .await
        .expect("created")
        .into_inner();
    let again = create_movie(movie.clone())
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(first, again, "a retry returns the same movie");
    assert_eq!(stack.count("movies").await, 1);

    let reused = create_movie(pb::CreateMovieRequest {
        length_minutes: 171,
        ..movie.clone()
    })
    .await
    .expect_err("other values under the same id");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");
    assert_eq!(
        cinema_proto::error::Details::of(&reused).reason,
        Some(cinema_proto::error::Reason::RequestIdReused)
    );
    let bad = create_movie(pb::CreateMovieRequest {
        request_id: "has space".into(),
        ..movie
    })
    .await
    .expect_err("a malformed id");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(stack.count("movies").await, 1, "refusals write nothing");

    let mut theatre = theatre_request("Kendall", "02139", None);
    theatre.request_id = "theatre-kendall-1".into();
    let mut admin_client = stack.admin.clone();
    let first = admin_client
        .create_theatre(admin(theatre.clone()))
        .await
        .expect("created")
        .into_inner();
    let again = admin_client
        .create_theatre(admin(theatre.clone()))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(first, again, "a retry returns the same theatre");
    theatre.name = "Kendall Square".into();
    let reused = admin_client
        .create_theatre(admin(theatre))
        .await
        .expect_err("other values under the same id");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");
    assert_eq!(stack.count("theatres").await, 1);
    assert_eq!(
        stack.count("auditoriums").await,
        2,
        "one theatre's rooms, once"
    );
    stack.stop().await;
}

/// A movie's page says what it is about: the synopsis given to CreateMovie comes back
/// from GetMovie, as one paragraph of at most 1,000 characters, and is part of what a
/// request id stands for.
#[tokio::test]
async fn a_movie_s_synopsis_is_kept_for_its_page() {
    let stack = spawn_stack().await;
    let heat = pb::CreateMovieRequest {
        name: "Heat".into(),
        length_minutes: 170,
        rating: pb::Rating::R.into(),
        request_id: "movie-heat-1".into(),
        synopsis: "  A thief and the detective on his trail, one last job in Los Angeles. ".into(),
        release_year: 0,
    };
    let create_movie = |request: pb::CreateMovieRequest| {
        let mut admin_client = stack.admin.clone();
        async move { admin_client.create_movie(admin(request)).await }
    };
    let created = create_movie(heat.clone())
        .await
        .expect("created")
        .into_inner()
        .movie
        .expect("movie");
    let page = stack.get_movie(&created.id).await;
    assert_eq!(page.movie.as_ref(), Some(&created));
    assert_eq!(
        page.synopsis, "A thief and the detective on his trail, one last job in Los Angeles.",
        "kept, trimmed"
    );

    // A movie created without one has none.
    let plain = stack.movie("Ronin", 122).await;
    assert_eq!(stack.get_movie(&plain).await.synopsis, "");

    // Another synopsis under the same request id is another request.
    let reused = create_movie(pb::CreateMovieRequest {
        synopsis: "Another story.".into(),
        ..heat.clone()
    })
    .await
    .expect_err("other values under the same id");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");

    // Too long, or more than one line: refused, naming the field, and nothing written.
    let before = stack.count("movies").await;
    for (what, synopsis) in [
        ("1,001 characters", "é".repeat(1001)),
        ("two lines", "One line.\nAnother line.".to_owned()),
    ] {
        let status = create_movie(pb::CreateMovieRequest {
            request_id: String::new(),
            synopsis,
            ..heat.clone()
        })
        .await
        .expect_err(what);
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let details = cinema_proto::error::Details::of(&status);
        assert_eq!(
            details.violations[0].field, "synopsis",
            "{what}: {status:?}"
        );
    }
    // 1,000 characters of two bytes each fit: the limit counts characters.
    let long = create_movie(pb::CreateMovieRequest {
        request_id: String::new(),
        synopsis: "é".repeat(1000),
        ..heat
    })
    .await
    .expect("a thousand characters")
    .into_inner()
    .movie
    .expect("movie");
    assert_eq!(
        stack.get_movie(&long.id).await.synopsis.chars().count(),
        1000
    );
    assert_eq!(stack.count("movies").await, before + 1);
    stack.stop().await;
}

/// A movie created without a synopsis (every one from before they existed) gets one
/// later, and a synopsis can be corrected or removed; nothing else of the movie changes.
#[tokio::test]
async fn a_movie_s_synopsis_is_set_corrected_and_removed() {
    let stack = spawn_stack().await;
    let id = stack.movie("Ronin", 122).await;
    let update =
        |synopsis: Option<&str>,
         request: fn(pb::UpdateMovieRequest) -> Request<pb::UpdateMovieRequest>| {
            let mut admin_client = stack.admin.clone();
            let request = request(pb::UpdateMovieRequest {
                id: id.clone(),
                synopsis: synopsis.map(str::to_owned),
                release_year: None,
            });
            async move { admin_client.update_movie(request).await }
        };
    let before = stack.get_movie(&id).await;
    assert_eq!(before.synopsis, "");

    // Only with the admin token.
    for request in [Request::new, wrong] {
        let status = update(Some("A heist."), request)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    assert_eq!(stack.get_movie(&id).await, before);

    let set = update(Some(" Mercenaries in Paris chase a briefcase. "), admin)
        .await
        .expect("set")
        .into_inner();
    assert_eq!(set.synopsis, "Mercenaries in Paris chase a briefcase.");
    assert_eq!(set.movie, before.movie, "nothing else changes");
    assert_eq!(stack.get_movie(&id).await.synopsis, set.synopsis);
    // The same again (a retry) answers the same; absent leaves it as it is.
    let again = update(Some("Mercenaries in Paris chase a briefcase."), admin)
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again, set);
    let untouched = update(None, admin).await.expect("nothing").into_inner();
    assert_eq!(untouched, set);

    // Refused, naming the field, and left as it was.
    let status = update(Some(&"x".repeat(1001)), admin)
        .await
        .expect_err("too long");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        cinema_proto::error::Details::of(&status).violations[0].field,
        "synopsis"
    );
    assert_eq!(stack.get_movie(&id).await.synopsis, set.synopsis);

    // Empty removes it.
    let removed = update(Some(""), admin).await.expect("removed").into_inner();
    assert_eq!(removed.synopsis, "");
    assert_eq!(stack.get_movie(&id).await, before);

    // An unknown movie, or no movie id.
    let mut admin_client = stack.admin.clone();
    for (id, code) in [("424242", Code::NotFound), ("", Code::InvalidArgument)] {
        let status = admin_client
            .update_movie(admin(pb::UpdateMovieRequest {
                id: id.into(),
                synopsis: Some("A heist.".into()),
                release_year: None,
            }))
            .await
            .expect_err(id);
        assert_eq!(status.code(), code, "{id:?}: {status:?}");
    }
    stack.stop().await;
}

/// A movie's release year (what tells "Nosferatu" from its remakes) is part of the
/// movie wherever it is named: its page, the listings, a showtime; it is set when the
/// movie is created or later, and refused, naming the field, when it is no film's.
#[tokio::test]
async fn a_movie_s_release_year_is_named_with_it_everywhere() {
    let stack = spawn_stack().await;
    let nosferatu = pb::CreateMovieRequest {
        name: "Nosferatu".into(),
        length_minutes: 94,
        rating: pb::Rating::Pg13.into(),
        request_id: String::new(),
        synopsis: String::new(),
        release_year: 1922,
    };
    let mut admin_client = stack.admin.clone();
    let before = stack.count("movies").await;
    for year in [1887, 2101] {
        let status = admin_client
            .create_movie(admin(pb::CreateMovieRequest {
                release_year: year,
                ..nosferatu.clone()
            }))
            .await
            .expect_err("no film's year");
        assert_eq!(status.code(), Code::InvalidArgument, "{year}: {status:?}");
        assert_eq!(
            cinema_proto::error::Details::of(&status).violations[0].field,
            "release_year"
        );
    }
    assert_eq!(
        stack.count("movies").await,
        before,
        "refusals write nothing"
    );
    let movie = admin_client
        .create_movie(admin(nosferatu))
        .await
        .expect("created")
        .into_inner()
        .movie
        .expect("movie");
    assert_eq!(movie.release_year, 1922);
    let theatre = stack.theatre("Brattle", "02139", None).await;
    let showtime = stack
        .showtime(&movie.id, &theatre, "1", hours_from_now(4))
        .await;

    let mut public = stack.public.clone();
    let named = |m: Option<&pb::Movie>| m.map(|m| (m.id.clone(), m.release_year));
    let expected = Some((movie.id.clone(), 1922));
    assert_eq!(
        named(stack.get_movie(&movie.id).await.movie.as_ref()),
        expected
    );
    let listed = public
        .get_showtimes(pb::GetShowtimesRequest {
            zip_code: Some("02139".into()),
            ..Default::default()
        })
        .await
        .expect("showtimes")
        .into_inner();
    assert_eq!(named(listed.movies.first()), expected);
    let playing = public
        .list_current_movies(pb::ListCurrentMoviesRequest::default())
        .await
        .expect("movies")
        .into_inner();
    assert_eq!(named(playing.movies.first()), expected);
    let shown = public
        .get_showtime(pb::GetShowtimeRequest {
            id: showtime.id.clone(),
        })
        .await
        .expect("showtime")
        .into_inner();
    assert_eq!(named(shown.movie.as_ref()), expected);

    // Corrected, refused, removed.
    let update = |year| {
        let mut admin_client = stack.admin.clone();
        let id = movie.id.clone();
        async move {
            admin_client
                .update_movie(admin(pb::UpdateMovieRequest {
                    id,
                    synopsis: None,
                    release_year: Some(year),
                }))
                .await
        }
    };
    let corrected = update(1979).await.expect("corrected").into_inner();
    assert_eq!(corrected.movie.map(|m| m.release_year), Some(1979));
    let status = update(30_000).await.expect_err("no film's year");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let page = stack.get_movie(&movie.id).await;
    assert_eq!(page.movie.map(|m| m.release_year), Some(1979), "unchanged");
    update(0).await.expect("removed");
    let page = stack.get_movie(&movie.id).await;
    assert_eq!(page.movie.map(|m| m.release_year), Some(0), "not known");
    stack.stop().await;
}
