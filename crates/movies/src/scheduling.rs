//! CreateShowtime: the one flow that spans our database and the orders service.
//!
//! Return the showtime already created under the request id if any; check the movie,
//! the auditorium and that the auditorium is free; reserve the showtime's id for the
//! request id; register the product with the orders service under that id; then insert
//! the complete row. No transaction or lock is open while the orders service is called.
//! If it cannot be reached no showtime is written, so none ever exists without its
//! product.
//!
//! Retries and racing duplicates are safe without a lock: the reserved id is the same
//! for every attempt of a request id, AddProduct is idempotent on (provider, that id),
//! and the showtime row's unique request id lets exactly one attempt write it (the
//! others read it back). A product registered by an attempt that then died is the one
//! the retry finds, not a second one.
//!
//! `cancel_showtime` calls a showing off: the orders service withdraws its product
//! (cancelling and refunding its orders), then the showtime is marked cancelled.
//!
//! `register_missing_door_rules` registers again, at start, the tickets of showtimes
//! whose products were registered before the orders service kept the door's rules.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use cinema_service::error::Reason;
use cinema_service::idempotency::{self, Fingerprint};

use crate::Error;
use crate::domain::{MovieId, NewShowtime, Showtime, ShowtimeId, TheatreId, Tickets};
use crate::orders_gateway::OrdersGateway;
use crate::store::{self, Inserted};

#[derive(Debug)]
pub struct Scheduler {
    pool: PgPool,
    orders: OrdersGateway,
    /// Time to clean an auditorium between two showtimes.
    cleaning_gap: Duration,
}

impl Scheduler {
    pub fn new(pool: PgPool, orders: OrdersGateway, cleaning_gap: Duration) -> Self {
        Self {
            pool,
            orders,
            cleaning_gap,
        }
    }

    pub fn orders(&self) -> &OrdersGateway {
        &self.orders
    }

