//! The national-scale catalogue `cinema-bench --only national-search` writes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Timelike, Utc};
use cinema_movies::store::{self, CatalogueSize};
use cinema_proto::movies::v1 as pb;

use crate::helpers::*;

#[tokio::test]
async fn the_national_catalogue_shows_three_films_a_day_in_two_rooms_of_each_theatre() {
    let stack = spawn_stack_without_orders().await;
    let pool = stack.movies.pool();
    assert_eq!(
        store::national_catalogue(pool).await.expect("counted"),
        CatalogueSize {
            theatres: 0,
            showtimes: 0
        }
    );

    let size = store::generate_national_catalogue(pool, 10, 2, Utc::now())
        .await
        .expect("generated");
    assert_eq!(
        size,
        CatalogueSize {
            theatres: 10,
            showtimes: 10 * 2 * 3 * 2
        }
    );
    // A second run finds the first one's instead of writing another.
    assert_eq!(
        store::national_catalogue(pool).await.expect("counted"),
        size
    );
    let zips = store::national_theatre_zips(pool, 100).await.expect("zips");
    assert_eq!(zips.len(), 10, "one theatre per ZIP code: {zips:?}");
    assert_eq!(zips.iter().collect::<BTreeSet<_>>().len(), 10);

    // Searching at a theatre's ZIP code finds it, and its showtimes are at 1, 5 and
    // 9 pm in the theatre's own time zone, one film per room and slot.
    let found = stack
        .get_showtimes(pb::GetShowtimesRequest {
            zip_code: Some(zips[0].clone()),
            ..Default::default()
        })
        .await;
    let theatre = found
        .theatres
        .iter()
        .find(|t| t.address.as_ref().is_some_and(|a| a.zip_code == zips[0]))
        .expect("the theatre at the searched ZIP code");
    let rooms: Vec<_> = theatre
        .auditoriums
        .iter()
        .map(|a| a.room.as_str())
        .collect();
    assert_eq!(rooms, ["1", "2"]);
    let zone: chrono_tz::Tz = theatre.time_zone.parse().expect("a time zone");
    let mut per_slot: BTreeMap<(String, u32), BTreeSet<String>> = BTreeMap::new();
    let mut last = None;
    for showtime in found.showtimes.iter() {
        let start = showtime.start_time.as_ref().expect("start time");
        let start = Utc.timestamp_opt(start.seconds, 0).unwrap();
        // One page, in time order, and only what is still to come.
        assert!(last <= Some(start), "out of order at {start}");
        assert!(start > Utc::now() - chrono::Duration::minutes(1));
        last = Some(start);
        if showtime.theatre_id != theatre.id {
            continue;
        }
        let local = start.with_timezone(&zone);
        assert!([13, 17, 21].contains(&local.hour()), "a show at {local}");
        per_slot
            .entry((local.date_naive().to_string(), local.hour()))
            .or_default()
            .insert(showtime.auditorium.clone());
    }
    assert!(!per_slot.is_empty(), "no showtime of the theatre was found");
    for (slot, rooms) in &per_slot {
        assert_eq!(rooms.len(), 2, "both rooms show at {slot:?}");
    }
    stack.stop().await;
}
