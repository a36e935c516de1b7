//! The seats left that listing pages show on their showtimes' buttons, asked of the
//! orders service and kept for a moment.
//!
//! The count is a hint for choosing a time (the showtime's own page asks afresh, and
//! holding is what decides), so a second-old count is as good as a new one, while a
//! popular movie's page viewed hundreds of times a second would otherwise ask the
//! orders service as often. Each replica keeps its own counts for
//! `WEB_SEATS_LEFT_CACHE_MS` (1,000 unless set; 0 asks every time).

use std::time::Duration;

use cinema_client::{Cinema, facade};
use moka::sync::Cache;

use crate::views::SeatsLeft;

/// How long a listing page waits for the seats left before it is shown without them:
/// a slow or unreachable orders service must not stop a moviegoer from seeing what is
/// on.
const WAIT: Duration = Duration::from_millis(500);

/// At most this many products' counts are kept (a few hundred bytes each).
const CAPACITY: u64 = 100_000;

/// Counts of seats left by product id, each kept for a while.
#[derive(Debug, Clone)]
pub struct SeatsCache {
    kept: Option<Cache<String, i64>>,
}

impl SeatsCache {
    /// Keeps each count for `ttl`; zero keeps none.
    pub fn new(ttl: Duration) -> Self {
        let kept = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build()
        });
        Self { kept }
    }

    /// The seats left for `showtimes`: the counts kept, and the rest asked in one call;
    /// without the rest when the orders service cannot say in time.
    pub async fn lookup<'a>(
        &self,
        cinema: &Cinema,
        showtimes: impl IntoIterator<Item = &'a facade::Showtime>,
    ) -> SeatsLeft {
        let mut left = SeatsLeft::default();
        let mut missing = Vec::new();
        for showtime in showtimes {
            match self.kept.as_ref().and_then(|k| k.get(&showtime.product_id)) {
                Some(count) => {
                    left.0.insert(showtime.product_id.clone(), count);
                }
                None => missing.push(showtime),
            }
        }
        if missing.is_empty() {
            return left;
        }
        match tokio::time::timeout(WAIT, cinema.seats_left(missing)).await {
            Ok(Ok(asked)) => {
                if let Some(kept) = &self.kept {
                    for (product, count) in &asked {
                        kept.insert(product.clone(), *count);
                    }
                }
                left.0.extend(asked);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "showtimes are listed without their seats left");
            }
            Err(_) => {
                tracing::warn!("showtimes are listed without their seats left: no answer in time");
            }
        }
        left
    }
}