    /// Schedules a showtime and registers its tickets with the orders service as a
    /// product, or finds the one an earlier call with this request id scheduled.
    ///
    /// No transaction or lock is held while the orders service is called: the showtime
    /// id (the product's external reference) is reserved for the request id first, so
    /// a retry or a racing duplicate registers the same product (AddProduct is
    /// idempotent on it), and the showtime row's unique request id lets one of them
    /// write it.
    // The call's span already names the request id; this one adds the showtime's id
    // once it is reserved, for the lines of the orders call and what follows.
    #[tracing::instrument(name = "schedule", skip_all, fields(showtime_id))]
    pub async fn create_showtime(&self, new: &NewShowtime) -> Result<Showtime, Error> {
        if let Some(existing) = self.replay(new).await? {
            return Ok(existing);
        }

        let (movie_name, length) = store::movie_name_and_length(&self.pool, new.movie_id)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "movie",
                    new.movie_id,
                    format!("movie {} does not exist", new.movie_id),
                )
            })?;
        let Some(theatre) = store::theatres_by_ids(&self.pool, &[new.theatre_id], None)
            .await?
            .into_iter()
            .next()
        else {
            return Err(Error::not_found(
                "theatre",
                new.theatre_id,
                format!("theatre {} does not exist", new.theatre_id),
            ));
        };
        let seats = store::auditorium_seats(&self.pool, new.theatre_id, &new.room)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "auditorium",
                    format!("{}/{}", new.theatre_id, new.room),
                    format!(
                        "theatre {} has no auditorium {:?}",
                        new.theatre_id, new.room
                    ),
                )
            })?;

        let busy_until = busy_until(new.start_time, length, self.cleaning_gap);
        if let Some((other, start, end)) = store::overlapping_showtime(
            &self.pool,
            new.theatre_id,
            &new.room,
            new.start_time,
            busy_until,
        )
        .await?
        {
            // Busy with this very request's showtime, written by a racing duplicate.
            if let Some(existing) = self.replay(new).await? {
                return Ok(existing);
            }
            // On the theatre's clock, which is the one its operator schedules by.
            let local = |t: DateTime<Utc>| {
                let t = t.with_timezone(&theatre.time_zone.tz());
                t.format("%a %b %-d %H:%M %Z").to_string()
            };
            return Err(Error::refused(
                Reason::AuditoriumBusy,
                format!(
                    "auditorium {:?} is busy from {} to {} with showtime {other} \
                     (movie length plus cleaning time)",
                    new.room,
                    local(start),
                    local(end)
                ),
            ));
        }

        let id = store::reserve_showtime_id(&self.pool, &new.request_id).await?;
        tracing::Span::current().record("showtime_id", tracing::field::display(id));
        let tickets = Tickets {
            showtime_id: id,
            movie_name,
            length_minutes: length,
            theatre_id: new.theatre_id,
            theatre_name: theatre.name,
            time_zone: theatre.time_zone,
            room: new.room.clone(),
            start_time: new.start_time,
            seats,
            price_cents: new.price_cents,
        };
        let product_id = self.orders.add_product(&tickets).await?;
        match store::insert_showtime(&self.pool, id, new, busy_until, &product_id).await {
            Ok(Inserted::Created(showtime)) => {
                tracing::info!(product_id = %showtime.product_id, "showtime created");
                Ok(showtime)
            }
            Ok(Inserted::AlreadyThere) => self
                .replay(new)
                .await?
                .ok_or_else(|| Error::unexpected("a showtime written by a racing call vanished")),
            // The room may be taken by this very request's showtime, written by a
            // racing duplicate in between.
            Err(busy) => self.replay(new).await?.ok_or(busy),
        }
    }

    /// Calls a showtime off: the orders service withdraws its product first (its sales
    /// end; every order of it is cancelled, refunded and its customer texted), then
    /// the showtime is marked cancelled here, which takes it out of every listing and
    /// frees its auditorium. In that order, no call leaves a cancelled showtime whose
    /// tickets still stand: an orders service that cannot be reached changes nothing,
    /// and a call that stops between the two steps is finished by the next (both are
    /// idempotent). Refused once the movie is over: its tickets were spent.
    #[tracing::instrument(name = "cancel_showtime", skip_all, fields(showtime_id = %id))]
    pub async fn cancel_showtime(&self, id: ShowtimeId) -> Result<Cancelled, Error> {
        let stored = store::get_showtime(&self.pool, id).await?.ok_or_else(|| {
            Error::not_found("showtime", id, format!("showtime {id} does not exist"))
        })?;
        if stored.cancelled_at.is_none() && stored.busy_until <= Utc::now() {
            return Err(Error::refused(
                Reason::AdmissionClosed,
                format!("showtime {id} is over: its tickets were used, and it cannot be cancelled"),
            ));
        }
        let withdrawn = self
            .orders
            .withdraw_product(&stored.showtime.product_id)
            .await?;
        let cancelled_at = store::cancel_showtime(&self.pool, id)
            .await?
            .ok_or_else(|| Error::unexpected(format!("showtime {id} vanished")))?;
        tracing::info!(
            orders_cancelled = withdrawn.orders_cancelled,
            "showtime cancelled"
        );
        Ok(Cancelled {
            showtime: stored.showtime,
            cancelled_at,
            orders_cancelled: withdrawn.orders_cancelled,
        })
    }

    /// Registers again the tickets of every showtime whose product the orders service
    /// took before it kept the door's rules, and whose movie is not over, so that the
    /// box office checks their codes' time and place like any other's. AddProduct with
    /// the values on record fills in what a product lacks; a product registered with
    /// other values (a description from before 20261206) is refused, said in the log,
    /// and tried again at the next start.
    ///
    /// `Err` only when the orders service or our database fails: what was done stays
    /// done, and a retry carries on. Every replica may run it at once (AddProduct is
    /// idempotent), and a database with nothing to do costs one index probe.
    #[tracing::instrument(name = "register_missing_door_rules", skip_all)]
    pub async fn register_missing_door_rules(&self) -> Result<DoorRules, Error> {
        const PAGE: i64 = 100;
        let mut done = DoorRules::default();
        let mut after = None;
        loop {
            let page = store::door_rules_pending(&self.pool, after, PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.showtime_id);
            for tickets in &page {
                match self.orders.add_product(tickets).await {
                    Ok(_) => {
                        store::door_rules_registered(&self.pool, tickets.showtime_id).await?;
                        done.registered += 1;
                    }
                    // (The error's own words speak to CreateShowtime's caller.)
                    Err(Error::Conflict { .. }) => {
                        tracing::warn!(
                            showtime_id = %tickets.showtime_id,
                            "the orders service keeps this showtime's product with other \
                             values (registered before 20261206?): its codes are let in \
                             without the door's rules"
                        );
                        done.refused += 1;
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        if done != DoorRules::default() {
            tracing::info!(
                registered = done.registered,
                refused = done.refused,
                "door rules registered for showtimes sold before the orders service kept them"
            );
        }
        Ok(done)
    }

    /// The showtime this request id already created, if any; `REQUEST_ID_REUSED` if it
    /// was made with other values (see `idempotency`), or has been cancelled since: a
    /// replay would pass a showing that no longer exists off as scheduled.
    async fn replay(&self, new: &NewShowtime) -> Result<Option<Showtime>, Error> {
        let found = store::find_by_request_id(&self.pool, &new.request_id).await?;
        if let Some(cancelled) = found.as_ref().filter(|f| f.cancelled_at.is_some()) {
            return Err(Error::Conflict {
                reason: Reason::RequestIdReused,
                message: format!(
                    "showtime {}, made under this request_id, has been cancelled; schedule \
                     it again under a new request_id",
                    cancelled.showtime.id
                ),
            });
        }
        let on_record = found.map(|stored| {
            let existing = stored.showtime;
            let asked = fingerprint(
                existing.movie_id,
                existing.theatre_id,
                &existing.room,
                existing.start_time,
                existing.price_cents,
            );
            (existing, asked)
        });
        let asked = fingerprint(
            new.movie_id,
            new.theatre_id,
            &new.room,
            new.start_time,
            new.price_cents,
        );
        idempotency::replay(&new.request_id, on_record, &asked)
    }
}

/// A cancelled showtime, and what its cancellation did.
#[derive(Debug, Clone)]
pub struct Cancelled {
    pub showtime: Showtime,
    pub cancelled_at: DateTime<Utc>,
    /// Its orders cancelled and refunded, over every call.
    pub orders_cancelled: u32,
}

/// What `register_missing_door_rules` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DoorRules {
    /// Products that now carry the door's rules.
    pub registered: u64,
    /// Products the orders service keeps with other values: still without them.
    pub refused: u64,
}

/// What a CreateShowtime asks for: a retry must ask for the same.
fn fingerprint(
    movie: MovieId,
    theatre: TheatreId,
    room: &str,
    start: DateTime<Utc>,
    price_cents: i64,
) -> Fingerprint {
    Fingerprint::builder()
        .number(movie.get())
        .number(theatre.get())
        .text(room)
        .number(start.timestamp_micros())
        .number(price_cents)
        .finish()
}

fn busy_until(start: DateTime<Utc>, length_minutes: u16, gap: Duration) -> DateTime<Utc> {
    start
        + chrono::Duration::minutes(i64::from(length_minutes))
        + chrono::Duration::from_std(gap).unwrap_or_default()
}
