//! CreateShowtime: the one flow that spans our database and the orders service.
//!
//! In one transaction: lock the request id (racing retries queue up), return the
//! showtime already created under it if any, check the movie, the auditorium and that
//! the auditorium is free, reserve the showtime's id, register the product with the
//! orders service under that id, then insert the complete row and commit. If the
//! orders service cannot be reached nothing is written, so no showtime ever exists
//! without its product.
//!
//! One gap remains by design: if the orders service created the product but its answer
//! never reached us (a timeout), the retry reserves a new id and the first product is
//! left unused at the orders service. It is never listed or sold, because no showtime
//! refers to it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Error;
use crate::domain::{NewShowtime, Showtime};
use crate::orders_gateway::OrdersGateway;
use crate::store;

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

    #[tracing::instrument(skip_all, fields(request_id = new.request_id.as_str(), showtime_id))]
    pub async fn create_showtime(&self, new: &NewShowtime) -> Result<Showtime, Error> {
        let mut tx = self.pool.begin().await?;
        store::lock_request_id(&mut tx, &new.request_id).await?;
        if let Some(existing) = store::find_by_request_id(&mut tx, &new.request_id).await? {
            let same = existing.movie_id == new.movie_id
                && existing.theatre_id == new.theatre_id
                && existing.room == new.room
                && existing.start_time == new.start_time
                && existing.price_cents == new.price_cents;
            if !same {
                return Err(Error::Conflict(format!(
                    "request_id {:?} already created showtime {} with other values",
                    new.request_id.as_str(),
                    existing.id
                )));
            }
            return Ok(existing);
        }

        let (movie_name, length) = store::movie_name_and_length(&mut tx, new.movie_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("movie {} does not exist", new.movie_id)))?;
        if !store::theatre_exists(&mut tx, new.theatre_id).await? {
            return Err(Error::not_found(format!(
                "theatre {} does not exist",
                new.theatre_id
            )));
        }
        let seats = store::auditorium_seats(&mut tx, new.theatre_id, &new.room)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "theatre {} has no auditorium {:?}",
                    new.theatre_id, new.room
                ))
            })?;

        let busy_until = busy_until(new.start_time, length, self.cleaning_gap);
        if let Some((other, start, end)) = store::overlapping_showtime(
            &mut tx,
            new.theatre_id,
            &new.room,
            new.start_time,
            busy_until,
        )
        .await?
        {
            return Err(Error::failed_precondition(format!(
                "auditorium {:?} is busy from {start} to {end} with showtime {other} \
                 (movie length plus cleaning time)",
                new.room
            )));
        }

        let id = store::reserve_showtime_id(&mut tx).await?;
        tracing::Span::current().record("showtime_id", tracing::field::display(id));
        let description = format!(
            "{movie_name} at theatre {}, auditorium {}, {}",
            new.theatre_id,
            new.room,
            new.start_time.format("%Y-%m-%d %H:%M UTC")
        );
        let product_id = self
            .orders
            .add_product(
                description,
                i64::from(seats),
                new.price_cents,
                id.to_string(),
            )
            .await?;
        let showtime = store::insert_showtime(&mut tx, id, new, busy_until, &product_id).await?;
        tx.commit().await?;
        tracing::info!(product_id = %showtime.product_id, "showtime created");
        Ok(showtime)
    }
}

fn busy_until(start: DateTime<Utc>, length_minutes: u16, gap: Duration) -> DateTime<Utc> {
    start
        + chrono::Duration::minutes(i64::from(length_minutes))
        + chrono::Duration::from_std(gap).unwrap_or_default()
}
