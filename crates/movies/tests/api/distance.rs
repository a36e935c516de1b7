//! `great_circle_miles`, the database's one definition of distance: every search near
//! a ZIP code computes it for each theatre around the ZIP code's centre.

use sqlx::PgPool;

use crate::helpers::*;

const KENDALL_SQUARE: (f64, f64) = (42.3629, -71.0901);
const TIMES_SQUARE: (f64, f64) = (40.7580, -73.9855);

async fn miles(pool: &PgPool, from: (f64, f64), to: (Option<f64>, f64)) -> Option<f64> {
    sqlx::query_scalar("SELECT great_circle_miles($1, $2, $3, $4)")
        .bind(from.0)
        .bind(from.1)
        .bind(to.0)
        .bind(to.1)
        .fetch_one(pool)
        .await
        .expect("a distance")
}

#[tokio::test]
async fn distances_are_great_circle_miles() {
    let stack = spawn_stack_without_orders().await;
    let pool = stack.movies.pool();

    let to_new_york = miles(pool, KENDALL_SQUARE, (Some(TIMES_SQUARE.0), TIMES_SQUARE.1)).await;
    assert!(
        (to_new_york.expect("a distance") - 186.27).abs() < 0.01,
        "{to_new_york:?}"
    );
    let here = miles(
        pool,
        KENDALL_SQUARE,
        (Some(KENDALL_SQUARE.0), KENDALL_SQUARE.1),
    )
    .await;
    assert_eq!(here, Some(0.0));
    // Half the way round the Earth: rounding may take asin's argument just over 1,
    // which must not fail the search.
    let antipode = miles(pool, (0.0, 0.0), (Some(0.0), 180.0)).await;
    assert!(
        (antipode.expect("a distance") - std::f64::consts::PI * 3958.7613).abs() < 0.01,
        "{antipode:?}"
    );
    assert_eq!(
        miles(pool, KENDALL_SQUARE, (None, TIMES_SQUARE.1)).await,
        None,
        "no coordinate, no distance"
    );
}

#[tokio::test]
async fn a_search_computes_distances_inside_its_own_plan() {
    // A SQL function the planner cannot inline runs as a query of its own, parsed and
    // planned on every search and run once per theatre: it cost the national search a
    // quarter of its database time (migrations/movies/20261206000001).
    let stack = spawn_stack_without_orders().await;
    let plan: Vec<String> =
        sqlx::query_scalar("EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM theatres_within($1, $2)")
            .bind("02139")
            .bind(15.0_f64)
            .fetch_all(stack.movies.pool())
            .await
            .expect("a plan");
    assert!(
        plan.iter().any(|line| line.contains("asin(")),
        "the distance is computed in the plan: {plan:#?}"
    );
    assert!(
        !plan.iter().any(|line| line.contains("great_circle_miles")),
        "great_circle_miles is inlined: {plan:#?}"
    );
}
