//! The seats left that listing pages show on their showtimes' buttons, asked of the
//! orders service, and the sold-out showings they show beside the listings (which
//! leave them out), asked of the movies service; both kept for a moment.
//!
//! Both are hints for choosing a time (the showtime's own page asks afresh, and
//! holding is what decides), so a second-old answer is as good as a new one, while a
//! popular movie's page viewed hundreds of times a second would otherwise ask as
//! often. Each replica keeps its own for `WEB_SEATS_LEFT_CACHE_MS` (1,000 unless set;
//! 0 asks every time).

use std::sync::Arc;
use std::time::Duration;

use cinema_client::movies_pb as movies;
use cinema_client::{Cinema, ClientError, Near, SOLD_OUT_THEATRES, facade};
use moka::sync::Cache;

use crate::views::SeatsLeft;

/// How long a listing page waits for the seats left before it is shown without them:
/// a slow or unreachable orders service must not stop a moviegoer from seeing what is
/// on.
const WAIT: Duration = Duration::from_millis(500);

/// At most this many products' counts are kept (a few hundred bytes each).
const CAPACITY: u64 = 100_000;

/// At most this many theatres' sold-out showings are kept.
const THEATRES: u64 = 10_000;

/// A cache keeping each entry for `ttl`, or none for zero.
fn kept_for<V: Clone + Send + Sync + 'static>(
    ttl: Duration,
    capacity: u64,
) -> Option<Cache<String, V>> {
    (!ttl.is_zero()).then(|| {
        Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .build()
    })
}

/// Counts of seats left by product id, each kept for a while.
#[derive(Debug, Clone)]
pub struct SeatsCache {
    kept: Option<Cache<String, i64>>,
}

impl SeatsCache {
    /// Keeps each count for `ttl`; zero keeps none.
    pub fn new(ttl: Duration) -> Self {
        Self {
            kept: kept_for(ttl, CAPACITY),
        }
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

/// The sold-out showings of each theatre on the days the listings cover, and the
/// theatres near each ZIP code a movie's page looks at for them, kept for a while: a
/// listing page marks them "Sold out" among the times on sale, so that a moviegoer
/// sees the 7:30 is full rather than wondering whether it exists.
#[derive(Debug, Clone)]
pub struct SoldOutCache {
    kept: Option<Cache<String, Arc<Vec<facade::Showtime>>>>,
    around: Option<Cache<String, Arc<Vec<movies::Theatre>>>>,
}

impl SoldOutCache {
    /// Keeps each theatre's, and each search's theatres, for `ttl`; zero keeps none.
    pub fn new(ttl: Duration) -> Self {
        Self {
            kept: kept_for(ttl, THEATRES),
            around: kept_for(ttl, THEATRES),
        }
    }

    /// The nearest theatres near a ZIP code (at most [`SOLD_OUT_THEATRES`]), whose
    /// sold-out showings a movie's page adds to its listing. None when they cannot be
    /// read (the page is then as the listing has it) or the ZIP code is unknown (the
    /// listing says so).
    pub async fn around(&self, cinema: &Cinema, near: &Near) -> Arc<Vec<movies::Theatre>> {
        let key = format!("{}/{:?}", near.zip, near.radius_miles);
        if let Some(theatres) = self.around.as_ref().and_then(|k| k.get(&key)) {
            return theatres;
        }
        let theatres = match cinema.theatres_near(near).await {
            Ok(mut theatres) => {
                theatres.truncate(SOLD_OUT_THEATRES);
                Arc::new(theatres)
            }
            Err(ClientError::NotFound(_) | ClientError::InvalidInput(_)) => return Arc::default(),
            Err(e) => {
                tracing::warn!(error = %e, "showtimes are listed without those sold out");
                return Arc::default();
            }
        };
        if let Some(around) = &self.around {
            around.insert(key, theatres.clone());
        }
        theatres
    }

    /// The sold-out showings at `theatre` that have not started at `now`; none when the
    /// movies service cannot say in time (the page is then as the listing has it).
    pub async fn at(
        &self,
        cinema: &Cinema,
        theatre: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<facade::Showtime> {
        let list = match self.kept.as_ref().and_then(|k| k.get(theatre)) {
            Some(kept) => kept,
            None => match self.ask(cinema, theatre, now).await {
                Some(asked) => asked,
                None => return Vec::new(),
            },
        };
        list.iter()
            .filter(|s| s.start_time > now)
            .cloned()
            .collect()
    }

    /// The sold-out showings at each of `theatres`, asked together.
    pub async fn at_each(
        &self,
        cinema: &Cinema,
        theatres: &[movies::Theatre],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<facade::Showtime> {
        let asked = theatres.iter().map(|t| self.at(cinema, &t.id, now));
        futures::future::join_all(asked)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn ask(
        &self,
        cinema: &Cinema,
        theatre: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Arc<Vec<facade::Showtime>>> {
        let asked = tokio::time::timeout(WAIT, cinema.sold_out_at_theatre(theatre, None, now));
        let list = match asked.await {
            Ok(Ok(list)) => Arc::new(list),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, theatre, "showtimes are listed without those sold out");
                return None;
            }
            Err(_) => {
                tracing::warn!(
                    theatre,
                    "showtimes are listed without those sold out: no answer in time"
                );
                return None;
            }
        };
        if let Some(kept) = &self.kept {
            kept.insert(theatre.to_owned(), list.clone());
        }
        Some(list)
    }
}
