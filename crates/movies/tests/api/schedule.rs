//! A theatre's schedule for a day of its calendar (or a few): every showtime that
//! starts on it, sold out and called off included, where the listings show only what is
//! on sale.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::America::New_York;
use cinema_proto::movies::v1 as pb;
use cinema_proto::orders::v1 as orders_pb;
use tonic::Code;

use crate::callbacks::{callbacks, listed, with_token};
use crate::helpers::*;

async fn schedule(
    stack: &TestStack,
    theatre: &str,
    date: &str,
) -> Result<pb::GetTheatreScheduleResponse, tonic::Status> {
    schedule_of(
        stack,
        pb::GetTheatreScheduleRequest {
            theatre_id: theatre.into(),
            date: date.into(),
            ..Default::default()
        },
    )
    .await
}

async fn schedule_of(
    stack: &TestStack,
    request: pb::GetTheatreScheduleRequest,
) -> Result<pb::GetTheatreScheduleResponse, tonic::Status> {
    stack
        .public
        .clone()
        .get_theatre_schedule(request)
        .await
        .map(tonic::Response::into_inner)
}

fn ids(schedule: &pb::GetTheatreScheduleResponse) -> Vec<&str> {
    schedule
        .showtimes
        .iter()
        .map(|s| s.showtime.as_ref().expect("showtime").id.as_str())
        .collect()
}

/// `hh:mm` on `date` in Cambridge, MA.
fn boston(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("time"))
        .single()
        .expect("one instant")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_day_at_a_theatre_lists_every_showing_from_midnight_to_midnight() {
    let stack = spawn_stack().await;
    let heat = stack.movie("Heat", 170).await;
    let alien = stack.movie("Alien", 117).await;
    let theatre = stack.theatre("Kendall", "02139", None).await;
    let elsewhere = stack.theatre("Brattle", "02139", None).await;
    let day = (Utc::now() + Duration::days(3))
        .with_timezone(&New_York)
        .date_naive();
    let before = day.pred_opt().expect("day before");
    let after = day.succ_opt().expect("day after");

    let early = stack
        .showtime(&alien, &theatre, "1", boston(day, 0, 15))
        .await;
    let evening = stack
        .showtime(&heat, &theatre, "1", boston(day, 19, 0))
        .await;
    let sold_out = stack
        .showtime(&alien, &theatre, "2", boston(day, 19, 0))
        .await;
    let called_off = stack
        .showtime(&heat, &theatre, "2", boston(day, 23, 0))
        .await;
    // The evening before, the next day, and another theatre: not on the day's schedule.
    let eve = stack
        .showtime(&heat, &theatre, "2", boston(before, 23, 45))
        .await;
    let next = stack
        .showtime(&heat, &theatre, "1", boston(after, 0, 0))
        .await;
    stack
        .showtime(&heat, &elsewhere, "1", boston(day, 19, 0))
        .await;

    callbacks(&stack)
        .product_sold_out(with_token(
            orders_pb::ProductSoldOutRequest {
                event_id: "sold-out".into(),
                product_id: sold_out.product_id.clone(),
                external_ref: sold_out.id.clone(),
                occurred_at: None,
                sequence: 1,
            },
            CALLBACK_TOKEN,
        ))
        .await
        .expect("acknowledged");
    stack
        .admin
        .clone()
        .cancel_showtime(admin(pb::CancelShowtimeRequest {
            showtime_id: called_off.id.clone(),
        }))
        .await
        .expect("called off");
    assert!(!listed(&stack, &sold_out.id).await && !listed(&stack, &called_off.id).await);

    let found = schedule(&stack, &theatre, &day.to_string())
        .await
        .expect("schedule");
    assert_eq!(found.theatre.as_ref().expect("theatre").id, theatre);
    assert_eq!(found.date, day.to_string());
    // By start time, then id.
    assert_eq!(
        ids(&found),
        [
            early.id.as_str(),
            evening.id.as_str(),
            sold_out.id.as_str(),
            called_off.id.as_str()
        ]
    );
    let states: Vec<(bool, bool)> = found
        .showtimes
        .iter()
        .map(|s| (s.sold_out, s.cancelled_at.is_some()))
        .collect();
    assert_eq!(
        states,
        [(false, false), (false, false), (true, false), (true, true)]
    );
    let movies: Vec<&str> = found.movies.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(movies, ["Alien", "Heat"], "each once, by name");

    // Three days from the day before: all six, in order; or only the two not on sale,
    // as a theatre's page asks for them beside the listing.
    let three_days = |sold_out_only| pb::GetTheatreScheduleRequest {
        theatre_id: theatre.clone(),
        date: before.to_string(),
        days: 3,
        sold_out_only,
    };
    let found = schedule_of(&stack, three_days(false))
        .await
        .expect("three days");
    assert_eq!(found.date, before.to_string(), "the first day");
    assert_eq!(
        ids(&found),
        [
            eve.id.as_str(),
            early.id.as_str(),
            evening.id.as_str(),
            sold_out.id.as_str(),
            called_off.id.as_str(),
            next.id.as_str()
        ]
    );
    let found = schedule_of(&stack, three_days(true))
        .await
        .expect("sold out");
    assert_eq!(ids(&found), [sold_out.id.as_str(), called_off.id.as_str()]);
    let movies: Vec<&str> = found.movies.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(movies, ["Alien", "Heat"], "the movies of what is listed");

    let empty = schedule(&stack, &elsewhere, &after.to_string())
        .await
        .expect("schedule");
    assert!(empty.showtimes.is_empty() && empty.movies.is_empty());

    // No date: today on the theatre's clock (either side of a midnight the call spans).
    let today = || Utc::now().with_timezone(&New_York).date_naive().to_string();
    let before = today();
    let listed = schedule(&stack, &theatre, "").await.expect("today's");
    assert!([before, today()].contains(&listed.date), "{}", listed.date);
    stack.stop().await;
}

#[tokio::test]
async fn a_schedule_needs_a_known_theatre_and_a_whole_date() {
    let stack = spawn_stack().await;
    let theatre = stack.theatre("Kendall", "02139", None).await;
    let status = schedule(&stack, "999999", "2026-12-09")
        .await
        .expect_err("unknown theatre");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    for date in ["2026-12-9", "2026-02-30", "tomorrow", " "] {
        let status = schedule(&stack, &theatre, date).await.expect_err(date);
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let details = cinema_proto::error::Details::of(&status);
        assert_eq!(details.violations[0].field, "date", "{status:?}");
    }
    let status = schedule_of(
        &stack,
        pb::GetTheatreScheduleRequest {
            theatre_id: theatre.clone(),
            date: "2026-12-09".into(),
            days: 32,
            sold_out_only: false,
        },
    )
    .await
    .expect_err("more than a month");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = cinema_proto::error::Details::of(&status);
    assert_eq!(details.violations[0].field, "days", "{status:?}");
    assert!(status.message().contains("at most 31"), "{status:?}");
    let status = schedule(&stack, "", "2026-12-09")
        .await
        .expect_err("no theatre");
    assert_eq!(
        cinema_proto::error::Details::of(&status).violations[0].field,
        "theatre_id"
    );
    stack.stop().await;
}
